"""Sending appointment emails: one notification at a time, and the list of those due.

scheduling/tasks.py runs these in `effleura worker`; scheduling/notifications.py writes
the rows and queues the tasks. Sending sits below both, so the tasks need not import
the module that queues them.

The email is written when it is sent, from the appointment as it is then, and holds
nothing clinical: the practice, the date and time in the location's zone, the address,
the practitioner, the service and how to cancel.
"""

import datetime
import logging

from django.core.mail import EmailMessage
from django.utils import timezone

from effleura.core.models import Practice
from effleura.scheduling.choices import AppointmentStatus, NotificationKind
from effleura.scheduling.models import Notification, SchedulingPolicy

log = logging.getLogger(__name__)

# How many due notifications one run of the sweep sends before queuing the next run.
SWEEP_BATCH = 200


# Sending ------------------------------------------------------------------------------------


def deliver(notification_id: int, *, now: datetime.datetime | None = None) -> str:
    """Send one notification if it is due and unsent; record when, or why not. Answers
    "sent", "failed", "skipped", "not due" or "gone" (dropped before its time)."""
    now = now or timezone.now()
    notification = (
        Notification.objects.select_related(
            "appointment__location", "appointment__practitioner", "appointment__service"
        )
        .filter(pk=notification_id)
        .first()
    )
    if notification is None:
        return "gone"
    if notification.sent_at is not None:
        return "sent"
    if notification.due_at > now:
        return "not due"
    why_not = _pointless(notification, now)
    if why_not:
        Notification.objects.filter(pk=notification.pk, sent_at__isnull=True).update(error=why_not)
        return "skipped"
    # Claim it first: when two workers pick up the same notification only one sends it
    # (at most once: a patient is better missing a reminder than getting it twice).
    if not Notification.objects.filter(pk=notification.pk, sent_at__isnull=True).update(sent_at=now, error=""):
        return "sent"
    practice = Practice.current()
    subject, body = compose(notification, practice, SchedulingPolicy.current())
    reply_to = [practice.email] if practice.email else []
    message = EmailMessage(subject, body, to=[notification.to], reply_to=reply_to)
    try:
        message.send()
    except Exception as exc:  # any mail failure is recorded, then retried by the sweep
        # The exception's text may quote the address; the log and the row get its type only.
        log.warning("Could not send notification %s: %s", notification.pk, type(exc).__name__)
        Notification.objects.filter(pk=notification.pk).update(
            sent_at=None, error=f"Could not send ({type(exc).__name__}); will retry."[:200]
        )
        return "failed"
    return "sent"


def _pointless(notification: Notification, now) -> str:
    appointment = notification.appointment
    if appointment.start <= now:
        return "Not sent: the appointment had already started."
    cancelled = appointment.status == AppointmentStatus.CANCELLED
    if cancelled and notification.kind != NotificationKind.CANCELLATION:
        return "Not sent: the appointment was cancelled."
    if not cancelled and notification.kind == NotificationKind.CANCELLATION:
        return "Not sent: the appointment is no longer cancelled."
    return ""


def due_notification_ids(now: datetime.datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """Unsent notifications that are due and still useful (their visit is ahead), oldest first."""
    return list(
        Notification.objects.filter(sent_at__isnull=True, due_at__lte=now, appointment__start__gt=now)
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


# The email ----------------------------------------------------------------------------------


def when_text(moment: datetime.datetime, tz) -> str:
    """ "Tue 3 March at 10:00" in the location's zone."""
    local = moment.astimezone(tz)
    return f"{local:%a} {local.day} {local:%B} at {local:%H:%M}"


def _address(location) -> str:
    place = " ".join(part for part in (location.region, location.postal_code) if part)
    return ", ".join(part for part in (location.address_line1, location.city, place) if part)


SUBJECTS = {
    NotificationKind.CONFIRMATION: "Your appointment on {when}",
    NotificationKind.REMINDER: "Reminder: your appointment on {when}",
    NotificationKind.CANCELLATION: "Cancelled: your appointment on {when}",
    NotificationKind.MOVED: "Moved: your appointment is now on {when}",
}
OPENINGS = {
    NotificationKind.CONFIRMATION: "This confirms your appointment with {practice}.",
    NotificationKind.REMINDER: "A reminder of your appointment with {practice}.",
    NotificationKind.CANCELLATION: "Your appointment with {practice} has been cancelled.",
    NotificationKind.MOVED: "Your appointment with {practice} has moved from {before} to {when}.",
}


def compose(notification: Notification, practice: Practice, policy: SchedulingPolicy) -> tuple[str, str]:
    """(subject, plain-text body). Only what a patient needs to turn up or cancel: no
    clinical details, no patient name (an email can be read by someone else)."""
    appointment = notification.appointment
    location = appointment.location
    tz = location.tz
    start, end = appointment.start.astimezone(tz), appointment.end.astimezone(tz)
    subject = SUBJECTS[notification.kind].format(when=when_text(start, tz))
    phone = location.phone or practice.phone
    lines = [
        "Hello,",
        "",
        OPENINGS[notification.kind].format(
            practice=practice.name,
            when=when_text(start, tz),
            before=when_text(notification.moved_from, tz) if notification.moved_from else "an earlier time",
        ),
        "",
        f"When:  {start:%A} {start.day} {start:%B %Y}, {start:%H:%M}–{end:%H:%M} ({start:%Z})",
        f"Where: {location.name}" + (f", {_address(location)}" if _address(location) else ""),
        f"With:  {appointment.practitioner.display_name}",
        f"For:   {appointment.service.name}, {appointment.duration_minutes} minutes",
        "",
    ]
    if notification.kind == NotificationKind.CANCELLATION:
        lines.append(
            f"To book another time, please call us on {phone}." if phone else "To book another time, please call us."
        )
    else:
        notice = f" at least {policy.late_cancel_hours} hours before" if policy.late_cancel_hours else ""
        lines.append(
            f"To cancel or change it, please call us on {phone}{notice}."
            if phone
            else f"To cancel or change it, please call the practice{notice}."
        )
    lines += ["", practice.name]
    return subject, "\n".join(lines) + "\n"
