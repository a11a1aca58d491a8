"""Whatever the sequence of bookings, cancellations and reschedules, no practitioner, room
or patient is ever in two overlapping appointments that hold time; and a booking is
refused only when something really is in the way. Checked by brute force over the table."""

import datetime
import itertools

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from effleura.core.choices import Role
from effleura.scheduling import actions
from effleura.scheduling.booking import BookingConflict
from effleura.scheduling.choices import HOLDS_TIME
from effleura.scheduling.models import Appointment, WorkingHours

# Starts on next Monday from 09:00 to 16:00 every 15 minutes (all inside working hours,
# so only clashes can refuse a booking).
SLOTS = 29
DURATIONS = [60, 30]

book_op = st.tuples(
    st.just("book"),
    st.integers(0, 2),  # patient
    st.integers(0, 1),  # practitioner
    st.sampled_from([None, 0, 1]),  # room: ours to choose, or a given one
    st.integers(0, SLOTS - 1),
    st.sampled_from(DURATIONS),
)
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 30))
move_op = st.tuples(st.just("move"), st.integers(0, 30), st.integers(0, SLOTS - 1), st.sampled_from([None, 0, 1]))
operations = st.lists(st.one_of(book_op, book_op, cancel_op, move_op), min_size=1, max_size=20)


@pytest.fixture
def world(
    front_desk, therapist, django_user_model, location, room, room2, service, hours, next_monday, at, make_patient
):
    other = django_user_model.objects.create_user(username="other", role=Role.THERAPIST, first_name="Jordan")
    service.practitioners.add(other)
    WorkingHours.objects.bulk_create(
        WorkingHours(practitioner=other, location=location, weekday=d, start=datetime.time(9), end=datetime.time(17))
        for d in range(5)
    )
    return {
        "actor": front_desk,
        "practitioners": [therapist, other],
        "rooms": [room, room2],
        "patients": [make_patient() for _ in range(3)],
        "service": service,
        "location": location,
        "start": lambda k: at(next_monday, "09:00") + datetime.timedelta(minutes=15 * k),
    }


def holding():
    return list(Appointment.objects.filter(status__in=HOLDS_TIME))


def in_the_way(rows, *, practitioner, room, patient, start, end, busy_until, ignore=None):
    """What stands in the way of a visit, by brute force: (practitioner, room, patient) flags."""
    flags = [False, False, False]
    for row in rows:
        if row.pk == ignore:
            continue
        busy = row.start < busy_until and start < row.busy_until
        flags[0] |= busy and row.practitioner_id == practitioner.pk
        flags[1] |= busy and room is not None and row.room_id == room.pk
        flags[2] |= row.patient_id == patient.pk and row.start < end and start < row.end
    return flags


def assert_nothing_overlaps():
    rows = holding()
    for a, b in itertools.combinations(rows, 2):
        busy = a.start < b.busy_until and b.start < a.busy_until
        assert not (busy and a.practitioner_id == b.practitioner_id), (a.pk, b.pk, "practitioner")
        assert not (busy and a.room_id is not None and a.room_id == b.room_id), (a.pk, b.pk, "room")
        assert not (a.patient_id == b.patient_id and a.start < b.end and b.start < a.end), (a.pk, b.pk, "patient")


def expect_book(world, rows, practitioner, room, patient, start, duration, ignore=None):
    """Whether a booking (or move) must succeed: nothing in the way, and a room free."""
    end = start + datetime.timedelta(minutes=duration)
    busy_until = end + datetime.timedelta(minutes=world["service"].changeover_minutes)
    times = {"start": start, "end": end, "busy_until": busy_until, "ignore": ignore}
    if room is not None:
        return not any(in_the_way(rows, practitioner=practitioner, room=room, patient=patient, **times))
    if any(in_the_way(rows, practitioner=practitioner, room=None, patient=patient, **times)):
        return False
    return any(
        not in_the_way(rows, practitioner=practitioner, room=r, patient=patient, **times)[1] for r in world["rooms"]
    )


def run(world, ops):
    actor = world["actor"]
    booked: list[Appointment] = []
    for op in ops:
        rows = holding()
        if op[0] == "book":
            _, p, who, r, k, duration = op
            patient, practitioner = world["patients"][p], world["practitioners"][who]
            room = None if r is None else world["rooms"][r]
            start = world["start"](k)
            must = expect_book(world, rows, practitioner, room, patient, start, duration)
            try:
                plan = actions.check_book(
                    actor, patient, practitioner, world["service"], world["location"], start, duration, room
                )
                booked.append(actions.do_book(actor, plan))
                event("booked")
                assert must, f"booked though something was in the way: {op}"
            except BookingConflict:
                assert not must, f"refused though nothing was in the way: {op}"
                event("refused")
        elif op[0] == "cancel" and booked:
            appointment = booked[op[1] % len(booked)]
            appointment.refresh_from_db()
            try:
                actions.do_cancel(actor, appointment, actions.check_cancel(actor, appointment, "test"))
            except ValidationError:
                assert appointment.status not in HOLDS_TIME
        elif op[0] == "move" and booked:
            appointment = booked[op[1] % len(booked)]
            appointment.refresh_from_db()
            start = world["start"](op[2])
            room = None if op[3] is None else world["rooms"][op[3]]
            must = appointment.status in HOLDS_TIME and expect_book(
                world,
                rows,
                appointment.practitioner,
                room,
                appointment.patient,
                start,
                appointment.duration_minutes,
                ignore=appointment.pk,
            )
            try:
                plan = actions.check_reschedule(actor, appointment, start=start, room=room)
                actions.do_reschedule(actor, appointment, plan)
                event("moved")
                assert must, f"moved though something was in the way: {op}"
            except BookingConflict:
                assert not must, f"move refused though nothing was in the way: {op}"
            except ValidationError as exc:
                # Not booked any more, or nothing to change: neither is a clash.
                assert "cannot" in str(exc) or "moved" in str(exc) or "Nothing to change" in str(exc), str(exc)
        assert_nothing_overlaps()


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_no_sequence_of_changes_ever_double_books(world, ops):
    savepoint = transaction.savepoint()
    try:
        run(world, ops)
    finally:
        transaction.savepoint_rollback(savepoint)
