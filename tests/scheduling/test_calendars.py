"""calendars.py: the engine's inputs from the database, and why a chosen booking fails.

Uses the shared fixtures of tests/scheduling_fixtures.py: ``location`` (America/Chicago,
open Monday–Saturday 08:00–20:00), ``room``, ``room2``, ``service`` (60 or 30 minutes,
15 minutes changeover, needs a room, given by ``therapist``), ``hours`` (the therapist
works Monday–Friday 09:00–17:00), ``next_monday`` and ``at(day, "HH:MM")``.
"""

import datetime
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from effleura.core.choices import Role
from effleura.patients.models import Patient
from effleura.scheduling import calendars
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import (
    Appointment,
    Location,
    OpeningHours,
    Room,
    ScheduleException,
    SchedulingPolicy,
    Service,
    TimeOff,
    WorkingHours,
)

T = datetime.time.fromisoformat
DAY = datetime.timedelta(days=1)
_patients = itertools.count(1)


@pytest.fixture
def appointment(db, owner, service, location):
    """appointment(start, minutes=60, practitioner=..., room=None, status=booked, ...) -> an
    Appointment row written directly (booking's own rules are tested elsewhere); a fresh
    patient each time, so patients never overlap."""

    def make(start, minutes=60, *, practitioner, room=None, status=AppointmentStatus.BOOKED, **extra):
        n = next(_patients)
        patient = Patient.objects.create(
            chart_number=f"CAL-{n}",
            legal_first_name=f"Calendar{n}",
            legal_last_name="Synthetic",
            date_of_birth=datetime.date(1980, 1, 1),
        )
        svc = extra.pop("service", service)
        end = start + datetime.timedelta(minutes=minutes)
        return Appointment.objects.create(
            patient=patient,
            practitioner=practitioner,
            service=svc,
            location=extra.pop("location", location),
            room=room,
            duration_minutes=minutes,
            start=start,
            end=end,
            busy_until=end + datetime.timedelta(minutes=svc.changeover_minutes),
            status=status,
            created_by=owner,
            **extra,
        )

    return make


@pytest.fixture
def second_therapist(db, django_user_model, service):
    user = django_user_model.objects.create_user(
        username="second", first_name="Sam", last_name="Second", role=Role.THERAPIST, password="x-unused-9"
    )
    service.practitioners.add(user)
    return user


def day_slots(service, location, day, at, **kw):
    return calendars.available_slots(service, location, at(day, "00:00"), at(day + DAY, "00:00"), **kw)


def starts(slots, location) -> list[str]:
    return [f"{s.start.astimezone(location.tz):%H:%M}" for s in slots]


# available_slots ------------------------------------------------------------------------


def test_a_working_day_offers_every_quarter_hour_until_the_last_visit_fits(
    service, location, room, hours, therapist, next_monday, at
):
    slots = day_slots(service, location, next_monday, at)
    assert starts(slots, location)[0] == "09:00"
    assert starts(slots, location)[-1] == "16:00"
    assert len(slots) == 29
    assert {(s.practitioner, s.room) for s in slots} == {(therapist, room)}
    assert all(s.end - s.start == datetime.timedelta(minutes=60) for s in slots)


def test_the_duration_decides_the_last_start(service, location, room, hours, next_monday, at):
    assert starts(day_slots(service, location, next_monday, at, duration=30), location)[-1] == "16:30"


def test_a_duration_the_service_does_not_offer_is_refused(service, location, room, hours, next_monday, at):
    with pytest.raises(ValidationError) as caught:
        day_slots(service, location, next_monday, at, duration=45)
    assert caught.value.message_dict == {"duration": ["Clinical massage is booked for 60 or 30 minutes, not 45."]}


def test_an_appointment_and_its_changeover_hold_the_practitioner(
    service, location, room, room2, hours, therapist, next_monday, at, appointment
):
    appointment(at(next_monday, "10:15"), practitioner=therapist, room=room)  # busy until 11:30
    got = starts(day_slots(service, location, next_monday, at), location)
    # 09:00 + 60 + 15 ends at 10:15: touching is fine. 09:15 would run into the visit;
    # the next visit may start when its changeover ends.
    assert got[:2] == ["09:00", "11:30"]


