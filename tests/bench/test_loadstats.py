"""The load test's figures (effleura/bench/loadstats.py): pure, table-tested."""

import pytest

from effleura.bench import loadstats
from effleura.bench.loadstats import KindStats, Sample, StepStats


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 95, 0.0),
        ([7.0], 50, 7.0),
        ([7.0], 99, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
        ([4.0, 3.0, 2.0, 1.0], 75, 3.0),
        ([float(v) for v in range(1, 101)], 95, 95.0),
        ([float(v) for v in range(1, 101)], 99, 99.0),
        ([float(v) for v in range(1, 21)], 95, 19.0),
    ],
)
def test_a_percentile_is_the_time_of_the_request_at_its_rank(values, q, expected):
    assert loadstats.percentile(values, q) == expected


def test_a_step_counts_its_requests_per_kind_and_the_rate_it_reached():
    samples = [
        Sample(1, "chart", 10.0, True),
        Sample(1, "chart", 30.0, True),
        Sample(1, "book", 20.0, False),
        Sample(2, "chart", 99.0, True),
        Sample(0, "chart", 500.0, True),  # warm-up: no step of the run
    ]
    steps = loadstats.summarize(samples, {1: (10.0, 0.5), 2: (20.0, 1.0), 3: (30.0, 1.0)})
    first, second, third = steps
    assert first.total == KindStats(count=3, failures=1, p50=20.0, p95=30.0, p99=30.0)
    assert first.kinds == {
        "book": KindStats(1, 1, 20.0, 20.0, 20.0),
        "chart": KindStats(2, 0, 10.0, 30.0, 30.0),
    }
    assert first.achieved_rps == 6.0
    assert second.total.count == 1 and second.achieved_rps == 1.0
    assert third.total.count == 0 and third.verdict() == "no requests"


def step(n, target, *, p95=50.0, failures=0, reached=None):
    achieved = target if reached is None else reached
    total = KindStats(count=100, failures=failures, p50=p95 / 2, p95=p95, p99=p95 * 1.5)
    return StepStats(
        step=n, target_rps=target, seconds=10.0, achieved_rps=achieved, total=total, kinds={"chart": total}
    )


@pytest.mark.parametrize(
    ("steps", "best"),
    [
        ([step(1, 20), step(2, 40), step(3, 60)], 3),
        ([step(1, 20), step(2, 40), step(3, 60, p95=150.0), step(4, 80, p95=300.0)], 2),
        # One failed step is noise: the run goes on, and a later pass counts.
        ([step(1, 20), step(2, 40, failures=1), step(3, 60), step(4, 80, p95=200.0), step(5, 100, p95=400)], 3),
        # Two failed steps in a row end it: a lucky step after them does not count.
        ([step(1, 20), step(2, 40, p95=160.0), step(3, 60, p95=170.0), step(4, 80)], 1),
        # A rate the generator could not send is a failed step, however fast the answers.
        ([step(1, 20), step(2, 40, reached=37.0), step(3, 60, reached=30.0)], 2),
        ([step(1, 20), step(2, 40, reached=30.0), step(3, 60, reached=30.0)], 1),
        ([step(1, 20, failures=3), step(2, 40, p95=151.0)], None),
        ([], None),
    ],
)
def test_the_best_step_is_the_highest_that_passed_before_the_knee(steps, best):
    found = loadstats.best_step(steps)
    assert (found.step if found else None) == best


@pytest.mark.parametrize(
    ("steps", "stop"),
    [
        ([], False),
        ([step(1, 20, p95=200.0)], False),
        ([step(1, 20, p95=200.0), step(2, 40, failures=1)], True),
        ([step(1, 20, p95=200.0), step(2, 40)], False),
        ([step(1, 20), step(2, 40, p95=200.0), step(3, 60, reached=10.0)], True),
    ],
)
def test_the_run_stops_after_two_failed_steps_in_a_row(steps, stop):
    assert loadstats.should_stop(steps) is stop


@pytest.mark.parametrize(
    ("made", "verdict"),
    [
        (step(1, 20), "ok"),
        (step(1, 20, p95=150.0), "p95 150 ms"),
        (step(1, 20, failures=2, p95=900.0, reached=5.0), "2 errors, p95 900 ms, reached 5/s"),
    ],
)
def test_a_step_says_why_it_failed(made, verdict):
    assert made.verdict() == verdict


def test_the_steps_the_locust_process_writes_read_back_the_same():
    steps = [step(1, 20), step(2, 40, failures=1, p95=170.0)]
    assert loadstats.load_steps(loadstats.dump_steps(steps)) == steps


LOCUST_CSV = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
    "POST,book,3,1,1000,1392.7,702.9,2438.7,387.3,0.121,0.0,1000,1000,2400,2400,2400,2400,2400,2400,2400,2400,2400\n"
    "GET,note_read,0,0,0,0.0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\n"
    ",Aggregated,81,1,1500,2000.1,100.0,15000.0,5000.0,3.27,0.04,1500,1900,2300,2300,4600,11000,12000,15000,15000,15000,15000\n"
)


def test_locusts_own_stats_file_is_read_row_by_row():
    rows = loadstats.parse_locust_stats(LOCUST_CSV)
    assert [(r.method, r.name, r.count, r.failures, r.p50, r.p95, r.p99) for r in rows] == [
        ("POST", "book", 3, 1, 1000.0, 2400.0, 2400.0),
        ("GET", "note_read", 0, 0, 0.0, 0.0, 0.0),
        ("", "Aggregated", 81, 1, 1500.0, 11000.0, 15000.0),
    ]
    assert rows[2].rps == 3.27


def test_the_tables_show_every_step_and_kind():
    steps = [step(1, 20), step(2, 40, failures=1)]
    table = loadstats.step_table(steps)
    assert table.splitlines()[1].split()[:3] == ["1", "20", "20.0"]
    assert table.splitlines()[2].endswith("1 errors")
    kinds = loadstats.kind_table(steps).splitlines()
    assert kinds[1].split() == ["chart", "25/50/75", "25/50/75", "1E"]
    blocks = loadstats.kind_table([step(n, 20 * n) for n in range(1, 7)], per_block=4).split("\n\n")
    assert [len(b.splitlines()[1].split()) for b in blocks] == [5, 3]  # chart and 4 steps, then 2


def fake_stat(proc, pid, parent, utime, stime, cutime=0, cstime=0, name="python"):
    (proc / str(pid)).mkdir()
    rest = f"S {parent} 1 1 0 -1 0 0 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 1 0 100"
    (proc / str(pid) / "stat").write_text(f"{pid} ({name}) {rest}\n")


def test_the_cpu_of_a_process_tree_counts_every_descendant_and_the_children_it_waited_for(tmp_path):
    import os

    fake_stat(tmp_path, 10, 1, 100, 50, cutime=30, cstime=20)  # gunicorn's master
    fake_stat(tmp_path, 11, 10, 400, 100, name="gunicorn: worker) [x]")  # a ")" in the name
    fake_stat(tmp_path, 12, 11, 5, 5)
    fake_stat(tmp_path, 20, 1, 9999, 9999)  # not ours
    (tmp_path / "self").mkdir()  # not a process number: skipped
    tick = os.sysconf("SC_CLK_TCK")
    assert loadstats.cpu_seconds([10], proc=str(tmp_path)) == (200 + 500 + 10) / tick
    assert loadstats.cpu_seconds([12, 99], proc=str(tmp_path)) == 10 / tick  # 99: gone
    assert loadstats.cpu_seconds([], proc=str(tmp_path)) == 0.0
