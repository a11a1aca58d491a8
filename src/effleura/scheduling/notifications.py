"""Emails to patients about their appointments: a confirmation, a reminder some hours
before, and a notice when a visit is cancelled or moved. A series gets one confirmation
that lists every visit, not one email per visit (each visit keeps its own reminder).

The booking actions call these functions explicitly, inside their transaction (no
signals): ``appointment_booked``, ``series_booked``, ``appointment_rescheduled``,
``appointment_cancelled``.
Each writes Notification rows (what, to whom, when it is due) and, once the transaction
commits, queues the background task that sends them (scheduling/tasks.py, run by
`effleura worker`): at once for those due now; at the due time for reminders.

The email is written when it is sent (scheduling/sending.py), from the appointment as it
is then. Its body is never stored; the row keeps what was sent, to whom, and when (or why
not).
"""

import datetime

from django.db import transaction
from django.utils import timezone

from effleura.scheduling import tasks
from effleura.scheduling.choices import AppointmentStatus, NotificationKind
from effleura.scheduling.models import Appointment, Notification, SchedulingPolicy

# Notifications a reschedule or cancellation makes pointless while still unsent.
_ABOUT_THE_TIME = [NotificationKind.CONFIRMATION, NotificationKind.REMINDER, NotificationKind.MOVED]


# Creating notifications (called by the booking actions) ------------------------------------


def appointment_booked(
    appointment: Appointment, *, now: datetime.datetime | None = None, confirm: bool = True
) -> list[Notification]:
    """A confirmation due now and a reminder due ``reminder_hours_before`` the start, as
    the policy says and when the patient has an email address. Nothing for a visit that
    has already started (entered after the fact). ``confirm=False``: the reminder only (a
    visit of a series, which series_booked() confirms as a whole)."""
    now = now or timezone.now()
    return _queue(_confirm_and_remind(appointment, SchedulingPolicy.current(), now, confirm=confirm))


def series_booked(series, *, now: datetime.datetime | None = None) -> list[Notification]:
    """One confirmation for a whole series, due now, on its first visit ahead: the email
    lists every visit of the series still booked when it is sent. Nothing when
    confirmations are off, the patient has no email address or no visit is ahead."""
    now = now or timezone.now()
    first = (
        Appointment.objects.filter(series=series, start__gt=now)
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("patient")
        .order_by("start")
        .first()
    )
    if first is None or not SchedulingPolicy.current().send_confirmations:
        return []
    to = _recipient(first)
    if not to:
        return []
    return _queue([Notification.objects.create(appointment=first, kind=NotificationKind.SERIES, to=to, due_at=now)])


def appointment_rescheduled(
    appointment: Appointment, *, moved_from: datetime.datetime | None = None, now: datetime.datetime | None = None
) -> list[Notification]:
    """The visit changed: drop the unsent confirmation, reminder and moved notice for the
    old time, then tell the patient and schedule the new reminder. A new start
    (``moved_from``, the old one) gets a moved-visit notice that says from when to when;
    the same start with another length or therapist gets a fresh confirmation."""
    now = now or timezone.now()
    Notification.objects.filter(appointment=appointment, kind__in=_ABOUT_THE_TIME, sent_at__isnull=True).delete()
    moved = moved_from is not None and moved_from != appointment.start
    return _queue(
        _confirm_and_remind(appointment, SchedulingPolicy.current(), now, moved_from=moved_from if moved else None)
    )


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


def appointment_restored(appointment: Appointment, *, now: datetime.datetime | None = None) -> list[Notification]:
    """A cancellation was undone: drop the cancellation notice if it is still unsent, then
    confirm the time again and schedule its reminder (as for a new booking)."""
    now = now or timezone.now()
    Notification.objects.filter(
        appointment=appointment, kind=NotificationKind.CANCELLATION, sent_at__isnull=True
    ).delete()
    return _queue(_confirm_and_remind(appointment, SchedulingPolicy.current(), now))


def _recipient(appointment: Appointment) -> str:
    return (appointment.patient.email or "").strip()


def _confirm_and_remind(appointment: Appointment, policy: SchedulingPolicy, now, *, moved_from=None, confirm=True):
    to = _recipient(appointment)
    if not to or appointment.start <= now or appointment.status == AppointmentStatus.CANCELLED:
        return []
    created = []
    if policy.send_confirmations and (confirm or moved_from is not None):
        kind = NotificationKind.MOVED if moved_from is not None else NotificationKind.CONFIRMATION
        created.append(
            Notification.objects.create(appointment=appointment, kind=kind, to=to, due_at=now, moved_from=moved_from)
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
    for pk in ids_now:
        tasks.send_notification.enqueue(pk)
    if later and tasks.send_due_notifications.get_backend().supports_defer:
        for when in later:
            tasks.send_due_notifications.using(run_after=when).enqueue()
