"""The page benchmarks' arithmetic: statistics, ratios, targets, flatness, query counts and
the table (effleura/bench/report.py). Plain values, no database, no timing."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from effleura.bench import report
from effleura.bench.report import DatasetRun, PageRun


@pytest.mark.parametrize(
    ("times", "median", "p95"),
    [
        ([5.0], 5.0, 5.0),
        ([1.0, 3.0], 2.0, 3.0),
        ([3.0, 1.0, 2.0], 2.0, 3.0),
        ([float(k) for k in range(1, 21)], 10.5, 19.0),  # 19th of 20 is the nearest rank
        ([float(k) for k in range(1, 101)], 50.5, 95.0),
        ([1.0] * 19 + [100.0], 1.0, 1.0),  # one slow request in twenty is not the p95
        ([1.0] * 18 + [100.0, 100.0], 1.0, 100.0),
    ],
)
def test_median_and_p95_are_of_the_times_measured(times, median, p95):
    assert report.median(times) == median
    assert report.p95(times) == p95


def test_no_times_give_no_statistics():
    assert math.isnan(report.median([]))
    assert math.isnan(report.p95([]))


@given(st.lists(st.floats(min_value=0.01, max_value=1e4), min_size=1, max_size=60))
def test_the_p95_is_a_measured_time_no_lower_than_the_median(times):
    assert report.p95(times) in times
    assert report.p95(times) >= report.median(times)


@pytest.mark.parametrize(
    ("page_ms", "floor_ms", "expected"),
    [(10.0, 1.0, 10.0), (1.3, 1.3, 1.0), (2.6, 1.3, 2.0), (5.0, 0.0, math.nan), (math.nan, 1.0, math.nan)],
)
def test_the_ratio_is_the_page_median_over_the_floor_median(page_ms, floor_ms, expected):
    got = report.ratio(page_ms, floor_ms)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("page", "limit"),
    [
        ("chart", 10),
        ("search-miss", 10),
        ("api-search", 10),
        ("day-10", 20),
        ("week", 20),
        ("today", 20),
        ("day-50", 25),
    ],
)
def test_each_page_has_the_limit_of_issue_13(page, limit):
    assert report.limit_for(page) == limit


def run(dataset, n, floor, pages, vendor="postgresql", floor_queries=2):
    """A DatasetRun whose floor and pages took these (median) times: {name: (ms, queries)}."""
    return DatasetRun(
        dataset,
        vendor,
        n,
        floor_ms=[floor] * 5,
        floor_queries=floor_queries,
        pages=[PageRun(name, [ms] * 5, queries) for name, (ms, queries) in pages.items()],
    )


def verdicts(*runs):
    return {v.page: v for v in report.evaluate(list(runs))}


def test_a_page_within_its_limit_flat_and_with_equal_queries_meets_its_targets():
    got = verdicts(
        run("pg-1000", 1000, 1.0, {"chart": (9.0, 14), "day-50": (24.0, 20)}),
        run("pg-100000", 100000, 1.0, {"chart": (10.0, 14), "day-50": (25.0, 20)}),
    )
    assert got["chart"].met and got["day-50"].met
    assert got["chart"].unchecked == ()


@pytest.mark.parametrize(
    ("page", "large_ms", "met"),
    [
        ("chart", 10.0, True),
        ("chart", 10.1, False),
        ("week", 20.0, True),
        ("week", 20.5, False),
        ("day-50", 24.9, True),
    ],
)
def test_the_ratio_target_is_checked_on_the_largest_postgresql_set(page, large_ms, met):
    got = verdicts(
        run("pg-1000", 1000, 1.0, {page: (large_ms / 1.1, 5)}),
        run("pg-100000", 100000, 1.0, {page: (large_ms, 5)}),
    )
    assert got[page].met is met
    if not met:
        assert "the floor at pg-100000" in got[page].problems[0]


def test_the_ratio_counts_against_the_floor_of_the_same_run():
    # 30 ms is 10x a 3 ms floor: met, though it would be 30x a 1 ms floor elsewhere.
    got = verdicts(run("pg-1000", 1000, 1.0, {"chart": (9.0, 5)}), run("pg-100000", 100000, 3.0, {"chart": (30.0, 5)}))
    assert "floor" not in " ".join(got["chart"].problems)


@pytest.mark.parametrize(("small_ms", "large_ms", "flat"), [(4.0, 5.0, True), (4.0, 5.01, False), (2.0, 8.0, False)])
def test_a_page_is_flat_when_the_large_set_takes_at_most_a_quarter_longer(small_ms, large_ms, flat):
    got = verdicts(
        run("pg-1000", 1000, 1.0, {"chart": (small_ms, 5)}),
        run("pg-100000", 100000, 1.0, {"chart": (large_ms, 5)}),
    )
    assert (not any("slower at pg-100000" in p for p in got["chart"].problems)) is flat


def test_a_page_whose_query_count_grows_with_the_data_misses():
    got = verdicts(
        run("pg-1000", 1000, 1.0, {"chart": (5.0, 14)}),
        run("pg-100000", 100000, 1.0, {"chart": (5.0, 15)}),
    )
    assert got["chart"].problems == ("query counts differ: 14 at pg-1000, 15 at pg-100000",)


def test_sqlite_neither_sets_the_ratio_target_nor_counts_for_flatness_or_queries():
    got = verdicts(
        run("pg-1000", 1000, 1.0, {"chart": (5.0, 14)}),
        run("pg-100000", 100000, 1.0, {"chart": (5.0, 14)}),
        run("sqlite-10000", 10000, 1.0, {"chart": (50.0, 12)}, vendor="sqlite"),
    )
    assert got["chart"].met


def test_with_one_postgresql_size_flatness_and_query_counts_are_not_checked():
    got = verdicts(run("pg-1000", 1000, 1.0, {"chart": (50.0, 14)}))
    assert not got["chart"].met  # 50x: the ratio is still checked
    assert got["chart"].unchecked == ("flatness and query counts (needs two PostgreSQL sizes)",)


def test_without_postgresql_the_ratio_is_checked_on_the_largest_set_measured():
    got = verdicts(run("sqlite-10000", 10000, 1.0, {"chart": (11.0, 14)}, vendor="sqlite"))
    assert got["chart"].problems == ("11.0x the floor at sqlite-10000 (target 10x)",)


def test_a_page_that_failed_anywhere_misses_however_fast_it_was_elsewhere():
    failed = run("sqlite-10000", 10000, 1.0, {}, vendor="sqlite")
    failed.pages = [PageRun("chart", [], None, failure="answered 500")]
    got = verdicts(run("pg-1000", 1000, 1.0, {"chart": (2.0, 5)}), failed)
    assert got["chart"].problems == ("sqlite-10000: answered 500",)


def test_a_data_set_that_could_not_be_measured_fails_every_page():
    broken = DatasetRun("pg-100000", "postgresql", 100000, failure="building pg-100000 failed (exit 1)")
    got = verdicts(run("pg-1000", 1000, 1.0, {"chart": (2.0, 5), "week": (3.0, 9)}), broken)
    assert not got["chart"].met and not got["week"].met
    assert "pg-100000: not measured (building pg-100000 failed (exit 1))" in got["chart"].problems


def test_the_table_has_the_floor_and_a_row_per_page_with_each_sets_columns():
    runs = [
        run("pg-1000", 1000, 1.0, {"chart": (8.0, 14), "week": (30.0, 9)}),
        run("pg-100000", 100000, 1.0, {"chart": (8.5, 14), "week": (30.0, 9)}),
    ]
    text = report.table(runs, report.evaluate(runs))
    lines = text.splitlines()
    assert lines[0].split() == [
        "page",
        "pg-1000",
        "ms",
        "p95",
        "x",
        "floor",
        "q",
        "pg-100000",
        "ms",
        "p95",
        "x",
        "floor",
        "q",
        "flat",
        "target",
        "verdict",
    ]
    assert set(lines[1]) == {"-", " "}
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["floor"] == ["floor", "1.0", "1.0", "1.0", "2", "1.0", "1.0", "1.0", "2"]
    assert rows["chart"] == ["chart", "8.0", "8.0", "8.0", "14", "8.5", "8.5", "8.5", "14", "1.06", "<=10x", "met"]
    assert rows["week"][-3:] == ["1.00", "<=20x", "MISSED"]


def test_the_table_marks_a_failed_page():
    broken = run("pg-1000", 1000, 1.0, {})
    broken.pages = [PageRun("chart", [], None, failure="answered 500")]
    text = report.table([broken], report.evaluate([broken]))
    assert text.splitlines()[-1].split() == ["chart", "FAILED", "-", "<=10x", "MISSED"]


def test_the_summary_names_each_page_that_misses_and_why():
    runs = [run("pg-1000", 1000, 1.0, {"chart": (8.0, 14), "week": (30.0, 9)})]
    text = report.summary(report.evaluate(runs))
    assert text.splitlines()[:2] == [
        "1 of 2 pages MISS their targets:",
        "  week: 30.0x the floor at pg-1000 (target 20x)",
    ]
    assert "Not checked in this run: flatness and query counts" in text


def test_the_summary_says_when_every_page_meets_its_targets():
    runs = [run("pg-1000", 1000, 1.0, {"chart": (8.0, 14)}), run("pg-100000", 100000, 1.0, {"chart": (8.0, 14)})]
    assert report.summary(report.evaluate(runs)) == "Every page (1) meets its targets."


def test_a_run_survives_its_json_form():
    original = run("pg-1000", 1000, 1.3, {"chart": (8.0, 14)})
    original.pages[0].failure = "answered 404"
    assert DatasetRun.from_dict(original.to_dict()) == original


def test_the_summary_names_a_data_set_that_could_not_be_measured():
    broken = DatasetRun("pg-1000", "postgresql", 1000, failure="building pg-1000 failed (exit 2)")
    assert report.summary(report.evaluate([broken]), [broken]).splitlines() == [
        "pg-1000 could not be measured: building pg-1000 failed (exit 2)",
        "No page was measured.",
    ]


def test_flatness_compares_the_page_in_floors_of_each_run():
    # The machine was three times slower while pg-1000 ran: the floor shows it, the page did not grow.
    got = verdicts(
        run("pg-1000", 1000, 3.0, {"chart": (24.0, 5)}),
        run("pg-100000", 100000, 1.0, {"chart": (9.0, 5)}),
    )
    assert (
        report.flatness(
            run("pg-1000", 1000, 3.0, {"chart": (24.0, 5)}), run("pg-100000", 100000, 1.0, {"chart": (9.0, 5)}), "chart"
        )
        == 1.125
    )
    assert got["chart"].met
    slower = verdicts(
        run("pg-1000", 1000, 1.0, {"chart": (4.0, 5)}),
        run("pg-100000", 100000, 0.5, {"chart": (4.0, 5)}),  # same ms, but the floor halved: 2x
    )
    assert slower["chart"].problems == ("2.00x slower at pg-100000 than at pg-1000 (target 1.25x)",)
