"""Backing up and restoring a practice: one encrypted archive holds the database, media/
and the secret and audit keys (docs/backup.md, docs/decisions/0020).

Inside the encryption (core/backup_crypto.py) the archive is a tar stream, read and
written in one pass, never held in memory:

    backup.json          what it is: format, engine, when, which Effleura (read first, so a
                         restore into the wrong engine stops before it unpacks anything)
    database/...         the SQLite copy or the pg_dump (custom format) of one snapshot
    keys/secret_key      settings.SECRET_KEY
    keys/audit_key       settings.EFFLEURA_AUDIT_KEY (the audit seals' key)
    media/...            every file under MEDIA_ROOT
    manifest.json        last: backup.json's facts, the migrations, per-table row counts and
                         content hashes read inside the same snapshot, and the size and
                         SHA-256 of every member above

The database is copied first and media/ after it: uploads are written before the row that
names them and never deleted, so every file the snapshot refers to is in the archive (a
file uploaded meanwhile comes along too, unreferenced and harmless).
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.migrations.loader import MigrationLoader

from effleura.core import audit, clock, db_roles
from effleura.core.backup_crypto import BackupError, BackupKey, DecryptingReader, EncryptingWriter
from effleura.core.backup_db import engine as database_engine
from effleura.core.choices import AuditAction

FORMAT = 1
KEY_SETTINGS = {"secret_key": "EFFLEURA_SECRET_KEY", "audit_key": "EFFLEURA_AUDIT_KEY"}
COPY_BYTES = 1 << 20

__all__ = ["BackupError", "BackupKey", "Made", "Restored", "key_from", "make_backup", "restore_backup"]


def key_from(path: str | None) -> BackupKey:
    """The backup key from ``--key-file`` or else EFFLEURA_BACKUP_KEY_FILE."""
    chosen = path or settings.EFFLEURA_BACKUP_KEY_FILE
    if not chosen:
        raise BackupError(
            "Give the backup key with --key-file FILE or EFFLEURA_BACKUP_KEY_FILE "
            "(make one with `effleura backup --new-key FILE`)."
        )
    return BackupKey.read(Path(chosen))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _version() -> str:
    try:
        return metadata.version("effleura")
    except metadata.PackageNotFoundError:
        return "unknown"


def _engine():
    return database_engine(settings.DATABASES["default"], settings.EFFLEURA_PG_BIN_DIR)


# Backing up ---------------------------------------------------------------------------


@dataclass
class Made:
    path: Path
    engine: str
    tables: int
    rows: int
    media_files: int
    size: int


class _Members:
    """Adds members to the tar stream, hashing each as it goes by."""

    def __init__(self, tar: tarfile.TarFile):
        self.tar = tar
        self.sums: dict[str, dict] = {}

    def add_bytes(self, name: str, data: bytes) -> None:
        self._add(name, io.BytesIO(data), len(data), 0o600)

    def add_file(self, name: str, path: Path) -> None:
        with open(path, "rb") as handle:
            # The size as it is now: a file still being written comes in at this length.
            self._add(name, handle, os.fstat(handle.fileno()).st_size, 0o600)

    def _add(self, name: str, handle, size: int, mode: int) -> None:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = mode
        info.mtime = int(datetime.datetime.now(datetime.UTC).timestamp())
        hashing = _Hashing(handle, size)
        self.tar.addfile(info, hashing)
        if hashing.seen != size:
            raise BackupError(f"{name} shrank while it was being backed up; run the backup again.")
        self.sums[name] = {"size": size, "sha256": hashing.digest.hexdigest()}


class _Hashing:
    """A reader that hashes what tarfile copies out of it, and stops at ``size``."""

    def __init__(self, handle, size: int):
        self.handle = handle
        self.left = size
        self.seen = 0
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        want = self.left if size < 0 else min(size, self.left)
        data = self.handle.read(want)
        self.left -= len(data)
        self.seen += len(data)
        self.digest.update(data)
        return data


def make_backup(target: Path, key: BackupKey, *, log: Callable[[str], None] = lambda _: None) -> Made:
    """Write one encrypted archive of the database, media/ and the keys to ``target``,
    while the app keeps serving. The archive appears under its name only when complete
    (written beside it, synced, renamed). Audits the backup (after the snapshot, so the
    event itself is not in it)."""
    target = Path(target).resolve()
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new name (for example with the date in it).")
    if not target.parent.is_dir():
        raise BackupError(f"The folder {target.parent} does not exist.")
    db = _engine()
    about = {"format": FORMAT, "created_at": _now(), "engine": db.name, "effleura_version": _version()}
    # The plaintext database copy lives only in a private folder in var/, beside the
    # database itself, and is removed when the archive is written.
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="backup-", dir=settings.VAR_DIR))
    # A name of its own (O_EXCL, 0600) beside the target: two backups at once never share it.
    fd, partial_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    partial = Path(partial_name)
    out = os.fdopen(fd, "wb")
    try:
        log(f"Copying {db.describe()}…")
        dump, snapshot = db.dump(work)
        media_files = 0
        with out as raw:
            writer = EncryptingWriter(raw, key)
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                members = _Members(tar)
                members.add_bytes("backup.json", _json(about))
                members.add_file(db.dump_name, dump)
                dump.unlink()
                members.add_bytes("keys/secret_key", settings.SECRET_KEY.encode())
                members.add_bytes("keys/audit_key", settings.EFFLEURA_AUDIT_KEY.encode())
                log("Adding media/…")
                for path, name in _media_files(Path(settings.MEDIA_ROOT)):
                    members.add_file(f"media/{name}", path)
                    media_files += 1
                manifest = {
                    **about,
                    "database": {"member": db.dump_name, **snapshot.details},
                    "migrations": snapshot.migrations,
                    "tables": snapshot.tables,
                    "media_files": media_files,
                    "members": members.sums,
                }
                tar.addfile(_info("manifest.json", len(_json(manifest))), io.BytesIO(_json(manifest)))
            writer.close()
            raw.flush()
            os.fsync(raw.fileno())
        _publish(partial, target)
        _sync_folder(target.parent)
    except BaseException:
        out.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    token = audit.client_address.set(audit.client_address.get() or "cli")
    try:
        audit.record(None, AuditAction.EXPORT, "backup", detail=f"backup archive {target.name}")
    finally:
        audit.client_address.reset(token)
    rows = sum(t["rows"] for t in snapshot.tables.values())
    return Made(target, db.name, len(snapshot.tables), rows, media_files, target.stat().st_size)


def _publish(partial: Path, target: Path) -> None:
    """Give the finished archive its name, never over an archive made meanwhile."""
    appeared = BackupError(f"{target} appeared while the backup ran; the new archive was not kept.")
    try:
        os.link(partial, target)
    except FileExistsError:
        raise appeared from None
    except OSError:
        # A file system without hard links: claim the name first (O_EXCL fails if anything
        # holds it), then put the archive over our own empty claim.
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise appeared from None
        os.replace(partial, target)
        return
    partial.unlink()


def _json(value) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True).encode()


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(datetime.datetime.now(datetime.UTC).timestamp())
    return info


def _media_files(root: Path):
    if not root.is_dir():
        return
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            if path.is_symlink() or not path.is_file():
                continue  # only the files the app wrote; a link could point anywhere
            yield path, path.relative_to(root).as_posix()


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Restoring ----------------------------------------------------------------------------


@dataclass
class Restored:
    created_at: str
    made_by: str
    engine: str
    tables: int
    rows: int
    media_files: int
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    created_at_shown: str = ""  # created_at in the practice's zone


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or any(part in ("", ".", "..") for part in path.parts) or "\\" in name:
        raise BackupError(f"The archive holds a member with an unsafe name ({name!r}); it was not made by Effleura.")
    return path


def _unpack(archive: Path, key: BackupKey, staging: Path, expected_engine: str) -> tuple[dict, dict[str, dict]]:
    """Decrypt and unpack ``archive`` into ``staging``, hashing every member. Returns the
    manifest and what was found. Stops at the first member when the engine differs."""
    found: dict[str, dict] = {}
    manifest = None
    try:
        raw = open(archive, "rb")  # noqa: SIM115 (closed in finally)
    except FileNotFoundError:
        raise BackupError(f"There is no archive at {archive}.") from None
    try:
        reader = DecryptingReader(raw, key)
        try:
            tar = tarfile.open(fileobj=reader, mode="r|")  # noqa: SIM115 (the with below closes it)
        except tarfile.TarError:
            raise BackupError("The archive decrypts, but what it holds is not a backup.") from None
        with tar:
            for number, member in enumerate(tar):
                name = _safe_name(member.name)
                if not member.isreg():  # links, devices, folders, fifos: never
                    raise BackupError(f"The archive holds {member.name!r}, which is not a plain file.")
                if str(name) in found or (str(name) == "manifest.json" and manifest is not None):
                    raise BackupError(f"The archive holds {member.name!r} twice.")
                source = tar.extractfile(member)
                if str(name) == "manifest.json":
                    manifest = json.loads(source.read())
                    continue
                if number == 0 and str(name) != "backup.json":
                    raise BackupError("The archive does not begin with its description (backup.json).")
                destination = staging / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                size = 0
                with open(os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                    while chunk := source.read(COPY_BYTES):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                found[str(name)] = {"size": size, "sha256": digest.hexdigest()}
                if number == 0:
                    about = json.loads(destination.read_text())
                    _check_about(about, expected_engine)
        reader.drain()  # the last segment's check proves nothing was cut off the end
    except (tarfile.TarError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BackupError(f"The archive decrypts, but what it holds is not a well-formed backup ({exc}).") from None
    finally:
        raw.close()
    if manifest is None:
        raise BackupError("The archive has no manifest: it is incomplete.")
    return manifest, found


def _check_about(about: dict, expected_engine: str) -> None:
    if about.get("format") != FORMAT:
        raise BackupError(f"This archive's contents are in format {about.get('format')}; this Effleura reads {FORMAT}.")
    if about.get("engine") != expected_engine:
        raise BackupError(
            f"This archive holds a {about.get('engine')} database, but this installation is configured for "
            f"{expected_engine} (EFFLEURA_DATABASE_URL). Restore into the same engine the backup came from. "
            "Nothing was restored."
        )


def _check_members(manifest: dict, found: dict[str, dict]) -> None:
    listed = manifest.get("members") or {}
    missing = sorted(set(listed) - set(found))
    extra = sorted(set(found) - set(listed))
    changed = sorted(name for name in set(listed) & set(found) if listed[name] != found[name])
    problems = []
    if missing:
        problems.append(f"missing from the archive: {', '.join(missing[:5])}")
    if extra:
        problems.append(f"not in the manifest: {', '.join(extra[:5])}")
    if changed:
        problems.append(f"checksum differs: {', '.join(changed[:5])}")
    if problems:
        raise BackupError(
            "The archive does not match its manifest (" + "; ".join(problems) + "). Nothing was restored."
        )


def _check_migrations(manifest: dict) -> list[str]:
    """Refuse an archive from a newer Effleura (migrations this code does not know);
    note the migrations to apply when it comes from an older one."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    applied = {(app, name) for app, names in manifest.get("migrations", {}).items() for name in names}
    ours = {key for key in applied if key[0] in {a for a, _ in known}}
    unknown = sorted(ours - known)
    if unknown:
        app, name = unknown[0]
        raise BackupError(
            f"The archive comes from a newer Effleura (its database has migration {app}.{name}, "
            f"which this version {_version()} does not know). Install the version that made it "
            f"({manifest.get('effleura_version')}) and restore with that."
        )
    pending = known - applied
    return (
        ["This version has migrations the archive predates: run `effleura migrate` after the restore."]
        if pending
        else []
    )


