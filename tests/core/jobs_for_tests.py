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
