"""The backup key and the encrypted stream a backup archive is written in.

An archive is a 72-byte header followed by segments (docs/decisions/0020):

    header  = MAGIC (16) | format (1) | salt (32) | nonce prefix (7) | key fingerprint (16)
    key     = HKDF-SHA256(backup key, salt, info = INFO | header)     one key per archive
    segment = AES-256-GCM(key, nonce = prefix | index (4, big-endian) | last (1),
                          plaintext of SEGMENT bytes (the last: 0..SEGMENT), ad = header)

This is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015) as Tink's
AES-GCM-HKDF streaming AEAD uses it: each segment is authenticated on its own, so a
reader never holds more than two segments, and the index and the last-segment flag in
the nonce make a reordered, dropped, repeated or truncated segment fail its check. The
fingerprint (an HMAC of the key, which reveals nothing of it) lets a wrong key be named
as such before any segment is tried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
import struct
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"EFFLEURA-BACKUP\x00"
FORMAT = 1
SALT_BYTES = 32
PREFIX_BYTES = 7
FINGERPRINT_BYTES = 16
HEADER_BYTES = len(MAGIC) + 1 + SALT_BYTES + PREFIX_BYTES + FINGERPRINT_BYTES
KEY_BYTES = 32
TAG_BYTES = 16
SEGMENT = 1 << 20  # plaintext bytes per segment: 1 MiB, so memory stays small for any archive
MAX_SEGMENTS = 1 << 32  # the index has 4 bytes: 4 PiB per archive
INFO = b"effleura backup v1"
KEY_PREFIX = "effleura-backup-key-v1:"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why in the operator's words."""


class BackupKey:
    """A 256-bit backup key, read from (or written to) a key file."""

    def __init__(self, raw: bytes, source: str = ""):
        if len(raw) != KEY_BYTES:
            raise BackupError(f"{source or 'The key'} does not hold a 256-bit backup key.")
        self.raw = raw
        self.source = source

    @property
    def fingerprint(self) -> bytes:
        return hmac.new(self.raw, b"effleura backup key fingerprint", hashlib.sha256).digest()[:FINGERPRINT_BYTES]

    @property
    def label(self) -> str:
        return shown_fingerprint(self.fingerprint)

    @classmethod
    def generate(cls) -> BackupKey:
        return cls(secrets.token_bytes(KEY_BYTES), "a new key")

    @classmethod
    def read(cls, path: Path) -> BackupKey:
        """The key in ``path``; BackupError with a plain message when it is missing or malformed."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BackupError(f"There is no backup key file at {path}.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise BackupError(f"The backup key file {path} cannot be read: {exc}.") from None
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        if len(lines) != 1 or not lines[0].startswith(KEY_PREFIX):
            raise BackupError(f"{path} is not an Effleura backup key file (made by `effleura backup --new-key`).")
        try:
            raw = base64.urlsafe_b64decode(lines[0].removeprefix(KEY_PREFIX).encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise BackupError(f"The backup key in {path} is damaged: it is not valid base64.") from None
        return cls(raw, str(path))

    def write_new(self, path: Path) -> None:
        """Write the key to ``path`` (0600), never over an existing file."""
        body = (
            f"# Effleura backup key, fingerprint {self.label}.\n"
            "# Keep it away from the backups: with it anyone can read them, without it nobody can restore them.\n"
            f"{KEY_PREFIX}{base64.urlsafe_b64encode(self.raw).decode('ascii')}\n"
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise BackupError(
                f"{path} exists already. A backup key is never overwritten: the archives made with it "
                "could not be restored any more. Choose another file name."
            ) from None
        except OSError as exc:
            raise BackupError(f"Cannot create the backup key file {path}: {exc.strerror}.") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())

    def readable_by_others(self) -> bool:
        if not self.source or not Path(self.source).exists():
            return False
        return bool(Path(self.source).stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def shown_fingerprint(fingerprint: bytes) -> str:
    text = fingerprint[:8].hex()
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def _derive(key: BackupKey, header: bytes) -> AESGCM:
    salt = header[len(MAGIC) + 1 : len(MAGIC) + 1 + SALT_BYTES]
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=INFO + header)
    return AESGCM(hkdf.derive(key.raw))


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= MAX_SEGMENTS:
        raise BackupError("The archive is too large for one backup file (over 4 PiB).")
    return prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only file object: what is written goes to ``raw`` encrypted, segment by
    segment. close() writes the last segment (it may be empty) and must be called."""

    def __init__(self, raw, key: BackupKey):
        self.raw = raw
        self.prefix = secrets.token_bytes(PREFIX_BYTES)
        self.header = MAGIC + bytes([FORMAT]) + secrets.token_bytes(SALT_BYTES) + self.prefix + key.fingerprint
        self.aead = _derive(key, self.header)
        self.buffer = bytearray()
        self.index = 0
        self.closed = False
        raw.write(self.header)

    def write(self, data) -> int:
        self.buffer += data
        # Keep at least one byte back: only close() knows which segment is the last.
        while len(self.buffer) > SEGMENT:
            self._segment(bytes(self.buffer[:SEGMENT]), last=False)
            del self.buffer[:SEGMENT]
        return len(data)

    def _segment(self, plain: bytes, *, last: bool) -> None:
        nonce = _nonce(self.prefix, self.index, last)
        self.raw.write(self.aead.encrypt(nonce, plain, self.header))
        self.index += 1

    def close(self) -> None:
        if not self.closed:
            self._segment(bytes(self.buffer), last=True)
            self.buffer.clear()
            self.closed = True

    def flush(self) -> None:
        pass


