"""The set-up part of the JSON API (scheduling/api_setup.py): every role reads, the owner
writes, invalid input answers 422 naming the field, and the same rules as the pages hold."""

import datetime

import pytest

from effleura.core.models import AuditEvent
from effleura.scheduling.models import Location, Room, SchedulingPolicy, Service, TimeOff, WorkingHours

LENGTHS = "each length is a multiple of 5 minutes from 5 to 480."
PRICE = 'Give the price as a string with the cents, e.g. "95.00", or a whole number.'
READ_PATHS = [
    "/locations",
    "/rooms",
    "/services",
    "/working-hours",
    "/schedule-exceptions",
    "/time-off",
    "/closures",
    "/scheduling-policy",
]


@pytest.fixture
def clinic(location, room, room2, service, hours):
    return location


@pytest.fixture
def booked(book, room):
    """A booked visit (Monday 10:00, Room 1): the set-up rules only need one to exist."""
    return book("10:00", room=room)


# Who may call what -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing"])
def test_every_staff_role_reads_the_set_up(role, personas, api_as, clinic):
    api = api_as(personas[role])
    for path in READ_PATHS:
        assert api.send("GET", path).status_code == 200, path
    assert api.send("GET", f"/locations/{clinic.public_id}").json()["name"] == "Main Street"


def test_an_account_without_a_role_is_refused_and_an_anonymous_caller_asked_to_sign_in(outsider, api_as, clinic):
    for path in READ_PATHS:
        assert api_as(outsider).send("GET", path).status_code == 403, path
        assert api_as(None).send("GET", path).status_code == 401, path


@pytest.mark.parametrize("role", ["therapist", "front_desk", "billing", "outsider"])
def test_only_the_owner_writes(role, personas, api_as, clinic, room, service, hours):
    api = api_as(personas[role])
    attempts = [
        ("POST", "/locations", {"name": "Elsewhere", "time_zone": "UTC"}),
        ("PATCH", f"/locations/{clinic.public_id}", {"name": "Taken"}),
        ("DELETE", f"/rooms/{room.public_id}", None),
        ("PATCH", f"/services/{service.public_id}", {"default_price": "1.00"}),
        ("DELETE", f"/working-hours/{hours[0].public_id}", None),
        ("PUT", "/scheduling-policy", None),
    ]
    for method, path, body in attempts:
        response = api.send(method, path, body)
        assert response.status_code == 403, (method, path)
        assert response.json() == {"detail": "Your role does not allow this."}
    assert Location.objects.get().name == "Main Street" and Room.objects.count() == 2
    assert AuditEvent.objects.filter(actor_username=role, outcome="denied").count() == len(attempts)


# Locations and rooms ------------------------------------------------------------------------------------------


def test_the_owner_creates_a_location_with_its_week(owner, api_as):
    body = {
        "name": "Riverside",
        "address_line1": "1 River Road",
        "time_zone": "america/new_york",
        "opening_hours": [
            {"weekday": 0, "opens": "08:00", "closes": "12:00"},
            {"weekday": 0, "opens": "13:00", "closes": "18:00"},
        ],
    }
    response = api_as(owner).send("POST", "/locations", body)
    assert response.status_code == 201
    answer = response.json()
    assert answer["time_zone"] == "America/New_York" and answer["is_active"] is True
    assert answer["opening_hours"] == [
        {"weekday": 0, "opens": "08:00", "closes": "12:00"},
        {"weekday": 0, "opens": "13:00", "closes": "18:00"},
    ]
    assert answer["rooms"] == [] and answer["id"] == str(Location.objects.get().public_id)


def test_invalid_location_input_answers_422_naming_each_field(owner, api_as, clinic):
    body = {
        "name": "Main Street",
        "time_zone": "EST",
        "opening_hours": [
            {"weekday": 4, "opens": "08:00", "closes": "12:00"},
            {"weekday": 4, "opens": "10:00", "closes": "14:00"},
        ],
    }
    response = api_as(owner).send("POST", "/locations", body)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["name"] == "There is already a location called Main Street."
    assert "ignores daylight saving time" in errors["time_zone"]
    assert errors["friday"] == "Friday: 08:00–12:00 and 10:00–14:00 overlap."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "time_zone": "UTC", "colour": "red"}, "colour"),
        ({"name": "X", "time_zone": "UTC", "opening_hours": [{"weekday": 7, "opens": "08:00", "closes": "09:00"}]},
         "opening_hours.0.weekday"),
        ({"name": "X", "time_zone": "UTC", "opening_hours": [{"weekday": 1, "opens": "8am", "closes": "09:00"}]},
         "opening_hours.0.opens"),
        ({"name": "X", "time_zone": "UTC", "is_active": "yes"}, "is_active"),
        ({"time_zone": "UTC"}, "name"),
    ],
)  # fmt: skip
def test_the_location_schema_is_strict(owner, api_as, body, field):
    response = api_as(owner).send("POST", "/locations", body)
    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_a_location_is_changed_in_part_and_its_week_replaced_when_sent(owner, api_as, clinic):
    api = api_as(owner)
    answer = api.send("PATCH", f"/locations/{clinic.public_id}", {"phone": "555-0142"}).json()
    assert answer["phone"] == "555-0142" and len(answer["opening_hours"]) == 6
    answer = api.send("PATCH", f"/locations/{clinic.public_id}", {"opening_hours": []}).json()
    assert answer["opening_hours"] == [] and answer["name"] == "Main Street"


