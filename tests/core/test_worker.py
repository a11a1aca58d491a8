"""`effleura worker` runs queued tasks from the database, so emails leave the web request."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django_tasks_db.models import DBTaskResult


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


# The worker closes its database connection when it stops, as a long-running process
# should; that needs real transactions rather than the one wrapped around each test.
@pytest.mark.django_db(transaction=True)
def test_a_password_reset_email_waits_in_the_queue_until_the_worker_sends_it(database_queue, client, therapist):
    client.post(reverse("core:password_reset"), {"email": therapist.email})
    assert mail.outbox == []
    assert DBTaskResult.objects.count() == 1
    call_command("worker", "--batch", "--no-startup-delay")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [therapist.email]
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
