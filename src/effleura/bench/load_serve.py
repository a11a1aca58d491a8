"""The servers of ``make bench-load`` on the large practice's clock.

The large practice (effleura.demo.scale) lives around a fixed bench day; the load test's
pages (Today, the calendar's day, the bookings ahead) only show that day's visits if the
servers believe it is that day. ``EFFLEURA_LOAD_CLOCK`` (ISO 8601 with offset) pins
"now" there, ticking on from it, with time-machine (decision 0022), in each process:

* gunicorn serves ``effleura.bench.load_serve:application`` (each worker process imports
  it, so each starts its own clock);
* ``python -m effleura.bench.load_serve worker [ARGS]`` runs ``effleura worker``.

Without the variable nothing is pinned: the plain demo lives around the real today.
Only the load test uses this module; production serves ``effleura.wsgi``.
"""

import os
import sys
from datetime import datetime


def start_clock() -> None:
    clock = os.environ.get("EFFLEURA_LOAD_CLOCK", "")
    if clock:
        import time_machine

        time_machine.travel(datetime.fromisoformat(clock), tick=True).start()


start_clock()

if __name__ == "__main__":
    from effleura import cli

    sys.argv = ["effleura", *sys.argv[1:]]
    cli.main()
else:
    from effleura.wsgi import application  # noqa: F401 (what gunicorn serves)
