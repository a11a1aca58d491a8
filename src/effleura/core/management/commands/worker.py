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
back in the queue once the lease expires (core/leases.py). After a job it retries a
failed one that may be retried, and blanks the arguments of one that carried a secret.
"""

import logging
import time

from django.core.management.base import CommandError
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorker
from django_tasks_db.management.commands.db_worker import Worker

from effleura.core import leases
from effleura.core.duties import Schedule

logger = logging.getLogger(__name__)


class LeasedWorker(Worker):
    """django-tasks-db's worker, renewing the running job's lease (core/leases.py)."""

    def run_task(self, db_task_result) -> None:
        heartbeat = leases.Heartbeat(db_task_result.id, self.worker_id)
        heartbeat.start()
        try:
            super().run_task(db_task_result)
        finally:
            heartbeat.stop()
        try:
            leases.after_run(db_task_result.id)
        except Exception:  # the "prune finished jobs" duty blanks it later; keep working
            logger.exception("could not retry or blank job %s after it ran", db_task_result.id)


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
