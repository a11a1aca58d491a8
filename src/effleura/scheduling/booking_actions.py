"""Booking one visit and moving it: plan, check_book/do_book, check_reschedule/do_reschedule.

check_*() authorizes and validates, in plain words for a clinic (ValidationError; a dict
of field -> message when a field is at fault); do_*() writes inside a transaction and, in
the same transaction, adds a line to the appointment's history (AppointmentChange), an
audit event naming the patient, and the patient's notifications
(scheduling/notifications.py). A write and its history, audit and emails are saved
together or not at all.

Never double-booked (scheduling/booking.py, docs/decisions/0005-no-double-booking.md).
check_book() looks for a clash early, for a quick answer; the answer that counts is the
second look, taken by do_*() inside the transaction that writes:

* SQLite: settings.py opens every transaction with BEGIN IMMEDIATE (the ``transaction_mode``
  option), so the outermost ``transaction.atomic()`` holds the database's single write
  lock from its first statement until it commits. Two bookings cannot both look, find
  nothing and insert: the second one's BEGIN waits until the first has committed, and its
  look then sees the first booking. (A nested atomic() is a savepoint inside a transaction
  that already holds the lock.)
* PostgreSQL: two transactions may both look and find nothing, but the exclusion
  constraints of migration 0002 let only one row in; the other INSERT waits for the first
  transaction and then fails with exclusion_violation (SQLSTATE 23P01). We catch it once
  the failed block is rolled back (a savepoint when nested, so an enclosing transaction
  stays usable), look again, and raise BookingConflict naming the appointment in the way.

When the caller names no room for a service that needs one, the first free room is taken
inside the same transaction; on PostgreSQL a race for that room is retried with the next
free one, and so is a deadlock between two racing inserts (each waiting on the other's
exclusion check; PostgreSQL aborts one of them).
"""

import dataclasses
import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from effleura.core import audit
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.extension_points import booking_warnings
from effleura.core.values import clean_text
from effleura.scheduling import calendars, notifications, visit_rules
from effleura.scheduling.action_support import MAX_TEXT, Status, locked_appointment, person, raise_errors
from effleura.scheduling.booking import (
    BookingConflict,
    MoveNeedsConfirmation,
    NeedsConfirmation,
    find_conflict,
    free_room,
    is_exclusion_violation,
    is_lock_contention,
    visit_times,
)
from effleura.scheduling.choices import ChangeKind
from effleura.scheduling.models import Appointment, AppointmentChange, Series

# A booking typed a moment after its start (a walk-in entered late) is not "in the past".
PAST_GRACE = datetime.timedelta(minutes=5)
# Attempts at writing a visit, when PostgreSQL reports that a concurrent booking took the
# room we chose first, or chose this transaction as a deadlock's victim.
ATTEMPTS = 3


# Planning one visit ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BookingPlan:
    """A visit that passed every check, ready for do_book() or do_reschedule().

    ``room_fixed``: the caller chose the room. Otherwise do_*() takes the first free room
    again inside its transaction (``room`` is then the one seen free when checking).

    ``purpose`` and ``checked_by`` are stamped by the check that passed it (check_book:
    "book", check_reschedule: "reschedule", with the actor's pk); a plan from plan_visit()
    alone carries neither, so do_book() and do_reschedule() refuse it: authorization and
    the booking warnings cannot be skipped by building a plan by hand."""

    patient: object
    practitioner: object
    service: object
    location: object
    room: object | None
    room_fixed: bool
    start: datetime.datetime
    duration: int
    end: datetime.datetime
    busy_until: datetime.datetime
    notes: str = ""
    series: Series | None = None
    purpose: str = ""
    checked_by: int | None = None

    def conflict(self, ignore_id=None, *, any_room: bool = False) -> BookingConflict | None:
        """The clash with what is booked now, as an error to raise, or None. One query.

        A room we chose ourselves is left out (another free one will do) unless
        ``any_room``."""
        room = self.room if (any_room or self.room_fixed or not self.service.needs_room) else None
        found = find_conflict(
            practitioner_id=self.practitioner.pk,
            room_id=room.pk if room is not None else None,
            patient_id=self.patient.pk,
            start=self.start,
            end=self.end,
            busy_until=self.busy_until,
            ignore_id=ignore_id,
        )
        if found is None:
            return None
        what, appointment = found
        return BookingConflict.against(what, appointment, start=self.start, end=self.end)


