"""The page benchmarks, measured in this process against one kept data set.

``python -m effleura.bench.pages --dataset pg-1000 --vendor postgresql --n 1000 --out F``
is what bench/__main__.py starts once per data set, with that set's database and var/
in the environment (EFFLEURA_DATABASE_URL, EFFLEURA_VAR_DIR) and
DJANGO_SETTINGS_MODULE=effleura.bench.settings: production's settings (DEBUG off, every
middleware) plus the floor page's URL.

Each page is requested in-process with Django's test Client signed in as the page's
persona (effleura.demo.scale.bench_targets()), with "now" pinned to BENCH_DAY 10:00 in
the bench location's zone: a warm-up, one request under CaptureQueriesContext for the
query count, then ``rounds`` rounds, each requesting every page right after the floor
page with the same client. Every answer must be 200 with the page's expected content; a
page that fails is reported as failed, never as fast. The result is a
report.DatasetRun, written as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from urllib.parse import urlencode

from effleura.bench.report import DatasetRun, PageRun

BENCH_HOUR = time(10)
UUID_LINK = re.compile(r"/patients/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/")


@dataclass(frozen=True)
class Page:
    """A page measured: its name in the table, whose session (or API token) asks for it,
    its address, and what its answer must hold."""

    name: str
    persona: str  # a BenchTargets username field: owner, therapist, frontdesk, billing
    url: Callable  # (targets, days) -> the address
    check: Callable  # (text of the answer, targets) -> what is wrong, or None
    api: bool = False


def _count(text: str, marker: str, at_least: int, what: str) -> str | None:
    found = text.count(marker)
    return None if found >= at_least else f"shows {found} {what}, expected at least {at_least}"


def _holds(*needles: str) -> Callable:
    def check(text: str, targets) -> str | None:
        missing = [n for n in needles if n not in text]
        return f"lacks {missing[0]!r}" if missing else None

    return check


def _calendar(at_least: int) -> Callable:
    return lambda text, targets: _count(text, 'class="cal-appt', at_least, "visits")


def _search_hit(text: str, targets) -> str | None:
    if targets.search_hit.lower() not in text.lower():
        return f"does not show the name searched for ({targets.search_hit!r})"
    return None if UUID_LINK.search(text) else "shows no patient"


def _search_miss(text: str, targets) -> str | None:
    return None if "No patient matches" in text and not UUID_LINK.search(text) else "does not say that nothing matched"


def _patient_list(text: str, targets) -> str | None:
    return None if UUID_LINK.search(text) else "lists no patient"


def _json_items(at_least_count: int) -> Callable:
    def check(text: str, targets) -> str | None:
        try:
            body = json.loads(text)
        except ValueError:
            return "did not answer JSON"
        if not body.get("items"):
            return "answered no items"
        if body.get("count", 0) < at_least_count:
            return f"counted {body.get('count')}, expected at least {at_least_count}"
        return None

    return check


def _api_search_hit(text: str, targets) -> str | None:
    problem = _json_items(1)(text, targets)
    if problem is None and targets.search_hit.lower() not in text.lower():
        return f"found no patient named {targets.search_hit!r}"
    return problem


def _url(name: str, query: dict | None = None, **kwargs) -> Callable:
    def make(targets, days) -> str:
        from django.urls import reverse

        values = {k: getattr(targets, v) for k, v in kwargs.items()}
        address = reverse(name, kwargs=values or None)
        if query:
            params = {k: (v(targets, days) if callable(v) else v) for k, v in query.items()}
            address += "?" + urlencode(params)
        return address

    return make


def _location(targets, days) -> str:
    return str(targets.location)


def _therapist(targets, days) -> str:
    return str(targets.therapist_id)


def _day(which: str) -> Callable:
    return lambda targets, days: days[which].isoformat()


# The pages of issue 13 and their owners (docs/performance.md, CONTRACT): on BENCH_DAY all
# 50 practitioners work at the bench location, 8 visits each; on SMALL_DAY 10 of them.
PAGES = [
    Page(
        "chart",
        "therapist",
        _url("patients:chart", patient_id="chart_patient"),
        lambda t, x: _holds(str(x.chart_patient))(t, x),
    ),
    Page(
        "day-10",
        "frontdesk",
        _url("scheduling:day", {"location": _location, "date": _day("small")}),
        _calendar(80),
    ),
    Page(
        "day-50",
        "frontdesk",
        _url("scheduling:day", {"location": _location, "date": _day("bench")}),
        _calendar(400),
    ),
    Page(
        "week",
        "therapist",
        _url("scheduling:week", {"practitioner": _therapist, "location": _location, "date": _day("bench")}),
        _calendar(16),
    ),
    Page("today", "therapist", _url("scheduling:today"), lambda t, x: _count(t, 'class="today-who"', 8, "visits")),
    Page("search-hit", "frontdesk", _url("patients:search", {"q": lambda t, d: t.search_hit}), _search_hit),
    Page("search-miss", "frontdesk", _url("patients:search", {"q": lambda t, d: t.search_miss}), _search_miss),
    Page("patient-list", "frontdesk", _url("patients:list"), _patient_list),
    Page("note-editor", "therapist", _url("clinical:note_edit", note_id="note"), _holds("Session note,", "Draft")),
    Page("billing-desk", "billing", _url("billing:home"), _holds("<h1>Billing desk</h1>")),
    Page(
        "account",
        "billing",
        _url("billing:account", patient_id="account_patient"),
        lambda t, x: _holds("<h1>Account:", str(x.account_patient))(t, x),
    ),
    Page("audit", "owner", _url("core:audit_list"), lambda t, x: _count(t, "<tr", 10, "audit entries")),
    Page(
        "access-report",
        "owner",
        _url("core:audit_list", {"patient": lambda t, d: str(t.chart_patient)}),
        lambda t, x: _count(t, f"?patient={x.chart_patient}", 5, "entries for the patient"),
    ),
    Page("api-search", "frontdesk", _url("api:patients", {"q": lambda t, d: t.search_hit}), _api_search_hit, api=True),
    Page(
        "api-appointments",
        "frontdesk",
        _url("api:appointments", {"start": _day("bench"), "end": _day("bench"), "location": _location}),
        _json_items(400),
        api=True,
    ),
]


def page_names() -> list[str]:
    return [p.name for p in PAGES]


@dataclass
class _Target:
    page: Page
    url: str
    client: object
    floor_client: object
    run: PageRun


def _get(client, url: str):
    """(status, text) of one request; an exception in the view is an answer too (500)."""
    try:
        response = client.get(url)
    except Exception as exc:
        return 500, f"{type(exc).__name__}: {str(exc)[:200]}"
    return response.status_code, response.content.decode(errors="replace")


def _answer(client, url: str, check: Callable, targets) -> str | None:
    """What is wrong with the page's answer, or None."""
    status, text = _get(client, url)
    if status != 200:
        return f"answered {status}" + (f" ({text})" if status == 500 and text and len(text) < 300 else "")
    return check(text, targets)


