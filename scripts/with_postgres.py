"""Run a command against a throwaway PostgreSQL cluster.

    python scripts/with_postgres.py -- CMD ARGS...

Creates a cluster in a new temporary directory, listening only on a unix socket in
that directory, creates the database `effleura` owned by the superuser `effleura`,
runs CMD with EFFLEURA_DATABASE_URL pointing at it, then stops the cluster and
deletes the directory, also when CMD fails or is interrupted. Exits with CMD's code.

PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` user.
Without PostgreSQL installed it skips (exit 0), unless CI=true, where it fails.
Only the standard library is used, so any python3 can run it.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

DATABASE = "effleura"
SUPERUSER = "effleura"
PORT = 5432  # Only names the socket file: nothing listens on TCP.
SETTINGS = {
    "listen_addresses": "''",
    "port": str(PORT),
    "max_connections": "200",
    # A throwaway cluster: durability buys nothing, speed does.
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
}
# The socket path must fit in sun_path (107 bytes) with "/.s.PGSQL.5432" after it.
MAX_SOCKET_DIR = 80


def log(message: str) -> None:
    print(f"with_postgres: {message}", file=sys.stderr, flush=True)


def find_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin, else initdb's folder on PATH."""

    def version(path: str) -> tuple[int, ...]:
        match = re.search(r"/postgresql/([\d.]+)/bin$", path)
        return tuple(int(p) for p in match.group(1).split(".") if p) if match else ()

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    for candidate in candidates:
        if all(os.access(Path(candidate, tool), os.X_OK) for tool in ("initdb", "pg_ctl")):
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    return None


def as_cluster_owner() -> list[str]:
    """Prefix that runs a server command as a non-root user when we are root."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"]
    return ["su", "postgres", "-s", "/bin/sh", "-c", '"$0" "$@"']


def make_tempdir() -> Path:
    base = tempfile.gettempdir()
    if len(base) > MAX_SOCKET_DIR - 30:
        base = "/tmp"  # noqa: S108 (mkdtemp below makes a new private directory in it)
    return Path(tempfile.mkdtemp(prefix="effleura-pg-", dir=base))


def run_quiet(cmd: list[str], what: str, cwd: Path) -> None:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise RuntimeError(f"{what} failed (exit {result.returncode}): {' '.join(cmd)}")


class Cluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = make_tempdir()
        self.data = self.root / "data"
        self.logfile = self.root / "postgres.log"
        self.prefix = as_cluster_owner()
        self.started = False

    def bin(self, tool: str) -> str:
        return str(self.bindir / tool)

    @property
    def url(self) -> str:
        # postgresql://effleura@%2Ftmp%2Feffleura-pg-xxxx:5432/effleura : dj-database-url
        # decodes the percent-encoded host into HOST (a socket directory) and PORT.
        return f"postgresql://{SUPERUSER}@{quote(str(self.root), safe='')}:{PORT}/{DATABASE}"

    def start(self) -> None:
        if self.prefix:
            try:
                shutil.chown(self.root, user="postgres", group="postgres")
            except LookupError:
                raise RuntimeError(
                    "running as root, but there is no 'postgres' user to run the server as "
                    "(apt-get install postgresql creates it)"
                ) from None
        self.root.chmod(0o755)  # the test process, whoever it runs as, reaches the socket
        run_quiet(
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
                "--no-sync",
                "--no-instructions",
            ],
            "initdb",
            self.root,
        )
        conf = "".join(f"{key} = {value}\n" for key, value in SETTINGS.items())
        conf += f"unix_socket_directories = '{self.root}'\n"
        # Appended by the cluster owner: the file belongs to it.
        with open(self.data / "postgresql.conf", "a") as handle:
            handle.write("\n# scripts/with_postgres.py\n" + conf)
        self.started = True  # from here on, stop() must run
        try:
            run_quiet(
                [
                    *self.prefix,
                    self.bin("pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.logfile),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                "pg_ctl start",
                self.root,
            )
        except RuntimeError:
            if self.logfile.exists():
                sys.stderr.write(self.logfile.read_text(errors="replace"))
            raise
        run_quiet(
            [
                self.bin("createdb"),
                "-h",
                str(self.root),
                "-p",
                str(PORT),
                "-U",
                SUPERUSER,
                DATABASE,
            ],
            "createdb",
            self.root,
        )

    def stop(self) -> None:
        try:
            if self.started:
                pg_ctl = [*self.prefix, self.bin("pg_ctl"), "-D", str(self.data)]
                subprocess.run(
                    [*pg_ctl, "-m", "immediate", "-w", "-t", "60", "stop"],
                    cwd=self.root,
                    capture_output=True,
                    check=False,
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def stop_child(child: subprocess.Popen, forward: int | None) -> None:
    """Let CMD finish its own clean-up: on Ctrl-C it got SIGINT from the terminal
    already; on SIGTERM it is passed on. Escalate if it takes too long."""
    for sig, grace in ((forward, 30), (signal.SIGTERM, 10), (signal.SIGKILL, None)):
        if child.poll() is not None:
            return
        if sig is not None:
            child.send_signal(sig)
        try:
            child.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2

    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI", "").lower() == "true":
            log(
                "error: PostgreSQL is not installed (no initdb/pg_ctl in /usr/lib/postgresql/*/bin "
                "or on PATH), and CI=true requires the PostgreSQL pass. apt-get install postgresql"
            )
            return 1
        print(
            "PostgreSQL not installed: skipping the PostgreSQL pass (apt-get install postgresql)",
            flush=True,
        )
        return 0

    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the cluster is removed.
    received: list[int] = []

    def on_term(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)

    cluster = Cluster(bindir)
    child: subprocess.Popen | None = None
    try:
        started = time.monotonic()
        cluster.start()
        log(f"PostgreSQL ({bindir}) ready in {time.monotonic() - started:.1f}s: EFFLEURA_DATABASE_URL={cluster.url}")
        env = dict(os.environ, EFFLEURA_DATABASE_URL=cluster.url)
        child = subprocess.Popen(argv, env=env)
        code = child.wait()
        return 128 - code if code < 0 else code  # killed by a signal: as a shell reports it
    except KeyboardInterrupt:
        if child is not None:
            stop_child(child, forward=signal.SIGTERM if received else None)
        log("interrupted")
        return 130
    except (RuntimeError, OSError) as exc:
        log(f"error: {exc}")
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # finish the clean-up
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
