"""Cancelling an appointment, moving it along its statuses (booked, checked in, in
session, completed, no-show, interrupted: choices.STATUS_FLOW), and undoing a status
change made by mistake.

Like every scheduling action (see booking_actions.py): check_*() authorizes and
validates; do_*() writes inside a transaction with the appointment's history line, the
audit event and the patient's notification. What is allowed when is decided by the pure
rules of visit_rules.py; actions_now() asks the same rules which buttons a page shows.
"""

import dataclasses
import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from effleura.core import audit
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.extension_points import status_undo_guards
from effleura.core.models import Practice
from effleura.core.permissions import has_permission
from effleura.core.values import clean_text
from effleura.scheduling import notifications, visit_rules
from effleura.scheduling.action_support import MAX_TEXT, Status, locked_appointment, raise_errors
from effleura.scheduling.booking import find_conflict, is_exclusion_violation
from effleura.scheduling.choices import ChangeKind
from effleura.scheduling.models import Appointment, AppointmentChange, SchedulingPolicy


def start_window() -> int:
    """The practice's start window: minutes before its start a visit can be started."""
    return Practice.current().start_window_minutes


# Cancelling ----------------------------------------------------------------------------


def check_cancel(actor, appointment: Appointment, reason) -> str:
    """May ``actor`` cancel ``appointment``? Returns the cleaned reason (required)."""
    authorize(actor, "appointment.change", patient_id=appointment.patient.public_id, record_id=appointment.public_id)
    errors: dict[str, str] = {}
    reason = clean_text(reason, "reason", errors, limit=MAX_TEXT, required="Say why the appointment is cancelled.")
    raise_errors(errors)
    _refuse(visit_rules.cancel_refusal(appointment.status))
    return reason


def is_late_cancel(start: datetime.datetime, now: datetime.datetime, policy: SchedulingPolicy) -> bool:
    """A cancellation closer to the start than the policy's hours (or after it) is late."""
    return start - now < datetime.timedelta(hours=policy.late_cancel_hours)


def do_cancel(actor, appointment: Appointment, reason: str, *, now=None) -> Appointment:
    """Cancel: record who, when and why, and whether it was late; free the time."""
    now = now or timezone.now()
    with transaction.atomic():
        cancelled = cancel_locked(actor, appointment.pk, reason, now, SchedulingPolicy.current())
    return cancelled


def cancel_locked(actor, pk, reason: str, now, policy: SchedulingPolicy, *, detail: str = "") -> Appointment:
    """Cancel the appointment ``pk`` (its row locked here), with its history line, audit
    event and notification. Precondition: the caller holds a transaction.atomic()."""
    locked = locked_appointment(pk)
    _refuse(visit_rules.cancel_refusal(locked.status))
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


def _refuse(reason: str | None) -> None:
    """Raise a rule's refusal (visit_rules.py) as the status field's error."""
    if reason:
        raise ValidationError({"status": reason})


def _status_refusal(appointment: Appointment, status: str, now, window: int) -> str | None:
    return visit_rules.status_refusal(
        appointment.status, status, start=appointment.start, now=now, tz=appointment.location.tz, window_minutes=window
    )


@dataclasses.dataclass(frozen=True)
class StatusChange:
    status: str
    reason: str = ""
    minutes_delivered: int | None = None


def check_set_status(
    actor, appointment: Appointment, status, *, reason="", minutes_delivered=None, now=None
) -> StatusChange:
    """May ``actor`` move ``appointment`` to ``status`` at ``now``? The flow
    (choices.STATUS_FLOW) and the times of visit_rules.status_refusal(): started from the
    practice's start window, checked in on the day, a no-show after the start. An
    interrupted session needs a reason and the minutes delivered (0 to its duration).
    Cancelling goes through check_cancel() (it asks why)."""
    authorize(actor, "appointment.change", patient_id=appointment.patient.public_id, record_id=appointment.public_id)
    now = now or timezone.now()
    if status not in Status.values:
        raise ValidationError({"status": f"Choose one of: {', '.join(Status.values)}."})
    _refuse(_status_refusal(appointment, status, now, start_window()))
    errors: dict[str, str] = {}
    if status == Status.INTERRUPTED:
        reason = clean_text(reason, "reason", errors, limit=MAX_TEXT, required="Say why the session was interrupted.")
        if minutes_delivered is None or isinstance(minutes_delivered, bool) or not isinstance(minutes_delivered, int):
            errors["minutes_delivered"] = "Give the minutes of treatment delivered, as a whole number."
        elif not 0 <= minutes_delivered <= appointment.duration_minutes:
            errors["minutes_delivered"] = f"Give a number from 0 to {appointment.duration_minutes}."
    else:
        if reason:
            errors["reason"] = "A reason is only recorded for an interrupted session."
        if minutes_delivered is not None:
            errors["minutes_delivered"] = "Minutes delivered are only recorded for an interrupted session."
    raise_errors(errors)
    return StatusChange(status, reason, minutes_delivered)


