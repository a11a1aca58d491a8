"""The page benchmarks' run: make each kept data set ready, measure it in a process of
its own (bench/pages.py), then print the table, say which pages miss their targets and
save everything as JSON in <bench dir>/results/."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from effleura import storage_permissions
from effleura.bench import datasets, report


def measure(data_set: datasets.DataSet, root: Path, cluster, *, rounds: int, warmup: int, pages) -> report.DatasetRun:
    env = datasets.environment(data_set, root, cluster)
    env["DJANGO_SETTINGS_MODULE"] = "effleura.bench.settings"
    env.pop("PGOPTIONS", None)  # measured as served: commits wait for the disk
    with tempfile.TemporaryDirectory(prefix="effleura-bench-") as scratch:
        out = Path(scratch) / "run.json"
        cmd = [
            sys.executable,
            "-m",
            "effleura.bench.pages",
            f"--dataset={data_set.name}",
            f"--vendor={data_set.vendor}",
            f"--n={data_set.n}",
            f"--rounds={rounds}",
            f"--warmup={warmup}",
            f"--out={out}",
        ]
        if pages:
            cmd.append("--only=" + ",".join(pages))
        result = subprocess.run(cmd, env=env, check=False)
        if result.returncode != 0 or not out.exists():
            return report.DatasetRun(data_set.name, data_set.vendor, data_set.n, failure=f"exit {result.returncode}")
        return report.DatasetRun.from_dict(json.loads(out.read_text()))


def save(root: Path, runs: list[report.DatasetRun], verdicts: list[report.Verdict], meta: dict) -> Path:
    folder = root / "results"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    body = {
        **meta,
        "runs": [r.to_dict() for r in runs],
        "verdicts": [
            {
                "page": v.page,
                "limit": v.limit,
                "met": v.met,
                "problems": list(v.problems),
                "unchecked": list(v.unchecked),
            }
            for v in verdicts
        ],
    }
    stamp = meta["finished"].replace(":", "").replace("-", "")
    path = folder / f"pages-{stamp}.json"
    text = json.dumps(body, indent=1)
    path.write_text(text)
    (folder / "latest.json").write_text(text)
    return path


def _commit() -> str:
    result = subprocess.run(
        ["git", "-C", str(datasets.CHECKOUT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip()


def main(*, sizes: list[int], sqlite: int, rounds: int, warmup: int, pages: list[str] | None) -> int:
    storage_permissions.restrict_umask()  # the data sets' folders and results: ours only
    root = datasets.bench_dir()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    sets = [datasets.DataSet("postgresql", n) for n in sizes]
    if sqlite:
        sets.append(datasets.DataSet("sqlite", sqlite))
    print(f"Page benchmarks: {', '.join(s.name for s in sets)}; {rounds} rounds after {warmup} warm-up; data in {root}")
    started = time.monotonic()
    cluster = None
    if any(s.vendor == "postgresql" for s in sets):
        bindir = datasets.find_bindir()
        if bindir is None:
            print("PostgreSQL is not installed (apt-get install postgresql): the PostgreSQL sets are left out.")
            sets = [s for s in sets if s.vendor != "postgresql"]
        else:
            cluster = datasets.Cluster(root / "pg", bindir)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    runs = []
    try:
        if cluster is not None:
            cluster.start()
        for data_set in sets:
            t0 = time.monotonic()
            try:
                datasets.make_ready(data_set, root, cluster if data_set.vendor == "postgresql" else None)
            except RuntimeError as exc:
                datasets.log(f"error: {exc}")
                runs.append(report.DatasetRun(data_set.name, data_set.vendor, data_set.n, failure=str(exc)))
                continue
            datasets.log(f"{data_set.name} ready in {time.monotonic() - t0:.0f} s; measuring")
            runs.append(measure(data_set, root, cluster, rounds=rounds, warmup=warmup, pages=pages))
    except KeyboardInterrupt:
        datasets.log("interrupted")
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if cluster is not None:
            cluster.stop()
        signal.signal(signal.SIGTERM, previous)
    verdicts = report.evaluate(runs)
    print()
    print(report.table(runs, verdicts))
    print()
    print(report.summary(verdicts, runs))
    meta = {
        "finished": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": _commit(),
        "rounds": rounds,
        "warmup": warmup,
        "seconds": round(time.monotonic() - started),
    }
    path = save(root, runs, verdicts, meta)
    print(f"Saved as {path} (and results/latest.json). Total time {meta['seconds']} s.")
    failed = any(r.failure for r in runs) or not all(v.met for v in verdicts) or not runs
    return 1 if failed else 0
