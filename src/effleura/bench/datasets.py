"""The kept data sets of the page benchmarks, under EFFLEURA_BENCH_DIR (default
<checkout>/var/bench), and the PostgreSQL cluster that holds the PostgreSQL ones.

Layout (docs/performance.md, section bench)::

    <bench dir>/                     0711 when run as root (the postgres user passes through)
      pg/                            the cluster: owned by the cluster's user, 0700
        data/                        PGDATA
        postgres.log
        .s.PGSQL.5432                its only socket: it listens on no TCP address
      pg-1000/var/  pg-100000/var/   each set's EFFLEURA_VAR_DIR (secret key, audit key, static)
      sqlite-10000/var/              the same, with its SQLite database
      results/                       every run's JSON, and latest.json

PostgreSQL refuses to run as root: as root the cluster is the `postgres` user's, and
every folder above it must let that user pass (o+x); the run adds that bit where it is
missing (var/ is 0700, and `make run` tightens it back: the next bench run opens it
again) and says so. The files in those folders stay the owner's only.

A set is built once: `effleura migrate`, `collectstatic` and `effleura demo --scale N`
(a rerun of the builder with the same N changes nothing), so every later run only
migrates it (new indexes) and measures. Only the standard library is used here: the
Django work happens in the subprocesses, one set at a time, with that set's settings.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

CHECKOUT = Path(__file__).resolve().parents[3]
SUPERUSER = "effleura"
PORT = 5432  # names the socket file only
SETTINGS = {
    "listen_addresses": "''",
    "port": str(PORT),
    "max_connections": "50",
    # Loading a million appointments and ten million audit events: fewer, larger checkpoints.
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}
# The socket path must fit in sun_path (107 bytes) with "/.s.PGSQL.5432" after it.
MAX_SOCKET_DIR = 90


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def bench_dir() -> Path:
    return Path(os.environ.get("EFFLEURA_BENCH_DIR") or CHECKOUT / "var" / "bench").resolve()


@dataclass(frozen=True)
class DataSet:
    """One kept data set: a practice of ``n`` patients on ``vendor``."""

    vendor: str  # postgresql | sqlite
    n: int

    @property
    def name(self) -> str:
        return f"{'pg' if self.vendor == 'postgresql' else 'sqlite'}-{self.n}"

    @property
    def database(self) -> str:
        return f"bench_{self.n}"

    def var_dir(self, root: Path) -> Path:
        return root / self.name / "var"

    def url(self, root: Path, cluster: Cluster | None) -> str:
        if self.vendor == "sqlite":
            return f"sqlite:///{self.var_dir(root) / 'effleura.sqlite3'}"
        assert cluster is not None
        return cluster.url(self.database)


def find_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin, else initdb's folder on PATH."""

    def version(path: str) -> tuple[int, ...]:
        match = re.search(r"/postgresql/([\d.]+)/bin$", path)
        return tuple(int(p) for p in match.group(1).split(".") if p) if match else ()

    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if all(os.access(Path(candidate, tool), os.X_OK) for tool in ("initdb", "pg_ctl")):
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb and shutil.which("pg_ctl") else None