def test_a_cancelled_appointment_frees_its_time(
    service, location, room, hours, therapist, next_monday, at, appointment
):
    appointment(at(next_monday, "10:00"), practitioner=therapist, room=room, status=AppointmentStatus.CANCELLED)
    assert len(day_slots(service, location, next_monday, at)) == 29


def test_no_shows_and_interrupted_sessions_still_hold_their_time(
    service, location, room, hours, therapist, next_monday, at, appointment
):
    appointment(at(next_monday, "10:00"), practitioner=therapist, room=room, status=AppointmentStatus.NO_SHOW)
    appointment(at(next_monday, "13:00"), practitioner=therapist, room=room, status=AppointmentStatus.INTERRUPTED)
    got = starts(day_slots(service, location, next_monday, at), location)
    assert "10:00" not in got and "13:00" not in got


def test_an_appointment_at_another_location_holds_the_practitioner(
    service, location, room, hours, therapist, next_monday, at, appointment
):
    elsewhere = Location.objects.create(name="Hospital", time_zone="America/Chicago")
    appointment(at(next_monday, "09:00"), 90, practitioner=therapist, location=elsewhere)
    assert starts(day_slots(service, location, next_monday, at), location)[0] == "10:45"


def test_the_first_free_room_is_offered(
    service, location, room, room2, hours, therapist, second_therapist, next_monday, at, appointment
):
    appointment(at(next_monday, "09:00"), practitioner=second_therapist, room=room)  # Room 1 until 10:15
    slots = [s for s in day_slots(service, location, next_monday, at) if s.practitioner == therapist]
    by_start = {f"{s.start.astimezone(location.tz):%H:%M}": s.room for s in slots}
    assert by_start["09:00"] == room2
    assert by_start["10:15"] == room


def test_no_slot_when_every_room_is_taken(
    service, location, room, hours, therapist, second_therapist, next_monday, at, appointment
):
    appointment(at(next_monday, "09:00"), 480, practitioner=second_therapist, room=room)
    assert day_slots(service, location, next_monday, at, practitioner=therapist) == []


def test_a_service_without_a_room_offers_slots_without_one(location, hours, therapist, next_monday, at):
    phone = Service.objects.create(name="Phone consult", durations=[30], needs_room=False)
    phone.practitioners.set([therapist])
    slots = day_slots(phone, location, next_monday, at)
    assert slots and all(s.room is None for s in slots)


def test_inactive_rooms_are_not_offered(service, location, room, hours, next_monday, at):
    Room.objects.filter(pk=room.pk).update(is_active=False)
    assert day_slots(service, location, next_monday, at) == []


def test_only_active_practitioners_who_give_the_service(
    service, location, room, hours, therapist, second_therapist, front_desk, next_monday, at
):
    WorkingHours.objects.create(
        practitioner=second_therapist, location=location, weekday=0, start=T("09:00"), end=T("10:00")
    )
    WorkingHours.objects.create(practitioner=front_desk, location=location, weekday=0, start=T("09:00"), end=T("10:00"))
    assert {s.practitioner for s in day_slots(service, location, next_monday, at)} == {therapist, second_therapist}
    second_therapist.is_active = False
    second_therapist.save()
    assert {s.practitioner for s in day_slots(service, location, next_monday, at)} == {therapist}
    with pytest.raises(ValidationError):
        day_slots(service, location, next_monday, at, practitioner=front_desk)


def test_slots_come_by_start_then_by_practitioner_name(
    service, location, room, room2, hours, therapist, second_therapist, next_monday, at
):
    WorkingHours.objects.create(
        practitioner=second_therapist, location=location, weekday=0, start=T("09:00"), end=T("17:00")
    )
    slots = day_slots(service, location, next_monday, at)
    assert [s.practitioner for s in slots[:2]] == [second_therapist, therapist]  # "Second" before "Tester"
    assert [s.start for s in slots] == sorted(s.start for s in slots)