def test_deleting_a_booked_location_answers_422_and_an_unused_one_204(owner, api_as, clinic, booked):
    api = api_as(owner)
    response = api.send("DELETE", f"/locations/{clinic.public_id}")
    assert response.status_code == 422
    assert "Mark it inactive instead" in response.json()["detail"]
    spare = api.send("POST", "/locations", {"name": "Pop-up", "time_zone": "UTC"}).json()
    assert api.send("DELETE", f"/locations/{spare['id']}").status_code == 204
    assert api.send("GET", f"/locations/{spare['id']}").status_code == 404


def test_rooms_are_listed_by_location_and_unique_there(owner, api_as, clinic, room):
    api = api_as(owner)
    listed = api.send("GET", f"/rooms?location={clinic.public_id}&active=true").json()
    assert [r["name"] for r in listed["items"]] == ["Room 1", "Room 2"]
    assert listed["items"][0]["location"] == {"id": str(clinic.public_id), "name": "Main Street"}
    clash = api.send("POST", "/rooms", {"location": str(clinic.public_id), "name": "room 2"})
    assert clash.status_code == 422 and clash.json()["errors"] == {
        "name": "Main Street already has a room called room 2."
    }
    nowhere = api.send("POST", "/rooms", {"location": "00000000-0000-0000-0000-000000000000", "name": "X"})
    assert nowhere.json()["errors"] == {"location": "Choose one of the practice’s locations."}
    renamed = api.send("PATCH", f"/rooms/{room.public_id}", {"is_active": False})
    assert renamed.json()["is_active"] is False and renamed.json()["name"] == "Room 1"


def test_a_booked_room_is_not_deleted(owner, api_as, room, booked):
    response = api_as(owner).send("DELETE", f"/rooms/{room.public_id}")
    assert response.status_code == 422 and Room.objects.filter(pk=room.pk).exists()


# Services --------------------------------------------------------------------------------------------------


def test_the_owner_creates_a_service_with_money_as_a_decimal_string(owner, therapist, api_as):
    body = {
        "name": "Lymphatic drainage",
        "durations": [45, 90],
        "default_price": "120.50",
        "currency": "usd",
        "changeover_minutes": 10,
        "practitioners": [str(therapist.public_id)],
        "bookable_online": True,
    }
    response = api_as(owner).send("POST", "/services", body)
    assert response.status_code == 201
    answer = response.json()
    assert answer["default_price"] == "120.50" and answer["currency"] == "USD"
    assert answer["durations"] == [45, 90] and answer["default_duration"] == 45
    assert answer["practitioners"] == [{"id": str(therapist.public_id), "name": "Therapist Tester, LMT"}]
    assert (answer["needs_room"], answer["bookable_online"]) == (True, True)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"default_price": "95,10"}, "default_price", PRICE),
        ({"default_price": "-1"}, "default_price", PRICE),
        ({"durations": [60, 61]}, "durations", f"61 minutes won’t do: {LENGTHS}"),
        ({"durations": []}, "durations", None),
        ({"durations": ["60"]}, "durations.0", "Give a whole number."),
        ({"changeover_minutes": 300}, "changeover_minutes", "Give a number of at most 240."),
    ],
)  # fmt: skip
def test_invalid_service_input_answers_422_naming_the_field(owner, api_as, change, field, message):
    body = {"name": "Sports massage", "durations": [60], "default_price": "80.00"} | change
    response = api_as(owner).send("POST", "/services", body)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert field in errors
    if message:
        assert errors[field] == message


def test_services_are_filtered_by_who_gives_them(owner, therapist, api_as, service):
    api = api_as(owner)
    assert api.send("GET", f"/services?practitioner={therapist.public_id}").json()["count"] == 1
    assert api.send("GET", f"/services?practitioner={owner.public_id}").json()["count"] == 0


