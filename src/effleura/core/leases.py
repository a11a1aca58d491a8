"""Background jobs that survive a dead worker, and finished jobs that do not linger.

django-tasks-db marks a job RUNNING when a worker claims it and SUCCESSFUL or FAILED when
the worker finishes it. A worker killed in between (``kill -9``, a power cut, the OOM
killer) leaves it RUNNING for ever. So:

* **Leases.** While a worker runs a job it renews the job's lease (core.models.JobLease)
  every third of ``EFFLEURA_TASK_LEASE_SECONDS`` from a side thread (``Heartbeat``). The
  duty "take back the jobs of dead workers" finds RUNNING jobs whose lease (or, if none
  was ever written, whose start) is older than the lease time and puts them back in the
  queue (READY), or marks them FAILED once they have been tried
  ``EFFLEURA_TASK_MAX_ATTEMPTS`` times (the attempts are the job's ``worker_ids``: one per
  claim). The rows are locked first (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL; on
  SQLite the IMMEDIATE transaction holds the database's write lock), and each update
  names the status it expects, so two workers running the duty at once take back each
  job once.
* **Retries.** A job whose task is registered with ``retry_failures=True`` (the email
  job) and that fails (a mail server that times out) is queued again after a pause,
  under the same attempt limit.
* **Secrets and pruning.** A job registered with ``carries_secret=True`` (the
  password-reset email: its arguments hold the reset link) has its arguments, return
  value and traceback blanked as soon as it is finished; every finished job is deleted
  after ``EFFLEURA_FINISHED_JOB_HOURS``.

A job taken back runs again from its start, so a task must be safe to repeat: the email
job records that it sent (core.models.SentEmail) and does not send twice (core/tasks.py).

Logs name the job's id, its task and its attempts, never its arguments.
"""

import datetime
import logging
import threading
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from effleura.core.duties import duty
from effleura.core.models import JobLease, SentEmail

log = logging.getLogger(__name__)

BATCH = 100  # jobs taken back or pruned per duty run; the rest on the next run
BLANK_ARGS = {"args": [], "kwargs": {}}
LEASE_EXPIRED = "effleura.core.leases.LeaseExpired"


class LeaseExpired(Exception):
    """The job's worker stopped (its lease expired) too many times; it is not tried again."""


@dataclass(frozen=True)
class JobPolicy:
    retry_failures: bool = False  # a job that raises is queued again, up to the attempt limit
    carries_secret: bool = False  # its arguments are blanked as soon as it is finished


POLICIES: dict[str, JobPolicy] = {}


def register(task, *, retry_failures: bool = False, carries_secret: bool = False) -> None:
    """Declare how the jobs of ``task`` (a django-tasks Task) are retried and pruned."""
    POLICIES[task.module_path] = JobPolicy(retry_failures=retry_failures, carries_secret=carries_secret)


def policy_of(task_path: str) -> JobPolicy:
    return POLICIES.get(task_path, JobPolicy())


def _secret_paths() -> list[str]:
    return [path for path, item in POLICIES.items() if item.carries_secret]


def lease_seconds() -> float:
    return float(settings.EFFLEURA_TASK_LEASE_SECONDS)


def retry_delay(attempts: int) -> datetime.timedelta:
    """The pause before a failed job's next attempt: 1, 2, 4 ... minutes, at most an hour."""
    return datetime.timedelta(seconds=min(3600, 60 * 2 ** max(0, attempts - 1)))


# The worker's side ---------------------------------------------------------------------------


class Heartbeat:
    """Renews the lease of one running job from a side thread until ``stop()``.

    The first renewal is written before the job starts (in the caller's thread); later
    ones every third of the lease. A renewal that fails (the SQLite database busy for
    longer than its timeout) is logged and tried at the next beat: one lost beat does not
    lose the lease, three in a row do."""

    def __init__(self, task_id, worker_id: str) -> None:
        self.task_id = task_id
        self.worker_id = worker_id
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{task_id}", daemon=True)

    def _renew(self) -> None:
        JobLease.objects.update_or_create(
            task_id=self.task_id, defaults={"worker_id": self.worker_id[:64], "renewed_at": timezone.now()}
        )

    def start(self) -> None:
        try:
            self._renew()
        except Exception:  # the job's start stands in for the lease until the next beat
            log.warning("could not write the lease of job %s; trying again", self.task_id, exc_info=True)
        self._thread.start()

    def _beat(self) -> None:
        try:
            while not self._stopped.wait(lease_seconds() / 3):
                try:
                    self._renew()
                except Exception:
                    log.warning("could not renew the lease of job %s; trying again", self.task_id, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        try:
            JobLease.objects.filter(task_id=self.task_id).delete()
        except Exception:  # a left-over lease expires by itself; the job is finished anyway
            log.warning("could not remove the lease of job %s", self.task_id, exc_info=True)


def after_run(task_id) -> None:
    """What happens to a job its worker has just finished: a failed job that may be
    retried goes back in the queue after a pause; a finished job carrying a secret is
    blanked. The row is locked, and changed only if it is still as the worker left it."""
    with transaction.atomic():
        job = DBTaskResult.objects.select_for_update().filter(id=task_id).first()
        if job is None:
            return
        rule = policy_of(job.task_path)
        attempts = len(job.worker_ids)
        if (
            job.status == TaskResultStatus.FAILED
            and rule.retry_failures
            and attempts < settings.EFFLEURA_TASK_MAX_ATTEMPTS
        ):
            job.status = TaskResultStatus.READY
            job.run_after = timezone.now() + retry_delay(attempts)
            job.finished_at = None
            job.save(update_fields=["status", "run_after", "finished_at"])
            log.warning(
                "job %s (%s) failed on attempt %d of %d; queued again",
                job.id,
                job.task_path,
                attempts,
                settings.EFFLEURA_TASK_MAX_ATTEMPTS,
            )
            return
        if job.status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED) and rule.carries_secret:
            _blank(job)


