"""The no-double-booking rule: plain functions, the query that finds a clash, and the
error a clash raises.

A practitioner, a room and a patient can never be in two overlapping appointments that
hold time (every status but cancelled: choices.HOLDS_TIME). The practitioner and the
room are busy from ``start`` until ``busy_until`` (the end plus the service's changeover,
the time to turn the room around); the patient only from ``start`` until ``end``: they
do not wait while the table is remade. Intervals are half-open, so a visit may begin the
minute the previous one's busy time ends.

Two layers enforce it (docs/decisions/0005-no-double-booking.md): scheduling/booking_actions.py
runs ``find_conflict`` inside the transaction that writes, which on SQLite holds the
database's write lock from its BEGIN; on PostgreSQL three exclusion constraints
(migration 0002) refuse an overlapping row whatever wrote it, and booking_actions.py turns that
refusal into the same BookingConflict.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Q

from effleura.core import clock, confirmation
from effleura.scheduling.choices import HOLDS_TIME, AppointmentStatus
from effleura.scheduling.models import Appointment, Location, Room

PRACTITIONER, ROOM, PATIENT = "practitioner", "room", "patient"
# When several things clash, the message names the first of these.
ORDER = (PRACTITIONER, ROOM, PATIENT)

# PostgreSQL's SQLSTATEs: exclusion_violation; deadlock_detected and serialization_failure
# (a transaction aborted because of another one, worth one more try).
EXCLUSION_VIOLATION = "23P01"
LOCK_CONTENTION = {"40P01", "40001"}
# The constraints of migration 0002.
CONSTRAINTS = {
    "appointment_no_practitioner_overlap": PRACTITIONER,
    "appointment_no_room_overlap": ROOM,
    "appointment_no_patient_overlap": PATIENT,
}


# Pure rules ---------------------------------------------------------------------------


def overlaps(a_start, a_end, b_start, b_end) -> bool:
    """Whether the half-open intervals [a_start, a_end) and [b_start, b_end) share a moment."""
    return a_start < b_end and b_start < a_end


def visit_times(
    start: datetime.datetime, duration_minutes: int, changeover_minutes: int
) -> tuple[datetime.datetime, datetime.datetime]:
    """(end, busy_until) of a visit. Plain arithmetic on aware instants: a 60-minute visit
    lasts 60 real minutes, also across a daylight-saving change."""
    end = start + datetime.timedelta(minutes=duration_minutes)
    return end, end + datetime.timedelta(minutes=changeover_minutes)


@dataclass(frozen=True)
class Slot:
    """What the rule needs to know about one appointment (ids, not objects)."""

    practitioner: object
    room: object | None
    patient: object
    start: datetime.datetime
    end: datetime.datetime
    busy_until: datetime.datetime
    status: str = AppointmentStatus.BOOKED

    @property
    def holds_time(self) -> bool:
        return self.status in HOLDS_TIME

    @classmethod
    def of(cls, appointment: Appointment) -> "Slot":
        return cls(
            appointment.practitioner_id,
            appointment.room_id,
            appointment.patient_id,
            appointment.start,
            appointment.end,
            appointment.busy_until,
            appointment.status,
        )


def clashes(new: Slot, old: Slot) -> list[str]:
    """What ``new`` and ``old`` both need at the same time: practitioner, room, patient (in
    that order); empty when they can both stand. A cancelled slot clashes with nothing."""
    if not (new.holds_time and old.holds_time):
        return []
    found = []
    busy = overlaps(new.start, new.busy_until, old.start, old.busy_until)
    if busy and new.practitioner == old.practitioner:
        found.append(PRACTITIONER)
    if busy and new.room is not None and new.room == old.room:
        found.append(ROOM)
    if new.patient == old.patient and overlaps(new.start, new.end, old.start, old.end):
        found.append(PATIENT)
    return found


def first_clash(new: Slot, existing: Iterable[tuple[object, Slot]]) -> tuple[str, object] | None:
    """The most telling clash of ``new`` with any of ``existing`` ((key, slot) pairs):
    (what, key), preferring a practitioner clash, then a room, then the patient; among
    equals, the earliest existing slot."""
    best = None
    for key, old in existing:
        for what in clashes(new, old):
            rank = (ORDER.index(what), old.start)
            if best is None or rank < best[0]:
                best = (rank, what, key)
    return None if best is None else (best[1], best[2])


# The clash in the database -------------------------------------------------------------


def holding_time():
    return Appointment.objects.filter(status__in=HOLDS_TIME)


def find_conflict(
    *,
    practitioner_id,
    room_id,
    patient_id,
    start: datetime.datetime,
    end: datetime.datetime,
    busy_until: datetime.datetime,
    ignore_id=None,
) -> tuple[str, Appointment] | None:
    """The appointment that stands in the way of this visit and what it clashes on, or
    None. One query. ``ignore_id``: the appointment being moved.

    Only a check: to rely on the answer, call it inside the transaction that writes the
    visit, while that transaction holds the write lock (SQLite; see booking_actions.py)."""
    busy = Q(busy_until__gt=start)
    wanted = Q(practitioner_id=practitioner_id) & busy
    if room_id is not None:
        wanted |= Q(room_id=room_id) & busy
    wanted |= Q(patient_id=patient_id, start__lt=end, end__gt=start)
    # Bounded on both sides (models.AppointmentQuerySet.overlapping), so the indexes read
    # only around the visit, however long the history.
    candidates = holding_time().overlapping(start, busy_until, until="busy_until").filter(wanted)
    if ignore_id is not None:
        candidates = candidates.exclude(pk=ignore_id)
    # A handful is enough to pick the most telling one; the range filter keeps it small.
    rows = list(candidates.select_related("practitioner", "room", "location").order_by("start")[:10])
    new = Slot(practitioner_id, room_id, patient_id, start, end, busy_until)
    found = first_clash(new, ((row, Slot.of(row)) for row in rows))
    return None if found is None else (found[0], found[1])


def free_room(location: Location, start, busy_until, *, ignore_id=None, prefer=None):
    """The first active room of ``location`` free over [start, busy_until) (``prefer``
    first when it is free), or None. One query."""
    taken = holding_time().overlapping(start, busy_until, until="busy_until").filter(room__isnull=False)
    if ignore_id is not None:
        taken = taken.exclude(pk=ignore_id)
    rooms = list(
        Room.objects.filter(location=location, is_active=True)
        .exclude(pk__in=taken.values("room_id"))
        .order_by("name", "pk")
    )
    if prefer is not None:
        for room in rooms:
            if room.pk == prefer.pk:
                return room
    return rooms[0] if rooms else None


def _sqlstate(exc: Exception) -> str | None:
    cause = exc.__cause__  # Django wraps the driver's error (psycopg 3: sqlstate; psycopg2: pgcode)
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


def is_exclusion_violation(exc: IntegrityError) -> bool:
    """Whether a database error is PostgreSQL refusing an overlap (migration 0002)."""
    return _sqlstate(exc) == EXCLUSION_VIOLATION


def is_lock_contention(exc: Exception) -> bool:
    """Whether PostgreSQL aborted the transaction for another's sake (deadlock, serialization)."""
    return _sqlstate(exc) in LOCK_CONTENTION


