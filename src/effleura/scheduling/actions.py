"""Every write to appointments and series: book, reschedule, cancel, change status.

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
from effleura.scheduling import calendars, notifications
from effleura.scheduling.booking import (
    BookingConflict,
    NeedsConfirmation,
    find_conflict,
    free_room,
    is_exclusion_violation,
    is_lock_contention,
    visit_times,
)
from effleura.scheduling.choices import HOLDS_TIME, STATUS_FLOW, AppointmentStatus, ChangeKind
from effleura.scheduling.models import Appointment, AppointmentChange, SchedulingPolicy, Series

# A booking typed a moment after its start (a walk-in entered late) is not "in the past".
PAST_GRACE = datetime.timedelta(minutes=5)
MAX_TEXT = 300  # notes, cancel reason, interruption reason (the columns' length)
# Attempts at writing a visit, when PostgreSQL reports that a concurrent booking took the
# room we chose first, or chose this transaction as a deadlock's victim.
ATTEMPTS = 3

Status = AppointmentStatus


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


def _text(value, field: str, errors: dict, *, required: str = "") -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors[field] = required
    elif len(text) > MAX_TEXT:
        errors[field] = f"Keep this under {MAX_TEXT} characters."
    return text


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


# Planning one visit ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BookingPlan:
    """A visit that passed every check, ready for do_book() or do_reschedule().

    ``room_fixed``: the caller chose the room. Otherwise do_*() takes the first free room
    again inside its transaction (``room`` is then the one seen free when checking)."""

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
) -> BookingPlan:
    """Check one visit (no authorization: the caller did that). Raises ValidationError
    for bad input or a time that does not work, and BookingConflict when someone or
    something is already booked then. ``moving``: the appointment being rescheduled (left
    out of the busy time; its room is preferred)."""
    now = now or timezone.now()
    errors: dict[str, str] = {}
    if not service.is_active:
        errors["service"] = f"{service.name} is no longer offered."
    if not practitioner.is_active:
        errors["practitioner"] = f"{_person(practitioner)} is not an active member of staff."
    elif not service.practitioners.filter(pk=practitioner.pk).exists():
        errors["practitioner"] = f"{_person(practitioner)} does not give {service.name}."
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
    notes = _text(notes, "notes", errors)
    _raise(errors)

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
        service, duration, location, practitioner, plan.room, start, now=now, ignore_appointment=moving
    )
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
    (a referral with no visits left, for one: core/extension_points.py booking_warnings)
    and the caller did not pass ``confirm_warnings=True``: every transport asks the person
    booking first, then checks again with the confirmation."""
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
    )
    warnings = warnings_for(plan)
    if warnings and not confirm_warnings:
        raise NeedsConfirmation(warnings)
    return plan


def do_book(actor, plan: BookingPlan) -> Appointment:
    """Book the visit check_book() planned (precondition: ``plan`` is its answer, for the
    same ``actor``). Writes the appointment, its history line, the audit event and the
    patient's notification in one transaction. Raises BookingConflict if the time was
    taken since the check."""
    if not isinstance(plan, BookingPlan):
        raise TypeError("do_book() books only the BookingPlan that check_book() returned.")
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
    notifications.appointment_booked(appointment)
    return appointment


def _describe(plan: BookingPlan) -> str:
    """ "Clinical massage, 60 min with Jordan Reyes in Room 1 at Main Street": staff and
    set-up names only, never the patient."""
    room = f" in {plan.room.name}" if plan.room is not None else ""
    return f"{plan.service.name}, {plan.duration} min with {_person(plan.practitioner)}{room} at {plan.location.name}"


# Rescheduling ----------------------------------------------------------------------------


