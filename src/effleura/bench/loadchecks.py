"""After a load run: no double-booking, and no acknowledged write lost.

* ``double_bookings``: among the appointments that hold time (every status but
  cancelled), no two of one practitioner, and no two of one room, overlap in their busy
  time ``[start, busy_until)`` (decision 0005; PostgreSQL's exclusion constraints should
  make this impossible, the check says so from the rows themselves).
* ``lost_writes``: every booking the load generator saw acknowledged (201) exists, holds
  its time, with the practitioner, start and front-desk notes it was booked with; every
  note saw its last acknowledged save: the stored version is at least the highest
  acknowledged one, and when equal (no later save), the text is that save's.

The comparisons are pure functions over plain rows (table-tested); ``check_database``
reads the rows. Runs where Django is set up (the harness, the tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Busy:
    resource: str  # "practitioner <id>" or "room <id>"
    appointment: str
    start: datetime
    until: datetime


def overlaps(rows: list[Busy]) -> list[tuple[Busy, Busy]]:
    """Pairs of rows of one resource whose busy times overlap (touching ends do not).
    Sorted by resource and start, each row is compared with the latest-ending earlier one."""
    found = []
    latest: dict[str, Busy] = {}
    for row in sorted(rows, key=lambda r: (r.resource, r.start, r.until)):
        before = latest.get(row.resource)
        if before is not None and row.start < before.until:
            found.append((before, row))
        if before is None or row.until > before.until:
            latest[row.resource] = row
    return found


@dataclass(frozen=True)
class StoredBooking:
    id: str
    practitioner: str
    start: datetime
    notes: str
    holds_time: bool


@dataclass(frozen=True)
class StoredNote:
    id: str
    version: int
    subjective: str


def lost_bookings(acks: list[dict], stored: dict[str, StoredBooking]) -> list[str]:
    """What is wrong with each acknowledged booking (one line each), or nothing."""
    problems = []
    for ack in acks:
        found = stored.get(ack["id"])
        if found is None:
            problems.append(f"booking {ack['id']} was acknowledged but is not in the database")
            continue
        if not found.holds_time:
            problems.append(f"booking {ack['id']} was acknowledged but is cancelled")
        if found.practitioner != ack["practitioner"]:
            problems.append(f"booking {ack['id']}: practitioner {found.practitioner}, booked {ack['practitioner']}")
        if found.start != datetime.fromisoformat(ack["start"]):
            problems.append(f"booking {ack['id']}: starts {found.start.isoformat()}, booked {ack['start']}")
        if found.notes != ack["notes"]:
            problems.append(f"booking {ack['id']}: its notes are not those it was booked with")
    return problems


def lost_notes(acks: list[dict], stored: dict[str, StoredNote]) -> list[str]:
    """What is wrong with each note that had acknowledged saves, or nothing. Two
    acknowledged saves of one version are a lost write too (the version check failed)."""
    problems = []
    newest: dict[str, dict] = {}
    seen: set[tuple[str, int]] = set()
    for ack in acks:
        key = (ack["id"], ack["version"])
        if key in seen:
            problems.append(f"note {ack['id']}: two saves were both acknowledged as version {ack['version']}")
        seen.add(key)
        if ack["id"] not in newest or ack["version"] > newest[ack["id"]]["version"]:
            newest[ack["id"]] = ack
    for note_id, ack in sorted(newest.items()):
        found = stored.get(note_id)
        if found is None:
            problems.append(f"note {note_id} had acknowledged saves but is not in the database")
        elif found.version < ack["version"]:
            problems.append(f"note {note_id}: version {found.version}, but version {ack['version']} was acknowledged")
        elif found.version == ack["version"] and found.subjective != ack["subjective"]:
            problems.append(f"note {note_id}: version {found.version} does not hold the text that save acknowledged")
    return problems


def split_acks(acks: list[dict]) -> tuple[list[dict], list[dict]]:
    bookings = [a for a in acks if a["kind"] == "booking"]
    notes = [a for a in acks if a["kind"] == "note"]
    return bookings, notes


# The database side -------------------------------------------------------------------------


def busy_rows() -> list[Busy]:
    from effleura.scheduling.choices import HOLDS_TIME
    from effleura.scheduling.models import Appointment

    rows = []
    held = Appointment.objects.filter(status__in=HOLDS_TIME).values_list(
        "public_id", "practitioner_id", "room_id", "start", "busy_until"
    )
    for public_id, practitioner, room, start, until in held.iterator(chunk_size=20_000):
        rows.append(Busy(f"practitioner {practitioner}", str(public_id), start, until))
        if room is not None:
            rows.append(Busy(f"room {room}", str(public_id), start, until))
    return rows


def stored_bookings(ids: list[str]) -> dict[str, StoredBooking]:
    from effleura.scheduling.models import Appointment

    found = {}
    for chunk in range(0, len(ids), 1000):
        for a in Appointment.objects.filter(public_id__in=ids[chunk : chunk + 1000]).select_related("practitioner"):
            found[str(a.public_id)] = StoredBooking(
                id=str(a.public_id),
                practitioner=str(a.practitioner.public_id),
                start=a.start,
                notes=a.notes,
                holds_time=a.holds_time,
            )
    return found


def stored_notes(ids: list[str]) -> dict[str, StoredNote]:
    from effleura.clinical.models import SessionNote

    return {
        str(n.public_id): StoredNote(str(n.public_id), n.version, n.subjective)
        for n in SessionNote.objects.filter(public_id__in=ids)
    }


def check_database(acks: list[dict]) -> list[str]:
    """Every problem found, one line each; empty when the run kept its promises."""
    problems = []
    for before, after in overlaps(busy_rows()):
        problems.append(
            f"double-booked {before.resource}: appointments {before.appointment} "
            f"({before.start.isoformat()}–{before.until.isoformat()}) and {after.appointment} "
            f"({after.start.isoformat()}–{after.until.isoformat()})"
        )
    bookings, notes = split_acks(acks)
    problems += lost_bookings(bookings, stored_bookings([a["id"] for a in bookings]))
    problems += lost_notes(notes, stored_notes(sorted({a["id"] for a in notes})))
    return problems
