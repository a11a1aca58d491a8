"""A lease expires while its worker still lives (a paused process or machine, a SQLite
write lock held longer than the lease, a clock that runs behind): the job is taken back
and run by another worker. The first worker, when it comes back, must not remove or
renew the new owner's lease nor overwrite its result, and the email is sent once
(core/leases.py, core/tasks.py)."""

import datetime
import logging

import jobs_for_tests
import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.compat import TaskContext
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from effleura.core import leases
from effleura.core.models import JobLease, SentEmail
from effleura.core.tasks import EmailInDoubt, send_email


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def claim(job_id, worker_id: str) -> leases.Claim:
    """``worker_id`` claims the job as django-tasks-db's worker does, and writes its lease."""
    job = DBTaskResult.objects.get(id=job_id)
    job.claim(worker_id)
    held = leases.Claim.of(job, worker_id)
    assert leases.hold(held)
    return held


def expire(job_id) -> None:
    """The job's lease (and start) are ten minutes old: its worker seems dead."""
    ten_minutes_ago = timezone.now() - datetime.timedelta(minutes=10)
    JobLease.objects.filter(task_id=job_id).update(renewed_at=ten_minutes_ago)
    DBTaskResult.objects.filter(id=job_id).update(started_at=ten_minutes_ago)


@pytest.fixture
def taken_back(database_queue):
    """A job claimed by "first", taken back after its lease expired and claimed by "second"."""
    job = jobs_for_tests.add.enqueue(1, 2)
    first = claim(job.id, "first")
    expire(job.id)
    assert leases.take_back_expired_jobs()["requeued"] == 1
    second = claim(job.id, "second")
    return job, first, second


@pytest.mark.django_db
def test_a_worker_back_after_its_job_was_taken_back_leaves_the_new_owners_lease(taken_back):
    job, first, second = taken_back
    assert leases.renew(first) is False
    leases.release(first)
    lease = JobLease.objects.get(task_id=job.id)
    assert (lease.worker_id, lease.attempt) == ("second", 2)
    assert leases.renew(second) is True


@pytest.mark.django_db
def test_a_worker_back_after_its_job_was_taken_back_does_not_record_its_result(taken_back, caplog):
    job, first, second = taken_back
    with caplog.at_level(logging.WARNING, logger="effleura.core.leases"):
        assert leases.finish(first, return_value=3) is False
    row = DBTaskResult.objects.get(id=job.id)
    assert row.status == TaskResultStatus.RUNNING and row.return_value is None
    assert "taken back from worker first" in caplog.text
    assert leases.finish(second, return_value=3) is True
    assert DBTaskResult.objects.get(id=job.id).status == TaskResultStatus.SUCCESSFUL


@pytest.mark.django_db
def test_the_same_worker_id_claiming_again_is_a_new_claim(database_queue):
    job = jobs_for_tests.add.enqueue(1, 2)
    earlier = claim(job.id, "same")
    expire(job.id)
    leases.take_back_expired_jobs()
    later = claim(job.id, "same")
    assert leases.finish(earlier, return_value=3) is False
    leases.release(earlier)
    assert JobLease.objects.filter(task_id=job.id, attempt=later.attempt).exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_drops_its_result_and_keeps_the_lease_of_the_job_taken_back_while_it_ran(database_queue, caplog):
    job = jobs_for_tests.taken_back_while_running.enqueue()
    with caplog.at_level(logging.WARNING, logger="effleura.core.leases"):
        call_command("worker", "--batch", "--no-startup-delay", "--worker-id", "first")
    row = DBTaskResult.objects.get(id=job.id)
    # Still the second worker's: running, no result from the first run.
    assert row.status == TaskResultStatus.RUNNING and row.worker_ids == ["first", "second"]
    assert row.return_value is None and row.finished_at is None
    lease = JobLease.objects.get(task_id=job.id)
    assert (lease.worker_id, lease.attempt) == ("second", 2)
    assert "this run's result is dropped" in caplog.text


@pytest.mark.django_db
def test_a_worker_whose_clock_runs_behind_keeps_its_lease(database_queue, monkeypatch):
    job = jobs_for_tests.add.enqueue(1, 2)
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() - datetime.timedelta(minutes=10))
    held = claim(job.id, "behind")  # the library's claim writes started_at on this clock
    assert leases.renew(held)
    monkeypatch.setattr(timezone, "now", real_now)
    assert leases.take_back_expired_jobs() == {"requeued": 0, "failed": 0}


