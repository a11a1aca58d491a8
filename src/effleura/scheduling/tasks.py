"""Background tasks of scheduling, run by `effleura worker` (django-tasks' database
backend): sending appointment emails. The rules live in scheduling/notifications.py
(which rows, when) and scheduling/sending.py (the email).

* ``send_notification(id)`` sends one notification; the booking actions queue it when
  their transaction commits, for the confirmations and notices due at once.
* ``send_due_notifications()`` sends every due, unsent notification whose visit is still
  ahead (reminders, and retries of sends that failed). It is queued with ``run_after``
  set to each reminder's due time, so the worker runs it then; it queues itself again a
  little later while any send fails, and again at once while more are due than one run
  sends.
"""

import datetime

from django.utils import timezone
from django_tasks import task

from effleura.core.clock import in_practice_zone
from effleura.scheduling import sending

RETRY_AFTER = datetime.timedelta(minutes=15)


@task()
def send_notification(notification_id: int) -> str:
    """Send one appointment email if it is due and still useful; answers what happened."""
    with in_practice_zone():
        return sending.deliver(notification_id)


@task()
def send_due_notifications() -> dict[str, int]:
    """Send every notification that is due, unsent and still useful; count the outcomes."""
    now = timezone.now()
    ids = sending.due_notification_ids(now)
    outcomes: dict[str, int] = {}
    with in_practice_zone():
        for pk in ids:
            outcome = sending.deliver(pk, now=now)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    backend = send_due_notifications.get_backend()
    if backend.supports_defer:
        if len(ids) == sending.SWEEP_BATCH:
            send_due_notifications.enqueue()  # more are waiting: carry on at once
        elif outcomes.get("failed"):
            send_due_notifications.using(run_after=now + RETRY_AFTER).enqueue()
    return outcomes