def test_a_schedule_exception_replaces_the_days_hours(service, location, room, hours, therapist, next_monday, at):
    ScheduleException.objects.create(
        practitioner=therapist, location=location, date=next_monday, start=T("12:00"), end=T("14:00")
    )
    assert starts(day_slots(service, location, next_monday, at), location) == [
        "12:00",
        "12:15",
        "12:30",
        "12:45",
        "13:00",
    ]
    # Only that date: the Tuesday keeps the weekly pattern.
    assert starts(day_slots(service, location, next_monday + DAY, at), location)[0] == "09:00"


def test_an_exception_without_times_is_a_day_off(service, location, room, hours, therapist, next_monday, at):
    ScheduleException.objects.create(practitioner=therapist, location=location, date=next_monday, reason="Course")
    assert day_slots(service, location, next_monday, at) == []


def test_an_exception_can_add_a_day_outside_the_pattern(service, location, room, hours, therapist, next_monday, at):
    saturday = next_monday + 5 * DAY
    ScheduleException.objects.create(
        practitioner=therapist, location=location, date=saturday, start=T("10:00"), end=T("12:00")
    )
    assert starts(day_slots(service, location, saturday, at), location) == ["10:00", "10:15", "10:30", "10:45", "11:00"]


def test_an_exception_at_another_location_leaves_this_one_alone(
    service, location, room, hours, therapist, next_monday, at
):
    elsewhere = Location.objects.create(name="Hospital", time_zone="America/Chicago")
    ScheduleException.objects.create(practitioner=therapist, location=elsewhere, date=next_monday)
    assert len(day_slots(service, location, next_monday, at)) == 29


def test_time_off_is_taken_out(service, location, room, hours, therapist, next_monday, at):
    TimeOff.objects.create(practitioner=therapist, start=at(next_monday, "11:00"), end=at(next_monday, "13:30"))
    got = starts(day_slots(service, location, next_monday, at), location)
    assert got[:9] == ["09:00", "09:15", "09:30", "09:45", "10:00", "13:30", "13:45", "14:00", "14:15"]


def test_time_off_over_several_days(service, location, room, hours, therapist, next_monday, at):
    TimeOff.objects.create(
        practitioner=therapist, start=at(next_monday - DAY, "00:00"), end=at(next_monday + DAY, "12:00")
    )
    assert day_slots(service, location, next_monday, at) == []
    assert starts(day_slots(service, location, next_monday + DAY, at), location)[0] == "12:00"


def test_opening_hours_bound_the_working_hours(service, location, room, therapist, next_monday, at):
    for weekday in (0, 6):  # Monday, and Sunday when the location is closed
        WorkingHours.objects.create(
            practitioner=therapist, location=location, weekday=weekday, start=T("06:00"), end=T("22:00")
        )
    got = starts(day_slots(service, location, next_monday, at), location)
    assert (got[0], got[-1]) == ("08:00", "19:00")
    assert day_slots(service, location, next_monday - DAY, at) == []


def test_a_location_without_opening_hours_is_always_open(service, location, room, therapist, next_monday, at):
    OpeningHours.objects.filter(location=location).delete()
    WorkingHours.objects.create(practitioner=therapist, location=location, weekday=6, start=T("06:00"), end=T("22:00"))
    got = starts(day_slots(service, location, next_monday - DAY, at), location)
    assert (got[0], got[-1]) == ("06:00", "21:00")


def test_split_opening_hours(service, location, room, hours, next_monday, at):
    OpeningHours.objects.filter(location=location, weekday=0).delete()
    OpeningHours.objects.create(location=location, weekday=0, opens=T("08:00"), closes=T("12:00"))
    OpeningHours.objects.create(location=location, weekday=0, opens=T("13:00"), closes=T("20:00"))
    got = starts(day_slots(service, location, next_monday, at), location)
    assert "11:00" in got and "11:15" not in got and "12:45" not in got and "13:00" in got


def test_weekly_hours_hold_only_between_valid_from_and_valid_until(service, location, room, therapist, next_monday, at):
    week = 7 * DAY
    WorkingHours.objects.create(
        practitioner=therapist,
        location=location,
        weekday=0,
        start=T("09:00"),
        end=T("12:00"),
        valid_from=next_monday,
        valid_until=next_monday + week,  # inclusive
    )
    WorkingHours.objects.create(
        practitioner=therapist,
        location=location,
        weekday=0,
        start=T("14:00"),
        end=T("16:00"),
        valid_from=next_monday + 2 * week,
    )
    assert day_slots(service, location, next_monday - week, at) == []
    assert starts(day_slots(service, location, next_monday, at), location)[0] == "09:00"
    assert starts(day_slots(service, location, next_monday + week, at), location)[0] == "09:00"
    assert starts(day_slots(service, location, next_monday + 2 * week, at), location) == [
        "14:00",
        "14:15",
        "14:30",
        "14:45",
        "15:00",
    ]