def restore_backup(
    archive: Path, key: BackupKey, *, force: bool = False, log: Callable[[str], None] = lambda _: None
) -> Restored:
    """Restore ``archive`` into the configured database, MEDIA_ROOT and the key files,
    then verify the restored database against the manifest's counts and hashes. Stop the
    app and the worker first. Refuses, before changing anything: another engine, a wrong
    key, a changed archive, and (unless ``force``) a database or media/ that holds data."""
    archive = Path(archive).resolve()
    db = _engine()
    media_root = Path(settings.MEDIA_ROOT)
    connections.close_all()
    if db.name == "sqlite":
        db.check_unused()
    occupied = db.has_data()
    media_used = media_root.is_dir() and any(media_root.iterdir())
    if (occupied or media_used) and not force:
        what = f"{db.describe()} holds data (in {', '.join(occupied[:3])}{'…' if len(occupied) > 3 else ''})"
        if not occupied:
            what = f"{media_root} holds files"
        raise BackupError(
            f"{what[0].upper()}{what[1:]}. Restoring would replace it; give --force to do so. Nothing was restored."
        )
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    media_root.parent.mkdir(parents=True, exist_ok=True)
    # Unpacked beside media/, so putting media/ in place is a rename; private (0700).
    staging = Path(tempfile.mkdtemp(prefix="restore-", dir=media_root.parent))
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        log("Decrypting and checking the archive…")
        manifest, found = _unpack(archive, key, staging, db.name)
        _check_about(manifest, db.name)
        _check_members(manifest, found)
        notes = _check_migrations(manifest)
        dump = staging / _database_member(manifest, db.dump_name)
        log(f"Restoring {db.describe()}…")
        if db.name == "sqlite":
            moved = db.restore(dump, stamp)
            notes += [f"The database that was there is kept at {path}." for path in moved[:1]]
        else:
            replace = bool(occupied) or db.has_tables()
            if replace:
                # pg_restore --clean drops what is there: keep a copy first, as SQLite's
                # database and media/ are kept aside.
                safety = settings.VAR_DIR / f"{db.path_name()}.replaced-{stamp}.pgdump"
                log(f"Keeping a copy of the database that is there in {safety}…")
                db.dump_to(safety)
                notes.append(f"The database that was there is kept at {safety} (pg_restore it to undo).")
            db.restore(dump, manifest["database"].get("pg_dump_major", 0), replace=replace)
        media_files = _restore_media(staging / "media", media_root, stamp, notes)
        notes += _restore_keys(staging / "keys", stamp if occupied or media_used else None)
        log("Verifying the restored database against the manifest…")
        problems = _compare(manifest["tables"], db.snapshot().tables)
        audit_key = (staging / "keys" / "audit_key").read_text()
        problems += verify_audit_seals(audit_key, notes)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    connections.close_all()
    if db.name == "postgresql":
        notes += _apply_roles(db)
    if not problems:
        # After the comparison and the seals' check: the event is the restored trail's next one.
        notes += _audit_restore(archive)
    rows = sum(t["rows"] for t in manifest["tables"].values())
    return Restored(
        manifest["created_at"],
        manifest["effleura_version"],
        db.name,
        len(manifest["tables"]),
        rows,
        media_files,
        notes,
        problems,
        _shown(manifest["created_at"]),
    )


