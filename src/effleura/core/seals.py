"""Sealing the audit trail, and checking the seals (docs/audit.md, docs/decisions/0017).

The worker's duty "seal the audit trail" takes the committed events in id order, in
blocks of at most BLOCK_SIZE, and writes one AuditSeal per block. A seal's HMAC-SHA256,
keyed with settings.EFFLEURA_AUDIT_KEY, covers its header (number, event range, count,
time, key fingerprint, the previous seal's HMAC) and the canonical serialization of
every field of every event in the block (EVENT_FIELDS, one JSON array per event). So a
changed, removed or inserted event, a removed or altered seal, or a seal made by anyone
without the key, is found by verify(). Each seal also keeps the ids it covers and a
short keyed digest per event, so verify() can name the events that changed.

No request ever waits for the sealer. Requests only append events; the sealer
serializes itself: on PostgreSQL it locks the single AuditSealState row with
SKIP LOCKED (a second sealer finds it locked and returns at once); on SQLite its
transaction is the database's one IMMEDIATE writer, held for one block only.

Events that commit out of order (PostgreSQL): ids come from a sequence when the row is
inserted, so a transaction holding id 100 may commit after the one holding id 101. A
seal ending at 101 would then leave 100 to appear inside a sealed range, which verify()
reports as "added after sealing". The sealer therefore seals only up to a horizon that
no unfinished transaction can be below: it notes the highest visible id H, then the
transactions running at that moment on this database (their virtual transaction ids,
which every transaction holds from its start, in pg_locks; other databases' are left
out). Any event with an id below H was inserted by a transaction that had started by then; once every one of those noted
transactions has ended (at once, if none was running; else at a later run), every
event up to H is committed or will never be. On SQLite there is nothing to wait for:
while the sealer holds the write transaction no other transaction has uncommitted rows.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from effleura.core import clock
from effleura.core.duties import duty
from effleura.core.models import AuditEvent, AuditSeal, AuditSealState, AuditVerification

log = logging.getLogger(__name__)

# The serialization's version; a seal records the one it was made with.
FORMAT = 1
# Every field of AuditEvent, in this order (tests/core/test_audit_seals.py checks that a
# new field cannot be added without deciding how it is sealed).
EVENT_FIELDS = (
    "id", "public_id", "at", "actor_id", "actor_username", "actor_role", "patient_id",
    "record_type", "record_id", "action", "outcome", "client_address", "detail",
)  # fmt: skip
BLOCK_SIZE = 1000
DIGEST_CHARS = 16
# Unsealed events older than this mean the sealer is not running (a warning, not a problem).
STALE_AFTER = datetime.timedelta(minutes=15)
# The worker checks the whole trail this often (any verification resets the clock).
VERIFY_EVERY = datetime.timedelta(hours=24)
STATE_ID = 1


class MissingAuditKey(Exception):
    pass


# --- pure part: serialization, one seal, one check ------------------------------------------


def _key_bytes(key: str) -> bytes:
    if not key:
        raise MissingAuditKey("No audit key is configured (EFFLEURA_AUDIT_KEY or var/audit_key).")
    return key.encode()


def key_id(key: str) -> str:
    """A fingerprint of the key, stored on each seal: it names a wrong key without revealing one."""
    return hmac.new(_key_bytes(key), b"effleura audit key id", hashlib.sha256).hexdigest()[:16]


def _canonical(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, uuid.UUID):
        return value.hex
    return value


def event_line(row: Sequence) -> bytes:
    """The canonical bytes of one event (a row of EVENT_FIELDS)."""
    return json.dumps([_canonical(v) for v in row], ensure_ascii=False, separators=(",", ":")).encode()


def _header(seal) -> bytes:
    return event_line(
        [
            "effleura audit seal",
            seal.format,
            seal.sequence,
            seal.first_event_id,
            seal.last_event_id,
            seal.count,
            seal.sealed_at,
            seal.key_id,
            seal.previous_hmac,
        ]
    )


def _digest(key: bytes, line: bytes) -> str:
    return hmac.new(key, line, hashlib.sha256).hexdigest()[:DIGEST_CHARS]


def _mac(key: bytes, seal, rows: Iterable[Sequence]) -> tuple[str, dict[int, str]]:
    """The HMAC of ``seal``'s header and ``rows`` (in id order), and each row's digest."""
    mac = hmac.new(key, _header(seal), hashlib.sha256)
    digests: dict[int, str] = {}
    for row in rows:
        line = event_line(row)
        # Length-prefixed, so no two different lists of events serialize alike.
        mac.update(len(line).to_bytes(8, "big"))
        mac.update(line)
        digests[row[0]] = _digest(key, line)
    return mac.hexdigest(), digests


@dataclass
class SealDraft:
    """The fields of an AuditSeal before it is saved (the pure part of sealing)."""

    sequence: int
    first_event_id: int
    last_event_id: int
    count: int
    sealed_at: datetime.datetime
    key_id: str
    previous_hmac: str
    event_ids: str = ""
    digests: str = ""
    hmac: str = ""
    format: int = FORMAT

    def fields(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def make_seal(key: str, *, sequence: int, previous_hmac: str, sealed_at, rows: Sequence[Sequence]) -> SealDraft:
    """Seal ``rows`` (events as EVENT_FIELDS tuples, in id order, at least one)."""
    draft = SealDraft(
        sequence=sequence,
        first_event_id=rows[0][0],
        last_event_id=rows[-1][0],
        count=len(rows),
        sealed_at=sealed_at,
        key_id=key_id(key),
        previous_hmac=previous_hmac,
    )
    draft.hmac, digests = _mac(_key_bytes(key), draft, rows)
    draft.event_ids = _ranges(list(digests))
    draft.digests = "".join(digests.values())
    return draft


def check_seal(key: str, seal, previous, rows: Iterable[Sequence]) -> list[str]:
    """What is wrong with ``seal``, given the seal before it (None for the first) and the
    events now stored in its range (after the previous seal's last event, up to its own
    last one), in id order. Problems in words; an empty list when it verifies."""
    name = f"Seal {seal.sequence} (events {seal.first_event_id}–{seal.last_event_id})"
    problems = []
    expected_sequence = previous.sequence + 1 if previous else 1
    if seal.sequence < expected_sequence:
        problems.append(f"The chain is broken at seal {seal.sequence}: it repeats a number.")
    if seal.previous_hmac != (previous.hmac if previous else ""):
        problems.append(f"The chain is broken at seal {seal.sequence}: it does not follow the seal before it.")
    actual, digests = _mac(_key_bytes(key), seal, rows)
    sealed = _sealed_digests(seal)
    if sealed is None:
        problems.append(f"{name}: its list of events is damaged, so the seal itself was altered.")
        return problems
    changed = sorted(i for i in sealed.keys() & digests.keys() if sealed[i] != digests[i])
    missing = sorted(sealed.keys() - digests.keys())
    added = sorted(digests.keys() - sealed.keys())
    if changed:
        problems.append(f"{name}: {_events(changed)} changed since sealing.")
    if missing:
        problems.append(f"{name}: {_events(missing)} missing (deleted after sealing).")
    if added:
        problems.append(f"{name}: {_events(added)} added after sealing.")
    if not hmac.compare_digest(actual, seal.hmac) and not (changed or missing or added):
        problems.append(f"{name}: the seal does not match its events, so the seal itself was altered.")
    return problems


def _events(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:20])
    more = f" and {len(ids) - 20} more" if len(ids) > 20 else ""
    return f"event{'s' if len(ids) > 1 else ''} {shown}{more}"


def _ranges(ids: list[int]) -> str:
    parts, start, prev = [], None, None
    for i in ids:
        if start is None:
            start = prev = i
        elif i == prev + 1:
            prev = i
        else:
            parts.append(f"{start}-{prev}" if prev != start else str(start))
            start = prev = i
    if start is not None:
        parts.append(f"{start}-{prev}" if prev != start else str(start))
    return ",".join(parts)


_RANGE = re.compile(r"(-?[0-9]{1,19})(?:-(-?[0-9]{1,19}))?")


def _expand(ranges: str, at_most: int) -> list[int]:
    """The ids of "1-218,220"; ValueError when malformed or longer than ``at_most`` (an
    altered seal must not make verification build a list of a billion ids)."""
    ids: list[int] = []
    for part in filter(None, ranges.split(",")):
        match = _RANGE.fullmatch(part)  # "5", "5-9", and "-1-3" (a forged id below 1 is sealed too)
        if match is None:
            raise ValueError("not a range of ids")
        low, high = match.groups()
        span = range(int(low), int(high or low) + 1)
        if len(ids) + len(span) > at_most:
            raise ValueError("more ids than the seal counts")
        ids.extend(span)
    return ids


def _sealed_digests(seal) -> dict[int, str] | None:
    try:
        ids = _expand(seal.event_ids, seal.count)
    except ValueError:
        return None
    text = seal.digests
    if len(ids) != seal.count or len(text) != DIGEST_CHARS * len(ids):
        return None
    return {i: text[n * DIGEST_CHARS : (n + 1) * DIGEST_CHARS] for n, i in enumerate(ids)}


def in_order(rows: QuerySet, field: str, size: int, values: tuple[str, ...] = ()) -> Iterator:
    """Every row of ``rows`` in the order of ``field`` (a unique column), read ``size`` at a
    time by keyset (``field`` above the last one read), as objects or, with ``values``
    (which must include ``field``), as tuples. Memory stays bounded over millions of rows,
    and no server-side cursor is held open, which a pooler in transaction mode would break
    (docs/decisions/0027)."""
    last = None
    while True:
        chunk = rows.filter(**{f"{field}__gt": last}) if last is not None else rows
        chunk = chunk.order_by(field)
        found = list((chunk.values_list(*values) if values else chunk)[:size])
        yield from found
        if len(found) < size:
            return
        last = found[-1][values.index(field)] if values else getattr(found[-1], field)


# --- sealing --------------------------------------------------------------------------------


def seal_pending(*, block_size: int = BLOCK_SIZE) -> int:
    """Seal every committed event not sealed yet, one block per transaction. Returns how
    many events it sealed (0 when another sealer is at work). Safe to run anywhere, any
    number of times at once."""
    key = settings.EFFLEURA_AUDIT_KEY
    _key_bytes(key)
    limit = _advance_horizon() if connection.vendor == "postgresql" else None
    if limit is False:
        return 0
    total = 0
    while (sealed := _seal_block(key, limit, block_size)) is not None:
        total += sealed
    return total


def _seal_block(key: str, limit: int | None, block_size: int) -> int | None:
    with transaction.atomic():
        if (state := _lock_state()) is None:
            return None
        last = AuditSeal.objects.order_by("-sequence").first()
        if (problem := tip_problem(key, state, last)) is not None:
            # Ids and numbers only: the log never holds an event.
            log.error("Audit sealing refused: %s Run `effleura audit verify`.", problem)
            return None
        # The first seal's range is unbounded below: no event escapes, whatever its id.
        events = AuditEvent.objects.filter(id__gt=last.last_event_id) if last else AuditEvent.objects.all()
        if limit is not None:
            events = events.filter(id__lte=limit)
        rows = list(events.order_by("id").values_list(*EVENT_FIELDS)[:block_size])
        if not rows:
            return None
        draft = make_seal(
            key,
            sequence=last.sequence + 1 if last else 1,
            previous_hmac=last.hmac if last else "",
            sealed_at=timezone.now(),
            rows=rows,
        )
        AuditSeal.objects.create(**draft.fields())
        state.tip_sequence, state.tip_hmac, state.tip_last_event_id = draft.sequence, draft.hmac, draft.last_event_id
        state.tip_mac = _tip_mac(key, state)
        state.updated_at = timezone.now()
        state.save()
        return len(rows)


# --- the chain's tip and the verification records, keyed -----------------------------------


def _keyed(key: str, *values) -> str:
    return hmac.new(_key_bytes(key), event_line(values), hashlib.sha256).hexdigest()


def _tip_mac(key: str, state: AuditSealState) -> str:
    return _keyed(key, "effleura audit tip", state.tip_sequence, state.tip_hmac, state.tip_last_event_id)


def _verification_tip_mac(key: str, state: AuditSealState) -> str:
    return _keyed(key, "effleura audit verification tip", state.verification_tip)


def _verification_mac(key: str, run: AuditVerification) -> str:
    return _keyed(
        key, "effleura audit verification", run.previous_mac, run.at, run.by, run.ok, run.problems, run.summary,
        run.sealed, run.unsealed, run.last_seal_sequence, run.last_seal_hmac,
    )  # fmt: skip


def tip_problem(key: str, state: AuditSealState | None, last: AuditSeal | None) -> str | None:
    """What is wrong between the sealer's keyed record of the newest seal and the newest
    seal stored (``last``); None when they agree. Removing the newest seals and editing
    their events would otherwise be sealed again, with the real key, at the next run."""
    if state is None or not state.tip_mac:
        if last is None:
            return None
        return "There are seals, but the sealer's record of the newest one is gone."
    if not hmac.compare_digest(state.tip_mac, _tip_mac(key, state)):
        return "The sealer's record was altered (its check does not match)."
    newest = last.sequence if last else 0
    if newest < state.tip_sequence:
        return (
            f"The sealer's record names seal {state.tip_sequence} as the newest, but the newest seal is "
            f"{newest or 'none'}: seals were removed."
        )
    if newest > state.tip_sequence:
        return (
            f"The sealer's record names seal {state.tip_sequence} as the newest, but the newest seal is "
            f"{newest}: seals were added."
        )
    if last.hmac != state.tip_hmac or last.last_event_id != state.tip_last_event_id:
        return f"The newest seal ({newest}) is not the one the sealer made: it was replaced."
    return None


def refusal() -> str | None:
    """Why the sealer refuses to seal (tip_problem, with the key configured), or None."""
    key = settings.EFFLEURA_AUDIT_KEY
    _key_bytes(key)
    state = AuditSealState.objects.filter(pk=STATE_ID).first()
    return tip_problem(key, state, AuditSeal.objects.order_by("-sequence").first())


def _verification_problems(key: str, state: AuditSealState | None) -> list[str]:
    """Every verification record must carry its keyed check and follow the one before it;
    the newest must be the one the sealer's row names."""
    problems, previous = [], None
    for run in in_order(AuditVerification.objects.all(), "id", 500):
        if not hmac.compare_digest(run.mac, _verification_mac(key, run)):
            problems.append(
                f"The verification record of {clock.stamp(run.at)} was not written by Effleura "
                "(its check does not match)."
            )
        elif run.previous_mac != (previous.mac if previous else ""):
            problems.append(
                f"A verification record before the one of {clock.stamp(run.at)} was removed (the chain is broken)."
            )
        previous = run
    named = state.verification_tip if state is not None else ""
    if (
        state is not None
        and named
        and not hmac.compare_digest(state.verification_tip_mac, _verification_tip_mac(key, state))
    ):
        problems.append("The sealer's record of the last verification was altered (its check does not match).")
    elif named and (previous is None or previous.mac != named):
        problems.append("The newest verification record was removed (the sealer's record names a later one).")
    elif previous is not None and not named:
        problems.append("There are verification records, but the sealer's record of the newest one is gone.")
    return problems