def do_set_status(actor, appointment: Appointment, change: StatusChange, *, now=None) -> Appointment:
    """Move ``appointment`` as check_set_status() allowed (``change`` is its answer), with
    its history line and audit event. The flow is checked again on the locked row:
    ValidationError if the appointment changed meanwhile. Starting the session (or
    completing or interrupting one not started) records when it began. Nests in a
    caller's transaction (signing a note completes its appointment)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = locked_appointment(appointment.pk)
        # The flow again, on the locked row (someone may have moved it meanwhile); the
        # clock's rules were the check's, at the moment it was asked.
        _refuse(visit_rules.flow_refusal(locked.status, change.status))
        before = locked.status
        locked.status = change.status
        fields = ["status"]
        if change.status in visit_rules.SESSION_STATUSES and locked.session_started_at is None:
            # Started now; a visit completed afterwards without being started began at
            # its booked start at the latest.
            locked.session_started_at = now if change.status == Status.IN_SESSION else min(now, locked.start)
            fields.append("session_started_at")
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


# Undo ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Undo:
    """What check_undo_status() allowed: take back history line ``change_id``, returning the
    appointment from ``current`` to ``restore``."""

    change_id: int
    current: str
    restore: str


def last_change(appointment: Appointment) -> AppointmentChange | None:
    """The newest line of the appointment's history (the order they were written). One query."""
    return AppointmentChange.objects.filter(appointment=appointment).order_by("-id").first()


def _undo_refusal(actor, appointment: Appointment, change: AppointmentChange | None, now) -> str | None:
    """The rules of visit_rules.undo_refusal(), then the other apps' guards (a signed note)."""
    refused = visit_rules.undo_refusal(
        change,
        current=appointment.status,
        actor_id=actor.pk,
        may_undo_anyone=has_permission(actor, "appointment.undo_any"),
        now=now,
        tz=appointment.location.tz,
    )
    if refused:
        return refused
    guards = status_undo_guards.collect(appointment, change)
    return guards[0] if guards else None


def check_undo_status(actor, appointment: Appointment, *, expected_status=None, now=None) -> Undo:
    """May ``actor`` undo the appointment's last status change or cancellation now? The
    same day it was made, by its author or the owner (visit_rules.undo_refusal), and not
    a "completed" that a signed note stands behind (status_undo_guards).
    ``expected_status``: the status the person saw (the page and the API send it), so an
    undo never takes back a change someone else made meanwhile."""
    authorize(actor, "appointment.change", patient_id=appointment.patient.public_id, record_id=appointment.public_id)
    now = now or timezone.now()
    if expected_status is not None and expected_status != appointment.status:
        _refuse("This appointment changed meanwhile; reload it and try again.")
    change = last_change(appointment)
    _refuse(_undo_refusal(actor, appointment, change, now))
    return Undo(change.pk, change.to_status, change.from_status)