def plan_visit(
    *,
    patient,
    practitioner,
    service,
    location,
    start,
    duration=None,
    room=None,
    notes="",
    series=None,
    now=None,
    moving: Appointment | None = None,
    short_notice: bool = False,
) -> BookingPlan:
    """Check one visit (no authorization: the caller did that). Raises ValidationError
    for bad input or a time that does not work, and BookingConflict when someone or
    something is already booked then. ``moving``: the appointment being rescheduled (left
    out of the busy time; its room is preferred). ``short_notice``: a start inside the
    minimum notice is allowed (the caller asks to confirm it)."""
    now = now or timezone.now()
    errors: dict[str, str] = {}
    if not service.is_active:
        errors["service"] = f"{service.name} is no longer offered."
    if not practitioner.is_active:
        errors["practitioner"] = f"{person(practitioner)} is not an active member of staff."
    elif not service.practitioners.filter(pk=practitioner.pk).exists():
        errors["practitioner"] = f"{person(practitioner)} does not give {service.name}."
    if not location.is_active:
        errors["location"] = f"{location.name} is closed (not active)."
    try:
        duration = calendars.check_duration(service, duration)
    except ValidationError as exc:
        errors.update({k: " ".join(v) for k, v in exc.message_dict.items()})
    if room is not None:
        if room.location_id != location.pk:
            errors["room"] = f"{room.name} is at another location, not {location.name}."
        elif not room.is_active:
            errors["room"] = f"{room.name} is not in use."
    if not isinstance(start, datetime.datetime) or timezone.is_naive(start):
        errors["start"] = "Give the start time with its UTC offset, e.g. 2025-03-04T10:00:00-06:00."
    elif start < now - PAST_GRACE:
        errors["start"] = "That time has passed: pick a time from now on."
    notes = clean_text(notes, "notes", errors, limit=MAX_TEXT)
    raise_errors(errors)

    end, busy_until = visit_times(start, duration, service.changeover_minutes)
    ignore_id = moving.pk if moving is not None else None
    plan = BookingPlan(
        patient=patient,
        practitioner=practitioner,
        service=service,
        location=location,
        room=room,
        room_fixed=room is not None,
        start=start,
        duration=duration,
        end=end,
        busy_until=busy_until,
        notes=notes,
        series=series,
    )
    # Who is in the way comes first: a clash is a 409 with its time, whatever else is wrong.
    conflict = plan.conflict(ignore_id)
    if conflict is not None:
        raise conflict
    if room is None and service.needs_room:
        prefer = moving.room if moving is not None else None
        chosen = free_room(location, start, busy_until, ignore_id=ignore_id, prefer=prefer)
        if chosen is None:
            raise BookingConflict.no_room(location, start, end)
        plan = dataclasses.replace(plan, room=chosen)
    problems = calendars.slot_problems(
        service, duration, location, practitioner, plan.room, start, now=now, ignore_appointment=moving,
        short_notice=short_notice,
    )  # fmt: skip
    if problems:
        # slot_problems also reports busy time. A visit booked since our first look would
        # show there as a 422; look again so that a clash is always a BookingConflict.
        conflict = plan.conflict(ignore_id)
        if conflict is not None:
            raise conflict
        raise ValidationError({"start": " ".join(problems)})
    return plan


def _settle(plan: BookingPlan, ignore_id) -> BookingPlan:
    """The second look, inside the writing transaction (see the module docstring): raise
    BookingConflict if anything is in the way now; take a free room if it is ours to choose."""
    conflict = plan.conflict(ignore_id)
    if conflict is not None:
        raise conflict
    if plan.room_fixed or not plan.service.needs_room:
        return plan
    room = free_room(plan.location, plan.start, plan.busy_until, ignore_id=ignore_id, prefer=plan.room)
    if room is None:
        raise BookingConflict.no_room(plan.location, plan.start, plan.end)
    return dataclasses.replace(plan, room=room)


def _write_visit(plan: BookingPlan, write, *, ignore_id=None):
    """Run ``write(settled_plan)`` in a transaction after the second look, and turn
    PostgreSQL's refusal of an overlap into a BookingConflict (see the module docstring)."""
    for attempt in range(1, ATTEMPTS + 1):
        last = attempt == ATTEMPTS
        settled = plan
        try:
            with transaction.atomic():
                settled = _settle(plan, ignore_id)
                return write(settled)
        except OperationalError as exc:
            # Two inserts that each wait for the other's exclusion check make a deadlock;
            # PostgreSQL aborts one. Try again: the second look then sees the winner.
            if last or not is_lock_contention(exc):
                raise
            continue
        except IntegrityError as exc:
            if not is_exclusion_violation(exc):
                raise
            # The failed block is rolled back, so we may query again: what is in the way?
            conflict = settled.conflict(ignore_id)
            if conflict is not None:
                raise conflict from None
            if not settled.room_fixed and settled.service.needs_room and not last:
                continue  # only the room we chose was taken meanwhile: _settle() picks another
            conflict = settled.conflict(ignore_id, any_room=True)
            if conflict is not None:
                raise conflict from None
            raise BookingConflict.taken_meanwhile(plan.location, plan.start, plan.end) from None
    raise AssertionError("unreachable")  # pragma: no cover


