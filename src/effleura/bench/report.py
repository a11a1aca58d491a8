"""The page benchmarks' arithmetic and their table: pure functions over plain values.

A run measures every page on each kept data set (``DatasetRun``): the floor page's times
and each page's times and query count. From those: median and p95 in milliseconds, the
ratio of a page's median to the floor's median of the same run, the flatness (a page's
ratio on the largest PostgreSQL set over its ratio on the smallest) and the targets of
issue 13 (docs/performance.md, section bench).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field

# Targets (medians, PostgreSQL): a page at most 10x the floor; the calendar pages more.
DEFAULT_LIMIT = 10.0
LIMITS = {"day-10": 20.0, "week": 20.0, "today": 20.0, "day-50": 25.0}
FLAT_LIMIT = 1.25  # a page's time on the large set over its time on the small one


@dataclass
class PageRun:
    """One page measured on one data set: every timed request, and its query count."""

    page: str
    times_ms: list[float] = field(default_factory=list)
    queries: int | None = None
    failure: str | None = None  # why a request did not answer as expected


@dataclass
class DatasetRun:
    """Every page measured in one process against one data set."""

    dataset: str  # pg-1000, pg-100000, sqlite-10000
    vendor: str  # postgresql or sqlite
    n: int  # patients
    floor_ms: list[float] = field(default_factory=list)
    floor_queries: int | None = None
    pages: list[PageRun] = field(default_factory=list)
    failure: str | None = None  # the whole set could not be measured

    def page(self, name: str) -> PageRun | None:
        return next((p for p in self.pages if p.page == name), None)

    @classmethod
    def from_dict(cls, data: dict) -> DatasetRun:
        pages = [PageRun(**p) for p in data.get("pages", [])]
        return cls(**{**data, "pages": pages})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    page: str
    limit: float
    problems: tuple[str, ...]  # empty: every target checked was met
    unchecked: tuple[str, ...] = ()  # targets this run could not check (a size not measured)

    @property
    def met(self) -> bool:
        return not self.problems


def median(times: list[float]) -> float:
    if not times:
        return math.nan
    return statistics.median(times)


def p95(times: list[float]) -> float:
    """The nearest-rank 95th percentile: a time that was measured, not interpolated."""
    if not times:
        return math.nan
    ordered = sorted(times)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def ratio(page_ms: float, floor_ms: float) -> float:
    """A page's median over the floor's: how many floors the page's own work costs."""
    if not floor_ms or math.isnan(floor_ms) or math.isnan(page_ms):
        return math.nan
    return page_ms / floor_ms


def limit_for(page: str) -> float:
    return LIMITS.get(page, DEFAULT_LIMIT)


def postgres_runs(runs: list[DatasetRun]) -> list[DatasetRun]:
    """The PostgreSQL sets that were measured, smallest first: the targets are theirs."""
    return sorted((r for r in runs if r.vendor == "postgresql" and r.failure is None), key=lambda r: r.n)


def page_names(runs: list[DatasetRun]) -> list[str]:
    """Every page measured, in the order measured."""
    names: list[str] = []
    for run in runs:
        for page in run.pages:
            if page.page not in names:
                names.append(page.page)
    return names


def flatness(small: DatasetRun, large: DatasetRun, page: str) -> float:
    """The page's time on the large set over its time on the small one, each time taken
    in floors of its own run (its ratio): the sets are measured minutes apart, and on a
    shared machine the floor itself moved sevenfold between two runs (docs/performance.md),
    which a quotient of raw medians would count as the page growing or shrinking."""
    a, b = small.page(page), large.page(page)
    if a is None or b is None or a.failure or b.failure:
        return math.nan
    return ratio(ratio(median(b.times_ms), median(large.floor_ms)), ratio(median(a.times_ms), median(small.floor_ms)))