def _timed(client, url: str) -> tuple[float, int, str]:
    """Milliseconds for one request. The collector is paused while it is timed (it runs
    between requests), so one page's garbage does not land in another page's time."""
    gc.disable()
    try:
        t0 = clock.perf_counter()
        try:
            response = client.get(url)
            status, text = response.status_code, response.content
        except Exception as exc:
            status, text = 500, type(exc).__name__.encode()
        elapsed = (clock.perf_counter() - t0) * 1000
    finally:
        gc.enable()
    return elapsed, status, text.decode(errors="replace")


def measure(
    dataset: str, vendor: str, n: int, *, rounds: int, warmup: int, only: list[str] | None = None
) -> DatasetRun:
    """Every page (or those named in ``only``) on the database of this process's settings
    (Django set up, with the floor page routed: effleura.bench.settings)."""
    import time_machine
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from effleura.bench import floor
    from effleura.core.actions import do_create_api_token
    from effleura.core.models import ApiToken
    from effleura.demo import scale
    from effleura.scheduling.models import Location

    run = DatasetRun(dataset, vendor, n)
    try:
        targets = scale.bench_targets()
    except scale.ScaleRefused as exc:
        run.failure = str(exc)
        return run
    if targets.n != n:
        run.failure = f"the data set holds the practice of {targets.n} patients, not {n}"
        return run
    tz = Location.objects.get(public_id=targets.location).tz
    days = {"bench": scale.BENCH_DAY, "small": scale.SMALL_DAY}
    users = get_user_model().objects
    pages = [p for p in PAGES if only is None or p.name in only]
    with time_machine.travel(datetime.combine(scale.BENCH_DAY, BENCH_HOUR, tzinfo=tz), tick=False):
        clients = {}
        for persona in {p.persona for p in pages}:
            clients[persona] = Client()
            clients[persona].force_login(users.get(username=getattr(targets, persona)))
        tokens = {}
        for persona in {p.persona for p in pages if p.api}:
            token, raw = do_create_api_token(users.get(username=getattr(targets, persona)), "page benchmarks")
            tokens[persona] = (token, Client(headers={"Authorization": f"Bearer {raw}"}))
        try:
            plan = [
                _Target(
                    p,
                    p.url(targets, days),
                    tokens[p.persona][1] if p.api else clients[p.persona],
                    clients[p.persona],
                    PageRun(p.name),
                )
                for p in pages
            ]
            _run_plan(plan, targets, run, rounds=rounds, warmup=warmup, floor_path=floor.PATH)
            # The query counts, once warm, outside the timed rounds (capturing costs time).
            for target in plan:
                if target.run.failure:
                    continue
                with CaptureQueriesContext(connection) as queries:
                    problem = _answer(target.client, target.url, target.page.check, targets)
                target.run.queries = len(queries)
                target.run.failure = target.run.failure or problem
            with CaptureQueriesContext(connection) as queries:
                _get(plan[0].floor_client, floor.PATH)
            run.floor_queries = len(queries)
            run.pages = [t.run for t in plan]
        finally:
            ApiToken.objects.filter(pk__in=[token.pk for token, _ in tokens.values()]).delete()
            for client in clients.values():
                client.logout()
    return run


