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

A worker is not always dead when its lease expires: a paused process or machine, a
SQLite write lock held longer than the lease, a clock that runs behind. So a lease
belongs to one claim (the worker and the attempt, ``Claim``): a worker renews and removes
only its own; its result is recorded (``finish``) only if the job is still RUNNING under
its claim, else dropped and logged; and every time is the database's (``Now()``), so the
machines' clocks do not matter. The library's own unconditional set_successful and
set_failed are not used (core/management/commands/worker.py).

A job taken back runs again from its start, so a task must be safe to repeat, even while
the first run is still going: the email job claims its SentEmail row before it sends and
a second run that finds it does not send (core/tasks.py).

Logs name the job's id, its task and its attempts, never its arguments.
"""

import datetime
import logging
import threading
import uuid
from dataclasses import dataclass
from traceback import format_exception

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper
from django.db.models.functions import Now
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import retry

from effleura.core.duties import duty
from effleura.core.models import JobLease, SentEmail

log = logging.getLogger(__name__)

BATCH = 100  # jobs taken back or pruned per duty run; the rest on the next run
BLANK_ARGS = {"args": [], "kwargs": {}}
LEASE_EXPIRED = "effleura.core.leases.LeaseExpired"
SECRET_EXPIRED = "effleura.core.leases.SecretExpired"  # noqa: S105 (an exception name)


class LeaseExpired(Exception):
    """The job's worker stopped (its lease expired) too many times; it is not tried again."""


class SecretExpired(Exception):
    """The job carried a secret (a reset link) and waited in the queue longer than the
    secret is good for (PASSWORD_RESET_TIMEOUT): it is blanked and not run."""


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


def _ago(seconds: float) -> ExpressionWrapper:
    """The database's time ``seconds`` ago: every lease and cutoff is measured on the
    database's clock, so the machines' clocks (and their skew) do not matter."""
    return ExpressionWrapper(Now() - datetime.timedelta(seconds=seconds), output_field=DateTimeField())


@dataclass(frozen=True)
class Claim:
    """One claim of a job by a worker: the job, the worker and the attempt (the claim's
    place in the job's ``worker_ids``). The worker owns the job while the job is RUNNING
    and its ``worker_ids`` still end with this claim; once taken back (READY, or claimed
    again by another worker) it no longer does, whatever the worker thinks."""

    task_id: uuid.UUID | str
    worker_id: str
    attempt: int

    @classmethod
    def of(cls, job: DBTaskResult, worker_id: str) -> "Claim":
        return cls(job.id, worker_id, len(job.worker_ids))

    def holds(self, job: DBTaskResult | None) -> bool:
        return (
            job is not None
            and job.status == TaskResultStatus.RUNNING
            and len(job.worker_ids) == self.attempt
            and job.worker_ids[-1] == self.worker_id
        )

    def lease(self):
        return JobLease.objects.filter(task_id=self.task_id, worker_id=self.worker_id[:64], attempt=self.attempt)


def _locked_job(task_id) -> DBTaskResult | None:
    return DBTaskResult.objects.select_for_update().filter(id=task_id).first()


def hold(claim: Claim) -> bool:
    """Write the claim's lease (and restart the job's clock on the database's time), if
    the job is still the claim's. A lease left by an earlier claim is replaced."""
    with transaction.atomic():
        if not claim.holds(_locked_job(claim.task_id)):
            return False
        DBTaskResult.objects.filter(id=claim.task_id).update(started_at=Now())
        JobLease.objects.filter(task_id=claim.task_id).delete()
        JobLease.objects.create(
            task_id=claim.task_id, worker_id=claim.worker_id[:64], attempt=claim.attempt, renewed_at=Now()
        )
    return True


def renew(claim: Claim) -> bool:
    """Renew the claim's own lease; False once the job was taken back from it."""
    if claim.lease().update(renewed_at=Now()):
        return True
    return hold(claim)  # its first write failed, or the job is another worker's now


def release(claim: Claim) -> None:
    """Remove the claim's own lease (never another worker's)."""
    claim.lease().delete()


class DoNotRetry(Exception):
    """Raised by a task whose failure must not be retried, even under retry_failures."""


