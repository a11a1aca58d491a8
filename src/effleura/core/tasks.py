"""Background tasks of the core app, run by `effleura worker`."""

import logging

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from effleura.core import leases
from effleura.core.models import SentEmail

log = logging.getLogger(__name__)


class EmailInDoubt(leases.DoNotRetry):
    """An earlier run of this email job claimed the message and did not say it was sent
    (it stopped, or was taken back, while sending): it is not sent again, so that it is
    never sent twice."""


@task(takes_context=True)
def send_email(context, subject: str, body: str, to: list[str], html_body: str | None = None) -> str:
    """Send one email through the configured backend. Callers never put health data in it.

    Safe to repeat, even while an earlier run of the same job is still going (its worker
    was paused past its lease and the job was taken back): before sending, a run claims
    the job's SentEmail row (a unique insert, "sending", committed on its own). A run
    that finds the row does not send: "already sent" if it says sent; if it still says
    sending, the job fails as EmailInDoubt (not retried) — that run may have sent it.
    A mail server that refuses or times out (settings.EMAIL_TIMEOUT) releases the claim
    and fails the job, which is retried.

    The windows that remain: a worker that stops after the claim and before the mail
    server accepted the message loses that email (the job fails EmailInDoubt: the person
    asks again); and a mail server that accepts the message but whose answer is lost
    (the connection drops) fails the send here, so the retry sends it a second time.
    SMTP offers nothing to close that one."""
    task_id = str(context.task_result.id)
    try:
        with transaction.atomic():
            SentEmail.objects.create(task_id=task_id, state=SentEmail.SENDING)
    except IntegrityError:
        state = SentEmail.objects.filter(task_id=task_id).values_list("state", flat=True).first()
        if state == SentEmail.SENT:
            return "already sent"
        raise EmailInDoubt(
            "An earlier run of this email job stopped while sending it; it is not sent again, "
            "so that it is not sent twice. Ask for a new one if it did not arrive."
        ) from None
    message = EmailMultiAlternatives(subject, body, to=to)
    if html_body:
        message.attach_alternative(html_body, "text/html")
    try:
        message.send()
    except BaseException:
        try:  # it did not leave: a retry may send it
            SentEmail.objects.filter(task_id=task_id, state=SentEmail.SENDING).delete()
        except Exception:
            log.warning("could not release the email claim of job %s", task_id, exc_info=True)
        raise
    SentEmail.objects.filter(task_id=task_id).update(state=SentEmail.SENT, sent_at=timezone.now())
    return "sent"


# The password-reset email's arguments hold the reset link: blanked as soon as the job is
# finished, or once it waited longer than the link is good for. A mail server that fails
# is tried again (core/leases.py).
leases.register(send_email, retry_failures=True, carries_secret=True)