def do_undo_status(actor, appointment: Appointment, undo: Undo, *, now=None) -> Appointment:
    """Undo as check_undo_status() allowed (``undo`` is its answer). Under the row lock the
    rules are asked again (ValidationError if the appointment changed meanwhile); an undone
    cancellation needs its time still free. Writes the status back, clears what the undone
    change recorded (start of session, interruption, cancellation), adds an "undo" history
    line that points at the line it takes back (which stays as it was), audits it, and
    re-confirms a visit whose cancellation is undone."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return _undo_locked(actor, appointment, undo, now)
    except IntegrityError as exc:  # PostgreSQL's exclusion constraints: the time was taken
        if not is_exclusion_violation(exc):
            raise
        raise ValidationError({"status": _TAKEN}) from None


_TAKEN = "The time has been booked for someone else since it was cancelled: book a new time instead."


def _undo_locked(actor, appointment: Appointment, undo: Undo, now) -> Appointment:
    locked = locked_appointment(appointment.pk)
    change = last_change(locked)
    if change is None or change.pk != undo.change_id:
        _refuse("This appointment changed meanwhile; reload it and try again.")
    _refuse(_undo_refusal(actor, locked, change, now))
    before, restore = locked.status, change.from_status
    fields = ["status"]
    if before == Status.CANCELLED:
        clash = find_conflict(
            practitioner_id=locked.practitioner_id,
            room_id=locked.room_id,
            patient_id=locked.patient_id,
            start=locked.start,
            end=locked.end,
            busy_until=locked.busy_until,
            ignore_id=locked.pk,
        )
        if clash is not None:
            _refuse(_TAKEN)
        locked.cancelled_at, locked.cancelled_by, locked.cancel_reason, locked.late_cancel = None, None, "", False
        fields += ["cancelled_at", "cancelled_by", "cancel_reason", "late_cancel"]
    if before == Status.INTERRUPTED:
        locked.interrupted_reason, locked.minutes_delivered = "", None
        fields += ["interrupted_reason", "minutes_delivered"]
    if restore not in visit_rules.SESSION_STATUSES and locked.session_started_at is not None:
        locked.session_started_at = None
        fields.append("session_started_at")
    locked.status = restore
    locked.save(update_fields=fields)
    made = change.at.astimezone(locked.location.tz)
    AppointmentChange.objects.create(
        appointment=locked,
        actor=actor,
        at=now,
        kind=ChangeKind.UNDO,
        from_status=before,
        to_status=restore,
        undoes=change,
        detail=f"undid “{Status(before).label.lower()}”, set at {made:%H:%M}",
    )
    audit.record(
        actor,
        AuditAction.UPDATE,
        "appointment",
        record_id=locked.public_id,
        patient_id=locked.patient.public_id,
        detail=f"status undone: {before} → {restore}",
    )
    if before == Status.CANCELLED:
        notifications.appointment_restored(locked, now=now)
    return locked


# What a page may offer -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Option:
    """One action on a visit, and whether it is allowed now (``reason`` says why not)."""

    action: str  # a status (visit_rules.STATUS_ACTIONS), "reschedule", "cancel" or "undo"
    label: str
    reason: str = ""
    hint: bool = False  # a refusal worth saying on the page (visit_rules.worth_saying)

    @property
    def allowed(self) -> bool:
        return not self.reason


def actions_now(
    actor, appointment: Appointment, *, now=None, window=None, change=False, with_undo=False
) -> list[Option]:
    """Every action on ``appointment`` (visit_rules.ALL_ACTIONS order), each allowed or
    refused with its reason, by the same rules check_set_status(), check_cancel(),
    check_reschedule() and check_undo_status() apply: a page shows a button for an allowed
    one only. Empty for a role that may not change appointments.

    ``window``: the practice's start window (read once per page; read here when None).
    ``with_undo``: also answer Undo; ``change`` is then the appointment's last history line
    (the page has it already; False: look it up), and other apps' guards are asked (one
    query at most). Without it Undo is left out, so a list costs no query per row."""
    if not has_permission(actor, "appointment.change"):
        return []
    now = now or timezone.now()
    window = start_window() if window is None else window
    current = appointment.status

    def option(action: str, reason: str | None, last_kind=None) -> Option:
        hint = bool(reason) and visit_rules.worth_saying(current, action, last_kind)
        return Option(action, visit_rules.LABELS[action], reason or "", hint)

    options = [option(s, _status_refusal(appointment, s, now, window)) for s in visit_rules.STATUS_ACTIONS]
    options.append(option(visit_rules.RESCHEDULE, visit_rules.reschedule_refusal(current)))
    options.append(option(visit_rules.CANCEL, visit_rules.cancel_refusal(current)))
    if with_undo:
        last = last_change(appointment) if change is False else change
        kind = last.kind if last is not None else None
        options.append(option(visit_rules.UNDO, _undo_refusal(actor, appointment, last, now), kind))
    return options