def _blank(job: DBTaskResult) -> None:
    job.args_kwargs = BLANK_ARGS
    job.return_value = None
    job.traceback = ""
    job.save(update_fields=["args_kwargs", "return_value", "traceback"])


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


# The duties ----------------------------------------------------------------------------------


def take_back_expired_jobs(now: datetime.datetime | None = None) -> dict[str, int]:
    """Put the RUNNING jobs whose lease expired back in the queue, or fail those tried
    EFFLEURA_TASK_MAX_ATTEMPTS times already. Returns how many of each."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=lease_seconds())
    counts = {"requeued": 0, "failed": 0}
    with transaction.atomic():
        alive = JobLease.objects.filter(renewed_at__gte=cutoff).values("task_id")
        expired = list(
            DBTaskResult.objects.select_for_update(skip_locked=True)
            .filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
            .exclude(id__in=alive)
            .order_by("started_at")[:BATCH]
        )
        for job in expired:
            attempts = len(job.worker_ids)
            rows = DBTaskResult.objects.filter(id=job.id, status=TaskResultStatus.RUNNING)
            if attempts >= settings.EFFLEURA_TASK_MAX_ATTEMPTS:
                blank = BLANK_ARGS if policy_of(job.task_path).carries_secret else job.args_kwargs
                rows.update(
                    status=TaskResultStatus.FAILED,
                    finished_at=now,
                    exception_class_path=LEASE_EXPIRED,
                    traceback=f"Its worker stopped while running it {attempts} times; not tried again.",
                    args_kwargs=blank,
                )
                counts["failed"] += 1
                log.error("job %s (%s) failed: its worker stopped %d times", job.id, job.task_path, attempts)
            else:
                rows.update(status=TaskResultStatus.READY)
                counts["requeued"] += 1
                log.warning(
                    "job %s (%s) taken back from a worker that stopped (attempt %d of %d)",
                    job.id,
                    job.task_path,
                    attempts,
                    settings.EFFLEURA_TASK_MAX_ATTEMPTS,
                )
        JobLease.objects.filter(task_id__in=[job.id for job in expired]).delete()
    return counts


def prune_finished_jobs(now: datetime.datetime | None = None) -> dict[str, int]:
    """Blank finished jobs that carry a secret (a worker that died between finishing a
    job and blanking it leaves one); delete finished jobs older than
    EFFLEURA_FINISHED_JOB_HOURS, and the sent-email records of jobs no longer waiting."""
    now = now or timezone.now()
    finished = (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)
    cutoff = now - datetime.timedelta(hours=settings.EFFLEURA_FINISHED_JOB_HOURS)
    with transaction.atomic():
        blanked = (
            DBTaskResult.objects.filter(status__in=finished, task_path__in=_secret_paths())
            .exclude(args_kwargs=BLANK_ARGS)
            .update(args_kwargs=BLANK_ARGS, return_value=None, traceback="")
        )
        old = list(
            DBTaskResult.objects.filter(status__in=finished, finished_at__lt=cutoff).values_list("id", flat=True)[
                : BATCH * 10
            ]
        )
        deleted = DBTaskResult.objects.filter(id__in=old, status__in=finished).delete()[0]
        stale = list(SentEmail.objects.filter(sent_at__lt=cutoff).values_list("task_id", flat=True)[: BATCH * 10])
        waiting = {
            str(pk)
            for pk in DBTaskResult.objects.filter(
                id__in=[_as_uuid(pk) for pk in stale if _as_uuid(pk)],
                status__in=(TaskResultStatus.READY, TaskResultStatus.RUNNING),
            ).values_list("id", flat=True)
        }
        SentEmail.objects.filter(task_id__in=[pk for pk in stale if pk not in waiting]).delete()
    return {"blanked": blanked, "deleted": deleted}


# Every worker runs both between rounds of jobs; with the default lease of 5 minutes the
# take-back runs every minute (a short lease, as in the tests, every second).
@duty("take back the jobs of dead workers", every=max(1.0, min(60.0, settings.EFFLEURA_TASK_LEASE_SECONDS / 4)))
def take_back_jobs_of_dead_workers() -> None:
    take_back_expired_jobs()


@duty("prune finished jobs", every=60)
def prune_jobs() -> None:
    prune_finished_jobs()
