"""The load test's figures, as plain values: no Django, no locust (both the locustfile and
``effleura.bench.load`` import it, and the tests table-test it).

A run is a list of *steps*, each a target request rate held for some seconds. The locust
process records every request measured in a step as a ``Sample`` (kind, milliseconds,
ok); ``summarize`` turns them into ``StepStats`` (p50/p95/p99 per kind and overall, the
rate actually reached), and ``best_step`` picks the highest step that passed: no error,
p95 under the limit, and the target rate actually reached (a server that cannot keep
up makes a closed-loop generator slow down instead of queueing, so an unreached rate is
a failed step, not a fast one).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field

P95_LIMIT_MS = 150.0
# A step counts as reached when the generator sent at least this share of its target.
REACHED_SHARE = 0.9
# The run stops after this many failed steps in a row (the rate is past the knee).
FAILED_STEPS_TO_STOP = 2


@dataclass(frozen=True)
class Sample:
    step: int
    kind: str
    ms: float
    ok: bool


@dataclass(frozen=True)
class KindStats:
    count: int
    failures: int
    p50: float
    p95: float
    p99: float


@dataclass(frozen=True)
class StepStats:
    step: int
    target_rps: float
    seconds: float
    achieved_rps: float
    total: KindStats
    kinds: dict[str, KindStats] = field(default_factory=dict)
    # CPU seconds the system under test and the generator used in the measured part
    # (cpu_seconds below); 0 when unknown.
    cpu_seconds: float = 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.total.count if self.total.count else 0.0

    @property
    def reached(self) -> bool:
        return self.achieved_rps >= REACHED_SHARE * self.target_rps

    def verdict(self, p95_limit: float = P95_LIMIT_MS) -> str:
        """'ok', or why the step failed."""
        if self.total.count == 0:
            return "no requests"
        reasons = []
        if self.total.failures:
            reasons.append(f"{self.total.failures} errors")
        if self.total.p95 >= p95_limit:
            reasons.append(f"p95 {self.total.p95:.0f} ms")
        if not self.reached:
            reasons.append(f"reached {self.achieved_rps:.0f}/s")
        return ", ".join(reasons) or "ok"

    def passed(self, p95_limit: float = P95_LIMIT_MS) -> bool:
        return self.verdict(p95_limit) == "ok"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``; 0.0 when empty. Nearest rank
    never reports a time no request took."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def kind_stats(samples: list[Sample]) -> KindStats:
    times = [s.ms for s in samples]
    return KindStats(
        count=len(samples),
        failures=sum(1 for s in samples if not s.ok),
        p50=percentile(times, 50),
        p95=percentile(times, 95),
        p99=percentile(times, 99),
    )


def summarize(samples: list[Sample], steps: dict[int, tuple[float, float]]) -> list[StepStats]:
    """Per-step figures. ``steps`` maps a step number to (target rate, seconds measured);
    a step with no sample still appears (count 0)."""
    by_step: dict[int, list[Sample]] = {number: [] for number in steps}
    for sample in samples:
        if sample.step in by_step:
            by_step[sample.step].append(sample)
    result = []
    for number in sorted(steps):
        target, seconds = steps[number]
        found = by_step[number]
        kinds: dict[str, list[Sample]] = {}
        for sample in found:
            kinds.setdefault(sample.kind, []).append(sample)
        result.append(
            StepStats(
                step=number,
                target_rps=target,
                seconds=seconds,
                achieved_rps=len(found) / seconds if seconds > 0 else 0.0,
                total=kind_stats(found),
                kinds={kind: kind_stats(kinds[kind]) for kind in sorted(kinds)},
            )
        )
    return result


def best_step(steps: list[StepStats], p95_limit: float = P95_LIMIT_MS) -> StepStats | None:
    """The passed step with the highest target rate, among the steps before the first
    run of FAILED_STEPS_TO_STOP failed ones (past the knee, a lucky step is noise)."""
    best = None
    failed_in_a_row = 0
    for step in sorted(steps, key=lambda s: s.target_rps):
        if step.passed(p95_limit):
            failed_in_a_row = 0
            if best is None or step.target_rps > best.target_rps:
                best = step
        else:
            failed_in_a_row += 1
            if failed_in_a_row >= FAILED_STEPS_TO_STOP:
                break
    return best


def should_stop(steps: list[StepStats], p95_limit: float = P95_LIMIT_MS) -> bool:
    """True once the last FAILED_STEPS_TO_STOP steps all failed."""
    last = steps[-FAILED_STEPS_TO_STOP:]
    return len(last) == FAILED_STEPS_TO_STOP and not any(s.passed(p95_limit) for s in last)


def cpu_seconds(roots: list[int], proc: str = "/proc") -> float:
    """CPU seconds (user + system) used so far by the processes ``roots`` and all their
    descendants, including children that ended and were waited for (cutime/cstime):
    read from ``proc``/<pid>/stat (proc(5)). Processes that are gone count 0."""
    import os

    table: dict[int, tuple[int, int]] = {}  # pid -> (parent, clock ticks)
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc, entry, "stat")) as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # from field 3 (state) on
        table[int(entry)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    children: dict[int, list[int]] = {}
    for pid, (parent, _ticks) in table.items():
        children.setdefault(parent, []).append(pid)
    ticks, todo, seen = 0, [r for r in roots if r in table], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        ticks += table[pid][1]
        todo.extend(children.get(pid, []))
    return ticks / os.sysconf("SC_CLK_TCK")


# Files ---------------------------------------------------------------------------------------


def dump_steps(steps: list[StepStats]) -> str:
    return json.dumps([asdict(s) for s in steps], indent=1)


def load_steps(text: str) -> list[StepStats]:
    """The steps ``dump_steps`` wrote (the locust process writes them, the harness reads)."""
    result = []
    for raw in json.loads(text):
        kinds = {name: KindStats(**values) for name, values in raw.pop("kinds").items()}
        total = KindStats(**raw.pop("total"))
        result.append(StepStats(total=total, kinds=kinds, **raw))
    return result


@dataclass(frozen=True)
class LocustRow:
    """One row of locust's ``<prefix>_stats.csv`` (the whole run, warm-up included)."""

    method: str
    name: str
    count: int
    failures: int
    p50: float
    p95: float
    p99: float
    rps: float


