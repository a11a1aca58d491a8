"""The set-up pages under /schedule/setup/: who sees what, forms that show their errors
beside the fields, the practitioner's working-hours page, and a pinned query count."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from effleura.core.phones import NOT_A_PHONE
from effleura.scheduling import closures, setup
from effleura.scheduling import hours as hours_rules
from effleura.scheduling.models import Location, Room, SchedulingPolicy, Service, TimeOff, WorkingHours

STAFF = ["owner", "therapist", "front_desk", "billing"]


def field_errors(html: str, field: str) -> list[str]:
    """The error messages shown beside one field (core/includes/field.html)."""
    return re.findall(rf'<p class="error" id="id_{field}_error">(.*?)</p>', html)


def text_of(response) -> str:
    return response.content.decode()


@pytest.fixture
def clinic(location, room, room2, service, hours):
    return location


# Who sees what ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_every_staff_role_sees_the_set_up(role, personas, client_for, clinic, therapist):
    page = client_for(personas[role]).get(reverse("scheduling:setup"))
    assert page.status_code == 200
    html = text_of(page)
    for shown in ["Main Street", "America/Chicago", "Room 1", "Room 2", "Clinical massage", "60, 30 min", "95.00 USD"]:
        assert shown in html
    assert "Mon–Fri 09:00–17:00 at Main Street" in html
    assert "every 15 minutes" in html
    may_change = role == "owner"
    assert ("Add a location" in html) is may_change
    assert (reverse("scheduling:location_edit", args=[clinic.public_id]) in html) is may_change


def test_an_account_without_a_role_is_refused_and_a_visitor_sent_to_log_in(outsider, client_for, client, clinic):
    assert client_for(outsider).get(reverse("scheduling:setup")).status_code == 403
    response = client.get(reverse("scheduling:setup"))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("role", ["therapist", "front_desk", "billing"])
def test_only_the_owner_opens_or_posts_the_set_up_forms(role, personas, client_for, clinic, room, service, hours):
    client = client_for(personas[role])
    forms = [
        reverse("scheduling:location_new"),
        reverse("scheduling:location_edit", args=[clinic.public_id]),
        reverse("scheduling:room_edit", args=[room.public_id]),
        reverse("scheduling:service_edit", args=[service.public_id]),
        reverse("scheduling:policy"),
        reverse("scheduling:hours_edit", args=[hours[0].public_id]),
    ]
    for url in forms:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "Taken over"}).status_code == 403, url
    assert client.post(reverse("scheduling:service_delete", args=[service.public_id])).status_code == 403
    assert Service.objects.filter(pk=service.pk).exists()
    assert Location.objects.get().name == "Main Street"


# The set-up index's queries -----------------------------------------------------------------------


# session, user; the overview: working hours, practitioners (with their service counts),
# locations + their opening hours + rooms (prefetch), services + their practitioners
# (prefetch), the policy, the closures (with their locations); then the layout's practice row.
INDEX_QUERIES = 12


def _grow(owner, django_user_model, n: int) -> None:
    """Add n more of every kind of set-up record."""
    for i in range(n):
        loc = setup.do_save_location(
            owner,
            setup.check_save_location(
                owner,
                {
                    "name": f"Branch {i}",
                    "time_zone": "America/Denver",
                    "opening_hours": [{"weekday": d, "opens": "09:00", "closes": "17:00"} for d in range(5)],
                },
            ),
        )
        setup.do_save_room(owner, setup.check_save_room(owner, {"location": loc, "name": "Table A"}))
        person = django_user_model.objects.create_user(username=f"lmt{i}", role="therapist")
        clean = hours_rules.check_save_working_hours(
            owner, {"practitioner": person, "location": loc, "weekday": 0, "start": "09:00", "end": "12:00"}
        )
        hours_rules.do_save_working_hours(owner, clean)
        data = {"name": f"Service {i}", "durations": [30], "default_price": "50", "practitioners": [person]}
        setup.do_save_service(owner, setup.check_save_service(owner, data))
        day = datetime.date(2040, 1, 2 + i)
        closure = {"location": loc if i % 2 else None, "first_day": day, "reason": f"Shut {i}"}
        closures.do_save_closure(owner, closures.check_save_closure(owner, closure))


def test_the_set_up_index_does_a_fixed_number_of_queries(owner, client_for, clinic, django_user_model):
    client = client_for(owner)
    url = reverse("scheduling:setup")
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _grow(owner, django_user_model, 4)
    with CaptureQueriesContext(connection) as large:
        page = client.get(url)
    assert "Branch 3" in text_of(page) and "Service 3" in text_of(page) and "Shut 3" in text_of(page)
    assert len(small.captured_queries) == len(large.captured_queries) == INDEX_QUERIES


# session, user, the practitioner, their weekly rows (with locations), exceptions, time
# off, the zone their time off is shown in (their first location), the practice row.
PRACTITIONER_QUERIES = 8


def test_the_working_hours_page_does_a_fixed_number_of_queries(owner, therapist, client_for, clinic, next_monday, at):
    client = client_for(owner)
    url = reverse("scheduling:practitioner_hours", args=[therapist.public_id])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for week in range(1, 6):
        day = next_monday + datetime.timedelta(weeks=week)
        data = {"practitioner": therapist, "location": clinic, "date": day, "start": "10:00", "end": "12:00"}
        hours_rules.do_save_exception(owner, hours_rules.check_save_exception(owner, data))
        data = {"practitioner": therapist, "start": at(day, "13:00"), "end": at(day, "14:00")}
        hours_rules.do_save_time_off(owner, hours_rules.check_save_time_off(owner, data))
    with CaptureQueriesContext(connection) as large:
        client.get(url)
    assert len(small.captured_queries) == len(large.captured_queries) == PRACTITIONER_QUERIES


# Locations and rooms ----------------------------------------------------------------------------------


def test_the_owner_adds_a_location_with_a_split_day(owner, client_for):
    data = {
        "name": "Riverside",
        "address_line1": "1 River Road",
        "time_zone": "America/New_York",
        "is_active": "on",
        "monday": "08:00-12:00, 13:00-18:00",
        "tuesday": "09:00–17:00",
    }
    response = client_for(owner).post(reverse("scheduling:location_new"), data)
    location = Location.objects.get(name="Riverside")
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:location_edit", args=[location.public_id])
    assert list(location.opening_hours.values_list("weekday", "opens", "closes")) == [
        (0, datetime.time(8), datetime.time(12)),
        (0, datetime.time(13), datetime.time(18)),
        (1, datetime.time(9), datetime.time(17)),
    ]
    edit = text_of(client_for(owner).get(response["Location"]))
    assert 'value="08:00-12:00, 13:00-18:00"' in edit and "Add a room" in edit


def test_location_errors_are_shown_beside_their_fields_all_at_once(owner, client_for, location):
    data = {"name": "main street", "time_zone": "Chicago/Illinois", "wednesday": "08:00-12:00, 11:00-14:00"}
    data |= {"friday": "nine to five", "phone": "12"}
    page = client_for(owner).post(reverse("scheduling:location_new"), data)
    assert page.status_code == 200
    html = text_of(page)
    # The typed hours and every other field are checked in one pass.
    assert field_errors(html, "friday") == ["“nine to five” is not a time range; write it as 09:00-17:00."]
    assert field_errors(html, "phone") == [NOT_A_PHONE]
    assert "4 problems need fixing before this can be saved" in html
    assert '<a href="#id_friday">Friday</a>' in html and '<a href="#id_phone">Phone</a>' in html
    data["friday"] = data["phone"] = ""
    html = text_of(client_for(owner).post(reverse("scheduling:location_new"), data))
    assert "3 problems need fixing before this can be saved" in html
    assert field_errors(html, "name") == ["There is already a location called main street."]
    assert field_errors(html, "wednesday") == ["Wednesday: 08:00–12:00 and 11:00–14:00 overlap."]
    assert "is not a time zone we know" in field_errors(html, "time_zone")[0]
    assert '<label for="id_time_zone">' in html and 'list="time-zones"' in html
    assert Location.objects.count() == 1


def test_a_booked_location_is_not_deleted_and_the_owner_is_told_why(owner, client_for, clinic, appointment):
    client = client_for(owner)
    response = client.post(reverse("scheduling:location_delete", args=[clinic.public_id]), follow=True)
    assert "has appointments, so it can’t be deleted. Mark it inactive instead" in text_of(response)
    assert Location.objects.filter(pk=clinic.pk).exists()


def test_an_unused_location_is_deleted_from_its_page(owner, client_for):
    location = setup.do_save_location(owner, setup.check_save_location(owner, {"name": "Pop-up", "time_zone": "UTC"}))
    response = client_for(owner).post(reverse("scheduling:location_delete", args=[location.public_id]))
    assert response.status_code == 302 and not Location.objects.exists()


def test_deleting_needs_a_post(owner, client_for, clinic):
    assert client_for(owner).get(reverse("scheduling:location_delete", args=[clinic.public_id])).status_code == 405


def test_rooms_are_added_and_renamed_at_their_location(owner, client_for, clinic, room):
    client = client_for(owner)
    response = client.post(
        reverse("scheduling:room_new", args=[clinic.public_id]), {"name": "Table 3", "is_active": "on"}
    )
    assert response["Location"] == reverse("scheduling:location_edit", args=[clinic.public_id])
    html = text_of(client.post(reverse("scheduling:room_new", args=[clinic.public_id]), {"name": "ROOM 1"}))
    assert field_errors(html, "name") == ["Main Street already has a room called ROOM 1."]
    client.post(reverse("scheduling:room_edit", args=[room.public_id]), {"name": "Quiet room"})
    room.refresh_from_db()
    assert (room.name, room.is_active) == ("Quiet room", False)
    assert sorted(Room.objects.values_list("name", flat=True)) == ["Quiet room", "Room 2", "Table 3"]


# Services and the policy --------------------------------------------------------------------------------


def test_the_owner_adds_a_service_given_by_chosen_therapists(owner, therapist, client_for):
    client = client_for(owner)
    form = text_of(client.get(reverse("scheduling:service_new")))
    assert "Therapist Tester, LMT" in form and "Front Desk" not in form
    data = {
        "name": "Prenatal massage",
        "durations": "60, 90",
        "default_price": "110.00",
        "currency": "usd",
        "changeover_minutes": "10",
        "practitioners": [str(therapist.public_id)],
        "needs_room": "on",
        "is_active": "on",
    }
    assert client.post(reverse("scheduling:service_new"), data).status_code == 302
    service = Service.objects.get(name="Prenatal massage")
    assert (service.durations, service.currency, str(service.default_price)) == ([60, 90], "USD", "110.00")
    assert list(service.practitioners.all()) == [therapist]


def test_service_errors_are_shown_beside_their_fields(owner, client_for):
    data = {"name": "Odd", "durations": "60, 62", "default_price": "-3", "currency": "US", "changeover_minutes": "0"}
    html = text_of(client_for(owner).post(reverse("scheduling:service_new"), data))
    assert field_errors(html, "default_price") == ["An amount cannot be negative."]
    data["default_price"] = "10"
    html = text_of(client_for(owner).post(reverse("scheduling:service_new"), data))
    assert field_errors(html, "durations") == [
        "62 minutes won’t do: each length is a multiple of 5 minutes from 5 to 480."
    ]
    assert field_errors(html, "currency") == ["Give the currency as a three-letter code, e.g. USD, CAD or EUR."]
    assert not Service.objects.exists()


def test_a_booked_service_is_not_deleted(owner, client_for, service, appointment):
    response = client_for(owner).post(reverse("scheduling:service_delete", args=[service.public_id]), follow=True)
    assert "Mark it inactive instead" in text_of(response)
    assert Service.objects.filter(pk=service.pk).exists()


def test_the_owner_changes_the_booking_policy(owner, client_for):
    client = client_for(owner)
    data = {
        "late_cancel_hours": "48",
        "minimum_notice_minutes": "120",
        "slot_step_minutes": "150",
        "reminder_hours_before": "24",
        "send_reminders": "on",
    }
    html = text_of(client.post(reverse("scheduling:policy"), data))
    assert field_errors(html, "slot_step_minutes") == ["Ensure this value is less than or equal to 120."]
    data["slot_step_minutes"] = "30"
    assert client.post(reverse("scheduling:policy"), data).status_code == 302
    policy = SchedulingPolicy.current()
    assert (policy.late_cancel_hours, policy.slot_step_minutes, policy.send_confirmations) == (48, 30, False)


# Practitioners' working hours -------------------------------------------------------------------------------


def test_the_working_hours_page_shows_the_week_exceptions_and_time_off(
    therapist, front_desk, owner, client_for, clinic, next_monday, at
):
    clean = hours_rules.check_save_exception(
        owner, {"practitioner": therapist, "location": clinic, "date": next_monday, "reason": "training day"}
    )
    hours_rules.do_save_exception(owner, clean)
    friday = next_monday + datetime.timedelta(days=4)
    clean = hours_rules.check_save_time_off(
        owner,
        {"practitioner": therapist, "start": at(friday, "09:00"), "end": at(friday, "17:00"), "reason": "holiday"},
    )
    hours_rules.do_save_time_off(owner, clean)
    html = text_of(client_for(front_desk).get(reverse("scheduling:practitioner_hours", args=[therapist.public_id])))
    assert "Each week at Main Street" in html
    assert re.search(r"<th scope=\"row\">Monday</th>\s*<td><span class=\"setup-shift\">09:00–17:00", html)
    assert re.search(r"<th scope=\"row\">Saturday</th>\s*<td><span class=\"muted\">—</span>", html)
    assert "training day" in html and "off" in html
    assert f"{friday:%a} {friday.day} {friday:%b %Y} 09:00" in html and "holiday" in html
    assert "Times in America/Chicago." in html
    assert "Add weekly hours" not in html and "Remove" not in html  # front desk reads only


def test_weekly_hours_are_added_for_several_days_at_once(owner, therapist, client_for, location):
    data = {"location": str(location.public_id), "weekdays": ["0", "2", "4"], "start": "08:00", "end": "12:00"}
    response = client_for(owner).post(reverse("scheduling:hours_new", args=[therapist.public_id]), data)
    assert response["Location"] == reverse("scheduling:practitioner_hours", args=[therapist.public_id])
    assert sorted(WorkingHours.objects.values_list("weekday", flat=True)) == [0, 2, 4]


def test_a_clash_on_one_day_saves_none_of_the_days(owner, therapist, client_for, clinic, hours):
    data = {"location": str(clinic.public_id), "weekdays": ["5", "4"], "start": "16:00", "end": "18:00"}
    html = text_of(client_for(owner).post(reverse("scheduling:hours_new", args=[therapist.public_id]), data))
    assert "This overlaps Fridays 09:00–17:00 at Main Street." in html
    assert '<div class="error-summary" role="alert" tabindex="-1" data-error-summary>' in html
    assert WorkingHours.objects.count() == 5


def test_a_weekly_row_is_changed_and_removed(owner, therapist, client_for, clinic, hours):
    client = client_for(owner)
    monday = hours[0]
    data = {"location": str(clinic.public_id), "weekday": "0", "start": "10:00", "end": "16:00"}
    assert client.post(reverse("scheduling:hours_edit", args=[monday.public_id]), data).status_code == 302
    monday.refresh_from_db()
    assert (monday.start, monday.end) == (datetime.time(10), datetime.time(16))
    client.post(reverse("scheduling:hours_delete", args=[monday.public_id]))
    assert not WorkingHours.objects.filter(pk=monday.pk).exists()


def test_a_day_off_is_ticked_and_hours_or_a_tick_are_required(owner, therapist, client_for, clinic, next_monday):
    client = client_for(owner)
    url = reverse("scheduling:exception_new", args=[therapist.public_id])
    data = {"location": str(clinic.public_id), "date": next_monday.isoformat()}
    html = text_of(client.post(url, data))
    assert field_errors(html, "start") == ["Give the hours worked that day, or tick “Not working this day”."]
    assert client.post(url, data | {"off": "on", "reason": "conference"}).status_code == 302
    exception = hours_rules.list_exceptions(owner).get()
    assert (exception.start, exception.reason) == (None, "conference")


def test_time_off_is_typed_in_the_practitioners_zone_and_warns_of_booked_visits(
    owner, therapist, client_for, clinic, appointment, next_monday, at
):
    data = {"start": f"{next_monday}T09:00", "end": f"{next_monday}T13:00", "reason": "dentist"}
    response = client_for(owner).post(reverse("scheduling:time_off_new", args=[therapist.public_id]), data, follow=True)
    saved = TimeOff.objects.get()
    assert (saved.start, saved.end) == (at(next_monday, "09:00"), at(next_monday, "13:00"))
    assert "1 booked appointment fall in this time off" in text_of(response)
    edit = text_of(client_for(owner).get(reverse("scheduling:time_off_edit", args=[saved.public_id])))
    assert f'value="{next_monday}T09:00"' in edit and "Times in America/Chicago." in edit


def test_time_off_that_overlaps_is_refused_on_the_form(owner, therapist, client_for, clinic, next_monday, at):
    clean = hours_rules.check_save_time_off(
        owner, {"practitioner": therapist, "start": at(next_monday, "09:00"), "end": at(next_monday, "12:00")}
    )
    hours_rules.do_save_time_off(owner, clean)
    data = {"start": f"{next_monday}T11:00", "end": f"{next_monday}T14:00"}
    html = text_of(client_for(owner).post(reverse("scheduling:time_off_new", args=[therapist.public_id]), data))
    assert "This overlaps time off already recorded" in html
    assert TimeOff.objects.count() == 1


def test_the_working_hours_page_of_someone_who_is_not_a_practitioner_is_not_found(front_desk, owner, client_for):
    assert (
        client_for(owner).get(reverse("scheduling:practitioner_hours", args=[front_desk.public_id])).status_code == 404
    )


@pytest.fixture
def appointment(book, room):
    """A booked visit (Monday 10:00, Room 1): the set-up rules only need one to exist."""
    return book("10:00", room=room)


def test_a_service_price_is_typed_and_shown_by_the_practices_separator(owner, client_for):
    from effleura.core.models import Practice

    Practice.objects.create(name="Synthetic practice", decimal_separator=",")
    client = client_for(owner)
    data = {"name": "Comma", "durations": "60", "default_price": "95.00", "currency": "USD", "changeover_minutes": "0"}
    html = text_of(client.post(reverse("scheduling:service_new"), data))
    assert field_errors(html, "default_price") == ["Use a comma for cents, e.g. 95,00."]
    data["default_price"] = "1.095,50"
    assert client.post(reverse("scheduling:service_new"), data).status_code == 302
    service = Service.objects.get(name="Comma")
    assert str(service.default_price) == "1095.50"
    edit = client.get(reverse("scheduling:service_edit", args=[service.public_id])).content.decode()
    assert 'value="1.095,50"' in edit
