"""Sending appointment emails: one notification at a time, and the list of those due.

scheduling/tasks.py runs these in `effleura worker`; scheduling/notifications.py writes
the rows and queues the tasks. Sending sits below both, so the tasks need not import
the module that queues them.

The email is written when it is sent, from the appointment as it is then, and holds
nothing clinical: the practice, the date and time in the location's zone, the address,
the practitioner, the service and how to cancel. A series confirmation lists every visit
of the series still booked then.
"""

import datetime
import logging

from django.core.mail import EmailMessage
from django.utils import timezone

from effleura.core.models import Practice
from effleura.scheduling.choices import AppointmentStatus, NotificationKind
from effleura.scheduling.models import Appointment, Notification, SchedulingPolicy

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
    if notification.kind == NotificationKind.SERIES:
        if not _series_visits(appointment, now):
            return "Not sent: no visit of the series is still booked ahead."
        return ""
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
    NotificationKind.SERIES: "Your {count} appointments from {when}",
}
OPENINGS = {
    NotificationKind.CONFIRMATION: "This confirms your appointment with {practice}.",
    NotificationKind.REMINDER: "A reminder of your appointment with {practice}.",
    NotificationKind.CANCELLATION: "Your appointment with {practice} has been cancelled.",
    NotificationKind.MOVED: "Your appointment with {practice} has moved from {before} to {when}.",
    NotificationKind.SERIES: "This confirms your {count} appointments with {practice}:",
}


def _series_visits(appointment, now) -> list:
    """The visits of ``appointment``'s series still booked and ahead, in order."""
    if appointment.series_id is None:
        return [appointment] if appointment.start > now and appointment.status != AppointmentStatus.CANCELLED else []
    return list(
        Appointment.objects.filter(series_id=appointment.series_id, start__gt=now)
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("location", "practitioner", "service")
        .order_by("start")
    )


def _visit_line(visit) -> str:
    tz = visit.location.tz
    start, end = visit.start.astimezone(tz), visit.end.astimezone(tz)
    return f"- {start:%a} {start.day} {start:%B %Y}, {start:%H:%M}–{end:%H:%M} ({start:%Z})"


def _how_to_change(lead: str, phone: str, policy: SchedulingPolicy) -> str:
    """ "To cancel or change it, please call us on 555-0100 at least 24 hours before." """
    notice = f" at least {policy.late_cancel_hours} hours before" if policy.late_cancel_hours else ""
    return f"{lead} please call us on {phone}{notice}." if phone else f"{lead} please call the practice{notice}."


def _compose_series(notification: Notification, practice: Practice, policy: SchedulingPolicy) -> tuple[str, str]:
    """The confirmation of a whole series: every visit still booked, one line each, and
    where, with whom and what once when they are the same for all (else on each line)."""
    visits = _series_visits(notification.appointment, timezone.now()) or [notification.appointment]
    first = visits[0]
    tz = first.location.tz
    subject = SUBJECTS[NotificationKind.SERIES].format(count=len(visits), when=when_text(first.start, tz))
    same_place = len({v.location_id for v in visits}) == 1
    same_person = len({v.practitioner_id for v in visits}) == 1
    same_service = len({(v.service_id, v.duration_minutes) for v in visits}) == 1
    lines = ["Hello,", "", OPENINGS[NotificationKind.SERIES].format(count=len(visits), practice=practice.name), ""]
    for visit in visits:
        extra = []
        if not same_place:
            extra.append(f"at {visit.location.name}")
        if not same_person:
            extra.append(f"with {visit.practitioner.display_name}")
        if not same_service:
            extra.append(f"{visit.service.name}, {visit.duration_minutes} minutes")
        lines.append(_visit_line(visit) + (f" · {' · '.join(extra)}" if extra else ""))
    lines.append("")
    if same_place:
        address = _address(first.location)
        lines.append(f"Where: {first.location.name}" + (f", {address}" if address else ""))
    if same_person:
        lines.append(f"With:  {first.practitioner.display_name}")
    if same_service:
        lines.append(f"For:   {first.service.name}, {first.duration_minutes} minutes each")
    lines.append("")
    phone = first.location.phone or practice.phone
    lines.append(
        "You will get a reminder before each visit. " + _how_to_change("To cancel or change one,", phone, policy)
    )
    lines += ["", practice.name]
    return subject, "\n".join(lines) + "\n"


def compose(notification: Notification, practice: Practice, policy: SchedulingPolicy) -> tuple[str, str]:
    """(subject, plain-text body). Only what a patient needs to turn up or cancel: no
    clinical details, no patient name (an email can be read by someone else)."""
    if notification.kind == NotificationKind.SERIES:
        return _compose_series(notification, practice, policy)
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
        lines.append(_how_to_change("To cancel or change it,", phone, policy))
    lines += ["", practice.name]
    return subject, "\n".join(lines) + "\n"
