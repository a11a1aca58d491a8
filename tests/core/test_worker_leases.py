"""A job left RUNNING by a dead worker is run again once its lease expires, at most
EFFLEURA_TASK_MAX_ATTEMPTS times; finished jobs are pruned (core/leases.py)."""

import contextlib
import datetime
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import jobs_for_tests
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from effleura.core import leases
from effleura.core.duties import DUTIES
from effleura.core.models import JobLease, SentEmail
from effleura.core.tasks import send_email

HERE = Path(__file__).resolve().parent
EFFLEURA = str(Path(sys.executable).with_name("effleura"))
RESET_LINK = "http://localhost/password/reset/MQ/secret-token-abc/"


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def claimed(job_id, *, minutes_ago: float, workers=("w1",)) -> DBTaskResult:
    """Mark the job RUNNING as a worker claimed it ``minutes_ago``, as django-tasks-db does."""
    started = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    DBTaskResult.objects.filter(id=job_id).update(status="RUNNING", started_at=started, worker_ids=list(workers))
    return DBTaskResult.objects.get(id=job_id)


def test_the_worker_has_a_duty_that_takes_back_the_jobs_of_dead_workers_and_one_that_prunes():
    names = {item.name for item in DUTIES}
    assert {"take back the jobs of dead workers", "prune finished jobs"} <= names


def test_the_lease_defaults_to_five_minutes_and_three_attempts(settings):
    if "EFFLEURA_TASK_LEASE_SECONDS" not in os.environ:
        assert settings.EFFLEURA_TASK_LEASE_SECONDS == 300
    assert settings.EFFLEURA_TASK_MAX_ATTEMPTS == 3
    assert settings.EFFLEURA_FINISHED_JOB_HOURS == 24


@pytest.mark.django_db
def test_a_running_job_whose_lease_expired_goes_back_in_the_queue(database_queue):
    job = jobs_for_tests.add.enqueue(1, 2)
    claimed(job.id, minutes_ago=6)
    assert leases.take_back_expired_jobs() == {"requeued": 1, "failed": 0}
    row = DBTaskResult.objects.get(id=job.id)
    assert row.status == TaskResultStatus.READY and row.worker_ids == ["w1"]
    assert DBTaskResult.objects.ready().filter(id=job.id).exists()


@pytest.mark.django_db
def test_a_job_whose_lease_is_renewed_is_left_running(database_queue):
    job = jobs_for_tests.add.enqueue(1, 2)
    claimed(job.id, minutes_ago=60)
    JobLease.objects.create(task_id=job.id, worker_id="w1", renewed_at=timezone.now() - datetime.timedelta(seconds=30))
    assert leases.take_back_expired_jobs() == {"requeued": 0, "failed": 0}
    assert DBTaskResult.objects.get(id=job.id).status == TaskResultStatus.RUNNING


@pytest.mark.django_db
def test_a_job_just_started_is_left_running_before_its_first_renewal(database_queue):
    job = jobs_for_tests.add.enqueue(1, 2)
    claimed(job.id, minutes_ago=1)
    assert leases.take_back_expired_jobs()["requeued"] == 0


@pytest.mark.django_db
def test_a_stale_lease_does_not_keep_a_job(database_queue):
    job = jobs_for_tests.add.enqueue(1, 2)
    claimed(job.id, minutes_ago=60)
    JobLease.objects.create(task_id=job.id, worker_id="w1", renewed_at=timezone.now() - datetime.timedelta(minutes=10))
    assert leases.take_back_expired_jobs()["requeued"] == 1
    assert not JobLease.objects.filter(task_id=job.id).exists()