def parse_locust_stats(text: str) -> list[LocustRow]:
    """Rows of locust's stats CSV; its "Aggregated" row is kept (name "Aggregated").
    Percentile cells are "N/A" when a kind had no request: read as 0."""

    def number(value: str) -> float:
        try:
            return float(value)
        except ValueError:
            return 0.0

    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        rows.append(
            LocustRow(
                method=raw["Type"],
                name=raw["Name"],
                count=int(raw["Request Count"]),
                failures=int(raw["Failure Count"]),
                p50=number(raw["50%"]),
                p95=number(raw["95%"]),
                p99=number(raw["99%"]),
                rps=number(raw["Requests/s"]),
            )
        )
    return rows


# Printing ------------------------------------------------------------------------------------


def step_table(steps: list[StepStats], p95_limit: float = P95_LIMIT_MS) -> str:
    lines = [
        f"{'step':>4} {'target/s':>8} {'reached/s':>9} {'requests':>8} {'errors':>6} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'cpu ms/req':>10}  verdict"
    ]
    for s in steps:
        t = s.total
        lines.append(
            f"{s.step:>4} {s.target_rps:>8.0f} {s.achieved_rps:>9.1f} {t.count:>8} {t.failures:>6} "
            f"{t.p50:>7.1f} {t.p95:>7.1f} {t.p99:>7.1f} {s.cpu_ms_per_request:>10.1f}  {s.verdict(p95_limit)}"
        )
    return "\n".join(lines)


def kind_table(steps: list[StepStats], per_block: int = 4) -> str:
    """p50/p95/p99 of each request kind in each step, ``per_block`` steps side by side."""
    kinds = sorted({k for s in steps for k in s.kinds})
    lines: list[str] = []
    for first in range(0, len(steps), per_block):
        block = steps[first : first + per_block]
        if lines:
            lines.append("")
        lines.append(f"{'kind':<12}" + "".join(f" {f'@{s.target_rps:.0f}/s p50/p95/p99':>24}" for s in block))
        for kind in kinds:
            cells = []
            for s in block:
                k = s.kinds.get(kind)
                if k is None:
                    cell = "-"
                else:
                    cell = f"{k.p50:.0f}/{k.p95:.0f}/{k.p99:.0f}" + (f" {k.failures}E" if k.failures else "")
                cells.append(f" {cell:>24}")
            lines.append(f"{kind:<12}" + "".join(cells))
    return "\n".join(lines)
