"""Backup and restore (issue 12 item 10): one encrypted archive of the database, media/
and the keys, made while the app writes, restored into a fresh directory on each engine
and compared table by table; and every refusal (wrong key, changed archive, other
engine, data in the way, missing or existing key files).

The commands run as subprocesses against their own EFFLEURA_VAR_DIR (and, on PostgreSQL,
their own databases in the with_postgres cluster), as an operator runs them.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import dj_database_url
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from effleura.core import backup_crypto, backup_db
from effleura.core.backup_crypto import BackupError, BackupKey, DecryptingReader, EncryptingWriter

WRITER = Path(__file__).with_name("backup_writer.py")
# These use SQLite whatever the pass; the PostgreSQL pass of `make test` need not repeat them.
sqlite_pass = pytest.mark.skipif(
    os.environ.get("EFFLEURA_DATABASE_URL", "").startswith("postgres"), reason="SQLite only: runs in the SQLite pass"
)
# The writer updates the chart-number counter; every other table only grows under load.
UPDATED_BY_THE_WRITER = {
    "patients_chartnumbersequence",
    # SQLite's patient search index (patients/search_index.py): FTS5 merges its segments as
    # patients are written, so its rows are rewritten, not only added.
    "patients_patient_search",
    "patients_patient_search_data",
    "patients_patient_search_idx",
    "patients_patient_search_docsize",
    "patients_patient_search_config",
}
# A restore appends its own audit event and records its check of the seals: one row each.
ADDED_BY_THE_RESTORE = {"core_auditevent", "core_auditverification"}
# Recording that check moves the keyed record of the newest verification (core/seals.py).
MOVED_BY_THE_RESTORE = {"core_auditsealstate"}


def assert_restored(restored: dict[str, dict], counted: dict[str, dict]) -> None:
    """Every table as the manifest counted it, but for the restore's own two rows."""
    assert set(restored) == set(counted)
    for table, expected in counted.items():
        if table in ADDED_BY_THE_RESTORE:
            assert restored[table]["rows"] == expected["rows"] + 1, table
        elif table in MOVED_BY_THE_RESTORE:
            assert restored[table]["rows"] == expected["rows"], table
        else:
            assert restored[table] == expected, table