def evaluate(runs: list[DatasetRun]) -> list[Verdict]:
    """Each page against its targets: it answered as expected on every set; its ratio on
    the largest PostgreSQL set (the largest set of all when no PostgreSQL set was measured)
    within its limit; flat from the smallest to the largest PostgreSQL set; the same
    number of queries on every PostgreSQL set."""
    pg = postgres_runs(runs)
    measured = [r for r in runs if r.failure is None]
    large = pg[-1] if pg else max(measured, key=lambda r: r.n, default=None)
    verdicts = []
    for name in page_names(runs):
        limit = limit_for(name)
        problems: list[str] = []
        unchecked: list[str] = []
        for run in runs:
            page = run.page(name)
            if run.failure:
                problems.append(f"{run.dataset}: not measured ({run.failure})")
            elif page is None:
                problems.append(f"{run.dataset}: not measured")
            elif page.failure:
                problems.append(f"{run.dataset}: {page.failure}")
        if large is not None and (page := large.page(name)) is not None and not page.failure:
            r = ratio(median(page.times_ms), median(large.floor_ms))
            if not r <= limit:
                problems.append(f"{r:.1f}x the floor at {large.dataset} (target {limit:g}x)")
        if len(pg) >= 2:
            flat = flatness(pg[0], pg[-1], name)
            if not math.isnan(flat) and flat > FLAT_LIMIT:
                problems.append(
                    f"{flat:.2f}x slower at {pg[-1].dataset} than at {pg[0].dataset} (target {FLAT_LIMIT}x)"
                )
            counts = {r.dataset: r.page(name).queries for r in pg if r.page(name) and not r.page(name).failure}
            if len(set(counts.values())) > 1:
                said = ", ".join(f"{q} at {d}" for d, q in counts.items())
                problems.append(f"query counts differ: {said}")
        else:
            unchecked.append("flatness and query counts (needs two PostgreSQL sizes)")
        verdicts.append(Verdict(name, limit, tuple(problems), tuple(unchecked)))
    return verdicts


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else (f"{value:.1f}" if value < 100 else f"{value:.0f}")


def _x(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def table(runs: list[DatasetRun], verdicts: list[Verdict]) -> str:
    """One row per page (the floor first): per data set median ms, p95 ms, ratio to the
    floor and queries; then the flatness, the page's limit and met or MISSED."""
    pg = postgres_runs(runs)
    by_page = {v.page: v for v in verdicts}
    header = ["page"]
    for run in runs:
        header += [f"{run.dataset} ms", "p95", "x floor", "q"]
    header += ["flat", "target", "verdict"]
    rows = [header]
    floor_row = ["floor"]
    for run in runs:
        m = median(run.floor_ms)
        floor_row += [_ms(m), _ms(p95(run.floor_ms)), _x(ratio(m, m)), _q(run.floor_queries)]
    rows.append([*floor_row, "", "", ""])
    for name in page_names(runs):
        row = [name]
        for run in runs:
            page = run.page(name)
            if page is None or page.failure or run.failure:
                row += ["FAILED", "", "", ""]
                continue
            m = median(page.times_ms)
            row += [_ms(m), _ms(p95(page.times_ms)), _x(ratio(m, median(run.floor_ms))), _q(page.queries)]
        flat = flatness(pg[0], pg[-1], name) if len(pg) >= 2 else math.nan
        verdict = by_page.get(name)
        row += [
            "-" if math.isnan(flat) else f"{flat:.2f}",
            f"<={verdict.limit:g}x" if verdict else "",
            ("met" if verdict.met else "MISSED") if verdict else "",
        ]
        rows.append(row)
    widths = [max(len(r[k]) for r in rows) for k in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _q(queries: int | None) -> str:
    return "-" if queries is None else str(queries)


def summary(verdicts: list[Verdict], runs: list[DatasetRun] = ()) -> str:
    """The data sets that could not be measured and the pages that miss a target, one line
    each with why; or that every page met its targets."""
    missed = [v for v in verdicts if not v.met]
    lines = [f"{r.dataset} could not be measured: {r.failure}" for r in runs if r.failure]
    if missed:
        lines.append(f"{len(missed)} of {len(verdicts)} pages MISS their targets:")
        lines += [f"  {v.page}: " + "; ".join(v.problems) for v in missed]
    elif verdicts:
        lines.append(f"Every page ({len(verdicts)}) meets its targets.")
    else:
        lines.append("No page was measured.")
    unchecked = sorted({u for v in verdicts for u in v.unchecked})
    if unchecked:
        lines.append("Not checked in this run: " + "; ".join(unchecked) + ".")
    return "\n".join(lines)