# The error ------------------------------------------------------------------------------


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


def local_span(start: datetime.datetime, end: datetime.datetime, location: Location) -> str:
    """ "10:00–11:00 (Tue 3 Mar)" in the location's time zone; "10:00–11:00 EST (Tue 3 Mar)"
    when that is not the practice's zone (core/clock.py), so nobody reads it in theirs."""
    tz = location.tz
    s, e = start.astimezone(tz), end.astimezone(tz)
    day = f"{s:%a} {s.day} {s:%b}"
    zone = f" {e:%Z}" if clock.zone_differs(location) else ""
    if e.date() != s.date():
        return f"{s:%H:%M} ({day})–{e:%H:%M}{zone} ({e:%a} {e.day} {e:%b})"
    return f"{s:%H:%M}–{e:%H:%M}{zone} ({day})"


class BookingConflict(ValidationError):
    """A visit cannot be booked or moved because a practitioner, a room or the patient is
    already booked then. The API answers it with HTTP 409.

    The message names who or what is taken and the other appointment's time in its
    location's zone; it never names another patient. Attributes: ``what`` (practitioner,
    room or patient), ``start`` and ``end`` of the appointment in the way (None when it is
    gone by the time we looked), ``appointment`` (for internal use only: never show its
    patient)."""

    def __init__(self, message: str, *, what: str = "", start=None, end=None, appointment=None):
        super().__init__(message, code="booking_conflict")
        self.what = what
        self.start = start
        self.end = end
        self.appointment = appointment

    @classmethod
    def against(cls, what: str, appointment: Appointment, *, start=None, end=None) -> "BookingConflict":
        """The conflict with ``appointment`` over ``what``. ``start``/``end``: the visit
        asked for, to say when only the changeover makes the two overlap."""
        span = local_span(appointment.start, appointment.end, appointment.location)
        where = appointment.location.name
        if what == PRACTITIONER:
            message = f"{_person(appointment.practitioner)} is already booked {span} at {where}."
        elif what == ROOM:
            message = f"{appointment.room.name} is already booked {span} at {where}."
        else:
            message = f"The patient already has an appointment {span} at {where}."
        if what != PATIENT and start is not None and not overlaps(start, end, appointment.start, appointment.end):
            message = message[:-1] + "; the changeover after a visit leaves no time in between."
        return cls(message, what=what, start=appointment.start, end=appointment.end, appointment=appointment)

    @classmethod
    def no_room(cls, location: Location, start, end) -> "BookingConflict":
        span = local_span(start, end, location)
        return cls(f"No room is free at {location.name} {span}.", what=ROOM, start=start, end=end)

    @classmethod
    def taken_meanwhile(cls, location: Location, start, end) -> "BookingConflict":
        """The database refused the visit, but the appointment in the way is gone again by
        the time we looked (cancelled in between)."""
        span = local_span(start, end, location)
        return cls(f"{span} at {location.name} was booked by someone else a moment ago; try again.", start=start)

    def for_visit(self, number: int, total: int) -> "BookingConflict":
        """The same conflict, naming the visit of a series it belongs to."""
        return BookingConflict(
            f"Visit {number} of {total}: {self.messages[0]}",
            what=self.what,
            start=self.start,
            end=self.end,
            appointment=self.appointment,
        )


class NeedsConfirmation(confirmation.NeedsConfirmation):
    """The visit can be booked, but the person booking must confirm something first (the
    booking warnings of core/extension_points.py: a referral with no visits left, for
    one). check_book() raises it unless called with ``confirm_warnings=True``; the booking
    page shows the warnings with "Book anyway", the API answers 409 with them.
    ``warnings``: the list, in plain words, never naming another patient."""

    prompt = "Confirm before booking: "


class MoveNeedsConfirmation(NeedsConfirmation):
    """A booked visit can be moved, but the person moving it must confirm something first
    (the new start is sooner than the practice's minimum notice). check_reschedule() raises
    it unless called with ``confirm_warnings=True``; the reschedule page shows the warnings
    with "Move anyway", the API answers 409 with them."""

    prompt = "Confirm before moving the visit: "
