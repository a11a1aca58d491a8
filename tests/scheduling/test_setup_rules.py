"""The scheduling set-up rules (scheduling/setup.py and hours.py): who may change what,
what is refused and in which words, and that one person never works two places at once."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from effleura.core.models import AuditEvent
from effleura.scheduling import hours as hours_rules
from effleura.scheduling import setup
from effleura.scheduling.models import Location, OpeningHours, Room, SchedulingPolicy, Service, TimeOff

NOT_OWNERS = ["therapist", "front_desk", "billing", "outsider"]


def messages_of(exc_info) -> dict | list:
    exc = exc_info.value
    return exc.message_dict if hasattr(exc, "error_dict") else exc.messages


def save_location(owner, **data):
    base = {"name": "Riverside", "time_zone": "America/Chicago"}
    return setup.do_save_location(owner, setup.check_save_location(owner, base | data))


def save_hours(owner, person, location, weekday=0, start="09:00", end="17:00", **extra):
    data = {"practitioner": person, "location": location, "weekday": weekday, "start": start, "end": end, **extra}
    return hours_rules.do_save_working_hours(owner, hours_rules.check_save_working_hours(owner, data))


def check_hours(owner, person, location, weekday=0, start="09:00", end="17:00", **extra):
    data = {"practitioner": person, "location": location, "weekday": weekday, "start": start, "end": end, **extra}
    return hours_rules.check_save_working_hours(owner, data)


def save_exception(owner, person, location, date, start=None, end=None, reason=""):
    data = {"practitioner": person, "location": location, "date": date, "start": start, "end": end, "reason": reason}
    return hours_rules.do_save_exception(owner, hours_rules.check_save_exception(owner, data))


@pytest.fixture
def riverside(owner):
    return save_location(owner, name="Riverside")


@pytest.fixture
def appointment(book, room):
    """A booked visit (Monday 10:00, Room 1): the set-up rules only need one to exist."""
    return book("10:00", room=room)


# Who may change the set-up ------------------------------------------------------------------------


@pytest.mark.parametrize("role", NOT_OWNERS)
def test_only_the_owner_may_change_the_set_up_and_a_refusal_is_audited(role, personas, location, service):
    user = personas[role]
    attempts = [
        lambda: setup.check_save_location(user, {"name": "Elsewhere", "time_zone": "UTC"}),
        lambda: setup.check_save_room(user, {"location": location, "name": "Room 9"}),
        lambda: setup.check_save_service(user, {"name": "Other", "durations": [30], "default_price": "1"}),
        lambda: setup.check_save_policy(user, {"slot_step_minutes": 30}),
        lambda: setup.check_delete_service(user, service),
        lambda: hours_rules.check_save_time_off(user, {}),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    denied = AuditEvent.objects.filter(actor_username=role, outcome="denied")
    assert denied.count() == len(attempts)
    assert set(denied.values_list("detail", flat=True)) == {"scheduling_setup.manage"}


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing"])
def test_every_staff_role_may_read_the_set_up(role, personas, location, service, hours, therapist):
    user = personas[role]
    assert [loc.name for loc in setup.list_locations(user)] == ["Main Street"]
    assert setup.get_service(user, service.public_id) == service
    assert len(hours_rules.list_working_hours(user, practitioner=therapist)) == 5
    assert setup.get_policy(user).slot_step_minutes == 15


def test_an_account_without_a_role_may_not_read_it(outsider, location):
    with pytest.raises(PermissionDenied):
        setup.list_locations(outsider)
    with pytest.raises(PermissionDenied):
        setup.get_location(outsider, location.public_id)


def test_each_change_is_audited_by_field_name(owner, location):
    event = AuditEvent.objects.filter(record_type="location").get()
    assert (event.action, event.record_id, event.actor_username) == ("create", str(location.public_id), "owner")
    setup.do_save_location(owner, setup.check_save_location(owner, {"phone": "555-0199"}, location), location)
    update = AuditEvent.objects.filter(record_type="location", action="update").get()
    assert update.detail == "changed: phone"
    assert "555" not in update.detail


# Locations and time zones -------------------------------------------------------------------------


def test_a_location_needs_a_name_and_a_time_zone(owner):
    with pytest.raises(ValidationError) as exc:
        setup.check_save_location(owner, {"name": " ", "time_zone": ""})
    errors = messages_of(exc)
    assert errors["name"] == ["Give the location a name, e.g. Main Street."]
    assert "time zone" in errors["time_zone"][0]


def test_it_refuses_a_nul_or_an_over_long_name_in_words(owner):
    # Not cut short or passed on: PostgreSQL refuses a NUL, and a shortened name is not
    # the name the person typed.
    with pytest.raises(ValidationError) as exc:
        setup.check_save_location(owner, {"name": "Main\x00Street", "time_zone": "UTC", "city": "x" * 200})
    errors = messages_of(exc)
    assert errors["name"] == ["Remove the NUL character: text may not contain it."]
    assert errors["city"][0].startswith("Keep this under")


def test_location_names_are_unique_whatever_their_case(owner, location):
    with pytest.raises(ValidationError) as exc:
        setup.check_save_location(owner, {"name": "main street", "time_zone": "America/Chicago"})
    assert messages_of(exc)["name"] == ["There is already a location called main street."]


def test_a_time_zone_is_matched_whatever_its_case(owner):
    assert setup.clean_time_zone("america/new_york") == "America/New_York"
    assert setup.clean_time_zone(" America/Los Angeles ") == "America/Los_Angeles"


def test_a_misspelt_time_zone_is_refused_with_a_suggestion():
    with pytest.raises(ValidationError) as exc:
        setup.clean_time_zone("America/Chicgo")
    assert exc.value.messages == [
        "“America/Chicgo” is not a time zone we know. Did you mean America/Chicago? "
        "Use a region and city, e.g. America/Chicago."
    ]


@pytest.mark.parametrize("zone", ["EST", "CST6CDT", "Etc/GMT+5", "MST", "GMT"])
def test_fixed_offsets_and_abbreviations_are_refused_because_they_ignore_daylight_saving(zone):
    with pytest.raises(ValidationError) as exc:
        setup.clean_time_zone(zone)
    assert "ignores daylight saving time" in exc.value.messages[0]


def test_utc_is_allowed_for_a_practice_that_wants_it():
    assert setup.clean_time_zone("utc") == "UTC"
    assert setup.clean_time_zone("Etc/UTC") == "UTC"


def test_opening_hours_are_local_times_that_follow_daylight_saving(location, at):
    # 08:00 in Chicago is 14:00 UTC in winter (CST) and 13:00 UTC in summer (CDT): the
    # stored local time is what stays fixed, the instant moves with the clocks.
    monday_hours = OpeningHours.objects.get(location=location, weekday=0)
    assert monday_hours.opens == datetime.time(8, 0)
    winter = at(datetime.date(2025, 1, 6), "08:00").astimezone(datetime.UTC)
    summer = at(datetime.date(2025, 7, 7), "08:00").astimezone(datetime.UTC)
    assert (winter.hour, summer.hour) == (14, 13)


def test_opening_hours_may_be_split_and_replace_the_week(owner, location):
    week = [
        {"weekday": 0, "opens": "08:00", "closes": "12:00"},
        {"weekday": 0, "opens": "12:00", "closes": "13:00"},  # touching is fine
        {"weekday": 0, "opens": "14:00", "closes": "18:00"},
    ]
    setup.do_save_location(owner, setup.check_save_location(owner, {"opening_hours": week}, location), location)
    rows = list(location.opening_hours.values_list("weekday", "opens", "closes"))
    assert rows == [
        (0, datetime.time(8), datetime.time(12)),
        (0, datetime.time(12), datetime.time(13)),
        (0, datetime.time(14), datetime.time(18)),
    ]


def test_overlapping_opening_hours_on_one_day_are_refused_beside_that_day(owner):
    week = [
        {"weekday": 2, "opens": "08:00", "closes": "12:00"},
        {"weekday": 2, "opens": "11:00", "closes": "15:00"},
        {"weekday": 3, "opens": "10:00", "closes": "09:00"},
    ]
    with pytest.raises(ValidationError) as exc:
        setup.check_save_location(owner, {"name": "X", "time_zone": "UTC", "opening_hours": week})
    errors = messages_of(exc)
    assert errors["wednesday"] == ["Wednesday: 08:00–12:00 and 11:00–15:00 overlap."]
    assert errors["thursday"] == ["Thursday: closing time 09:00 must be after 10:00."]


def test_typed_opening_hours_are_read_as_ranges():
    assert setup.parse_day_hours("08:00-12:00, 13:00–18:30") == [
        (datetime.time(8), datetime.time(12)),
        (datetime.time(13), datetime.time(18, 30)),
    ]
    assert setup.parse_day_hours("  ") == []
    with pytest.raises(ValidationError) as exc:
        setup.parse_day_hours("8 till 12")
    assert exc.value.messages == ["“8 till 12” is not a time range; write it as 09:00-17:00."]


def test_an_unused_location_is_deleted_with_its_rooms(owner, location, room, room2):
    setup.check_delete_location(owner, location)
    setup.do_delete_location(owner, location)
    assert not Location.objects.exists() and not Room.objects.exists()
    assert AuditEvent.objects.filter(record_type="location", action="delete").count() == 1


def test_a_booked_location_cannot_be_deleted_only_deactivated(owner, location, appointment):
    with pytest.raises(ValidationError) as exc:
        setup.check_delete_location(owner, location)
    assert exc.value.messages == [
        "Main Street has appointments, so it can’t be deleted. Mark it inactive instead: "
        "it stays in the history and nothing new can be booked there."
    ]
    setup.do_save_location(owner, setup.check_save_location(owner, {"is_active": False}, location), location)
    location.refresh_from_db()
    assert location.is_active is False


# Rooms --------------------------------------------------------------------------------------------


def test_room_names_are_unique_per_location_but_may_repeat_elsewhere(owner, location, room, riverside):
    with pytest.raises(ValidationError) as exc:
        setup.check_save_room(owner, {"location": location, "name": "room 1"})
    assert messages_of(exc)["name"] == ["Main Street already has a room called room 1."]
    elsewhere = setup.do_save_room(owner, setup.check_save_room(owner, {"location": riverside, "name": "Room 1"}))
    assert elsewhere.location == riverside


def test_a_room_is_renamed_without_clashing_with_itself(owner, room):
    clean = setup.check_save_room(owner, {"name": "Room 1", "is_active": False}, room)
    assert setup.do_save_room(owner, clean, room).is_active is False


def test_a_booked_room_is_deactivated_not_deleted_and_stays_where_it_is(owner, room, appointment, riverside):
    with pytest.raises(ValidationError) as exc:
        setup.check_delete_room(owner, room)
    assert "Mark it inactive instead" in exc.value.messages[0]
    with pytest.raises(ValidationError) as exc:
        setup.check_save_room(owner, {"location": riverside}, room)
    assert messages_of(exc)["location"] == ["This room has appointments, so it can’t move to another location."]


def test_an_unused_room_may_be_deleted(owner, room2):
    setup.check_delete_room(owner, room2)
    setup.do_delete_room(owner, room2)
    assert not Room.objects.filter(pk=room2.pk).exists()


def test_a_room_at_an_inactive_location_is_refused(owner, riverside):
    setup.do_save_location(owner, setup.check_save_location(owner, {"is_active": False}, riverside), riverside)
    with pytest.raises(ValidationError) as exc:
        setup.check_save_room(owner, {"location": riverside, "name": "Room 1"})
    assert messages_of(exc)["location"] == ["Riverside is inactive; reactivate it first."]


# Services -----------------------------------------------------------------------------------------


def service_data(**fields):
    return {"name": "Sports massage", "durations": [45], "default_price": Decimal("80.00"), **fields}


def test_a_service_keeps_its_lengths_in_order_and_the_first_is_the_default(owner, therapist):
    clean = setup.check_save_service(owner, service_data(durations="90, 30, 60", practitioners=[therapist]))
    service = setup.do_save_service(owner, clean)
    assert service.durations == [90, 30, 60] and service.default_duration == 90
    assert list(service.practitioners.all()) == [therapist]


@pytest.mark.parametrize(
    ("durations", "message"),
    [
        ([], "Give at least one length in minutes, e.g. 60 or 30, 60, 90."),
        ([62], "62 minutes won’t do: each length is a multiple of 5 minutes from 5 to 480."),
        ([0], "0 minutes won’t do: each length is a multiple of 5 minutes from 5 to 480."),
        ([485], "485 minutes won’t do: each length is a multiple of 5 minutes from 5 to 480."),
        ([60, 30, 60], "60 minutes is listed twice."),
        (["an hour"], "“an hour” is not a number of minutes."),
        ([True], "“True” is not a number of minutes."),
    ],
)
def test_service_lengths_are_distinct_multiples_of_five_up_to_eight_hours(owner, durations, message):
    with pytest.raises(ValidationError) as exc:
        setup.check_save_service(owner, service_data(durations=durations))
    assert messages_of(exc)["durations"] == [message]


def test_the_longest_and_shortest_lengths_are_allowed(owner):
    assert setup.check_save_service(owner, service_data(durations=[5, 480]))["durations"] == [5, 480]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"default_price": Decimal("-1")}, "default_price", "An amount cannot be negative."),
        (
            {"default_price": "95.005"},
            "default_price",
            "Three digits after the point: for a thousand type 1000 or 1,000; for whole cents, two digits, e.g. 40.50.",
        ),
        ({"default_price": "ninety"}, "default_price", "Enter the amount as a number, e.g. 40.00."),
        ({"currency": "dollars"}, "currency", "Give the currency as a three-letter code, e.g. USD, CAD or EUR."),
        ({"changeover_minutes": 241}, "changeover_minutes", "Give the changeover in minutes, from 0 to 240."),
        ({"changeover_minutes": -5}, "changeover_minutes", "Give the changeover in minutes, from 0 to 240."),
        ({"name": ""}, "name", "Give the service a name, e.g. Clinical massage."),
    ],
)
def test_service_fields_are_checked_in_plain_words(owner, fields, field, message):
    with pytest.raises(ValidationError) as exc:
        setup.check_save_service(owner, service_data(**fields))
    assert messages_of(exc)[field] == [message]


def test_a_free_service_and_a_long_changeover_are_fine(owner):
    clean = setup.check_save_service(owner, service_data(default_price="0", changeover_minutes=240, currency="cad"))
    assert (clean["default_price"], clean["changeover_minutes"], clean["currency"]) == (Decimal("0.00"), 240, "CAD")


def test_only_active_therapists_and_the_owner_give_services(owner, therapist, front_desk, django_user_model):
    with pytest.raises(ValidationError) as exc:
        setup.check_save_service(owner, service_data(practitioners=[therapist, front_desk]))
    assert messages_of(exc)["practitioners"] == ["Choose an active therapist or the owner."]
    therapist.is_active = False
    therapist.save()
    with pytest.raises(ValidationError):
        setup.check_save_service(owner, service_data(practitioners=[therapist]))
    assert setup.check_save_service(owner, service_data(practitioners=[owner]))["practitioners"] == [owner]


def test_a_partial_change_to_a_service_keeps_its_practitioners(owner, service, therapist):
    clean = setup.check_save_service(owner, {"default_price": "100.00"}, service)
    setup.do_save_service(owner, clean, service)
    service.refresh_from_db()
    assert service.default_price == Decimal("100.00")
    assert list(service.practitioners.all()) == [therapist]


def test_an_unknown_field_is_refused(owner, service):
    with pytest.raises(ValidationError) as exc:
        setup.check_save_service(owner, {"colour": "blue"}, service)
    assert exc.value.messages == ["Unknown field(s): colour."]


def test_a_booked_service_cannot_be_deleted_only_deactivated(owner, service, appointment):
    with pytest.raises(ValidationError) as exc:
        setup.check_delete_service(owner, service)
    assert exc.value.messages[0].startswith("Clinical massage has appointments or waitlist entries")


def test_an_unused_service_may_be_deleted(owner, service):
    setup.check_delete_service(owner, service)
    setup.do_delete_service(owner, service)
    assert not Service.objects.exists()


# Working hours ------------------------------------------------------------------------------------


def test_working_hours_end_after_they_start_and_periods_run_forwards(owner, therapist, location):
    with pytest.raises(ValidationError) as exc:
        check_hours(owner, therapist, location, start="17:00", end="09:00")
    assert messages_of(exc)["end"] == ["The end must be after the start (17:00)."]
    with pytest.raises(ValidationError) as exc:
        check_hours(owner, therapist, location, valid_from="2025-06-01", valid_until="2025-05-31")
    assert messages_of(exc)["valid_until"] == ["“Until” can’t be before “from”."]


def test_working_hours_need_a_real_time_weekday_and_practitioner(owner, front_desk, location):
    with pytest.raises(ValidationError) as exc:
        check_hours(owner, front_desk, location, weekday=7, start="9am")
    errors = messages_of(exc)
    assert errors["practitioner"] == ["Choose an active therapist or the owner."]
    assert errors["weekday"] == ["Choose a weekday (0 = Monday … 6 = Sunday)."]
    assert errors["start"] == ["“9am” is not a time; write it as HH:MM, e.g. 09:00 or 17:30."]


def test_overlapping_hours_on_the_same_day_are_refused(owner, therapist, location, hours):
    with pytest.raises(ValidationError) as exc:
        check_hours(owner, therapist, location, weekday=0, start="16:00", end="19:00")
    assert exc.value.messages == [
        "This overlaps Mondays 09:00–17:00 at Main Street. One person can’t work two places or two shifts "
        "at once: change the times or the dates it applies."
    ]


def test_one_person_cannot_work_two_places_at_once(owner, therapist, hours, riverside):
    with pytest.raises(ValidationError) as exc:
        check_hours(owner, therapist, riverside, weekday=2, start="12:00", end="13:00")
    assert "Wednesdays 09:00–17:00 at Main Street" in exc.value.messages[0]


def test_touching_hours_other_days_and_other_people_are_fine(owner, therapist, hours, riverside, django_user_model):
    save_hours(owner, therapist, riverside, weekday=0, start="17:00", end="20:00")  # after Main Street closes
    save_hours(owner, therapist, riverside, weekday=5, start="09:00", end="13:00")  # Saturday
    colleague = django_user_model.objects.create_user(username="colleague", role="therapist")
    save_hours(owner, colleague, riverside, weekday=0, start="09:00", end="17:00")
    assert hours_rules.list_working_hours(owner, practitioner=therapist).count() == 7


def test_hours_for_periods_that_do_not_meet_may_overlap_in_time(owner, therapist, location, riverside):
    save_hours(owner, therapist, location, weekday=1, valid_until="2025-06-30")
    save_hours(owner, therapist, riverside, weekday=1, valid_from="2025-07-01")
    with pytest.raises(ValidationError):
        check_hours(owner, therapist, riverside, weekday=1, valid_from="2025-06-30", valid_until="2025-07-15")
    with pytest.raises(ValidationError):  # open-ended overlaps everything on that weekday
        check_hours(owner, therapist, location, weekday=1, start="10:00", end="11:00")


def test_changing_a_row_does_not_clash_with_itself(owner, hours):
    monday = hours[0]
    clean = hours_rules.check_save_working_hours(owner, {"end": "18:00"}, monday)
    assert hours_rules.do_save_working_hours(owner, clean, monday).end == datetime.time(18)


def test_the_clash_is_checked_again_when_saving(owner, therapist, location, riverside):
    # Two owners' tabs: both checked before either saved. The second save is refused.
    first = check_hours(owner, therapist, location, weekday=3)
    second = check_hours(owner, therapist, riverside, weekday=3, start="12:00", end="18:00")
    hours_rules.do_save_working_hours(owner, first)
    with pytest.raises(ValidationError):
        hours_rules.do_save_working_hours(owner, second)
    assert hours_rules.list_working_hours(owner, practitioner=therapist).count() == 1


def test_new_hours_at_an_inactive_location_are_refused(owner, therapist, riverside):
    setup.do_save_location(owner, setup.check_save_location(owner, {"is_active": False}, riverside), riverside)
    with pytest.raises(ValidationError) as exc:
        check_hours(owner, therapist, riverside)
    assert messages_of(exc)["location"] == ["Riverside is inactive; reactivate it first."]


def test_working_hours_may_be_deleted(owner, hours):
    hours_rules.check_delete_working_hours(owner, hours[0])
    hours_rules.do_delete_working_hours(owner, hours[0])
    assert AuditEvent.objects.filter(record_type="working_hours", action="delete").count() == 1


# Dated exceptions ---------------------------------------------------------------------------------


def test_an_exception_has_both_times_or_neither(owner, therapist, location, next_monday):
    with pytest.raises(ValidationError) as exc:
        hours_rules.check_save_exception(
            owner, {"practitioner": therapist, "location": location, "date": next_monday, "start": "10:00"}
        )
    assert messages_of(exc)["end"] == ["Give both a start and an end, or neither for a day off."]


def test_a_day_off_and_a_split_day(owner, therapist, location, hours, next_monday):
    off = save_exception(owner, therapist, location, next_monday, reason="training")
    assert off.start is None and off.end is None
    tuesday = next_monday + datetime.timedelta(days=1)
    save_exception(owner, therapist, location, tuesday, "08:00", "11:00")
    save_exception(owner, therapist, location, tuesday, "15:00", "19:00")
    assert hours_rules.list_exceptions(owner, practitioner=therapist).count() == 3


def test_a_day_off_cannot_sit_beside_other_hours_at_the_same_place(owner, therapist, location, next_monday):
    save_exception(owner, therapist, location, next_monday, "10:00", "12:00")
    with pytest.raises(ValidationError) as exc:
        save_exception(owner, therapist, location, next_monday)
    assert "There is already an exception for" in exc.value.messages[0]


def test_exceptions_at_two_places_may_not_overlap(owner, therapist, location, riverside, next_monday):
    save_exception(owner, therapist, location, next_monday, "09:00", "13:00")
    with pytest.raises(ValidationError) as exc:
        save_exception(owner, therapist, riverside, next_monday, "12:00", "16:00")
    assert "One person can’t be in two places." in exc.value.messages[0]
    save_exception(owner, therapist, riverside, next_monday, "13:00", "16:00")


def test_an_exception_may_not_overlap_the_weekly_hours_still_in_force_elsewhere(
    owner, therapist, location, hours, riverside, next_monday
):
    with pytest.raises(ValidationError) as exc:
        save_exception(owner, therapist, riverside, next_monday, "10:00", "12:00")
    assert exc.value.messages == [
        "This overlaps Mondays 09:00–17:00 at Main Street. Add an exception there too (different hours or off) first."
    ]
    save_exception(owner, therapist, location, next_monday)  # off at Main Street that day …
    save_exception(owner, therapist, riverside, next_monday, "10:00", "12:00")  # … so Riverside is fine


def test_new_weekly_hours_may_not_overlap_a_coming_day_with_different_hours_elsewhere(
    owner, therapist, location, riverside, next_monday
):
    save_exception(owner, therapist, riverside, next_monday, "10:00", "12:00")
    with pytest.raises(ValidationError) as exc:
        check_hours(owner, therapist, location, weekday=0)
    assert exc.value.messages[0].startswith(f"This overlaps {next_monday:%a %d %b %Y} at Riverside: 10:00–12:00")
    after = next_monday + datetime.timedelta(days=1)
    check_hours(owner, therapist, location, weekday=0, valid_from=after)  # leaves that day out
    check_hours(owner, therapist, location, weekday=0, start="12:00", end="17:00")  # touching is fine
    save_exception(owner, therapist, location, next_monday)  # off at Main Street that day …
    save_hours(owner, therapist, location, weekday=0)  # … so the weekly row is replaced there


def test_exceptions_may_be_deleted(owner, therapist, location, next_monday):
    row = save_exception(owner, therapist, location, next_monday)
    hours_rules.do_delete_exception(owner, row)
    assert hours_rules.list_exceptions(owner).count() == 0


# Time off -----------------------------------------------------------------------------------------


def test_time_off_needs_instants_with_their_zone_and_runs_forwards(owner, therapist, at, next_monday):
    naive = datetime.datetime.combine(next_monday, datetime.time(9))
    with pytest.raises(ValidationError) as exc:
        hours_rules.check_save_time_off(owner, {"practitioner": therapist, "start": naive, "end": "next week"})
    errors = messages_of(exc)
    assert errors["start"] == ["Give the time with its time zone or offset, e.g. 2025-03-01T09:00:00-06:00."]
    assert errors["end"] == ["Give a date and time with its offset, e.g. 2025-03-01T09:00:00-06:00."]


def test_time_off_end_after_start(owner, therapist, at, next_monday):
    data = {"practitioner": therapist, "start": at(next_monday, "12:00"), "end": at(next_monday, "09:00")}
    with pytest.raises(ValidationError) as exc:
        hours_rules.check_save_time_off(owner, data)
    assert messages_of(exc)["end"] == ["The end must be after the start."]


def test_time_off_is_stored_in_utc_and_may_not_overlap_other_time_off(owner, therapist, at, next_monday):
    data = {"practitioner": therapist, "start": at(next_monday, "09:00"), "end": at(next_monday, "13:00")}
    saved = hours_rules.do_save_time_off(owner, hours_rules.check_save_time_off(owner, data))
    assert saved.start == at(next_monday, "09:00")
    clash = data | {"start": at(next_monday, "12:00"), "end": at(next_monday, "15:00")}
    with pytest.raises(ValidationError) as exc:
        hours_rules.check_save_time_off(owner, clash)
    assert exc.value.messages[0].startswith("This overlaps time off already recorded")
    later = data | {"start": at(next_monday, "13:00"), "end": at(next_monday, "15:00")}
    hours_rules.do_save_time_off(owner, hours_rules.check_save_time_off(owner, later))
    assert TimeOff.objects.count() == 2


def test_time_off_counts_the_visits_already_booked_in_it(therapist, appointment, at, next_monday):
    assert hours_rules.appointments_during(therapist, at(next_monday, "09:00"), at(next_monday, "12:00")) == 1
    assert hours_rules.appointments_during(therapist, at(next_monday, "11:00"), at(next_monday, "12:00")) == 0
    appointment.status = "cancelled"
    appointment.save()
    assert hours_rules.appointments_during(therapist, at(next_monday, "09:00"), at(next_monday, "12:00")) == 0


# The booking policy -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "ok"), [(4, False), (5, True), (120, True), (121, False), ("15", True), (True, False)]
)
def test_the_slot_step_is_five_to_a_hundred_and_twenty_minutes(owner, step, ok):
    if ok:
        assert setup.check_save_policy(owner, {"slot_step_minutes": step})["slot_step_minutes"] == int(step)
    else:
        with pytest.raises(ValidationError) as exc:
            setup.check_save_policy(owner, {"slot_step_minutes": step})
        assert messages_of(exc)["slot_step_minutes"] == ["Offer a start every 5 to 120 minutes."]


def test_the_policy_is_one_row_changed_in_place(owner):
    setup.do_save_policy(owner, setup.check_save_policy(owner, {"late_cancel_hours": 48}))
    setup.do_save_policy(owner, setup.check_save_policy(owner, {"send_reminders": False}))
    policy = SchedulingPolicy.objects.get()
    assert (policy.late_cancel_hours, policy.send_reminders, policy.slot_step_minutes) == (48, False, 15)
    assert AuditEvent.objects.filter(record_type="scheduling_policy").count() == 2


def test_policy_numbers_out_of_range_are_refused(owner):
    with pytest.raises(ValidationError) as exc:
        setup.check_save_policy(owner, {"late_cancel_hours": -1, "reminder_hours_before": 0})
    errors = messages_of(exc)
    assert set(errors) == {"late_cancel_hours", "reminder_hours_before"}