def _lock_state(*, wait: bool = False) -> AuditSealState | None:
    """The sealer's row, locked until the transaction ends; None if another sealer holds it
    (unless ``wait``: then it waits for it). Precondition: inside transaction.atomic()."""
    state = AuditSealState.objects.select_for_update(skip_locked=not wait).filter(pk=STATE_ID).first()
    if state is not None:
        return state
    if AuditSealState.objects.filter(pk=STATE_ID).exists():
        return None  # locked by another sealer
    try:
        with transaction.atomic():
            AuditSealState.objects.create(pk=STATE_ID)
    except IntegrityError:
        if not wait:
            return None  # another sealer created it meanwhile
    return AuditSealState.objects.select_for_update(skip_locked=not wait).filter(pk=STATE_ID).first()


# The transactions that could still commit an audit event: those of sessions on this
# database (pg_locks lists the whole server's). datid is shown for every session, whatever
# the role; backend_type only for the role's own sessions (NULL for others, which stay in,
# to be safe), so autovacuum and other server processes of our own role are left out. A
# pg_dump of this database is a client backend: its transaction (read-only, without an
# xid) cannot add events, but from outside it cannot be told from one that has taken an
# id and not yet written its row, so it holds sealing back until it ends (correct, late).
_RUNNING_SQL = """
SELECT l.virtualxid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'virtualxid' AND l.granted AND l.pid <> pg_backend_pid()
  AND a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND (a.backend_type = 'client backend' OR a.backend_type IS NULL)
"""


