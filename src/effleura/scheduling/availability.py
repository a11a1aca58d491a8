"""The slot engine: which appointments could be booked, given calendars as plain values.

Pure: no database, no request. scheduling/calendars.py loads the inputs from the
database; booking (scheduling/booking.py, via calendars.slot_problems) applies the same
rule to one chosen start, so every slot offered here can be booked there.

The rule
--------
An appointment of ``duration`` with ``changeover`` starting at ``s`` is possible for a
practitioner, with a room (when the service needs one), when:

1. ``[s, s + duration)`` lies inside ONE of the practitioner's working intervals. Those
   are concrete instants, already intersected with the location's opening hours and with
   time off removed (calendars.py does that). Touching working intervals join up:
   09:00–12:00 and 12:00–17:00 make one 09:00–17:00. The changeover may run past the end
   of working hours (the last 60-minute visit of a 09:00–17:00 day starts at 16:00).
2. ``[s, s + duration + changeover)`` overlaps none of the practitioner's busy intervals
   (``[start, busy_until)`` of each appointment that holds time, wherever it is), nor,
   when a room is needed, the chosen room's busy intervals. Intervals are half-open:
   touching is fine (a visit may start the instant the last changeover ends).
3. ``s >= not_before`` (now plus the minimum notice).
4. ``s`` is on the step: its wall-clock time in the location's zone is a whole number of
   minutes since local midnight that the step divides (every 15 minutes: :00, :15, :30,
   :45). The grid restarts at each local midnight, so a step that does not divide a day
   (7 minutes) still starts each day at 00:00.
5. ``start <= s < end`` (the window searched).

The room is the first free one in the order given (stable), so repeated searches offer
the same room. With ``rooms=None`` (a service that needs no room) slots have no room;
with ``rooms=[]`` (a service that needs one, at a location that has none) there are none.

Edge cases
----------
* Daylight saving. Starts are wall-clock times, so on the day clocks go forward
  (America/New_York, 02:00 -> 03:00) no start falls in the missing hour; on the day
  they go back, 01:00–01:59 happens twice and both instants are offered. Durations are
  real elapsed time: a 60-minute visit from 01:30 EDT ends at 01:30 EST.
* Inputs are aware datetimes in any zone; slots come back in UTC (show them in the
  location's zone). Empty or reversed intervals are ignored.
* Order: by start, then by the practitioners' order in the input. ``Slot.practitioner``
  and ``Slot.room`` are the ``id`` values given (calendars.py passes the User and Room).
* ``check_start`` applies rules 1–3 to one start and says which fail; calendars.slot_problems
  words the same checks for booking. ``merge``, ``intersect`` and ``subtract`` are the
  interval arithmetic calendars.py uses to build working time.
* Internally every instant is an integer number of microseconds since the epoch, so the
  arithmetic is exact; intervals are sorted and merged, and each busy interval blocks a
  contiguous run of the sorted candidate starts (found with bisect). The cost is in the
  number of slots returned, not in minutes searched.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import chain
from typing import Any, NamedTuple

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)
_MINUTE = 60_000_000  # microseconds
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Interval:
    """``[start, end)``, two aware datetimes."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class PractitionerCalendar:
    """One practitioner: when they could treat here, and when they are already busy.

    ``working``: concrete working intervals (weekly pattern or exception, intersected with
    the location's opening hours, minus time off). ``busy``: ``[start, busy_until)`` of
    each of their appointments that holds time, at any location.
    """

    id: Any
    working: Sequence[Interval]
    busy: Sequence[Interval] = ()


@dataclass(frozen=True)
class RoomCalendar:
    """One room: ``busy`` holds ``[start, busy_until)`` of the appointments in it."""

    id: Any
    busy: Sequence[Interval] = ()


class Slot(NamedTuple):
    """A bookable appointment: ``[start, end)`` (UTC) with a practitioner and a room (or None)."""

    start: datetime
    end: datetime
    practitioner: Any
    room: Any


class Problem(NamedTuple):
    """Why one start is not possible (see check_start). ``conflict`` is the busy interval hit."""

    kind: str
    conflict: Interval | None = None


OUTSIDE_WORKING = "outside_working"
PRACTITIONER_BUSY = "practitioner_busy"
ROOM_BUSY = "room_busy"
TOO_SOON = "too_soon"
NOT_ALIGNED = "not_aligned"
OUTSIDE_WINDOW = "outside_window"