def _database_member(manifest: dict, expected: str) -> PurePosixPath:
    """The database's member: only ever the engine's own dump name (the manifest is
    signed by the archive's key, but nothing in it may pick a path to move into place)."""
    member = str((manifest.get("database") or {}).get("member", ""))
    if str(_safe_name(member)) != expected:
        raise BackupError(
            f"The archive's manifest names {member!r} as the database; a backup of this engine holds it as "
            f"{expected!r}. It was not made by Effleura. Nothing was restored."
        )
    return PurePosixPath(expected)


def _audit_restore(archive: Path) -> list[str]:
    token = audit.client_address.set(audit.client_address.get() or "cli")
    try:
        audit.record(None, AuditAction.UPDATE, "restore", detail=f"restored from backup archive {archive.name}")
    except DatabaseError:
        return [
            "The restore could not be audited yet (the archive predates this version's audit table): "
            "run `effleura migrate`."
        ]
    finally:
        audit.client_address.reset(token)
        connections.close_all()
    return []


def _shown(created_at: str) -> str:
    """The archive's time in the practice's zone (the restored database names it)."""
    try:
        moment = datetime.datetime.fromisoformat(created_at)
        clock.forget_practice_zone()
        return clock.stamp(moment)
    except (ValueError, DatabaseError):
        return created_at
    finally:
        connections.close_all()