def test_minimum_notice_and_step_come_from_the_policy(service, location, room, hours, next_monday, at):
    SchedulingPolicy.objects.create(minimum_notice_minutes=90, slot_step_minutes=20)
    now = at(next_monday, "09:05")
    got = starts(day_slots(service, location, next_monday, at, now=now), location)
    assert got[:3] == ["10:40", "11:00", "11:20"]


def test_staff_see_the_times_inside_the_notice_and_clients_do_not(service, location, room, hours, next_monday, at):
    SchedulingPolicy.objects.create(minimum_notice_minutes=90, slot_step_minutes=20)
    now = at(next_monday, "09:05")
    strict = starts(day_slots(service, location, next_monday, at, now=now), location)
    staff = starts(day_slots(service, location, next_monday, at, now=now, short_notice=True), location)
    assert strict[0] == "10:40"
    assert staff[:2] == ["09:20", "09:40"]  # from now on, on the step


def test_a_window_shorter_than_a_day(service, location, room, hours, next_monday, at):
    slots = calendars.available_slots(service, location, at(next_monday, "10:10"), at(next_monday, "11:00"))
    assert starts(slots, location) == ["10:15", "10:30", "10:45"]


def test_the_days_clocks_change_in_new_york(therapist, room):
    """Working Sunday 00:00–06:00 local on both change days of 2025: the wall-clock hours
    hold, so there are five real hours on the spring day and seven on the autumn one."""
    new_york = Location.objects.create(name="Manhattan", time_zone="America/New_York")
    ny_room = Room.objects.create(location=new_york, name="Suite")
    svc = Service.objects.create(name="Night shift", durations=[60], changeover_minutes=0)
    svc.practitioners.set([therapist])
    WorkingHours.objects.create(practitioner=therapist, location=new_york, weekday=6, start=T("00:00"), end=T("06:00"))
    tz = ZoneInfo("America/New_York")
    now = datetime.datetime(2025, 1, 1, tzinfo=tz)
    for day, count in ((datetime.date(2025, 3, 9), 5 * 4 - 3), (datetime.date(2025, 11, 2), 7 * 4 - 3)):
        start = datetime.datetime.combine(day, T("00:00"), tzinfo=tz)
        slots = calendars.available_slots(svc, new_york, start, start + DAY, now=now)
        assert len(slots) == count
        assert slots[-1].end.astimezone(tz).strftime("%H:%M") == "06:00"
        assert {s.room for s in slots} == {ny_room}
    spring = datetime.datetime(2025, 3, 9, tzinfo=tz)
    got = [
        f"{s.start.astimezone(tz):%H:%M}"
        for s in calendars.available_slots(svc, new_york, spring, spring + DAY, now=now)
    ]
    assert "01:45" in got and "02:00" not in got and "03:00" in got


def test_inactive_service_or_location_is_refused(service, location, room, hours, next_monday, at):
    Service.objects.filter(pk=service.pk).update(is_active=False)
    service.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        day_slots(service, location, next_monday, at)
    assert "service" in caught.value.message_dict


def test_queries_do_not_grow_with_appointments_or_practitioners(
    service,
    location,
    room,
    room2,
    hours,
    therapist,
    next_monday,
    at,
    appointment,
    django_user_model,
    django_assert_num_queries,
):
    start, end = at(next_monday, "00:00"), at(next_monday + 7 * DAY, "00:00")
    with django_assert_num_queries(9) as few:
        calendars.available_slots(service, location, start, end)
    for n in range(6):
        user = django_user_model.objects.create_user(username=f"extra{n}", role=Role.THERAPIST, password="x-unused-9")
        service.practitioners.add(user)
        WorkingHours.objects.create(practitioner=user, location=location, weekday=1, start=T("09:00"), end=T("17:00"))
        TimeOff.objects.create(
            practitioner=user, start=at(next_monday + DAY, "12:00"), end=at(next_monday + DAY, "13:00")
        )
        for k in range(5):
            room_for = room if k % 2 else room2
            appointment(
                at(next_monday + k * DAY, f"{9 + n:02d}:00"), 30, practitioner=user, room=room_for if n < 2 else None
            )
    with django_assert_num_queries(len(few.captured_queries)):
        slots = calendars.available_slots(service, location, start, end)
    assert len({s.practitioner for s in slots}) == 7


