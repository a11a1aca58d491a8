"""The database half of a backup: a consistent copy of each engine, taken while the app
keeps writing, and the per-table row counts and content hashes read from that same copy.

SQLite: the online backup API (sqlite3.Connection.backup) copies every page in one step
inside one read transaction; in WAL mode writers go on meanwhile and the copy is the
database as of that transaction. The counts are read from the copy itself.

PostgreSQL: a REPEATABLE READ, READ ONLY transaction exports its snapshot
(pg_export_snapshot()); the counts and hashes are read in it and `pg_dump --snapshot`
dumps exactly the same state. The tools are found by the server's major version.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from effleura.core.backup_crypto import BackupError

# Tables that a fresh `effleura migrate` fills by itself: rows in them alone are not "data".
BOOKKEEPING_TABLES = {"django_migrations", "django_content_type", "auth_permission"}


@dataclass
class Snapshot:
    """What a copy of the database holds: per table its row count and a SHA-256 over its
    rows in primary-key order; the applied migrations per app; engine details."""

    tables: dict[str, dict] = field(default_factory=dict)
    migrations: dict[str, list[str]] = field(default_factory=dict)
    details: dict = field(default_factory=dict)


def _canonical(value) -> bytes:
    """One value as bytes that differ whenever the values differ (type included)."""
    if value is None:
        return b"\x00"
    if isinstance(value, memoryview | bytes | bytearray):
        return b"b:" + bytes(value).hex().encode()
    if isinstance(value, dict | list):
        return b"j:" + json.dumps(value, sort_keys=True, default=str).encode()
    return f"{type(value).__name__}:{value}".encode()


class _TableHash:
    def __init__(self):
        self.digest = hashlib.sha256()
        self.rows = 0

    def add(self, row) -> None:
        self.digest.update(b"\x1f".join(_canonical(v) for v in row) + b"\x1e")
        self.rows += 1

    def result(self) -> dict:
        return {"rows": self.rows, "sha256": self.digest.hexdigest()}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _migrations(rows) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in rows:
        applied.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


# SQLite -------------------------------------------------------------------------------


class Sqlite:
    name = "sqlite"
    dump_name = "database/effleura.sqlite3"

    def __init__(self, db: dict):
        self.path = Path(db["NAME"])

    def describe(self) -> str:
        return f"the SQLite database {self.path}"

    def dump(self, work: Path) -> tuple[Path, Snapshot]:
        if not self.path.exists():
            raise BackupError(f"There is no database at {self.path} to back up (run `effleura migrate` first?).")
        target = work / "effleura.sqlite3"
        source = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        copy = sqlite3.connect(target)
        try:
            source.execute("PRAGMA busy_timeout=30000")
            # pages=-1: every page in one step, inside one read transaction. In steps, a
            # write by the app between two steps would restart the copy (or, on another
            # connection, go unnoticed): one step is what makes it one consistent state.
            source.backup(copy, pages=-1)
            # The copy stands alone: no -wal file beside it, wherever it is restored.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            source.close()
            copy.close()
        return target, sqlite_snapshot(target)

    def check_unused(self, wait: float = 2.0) -> None:
        """Refuse while the app or a worker is writing: the restore moves the file away
        under them. An exclusive lock that cannot be had within ``wait`` seconds means
        another process holds the database."""
        if not self.path.exists():
            return
        connection = sqlite3.connect(self.path, timeout=wait, isolation_level=None)
        try:
            connection.execute("BEGIN EXCLUSIVE")
            connection.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            raise BackupError(
                f"{self.describe()} is in use ({exc}): stop the app and workers first, then restore. "
                "Nothing was restored."
            ) from None
        finally:
            connection.close()

    def has_data(self) -> list[str]:
        if not self.path.exists():
            return []
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return [t for t in _sqlite_tables(connection) if t not in BOOKKEEPING_TABLES and _sqlite_any(connection, t)]
        finally:
            connection.close()

    def restore(self, dump: Path, stamp: str) -> list[str]:
        """Put ``dump`` in the database's place. The database and its -wal/-shm/-journal
        files are moved aside first (never deleted: a mistaken --force can be undone), so a
        stale WAL can never be replayed into the restored file. Returns what was moved."""
        check = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
        try:
            result = check.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            check.close()
        if result != "ok":
            raise BackupError(f"The database in the archive fails SQLite's integrity check: {result}.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        moved = []
        for suffix in ("", "-wal", "-shm", "-journal"):
            existing = Path(f"{self.path}{suffix}")
            if existing.exists():
                aside = Path(f"{self.path}.replaced-{stamp}{suffix}")
                os.replace(existing, aside)
                moved.append(str(aside))
        _move_into(dump, self.path)
        self.path.chmod(0o600)
        return moved

    def snapshot(self) -> Snapshot:
        return sqlite_snapshot(self.path)


def _sqlite_tables(connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    )
    return [name for (name,) in rows]


def _sqlite_any(connection, table: str) -> bool:
    return connection.execute(f"SELECT 1 FROM {_quote(table)} LIMIT 1").fetchone() is not None  # noqa: S608


def sqlite_snapshot(path: Path) -> Snapshot:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        snapshot = Snapshot(details={"sqlite_version": sqlite3.sqlite_version})
        for table in _sqlite_tables(connection):
            keys = [
                row[1]
                for row in sorted(connection.execute(f"PRAGMA table_info({_quote(table)})"), key=lambda r: r[5])
                if row[5]
            ]
            order = ", ".join(_quote(k) for k in keys) if keys else "rowid"
            digest = _TableHash()
            for row in connection.execute(f"SELECT * FROM {_quote(table)} ORDER BY {order}"):  # noqa: S608
                digest.add(row)
            snapshot.tables[table] = digest.result()
        if "django_migrations" in snapshot.tables:
            snapshot.migrations = _migrations(connection.execute("SELECT app, name FROM django_migrations"))
        return snapshot
    finally:
        connection.close()


def _move_into(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target`` atomically; across file systems, copy beside the
    target first (synced), then rename, so the target is never half-written."""
    try:
        os.replace(source, target)
    except OSError as exc:
        if exc.errno != 18:  # EXDEV
            raise
        partial = Path(f"{target}.restoring")
        shutil.copyfile(source, partial)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)