def test_a_front_desk_member_cannot_be_made_to_give_a_service(owner, front_desk, api_as, service):
    response = api_as(owner).send(
        "PATCH", f"/services/{service.public_id}", {"practitioners": [str(front_desk.public_id)]}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"practitioners": "Choose an active therapist or the owner."}


def test_a_booked_service_is_deactivated_not_deleted(owner, api_as, service, booked):
    api = api_as(owner)
    assert api.send("DELETE", f"/services/{service.public_id}").status_code == 422
    assert api.send("PATCH", f"/services/{service.public_id}", {"is_active": False}).json()["is_active"] is False
    assert api.send("GET", "/services?active=true").json()["count"] == 0
    assert Service.objects.get().practitioners.count() == 1


# Working hours, exceptions and time off -------------------------------------------------------------------------


def test_working_hours_are_created_and_overlaps_refused(owner, therapist, api_as, clinic, hours):
    api = api_as(owner)
    body = {"practitioner": str(therapist.public_id), "location": str(clinic.public_id), "weekday": 5}
    created = api.send("POST", "/working-hours", body | {"start": "09:00", "end": "13:00"})
    assert created.status_code == 201
    assert created.json() | {"id": None} == {
        "id": None,
        "practitioner": {"id": str(therapist.public_id), "name": "Therapist Tester, LMT"},
        "location": {"id": str(clinic.public_id), "name": "Main Street"},
        "weekday": 5,
        "start": "09:00",
        "end": "13:00",
        "valid_from": None,
        "valid_until": None,
        "version": 1,
    }
    clash = api.send("POST", "/working-hours", body | {"weekday": 0, "start": "16:30", "end": "18:00"})
    assert clash.status_code == 422
    assert clash.json()["detail"].startswith("This overlaps Mondays 09:00–17:00 at Main Street.")
    listed = api.send("GET", f"/working-hours?practitioner={therapist.public_id}&page_size=3").json()
    assert (listed["count"], listed["pages"], len(listed["items"])) == (6, 2, 3)