def _apply_roles(db) -> list[str]:
    """pg_restore --no-owner --no-privileges leaves every table owned by the restoring
    user, with no grants: the least-privilege app role of `effleura db roles` would get
    nothing. Where those roles exist, hand the tables back (the same SQL as
    `effleura db roles --apply`); where the restoring user may not, say it is the next step."""
    import psycopg

    connection = db.connect()
    try:
        found = {
            name
            for (name,) in connection.execute(
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [[db_roles.DEFAULT_OWNER, db_roles.DEFAULT_APP]]
            )
        }
        if found != {db_roles.DEFAULT_OWNER, db_roles.DEFAULT_APP}:
            return [
                "If the app connects as a role of its own (docs/configuration.md), run `effleura db roles --apply` "
                "as a superuser now: the restored tables belong to the user who restored them."
            ]
        try:
            with connection.transaction():
                connection.execute(db_roles.roles_sql(db.db["NAME"]))
        except psycopg.Error as exc:
            return [
                f"The roles {db_roles.DEFAULT_OWNER} and {db_roles.DEFAULT_APP} could not be given their rights on the "
                f"restored tables ({str(exc).strip().splitlines()[0]}). Required next step: run "
                "`effleura db roles --apply` as a superuser before starting the app."
            ]
        return [
            f"The restored tables belong to {db_roles.DEFAULT_OWNER} again and {db_roles.DEFAULT_APP} has its rights "
            "(as `effleura db roles --apply` sets them)."
        ]
    finally:
        connection.close()