# slot_problems ---------------------------------------------------------------------------


def test_a_bookable_slot_has_no_problems(service, location, room, hours, therapist, next_monday, at):
    assert calendars.slot_problems(service, 60, location, therapist, room, at(next_monday, "10:00")) == []


def test_the_problems_name_the_working_hours(service, location, room, hours, therapist, next_monday, at):
    problems = calendars.slot_problems(service, 60, location, therapist, room, at(next_monday, "16:30"))
    assert problems == [
        "Therapist Tester, LMT does not work at Main Street at that time (hours that day: 09:00–17:00)."
    ]
    saturday = next_monday + 5 * DAY
    problems = calendars.slot_problems(service, 60, location, therapist, room, at(saturday, "10:00"))
    assert problems == ["Therapist Tester, LMT does not work at Main Street at that time (not working there that day)."]


def test_the_problems_name_the_opening_hours(service, location, room, therapist, next_monday, at):
    WorkingHours.objects.create(practitioner=therapist, location=location, weekday=0, start=T("06:00"), end=T("22:00"))
    problems = calendars.slot_problems(service, 60, location, therapist, room, at(next_monday, "07:30"))
    assert problems == ["Main Street is closed at that time (open 08:00–20:00 that day)."]
    sunday = next_monday - DAY
    WorkingHours.objects.create(practitioner=therapist, location=location, weekday=6, start=T("06:00"), end=T("22:00"))
    problems = calendars.slot_problems(service, 60, location, therapist, room, at(sunday, "10:00"))
    assert problems == ["Main Street is closed at that time (closed all day)."]


def test_the_problems_show_the_conflicting_time_in_the_locations_zone(
    service, location, room, room2, hours, therapist, second_therapist, next_monday, at, appointment
):
    appointment(at(next_monday, "10:00"), practitioner=therapist, room=room2)
    appointment(at(next_monday, "11:00"), practitioner=second_therapist, room=room)
    day = at(next_monday, "10:00")
    when = f"{day:%a} {day.day} {day:%b %Y}"
    problems = calendars.slot_problems(service, 60, location, therapist, room, at(next_monday, "10:30"))
    assert problems == [
        f"Therapist Tester, LMT is busy on {when} 10:00–11:15 (another appointment, changeover included).",
        f"Room 1 is in use on {when} 11:00–12:15 (changeover included).",
    ]


def test_the_changeover_of_the_new_visit_counts(
    service, location, room, hours, therapist, next_monday, at, appointment
):
    appointment(at(next_monday, "11:00"), practitioner=therapist, room=room)
    assert calendars.slot_problems(service, 60, location, therapist, room, at(next_monday, "09:45")) == []
    problems = calendars.slot_problems(service, 60, location, therapist, room, at(next_monday, "09:50"))
    assert [p.split(" ")[0] for p in problems] == ["Therapist", "Room"]  # both busy from 11:00


def test_a_reschedule_ignores_the_appointment_being_moved(
    service, location, room, hours, therapist, next_monday, at, appointment
):
    moving = appointment(at(next_monday, "10:00"), practitioner=therapist, room=room)
    later = at(next_monday, "10:30")
    assert calendars.slot_problems(service, 60, location, therapist, room, later) != []
    assert calendars.slot_problems(service, 60, location, therapist, room, later, ignore_appointment=moving) == []
    assert calendars.slot_problems(service, 60, location, therapist, room, later, ignore_appointment=moving.pk) == []