@pytest.mark.django_db
def test_after_the_last_attempt_the_job_is_failed_and_logged_without_its_arguments(database_queue, caplog):
    job = send_email.enqueue(subject="Reset", body=RESET_LINK, to=["someone@example.test"])
    claimed(job.id, minutes_ago=6, workers=("w1", "w2", "w3"))
    with caplog.at_level(logging.INFO, logger="effleura.core.leases"):
        assert leases.take_back_expired_jobs() == {"requeued": 0, "failed": 1}
    row = DBTaskResult.objects.get(id=job.id)
    assert row.status == TaskResultStatus.FAILED and row.exception_class_path == leases.LEASE_EXPIRED
    assert row.finished_at is not None
    assert row.args_kwargs == leases.BLANK_ARGS  # the reset email carries a secret
    assert str(job.id) in caplog.text
    assert RESET_LINK not in caplog.text and "someone@example.test" not in caplog.text


@pytest.mark.django_db
def test_ready_and_finished_jobs_are_never_taken_back(database_queue):
    ready = jobs_for_tests.add.enqueue(1, 2)
    done = jobs_for_tests.add.enqueue(2, 3)
    long_ago = timezone.now() - datetime.timedelta(hours=2)
    DBTaskResult.objects.filter(id=done.id).update(status="SUCCESSFUL", started_at=long_ago)
    assert leases.take_back_expired_jobs() == {"requeued": 0, "failed": 0}
    assert DBTaskResult.objects.get(id=ready.id).status == "READY"
    assert DBTaskResult.objects.get(id=done.id).status == "SUCCESSFUL"


@pytest.mark.django_db(transaction=True)
def test_the_worker_writes_a_lease_while_it_runs_a_job_and_removes_it_after(database_queue, monkeypatch):
    seen = []
    original = leases.Heartbeat.stop

    def stop(self):
        seen.append(list(JobLease.objects.filter(task_id=self.claim.task_id).values_list("worker_id", flat=True)))
        original(self)

    monkeypatch.setattr(leases.Heartbeat, "stop", stop)
    job = jobs_for_tests.add.enqueue(2, 2)
    call_command("worker", "--batch", "--no-startup-delay", "--worker-id", "leaser")
    assert seen == [["leaser"]]
    assert not JobLease.objects.exists()
    assert DBTaskResult.objects.get(id=job.id).return_value == 4


@pytest.mark.django_db
def test_finished_jobs_are_deleted_after_the_retention(database_queue, settings):
    settings.EFFLEURA_FINISHED_JOB_HOURS = 24
    old = jobs_for_tests.add.enqueue(1, 1)
    recent = jobs_for_tests.add.enqueue(1, 2)
    waiting = jobs_for_tests.add.enqueue(1, 3)
    now = timezone.now()
    hours = datetime.timedelta(hours=1)
    DBTaskResult.objects.filter(id=old.id).update(status="FAILED", finished_at=now - 25 * hours)
    DBTaskResult.objects.filter(id=recent.id).update(status="SUCCESSFUL", finished_at=now - 23 * hours)
    DBTaskResult.objects.filter(id=waiting.id).update(enqueued_at=now - datetime.timedelta(days=9))
    assert leases.prune_finished_jobs()["deleted"] == 1
    assert {str(pk) for pk in DBTaskResult.objects.values_list("id", flat=True)} == {recent.id, waiting.id}


@pytest.mark.django_db
def test_a_finished_job_carrying_a_secret_is_blanked_at_once(database_queue):
    job = send_email.enqueue(subject="Reset", body=RESET_LINK, to=["someone@example.test"])
    DBTaskResult.objects.filter(id=job.id).update(status="SUCCESSFUL", finished_at=timezone.now())
    assert leases.prune_finished_jobs()["blanked"] == 1
    assert DBTaskResult.objects.get(id=job.id).args_kwargs == leases.BLANK_ARGS


@pytest.mark.django_db
def test_sent_email_records_are_pruned_only_when_their_job_is_no_longer_waiting(database_queue):
    waiting = send_email.enqueue(subject="s", body="b", to=["a@example.test"])
    long_ago = timezone.now() - datetime.timedelta(days=3)
    SentEmail.objects.create(task_id=str(waiting.id), sent_at=long_ago)
    SentEmail.objects.create(task_id="0f0e5c6a-0000-4000-8000-000000000001", sent_at=long_ago)
    SentEmail.objects.create(task_id="0f0e5c6a-0000-4000-8000-000000000002")
    leases.prune_finished_jobs()
    assert set(SentEmail.objects.values_list("task_id", flat=True)) == {
        str(waiting.id),
        "0f0e5c6a-0000-4000-8000-000000000002",
    }