@dataclass
class Place:
    """One installation: its var/ directory and its database."""

    var_dir: Path
    url: str
    engine: str

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EFFLEURA_")}
        env.update(DJANGO_SETTINGS_MODULE="effleura.settings", EFFLEURA_VAR_DIR=str(self.var_dir))
        env["EFFLEURA_DATABASE_URL"] = self.url
        return env

    @property
    def db(self) -> dict:
        parsed = dj_database_url.parse(self.url)
        if self.engine == "postgresql":
            parsed["ENGINE"] = "django.db.backends.postgresql"
        return parsed

    def run(self, *args: str, check: bool = True, **extra_env: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "effleura.cli", *args],
            env={**self.env, **extra_env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(f"`effleura {' '.join(args)}` failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        return result

    def snapshot(self) -> dict[str, dict]:
        return backup_db.engine(self.db).snapshot().tables

    def rows(self, table: str) -> list[str]:
        """Every row of ``table``, read with the engine's own driver (not the backup code)."""
        quoted = '"' + table.replace('"', '""') + '"'
        if self.engine == "sqlite":
            connection = sqlite3.connect(self.db["NAME"])
            try:
                return [repr(row) for row in connection.execute(f"SELECT * FROM {quoted}")]  # noqa: S608
            finally:
                connection.close()
        import psycopg

        with psycopg.connect(_conninfo(self.url)) as connection:
            return [repr(row) for row in connection.execute(f"SELECT * FROM {quoted}")]  # noqa: S608


def _last_event(place: Place) -> dict:
    sql = "SELECT record_type, action, client_address, detail FROM core_auditevent ORDER BY id DESC LIMIT 1"
    if place.engine == "sqlite":
        connection = sqlite3.connect(place.db["NAME"])
        try:
            row = connection.execute(sql).fetchone()
        finally:
            connection.close()
    else:
        import psycopg

        with psycopg.connect(_conninfo(place.url)) as connection:
            row = connection.execute(sql).fetchone()
    return dict(zip(("record_type", "action", "client_address", "detail"), row, strict=True))


def _conninfo(url: str) -> str:
    db = dj_database_url.parse(url)
    parts = {"dbname": db["NAME"], "user": db["USER"], "host": db["HOST"], "port": db["PORT"]}
    parts["password"] = db["PASSWORD"]
    return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)


def _admin_url() -> str:
    url = os.environ.get("EFFLEURA_DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("needs PostgreSQL (scripts/with_postgres.py sets EFFLEURA_DATABASE_URL)")
    return url


class Places:
    """Makes fresh installations; drops the PostgreSQL databases it made at the end."""

    def __init__(self, tmp_path_factory):
        self.tmp = tmp_path_factory
        self.databases: list[str] = []

    def new(self, engine: str) -> Place:
        var_dir = self.tmp.mktemp(f"backup-{engine}")
        if engine == "sqlite":
            return Place(var_dir, f"sqlite:///{var_dir / 'effleura.sqlite3'}", engine)
        import psycopg

        admin = _admin_url()
        name = f"backup_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(_conninfo(admin), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return Place(var_dir, admin.rsplit("/", 1)[0] + f"/{name}", engine)

    def drop_all(self) -> None:
        if not self.databases:
            return
        import psycopg

        with psycopg.connect(_conninfo(_admin_url()), autocommit=True) as connection:
            for name in self.databases:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    made = Places(tmp_path_factory)
    yield made
    made.drop_all()


@dataclass
class Backup:
    source: Place
    archive: Path
    key_file: Path
    before_load: dict[str, dict]
    after_load: dict[str, dict]

    def members(self) -> dict[str, bytes]:
        return read_archive(self.archive, self.key_file)

    def manifest(self) -> dict:
        return json.loads(self.members()["manifest.json"])


def read_archive(archive: Path, key_file: Path) -> dict[str, bytes]:
    with open(archive, "rb") as raw:
        reader = DecryptingReader(raw, BackupKey.read(key_file))
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            members = {member.name: tar.extractfile(member).read() for member in tar}
        reader.drain()
    return members


def _backed_up_demo(places: Places, engine: str) -> Backup:
    """The demo clinic with an uploaded scan, backed up while a writer adds patients and
    audit events; the writer goes on after the backup ends."""
    source = places.new(engine)
    source.run("migrate", "-v", "0")
    source.run("demo")
    assert "Sealed" in source.run("audit", "seal").stdout  # the demo's events, sealed before the backup
    media = source.var_dir / "media" / "uploads" / "scan.pdf"
    media.parent.mkdir(parents=True, exist_ok=True)
    media.write_bytes(b"%PDF-1.4 a scanned referral\n" + os.urandom(3000))
    key_file = source.var_dir.parent / f"{source.var_dir.name}.key"
    source.run("backup", "--new-key", str(key_file))
    before_load = source.snapshot()
    stop = source.var_dir / "stop-writing"
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), str(stop)], env=source.env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "ready"
        archive = source.var_dir.parent / f"{source.var_dir.name}.effleura-backup"
        source.run("backup", str(archive), "--key-file", str(key_file))
        time.sleep(0.5)  # the writer commits more after the snapshot
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0
    assert int(out.strip().splitlines()[-1]) > 5
    return Backup(source, archive, key_file, before_load, source.snapshot())


@pytest.fixture(scope="module")
def sqlite_demo(places) -> Backup:
    return _backed_up_demo(places, "sqlite")


@pytest.fixture(scope="module")
def postgresql_demo(places) -> Backup:
    return _backed_up_demo(places, "postgresql")


# The round trip, on each engine --------------------------------------------------------