def _run(cmd: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise RuntimeError(f"{what} failed (exit {result.returncode}): {' '.join(cmd)}")
    return result


class Cluster:
    """The kept PostgreSQL cluster in <bench dir>/pg: created once, started for a run and
    stopped at its end (only if this run started it)."""

    def __init__(self, root: Path, bindir: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.logfile = root / "postgres.log"
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        self.started_here = False
        if len(str(root)) > MAX_SOCKET_DIR:
            raise RuntimeError(f"{root} is too long a path for PostgreSQL's socket: set a shorter EFFLEURA_BENCH_DIR")

    def bin(self, tool: str) -> str:
        return str(self.bindir / tool)

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@{quote(str(self.root), safe='')}:{PORT}/{database}"

    def _reachable(self) -> None:
        """Let the postgres user pass through every folder above the cluster (o+x)."""
        for folder in reversed(self.root.parents):
            mode = stat.S_IMODE(folder.stat().st_mode)
            if not mode & stat.S_IXOTH:
                folder.chmod(mode | stat.S_IXOTH)
                log(f"made {folder} passable for the postgres user (o+x; its files stay private)")

    def prepare(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.as_root:
            self._reachable()
            shutil.chown(self.root, user="postgres", group="postgres")
        if (self.data / "PG_VERSION").exists():
            return
        log(f"creating the PostgreSQL cluster in {self.data}")
        _run(
            [
                *self.prefix,
                self.bin("initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                SUPERUSER,
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ],
            "initdb",
            cwd=self.root,
        )
        conf = "".join(f"{key} = {value}\n" for key, value in SETTINGS.items())
        conf += f"unix_socket_directories = '{self.root}'\n"
        _run(
            [*self.prefix, "sh", "-c", 'cat >> "$0"', str(self.data / "postgresql.conf")],
            "configuring the cluster",
            input="\n# effleura/bench/datasets.py\n" + conf,
            cwd=self.root,
        )

    def running(self) -> bool:
        result = subprocess.run(
            [*self.prefix, self.bin("pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            cwd=self.root,
            check=False,
        )
        return result.returncode == 0

    def start(self) -> None:
        self.prepare()
        if self.running():
            log("the PostgreSQL cluster is already running; this run leaves it running")
            return
        try:
            _run(
                [
                    *self.prefix,
                    self.bin("pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.logfile),
                    "-w",
                    "-t",
                    "300",
                    "start",
                ],
                "pg_ctl start",
                cwd=self.root,
            )
        except RuntimeError:
            if self.logfile.exists():
                sys.stderr.write(self.logfile.read_text(errors="replace")[-4000:])
            raise
        self.started_here = True

    def stop(self) -> None:
        if self.started_here:
            subprocess.run(
                [*self.prefix, self.bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "120", "stop"],
                capture_output=True,
                cwd=self.root,
                check=False,
            )
            self.started_here = False
            log("stopped the PostgreSQL cluster")

    def ensure_database(self, name: str) -> None:
        """Create the data set's database unless it exists (``name`` is ours: bench_<n>)."""
        cmd = [self.bin("createdb"), "-h", str(self.root), "-p", str(PORT), "-U", SUPERUSER, name]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 and "already exists" not in result.stderr:
            sys.stderr.write(result.stdout + result.stderr)
            raise RuntimeError(f"createdb failed (exit {result.returncode}): {' '.join(cmd)}")


def environment(data_set: DataSet, root: Path, cluster: Cluster | None) -> dict[str, str]:
    """The environment of every command run against ``data_set``: its own var/ and database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EFFLEURA_")}
    env.update(
        EFFLEURA_VAR_DIR=str(data_set.var_dir(root)),
        EFFLEURA_DATABASE_URL=data_set.url(root, cluster),
        # The builder's commits need not wait for the disk; reads measured later are alike.
        PGOPTIONS="-c synchronous_commit=off",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def effleura(*args: str, env: dict[str, str], what: str) -> None:
    """Run an `effleura` command, its output streamed to ours."""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "effleura.cli", *args], env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {result.returncode})")
    return time.monotonic() - started


def make_ready(data_set: DataSet, root: Path, cluster: Cluster | None) -> None:
    """Build ``data_set`` the first time; migrate it (and collect static files) every time."""
    var_dir = data_set.var_dir(root)
    first = not (var_dir / "built").exists()
    var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if cluster is not None:
        cluster.ensure_database(data_set.database)
    env = environment(data_set, root, cluster)
    effleura("migrate", "--noinput", "-v", "0", env=env, what=f"migrating {data_set.name}")
    effleura("collectstatic", "--noinput", "-v", "0", env=env, what=f"collecting static files for {data_set.name}")
    if first:
        log(f"building {data_set.name} (effleura demo --scale {data_set.n}); this is done once")
    started = time.monotonic()
    effleura("demo", "--scale", str(data_set.n), env=env, what=f"building {data_set.name}")
    if first:
        (var_dir / "built").write_text(f"{data_set.n} patients, built in {time.monotonic() - started:.0f} s\n")