# Any mix of jobs: the invariant of the take-back ---------------------------------------------

JOBS = st.lists(
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(["READY", "RUNNING", "SUCCESSFUL", "FAILED"]),
            # Not 5: the test's clock and the database's differ by the milliseconds between.
            "started_minutes_ago": st.integers(0, 12).filter(lambda minutes: minutes != 5),
            "renewed_minutes_ago": st.none() | st.integers(0, 12).filter(lambda minutes: minutes != 5),
            "attempts": st.integers(1, 5),
        }
    ),
    max_size=8,
)


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(jobs=JOBS)
@pytest.mark.django_db
def test_only_running_jobs_without_a_live_lease_change_and_each_by_its_attempts(database_queue, settings, jobs):
    """A job changes iff it is RUNNING, started before the lease and has no lease renewed
    within it; it becomes READY while it has attempts left, FAILED after the last one."""
    settings.EFFLEURA_TASK_LEASE_SECONDS = 300
    DBTaskResult.objects.all().delete()
    JobLease.objects.all().delete()
    now = timezone.now()
    minutes = datetime.timedelta(minutes=1)
    expected = {}
    for spec in jobs:
        job = jobs_for_tests.add.enqueue(1, 1)
        workers = [f"w{n}" for n in range(spec["attempts"])]
        started = now - spec["started_minutes_ago"] * minutes
        DBTaskResult.objects.filter(id=job.id).update(status=spec["status"], started_at=started, worker_ids=workers)
        if spec["renewed_minutes_ago"] is not None:
            renewed = now - spec["renewed_minutes_ago"] * minutes
            JobLease.objects.create(task_id=job.id, worker_id="w", renewed_at=renewed)
        # The lease is 5 minutes: renewed at most 5 minutes ago is alive; started more than 5.
        lease_alive = spec["renewed_minutes_ago"] is not None and spec["renewed_minutes_ago"] <= 5
        expired = spec["status"] == "RUNNING" and spec["started_minutes_ago"] > 5 and not lease_alive
        if not expired:
            expected[str(job.id)] = spec["status"]
        else:
            expected[str(job.id)] = "READY" if spec["attempts"] < settings.EFFLEURA_TASK_MAX_ATTEMPTS else "FAILED"
    counts = leases.take_back_expired_jobs()
    found = {str(pk): status for pk, status in DBTaskResult.objects.values_list("id", "status")}
    assert found == expected
    changed = [spec for spec in jobs if spec["status"] == "RUNNING"]
    assert counts["requeued"] + counts["failed"] <= len(changed)
    # A second run finds nothing more to take back: each job is taken back once.
    assert leases.take_back_expired_jobs() == {"requeued": 0, "failed": 0}


@pytest.mark.django_db(transaction=True)
def test_a_live_worker_keeps_renewing_the_lease_of_a_long_job(database_queue, settings):
    settings.EFFLEURA_TASK_LEASE_SECONDS = 1  # renewed every third of a second
    job = jobs_for_tests.add.enqueue(1, 1)
    task_id = job.id
    heartbeat = leases.Heartbeat(leases.Claim.of(claimed(job.id, minutes_ago=0, workers=("alive",)), "alive"))
    heartbeat.start()
    try:
        first = JobLease.objects.get(task_id=task_id).renewed_at
        _wait_for(lambda: JobLease.objects.get(task_id=task_id).renewed_at > first, "a renewal", seconds=30)
    finally:
        heartbeat.stop()
    assert not JobLease.objects.filter(task_id=task_id).exists()


# A worker killed mid-job ----------------------------------------------------------------