def read_header(raw, key: BackupKey) -> bytes:
    """Read and check an archive's header: is it one of ours, in a format we read, made
    with this key? BackupError otherwise, naming which."""
    header = _read_exactly(raw, HEADER_BYTES)
    if len(header) < len(MAGIC) + 1 or not header.startswith(MAGIC):
        raise BackupError("This is not an Effleura backup archive (it does not start like one).")
    if header[len(MAGIC)] != FORMAT:
        raise BackupError(
            f"This archive is in backup format {header[len(MAGIC)]}; this Effleura reads format {FORMAT}. "
            "Restore it with the Effleura version that made it."
        )
    if len(header) < HEADER_BYTES:
        raise BackupError("The archive is truncated: it ends inside its header.")
    fingerprint = header[-FINGERPRINT_BYTES:]
    if not hmac.compare_digest(fingerprint, key.fingerprint):
        raise BackupError(
            f"This archive was made with another backup key (fingerprint {shown_fingerprint(fingerprint)}); "
            f"the key in {key.source or 'use'} has fingerprint {key.label}. Nothing was restored."
        )
    return header


class DecryptingReader:
    """A read-only file object over an archive's segments. A segment that fails its
    check (wrong key, a changed byte, a missing or reordered segment, a truncated end)
    raises BackupError before any of its bytes are returned."""

    def __init__(self, raw, key: BackupKey):
        self.raw = raw
        self.header = read_header(raw, key)
        self.prefix = self.header[len(MAGIC) + 1 + SALT_BYTES : len(MAGIC) + 1 + SALT_BYTES + PREFIX_BYTES]
        self.aead = _derive(key, self.header)
        self.index = 0
        self.pending = _read_exactly(raw, SEGMENT + TAG_BYTES)
        self.plain = b""
        self.offset = 0
        self.finished = False

    def _next_segment(self) -> None:
        current = self.pending
        if len(current) < TAG_BYTES:
            raise BackupError("The archive is truncated: it ends before its last segment.")
        following = _read_exactly(self.raw, SEGMENT + TAG_BYTES) if len(current) == SEGMENT + TAG_BYTES else b""
        last = not following
        try:
            self.plain = self.aead.decrypt(_nonce(self.prefix, self.index, last), current, self.header)
        except InvalidTag:
            raise BackupError(
                "The archive is damaged, truncated or was changed after it was made (segment "
                f"{self.index} fails its check). Nothing from it can be trusted; use another copy."
            ) from None
        self.offset = 0
        self.index += 1
        self.pending = following
        self.finished = last

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            if self.offset >= len(self.plain):
                if self.finished:
                    break
                self._next_segment()
                continue
            want = len(self.plain) - self.offset if size < 0 else min(size - len(out), len(self.plain) - self.offset)
            out += self.plain[self.offset : self.offset + want]
            self.offset += want
        return bytes(out)

    def drain(self) -> None:
        """Read to the end, so the last segment's check (and with it, truncation) is proven."""
        while self.read(SEGMENT):
            pass


def _read_exactly(raw, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = raw.read(size - len(chunks))
        if not chunk:
            break
        chunks += chunk
    return bytes(chunks)