def test_time_off_and_notice_are_problems(service, location, room, hours, therapist, next_monday, at):
    TimeOff.objects.create(practitioner=therapist, start=at(next_monday, "12:00"), end=at(next_monday, "13:00"))
    problems = calendars.slot_problems(
        service, 60, location, therapist, room, at(next_monday, "11:30"), now=at(next_monday, "11:00")
    )
    day = at(next_monday, "12:00")
    date = f"{day:%a} {day.day} {day:%b %Y}"
    assert problems == [
        f"That is too soon: bookings need 60 minutes' notice (the earliest start now is {date} 12:00).",
        f"Therapist Tester, LMT has time off on {date} 12:00–13:00.",
    ]


def test_the_choice_itself_can_be_a_problem(service, location, room, hours, therapist, front_desk, next_monday, at):
    start = at(next_monday, "10:00")
    other_place = Location.objects.create(name="Hospital", time_zone="America/Chicago")
    far_room = Room.objects.create(location=other_place, name="Ward 3")
    closed_room = Room.objects.create(location=location, name="Old room", is_active=False)
    assert calendars.slot_problems(service, 45, location, therapist, room, start) == [
        "Clinical massage is booked for 60 or 30 minutes, not 45."
    ]
    assert "Front Desk Tester does not give Clinical massage." in calendars.slot_problems(
        service, 60, location, front_desk, room, start
    )
    assert calendars.slot_problems(service, 60, location, therapist, far_room, start) == [
        "Ward 3 is at another location, not Main Street."
    ]
    assert calendars.slot_problems(service, 60, location, therapist, closed_room, start) == ["Old room is not in use."]
    assert calendars.slot_problems(service, 60, location, therapist, None, start) == [
        "Clinical massage needs a room: choose one."
    ]
    assert calendars.slot_problems(service, 60, location, therapist, room, start.replace(second=30)) == [
        "Start on a whole minute."
    ]
    assert calendars.slot_problems(service, 60, location, therapist, room, start.replace(tzinfo=None)) == [
        "Give the start time with its time zone (an offset such as -05:00)."
    ]


def test_slot_problems_take_a_bounded_number_of_queries(
    service, location, room, hours, therapist, next_monday, at, appointment, django_assert_max_num_queries
):
    for k in range(10):
        appointment(at(next_monday, "09:00") + k * datetime.timedelta(minutes=30), 15, practitioner=therapist)
    with django_assert_max_num_queries(9):
        calendars.slot_problems(service, 60, location, therapist, room, at(next_monday, "14:00"))


def test_slot_problems_and_available_slots_agree_on_every_start_of_a_busy_day(
    service, location, room, room2, hours, therapist, second_therapist, next_monday, at, appointment
):
    """Booking uses slot_problems and the calendar offers available_slots: on a day with
    appointments, an exception, time off and split opening hours, a start is offered for a
    practitioner exactly when some room makes slot_problems empty, and the room offered
    is one of those."""
    OpeningHours.objects.filter(location=location, weekday=0).delete()
    OpeningHours.objects.create(location=location, weekday=0, opens=T("08:00"), closes=T("12:30"))
    OpeningHours.objects.create(location=location, weekday=0, opens=T("13:00"), closes=T("18:00"))
    ScheduleException.objects.create(
        practitioner=second_therapist, location=location, date=next_monday, start=T("08:30"), end=T("15:00")
    )
    TimeOff.objects.create(practitioner=therapist, start=at(next_monday, "14:10"), end=at(next_monday, "14:40"))
    appointment(at(next_monday, "09:30"), practitioner=therapist, room=room)
    appointment(at(next_monday, "10:00"), 30, practitioner=second_therapist, room=room2)
    appointment(at(next_monday, "11:15"), 90, practitioner=second_therapist, room=room)
    slots = day_slots(service, location, next_monday, at)
    offered = {(s.start, s.practitioner.pk): s.room for s in slots}
    assert len(offered) == len(slots)
    start = at(next_monday, "07:00")
    checked = 0
    while start < at(next_monday, "18:00"):
        for person in (therapist, second_therapist):
            fine = [r for r in (room, room2) if not calendars.slot_problems(service, 60, location, person, r, start)]
            key = (start, person.pk)
            assert (key in offered) == bool(fine), (start, person, fine)
            if fine:
                assert offered[key] == fine[0]
                checked += 1
        start += datetime.timedelta(minutes=15)
    assert checked > 10