# Interval arithmetic on Interval lists ------------------------------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping and touching intervals joined; empty ones dropped."""
    result: list[Interval] = []
    for iv in sorted((iv for iv in intervals if iv.end > iv.start), key=lambda iv: iv.start):
        if result and iv.start <= result[-1].end:
            if iv.end > result[-1].end:
                result[-1] = Interval(result[-1].start, iv.end)
        else:
            result.append(iv)
    return result


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The instants in both ``a`` and ``b`` (each merged first)."""
    a, b = merge(a), merge(b)
    result, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i].start, b[j].start), min(a[i].end, b[j].end)
        if lo < hi:
            result.append(Interval(lo, hi))
        if a[i].end <= b[j].end:
            i += 1
        else:
            j += 1
    return result


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The instants of ``a`` not in ``b`` (each merged first)."""
    result: list[Interval] = []
    cuts = merge(b)
    j = 0
    for iv in merge(a):
        start = iv.start
        while j < len(cuts) and cuts[j].end <= start:
            j += 1
        k = j
        while k < len(cuts) and cuts[k].start < iv.end:
            if cuts[k].start > start:
                result.append(Interval(start, cuts[k].start))
            start = max(start, cuts[k].end)
            k += 1
        if start < iv.end:
            result.append(Interval(start, iv.end))
    return result


def inside_one(intervals: Iterable[Interval], start: datetime, end: datetime) -> bool:
    """Whether ``[start, end)`` lies inside one interval of ``intervals`` once merged."""
    return any(iv.start <= start and end <= iv.end for iv in merge(intervals))


