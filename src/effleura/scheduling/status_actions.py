"""Cancelling an appointment and moving it along its statuses (booked, checked in, in
session, completed, no-show, interrupted: choices.STATUS_FLOW).

Like every scheduling action (see booking_actions.py): check_*() authorizes and
validates; do_*() writes inside a transaction with the appointment's history line, the
audit event and the patient's notification.
"""

import dataclasses
import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from effleura.core import audit
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.values import clean_text
from effleura.scheduling import notifications
from effleura.scheduling.action_support import MAX_TEXT, Status, locked_appointment, raise_errors
from effleura.scheduling.choices import STATUS_FLOW, ChangeKind
from effleura.scheduling.models import Appointment, AppointmentChange, SchedulingPolicy

# Cancelling ----------------------------------------------------------------------------


def check_cancel(actor, appointment: Appointment, reason) -> str:
    """May ``actor`` cancel ``appointment``? Returns the cleaned reason (required)."""
    authorize(actor, "appointment.change", patient_id=appointment.patient.public_id, record_id=appointment.public_id)
    errors: dict[str, str] = {}
    reason = clean_text(reason, "reason", errors, limit=MAX_TEXT, required="Say why the appointment is cancelled.")
    raise_errors(errors)
    _check_flow(appointment.status, Status.CANCELLED)
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
    ValidationError if the appointment changed meanwhile. Nests in a caller's transaction
    (signing a note completes its appointment)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = locked_appointment(appointment.pk)
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
