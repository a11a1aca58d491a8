"""A background task for the worker tests (tests/core/test_worker_leases.py): it blocks
until a flag file exists, so a test can kill the worker running it. Imported by the test
process and, through PYTHONPATH, by the `effleura worker` subprocesses it starts."""

import time
from pathlib import Path

from django_tasks import task


@task()
def wait_for_release(folder: str) -> int:
    """Write started-<n> in ``folder`` (n: this run's number), wait for ``folder``/release,
    answer n."""
    flags = Path(folder)
    run = len(list(flags.glob("started-*"))) + 1
    (flags / f"started-{run}").touch()
    while not (flags / "release").exists():
        time.sleep(0.1)
    return run


@task()
def add(a: int, b: int) -> int:
    return a + b


@task(takes_context=True)
def taken_back_while_running(context) -> str:
    """While this run goes, its job is taken back (its worker seemed dead) and claimed
    by worker "second", which writes its lease: as a paused worker finds on waking."""
    from django.db.models.functions import Now
    from django_tasks_db.models import DBTaskResult

    from effleura.core.models import JobLease

    job = DBTaskResult.objects.get(id=context.task_result.id)
    job.claim("second")
    JobLease.objects.update_or_create(
        task_id=job.id, defaults={"worker_id": "second", "attempt": len(job.worker_ids), "renewed_at": Now()}
    )
    return "first run's result"