def _advance_horizon() -> int | bool:
    """PostgreSQL: the highest event id below which every event has committed (see the
    module's docstring); False when another sealer holds the state row."""
    with transaction.atomic():
        state = _lock_state()
        if state is None:
            return False
        # First the highest id, then who is running: in this order, every transaction that
        # took an id at or below it and has not ended is in the list.
        highest = AuditEvent.objects.aggregate(highest=Max("id"))["highest"] or 0
        with connection.cursor() as cursor:
            cursor.execute(_RUNNING_SQL)
            running = sorted({row[0] for row in cursor.fetchall()})
        if not set(state.pending_transactions) & set(running):
            state.safe_horizon = max(state.safe_horizon, state.pending_horizon)
        if running:
            state.pending_horizon, state.pending_transactions = highest, running
        else:
            state.safe_horizon = max(state.safe_horizon, highest)
            state.pending_horizon, state.pending_transactions = highest, []
        state.updated_at = timezone.now()
        state.save()
        return state.safe_horizon


# --- verifying ------------------------------------------------------------------------------


@dataclass
class Report:
    """What verify() found. ``problems`` are in words a person reads; ``ok`` is True when
    there are none. Unsealed events are normal (the last minute or so); ``warnings`` says
    when they are old enough to mean the sealer is not running."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seals: int = 0
    sealed: int = 0
    unsealed: int = 0
    oldest_unsealed: datetime.datetime | None = None
    last_seal_at: datetime.datetime | None = None
    checked_at: datetime.datetime = field(default_factory=timezone.now)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        lines = [
            f"{self.seals} seal(s) covering {self.sealed} event(s)"
            + (f"; the last made {clock.stamp(self.last_seal_at)}." if self.last_seal_at else "."),
            f"{self.unsealed} event(s) not sealed yet"
            + (f", the oldest from {clock.stamp(self.oldest_unsealed)}." if self.oldest_unsealed else "."),
        ]
        lines += [f"Warning: {w}" for w in self.warnings]
        lines += [f"Problem: {p}" for p in self.problems]
        lines.append("The audit trail verifies." if self.ok else f"{len(self.problems)} problem(s) found.")
        return lines


def verify(*, by: str = "", record: bool = True) -> Report:
    """Check every seal in order against the events stored now, and the events after the
    last seal. Records the run (AuditVerification) unless ``record`` is False."""
    report = Report()
    try:
        key = settings.EFFLEURA_AUDIT_KEY
        current_key = key_id(key)
    except MissingAuditKey as exc:
        report.problems.append(f"{exc} The seals cannot be checked without it.")
        key = current_key = None
    previous = None
    after: int | None = None  # the last event id checked; None: unbounded below (seal 1)
    other_key_from = None
    for seal in in_order(AuditSeal.objects.all(), "sequence", 200):
        report.seals += 1
        report.sealed += seal.count
        report.last_seal_at = seal.sealed_at
        if key is not None and seal.key_id != current_key:
            other_key_from = other_key_from or seal.sequence
        elif key is not None:
            expected = previous.sequence + 1 if previous else 1
            if seal.sequence > expected:
                # Seals are missing: their events cannot be told from ones added later.
                report.problems.append(
                    f"Seals {expected}–{seal.sequence - 1} are missing, so events "
                    f"{'' if after is None else after + 1}–{seal.first_event_id - 1} can no longer be checked."
                )
                after = seal.first_event_id - 1
            rows = AuditEvent.objects.filter(id__lte=seal.last_event_id)
            if after is not None:
                rows = rows.filter(id__gt=after)
            report.problems += check_seal(key, seal, previous, in_order(rows, "id", 2000, EVENT_FIELDS))
        previous, after = seal, seal.last_event_id if after is None else max(after, seal.last_event_id)
    if other_key_from is not None:
        report.problems.append(
            f"Seals from seal {other_key_from} on were made with another audit key, so they cannot be "
            "checked: the key in use (EFFLEURA_AUDIT_KEY or var/audit_key) is not the one that sealed them."
        )
    _check_against_last_run(report, previous)
    unsealed = AuditEvent.objects.filter(id__gt=after) if after is not None else AuditEvent.objects.all()
    tail = unsealed.aggregate(oldest=Min("at"), count=Count("id"))
    report.unsealed = tail["count"]
    report.oldest_unsealed = tail["oldest"]
    if report.oldest_unsealed and report.oldest_unsealed < report.checked_at - STALE_AFTER:
        report.warnings.append(
            f"{report.unsealed} event(s) have waited more than {STALE_AFTER.seconds // 60} minutes "
            "to be sealed: is `effleura worker` running?"
        )
    with transaction.atomic():
        # Locked, so no sealer adds a seal (or verification its record) in between.
        state = _lock_state(wait=True) if record else AuditSealState.objects.filter(pk=STATE_ID).first()
        # With another key nothing keyed can be checked; that problem is already named.
        if key is not None and other_key_from is None:
            problem = tip_problem(key, state, AuditSeal.objects.order_by("-sequence").first())
            report.problems += [problem] if problem else []
            report.problems += _verification_problems(key, state)
        if record:
            _record_run(key, state, report, by, previous)
    return report


def _record_run(key: str | None, state: AuditSealState, report: Report, by: str, last_seal) -> None:
    latest = AuditVerification.objects.order_by("-id").first()
    run = AuditVerification(
        at=report.checked_at,
        by=by[:150],
        ok=report.ok,
        problems=len(report.problems),
        summary=report.problems[0][:200] if report.problems else "",
        sealed=report.sealed,
        unsealed=report.unsealed,
        last_seal_sequence=last_seal.sequence if last_seal else None,
        last_seal_hmac=last_seal.hmac if last_seal else "",
        previous_mac=latest.mac if latest else "",
    )
    if key is None:  # not keyed: the run is recorded, and found unkeyed once a key is back
        run.save()
        return
    run.mac = _verification_mac(key, run)
    run.save()
    # Only the verification tip is re-keyed: never the seal tip, which a problem may concern.
    state.verification_tip = run.mac
    state.verification_tip_mac = _verification_tip_mac(key, state)
    state.save(update_fields=["verification_tip", "verification_tip_mac"])


def _check_against_last_run(report: Report, last_seal) -> None:
    """Removing the newest seals (and their events) leaves a chain that still verifies: the
    last recorded run names the last seal it saw, which must still be there, unchanged."""
    seen = AuditVerification.objects.exclude(last_seal_sequence=None).order_by("-at", "-id").first()
    if seen is None:
        return
    still = AuditSeal.objects.filter(sequence=seen.last_seal_sequence).first()
    if still is None or still.hmac != seen.last_seal_hmac:
        report.problems.append(
            f"Seal {seen.last_seal_sequence}, seen by the verification of {clock.stamp(seen.at)}, "
            + ("is gone: seals were removed." if still is None else "has changed.")
        )


@dataclass(frozen=True)
class Status:
    """For the owner's audit page: the newest seal and the newest verification."""

    last_seal: AuditSeal | None
    last_verification: AuditVerification | None


def status() -> Status:
    """Two queries."""
    return Status(
        last_seal=AuditSeal.objects.order_by("-sequence").first(),
        last_verification=AuditVerification.objects.order_by("-at", "-id").first(),
    )


# --- worker duties (core/duties.py) ---------------------------------------------------------


@duty("seal the audit trail", every=60)
def seal_audit_trail() -> None:
    seal_pending()


@duty("verify the audit trail", every=3600)
def verify_audit_trail() -> None:
    """Once a day, whichever worker comes first (each checks the last run)."""
    last = AuditVerification.objects.order_by("-at", "-id").values_list("at", flat=True).first()
    if last is None or last < timezone.now() - VERIFY_EVERY:
        verify(by="worker")