@pytest.mark.parametrize(
    "engine", [pytest.param("sqlite", marks=sqlite_pass), pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_backup_under_write_load_restores_every_table_of_its_snapshot_into_a_fresh_directory(engine, places, request):
    made: Backup = request.getfixturevalue(f"{engine}_demo")
    manifest = made.manifest()
    counted = manifest["tables"]
    # The snapshot lies inside the write load: some of the writer's rows are in it, and
    # the rows written after it are, correctly, not.
    for table in ("patients_patient", "core_auditevent"):
        assert made.before_load[table]["rows"] < counted[table]["rows"] < made.after_load[table]["rows"]

    target = places.new(engine)
    result = target.run("restore", str(made.archive), "--key-file", str(made.key_file))
    assert "match the manifest" in result.stdout
    # The seals made before the backup verify in the restored database, with its key.
    sealed = re.search(r"Audit seals: (\d+) events sealed", result.stdout)
    assert sealed and int(sealed.group(1)) > 0, result.stdout
    # Shown in the practice's zone, not in UTC.
    assert re.search(r"Restored the backup of \d{4}-\d\d-\d\d \d\d:\d\d [A-Z+-]", result.stdout), result.stdout
    assert manifest["created_at"] not in result.stdout

    restored = target.snapshot()
    assert len(counted) > 50
    assert_restored(restored, counted)  # every table: its row count and its content hash
    # Read independently of the backup code: every restored row is a row of the source.
    for table in counted:
        rows = target.rows(table)
        assert len(rows) == counted[table]["rows"] + (table in ADDED_BY_THE_RESTORE), table
        if table not in UPDATED_BY_THE_WRITER | ADDED_BY_THE_RESTORE | MOVED_BY_THE_RESTORE:
            assert set(rows) <= set(made.source.rows(table)), table
    # The restore itself is audited: kind and archive name only, from the command line.
    last = target.rows("core_auditevent")
    event = _last_event(target)
    assert (event["record_type"], event["action"], event["client_address"]) == ("restore", "update", "cli")
    assert made.archive.name in event["detail"] and str(made.archive.parent) not in event["detail"]
    assert len(last) == counted["core_auditevent"]["rows"] + 1
    assert counted["patients_patient"]["rows"] > 0 and counted["scheduling_appointment"]["rows"] > 0

    # media/ and the keys came along, the keys readable by the owner only.
    assert (target.var_dir / "media" / "uploads" / "scan.pdf").read_bytes() == (
        made.source.var_dir / "media" / "uploads" / "scan.pdf"
    ).read_bytes()
    for key in ("secret_key", "audit_key"):
        assert (target.var_dir / key).read_text() == (made.source.var_dir / key).read_text()
        assert (target.var_dir / key).stat().st_mode & 0o777 == 0o600
    # The restored installation is whole: its migrations are the code's.
    target.run("migrate", "--check")
    # And its audit trail, with the restore's own event, verifies with the restored key.
    target.run("audit", "seal")
    assert "The audit trail verifies." in target.run("audit", "verify").stdout


@sqlite_pass
def test_the_manifest_describes_the_snapshot_and_checksums_every_member(sqlite_demo):
    members = sqlite_demo.members()
    manifest = json.loads(members["manifest.json"])
    assert manifest["format"] == 1 and manifest["engine"] == "sqlite"
    assert manifest["effleura_version"] and manifest["created_at"].endswith("Z")
    assert "0001_initial" in manifest["migrations"]["core"]
    names = [name for name in members if name != "manifest.json"]
    assert names[0] == "backup.json"
    assert {"database/effleura.sqlite3", "keys/secret_key", "keys/audit_key", "media/uploads/scan.pdf"} <= set(names)
    assert set(manifest["members"]) == set(names)
    import hashlib

    for name in names:
        assert manifest["members"][name]["sha256"] == hashlib.sha256(members[name]).hexdigest(), name


@sqlite_pass
def test_the_archive_holds_no_plain_text(sqlite_demo):
    raw = sqlite_demo.archive.read_bytes()
    secret = (sqlite_demo.source.var_dir / "secret_key").read_bytes()
    assert raw.startswith(backup_crypto.MAGIC)
    for clear in (b"SQLite format 3", b"manifest.json", secret, b"Writer1", b"%PDF"):
        assert clear not in raw
    assert sqlite_demo.archive.stat().st_mode & 0o777 == 0o600


# Refusals ----------------------------------------------------------------------------


def _restore(target: Place, made: Backup, *args: str, archive: Path | None = None, **env):
    return target.run("restore", str(archive or made.archive), *args, check=False, **env)


@sqlite_pass
def test_a_wrong_key_is_named_as_such_and_restores_nothing(sqlite_demo, places, tmp_path):
    target = places.new("sqlite")
    other = tmp_path / "other.key"
    target.run("backup", "--new-key", str(other))
    result = _restore(target, sqlite_demo, "--key-file", str(other))
    assert result.returncode != 0
    assert "made with another backup key" in result.stderr
    assert not (target.var_dir / "effleura.sqlite3").exists()


@sqlite_pass
@pytest.mark.parametrize("where", ["header", "middle", "last byte"])
def test_a_changed_byte_anywhere_fails_the_restore(sqlite_demo, places, tmp_path, where):
    data = bytearray(sqlite_demo.archive.read_bytes())
    at = {"header": 20, "middle": len(data) // 2, "last byte": len(data) - 1}[where]
    data[at] ^= 0x01
    tampered = tmp_path / "tampered.effleura-backup"
    tampered.write_bytes(bytes(data))
    target = places.new("sqlite")
    result = _restore(target, sqlite_demo, "--key-file", str(sqlite_demo.key_file), archive=tampered)
    assert result.returncode != 0
    assert "another backup key" in result.stderr or "damaged, truncated or was changed" in result.stderr
    assert not (target.var_dir / "effleura.sqlite3").exists()
    assert not (target.var_dir / "media").exists() or not any((target.var_dir / "media").iterdir())


@sqlite_pass
def test_an_archive_cut_at_a_segment_boundary_fails_the_restore(sqlite_demo, places, tmp_path):
    data = sqlite_demo.archive.read_bytes()
    segment = backup_crypto.SEGMENT + backup_crypto.TAG_BYTES
    assert len(data) > backup_crypto.HEADER_BYTES + 2 * segment
    cut = tmp_path / "cut.effleura-backup"
    cut.write_bytes(data[: backup_crypto.HEADER_BYTES + 2 * segment])
    target = places.new("sqlite")
    result = _restore(target, sqlite_demo, "--key-file", str(sqlite_demo.key_file), archive=cut)
    assert result.returncode != 0
    assert "damaged, truncated or was changed" in result.stderr
    assert not (target.var_dir / "effleura.sqlite3").exists()


@sqlite_pass
def test_it_refuses_a_database_with_data_unless_forced_and_keeps_the_old_one_aside(sqlite_demo, places):
    target = places.new("sqlite")
    assert _restore(target, sqlite_demo, "--key-file", str(sqlite_demo.key_file)).returncode == 0
    result = _restore(target, sqlite_demo, "--key-file", str(sqlite_demo.key_file))
    assert result.returncode != 0
    assert "holds data" in result.stderr and "--force" in result.stderr
    # The installation has keys of its own by now: they are kept aside too, not overwritten.
    (target.var_dir / "secret_key").write_text("the installation's own secret key")
    (target.var_dir / "audit_key").write_text("the installation's own audit key")
    forced = _restore(target, sqlite_demo, "--key-file", str(sqlite_demo.key_file), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "kept at" in forced.stdout
    assert list(target.var_dir.glob("effleura.sqlite3.replaced-*"))
    assert list(target.var_dir.glob("media.replaced-*"))
    for key in ("secret_key", "audit_key"):
        (aside,) = target.var_dir.glob(f"{key}.replaced-*")
        assert aside.read_text() == f"the installation's own {key.replace('_', ' ')}"
        assert (target.var_dir / key).read_text() == (sqlite_demo.source.var_dir / key).read_text()
        assert f"The {key} that was there is kept at {aside}" in forced.stdout
    assert_restored(target.snapshot(), sqlite_demo.manifest()["tables"])


@sqlite_pass
def test_it_refuses_without_a_key_file_or_with_a_missing_one(sqlite_demo, places, tmp_path):
    target = places.new("sqlite")
    result = _restore(target, sqlite_demo)
    assert result.returncode != 0 and "--key-file" in result.stderr
    result = _restore(target, sqlite_demo, "--key-file", str(tmp_path / "nowhere.key"))
    assert result.returncode != 0 and "There is no backup key file" in result.stderr
    result = target.run("backup", str(tmp_path / "a.effleura-backup"), check=False)
    assert result.returncode != 0 and "EFFLEURA_BACKUP_KEY_FILE" in result.stderr
    assert not (tmp_path / "a.effleura-backup").exists()


@sqlite_pass
def test_a_new_key_is_private_and_never_overwrites_a_key_file(places, tmp_path):
    place = places.new("sqlite")
    key_file = tmp_path / "backup.key"
    made = place.run("backup", "--new-key", str(key_file))
    assert "fingerprint" in made.stdout
    assert key_file.stat().st_mode & 0o777 == 0o600
    before = key_file.read_bytes()
    again = place.run("backup", "--new-key", str(key_file), check=False)
    assert again.returncode != 0 and "exists already" in again.stderr
    assert key_file.read_bytes() == before


@sqlite_pass
def test_a_backup_never_overwrites_an_archive(sqlite_demo):
    result = sqlite_demo.source.run(
        "backup", str(sqlite_demo.archive), "--key-file", str(sqlite_demo.key_file), check=False
    )
    assert result.returncode != 0 and "exists already" in result.stderr


@sqlite_pass
def test_the_key_file_can_come_from_the_environment_and_keys_set_there_are_named_not_written(sqlite_demo, places):
    target = places.new("sqlite")
    result = _restore(
        target, sqlite_demo, EFFLEURA_BACKUP_KEY_FILE=str(sqlite_demo.key_file), EFFLEURA_SECRET_KEY="x" * 64
    )
    assert result.returncode == 0, result.stderr
    assert "set EFFLEURA_SECRET_KEY to the archive's secret_key" in result.stdout
    source_key = (sqlite_demo.source.var_dir / "secret_key").read_text()
    assert (target.var_dir / "secret_key.restored").read_text() == source_key
    assert (target.var_dir / "secret_key.restored").stat().st_mode & 0o777 == 0o600
    assert (target.var_dir / "audit_key").read_text() == (sqlite_demo.source.var_dir / "audit_key").read_text()


@pytest.mark.postgres
def test_it_refuses_an_archive_from_the_other_engine(postgresql_demo, places):
    into_sqlite = places.new("sqlite")
    result = _restore(into_sqlite, postgresql_demo, "--key-file", str(postgresql_demo.key_file))
    assert result.returncode != 0
    assert "holds a postgresql database, but this installation is configured for sqlite" in result.stderr
    assert not (into_sqlite.var_dir / "effleura.sqlite3").exists()
    # And the other way: a (small) SQLite installation's archive into PostgreSQL.
    into_sqlite.run("migrate", "-v", "0")
    archive = into_sqlite.var_dir.parent / "small.effleura-backup"
    into_sqlite.run("backup", str(archive), "--key-file", str(postgresql_demo.key_file))
    into_postgres = places.new("postgresql")
    result = _restore(into_postgres, postgresql_demo, "--key-file", str(postgresql_demo.key_file), archive=archive)
    assert result.returncode != 0 and "configured for postgresql" in result.stderr
    assert not into_postgres.snapshot()


@pytest.mark.postgres
def test_postgres_refuses_a_database_with_data_unless_forced(postgresql_demo, places):
    target = places.new("postgresql")
    assert _restore(target, postgresql_demo, "--key-file", str(postgresql_demo.key_file)).returncode == 0
    again = _restore(target, postgresql_demo, "--key-file", str(postgresql_demo.key_file))
    assert again.returncode != 0 and "holds data" in again.stderr
    before = target.snapshot()
    forced = _restore(target, postgresql_demo, "--key-file", str(postgresql_demo.key_file), "--force")
    assert forced.returncode == 0, forced.stderr
    assert_restored(target.snapshot(), postgresql_demo.manifest()["tables"])
    # pg_restore --clean dropped the data that was there, but a copy of it was taken first.
    (safety,) = target.var_dir.glob("*.replaced-*.pgdump")
    assert safety.stat().st_mode & 0o777 == 0o600
    assert f"kept at {safety}" in forced.stdout
    undo = places.new("postgresql")
    pg_restore = backup_db.engine(undo.db).tool("pg_restore", 0)
    subprocess.run([pg_restore, "--no-owner", "--dbname", _conninfo(undo.url), str(safety)], check=True)
    assert undo.snapshot() == before


# The encrypted stream -----------------------------------------------------------------


def _encrypt(data: bytes, key: BackupKey) -> bytes:
    out = io.BytesIO()
    writer = EncryptingWriter(out, key)
    writer.write(data)
    writer.close()
    return out.getvalue()


def _decrypt(blob: bytes, key: BackupKey) -> bytes:
    reader = DecryptingReader(io.BytesIO(blob), key)
    return reader.read()


KEY = BackupKey.generate()


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=200), flip=st.integers(min_value=0))
def test_the_stream_round_trips_and_any_changed_byte_fails(data, flip):
    with mock.patch.object(backup_crypto, "SEGMENT", 16):  # small segments: many boundaries
        blob = _encrypt(data, KEY)
        assert _decrypt(blob, KEY) == data
        changed = bytearray(blob)
        changed[flip % len(blob)] ^= 0x80
        with pytest.raises(BackupError):
            _decrypt(bytes(changed), KEY)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=1, max_size=200), keep=st.integers(min_value=0))