def check_reschedule(
    actor, appointment: Appointment, *, start=None, practitioner=None, room=None, duration=None, now=None
) -> BookingPlan:
    """May ``actor`` move ``appointment``, and is the new time free? What is not given stays
    as it was; with no room given the current room is kept when free, else another free
    room is taken. Same checks as a booking, leaving the appointment itself out. The
    booking warnings do not apply: the visit moved is already counted against the
    referral, so moving it uses no more visits."""
    authorize(actor, "appointment.change", patient_id=appointment.patient.public_id, record_id=appointment.public_id)
    if appointment.status != Status.BOOKED:
        raise ValidationError(
            f"Only a booked appointment can be moved; this one is {appointment.get_status_display().lower()}."
        )
    start = appointment.start if start is None else start
    practitioner = appointment.practitioner if practitioner is None else practitioner
    duration = appointment.duration_minutes if duration is None else duration
    if room is None and not appointment.service.needs_room:
        room = appointment.room  # a room chosen for a service that needs none stays chosen
    was = (appointment.start, appointment.practitioner_id, appointment.duration_minutes)
    if (start, practitioner.pk, duration) == was and (room is None or room.pk == appointment.room_id):
        raise ValidationError("Nothing to change: give a new start, practitioner, room or duration.")
    return plan_visit(
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
    )


def do_reschedule(actor, appointment: Appointment, plan: BookingPlan) -> Appointment:
    """Move ``appointment`` as check_reschedule() planned. Raises BookingConflict if the new
    time was taken since the check, ValidationError if the appointment changed meanwhile."""

    def write(settled: BookingPlan) -> Appointment:
        locked = _locked(appointment.pk)
        if locked.status != Status.BOOKED:
            raise ValidationError("This appointment changed meanwhile; reload it and try again.")
        before = (locked.start, _person(locked.practitioner), locked.room, locked.duration_minutes)
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
        notifications.appointment_rescheduled(locked)
        return locked

    return _write_visit(plan, write, ignore_id=appointment.pk)


def _moves(before, plan: BookingPlan) -> str:
    start, who, room, duration = before
    tz = plan.location.tz
    parts = []
    if start != plan.start:
        a, b = start.astimezone(tz), plan.start.astimezone(tz)
        parts.append(f"{a:%a} {a.day} {a:%b %H:%M} → {b:%a} {b.day} {b:%b %H:%M}")
    if who != _person(plan.practitioner):
        parts.append(f"{who} → {_person(plan.practitioner)}")
    if (room.pk if room else None) != (plan.room.pk if plan.room else None):
        parts.append(f"{room.name if room else 'no room'} → {plan.room.name if plan.room else 'no room'}")
    if duration != plan.duration:
        parts.append(f"{duration} → {plan.duration} min")
    return "; ".join(parts) or "moved"


def _locked(pk) -> Appointment:
    """The appointment, its row locked until the transaction ends (PostgreSQL; SQLite's
    write lock covers it), with what an answer shows joined in."""
    related = ("patient", "practitioner", "service", "location", "room", "series")
    return Appointment.objects.select_for_update(of=("self",)).select_related(*related).get(pk=pk)


# Cancelling ----------------------------------------------------------------------------


def check_cancel(actor, appointment: Appointment, reason) -> str:
    """May ``actor`` cancel ``appointment``? Returns the cleaned reason (required)."""
    authorize(actor, "appointment.change", patient_id=appointment.patient.public_id, record_id=appointment.public_id)
    errors: dict[str, str] = {}
    reason = _text(reason, "reason", errors, required="Say why the appointment is cancelled.")
    _raise(errors)
    _check_flow(appointment.status, Status.CANCELLED)
    return reason


def is_late_cancel(start: datetime.datetime, now: datetime.datetime, policy: SchedulingPolicy) -> bool:
    """A cancellation closer to the start than the policy's hours (or after it) is late."""
    return start - now < datetime.timedelta(hours=policy.late_cancel_hours)


