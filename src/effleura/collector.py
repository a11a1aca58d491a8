"""The garbage collector of a serving process (docs/performance.md, section load).

A page builds thousands of short-lived objects (a busy calendar day about 13,000 model
instances); with CPython's default thresholds (700, 10, 10) the collector runs dozens of
times a request and, every few requests, walks the whole heap: Django, the apps and
their templates, about 250,000 objects that live as long as the process. Measured on the
large practice's calendar, chart, week, Today and search pages, that is about a tenth of
a request's CPU time.

``settle()``, called by the WSGI module once the application is loaded, does what
long-running CPython servers commonly do:

* imports every view (the URLconf) so that what lives for the whole process exists now;
* ``gc.freeze()``: those objects move to a permanent generation that no collection walks
  (gunicorn forks its workers from the arbiter only with ``--preload``; without it each
  worker loads and freezes its own, which is what matters: the walks, not sharing pages);
* raises the youngest generation's threshold to ``YOUNG``, so a request's garbage is
  collected a few times a request, not dozens, with the older thresholds unchanged.

Reference cycles are still collected; only how often changes. Nothing here changes what
a page answers; the tests (tests/core/test_collector.py) check the settings it leaves.
"""

import gc

YOUNG = 50_000  # allocations between collections of the youngest generation (CPython: 700)


def settle() -> None:
    """Freeze what the loaded application holds and space the young collections out."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every view module now, not at the first request)
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
