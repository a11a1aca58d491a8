"""Background tasks of the core app, run by `effleura worker`."""

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django_tasks import task

from effleura.core import leases
from effleura.core.models import SentEmail


@task(takes_context=True)
def send_email(context, subject: str, body: str, to: list[str], html_body: str | None = None) -> str:
    """Send one email through the configured backend. Callers never put health data in it.

    Safe to repeat: a job run again (its worker died, or the mail server failed and the
    job is retried) first looks for its SentEmail record and sends nothing if the message
    already left. One window remains: a worker that dies after the mail server accepted
    the message and before the record is committed (a few milliseconds) sends it again on
    the next attempt. The mail server's timeout is settings.EMAIL_TIMEOUT, so a server
    that hangs fails the job (and it is retried) instead of holding the worker."""
    task_id = context.task_result.id
    if SentEmail.objects.filter(task_id=task_id).exists():
        return "already sent"
    message = EmailMultiAlternatives(subject, body, to=to)
    if html_body:
        message.attach_alternative(html_body, "text/html")
    message.send()
    try:
        with transaction.atomic():
            SentEmail.objects.create(task_id=task_id)
    except IntegrityError:  # two runs of the same job at once: the other one recorded it
        pass
    return "sent"


# The password-reset email's arguments hold the reset link: blanked as soon as the job is
# finished. A mail server that fails is tried again (core/leases.py).
leases.register(send_email, retry_failures=True, carries_secret=True)