def do_cancel(actor, appointment: Appointment, reason: str, *, now=None) -> Appointment:
    """Cancel: record who, when and why, and whether it was late; free the time."""
    now = now or timezone.now()
    with transaction.atomic():
        cancelled = _cancel_locked(actor, appointment.pk, reason, now, SchedulingPolicy.current())
    return cancelled


def _cancel_locked(actor, pk, reason: str, now, policy: SchedulingPolicy, *, detail: str = "") -> Appointment:
    locked = _locked(pk)
    _check_flow(locked.status, Status.CANCELLED)
    before = locked.status
    locked.status = Status.CANCELLED
    locked.cancelled_at, locked.cancelled_by, locked.cancel_reason = now, actor, reason
    locked.late_cancel = is_late_cancel(locked.start, now, policy)
    locked.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason", "late_cancel"])
    late = " (late)" if locked.late_cancel else ""
    AppointmentChange.objects.create(
        appointment=locked,
        actor=actor,
        at=now,
        kind=ChangeKind.CANCELLED,
        from_status=before,
        to_status=Status.CANCELLED,
        detail=(f"{detail}cancelled{late}: {reason}")[:MAX_TEXT],
    )
    audit.record(
        actor,
        AuditAction.UPDATE,
        "appointment",
        record_id=locked.public_id,
        patient_id=locked.patient.public_id,
        detail=f"cancelled{late}",
    )
    notifications.appointment_cancelled(locked)
    return locked


# Status ----------------------------------------------------------------------------------


def _check_flow(current: str, wanted: str) -> None:
    if wanted not in STATUS_FLOW.get(current, set()):
        now_label, wanted_label = Status(current).label.lower(), Status(wanted).label.lower()
        following = sorted(Status(s).label.lower() for s in STATUS_FLOW.get(current, set()))
        after = f"it can become {', '.join(following)}" if following else "that is final"
        raise ValidationError({"status": f"An appointment that is {now_label} cannot become {wanted_label}: {after}."})


@dataclasses.dataclass(frozen=True)
class StatusChange:
    status: str
    reason: str = ""
    minutes_delivered: int | None = None


def check_set_status(
    actor, appointment: Appointment, status, *, reason="", minutes_delivered=None, now=None
) -> StatusChange:
    """May ``actor`` move ``appointment`` to ``status`` (choices.STATUS_FLOW)? An
    interrupted session needs a reason and the minutes delivered (0 to its duration).
    Cancelling goes through check_cancel() (it asks why)."""
    authorize(actor, "appointment.change", patient_id=appointment.patient.public_id, record_id=appointment.public_id)
    now = now or timezone.now()
    if status not in Status.values:
        raise ValidationError({"status": f"Choose one of: {', '.join(Status.values)}."})
    if status == Status.CANCELLED:
        raise ValidationError({"status": "Cancel the appointment instead: a cancellation records why."})
    _check_flow(appointment.status, status)
    errors: dict[str, str] = {}
    if status == Status.NO_SHOW and now < appointment.start:
        errors["status"] = "A patient can only be a no-show once the start time has passed."
    if status == Status.INTERRUPTED:
        reason = _text(reason, "reason", errors, required="Say why the session was interrupted.")
        if minutes_delivered is None or isinstance(minutes_delivered, bool) or not isinstance(minutes_delivered, int):
            errors["minutes_delivered"] = "Give the minutes of treatment delivered, as a whole number."
        elif not 0 <= minutes_delivered <= appointment.duration_minutes:
            errors["minutes_delivered"] = f"Give a number from 0 to {appointment.duration_minutes}."
    else:
        if reason:
            errors["reason"] = "A reason is only recorded for an interrupted session."
        if minutes_delivered is not None:
            errors["minutes_delivered"] = "Minutes delivered are only recorded for an interrupted session."
    _raise(errors)
    return StatusChange(status, reason, minutes_delivered)


