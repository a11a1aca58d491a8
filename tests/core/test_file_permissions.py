"""Data at rest is the owner's only: the process umask is 0o077 however Effleura starts,
var/ is 0700, its database (with -wal and -shm), keys and uploads 0600 (folders 0700),
and an older installation's 0644 files are tightened at start. SQLite syncs every commit
to disk (synchronous=FULL)."""

import ctypes
import json
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from effleura import storage_permissions
from effleura.env import ConfigError

EFFLEURA = str(Path(sys.executable).with_name("effleura"))

# Run inside `effleura shell` in a fresh var/: writes to the database (so SQLite creates
# its -wal and -shm files) and reports the modes while the connection is open.
REPORT = """
import json, os, stat
from pathlib import Path
from django.conf import settings
from django.db import connection
with connection.cursor() as c:
    c.execute("CREATE TABLE IF NOT EXISTS t (x)")
    c.execute("INSERT INTO t VALUES (1)")
    c.execute("PRAGMA synchronous")
    sync = c.fetchone()[0]
    var = Path(settings.VAR_DIR)
    modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in [var, *var.iterdir()] if p.name != "static"}
print(json.dumps({"modes": modes, "umask": oct(os.umask(0o077)), "synchronous": sync}))
"""


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def run_effleura(args, var_dir, *, umask=0o022, **env):
    """`effleura ...` started from a shell whose umask is the usual 022."""
    environment = {**os.environ, "EFFLEURA_VAR_DIR": str(var_dir), **env}
    environment.pop("EFFLEURA_DATABASE_URL", None)  # the embedded SQLite of var_dir
    return subprocess.run(
        [EFFLEURA, *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(umask),
    )


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory):
    """A first start of `effleura` in an empty var/ (one subprocess for the module)."""
    var = tmp_path_factory.mktemp("install") / "var"
    answer = run_effleura(["shell", "-c", REPORT], var)
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout.strip().splitlines()[-1])


def test_the_process_umask_is_owner_only():
    current = os.umask(0o077)
    os.umask(current)
    assert current == 0o077


def test_a_first_start_creates_var_owner_only(fresh_install):
    assert fresh_install["modes"]["var"] == "0o700"
    assert fresh_install["umask"] == "0o77"


@pytest.mark.parametrize(
    "name", ["secret_key", "audit_key", "effleura.sqlite3", "effleura.sqlite3-wal", "effleura.sqlite3-shm"]
)
def test_the_database_its_wal_and_shm_and_the_keys_are_0600(fresh_install, name):
    assert fresh_install["modes"][name] == "0o600"


def test_the_embedded_database_syncs_every_commit(fresh_install):
    assert fresh_install["synchronous"] == 2  # FULL


def test_the_database_setting_asks_sqlite_for_full_sync(db, settings):
    assert "PRAGMA synchronous=FULL" in settings.DATABASES["default"].get("OPTIONS", {}).get(
        "init_command", "PRAGMA synchronous=FULL"
    )
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 2


def test_a_malformed_synchronous_setting_stops_effleura_with_its_name(tmp_path):
    answer = run_effleura(["check"], tmp_path / "var", EFFLEURA_SQLITE_SYNCHRONOUS="sometimes")
    assert answer.returncode == 2
    assert "EFFLEURA_SQLITE_SYNCHRONOUS must be FULL, EXTRA or NORMAL" in answer.stderr


def test_an_older_installations_open_files_are_tightened_at_start(tmp_path):
    var = tmp_path / "var"
    (var / "media" / "referrals" / "2026" / "11").mkdir(parents=True)
    for folder in [var, var / "media", var / "media" / "referrals", var / "media" / "referrals" / "2026"]:
        folder.chmod(0o755)
    scan = var / "media" / "referrals" / "2026" / "11" / "a.pdf"
    files = [var / "effleura.sqlite3", var / "effleura.sqlite3-wal", var / "secret_key", scan]
    for path in files:
        path.write_bytes(b"x" * 60 if path.name == "secret_key" else b"")
        path.chmod(0o644)
    (var / "static").mkdir()
    answer = run_effleura(["check"], var)
    assert answer.returncode in (0, 1), answer.stderr  # `check` may report the empty database
    assert mode(var) == 0o700
    assert mode(var / "media") == 0o700 and mode(var / "media" / "referrals" / "2026" / "11") == 0o700
    for path in files:
        assert mode(path) == 0o600, path.name