def test_working_hours_input_is_strict(owner, therapist, api_as, clinic):
    body = {"practitioner": str(therapist.public_id), "location": str(clinic.public_id), "weekday": 1}
    response = api_as(owner).send("POST", "/working-hours", body | {"start": "9:00", "end": "17:00"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"start": "Give a time of day as HH:MM, e.g. 09:00 or 17:30."}
    response = api_as(owner).send("POST", "/working-hours", body | {"start": "17:00", "end": "09:00"})
    assert response.json()["errors"] == {"end": "The end must be after the start (17:00)."}


def test_a_row_is_moved_to_another_day_and_deleted(owner, api_as, hours):
    api = api_as(owner)
    friday = hours[4]
    moved = api.send("PATCH", f"/working-hours/{friday.public_id}", {"weekday": 6, "valid_from": "2030-01-01"})
    assert moved.status_code == 200 and (moved.json()["weekday"], moved.json()["valid_from"]) == (6, "2030-01-01")
    assert api.send("DELETE", f"/working-hours/{friday.public_id}").status_code == 204
    assert WorkingHours.objects.count() == 4


def test_exceptions_are_created_listed_by_date_and_deleted(owner, therapist, api_as, clinic, hours, next_monday):
    api = api_as(owner)
    body = {"practitioner": str(therapist.public_id), "location": str(clinic.public_id), "date": str(next_monday)}
    off = api.send("POST", "/schedule-exceptions", body | {"reason": "training"})
    assert off.status_code == 201
    assert (off.json()["off"], off.json()["start"], off.json()["reason"]) == (True, None, "training")
    tuesday = next_monday + datetime.timedelta(days=1)
    late = api.send("POST", "/schedule-exceptions", body | {"date": str(tuesday), "start": "12:00", "end": "20:00"})
    assert late.json()["off"] is False and late.json()["end"] == "20:00"
    half = api.send("POST", "/schedule-exceptions", body | {"date": str(tuesday), "start": "12:00"})
    assert half.status_code == 422 and half.json()["errors"] == {
        "end": "Give both a start and an end, or neither for a day off."
    }
    listed = api.send("GET", f"/schedule-exceptions?start={tuesday}&end={tuesday}").json()
    assert [e["date"] for e in listed["items"]] == [str(tuesday)]
    assert api.send("DELETE", f"/schedule-exceptions/{off.json()['id']}").status_code == 204


def test_time_off_needs_an_offset_and_is_listed_by_range(owner, therapist, api_as, next_monday):
    api = api_as(owner)
    body = {"practitioner": str(therapist.public_id), "reason": "holiday"}
    naive = api.send("POST", "/time-off", body | {"start": f"{next_monday}T09:00:00", "end": f"{next_monday}T17:00:00"})
    assert naive.status_code == 422 and set(naive.json()["errors"]) == {"start", "end"}
    response = api.send(
        "POST", "/time-off", body | {"start": f"{next_monday}T09:00:00-06:00", "end": f"{next_monday}T17:00:00-06:00"}
    )
    assert response.status_code == 201
    saved = TimeOff.objects.get()
    assert saved.start == datetime.datetime.combine(next_monday, datetime.time(15), tzinfo=datetime.UTC)
    window = f"start={next_monday}T16:00:00Z&end={next_monday}T18:00:00Z"
    assert api.send("GET", f"/time-off?{window}").json()["count"] == 1
    assert api.send("GET", f"/time-off?start={next_monday}T23:00:00Z").json()["count"] == 0
    changed = api.send("PATCH", f"/time-off/{saved.public_id}", {"reason": "family"})
    assert changed.json()["reason"] == "family" and changed.json()["start"] == response.json()["start"]


def test_an_unknown_id_answers_404(owner, api_as, db):
    missing = "00000000-0000-0000-0000-000000000000"
    for path in ["/locations", "/rooms", "/services", "/working-hours", "/schedule-exceptions", "/time-off"]:
        response = api_as(owner).send("GET", f"{path}/{missing}")
        assert response.status_code == 404, path


# The booking policy -------------------------------------------------------------------------------------------------


def test_the_policy_is_read_by_all_and_replaced_whole_by_the_owner(owner, therapist, api_as):
    assert api_as(therapist).send("GET", "/scheduling-policy").json()["slot_step_minutes"] == 15
    body = {
        "late_cancel_hours": 48,
        "minimum_notice_minutes": 120,
        "slot_step_minutes": 30,
        "reminder_hours_before": 24,
        "send_confirmations": True,
        "send_reminders": False,
    }
    assert api_as(owner).send("PUT", "/scheduling-policy", body).json() == body | {"version": 2}
    assert SchedulingPolicy.objects.get().late_cancel_hours == 48
    partial = api_as(owner).send("PUT", "/scheduling-policy", {"slot_step_minutes": 15})
    assert partial.status_code == 422 and partial.json()["errors"]["late_cancel_hours"] == "This is required."
    too_fine = api_as(owner).send("PUT", "/scheduling-policy", body | {"slot_step_minutes": 3})
    assert too_fine.json()["errors"] == {"slot_step_minutes": "Give a number of at least 5."}


POLICY = {
    "late_cancel_hours": 48,
    "minimum_notice_minutes": 120,
    "slot_step_minutes": 30,
    "reminder_hours_before": 24,
    "send_confirmations": True,
    "send_reminders": False,
}


def test_the_policy_refuses_a_put_from_a_stale_read(owner, api_as):
    client = api_as(owner)
    read = client.send("GET", "/scheduling-policy")
    assert read["ETag"] == '"1"'  # the defaults, before anyone saved them
    saved = client.send("PUT", "/scheduling-policy", POLICY, HTTP_IF_MATCH='"1"')
    assert saved.status_code == 200 and saved["ETag"] == '"2"'
    stale = client.send("PUT", "/scheduling-policy", POLICY | {"late_cancel_hours": 12}, HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412 and stale.json()["version"] == 2
    assert SchedulingPolicy.objects.get().late_cancel_hours == 48


def test_the_policy_page_refuses_a_stale_tab_and_shows_the_change(owner, client_for):
    import re

    from django.urls import reverse

    tab_a, tab_b = client_for(owner), client_for(owner)
    page_a = tab_a.get(reverse("scheduling:policy")).content.decode()
    page_b = tab_b.get(reverse("scheduling:policy")).content.decode()

    def hidden(page, name):
        return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)

    form = {k: ("on" if v is True else v) for k, v in POLICY.items() if v is not False}
    post_a = form | {"version": hidden(page_a, "version"), "loaded": hidden(page_a, "loaded")}
    post_b = form | {"late_cancel_hours": 6, "version": hidden(page_b, "version"), "loaded": hidden(page_b, "loaded")}
    assert tab_a.post(reverse("scheduling:policy"), post_a).status_code == 302
    refused = tab_b.post(reverse("scheduling:policy"), post_b)
    assert refused.status_code == 409
    assert "saved this booking policy" in refused.content.decode()
    assert SchedulingPolicy.objects.get().late_cancel_hours == 48