def do_set_status(actor, appointment: Appointment, change: StatusChange, *, now=None) -> Appointment:
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(appointment.pk)
        _check_flow(locked.status, change.status)
        before = locked.status
        locked.status = change.status
        fields = ["status"]
        detail = ""
        if change.status == Status.INTERRUPTED:
            locked.interrupted_reason, locked.minutes_delivered = change.reason, change.minutes_delivered
            fields += ["interrupted_reason", "minutes_delivered"]
            detail = f"after {change.minutes_delivered} of {locked.duration_minutes} min: {change.reason}"
        locked.save(update_fields=fields)
        AppointmentChange.objects.create(
            appointment=locked,
            actor=actor,
            at=now,
            kind=ChangeKind.STATUS,
            from_status=before,
            to_status=change.status,
            detail=detail[:MAX_TEXT],
        )
        audit.record(
            actor,
            AuditAction.UPDATE,
            "appointment",
            record_id=locked.public_id,
            patient_id=locked.patient.public_id,
            detail=f"status: {before} → {change.status}",
        )
    return locked


# Series ----------------------------------------------------------------------------------


def propose_series(
    actor,
    patient,
    practitioner,
    service,
    location,
    first_start,
    visits: int,
    *,
    every_days=None,
    weekdays=None,
    duration=None,
    room=None,
    now=None,
) -> list:
    """Plan a series (series.plan_starts) and check each visit as a booking would, saving
    nothing. Returns series.ProposedVisit for each: ``ok``, or ``conflict`` with the
    problem and up to three alternatives that day (the same practitioner at other times,
    or another practitioner who gives the service), none clashing with the patient's
    other appointments. Bad input (an unknown duration, a practitioner who does not give
    the service) raises ValidationError as a booking would."""
    from effleura.scheduling import series as planning

    authorize(actor, "appointment.book", patient_id=patient.public_id)
    now = now or timezone.now()
    errors = planning.pattern_errors(visits, every_days, weekdays)
    if not isinstance(first_start, datetime.datetime) or timezone.is_naive(first_start):
        errors["start"] = "Give the first start with its UTC offset, e.g. 2025-03-04T10:00:00-06:00."
    _raise(errors)
    duration = calendars.check_duration(service, duration)
    starts = planning.plan_starts(first_start, location.tz, visits, every_days=every_days, weekdays=weekdays)
    proposals = []
    for number, start in enumerate(starts, 1):
        end = start + datetime.timedelta(minutes=duration)
        try:
            plan = plan_visit(
                patient=patient,
                practitioner=practitioner,
                service=service,
                location=location,
                start=start,
                duration=duration,
                room=room,
                now=now,
            )
        except BookingConflict as exc:
            problem = exc.messages[0]
        except ValidationError as exc:
            if not hasattr(exc, "error_dict") or set(exc.error_dict) != {"start"}:
                raise  # wrong for every visit, not a matter of this visit's time
            problem = " ".join(exc.messages)
        else:
            proposals.append(planning.ProposedVisit(number, start, plan.end, practitioner, plan.room))
            continue
        proposals.append(
            planning.ProposedVisit(
                number,
                start,
                end,
                practitioner,
                room,
                status=planning.CONFLICT,
                problem=problem,
                alternatives=_alternatives(patient, practitioner, service, location, start, duration, now),
            )
        )
    return proposals


def _alternatives(patient, practitioner, service, location, wanted, duration, now) -> list:
    """Up to three bookable slots on the local day of ``wanted`` (series.pick_alternatives)."""
    from effleura.scheduling import series as planning

    tz = location.tz
    day = wanted.astimezone(tz).date()
    day_start = datetime.datetime.combine(day, datetime.time(0), tzinfo=tz)
    day_end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0), tzinfo=tz)
    slots = calendars.available_slots(service, location, day_start, day_end, duration=duration, now=now)
    blocked = Appointment.objects.filter(
        patient=patient, status__in=HOLDS_TIME, start__lt=day_end, end__gt=day_start
    ).values_list("start", "end")
    return planning.pick_alternatives(
        wanted,
        practitioner,
        (planning.Alternative(s.start, s.end, s.practitioner, s.room) for s in slots),
        blocked=blocked,
    )


