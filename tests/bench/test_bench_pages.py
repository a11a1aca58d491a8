"""The page harness (effleura/bench/pages.py): the pages of issue 13, and one run end to
end on a tiny bench practice (effleura demo --scale) on this test's database, one round."""

import pytest

from effleura.bench import pages, report
from effleura.demo import scale

# The smallest practice whose bench_targets() finds every record (a chart patient with a
# long history needs a few hundred patients' worth of visits).
TINY = 200
ISSUE_13_PAGES = [
    "chart",
    "day-10",
    "day-50",
    "week",
    "today",
    "search-hit",
    "search-miss",
    "patient-list",
    "note-editor",
    "billing-desk",
    "account",
    "audit",
    "access-report",
    "api-search",
    "api-appointments",
]


def test_the_harness_measures_every_page_of_issue_13():
    assert pages.page_names() == ISSUE_13_PAGES
    assert set(report.LIMITS) <= set(ISSUE_13_PAGES)


def test_each_page_is_asked_for_by_a_persona_of_the_bench_practice():
    fields = {"owner", "therapist", "frontdesk", "billing"}
    assert {p.persona for p in pages.PAGES} <= fields
    assert [p.name for p in pages.PAGES if p.api] == ["api-search", "api-appointments"]


@pytest.fixture
def tiny_practice(db):
    scale.build(TINY, out=lambda line: None)


def test_every_page_answers_as_expected_on_a_tiny_bench_practice(bench_urls, tiny_practice):
    run = pages.measure("sqlite-tiny", "sqlite", TINY, rounds=2, warmup=1)
    assert run.failure is None
    assert [(p.page, p.failure) for p in run.pages] == [(name, None) for name in ISSUE_13_PAGES]
    assert all(len(p.times_ms) == 2 and p.queries > 0 for p in run.pages)
    assert len(run.floor_ms) == 2 * len(ISSUE_13_PAGES)  # the floor before every page, every round
    assert run.floor_queries == 2  # the session and the user: the middleware's own
    verdicts = report.evaluate([run])
    assert [v.page for v in verdicts] == ISSUE_13_PAGES
    assert len(report.table([run], verdicts).splitlines()) == 2 + 1 + len(ISSUE_13_PAGES)


def test_a_database_without_the_bench_practice_is_not_measured(bench_urls, db):
    run = pages.measure("sqlite-empty", "sqlite", 1000, rounds=1, warmup=1)
    assert run.failure and run.pages == []