# Booking -------------------------------------------------------------------------------


def warnings_for(plan: BookingPlan) -> list[str]:
    """What the person booking ``plan`` must confirm first: every provider's warnings
    (core/extension_points.py booking_warnings), in plain words."""
    found = booking_warnings.collect(plan.patient, plan.start, tz=plan.location.tz)
    return [warning for warnings in found for warning in warnings]


def check_book(
    actor,
    patient,
    practitioner,
    service,
    location,
    start,
    duration=None,
    room=None,
    notes="",
    series=None,
    *,
    now=None,
    duration_minutes=None,
    confirm_warnings=False,
) -> BookingPlan:
    """May ``actor`` book this visit, and can it be booked? Returns the plan for do_book(),
    the only way to book.

    ``duration`` in minutes (one of the service's; its first when None; also accepted as
    ``duration_minutes``, the model's name). ``room``: None takes the location's first free
    active room when the service needs one. ``start``: an aware datetime.

    Raises PermissionDenied (audited) for a role that may not book, ValidationError for
    bad input or a time that does not work, BookingConflict when someone or something is
    booked then, and NeedsConfirmation (with ``.warnings``) when a booking warning applies
    (a referral with no visits left, for one: core/extension_points.py booking_warnings;
    or a start inside the practice's minimum notice, which staff may book to fill a
    cancellation) and the caller did not pass ``confirm_warnings=True``: every transport
    asks the person booking first, then checks again with the confirmation."""
    authorize(actor, "appointment.book", patient_id=patient.public_id)
    plan = plan_visit(
        patient=patient,
        practitioner=practitioner,
        service=service,
        location=location,
        start=start,
        duration=duration if duration is not None else duration_minutes,
        room=room,
        notes=notes,
        series=series,
        now=now,
        short_notice=True,
    )
    soon = calendars.short_notice_warning(plan.start, now=now)
    warnings = [soon, *warnings_for(plan)] if soon else warnings_for(plan)
    if warnings and not confirm_warnings:
        raise NeedsConfirmation(warnings)
    return dataclasses.replace(plan, purpose="book", checked_by=actor.pk)


def _require_checked(plan, purpose: str, actor, check: str) -> None:
    """Refuse a plan that ``check`` did not return for this ``actor`` (a programming error,
    never a person's: TypeError, so it is not shown as a form error)."""
    if not isinstance(plan, BookingPlan) or plan.purpose != purpose or plan.checked_by != actor.pk:
        raise TypeError(f"This takes only the BookingPlan that {check}() returned for the same actor.")


def do_book(actor, plan: BookingPlan) -> Appointment:
    """Book the visit check_book() planned (precondition: ``plan`` is its answer, for the
    same ``actor``). Writes the appointment, its history line, the audit event and the
    patient's notification in one transaction. Raises BookingConflict if the time was
    taken since the check."""
    _require_checked(plan, "book", actor, "check_book")
    return _write_visit(plan, lambda settled: _insert(actor, settled))


def _insert(actor, plan: BookingPlan) -> Appointment:
    appointment = Appointment.objects.create(
        patient=plan.patient,
        practitioner=plan.practitioner,
        service=plan.service,
        location=plan.location,
        room=plan.room,
        duration_minutes=plan.duration,
        start=plan.start,
        end=plan.end,
        busy_until=plan.busy_until,
        series=plan.series,
        notes=plan.notes,
        created_by=actor,
    )
    AppointmentChange.objects.create(
        appointment=appointment,
        actor=actor,
        kind=ChangeKind.CREATED,
        to_start=plan.start,
        to_status=Status.BOOKED,
        detail=_describe(plan)[:MAX_TEXT],
    )
    audit.record(
        actor,
        AuditAction.CREATE,
        "appointment",
        record_id=appointment.public_id,
        patient_id=plan.patient.public_id,
        detail="booked in a series" if plan.series is not None else "booked",
    )
    # A visit of a series is confirmed with the whole series (series_actions.do_book_series).
    notifications.appointment_booked(appointment, confirm=plan.series is None)
    return appointment


def _describe(plan: BookingPlan) -> str:
    """ "Clinical massage, 60 min with Jordan Reyes in Room 1 at Main Street": staff and
    set-up names only, never the patient."""
    room = f" in {plan.room.name}" if plan.room is not None else ""
    return f"{plan.service.name}, {plan.duration} min with {person(plan.practitioner)}{room} at {plan.location.name}"


# Rescheduling ----------------------------------------------------------------------------