def check_book_series(
    actor, patient, practitioner, service, location, visits, *, every_days=None, weekdays=None
) -> list:
    """May ``actor`` book a series for ``patient``, and is its shape sound? Returns the
    visits (each an aware start, or a series.Visit to change practitioner or room), sorted.
    Each visit is checked by do_book_series() inside its transaction."""
    from effleura.scheduling import series as planning

    authorize(actor, "appointment.book", patient_id=patient.public_id)
    errors = planning.pattern_errors(len(visits), every_days, weekdays, require_pattern=False)
    _raise(errors)
    chosen = [planning.Visit.of(v) for v in visits]
    naive = [n for n, v in enumerate(chosen, 1) if timezone.is_naive(v.start)]
    if naive:
        raise ValidationError({"visits": f"Visit {naive[0]}: give the start with its UTC offset."})
    return sorted(chosen, key=lambda v: v.start)


def do_book_series(
    actor,
    patient,
    practitioner,
    service,
    location,
    visits,
    *,
    duration=None,
    room=None,
    every_days=None,
    weekdays=None,
    notes="",
    now=None,
) -> Series:
    """Book every visit of a series, or none: one transaction for the Series row and all
    its appointments. The first visit that cannot be booked raises (BookingConflict or
    ValidationError) naming it ("Visit 5 of 8: …"), and nothing is saved."""
    chosen = check_book_series(
        actor, patient, practitioner, service, location, visits, every_days=every_days, weekdays=weekdays
    )
    duration = calendars.check_duration(service, duration)
    total = len(chosen)
    with transaction.atomic():
        series = Series.objects.create(
            patient=patient,
            practitioner=practitioner,
            service=service,
            location=location,
            duration_minutes=duration,
            visits=total,
            every_days=every_days,
            weekdays=sorted(set(weekdays or [])),
            created_by=actor,
        )
        for number, visit in enumerate(chosen, 1):
            try:
                plan = plan_visit(
                    patient=patient,
                    practitioner=visit.practitioner or practitioner,
                    service=service,
                    location=location,
                    start=visit.start,
                    duration=duration,
                    room=visit.room or room,
                    notes=notes,
                    series=series,
                    now=now,
                )
                do_book(actor, plan)
            except BookingConflict as exc:
                raise exc.for_visit(number, total) from None
            except ValidationError as exc:
                raise ValidationError(f"Visit {number} of {total}: {' '.join(exc.messages)}") from None
        audit.record(
            actor,
            AuditAction.CREATE,
            "appointment",
            record_id=series.public_id,
            patient_id=patient.public_id,
            detail=f"series of {total} booked",
        )
    return series


def check_cancel_series_remaining(actor, series: Series, reason) -> str:
    authorize(actor, "appointment.change", patient_id=series.patient.public_id, record_id=series.public_id)
    errors: dict[str, str] = {}
    reason = _text(reason, "reason", errors, required="Say why the remaining visits are cancelled.")
    _raise(errors)
    return reason


def do_cancel_series_remaining(actor, series: Series, reason: str, *, now=None) -> list[Appointment]:
    """Cancel every visit of ``series`` still ahead (start after now) that holds time and
    may be cancelled; visits already past or under way stay as they are."""
    now = now or timezone.now()
    policy = SchedulingPolicy.current()
    cancellable = [s for s, following in STATUS_FLOW.items() if Status.CANCELLED in following and s in HOLDS_TIME]
    with transaction.atomic():
        ahead = series.appointments.filter(start__gt=now, status__in=cancellable).order_by("start")
        pks = list(ahead.values_list("pk", flat=True))
        cancelled = [_cancel_locked(actor, pk, reason, now, policy, detail="series: remaining visits ") for pk in pks]
    return cancelled