# PostgreSQL ---------------------------------------------------------------------------

PG_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY"}


class Postgres:
    name = "postgresql"
    dump_name = "database/effleura.pgdump"

    def __init__(self, db: dict, bin_dir: str = ""):
        self.db = db
        self.bin_dir = bin_dir

    def describe(self) -> str:
        return f"the PostgreSQL database {self.db['NAME']!r}"

    def connect(self):
        import psycopg

        params = {
            "dbname": self.db["NAME"],
            "user": self.db.get("USER") or None,
            "password": self.db.get("PASSWORD") or None,
            "host": self.db.get("HOST") or None,
            "port": self.db.get("PORT") or None,
        }
        options = {k: v for k, v in (self.db.get("OPTIONS") or {}).items() if isinstance(v, str | int)}
        try:
            connection = psycopg.connect(**{k: v for k, v in params.items() if v}, **options, autocommit=True)
        except psycopg.OperationalError as exc:
            raise BackupError(f"Cannot connect to {self.describe()}: {str(exc).strip()}") from None
        connection.execute("SET TIME ZONE 'UTC'")
        return connection

    def tool_env(self) -> dict[str, str]:
        env = dict(os.environ)
        for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
            if self.db.get(key):
                env[name] = str(self.db[key])
        for option, name in PG_ENV.items():
            if (self.db.get("OPTIONS") or {}).get(option):
                env[name] = str(self.db["OPTIONS"][option])
        return env

    def tool(self, name: str, minimum: int) -> str:
        """The path of pg_dump/pg_restore of major version ``minimum`` or newer (pg_dump
        refuses a newer server; pg_restore, an archive from a newer pg_dump)."""
        candidates = [Path(self.bin_dir)] if self.bin_dir else []
        if not self.bin_dir:

            def major(path: str) -> int:
                found = re.search(r"/postgresql/(\d+)/bin$", path)
                return int(found.group(1)) if found else 0

            installed = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=major)
            candidates += [Path(p) for p in installed if major(p) >= minimum]
            on_path = shutil.which(name)
            if on_path:
                candidates.append(Path(on_path).resolve().parent)
        for directory in candidates:
            path = directory / name
            if os.access(path, os.X_OK) and tool_major(str(path)) >= minimum:
                return str(path)
        where = f"EFFLEURA_PG_BIN_DIR={self.bin_dir}" if self.bin_dir else "/usr/lib/postgresql/*/bin or on PATH"
        raise BackupError(
            f"No {name} of PostgreSQL {minimum} or newer in {where}. Install the PostgreSQL client tools "
            f"(apt-get install postgresql-client-{minimum}) or set EFFLEURA_PG_BIN_DIR to their folder."
        )

    def dump(self, work: Path) -> tuple[Path, Snapshot]:
        target = work / "effleura.pgdump"
        connection = self.connect()
        try:
            server = connection.execute("SHOW server_version_num").fetchone()[0]
            server_major = int(server) // 10000
            pg_dump = self.tool("pg_dump", server_major)
            connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # The first statement fixes the transaction's snapshot; pg_dump imports it, so
            # the counts below and the dump see the same committed rows.
            snapshot_id = connection.execute("SELECT pg_export_snapshot()").fetchone()[0]
            snapshot = self._snapshot_in(connection)
            result = subprocess.run(
                [
                    pg_dump,
                    "--format=custom",
                    f"--snapshot={snapshot_id}",
                    f"--file={target}",
                    "--dbname",
                    self.db["NAME"],
                ],
                env=self.tool_env(),
                capture_output=True,
                text=True,
                check=False,
            )
            connection.execute("COMMIT")
        finally:
            connection.close()
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed (exit {result.returncode}): {result.stderr.strip()}")
        snapshot.details = {"server_version": int(server), "pg_dump_major": tool_major(pg_dump)}
        return target, snapshot

    def _snapshot_in(self, connection) -> Snapshot:
        snapshot = Snapshot()
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.relname"
            )
        ]
        for table in tables:
            keys = [
                name
                for (name,) in connection.execute(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                    "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                    "WHERE i.indrelid = %s::regclass AND i.indisprimary "
                    "ORDER BY array_position(i.indkey, a.attnum)",
                    [_quote(table)],
                )
            ]
            order = ", ".join(_quote(k) for k in keys) if keys else "1"
            digest = _TableHash()
            # A server-side cursor: a table of any size streams through in batches.
            with connection.cursor(name=f"effleura_backup_{len(snapshot.tables)}") as cursor:
                cursor.itersize = 2000
                cursor.execute(f"SELECT * FROM {_quote(table)} ORDER BY {order}")  # noqa: S608
                for row in cursor:
                    digest.add(row)
            snapshot.tables[table] = digest.result()
        if "django_migrations" in snapshot.tables:
            snapshot.migrations = _migrations(connection.execute("SELECT app, name FROM django_migrations"))
        return snapshot

    def snapshot(self) -> Snapshot:
        connection = self.connect()
        try:
            connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = self._snapshot_in(connection)
            connection.execute("COMMIT")
            return snapshot
        finally:
            connection.close()

    def path_name(self) -> str:
        """A file name for copies of this database."""
        return re.sub(r"[^A-Za-z0-9_.-]", "_", str(self.db["NAME"])) or "effleura"

    def dump_to(self, target: Path) -> None:
        """pg_dump (custom format) the database as it is now into ``target``, created
        0600 first so the copy is never readable by others, even while it is written."""
        target.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        pg_dump = self.tool("pg_dump", self.server_major())
        result = subprocess.run(
            [pg_dump, "--format=custom", f"--file={target}", "--dbname", self.db["NAME"]],
            env=self.tool_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        target.chmod(0o600)
        if result.returncode != 0:
            target.unlink(missing_ok=True)
            raise BackupError(
                f"Could not keep a copy of the database that is there (pg_dump exit {result.returncode}): "
                f"{result.stderr.strip()[-2000:]}. Nothing was restored."
            )

    def has_data(self) -> list[str]:
        connection = self.connect()
        try:
            tables = [
                name
                for (name,) in connection.execute(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.relname"
                )
            ]
            return [
                t
                for t in tables
                if t not in BOOKKEEPING_TABLES and connection.execute(f"SELECT 1 FROM {_quote(t)} LIMIT 1").fetchone()  # noqa: S608
            ]
        finally:
            connection.close()

    def has_tables(self) -> bool:
        connection = self.connect()
        try:
            return bool(
                connection.execute(
                    "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() LIMIT 1"
                ).fetchone()
            )
        finally:
            connection.close()

    def restore(self, dump: Path, dump_major: int, *, replace: bool) -> None:
        """pg_restore ``dump`` into the configured database in one transaction: all of it or
        nothing. With ``replace``, the objects the archive holds are dropped first."""
        pg_restore = self.tool("pg_restore", max(dump_major, self.server_major()))
        command = [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        if replace:
            command += ["--clean", "--if-exists"]
        result = subprocess.run(
            [*command, "--dbname", self.db["NAME"], str(dump)],
            env=self.tool_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(
                f"pg_restore failed (exit {result.returncode}) and changed nothing: {result.stderr.strip()[-2000:]}"
            )

    def server_major(self) -> int:
        connection = self.connect()
        try:
            return int(connection.execute("SHOW server_version_num").fetchone()[0]) // 10000
        finally:
            connection.close()


def tool_major(path: str) -> int:
    result = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"(\d+)(?:\.\d+)?", result.stdout)
    return int(found.group(1)) if found and result.returncode == 0 else 0


def engine(db: dict, bin_dir: str = ""):
    """The engine object for Django's database settings ``db``."""
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return Sqlite(db)
    return Postgres(db, bin_dir)
