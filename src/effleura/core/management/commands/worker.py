"""`effleura worker`: runs background tasks (emails now; reminders, PDFs, imports later)
and the periodic duties of core/duties.py.

It is django-tasks-db's database worker under our name. Tasks wait in the database,
so any number of workers on any number of machines can share one PostgreSQL: each
task is claimed with a row lock (SELECT ... FOR UPDATE SKIP LOCKED) and runs once.
Between rounds of queued tasks the worker runs the duties that are due.
`effleura worker --batch` runs every duty once, then what is queued, and exits (for
cron or tests).

While it runs a job it renews the job's lease, so that if this worker dies the duty
"take back the jobs of dead workers" of another (or of this one, restarted) puts the job
back in the queue once the lease expires (core/leases.py). It records a job's result only
if the job is still its own (not taken back meanwhile), in one transaction with the retry
of a failed job that may be retried and the blanking of one that carried a secret.
"""

import logging
import time

from django.core.management.base import CommandError
from django_tasks_db.compat import TaskContext
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorker
from django_tasks_db.management.commands.db_worker import Worker, task_finished, task_started

from effleura.core import leases
from effleura.core.duties import Schedule

logger = logging.getLogger(__name__)


class LeasedWorker(Worker):
    """django-tasks-db's worker, holding the running job's lease and recording its result
    only while the job is still this worker's (core/leases.py): the library's
    ``run_task`` writes the result unconditionally, over a second run's."""

    def run_task(self, db_task_result) -> None:
        claim = leases.Claim.of(db_task_result, self.worker_id)
        heartbeat = leases.Heartbeat(claim)
        heartbeat.start()
        self.running_task = True
        try:
            backend_type = None
            try:
                task = db_task_result.task
                task_result = db_task_result.task_result
                backend_type = type(task.get_backend())
                task_started.send(sender=backend_type, task_result=task_result)
                if task.takes_context:
                    value = task.call(TaskContext(task_result=task_result), *task_result.args, **task_result.kwargs)
                else:
                    value = task.call(*task_result.args, **task_result.kwargs)
                # Inside the error handling, as the library does: a value the database
                # cannot store (not JSON) fails the job.
                recorded = leases.finish(claim, return_value=value)
            except BaseException as error:  # as the library: a task's SystemExit fails it too
                recorded = self._finish_failed(claim, error)
            if recorded and backend_type is not None:
                db_task_result.refresh_from_db()
                task_finished.send(sender=backend_type, task_result=db_task_result.task_result)
        except Exception:  # the take-back reruns a job left RUNNING; keep working
            logger.exception("could not record the result of job %s", db_task_result.id)
        finally:
            heartbeat.stop()
            self.running_task = False
            self._run_tasks += 1

    @staticmethod
    def _finish_failed(claim, error: BaseException) -> bool:
        try:
            return leases.finish(claim, error=error)
        except Exception:
            logger.exception("could not record the failure of job %s", claim.task_id)
            return False


class Command(DatabaseWorker):
    help = "Run Effleura's background tasks from the database queue. Start one or more per machine."

    def handle(
        self,
        *,
        verbosity,
        queue_name,
        interval,
        batch,
        backend_name,
        startup_delay,
        reload,
        max_tasks,
        worker_id,
        exclude_queues,
        **options,
    ):
        self.configure_logging(verbosity)
        if reload:
            self.stderr.write("effleura worker does not reload on code changes: restart it after one.")
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        # The library's worker in batch mode runs every ready task, then returns; this
        # loop runs the due duties between such rounds and sleeps when there was nothing.
        worker = LeasedWorker(
            queue_names=queue_names,
            interval=interval,
            batch=True,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded,
        )
        worker.configure_signals()
        schedule = Schedule()
        while worker.running:
            schedule.run_due()
            worker.run()
            worker.startup_delay = False
            if batch or (max_tasks is not None and worker._run_tasks >= max_tasks):
                return
            if worker.running:
                time.sleep(interval)