def test_a_stream_cut_short_anywhere_fails(data, keep):
    with mock.patch.object(backup_crypto, "SEGMENT", 16):
        blob = _encrypt(data, KEY)
        with pytest.raises(BackupError):
            _decrypt(blob[: keep % len(blob)], KEY)


def test_segments_swapped_fail_their_check():
    with mock.patch.object(backup_crypto, "SEGMENT", 16):
        blob = _encrypt(bytes(range(64)), KEY)
        head, size = backup_crypto.HEADER_BYTES, 16 + backup_crypto.TAG_BYTES
        first, second = blob[head : head + size], blob[head + size : head + 2 * size]
        swapped = blob[:head] + second + first + blob[head + 2 * size :]
        with pytest.raises(BackupError, match="segment 0 fails its check"):
            _decrypt(swapped, KEY)


def test_a_malformed_key_file_is_refused_in_words(tmp_path):
    path = tmp_path / "k"
    path.write_text("not a key\n")
    with pytest.raises(BackupError, match="is not an Effleura backup key file"):
        BackupKey.read(path)
    path.write_text(backup_crypto.KEY_PREFIX + "c2hvcnQ=\n")
    with pytest.raises(BackupError, match="does not hold a 256-bit backup key"):
        BackupKey.read(path)
    with pytest.raises(BackupError, match="not an Effleura backup archive"):
        DecryptingReader(io.BytesIO(b"PK\x03\x04 a zip file"), KEY)