def test_tightening_never_widens_and_leaves_symlinks_alone(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("x")
    target.chmod(0o644)
    var = tmp_path / "var"
    var.mkdir(mode=0o700)
    (var / "secret_key").symlink_to(target)
    (var / "audit_key").write_text("k")
    (var / "audit_key").chmod(0o400)
    storage_permissions.secure_var_dir(var)
    assert mode(target) == 0o644  # a link's target is not ours to change
    assert mode(var / "audit_key") == 0o400


def test_the_wsgi_module_sets_the_umask_for_gunicorn(tmp_path):
    code = "import os; os.umask(0o022); import effleura.wsgi; print(oct(os.umask(0)))"
    environment = {**os.environ, "EFFLEURA_VAR_DIR": str(tmp_path / "var")}
    environment.pop("EFFLEURA_DATABASE_URL", None)
    answer = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=300)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == "0o77"


def test_uploads_are_stored_0600_in_0700_folders(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    assert settings.FILE_UPLOAD_PERMISSIONS == 0o600
    assert settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS == 0o700
    os.umask(0o022)  # even if something loosened the umask, the storage does not follow it
    try:
        name = default_storage.save("referrals/2026/12/scan.pdf", ContentFile(b"%PDF-1.4"))
    finally:
        os.umask(0o077)
    assert mode(default_storage.path(name)) == 0o600
    for folder in ["", "referrals", "referrals/2026", "referrals/2026/12"]:
        assert mode(tmp_path / "media" / folder) == 0o700, folder


# var/ that belongs to another account ---------------------------------------------------------


def test_a_var_dir_that_cannot_be_made_private_stops_with_a_plain_configuration_error(tmp_path, monkeypatch):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)

    def refuse(self, mode, **kwargs):
        raise PermissionError(1, "Operation not permitted", str(self))

    monkeypatch.setattr(Path, "chmod", refuse)
    with pytest.raises(ConfigError) as refused:
        storage_permissions.secure_var_dir(var)
    assert str(var) in str(refused.value)
    assert "Run every effleura command" in str(refused.value) and "as the account that owns var/" in str(refused.value)


def _without_file_override_capabilities():
    """In the child, before exec: root without CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and
    CAP_FOWNER is any account: it may not chmod or read another account's private files."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand var/ to another account")
def test_a_command_run_as_another_account_than_var_dirs_owner_says_so_without_a_traceback(tmp_path):
    # var/ belongs to the service account (here: nobody), left 0755 by an older version,
    # its key 0600; the command runs as another account (root without its overrides).
    var = tmp_path / "var"
    var.mkdir()
    var.chmod(0o755)
    (var / "secret_key").write_text("k" * 64)
    (var / "secret_key").chmod(0o600)
    nobody = pwd.getpwnam("nobody")
    for path in (var, var / "secret_key"):
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    environment = {**os.environ, "EFFLEURA_VAR_DIR": str(var)}
    environment.pop("EFFLEURA_DATABASE_URL", None)
    result = subprocess.run(
        [EFFLEURA, "check"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_without_file_override_capabilities,
    )
    assert result.returncode == 2, result.stderr
    assert "configuration error" in result.stderr and "belongs to nobody" in result.stderr
    assert "this command runs as root" in result.stderr and "Run every effleura command" in result.stderr
    assert "Traceback" not in result.stderr and "PermissionError" not in result.stderr
    # The key's folder could not be tightened; nothing was changed.
    assert mode(var) == 0o755
