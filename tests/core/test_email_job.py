"""The email job: a mail server that hangs fails it after EMAIL_TIMEOUT (and it is tried
again later) instead of holding the worker; a job run twice sends once; the reset link
does not stay in the task table once the email is sent."""

import datetime
import socket
import threading
import time

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from effleura.core import leases
from effleura.core.models import SentEmail
from effleura.core.tasks import send_email


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def silent_mail_server():
    """A server on 127.0.0.1 that accepts connections and never says a word (no SMTP
    greeting), as a hung mail server does. Yields its port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def run_worker():
    call_command("worker", "--batch", "--no-startup-delay", "--worker-id", "mailer")


def test_the_mail_servers_timeout_defaults_to_twenty_seconds(settings):
    assert settings.EMAIL_TIMEOUT == 20


# The worker closes its database connection when it stops: real transactions.
@pytest.mark.django_db(transaction=True)
def test_a_mail_server_that_never_answers_fails_the_job_after_the_timeout(database_queue, settings, silent_mail_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", silent_mail_server, 1
    settings.EMAIL_USE_TLS = False
    job = send_email.enqueue(subject="Hello", body="A test", to=["someone@example.test"])
    started = time.monotonic()
    run_worker()
    assert time.monotonic() - started < 15  # the worker came back; it did not hang
    row = DBTaskResult.objects.get(id=job.id)
    # Tried once, failed on the timeout, and queued again a minute later (retry rule).
    assert row.worker_ids == ["mailer"]
    assert row.status == "READY" and row.run_after > timezone.now() + datetime.timedelta(seconds=30)
    assert "Timeout" in row.exception_class_path or "timeout" in row.traceback.lower()
    assert not SentEmail.objects.filter(task_id=str(job.id)).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_email_job_is_failed_and_blanked_after_the_last_attempt(database_queue, settings, silent_mail_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", silent_mail_server, 1
    settings.EFFLEURA_TASK_MAX_ATTEMPTS = 2
    job = send_email.enqueue(subject="Reset", body="http://localhost/reset/secret/", to=["someone@example.test"])
    run_worker()
    DBTaskResult.objects.filter(id=job.id).update(run_after=timezone.now())  # the pause is over
    run_worker()
    row = DBTaskResult.objects.get(id=job.id)
    assert row.status == "FAILED" and len(row.worker_ids) == 2
    assert row.args_kwargs == leases.BLANK_ARGS and row.traceback == ""


@pytest.mark.django_db(transaction=True)
def test_a_sent_email_job_records_that_it_sent(database_queue):
    job = send_email.enqueue(subject="Hello", body="A test", to=["someone@example.test"])
    run_worker()
    assert len(mail.outbox) == 1
    assert SentEmail.objects.filter(task_id=str(job.id)).exists()
    assert DBTaskResult.objects.get(id=job.id).status == "SUCCESSFUL"


@pytest.mark.django_db(transaction=True)
def test_an_email_job_taken_back_after_it_sent_does_not_send_again(database_queue):
    job = send_email.enqueue(subject="Hello", body="A test", to=["someone@example.test"])
    # Its first worker sent the email, recorded it, and died before marking the job done;
    # the lease expired and the job was taken back:
    DBTaskResult.objects.filter(id=job.id).update(
        status="RUNNING", started_at=timezone.now() - datetime.timedelta(minutes=6), worker_ids=["dead"]
    )
    SentEmail.objects.create(task_id=str(job.id))
    assert leases.take_back_expired_jobs()["requeued"] == 1
    run_worker()
    assert mail.outbox == []
    row = DBTaskResult.objects.get(id=job.id)
    assert row.status == "SUCCESSFUL"
    assert row.worker_ids == ["dead", "mailer"]


@pytest.mark.django_db(transaction=True)
def test_the_reset_link_does_not_stay_in_the_task_table_after_sending(database_queue, client, therapist):
    client.post(reverse("core:password_reset"), {"email": therapist.email})
    queued = DBTaskResult.objects.get()
    assert "/password/reset/" in str(queued.args_kwargs)  # the link waits in the queue...
    run_worker()
    assert len(mail.outbox) == 1 and "/password/reset/" in mail.outbox[0].body
    row = DBTaskResult.objects.get()
    assert row.status == "SUCCESSFUL"
    assert row.args_kwargs == leases.BLANK_ARGS  # ...and is gone once it is sent
    assert therapist.email not in str(row.args_kwargs) + row.traceback + str(row.return_value)
