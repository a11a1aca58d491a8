"""Emails to patients about their appointments: a confirmation, a reminder some hours
before, and a notice when a visit is cancelled or moved.

The booking actions call these functions explicitly, inside their transaction (no
signals): ``appointment_booked``, ``appointment_rescheduled``, ``appointment_cancelled``.
Each writes Notification rows (what, to whom, when it is due) and, once the transaction
commits, queues the background task that sends them (scheduling/tasks.py, run by
`effleura worker`): at once for those due now; at the due time for reminders.

The email is written when it is sent, from the appointment as it is then, and holds
nothing clinical: the practice, the date and time in the location's zone, the address,
the practitioner, the service and how to cancel. Its body is never stored; the row keeps
what was sent, to whom, and when (or why not).
"""

import datetime
import logging

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from effleura.core.models import Practice
from effleura.scheduling.choices import AppointmentStatus, NotificationKind
from effleura.scheduling.models import Appointment, Notification, SchedulingPolicy

log = logging.getLogger(__name__)

# Notifications a reschedule or cancellation makes pointless while still unsent.
_ABOUT_THE_TIME = [NotificationKind.CONFIRMATION, NotificationKind.REMINDER]
# How many due notifications one run of the sweep sends before queuing the next run.
SWEEP_BATCH = 200


# Creating notifications (called by the booking actions) ------------------------------------


def appointment_booked(appointment: Appointment, *, now: datetime.datetime | None = None) -> list[Notification]:
    """A confirmation due now and a reminder due ``reminder_hours_before`` the start, as
    the policy says and when the patient has an email address. Nothing for a visit that
    has already started (entered after the fact)."""
    now = now or timezone.now()
    return _queue(_confirm_and_remind(appointment, SchedulingPolicy.current(), now))


def appointment_rescheduled(appointment: Appointment, *, now: datetime.datetime | None = None) -> list[Notification]:
    """The visit moved: drop the unsent confirmation and reminder for the old time, then
    confirm the new time and schedule its reminder."""
    now = now or timezone.now()
    Notification.objects.filter(appointment=appointment, kind__in=_ABOUT_THE_TIME, sent_at__isnull=True).delete()
    return _queue(_confirm_and_remind(appointment, SchedulingPolicy.current(), now))


def appointment_cancelled(appointment: Appointment, *, now: datetime.datetime | None = None) -> list[Notification]:
    """Drop the unsent confirmation and reminder, and send a cancellation notice (when
    confirmations are on, the patient has an email address and the visit was ahead)."""
    now = now or timezone.now()
    Notification.objects.filter(appointment=appointment, kind__in=_ABOUT_THE_TIME, sent_at__isnull=True).delete()
    to = _recipient(appointment)
    policy = SchedulingPolicy.current()
    if not (to and policy.send_confirmations and appointment.start > now):
        return []
    notice = Notification.objects.create(appointment=appointment, kind=NotificationKind.CANCELLATION, to=to, due_at=now)
    return _queue([notice])


def _recipient(appointment: Appointment) -> str:
    return (appointment.patient.email or "").strip()


def _confirm_and_remind(appointment: Appointment, policy: SchedulingPolicy, now) -> list[Notification]:
    to = _recipient(appointment)
    if not to or appointment.start <= now or appointment.status == AppointmentStatus.CANCELLED:
        return []
    created = []
    if policy.send_confirmations:
        created.append(
            Notification.objects.create(appointment=appointment, kind=NotificationKind.CONFIRMATION, to=to, due_at=now)
        )
    remind_at = appointment.start - datetime.timedelta(hours=policy.reminder_hours_before)
    if policy.send_reminders and remind_at > now:
        created.append(
            Notification.objects.create(
                appointment=appointment, kind=NotificationKind.REMINDER, to=to, due_at=remind_at
            )
        )
    return created


def _queue(notifications: list[Notification]) -> list[Notification]:
    """Once the caller's transaction commits, queue the sending: due ones now, later ones
    at their due time (when the task backend can defer; the sweep catches up otherwise)."""
    if notifications:
        ids_now = [n.pk for n in notifications if n.due_at <= timezone.now()]
        later = sorted({n.due_at for n in notifications if n.pk not in ids_now})
        transaction.on_commit(lambda: _enqueue(ids_now, later))
    return notifications


def _enqueue(ids_now: list[int], later: list[datetime.datetime]) -> None:
    from effleura.scheduling import tasks

    for pk in ids_now:
        tasks.send_notification.enqueue(pk)
    if later and tasks.send_due_notifications.get_backend().supports_defer:
        for when in later:
            tasks.send_due_notifications.using(run_after=when).enqueue()


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
}
OPENINGS = {
    NotificationKind.CONFIRMATION: "This confirms your appointment with {practice}.",
    NotificationKind.REMINDER: "A reminder of your appointment with {practice}.",
    NotificationKind.CANCELLATION: "Your appointment with {practice} has been cancelled.",
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
        OPENINGS[notification.kind].format(practice=practice.name),
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