def check_reschedule(
    actor,
    appointment: Appointment,
    *,
    start=None,
    practitioner=None,
    room=None,
    duration=None,
    now=None,
    confirm_warnings=False,
) -> BookingPlan:
    """May ``actor`` move ``appointment``, and is the new time free? What is not given stays
    as it was; with no room given the current room is kept when free, else another free
    room is taken. Same checks as a booking, leaving the appointment itself out. The
    booking warnings do not apply: the visit moved is already counted against the
    referral, so moving it uses no more visits.

    The minimum notice applies as it does to staff booking (check_book): a start sooner
    than it (moving a visit into a same-hour gap) raises MoveNeedsConfirmation (with
    ``.warnings``) unless the caller passed ``confirm_warnings=True``; a change of room or
    length alone, the visit keeping its time and therapist, asks nothing. The
    confirmation waives the notice only: a start already past is refused (ValidationError),
    a clash too (BookingConflict), and a role that may not change appointments gets
    PermissionDenied (audited) before anything is checked."""
    authorize(actor, "appointment.change", patient_id=appointment.patient.public_id, record_id=appointment.public_id)
    refused = visit_rules.reschedule_refusal(appointment.status)
    if refused:
        raise ValidationError(refused)
    start = appointment.start if start is None else start
    practitioner = appointment.practitioner if practitioner is None else practitioner
    duration = appointment.duration_minutes if duration is None else duration
    if room is None and not appointment.service.needs_room:
        room = appointment.room  # a room chosen for a service that needs none stays chosen
    was = (appointment.start, appointment.practitioner_id, appointment.duration_minutes)
    if (start, practitioner.pk, duration) == was and (room is None or room.pk == appointment.room_id):
        raise ValidationError("Nothing to change: give a new start, practitioner, room or duration.")
    plan = plan_visit(
        patient=appointment.patient,
        practitioner=practitioner,
        service=appointment.service,
        location=appointment.location,
        start=start,
        duration=duration,
        room=room,
        notes=appointment.notes,
        series=appointment.series,
        now=now,
        moving=appointment,
        short_notice=True,
    )
    # The warning asks whether the client and the therapist can both be there: worth asking
    # when the time or the therapist changes, not for another room or length alone.
    if (start, practitioner.pk) != was[:2]:
        soon = calendars.short_notice_warning(plan.start, now=now)
        if soon and not confirm_warnings:
            raise MoveNeedsConfirmation([soon])
    return dataclasses.replace(plan, purpose="reschedule", checked_by=actor.pk)


def do_reschedule(actor, appointment: Appointment, plan: BookingPlan) -> Appointment:
    """Move ``appointment`` as check_reschedule() planned. Raises BookingConflict if the new
    time was taken since the check, ValidationError if the appointment changed meanwhile."""
    _require_checked(plan, "reschedule", actor, "check_reschedule")

    def write(settled: BookingPlan) -> Appointment:
        locked = locked_appointment(appointment.pk)
        if locked.status != Status.BOOKED:
            raise ValidationError("This appointment changed meanwhile; reload it and try again.")
        before = (locked.start, person(locked.practitioner), locked.room, locked.duration_minutes)
        locked.practitioner = settled.practitioner
        locked.room = settled.room
        locked.start, locked.end, locked.busy_until = settled.start, settled.end, settled.busy_until
        locked.duration_minutes = settled.duration
        locked.save(update_fields=["practitioner", "room", "start", "end", "busy_until", "duration_minutes"])
        AppointmentChange.objects.create(
            appointment=locked,
            actor=actor,
            kind=ChangeKind.RESCHEDULED,
            from_start=before[0],
            to_start=settled.start,
            from_status=locked.status,
            to_status=locked.status,
            detail=_moves(before, settled)[:MAX_TEXT],
        )
        audit.record(
            actor,
            AuditAction.UPDATE,
            "appointment",
            record_id=locked.public_id,
            patient_id=settled.patient.public_id,
            detail="rescheduled",
        )
        notifications.appointment_rescheduled(locked, moved_from=before[0])
        return locked

    return _write_visit(plan, write, ignore_id=appointment.pk)


def _moves(before, plan: BookingPlan) -> str:
    start, who, room, duration = before
    tz = plan.location.tz
    parts = []
    if start != plan.start:
        a, b = start.astimezone(tz), plan.start.astimezone(tz)
        parts.append(f"{a:%a} {a.day} {a:%b %H:%M} → {b:%a} {b.day} {b:%b %H:%M}")
    if who != person(plan.practitioner):
        parts.append(f"{who} → {person(plan.practitioner)}")
    if (room.pk if room else None) != (plan.room.pk if plan.room else None):
        parts.append(f"{room.name if room else 'no room'} → {plan.room.name if plan.room else 'no room'}")
    if duration != plan.duration:
        parts.append(f"{duration} → {plan.duration} min")
    return "; ".join(parts) or "moved"