def overlapping(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The intervals that share an instant with ``[start, end)`` (touching does not count)."""
    return sorted((iv for iv in intervals if iv.start < end and start < iv.end and iv.start < iv.end), key=_start)


def _start(iv: Interval) -> datetime:
    return iv.start


def is_aligned(s: datetime, step: timedelta, tz: tzinfo) -> bool:
    """Whether ``s`` is on the step grid: local wall-clock minutes since midnight divisible by it."""
    minutes = _step_minutes(step)
    local = s.astimezone(tz)
    return local.second == 0 and local.microsecond == 0 and (local.hour * 60 + local.minute) % minutes == 0


def check_start(
    s: datetime,
    *,
    duration: timedelta,
    changeover: timedelta,
    practitioner: PractitionerCalendar,
    room: RoomCalendar | None,
    not_before: datetime | None = None,
) -> list[Problem]:
    """Rules 1–3 of the module docstring for one start (not the step, not the window).

    Empty when the start is possible for this practitioner with this room (None: no room).
    """
    problems = []
    if not inside_one(practitioner.working, s, s + duration):
        problems.append(Problem(OUTSIDE_WORKING))
    held = s + duration + changeover
    problems += [Problem(PRACTITIONER_BUSY, iv) for iv in overlapping(practitioner.busy, s, held)]
    if room is not None:
        problems += [Problem(ROOM_BUSY, iv) for iv in overlapping(room.busy, s, held)]
    if not_before is not None and s < not_before:
        problems.append(Problem(TOO_SOON))
    return problems


# The search ---------------------------------------------------------------------------


def find_slots(
    *,
    duration: timedelta,
    changeover: timedelta,
    practitioners: Sequence[PractitionerCalendar],
    rooms: Sequence[RoomCalendar] | None,
    start: datetime,
    end: datetime,
    step: timedelta,
    tz: tzinfo,
    not_before: datetime | None = None,
) -> list[Slot]:
    """Every bookable (start, practitioner) in ``[start, end)``, each with the first free room.

    See the module docstring for the rule. ``rooms=None``: the service needs no room.
    """
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    if changeover < timedelta(0):
        raise ValueError("changeover must not be negative")
    step_minutes = _step_minutes(step)
    lo = start if not_before is None else max(start, not_before)
    if lo >= end or not practitioners or (rooms is not None and not rooms):
        return []
    grid = _grid(_us(lo), _us(end), step_minutes, tz)
    n = len(grid)
    if not n:
        return []
    dur = duration // _US
    held = dur + changeover // _US

    if rooms is None:
        first_room: list[Any] | None = None
    else:
        # The first free room for each candidate start: fill from the last room to the
        # first, so an earlier room overwrites a later one.
        first_room = [_NO_ROOM] * n
        for room in reversed(rooms):
            for a, b in _complement(_blocked(grid, room.busy, held), n):
                first_room[a:b] = [room.id] * (b - a)

    starts: list[datetime | None] = [None] * n
    ends: list[datetime | None] = [None] * n
    buckets: list[list[Slot]] | None = [[] for _ in range(n)] if len(practitioners) > 1 else None
    out: list[Slot] = []
    for practitioner in practitioners:
        pid = practitioner.id
        append = out.append
        for a, b in _free_runs(grid, practitioner, dur, held):
            for i in range(a, b):
                room_id = None
                if first_room is not None:
                    room_id = first_room[i]
                    if room_id is _NO_ROOM:
                        continue
                s = starts[i]
                if s is None:
                    s = starts[i] = EPOCH + timedelta(microseconds=grid[i])
                    ends[i] = s + duration
                slot = Slot(s, ends[i], pid, room_id)
                if buckets is None:
                    append(slot)
                else:
                    buckets[i].append(slot)
    return out if buckets is None else list(chain.from_iterable(buckets))


_NO_ROOM = object()


def _us(dt: datetime) -> int:
    """Microseconds since the epoch (exact). A naive datetime raises TypeError."""
    return (dt - EPOCH) // _US


def _step_minutes(step: timedelta) -> int:
    minutes, rest = divmod(step, timedelta(minutes=1))
    if rest or minutes < 1:
        raise ValueError("step must be a whole number of minutes, at least one")
    return minutes


def _grid(lo: int, hi: int, step_minutes: int, tz: tzinfo) -> list[int]:
    """Sorted aligned starts in ``[lo, hi)`` (microseconds), built per local day."""
    first = (EPOCH + timedelta(microseconds=lo)).astimezone(tz).date() - _DAY
    last = (EPOCH + timedelta(microseconds=hi)).astimezone(tz).date()
    minutes = range(0, 24 * 60, step_minutes)
    points: list[int] = []
    day = first
    while day <= last:
        midnight = datetime(day.year, day.month, day.day)
        offset = tz.utcoffset(midnight)
        if offset == tz.utcoffset(midnight + _DAY):
            # The usual day: one offset throughout, so the grid is plain arithmetic.
            base = (midnight - _NAIVE_EPOCH - offset) // _US
            points.extend(base + m * _MINUTE for m in minutes)
        else:
            points.extend(_transition_day(day, minutes, tz))
        day += _DAY
    points.sort()
    a, b = bisect_left(points, lo), bisect_left(points, hi)
    result = points[a:b]
    # A repeated wall-clock time (fold) can give the same instant twice; keep one.
    return [p for k, p in enumerate(result) if k == 0 or p != result[k - 1]]


def _transition_day(day: date, minutes: range, tz: tzinfo) -> list[int]:
    """Aligned starts of a day whose UTC offset changes: every wall-clock time that exists,
    twice when it happens twice."""
    points = []
    midnight = datetime(day.year, day.month, day.day)
    for m in minutes:
        wall = midnight + timedelta(minutes=m)
        for fold in (0, 1):
            instant = _us(wall.replace(tzinfo=tz, fold=fold))
            back = (EPOCH + timedelta(microseconds=instant)).astimezone(tz).replace(tzinfo=None)
            if back == wall:  # the wall time exists (not in the gap when clocks go forward)
                points.append(instant)
    return points


def _runs(grid: list[int], bounds: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Index runs ``[a, b)`` of ``grid`` for inclusive value bounds ``[lo, hi]``, merged."""
    runs: list[tuple[int, int]] = []
    for lo, hi in bounds:
        a, b = bisect_left(grid, lo), bisect_right(grid, hi)
        if a < b:
            runs.append((a, b))
    return _merge_runs(runs)


def _merge_runs(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    runs.sort()
    merged: list[tuple[int, int]] = []
    for a, b in runs:
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _blocked(grid: list[int], busy: Iterable[Interval], held: int) -> list[tuple[int, int]]:
    """Index runs of starts ``s`` that ``busy`` blocks: ``s < b.end`` and ``s + held > b.start``."""
    runs = []
    append = runs.append
    for iv in busy:
        bs, be = (iv.start - EPOCH) // _US, (iv.end - EPOCH) // _US
        # Open bounds (bs - held, be): the first index above bs - held, the first at or after be.
        a, b = bisect_right(grid, bs - held), bisect_left(grid, be)
        if a < b and bs < be:
            append((a, b))
    return _merge_runs(runs)


def _complement(runs: list[tuple[int, int]], n: int) -> list[tuple[int, int]]:
    result, pos = [], 0
    for a, b in runs:
        if a > pos:
            result.append((pos, a))
        pos = max(pos, b)
    if pos < n:
        result.append((pos, n))
    return result


def _free_runs(grid: list[int], practitioner: PractitionerCalendar, dur: int, held: int) -> list[tuple[int, int]]:
    """Index runs of starts inside a working interval and not blocked by a busy one."""
    working = merge(practitioner.working)
    allowed = _runs(grid, ((_us(iv.start), _us(iv.end) - dur) for iv in working))
    if not allowed:
        return []
    blocked = _blocked(grid, practitioner.busy, held)
    result = []
    j = 0
    for a, b in allowed:
        while j < len(blocked) and blocked[j][1] <= a:
            j += 1
        k = j
        while k < len(blocked) and blocked[k][0] < b:
            if blocked[k][0] > a:
                result.append((a, blocked[k][0]))
            a = max(a, blocked[k][1])
            k += 1
        if a < b:
            result.append((a, b))
    return result
