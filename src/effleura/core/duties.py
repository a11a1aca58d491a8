"""Periodic duties of `effleura worker`: jobs that are not queued by anyone but must
happen every so often (sealing the audit trail, taking back the jobs of a dead worker,
pruning finished jobs).

Register one with the decorator, in a module core/apps.py imports:

    @duty("seal the audit trail", every=60)
    def seal_audit() -> None: ...

Every worker process runs every duty when it is due (after ``every`` seconds, and once
at start), between jobs, so several workers on several machines each run it: a duty
must therefore be safe to run concurrently and repeatedly (take a row lock, or do work
that is idempotent). A duty that fails is logged and tried again when next due; it
never stops the worker. ``effleura worker --batch`` runs every duty once, then the
queued jobs.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Duty:
    name: str
    every: float  # seconds
    run: Callable[[], None]


DUTIES: list[Duty] = []


def duty(name: str, *, every: float):
    def register(function: Callable[[], None]) -> Callable[[], None]:
        DUTIES.append(Duty(name, every, function))
        return function

    return register


class Schedule:
    """When each duty last ran in this process (time.monotonic)."""

    def __init__(self) -> None:
        self.last_run: dict[str, float] = {}

    def run_due(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for item in DUTIES:
            last = self.last_run.get(item.name)
            if last is not None and now - last < item.every:
                continue
            self.last_run[item.name] = now
            try:
                item.run()
            except Exception:
                # No record content is logged: the duty's name and the traceback only.
                log.exception("worker duty %r failed; it runs again when next due", item.name)