def _subprocess_database_url(tmp_path) -> str:
    """A database the `effleura worker` subprocesses share with this test: on SQLite a
    file copy of the (in-memory) test database, on PostgreSQL the test database itself."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        copy = tmp_path / "queue.sqlite3"
        target = sqlite3.connect(copy)
        connection.connection.backup(target)
        target.close()
        return f"sqlite:///{copy}"
    base = urllib.parse.urlsplit(os.environ["EFFLEURA_DATABASE_URL"])
    return urllib.parse.urlunsplit(base._replace(path="/" + connection.settings_dict["NAME"]))


def _job_state(url: str, job_id) -> tuple[str, list]:
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)) as db:
            row = db.execute(
                f"SELECT status, worker_ids FROM {DBTaskResult._meta.db_table} WHERE id = ?",  # noqa: S608
                (uuid.UUID(str(job_id)).hex,),
            ).fetchone()
        return row[0], json.loads(row[1])
    row = DBTaskResult.objects.get(id=job_id)
    return row.status, row.worker_ids


def _wait_for(condition, what: str, seconds: float = 240):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _start_worker(env, worker_id: str, log_file):
    return subprocess.Popen(
        [EFFLEURA, "worker", "--no-startup-delay", "--interval", "0.2", "--worker-id", worker_id],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_is_killed_finishes_on_another_worker_after_the_lease(database_queue, tmp_path):
    flags = tmp_path / "flags"
    flags.mkdir()
    job = jobs_for_tests.wait_for_release.enqueue(str(flags))
    url = _subprocess_database_url(tmp_path)
    env = {
        **os.environ,
        "EFFLEURA_DATABASE_URL": url,
        "EFFLEURA_VAR_DIR": str(tmp_path / "var"),
        "EFFLEURA_TASK_BACKEND": "django_tasks_db.DatabaseBackend",
        "EFFLEURA_TASK_LEASE_SECONDS": "2",
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    log_path = tmp_path / "workers.log"
    with log_path.open("wb") as log_file:
        first = _start_worker(env, "first", log_file)
        try:
            _wait_for(lambda: (flags / "started-1").exists(), "the first worker to start the job")
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
        assert _job_state(url, job.id) == ("RUNNING", ["first"])  # left running by the dead worker
        (flags / "release").touch()
        second = _start_worker(env, "second", log_file)
        try:
            _wait_for(lambda: _job_state(url, job.id)[0] == "SUCCESSFUL", "the second worker to finish the job")
        finally:
            second.send_signal(signal.SIGTERM)
            try:
                second.wait(timeout=30)
            except subprocess.TimeoutExpired:
                second.kill()
    assert _job_state(url, job.id) == ("SUCCESSFUL", ["first", "second"]), log_path.read_text()
    assert (flags / "started-2").exists()
    assert "taken back from a worker that stopped" in log_path.read_text()


@pytest.mark.django_db
def test_a_reset_email_that_waited_longer_than_its_link_lives_is_failed_and_blanked(database_queue, settings, caplog):
    settings.PASSWORD_RESET_TIMEOUT = 3600
    old = send_email.enqueue(subject="Reset", body=RESET_LINK, to=["someone@example.test"])
    fresh = send_email.enqueue(subject="Reset", body=RESET_LINK, to=["other@example.test"])
    other = jobs_for_tests.add.enqueue(1, 2)  # carries no secret: waits as long as it must
    two_hours_ago = timezone.now() - datetime.timedelta(hours=2)
    DBTaskResult.objects.filter(id__in=[old.id, other.id]).update(enqueued_at=two_hours_ago)
    with caplog.at_level(logging.INFO, logger="effleura.core.leases"):
        assert leases.prune_finished_jobs()["expired"] == 1
    row = DBTaskResult.objects.get(id=old.id)
    assert row.status == TaskResultStatus.FAILED and row.exception_class_path == leases.SECRET_EXPIRED
    assert row.args_kwargs == leases.BLANK_ARGS and "reset link" in row.traceback
    assert row.finished_at is not None
    assert DBTaskResult.objects.get(id=fresh.id).status == TaskResultStatus.READY
    assert DBTaskResult.objects.get(id=other.id).status == TaskResultStatus.READY
    assert RESET_LINK not in caplog.text
    # A worker started later does not send it.
    assert not DBTaskResult.objects.ready().filter(id=old.id).exists()