def _restore_media(staged: Path, media_root: Path, stamp: str, notes: list[str]) -> int:
    count = sum(1 for p in staged.rglob("*") if p.is_file()) if staged.is_dir() else 0
    if media_root.exists() and any(media_root.iterdir()):
        aside = media_root.with_name(f"{media_root.name}.replaced-{stamp}")
        os.replace(media_root, aside)
        notes.append(f"The media/ that was there is kept at {aside}.")
    elif media_root.exists():
        media_root.rmdir()
    if staged.is_dir():
        os.replace(staged, media_root)
    else:
        media_root.mkdir(parents=True)
    media_root.chmod(0o700)
    return count


def _restore_keys(staged: Path, stamp: str | None) -> list[str]:
    """Write the archive's keys to var/ (0600), unless the environment supplies that key:
    then say what to set it to instead (the environment wins over the file). When the
    restore replaces data (``stamp`` given), a different key file already there is kept
    aside as <name>.replaced-<stamp>, like the database: it is what reads that data's
    sessions and checks its seals. (Into an empty installation, the keys there were made
    at its first start and protect nothing.)"""
    notes = []
    for file_name, env_name in KEY_SETTINGS.items():
        value = (staged / file_name).read_text()
        if os.environ.get(env_name):
            if os.environ[env_name] != value:
                notes.append(
                    f"{env_name} is set in the environment and differs from the archive's key: set {env_name} "
                    f"to the archive's {file_name} instead: `effleura restore` wrote it to "
                    f"{settings.VAR_DIR / (file_name + '.restored')} (0600); move it into your secret store, "
                    "then delete that file."
                )
                _write_private(settings.VAR_DIR / f"{file_name}.restored", value)
            continue
        current = settings.VAR_DIR / file_name
        if stamp and current.exists() and current.read_text().strip() != value:
            aside = current.with_name(f"{file_name}.replaced-{stamp}")
            os.replace(current, aside)
            notes.append(f"The {file_name} that was there is kept at {aside}.")
        _write_private(current, value)
    return notes


def _write_private(path: Path, value: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def _compare(expected: dict[str, dict], restored: dict[str, dict]) -> list[str]:
    problems = []
    for table in sorted(set(expected) | set(restored)):
        if table not in restored:
            problems.append(f"table {table} is missing from the restored database")
        elif table not in expected:
            problems.append(f"table {table} is in the restored database but not in the archive")
        elif restored[table]["rows"] != expected[table]["rows"]:
            problems.append(
                f"table {table} has {restored[table]['rows']} rows; the backup had {expected[table]['rows']}"
            )
        elif restored[table]["sha256"] != expected[table]["sha256"]:
            problems.append(f"table {table} has the right number of rows but different contents")
    return problems


def verify_audit_seals(audit_key: str, notes: list[str]) -> list[str]:
    """Check the restored audit trail's seals (effleura.core.seals) with the archive's
    audit key; returns the problems found. The run is recorded like any verification.
    An archive from before the seals existed has no seal table: a note says so."""
    from effleura.core import seals

    connections.close_all()
    if "core_auditseal" not in connections["default"].introspection.table_names():
        notes.append(
            "Audit seals: not checked (the archive predates sealing); run `effleura migrate`, then "
            "`effleura audit seal` seals the trail from here on."
        )
        return []
    previous = settings.EFFLEURA_AUDIT_KEY
    settings.EFFLEURA_AUDIT_KEY = audit_key
    try:
        report = seals.verify(by="effleura restore (command line)")
    finally:
        settings.EFFLEURA_AUDIT_KEY = previous
        connections.close_all()
    notes.append(f"Audit seals: {report.sealed} events sealed, {report.unsealed} not yet sealed.")
    notes += [f"Audit seals: {warning}" for warning in report.warnings]
    return [f"audit trail: {problem}" for problem in report.problems]