def test_it_refuses_an_archive_from_a_newer_effleura():
    from effleura.core import backup

    newer = {"migrations": {"core": ["0001_initial", "9999_from_the_future"]}, "effleura_version": "9.0"}
    with pytest.raises(BackupError, match=r"comes from a newer Effleura .*core\.9999_from_the_future"):
        backup._check_migrations(newer)
    older = {"migrations": {"core": ["0001_initial"]}, "effleura_version": "0.0.1"}
    assert "run `effleura migrate`" in backup._check_migrations(older)[0]


def test_a_restored_table_that_differs_is_named_in_words():
    from effleura.core import backup

    expected = {"a": {"rows": 2, "sha256": "x"}, "b": {"rows": 1, "sha256": "y"}, "c": {"rows": 0, "sha256": "z"}}
    restored = {"a": {"rows": 1, "sha256": "x"}, "b": {"rows": 1, "sha256": "other"}, "d": {"rows": 0, "sha256": "z"}}
    assert backup._compare(expected, restored) == [
        "table a has 1 rows; the backup had 2",
        "table b has the right number of rows but different contents",
        "table c is missing from the restored database",
        "table d is in the restored database but not in the archive",
    ]


# The reviewer's findings --------------------------------------------------------------


def _write_archive(path: Path, key_file: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    """An archive made with the right key, holding exactly ``members`` (as someone with
    the key could make it)."""
    with open(path, "wb") as raw:
        writer = EncryptingWriter(raw, BackupKey.read(key_file))
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for info, data in members:
                tar.addfile(info, io.BytesIO(data) if data is not None else None)
        writer.close()
    return path


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


@sqlite_pass
def test_a_manifest_cannot_choose_what_is_moved_into_the_databases_place(sqlite_demo, places, tmp_path):
    members = sqlite_demo.members()
    manifest = json.loads(members.pop("manifest.json"))
    manifest["database"]["member"] = "keys/secret_key"
    listed = [_file(name, data) for name, data in members.items()]
    archive = _write_archive(
        tmp_path / "other-member.effleura-backup",
        sqlite_demo.key_file,
        [*listed, _file("manifest.json", json.dumps(manifest).encode())],
    )
    target = places.new("sqlite")
    result = _restore(target, sqlite_demo, "--key-file", str(sqlite_demo.key_file), archive=archive)
    assert result.returncode != 0
    assert "names 'keys/secret_key' as the database" in result.stderr
    assert not (target.var_dir / "effleura.sqlite3").exists()


@sqlite_pass
@pytest.mark.parametrize("kind", ["symlink", "hard link", "device", "folder", "traversal"])
def test_links_devices_and_paths_out_of_the_archive_are_refused(sqlite_demo, places, tmp_path, kind):
    members = sqlite_demo.members()
    first = _file("backup.json", members["backup.json"])
    if kind == "traversal":
        odd = _file("media/../../outside", b"x")
    else:
        info = tarfile.TarInfo("media/odd")
        info.type = {
            "symlink": tarfile.SYMTYPE,
            "hard link": tarfile.LNKTYPE,
            "device": tarfile.CHRTYPE,
            "folder": tarfile.DIRTYPE,
        }[kind]
        info.linkname = "/etc/passwd" if kind in ("symlink", "hard link") else ""
        odd = (info, None)
    archive = _write_archive(tmp_path / f"{kind}.effleura-backup", sqlite_demo.key_file, [first, odd])
    target = places.new("sqlite")
    result = _restore(target, sqlite_demo, "--key-file", str(sqlite_demo.key_file), archive=archive)
    assert result.returncode != 0
    assert "unsafe name" in result.stderr or "not a plain file" in result.stderr
    assert not (target.var_dir / "effleura.sqlite3").exists()
    assert not (tmp_path.parent / "outside").exists()


@sqlite_pass
def test_a_restore_refuses_while_the_app_or_a_worker_holds_the_database(sqlite_demo, places):
    target = places.new("sqlite")
    assert _restore(target, sqlite_demo, "--key-file", str(sqlite_demo.key_file)).returncode == 0
    app = sqlite3.connect(target.db["NAME"], isolation_level=None)
    try:
        app.execute("BEGIN IMMEDIATE")  # a request or a worker in the middle of a write
        result = _restore(target, sqlite_demo, "--key-file", str(sqlite_demo.key_file), "--force")
    finally:
        app.execute("ROLLBACK")
        app.close()
    assert result.returncode != 0
    assert "stop the app and workers first" in result.stderr
    assert not list(target.var_dir.glob("*.replaced-*"))


@sqlite_pass
def test_a_backup_never_touches_another_backups_partial_file(sqlite_demo, tmp_path):
    archive = tmp_path / "overlap.effleura-backup"
    other = tmp_path / f".{archive.name}.partial"  # the old fixed name, as another run might hold it
    other.write_bytes(b"another backup, still being written")
    sqlite_demo.source.run("backup", str(archive), "--key-file", str(sqlite_demo.key_file))
    assert other.read_bytes() == b"another backup, still being written"
    assert archive.exists() and sorted(p.name for p in tmp_path.iterdir()) == sorted([archive.name, other.name])


def test_publishing_without_hard_links_never_replaces_an_archive_that_appeared(tmp_path):
    from effleura.core import backup

    partial, target = tmp_path / ".a.partial", tmp_path / "a.effleura-backup"
    partial.write_bytes(b"new")

    def no_links_and_a_rival(source, destination):
        target.write_bytes(b"the other backup's archive")
        raise PermissionError(1, "Operation not permitted")

    with mock.patch.object(backup.os, "link", no_links_and_a_rival), pytest.raises(BackupError, match="appeared"):
        backup._publish(partial, target)
    assert target.read_bytes() == b"the other backup's archive"
    target.unlink()
    with mock.patch.object(backup.os, "link", side_effect=PermissionError(1, "no links")):
        backup._publish(partial, target)
    assert target.read_bytes() == b"new" and not partial.exists()


@pytest.mark.postgres
def test_after_a_restore_the_app_role_has_its_rights_and_cannot_rewrite_the_audit_trail(postgresql_demo, places):
    import psycopg

    target = places.new("postgresql")
    with psycopg.connect(_conninfo(_admin_url()), autocommit=True) as connection:  # the installation's two roles
        for role in ("effleura_owner", "effleura_app"):
            connection.execute(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
                f"THEN CREATE ROLE {role} LOGIN; END IF; END $$"
            )
    result = _restore(target, postgresql_demo, "--key-file", str(postgresql_demo.key_file))
    assert result.returncode == 0, result.stderr
    assert "effleura_app has its rights" in result.stdout
    app = _conninfo(target.url.replace("//effleura@", "//effleura_app@", 1))
    assert "effleura_app" in app
    with psycopg.connect(app) as connection:
        assert connection.execute("SELECT count(*) FROM patients_patient").fetchone()[0] > 0
        changed = connection.execute(
            "UPDATE patients_patient SET preferred_name = preferred_name "
            "WHERE id = (SELECT min(id) FROM patients_patient)"
        )
        assert changed.rowcount == 1
        connection.rollback()
        for sql in ("UPDATE core_auditevent SET detail = 'tampered'", "DELETE FROM core_auditseal"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(sql)
            connection.rollback()
        owners = connection.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'").fetchall()
    assert owners == [("effleura_owner",)]


@sqlite_pass
def test_a_restored_trail_with_a_changed_event_is_reported_and_the_restore_fails(places, tmp_path):
    source = places.new("sqlite")
    source.run("migrate", "-v", "0")
    key_file = tmp_path / "backup.key"
    source.run("backup", "--new-key", str(key_file))
    source.run("backup", str(tmp_path / "first.effleura-backup"), "--key-file", str(key_file))  # one audit event
    assert "Sealed 1 event" in source.run("audit", "seal").stdout
    connection = sqlite3.connect(source.db["NAME"])
    try:  # someone with the database file, not the key, rewrites history
        connection.execute("DROP TRIGGER core_auditevent_no_update")
        connection.execute("UPDATE core_auditevent SET detail = 'nothing happened'")
        connection.commit()
    finally:
        connection.close()
    archive = source.run("backup", str(tmp_path / "second.effleura-backup"), "--key-file", str(key_file))
    assert archive.returncode == 0
    target = places.new("sqlite")
    result = target.run("restore", str(tmp_path / "second.effleura-backup"), "--key-file", str(key_file), check=False)
    assert result.returncode == 1
    assert "does NOT match the backup" in result.stderr and "audit trail:" in result.stderr
    assert _last_event(target)["record_type"] != "restore"  # a failed restore is not recorded as done


def test_an_archive_from_before_the_seals_is_noted_not_a_traceback(db):
    from django.db import connections

    from effleura.core import backup

    notes: list[str] = []
    introspection = connections["default"].introspection
    with (
        mock.patch.object(backup.connections, "close_all"),
        mock.patch.object(introspection, "table_names", return_value=["core_auditevent", "patients_patient"]),
    ):
        assert backup.verify_audit_seals("k" * 64, notes) == []
    assert notes == [
        "Audit seals: not checked (the archive predates sealing); run `effleura migrate`, then "
        "`effleura audit seal` seals the trail from here on."
    ]