def _floor_check(text: str, targets) -> str | None:
    return None if text.startswith("<p>Signed in as ") else "is not the floor page"


def _run_plan(plan: list[_Target], targets, run: DatasetRun, *, rounds: int, warmup: int, floor_path: str) -> None:
    for _ in range(max(1, warmup)):
        for target in plan:
            problem = _answer(target.floor_client, floor_path, _floor_check, targets)
            if problem:
                raise RuntimeError(f"the floor page {problem}")
            if not target.run.failure:
                target.run.failure = _answer(target.client, target.url, target.page.check, targets)
    for _ in range(rounds):
        for target in plan:
            if target.run.failure:
                continue
            elapsed, status, text = _timed(target.floor_client, floor_path)
            if status != 200 or _floor_check(text, targets):
                raise RuntimeError(f"the floor page answered {status}")
            run.floor_ms.append(elapsed)
            elapsed, status, text = _timed(target.client, target.url)
            problem = f"answered {status}" if status != 200 else target.page.check(text, targets)
            if problem:
                target.run.failure = problem
                continue
            target.run.times_ms.append(elapsed)
        gc.collect()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m effleura.bench.pages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--vendor", required=True, choices=["postgresql", "sqlite"])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated page names (default: every page)")
    parser.add_argument("--out", required=True, help="where to write the result (JSON)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "effleura.bench.settings")
    import django

    django.setup()
    only = [name for name in args.only.split(",") if name] or None
    run = measure(args.dataset, args.vendor, args.n, rounds=args.rounds, warmup=args.warmup, only=only)
    with open(args.out, "w") as handle:
        json.dump(run.to_dict(), handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
