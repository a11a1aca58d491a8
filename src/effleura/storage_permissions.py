"""Files at rest are the owner's only: the process umask, var/ and its database files.

Effleura keeps every patient record in var/ (the SQLite database with its -wal and -shm
files, uploaded scans in media/, the secret and audit keys). Nobody but the account
Effleura runs as may read them, so:

* ``restrict_umask()`` sets the process umask to 0o077 before anything is written: every
  file Effleura (or SQLite, or Django's storage) creates is then 0600 and every folder
  0700. ``effleura`` (cli.py), the WSGI module (gunicorn) and the settings call it, so
  every way of starting Effleura gets it, whatever the shell's umask.
* ``secure_var_dir()`` creates var/ 0700 and tightens an existing one (and the database
  files in it) that an older installation left readable to others: 0644 becomes 0600.
  It only ever removes permissions of the group and others; it never widens any.

Every command must run as that account (the service account): a file or folder in var/
that belongs to another account (``sudo effleura migrate`` run as root, with umask 077,
leaves root-owned 0600 files) cannot be tightened or read, and Effleura stops at start
with a ConfigError saying so in plain words, not a PermissionError traceback.

Nothing here reads or logs file contents.
"""

import contextlib
import os
import pwd
import stat
from pathlib import Path

from effleura.env import ConfigError

UMASK = 0o077
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# SQLite's own files beside the database: written by SQLite, not by Django.
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def restrict_umask() -> None:
    """Make files created from now on by this process readable by its owner only."""
    os.umask(UMASK)


def _account(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"user id {uid}"


def not_ours(path: Path, doing: str) -> ConfigError:
    """The error for a file or folder this process may not ``doing`` (change, read ...)."""
    me = _account(os.geteuid())
    try:
        owner = _account(path.lstat().st_uid)
    except OSError:
        owner = None
    whose = f"it belongs to {owner}, and " if owner and owner != me else ""
    return ConfigError(
        f"Effleura cannot {doing} {path}: {whose}this command runs as {me}. Run every effleura "
        "command (migrate, worker, the web server, backups) as the account that owns var/, "
        "for example `sudo -u <that account> effleura migrate`; if a command already ran as "
        "another account, give var/ back with `chown -R <that account> var/`."
    )


@contextlib.contextmanager
def owned(path: Path, doing: str):
    """Turn a PermissionError on ``path`` into a ConfigError in plain words."""
    try:
        yield
    except PermissionError:
        raise not_ours(path, doing) from None


def _tighten(path: Path, mode: int) -> None:
    """Remove the group's and others' permissions of ``path`` if it exists (never follow
    a symbolic link: chmod would change its target)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        return
    if stat.S_IMODE(info.st_mode) & 0o077:
        with owned(path, "make private"):
            path.chmod(stat.S_IMODE(info.st_mode) & mode)


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) 0700, or tighten it if it exists."""
    with owned(path, "create"):
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    _tighten(path, PRIVATE_DIR)


def tighten_sqlite_files(database: Path) -> None:
    """An existing database file and its -wal/-shm/-journal files become 0600; each must
    be this account's to read and write."""
    for suffix in SQLITE_SUFFIXES:
        path = database.with_name(database.name + suffix)
        _tighten(path, PRIVATE_FILE)
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            raise not_ours(path, "read and write")


def secure_var_dir(var_dir: Path) -> None:
    """var/ exists, 0700; the keys and the media folder in it are the owner's only.

    When the media folder itself was open to others (an older installation stored scans
    0644 in 0755 folders), its sub-folders and files are tightened too, once; a 0700
    media folder is not walked at every start. static/ holds nothing private.
    """
    make_private_dir(var_dir)
    for name in ("secret_key", "audit_key"):
        _tighten(var_dir / name, PRIVATE_FILE)
    media = var_dir / "media"
    if media.is_dir() and not media.is_symlink() and stat.S_IMODE(media.stat().st_mode) & 0o077:
        _tighten(media, PRIVATE_DIR)

        def refuse(error: OSError) -> None:
            if isinstance(error, PermissionError):
                raise not_ours(Path(error.filename), "read")

        for root, dirs, files in os.walk(media, onerror=refuse):
            for name in dirs:
                _tighten(Path(root) / name, PRIVATE_DIR)
            for name in files:
                _tighten(Path(root) / name, PRIVATE_FILE)