@pytest.mark.django_db
def test_a_duty_whose_clock_runs_ahead_does_not_take_back_a_live_lease(database_queue, monkeypatch):
    job = jobs_for_tests.add.enqueue(1, 2)
    claim(job.id, "alive")
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + datetime.timedelta(minutes=10))
    assert leases.take_back_expired_jobs() == {"requeued": 0, "failed": 0}
    assert DBTaskResult.objects.get(id=job.id).status == TaskResultStatus.RUNNING


# The email is sent once ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_second_run_started_while_the_first_is_sending_does_not_send(database_queue, monkeypatch):
    job = send_email.enqueue(subject="Hello", body="A test", to=["someone@example.test"])
    original = locmem.EmailBackend.send_messages
    second_run = []

    def send_messages(self, messages):
        if not second_run:  # the first run is sending: the job is taken back and run again
            with pytest.raises(EmailInDoubt) as refused:
                send_email.call(TaskContext(task_result=job), subject="Hello", body="A test", to=["x@example.test"])
            second_run.append(refused.value)
        return original(self, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", send_messages)
    assert send_email.call(TaskContext(task_result=job), subject="Hello", body="A test", to=["x@example.test"]) == (
        "sent"
    )
    assert len(mail.outbox) == 1 and len(second_run) == 1
    assert SentEmail.objects.get(task_id=str(job.id)).state == SentEmail.SENT
    # A run after the first finished finds it sent.
    assert send_email.call(TaskContext(task_result=job), subject="Hello", body="A test", to=["x@example.test"]) == (
        "already sent"
    )
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_an_email_job_whose_earlier_run_stopped_while_sending_fails_without_sending_or_retrying(database_queue):
    job = send_email.enqueue(subject="Reset", body="http://localhost/reset/secret/", to=["someone@example.test"])
    SentEmail.objects.create(task_id=str(job.id), state=SentEmail.SENDING)  # its worker died sending
    call_command("worker", "--batch", "--no-startup-delay", "--worker-id", "mailer")
    assert mail.outbox == []
    row = DBTaskResult.objects.get(id=job.id)
    assert row.status == TaskResultStatus.FAILED and row.exception_class_path.endswith("EmailInDoubt")
    assert row.args_kwargs == leases.BLANK_ARGS


# Any sequence of claims, pauses, take-backs, renewals and ends ------------------------------

WORKERS = st.sampled_from(["w1", "w2", "w3"])


class OneJob(RuleBasedStateMachine):
    """Workers claim one job, pause past their lease, come back, renew, finish and stop,
    while the duty takes back expired jobs. Whatever the order: the only lease is the
    current claim's, only the current claim renews it or records a result."""

    def __init__(self):
        super().__init__()
        DBTaskResult.objects.all().delete()
        JobLease.objects.all().delete()
        self.job_id = jobs_for_tests.add.enqueue(1, 1).id
        self.claims: list[leases.Claim] = []  # every claim made, stale ones too
        self.owner: leases.Claim | None = None  # the claim the job runs under, if RUNNING

    def row(self) -> DBTaskResult:
        return DBTaskResult.objects.get(id=self.job_id)

    def pick(self, index: int) -> leases.Claim | None:
        return self.claims[index % len(self.claims)] if self.claims else None

    @rule(worker=WORKERS)
    def claim(self, worker):
        if self.row().status == TaskResultStatus.READY:
            self.owner = claim(self.job_id, worker)
            self.claims.append(self.owner)

    @rule()
    def pause_past_the_lease(self):
        expire(self.job_id)

    @rule()
    def take_back(self):
        leases.take_back_expired_jobs()
        if self.row().status != TaskResultStatus.RUNNING:
            self.owner = None

    @rule(index=st.integers(0, 9))
    def renew(self, index):
        held = self.pick(index)
        if held is not None:
            assert leases.renew(held) == (held == self.owner)

    @rule(index=st.integers(0, 9))
    def finish_and_stop(self, index):
        held = self.pick(index)
        if held is None:
            return
        recorded = leases.finish(held, return_value=2)
        assert recorded == (held == self.owner)
        if recorded:
            self.owner = None
        leases.release(held)

    @invariant()
    def the_only_lease_is_the_current_claims(self):
        for lease in JobLease.objects.filter(task_id=self.job_id):
            assert self.owner is not None
            assert (lease.worker_id, lease.attempt) == (self.owner.worker_id[:64], self.owner.attempt)

    @invariant()
    def a_running_job_runs_under_its_current_claim(self):
        row = self.row()
        if row.status == TaskResultStatus.RUNNING:
            assert self.owner is not None and self.owner.holds(row)


@pytest.mark.django_db
def test_any_order_of_claims_pauses_and_take_backs_keeps_one_owner(database_queue):
    run_state_machine_as_test(
        OneJob,
        settings=hypothesis_settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        ),
    )
