"""Booking, rescheduling, cancelling and status changes (scheduling/actions.py), and the
no-double-booking rule (scheduling/booking.py)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from effleura.core.choices import AuditOutcome, Role
from effleura.core.models import AuditEvent
from effleura.scheduling import actions, booking, booking_actions
from effleura.scheduling.booking import BookingConflict, NeedsConfirmation, Slot
from effleura.scheduling.choices import AppointmentStatus, ChangeKind
from effleura.scheduling.models import Appointment, AppointmentChange, Location, Room, SchedulingPolicy, WorkingHours

Status = AppointmentStatus
T0 = datetime.datetime(2030, 3, 5, 10, 0, tzinfo=datetime.UTC)


def minutes(n: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=n)


# The pure rule ------------------------------------------------------------------------------


def slot(who="p", room="r", patient="a", start=T0, length=60, changeover=15, status=Status.BOOKED) -> Slot:
    end, busy = booking.visit_times(start, length, changeover)
    return Slot(who, room, patient, start, end, busy, status)


def test_back_to_back_after_the_changeover_is_fine():
    assert booking.clashes(slot(start=T0 + minutes(75)), slot()) == []


def test_the_changeover_keeps_practitioner_and_room_busy():
    assert booking.clashes(slot(start=T0 + minutes(60), patient="b"), slot()) == ["practitioner", "room"]


def test_the_patient_is_free_when_the_visit_ends():
    assert booking.clashes(slot(who="q", room="s", start=T0 + minutes(60)), slot()) == []
    assert booking.clashes(slot(who="q", room="s", start=T0 + minutes(59)), slot()) == ["patient"]


def test_a_cancelled_visit_clashes_with_nothing():
    assert booking.clashes(slot(), slot(status=Status.CANCELLED)) == []


def test_visits_without_a_room_never_clash_on_the_room():
    assert booking.clashes(slot(who="q", room=None, patient="b"), slot(room=None)) == []


def test_the_most_telling_clash_is_named_first():
    existing = [("room-only", slot(who="q", patient="b")), ("practitioner", slot(room="s", patient="c"))]
    assert booking.first_clash(slot(), existing) == ("practitioner", "practitioner")


# Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def patient(make_patient):
    return make_patient(email="patient@example.test")


@pytest.fixture
def clinic(location, room, room2, service, hours, next_monday, at):
    return {"location": location, "service": service, "day": next_monday, "at": at}


@pytest.fixture
def second_therapist(django_user_model, service, location):
    other = django_user_model.objects.create_user(
        username="second", password="x-y-z-123456", role=Role.THERAPIST, first_name="Jordan", last_name="Reyes"
    )
    service.practitioners.add(other)
    WorkingHours.objects.bulk_create(
        WorkingHours(practitioner=other, location=location, weekday=d, start="09:00", end="17:00") for d in range(5)
    )
    return other


@pytest.fixture
def book(front_desk, therapist, clinic):
    """book(patient, "HH:MM", **overrides) -> a booked appointment on next Monday."""

    def make(patient, hhmm="10:00", **kwargs):
        kwargs.setdefault("practitioner", therapist)
        kwargs.setdefault("service", clinic["service"])
        kwargs.setdefault("location", clinic["location"])
        plan = actions.check_book(front_desk, patient, start=clinic["at"](clinic["day"], hhmm), **kwargs)
        return actions.do_book(front_desk, plan)

    return make


def local_label(day: datetime.date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


# Booking ------------------------------------------------------------------------------------


def test_front_desk_books_a_visit_with_the_first_free_room(book, patient, front_desk, clinic, room):
    appointment = book(patient)
    assert appointment.status == Status.BOOKED
    assert appointment.room == room
    assert appointment.duration_minutes == 60
    assert appointment.end - appointment.start == minutes(60)
    assert appointment.busy_until - appointment.end == minutes(15)
    assert appointment.created_by == front_desk
    change = AppointmentChange.objects.get(appointment=appointment)
    assert change.kind == ChangeKind.CREATED and change.to_start == appointment.start and change.actor == front_desk
    event = AuditEvent.objects.filter(record_type="appointment", action="create").latest("pk")
    assert event.patient_id == patient.public_id and event.record_id == str(appointment.public_id)


def test_check_book_also_takes_the_duration_under_the_models_name(front_desk, therapist, patient, clinic):
    appointment = actions.do_book(
        front_desk,
        actions.check_book(
            front_desk,
            patient=patient,
            practitioner=therapist,
            service=clinic["service"],
            location=clinic["location"],
            start=clinic["at"](clinic["day"], "11:00"),
            duration_minutes=30,
        ),
    )
    assert appointment.duration_minutes == 30


@pytest.mark.parametrize("role", ["billing", "outsider"])
def test_billing_and_an_outsider_cannot_book(request, role, patient, therapist, clinic):
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        actions.check_book(
            user, patient, therapist, clinic["service"], clinic["location"], clinic["at"](clinic["day"], "10:00")
        )
    refusal = AuditEvent.objects.filter(outcome=AuditOutcome.DENIED).latest("pk")
    assert refusal.patient_id == patient.public_id and refusal.detail == "appointment.book"
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk"])
def test_owner_therapist_and_front_desk_may_book(request, role, patient, therapist, clinic):
    user = request.getfixturevalue(role)
    plan = actions.check_book(
        user, patient, therapist, clinic["service"], clinic["location"], clinic["at"](clinic["day"], "10:00")
    )
    assert actions.do_book(user, plan).created_by == user


def test_a_practitioner_is_never_double_booked(book, make_patient, patient, clinic):
    book(patient, "10:00")
    with pytest.raises(BookingConflict) as caught:
        book(make_patient(), "10:30")
    day = local_label(clinic["day"])
    zone = f"{clinic['at'](clinic['day'], '11:00'):%Z}"  # Main Street's zone is not the practice's (UTC): named
    assert caught.value.messages == [f"Therapist Tester is already booked 10:00–11:00 {zone} ({day}) at Main Street."]
    assert caught.value.what == "practitioner"
    assert Appointment.objects.count() == 1


def test_the_changeover_is_counted_and_said(book, make_patient, patient, clinic):
    book(patient, "10:00")
    with pytest.raises(BookingConflict) as caught:
        book(make_patient(), "11:00")
    assert "changeover" in caught.value.messages[0]
    assert book(make_patient(), "11:15").start == clinic["at"](clinic["day"], "11:15")


def test_a_room_is_never_double_booked(book, make_patient, patient, second_therapist, room, clinic):
    book(patient, "10:00", room=room)
    with pytest.raises(BookingConflict) as caught:
        book(make_patient(), "10:30", practitioner=second_therapist, room=room)
    assert caught.value.messages[0].startswith("Room 1 is already booked 10:00–11:00")
    assert caught.value.what == "room"


def test_without_a_room_the_next_free_one_is_taken(book, make_patient, patient, second_therapist, room2):
    book(patient, "10:00")
    assert book(make_patient(), "10:00", practitioner=second_therapist).room == room2


def test_when_every_room_is_taken_it_says_so(book, make_patient, patient, second_therapist, django_user_model, clinic):
    third = django_user_model.objects.create_user(username="third", role=Role.THERAPIST, first_name="Sam")
    clinic["service"].practitioners.add(third)
    WorkingHours.objects.create(
        practitioner=third, location=clinic["location"], weekday=0, start=datetime.time(9), end=datetime.time(17)
    )
    book(patient, "10:00")
    book(make_patient(), "10:00", practitioner=second_therapist)
    with pytest.raises(BookingConflict) as caught:
        book(make_patient(), "10:30", practitioner=third)
    zone = f"{clinic['at'](clinic['day'], '11:30'):%Z}"
    assert (
        caught.value.messages[0] == f"No room is free at Main Street 10:30–11:30 {zone} ({local_label(clinic['day'])})."
    )


def test_a_patient_is_never_in_two_places(book, patient, second_therapist, clinic):
    book(patient, "10:00")
    with pytest.raises(BookingConflict) as caught:
        book(patient, "10:45", practitioner=second_therapist)
    message = caught.value.messages[0]
    assert message.startswith("The patient already has an appointment 10:00–11:00")
    assert patient.legal_first_name not in message
    # The patient is free when the visit ends: the changeover is the room's, not theirs.
    assert book(patient, "11:00", practitioner=second_therapist).start == clinic["at"](clinic["day"], "11:00")


def test_a_conflict_never_names_another_patient(book, make_patient, clinic):
    other = make_patient(legal_first_name="Zebulon")
    book(other, "10:00")
    with pytest.raises(BookingConflict) as caught:
        book(make_patient(), "10:00")
    assert "Zebulon" not in caught.value.messages[0]


def test_a_cancelled_visit_frees_its_time(book, make_patient, patient, front_desk):
    first = book(patient, "10:00")
    actions.do_cancel(front_desk, first, actions.check_cancel(front_desk, first, "Patient is unwell"))
    assert book(make_patient(), "10:00").status == Status.BOOKED


def test_the_times_are_said_in_the_location_zone(book, make_patient, patient, clinic):
    book(patient, "16:00")  # 16:00 in Chicago is 21:00 or 22:00 UTC
    with pytest.raises(BookingConflict) as caught:
        book(make_patient(), "16:00")
    assert "16:00–17:00" in caught.value.messages[0]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"duration": 45}, "duration", "60 or 30 minutes"),
        ({"hhmm": "07:00"}, "start", "does not work"),
        ({"hhmm": "12:07:30"}, "start", "whole minute"),
    ],
)
def test_it_refuses_what_does_not_fit(book, patient, overrides, field, words):
    hhmm = overrides.pop("hhmm", "10:00")
    with pytest.raises(ValidationError) as caught:
        book(patient, hhmm, **overrides)
    assert words in " ".join(caught.value.message_dict[field])


def test_it_refuses_a_practitioner_who_does_not_give_the_service(book, patient, owner):
    with pytest.raises(ValidationError) as caught:
        book(patient, practitioner=owner)
    assert "does not give Clinical massage" in caught.value.message_dict["practitioner"][0]


def test_it_refuses_a_room_elsewhere(book, patient):
    elsewhere = Room.objects.create(location=Location.objects.create(name="Uptown", time_zone="UTC"), name="Annex")
    with pytest.raises(ValidationError) as caught:
        book(patient, room=elsewhere)
    assert caught.value.message_dict["room"] == ["Annex is at another location, not Main Street."]


def test_it_refuses_a_naive_time_and_the_past(front_desk, therapist, patient, clinic):
    args = (front_desk, patient, therapist, clinic["service"], clinic["location"])
    with pytest.raises(ValidationError) as caught:
        actions.check_book(*args, datetime.datetime(2030, 3, 4, 10, 0))
    assert "UTC offset" in caught.value.message_dict["start"][0]
    with pytest.raises(ValidationError) as caught:
        actions.check_book(*args, clinic["at"](clinic["day"] - datetime.timedelta(days=14), "10:00"))
    assert "passed" in caught.value.message_dict["start"][0]


def test_staff_may_book_inside_the_minimum_notice_once_they_confirm(front_desk, therapist, patient, clinic):
    # A same-hour cancellation: 30 minutes' notice where the practice asks for 60.
    at, day = clinic["at"], clinic["day"]
    args = (front_desk, patient, therapist, clinic["service"], clinic["location"], at(day, "10:00"))
    with pytest.raises(NeedsConfirmation) as caught:
        actions.check_book(*args, now=at(day, "09:30"))
    assert caught.value.warnings == [
        "This visit starts in 30 minutes, sooner than the 60 minutes' notice the practice asks for: "
        "check that the client and the therapist can both be there."
    ]
    assert not Appointment.objects.exists()
    plan = actions.check_book(*args, now=at(day, "09:30"), confirm_warnings=True)
    assert actions.do_book(front_desk, plan).status == Status.BOOKED


def test_a_visit_with_enough_notice_asks_nothing(front_desk, therapist, patient, clinic):
    at, day = clinic["at"], clinic["day"]
    args = (front_desk, patient, therapist, clinic["service"], clinic["location"], at(day, "10:00"))
    assert actions.check_book(*args, now=at(day, "09:00")).start == at(day, "10:00")


def test_a_start_already_past_is_refused_even_with_a_confirmation(front_desk, therapist, patient, clinic):
    at, day = clinic["at"], clinic["day"]
    args = (front_desk, patient, therapist, clinic["service"], clinic["location"], at(day, "10:00"))
    with pytest.raises(ValidationError) as caught:
        actions.check_book(*args, now=at(day, "10:20"), confirm_warnings=True)
    assert "passed" in caught.value.message_dict["start"][0]


def test_the_conflict_is_checked_again_when_writing(front_desk, therapist, patient, make_patient, clinic):
    start = clinic["at"](clinic["day"], "10:00")
    args = (therapist, clinic["service"], clinic["location"], start)
    plan_one = actions.check_book(front_desk, patient, *args)
    plan_two = actions.check_book(front_desk, make_patient(), *args)  # both checked before either wrote
    actions.do_book(front_desk, plan_one)
    with pytest.raises(BookingConflict):
        actions.do_book(front_desk, plan_two)
    assert Appointment.objects.count() == 1


# Rescheduling -------------------------------------------------------------------------------


def test_a_reschedule_moves_the_visit_and_keeps_the_history(book, patient, front_desk, clinic):
    appointment = book(patient, "10:00")
    new_start = clinic["at"](clinic["day"], "10:30")  # overlaps its own old time: that is fine
    plan = actions.check_reschedule(front_desk, appointment, start=new_start)
    moved = actions.do_reschedule(front_desk, appointment, plan)
    assert moved.start == new_start and moved.end == new_start + minutes(60)
    change = AppointmentChange.objects.get(appointment=appointment, kind=ChangeKind.RESCHEDULED)
    assert change.from_start == clinic["at"](clinic["day"], "10:00") and change.to_start == new_start
    assert "10:00 → " in change.detail
    assert AuditEvent.objects.filter(record_id=str(appointment.public_id), detail="rescheduled").exists()


def test_a_reschedule_into_a_taken_time_is_refused(book, make_patient, patient, front_desk, clinic):
    book(make_patient(), "14:00")
    appointment = book(patient, "10:00")
    with pytest.raises(BookingConflict) as caught:
        actions.check_reschedule(front_desk, appointment, start=clinic["at"](clinic["day"], "14:30"))
    assert "already booked 14:00–15:00" in caught.value.messages[0]
    assert Appointment.objects.get(pk=appointment.pk).start == clinic["at"](clinic["day"], "10:00")


def test_a_reschedule_to_another_practitioner_keeps_the_room_when_free(book, patient, front_desk, second_therapist):
    appointment = book(patient, "10:00")
    plan = actions.check_reschedule(front_desk, appointment, practitioner=second_therapist)
    moved = actions.do_reschedule(front_desk, appointment, plan)
    assert moved.practitioner == second_therapist and moved.room == appointment.room


def test_only_a_booked_visit_can_be_moved(book, patient, front_desk, clinic):
    appointment = book(patient, "10:00")
    actions.do_cancel(front_desk, appointment, "moved away")
    appointment.refresh_from_db()
    with pytest.raises(ValidationError, match="this one is cancelled"):
        actions.check_reschedule(front_desk, appointment, start=clinic["at"](clinic["day"], "12:00"))


def test_billing_cannot_reschedule(book, patient, billing, clinic):
    appointment = book(patient, "10:00")
    with pytest.raises(PermissionDenied):
        actions.check_reschedule(billing, appointment, start=clinic["at"](clinic["day"], "12:00"))


def test_billing_cannot_reschedule_inside_the_minimum_notice_even_confirming(book, patient, billing, clinic):
    at, day = clinic["at"], clinic["day"]
    appointment = book(patient, "14:00")
    with pytest.raises(PermissionDenied):
        actions.check_reschedule(
            billing, appointment, start=at(day, "10:00"), now=at(day, "09:30"), confirm_warnings=True
        )
    assert Appointment.objects.get(pk=appointment.pk).start == at(day, "14:00")


def test_moving_a_visit_inside_the_minimum_notice_asks_to_confirm_the_short_notice(book, patient, front_desk, clinic):
    # A same-hour gap: at 09:30, a 10:00 start gives 30 minutes' notice where the practice asks for 60.
    at, day = clinic["at"], clinic["day"]
    appointment = book(patient, "14:00")
    with pytest.raises(NeedsConfirmation) as caught:
        actions.check_reschedule(front_desk, appointment, start=at(day, "10:00"), now=at(day, "09:30"))
    assert caught.value.warnings == [
        "This visit starts in 30 minutes, sooner than the 60 minutes' notice the practice asks for: "
        "check that the client and the therapist can both be there."
    ]
    assert caught.value.messages[0].startswith("Confirm before moving the visit: This visit starts in 30 minutes")
    assert Appointment.objects.get(pk=appointment.pk).start == at(day, "14:00")
    assert not AppointmentChange.objects.filter(appointment=appointment, kind=ChangeKind.RESCHEDULED).exists()


def test_staff_can_move_a_visit_inside_the_minimum_notice_after_confirming(book, patient, front_desk, clinic):
    at, day = clinic["at"], clinic["day"]
    appointment = book(patient, "14:00")
    plan = actions.check_reschedule(
        front_desk, appointment, start=at(day, "10:00"), now=at(day, "09:30"), confirm_warnings=True
    )
    moved = actions.do_reschedule(front_desk, appointment, plan)
    assert moved.start == at(day, "10:00") and moved.status == Status.BOOKED
    change = AppointmentChange.objects.get(appointment=appointment, kind=ChangeKind.RESCHEDULED)
    assert change.from_start == at(day, "14:00") and change.to_start == at(day, "10:00")


def test_a_move_to_a_start_already_past_is_refused_even_with_a_confirmation(book, patient, front_desk, clinic):
    at, day = clinic["at"], clinic["day"]
    appointment = book(patient, "14:00")
    with pytest.raises(ValidationError) as caught:
        actions.check_reschedule(
            front_desk, appointment, start=at(day, "10:00"), now=at(day, "10:20"), confirm_warnings=True
        )
    assert not isinstance(caught.value, NeedsConfirmation)
    assert "passed" in caught.value.message_dict["start"][0]
    assert Appointment.objects.get(pk=appointment.pk).start == at(day, "14:00")


def test_a_move_with_enough_notice_asks_nothing(book, patient, front_desk, clinic):
    at, day = clinic["at"], clinic["day"]
    appointment = book(patient, "14:00")
    plan = actions.check_reschedule(front_desk, appointment, start=at(day, "10:00"), now=at(day, "09:00"))
    assert actions.do_reschedule(front_desk, appointment, plan).start == at(day, "10:00")


def test_a_move_inside_the_minimum_notice_still_needs_a_free_time(book, make_patient, patient, front_desk, clinic):
    # The confirmation waives the notice only: a clash is refused as before.
    at, day = clinic["at"], clinic["day"]
    book(make_patient(), "10:00")
    appointment = book(patient, "14:00")
    with pytest.raises(BookingConflict):
        actions.check_reschedule(
            front_desk, appointment, start=at(day, "10:30"), now=at(day, "10:00"), confirm_warnings=True
        )


def test_another_room_inside_the_minimum_notice_asks_nothing(book, patient, front_desk, clinic):
    # The visit keeps its time and therapist, who are both expected: only the room changes.
    at, day = clinic["at"], clinic["day"]
    appointment = book(patient, "10:00")
    other = Room.objects.exclude(pk=appointment.room_id).get(location=clinic["location"])
    plan = actions.check_reschedule(front_desk, appointment, room=other, now=at(day, "09:30"))
    assert actions.do_reschedule(front_desk, appointment, plan).room == other


def test_another_therapist_inside_the_minimum_notice_asks_to_confirm(
    book, patient, front_desk, clinic, second_therapist
):
    at, day = clinic["at"], clinic["day"]
    appointment = book(patient, "10:00")
    with pytest.raises(NeedsConfirmation) as caught:
        actions.check_reschedule(front_desk, appointment, practitioner=second_therapist, now=at(day, "09:30"))
    assert caught.value.warnings[0].startswith("This visit starts in 30 minutes")
    plan = actions.check_reschedule(
        front_desk, appointment, practitioner=second_therapist, now=at(day, "09:30"), confirm_warnings=True
    )
    assert actions.do_reschedule(front_desk, appointment, plan).practitioner == second_therapist


# Cancelling ---------------------------------------------------------------------------------


def test_a_cancellation_records_who_when_and_why(book, patient, front_desk):
    appointment = book(patient, "10:00")
    now = appointment.start - datetime.timedelta(days=2)
    cancelled = actions.do_cancel(front_desk, appointment, "Patient travelling", now=now)
    assert cancelled.status == Status.CANCELLED
    assert (cancelled.cancelled_by, cancelled.cancelled_at, cancelled.cancel_reason) == (
        front_desk,
        now,
        "Patient travelling",
    )
    assert cancelled.late_cancel is False
    change = AppointmentChange.objects.get(appointment=appointment, kind=ChangeKind.CANCELLED)
    assert change.from_status == Status.BOOKED and change.to_status == Status.CANCELLED
    event = AuditEvent.objects.filter(record_id=str(appointment.public_id)).latest("pk")
    assert event.detail == "cancelled" and event.patient_id == patient.public_id
    assert "travelling" not in event.detail


def test_a_cancellation_inside_the_policy_hours_is_late(book, patient, front_desk):
    SchedulingPolicy.objects.create(late_cancel_hours=24)
    appointment = book(patient, "10:00")
    cancelled = actions.do_cancel(front_desk, appointment, "overslept", now=appointment.start - minutes(23 * 60))
    assert cancelled.late_cancel is True
    assert "late" in AppointmentChange.objects.get(kind=ChangeKind.CANCELLED).detail


def test_a_cancellation_needs_a_reason_and_happens_once(book, patient, front_desk):
    appointment = book(patient, "10:00")
    with pytest.raises(ValidationError) as caught:
        actions.check_cancel(front_desk, appointment, "  ")
    assert caught.value.message_dict == {"reason": ["Say why the appointment is cancelled."]}
    actions.do_cancel(front_desk, appointment, "ill")
    appointment.refresh_from_db()
    with pytest.raises(ValidationError, match="cannot become cancelled"):
        actions.check_cancel(front_desk, appointment, "again")


# Status -------------------------------------------------------------------------------------


def test_a_visit_goes_from_booked_to_completed(book, patient, therapist):
    appointment = book(patient, "10:00")
    at = appointment.start
    for status in (Status.CHECKED_IN, Status.IN_SESSION, Status.COMPLETED):
        appointment = actions.do_set_status(
            therapist, appointment, actions.check_set_status(therapist, appointment, status, now=at), now=at
        )
        assert appointment.status == status
    changes = AppointmentChange.objects.filter(appointment=appointment, kind=ChangeKind.STATUS)
    assert [(c.from_status, c.to_status) for c in changes] == [
        ("booked", "checked_in"),
        ("checked_in", "in_session"),
        ("in_session", "completed"),
    ]
    assert AuditEvent.objects.filter(detail="status: in_session → completed", patient_id=patient.public_id).exists()


def test_a_final_status_stays_final(book, patient, therapist):
    appointment = book(patient, "10:00")
    at = appointment.start
    appointment = actions.do_set_status(
        therapist, appointment, actions.check_set_status(therapist, appointment, Status.COMPLETED, now=at), now=at
    )
    with pytest.raises(ValidationError) as caught:
        actions.check_set_status(therapist, appointment, Status.CHECKED_IN, now=at)
    assert caught.value.message_dict["status"] == [
        "An appointment that is completed cannot become checked in: that is final."
    ]


def test_a_booked_visit_cannot_jump_to_interrupted(book, patient, therapist):
    appointment = book(patient, "10:00")
    with pytest.raises(ValidationError, match="it can become"):
        actions.check_set_status(therapist, appointment, Status.INTERRUPTED, reason="x", minutes_delivered=5)


def test_an_interrupted_session_records_the_reason_and_minutes(book, patient, therapist):
    appointment = book(patient, "10:00")
    at = appointment.start
    appointment = actions.do_set_status(
        therapist, appointment, actions.check_set_status(therapist, appointment, Status.IN_SESSION, now=at), now=at
    )
    change = actions.check_set_status(
        therapist, appointment, Status.INTERRUPTED, reason="Called to radiology", minutes_delivered=20, now=at
    )
    appointment = actions.do_set_status(therapist, appointment, change)
    assert (appointment.status, appointment.interrupted_reason, appointment.minutes_delivered) == (
        Status.INTERRUPTED,
        "Called to radiology",
        20,
    )
    assert AppointmentChange.objects.filter(detail__startswith="after 20 of 60 min").exists()


@pytest.mark.parametrize(
    ("reason", "delivered", "field"),
    [("", 10, "reason"), ("paged", None, "minutes_delivered"), ("paged", 61, "minutes_delivered")],
)
def test_an_interruption_needs_a_reason_and_sensible_minutes(book, patient, therapist, reason, delivered, field):
    appointment = book(patient, "10:00")
    at = appointment.start
    appointment = actions.do_set_status(
        therapist, appointment, actions.check_set_status(therapist, appointment, Status.IN_SESSION, now=at), now=at
    )
    with pytest.raises(ValidationError) as caught:
        actions.check_set_status(
            therapist, appointment, Status.INTERRUPTED, reason=reason, minutes_delivered=delivered, now=at
        )
    assert field in caught.value.message_dict


def test_a_no_show_only_after_the_start(book, patient, front_desk):
    appointment = book(patient, "10:00")
    with pytest.raises(ValidationError, match="once the start time has passed"):
        actions.check_set_status(front_desk, appointment, Status.NO_SHOW)
    later = appointment.start + minutes(20)
    change = actions.check_set_status(front_desk, appointment, Status.NO_SHOW, now=later)
    assert actions.do_set_status(front_desk, appointment, change).status == Status.NO_SHOW


def test_cancelling_goes_through_cancel(book, patient, front_desk):
    appointment = book(patient, "10:00")
    with pytest.raises(ValidationError, match="records why"):
        actions.check_set_status(front_desk, appointment, Status.CANCELLED)


def test_a_no_show_still_holds_its_time(book, make_patient, patient, front_desk):
    appointment = book(patient, "10:00")
    change = actions.check_set_status(front_desk, appointment, Status.NO_SHOW, now=appointment.start + minutes(5))
    actions.do_set_status(front_desk, appointment, change)
    with pytest.raises(BookingConflict):
        book(make_patient(), "10:00")


# The database's own guard (PostgreSQL) ------------------------------------------------------


# `make test` leaves these out of the SQLite pass (-m "not postgres"); the skip covers a
# plain `pytest` run on SQLite.
def on_postgres(test):
    skip = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's exclusion constraints")
    return pytest.mark.postgres(skip(test))


@on_postgres
@pytest.mark.parametrize("what", ["practitioner", "room", "patient"])
def test_postgres_refuses_an_overlap_written_behind_the_actions_back(
    book, make_patient, patient, second_therapist, room, room2, what
):
    from django.db import IntegrityError, transaction

    first = book(patient, "10:00", room=room)
    clone = {
        "practitioner": first.practitioner if what == "practitioner" else second_therapist,
        "room": room if what == "room" else room2,
        "patient": patient if what == "patient" else make_patient(),
    }
    row = Appointment(
        service=first.service,
        location=first.location,
        duration_minutes=60,
        start=first.start + minutes(30),
        end=first.end + minutes(30),
        busy_until=first.busy_until + minutes(30),
        created_by=first.created_by,
        **clone,
    )
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        row.save()
    assert booking.is_exclusion_violation(caught.value)
    assert f"appointment_no_{what}_overlap" in str(caught.value)
    row.status = Status.CANCELLED  # a cancelled row holds no time
    row.save()


@on_postgres
def test_postgres_refusal_becomes_a_booking_conflict(front_desk, therapist, patient, make_patient, clinic, monkeypatch):
    """Both checks passed (as two racing requests would); the database refuses the second
    insert and the action reports the conflict with its time."""
    start = clinic["at"](clinic["day"], "10:00")
    args = (therapist, clinic["service"], clinic["location"], start)
    plan_one = actions.check_book(front_desk, patient, *args)
    plan_two = actions.check_book(front_desk, make_patient(), *args)
    actions.do_book(front_desk, plan_one)
    # Skip the second look so that the INSERT reaches the database, as in a race.
    monkeypatch.setattr(booking_actions, "_settle", lambda plan, ignore_id: plan)
    with pytest.raises(BookingConflict) as caught:
        actions.do_book(front_desk, plan_two)
    assert "Therapist Tester is already booked 10:00–11:00" in caught.value.messages[0]
    assert Appointment.objects.count() == 1


@on_postgres
def test_postgres_room_race_takes_the_next_free_room(
    front_desk, therapist, second_therapist, patient, make_patient, clinic, room2, monkeypatch
):
    """Two practitioners book the same time and each was offered Room 1; the database
    refuses the second Room 1, and the action takes Room 2 instead."""
    start = clinic["at"](clinic["day"], "10:00")
    plan_one = actions.check_book(front_desk, patient, therapist, clinic["service"], clinic["location"], start)
    plan_two = actions.check_book(
        front_desk, make_patient(), second_therapist, clinic["service"], clinic["location"], start
    )
    assert plan_one.room == plan_two.room
    actions.do_book(front_desk, plan_one)
    real_settle, calls = booking_actions._settle, []

    def settle_late(plan, ignore_id):
        calls.append(plan)
        return plan if len(calls) == 1 else real_settle(plan, ignore_id)  # the first look came too early

    monkeypatch.setattr(booking_actions, "_settle", settle_late)
    assert actions.do_book(front_desk, plan_two).room == room2
    assert len(calls) == 2


def test_a_deadlock_victim_tries_again(book, patient, monkeypatch):
    """PostgreSQL may abort one of two racing inserts as a deadlock; the action retries."""
    from django.db import OperationalError

    class Deadlock(Exception):
        sqlstate = "40P01"

    real_insert, calls = booking_actions._insert, []

    def insert_once_aborted(actor, plan):
        calls.append(plan)
        if len(calls) == 1:
            error = OperationalError("deadlock detected")
            error.__cause__ = Deadlock()
            raise error
        return real_insert(actor, plan)

    monkeypatch.setattr(booking_actions, "_insert", insert_once_aborted)
    assert book(patient, "10:00").status == Status.BOOKED
    assert len(calls) == 2 and Appointment.objects.count() == 1


def test_do_book_cannot_be_called_without_the_plan_check_book_returned(front_desk, therapist, patient, clinic):
    start = clinic["at"](clinic["day"], "11:00")
    args = (patient, therapist, clinic["service"], clinic["location"], start)
    with pytest.raises(TypeError):
        actions.do_book(front_desk, *args)
    with pytest.raises(TypeError):
        actions.do_book(front_desk, patient=patient, practitioner=therapist, start=start)
    with pytest.raises(TypeError):
        actions.do_book(front_desk, {"patient": patient, "start": start})
    assert not Appointment.objects.filter(patient=patient).exists()
    assert actions.do_book(front_desk, actions.check_book(front_desk, *args)).start == start


def test_do_book_refuses_a_plan_that_skipped_check_book(front_desk, owner, therapist, patient, clinic):
    # plan_visit() checks the time but neither the role nor the booking warnings.
    start = clinic["at"](clinic["day"], "11:00")
    unchecked = actions.plan_visit(
        patient=patient, practitioner=therapist, service=clinic["service"], location=clinic["location"], start=start
    )
    with pytest.raises(TypeError):
        actions.do_book(front_desk, unchecked)
    # A plan checked for someone else, or checked for moving a visit, books nothing either.
    args = (patient, therapist, clinic["service"], clinic["location"], start)
    with pytest.raises(TypeError):
        actions.do_book(owner, actions.check_book(front_desk, *args))
    assert not Appointment.objects.filter(patient=patient).exists()
    booked = actions.do_book(front_desk, actions.check_book(front_desk, *args))
    moved = actions.check_reschedule(front_desk, booked, start=start + datetime.timedelta(hours=2))
    with pytest.raises(TypeError):
        actions.do_book(front_desk, moved)
    with pytest.raises(TypeError):
        later = start + datetime.timedelta(hours=4)
        actions.do_reschedule(front_desk, booked, actions.check_book(front_desk, *args[:4], later))
    assert actions.do_reschedule(front_desk, booked, moved).start == start + datetime.timedelta(hours=2)
