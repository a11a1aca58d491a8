"""Planning a treatment series: N visits every K days, or on chosen weekdays, at the same
local time as the first. Pure: plain values in, plain values out; no database.

Twice a week for four weeks is ``visits=8, weekdays=[1, 3]`` (Tuesday and Thursday, 0 =
Monday): the first visit is on the first of those weekdays on or after the first start's
date. Every visit keeps the first one's wall-clock time in the location's zone, so a
series that crosses a daylight-saving change stays at 10:00 local (a time that does not
exist that day is read with the offset before the change, as calendars.py does).

scheduling/series_actions.py checks each planned visit against the calendar (propose_series) and
books the visits chosen (do_book_series), all or none.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_VISITS = 60  # Series.visits allows at most 60
MAX_EVERY_DAYS = 365
MAX_ALTERNATIVES = 3
OK, CONFLICT = "ok", "conflict"


def pattern_errors(visits, every_days=None, weekdays=None, *, require_pattern: bool = True) -> dict[str, str]:
    """What is wrong with a series' shape, field -> message (empty when it is sound)."""
    errors: dict[str, str] = {}
    if not isinstance(visits, int) or isinstance(visits, bool) or not 1 <= visits <= MAX_VISITS:
        errors["visits"] = f"A series has 1 to {MAX_VISITS} visits."
    if every_days is not None and weekdays:
        errors["weekdays"] = "Choose either every so many days or weekdays, not both."
    elif every_days is not None:
        if isinstance(every_days, bool) or not isinstance(every_days, int) or not 1 <= every_days <= MAX_EVERY_DAYS:
            errors["every_days"] = f"Give a number of days from 1 to {MAX_EVERY_DAYS}."
    elif weekdays:
        if any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in weekdays):
            errors["weekdays"] = "Give weekdays as numbers from 0 (Monday) to 6 (Sunday)."
    elif require_pattern:
        errors["every_days"] = "Say how often: every so many days, or on which weekdays."
    return errors


def plan_starts(
    first_start: datetime.datetime,
    tz: datetime.tzinfo,
    visits: int,
    *,
    every_days: int | None = None,
    weekdays: Iterable[int] | None = None,
) -> list[datetime.datetime]:
    """The starts of a series (aware, UTC), from ``first_start`` (aware). Raises
    ValueError for a shape pattern_errors() refuses."""
    weekdays = sorted(set(weekdays or []))
    errors = pattern_errors(visits, every_days, weekdays)
    if errors:
        raise ValueError(" ".join(errors.values()))
    local = first_start.astimezone(tz)
    wall = local.time().replace(tzinfo=None, fold=0)
    if every_days is not None:
        days = [local.date() + datetime.timedelta(days=every_days * k) for k in range(visits)]
    else:
        days = []
        day = local.date()
        while len(days) < visits:
            if day.weekday() in weekdays:
                days.append(day)
            day += datetime.timedelta(days=1)
    return [datetime.datetime.combine(d, wall, tzinfo=tz).astimezone(datetime.UTC) for d in days]


@dataclass(frozen=True)
class Visit:
    """One visit chosen for a series: its start, and the practitioner or room when they
    differ from the series' (an alternative picked for a conflicting visit)."""

    start: datetime.datetime
    practitioner: object = None
    room: object = None

    @classmethod
    def of(cls, value) -> "Visit":
        if isinstance(value, Visit):
            return value
        if isinstance(value, dict):
            return cls(value["start"], value.get("practitioner"), value.get("room"))
        return cls(value)


@dataclass(frozen=True)
class Alternative:
    start: datetime.datetime
    end: datetime.datetime
    practitioner: object
    room: object = None


@dataclass
class ProposedVisit:
    """A planned visit and whether it can be booked: status ``ok``, or ``conflict`` with
    the problem in plain words and up to three alternatives (on nearby days when the day
    is a closure)."""

    number: int
    start: datetime.datetime
    end: datetime.datetime
    practitioner: object
    room: object = None
    status: str = OK
    problem: str = ""
    alternatives: list[Alternative] = field(default_factory=list)
    closed: bool = False  # the day is a closure: the alternatives are on other days


def pick_alternatives(
    wanted: datetime.datetime,
    practitioner,
    slots: Iterable[Alternative],
    *,
    blocked: Iterable[tuple[datetime.datetime, datetime.datetime]] = (),
    limit: int = MAX_ALTERNATIVES,
) -> list[Alternative]:
    """The best ``limit`` of ``slots`` instead of a visit wanted at ``wanted`` with
    ``practitioner``: the same practitioner at the nearest other times (at most
    ``limit - 1``, so another practitioner gets a place), then others nearest the time
    wanted, then whatever is nearest. Slots overlapping ``blocked`` (the patient's other
    appointments) are left out. Ties go to the earlier slot."""
    blocked = list(blocked)
    usable = [s for s in slots if not any(s.start < b_end and b_start < s.end for b_start, b_end in blocked)]

    def distance(slot: Alternative):
        return (abs(slot.start - wanted), slot.start)

    same = sorted((s for s in usable if s.practitioner == practitioner), key=distance)
    others = sorted((s for s in usable if s.practitioner != practitioner), key=distance)
    # One alternative per practitioner and time: several free rooms make one choice.
    chosen: list[Alternative] = []
    seen = set()

    def take(candidates, up_to: int) -> None:
        for slot in candidates:
            if len(chosen) >= up_to:
                return
            key = (slot.start, slot.practitioner)
            if key not in seen:
                seen.add(key)
                chosen.append(slot)

    take(same, max(limit - 1, 1) if others else limit)
    take(others, limit)
    take(sorted(same + others, key=distance), limit)
    return sorted(chosen, key=lambda s: s.start)