@retry()
def finish(claim: Claim, *, return_value=None, error: BaseException | None = None) -> bool:
    """Record the run's result, if the job is still the claim's: SUCCESSFUL with its
    return value, or FAILED with ``error``; a failure that may be retried goes back in
    the queue after a pause; a job carrying a secret is blanked. All in one transaction,
    the row locked. A job taken back meanwhile (its worker was paused longer than the
    lease) is left to its new owner: this run's result is dropped, and logged."""
    with transaction.atomic():
        job = _locked_job(claim.task_id)
        if not claim.holds(job):
            log.warning(
                "job %s was taken back from worker %s (attempt %d) while it ran; this run's result is dropped",
                claim.task_id,
                claim.worker_id,
                claim.attempt,
            )
            return False
        rule = policy_of(job.task_path)
        fields = ["status", "finished_at", "return_value", "exception_class_path", "traceback"]
        job.finished_at = Now()
        if error is None:
            job.status, job.return_value = TaskResultStatus.SUCCESSFUL, return_value
            job.exception_class_path, job.traceback = "", ""
        else:
            job.status, job.return_value = TaskResultStatus.FAILED, None
            job.exception_class_path = f"{type(error).__module__}.{type(error).__qualname__}"
            job.traceback = "".join(format_exception(error))
        attempts = len(job.worker_ids)
        if (
            error is not None
            and rule.retry_failures
            and not isinstance(error, DoNotRetry)
            and attempts < settings.EFFLEURA_TASK_MAX_ATTEMPTS
        ):
            job.status, job.finished_at = TaskResultStatus.READY, None
            job.run_after = ExpressionWrapper(Now() + retry_delay(attempts), output_field=DateTimeField())
            fields.append("run_after")
            log.warning(
                "job %s (%s) failed on attempt %d of %d; queued again",
                job.id,
                job.task_path,
                attempts,
                settings.EFFLEURA_TASK_MAX_ATTEMPTS,
            )
        elif rule.carries_secret:
            job.args_kwargs, job.return_value, job.traceback = BLANK_ARGS, None, ""
            fields.append("args_kwargs")
        job.save(update_fields=fields)
    return True


class Heartbeat:
    """Holds the lease of one claim from a side thread until ``stop()``.

    The lease is written before the job starts (in the caller's thread); renewed every
    third of the lease. A renewal that fails (the SQLite database busy for longer than
    its timeout) is logged and tried at the next beat: one lost beat does not lose the
    lease, three in a row do. Once the job was taken back from this worker, the beats
    stop (and the worker's result will be dropped: ``finish``)."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{claim.task_id}", daemon=True)

    def start(self) -> None:
        try:
            hold(self.claim)
        except Exception:  # the job's start stands in for the lease until the next beat
            log.warning("could not write the lease of job %s; trying again", self.claim.task_id, exc_info=True)
        self._thread.start()

    def _beat(self) -> None:
        try:
            while not self._stopped.wait(lease_seconds() / 3):
                try:
                    if not renew(self.claim):
                        log.warning(
                            "job %s was taken back from worker %s (attempt %d): its lease had expired",
                            self.claim.task_id,
                            self.claim.worker_id,
                            self.claim.attempt,
                        )
                        return
                except Exception:
                    log.warning("could not renew the lease of job %s; trying again", self.claim.task_id, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        try:
            release(self.claim)
        except Exception:  # a left-over lease expires by itself; the job is finished anyway
            log.warning("could not remove the lease of job %s", self.claim.task_id, exc_info=True)


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


# The duties ----------------------------------------------------------------------------------


def take_back_expired_jobs() -> dict[str, int]:
    """Put the RUNNING jobs whose lease expired back in the queue, or fail those tried
    EFFLEURA_TASK_MAX_ATTEMPTS times already. Returns how many of each. "Expired" is
    measured on the database's clock, as the leases are written."""
    cutoff = _ago(lease_seconds())
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
                    finished_at=Now(),
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


def prune_finished_jobs() -> dict[str, int]:
    """Fail and blank the queued jobs carrying a secret that waited longer than it is
    good for (PASSWORD_RESET_TIMEOUT: no worker was running, so the reset link would no
    longer work and must not stay in the task table); blank finished jobs that carry a
    secret (a worker that died between finishing a job and blanking it leaves one);
    delete finished jobs older than EFFLEURA_FINISHED_JOB_HOURS, and the sent-email
    records of jobs no longer waiting. Times are the database's."""
    finished = (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)
    cutoff = _ago(settings.EFFLEURA_FINISHED_JOB_HOURS * 3600)
    with transaction.atomic():
        expired = DBTaskResult.objects.filter(
            status=TaskResultStatus.READY,
            task_path__in=_secret_paths(),
            enqueued_at__lt=_ago(settings.PASSWORD_RESET_TIMEOUT),
        ).update(
            status=TaskResultStatus.FAILED,
            finished_at=Now(),
            exception_class_path=SECRET_EXPIRED,
            traceback="It waited in the queue longer than its reset link is good for; not sent.",
            args_kwargs=BLANK_ARGS,
            return_value=None,
        )
        if expired:
            log.warning("%d queued job(s) carrying a reset link expired before a worker ran them; failed", expired)
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
    return {"expired": expired, "blanked": blanked, "deleted": deleted}


# Every worker runs both between rounds of jobs; with the default lease of 5 minutes the
# take-back runs every minute (a short lease, as in the tests, every second).
@duty("take back the jobs of dead workers", every=max(1.0, min(60.0, settings.EFFLEURA_TASK_LEASE_SECONDS / 4)))
def take_back_jobs_of_dead_workers() -> None:
    take_back_expired_jobs()


@duty("prune finished jobs", every=60)
def prune_jobs() -> None:
    prune_finished_jobs()
