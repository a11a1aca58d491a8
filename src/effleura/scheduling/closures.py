"""Closures: days a location, or the whole practice, is shut (holidays, dated closures).

Part of the scheduling set-up (see setup.py for the shared rules: the owner writes, every
role reads, check_*/do_* with the audit event in the write's transaction).

The rule
--------
A Closure covers the local dates ``first_day`` to ``last_day`` (both inclusive) at its
location, or at every location when it has none. ``every_year`` repeats the same month
and day each year, from ``first_day``'s year on: "25 Dec, every year" covers 25 December
2026, 2027 … and a closure from 24 December to 2 January covers the turn of each year.
29 February can't start or end a yearly closure (most years have none).

Nobody can be booked on a closed day: calendars.py takes the days out of everyone's
working time there, so availability, booking, series proposals and the waitlist all
follow. Visits already booked stay booked: visits_on_closed_days() counts the ones to
move, and the set-up page says so after a save.
"""

import calendar
import datetime
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q

from effleura.core.access import authorize
from effleura.core.values import merge_fields, parse_date
from effleura.scheduling.choices import HOLDS_TIME
from effleura.scheduling.models import Appointment, Closure, Location
from effleura.scheduling.setup import (
    MANAGE,
    VIEW,
    clean_location,
    clean_text,
    delete_and_audit,
    get_by_public_id,
    save_and_audit,
)

MAX_DAYS = 366  # a closure longer than a year is a location to deactivate instead


# The rule (pure) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClosedDays:
    """One closure as plain values: the dates, whether it repeats, and what to say."""

    first_day: datetime.date
    last_day: datetime.date
    every_year: bool
    reason: str

    @classmethod
    def of(cls, row) -> "ClosedDays":
        return cls(row.first_day, row.last_day, row.every_year, row.reason)

    def covers(self, day: datetime.date) -> bool:
        """Whether the location is closed on local ``day``."""
        if not self.every_year:
            return self.first_day <= day <= self.last_day
        if day < self.first_day:
            return False
        years = self.last_day.year - self.first_day.year
        # The closure of year y runs from first_day in y to last_day in y + years; day may
        # fall in the one that started this year or, across New Year, the one before.
        for year in (day.year - years, day.year):
            if year < self.first_day.year:
                continue
            start = _in_year(self.first_day, year)
            end = _in_year(self.last_day, year + years)
            if start <= day <= end:
                return True
        return False


def _in_year(day: datetime.date, year: int) -> datetime.date:
    if (day.month, day.day) == (2, 29) and not calendar.isleap(year):
        return day.replace(year=year, day=28)  # refused on saving; kept safe for older rows
    return day.replace(year=year)


def closed_on(closures: Iterable[ClosedDays], days: Iterable[datetime.date]) -> dict[datetime.date, str]:
    """Each of ``days`` that a closure covers -> its reason (the first, by start, when several do)."""
    closures = sorted(closures, key=lambda c: c.first_day)
    found: dict[datetime.date, str] = {}
    for day in days:
        for closure in closures:
            if closure.covers(day):
                found[day] = closure.reason
                break
    return found


def describe(row: Closure) -> str:
    """ "Thu 25 Dec 2026 (Christmas Day), every year, at every location"."""
    days = f"{row.first_day:%a} {row.first_day.day} {row.first_day:%b %Y}"
    if row.last_day != row.first_day:
        days += f" to {row.last_day:%a} {row.last_day.day} {row.last_day:%b %Y}"
    where = row.location.name if row.location_id else "every location"
    return f"{days} ({row.reason}){', every year' if row.every_year else ''}, at {where}"


# Reading --------------------------------------------------------------------------------------


def closures_for(location, first: datetime.date, last: datetime.date) -> list[ClosedDays]:
    """The closures that may cover a date of ``first``..``last`` at ``location``: its own and
    the practice's, dated ones overlapping the dates and yearly ones begun by then. One query."""
    rows = Closure.objects.filter(Q(location=location) | Q(location__isnull=True)).filter(
        Q(every_year=True, first_day__lte=last) | Q(first_day__lte=last, last_day__gte=first)
    )
    return [ClosedDays(*values) for values in rows.values_list("first_day", "last_day", "every_year", "reason")]


def closed_days(location, first: datetime.date, last: datetime.date) -> dict[datetime.date, str]:
    """The dates of ``first``..``last`` on which ``location`` is closed -> why."""
    days = [first + datetime.timedelta(days=k) for k in range((last - first).days + 1)]
    return closed_on(closures_for(location, first, last), days)


def list_closures(actor, *, location=None, start: datetime.date | None = None, end: datetime.date | None = None):
    """Closures, practice-wide and per location; ``start``/``end`` keep those that may
    cover a date from ``start`` / up to ``end`` (yearly ones always may, once begun)."""
    authorize(actor, VIEW)
    found = Closure.objects.select_related("location")
    if location is not None:  # a Location, or its public id (the API's filter)
        own = Q(location=location) if isinstance(location, Location) else Q(location__public_id=location)
        found = found.filter(own | Q(location__isnull=True))
    if start is not None:
        found = found.filter(Q(every_year=True) | Q(last_day__gte=start))
    if end is not None:
        found = found.filter(first_day__lte=end)
    return found


def get_closure(actor, closure_id, *, key: str = VIEW) -> Closure:
    authorize(actor, key, record_id=closure_id)
    return get_by_public_id(Closure, closure_id, "closure", select=["location"])


def visits_on_closed_days(closure: Closure, *, now: datetime.datetime, horizon_days: int = 366) -> int:
    """How many visits still ahead (within ``horizon_days``) fall on a day ``closure``
    covers: the ones to move or cancel. Bounded: one query over the horizon."""
    rule = ClosedDays.of(closure)
    end = now + datetime.timedelta(days=horizon_days)
    rows = Appointment.objects.filter(start__gte=now, start__lt=end, status__in=HOLDS_TIME)
    if closure.location_id is not None:
        rows = rows.filter(location_id=closure.location_id)
    if not rule.every_year:
        # A day before and after: a local date reaches at most 14 hours either side of UTC's.
        rows = rows.filter(
            start__gte=datetime.datetime.combine(closure.first_day, datetime.time(0), datetime.UTC)
            - datetime.timedelta(days=1),
            start__lt=datetime.datetime.combine(closure.last_day, datetime.time(0), datetime.UTC)
            + datetime.timedelta(days=2),
        )
    zones: dict[str, zoneinfo.ZoneInfo] = {}
    count = 0
    for start, zone in rows.values_list("start", "location__time_zone"):
        tz = zones.setdefault(zone, zoneinfo.ZoneInfo(zone))
        count += rule.covers(start.astimezone(tz).date())
    return count


# Writing --------------------------------------------------------------------------------------

FIELDS = ["location", "first_day", "last_day", "reason", "every_year"]


def check_save_closure(actor, data: dict, closure: Closure | None = None) -> dict:
    """May ``actor`` save this closure (new, or a change to ``closure``: fields not given
    keep their value)? Needs scheduling_setup.manage. ``location`` empty or None: the whole
    practice. ``last_day`` empty: one day. Raises ValidationError (field -> message) for
    dates in the wrong order, a closure longer than a year, a yearly one on 29 February or
    longer than a year, or no reason. Returns the clean fields for do_save_closure()."""
    authorize(actor, MANAGE, record_id=closure.public_id if closure else "")
    defaults = {"location": None, "first_day": None, "last_day": None, "reason": "", "every_year": False}
    merged = merge_fields(closure, FIELDS, defaults, data)
    errors: dict[str, str] = {}
    location = merged["location"]
    location = None if location in (None, "") else clean_location(location, "location", errors, active=False)
    first = parse_date(merged["first_day"], "first_day", errors, required=True)
    last = parse_date(merged["last_day"], "last_day", errors, default=first)
    reason = clean_text(merged["reason"], "reason", errors, Closure._meta.get_field("reason").max_length)
    if not reason and "reason" not in errors:
        errors["reason"] = "Say why, e.g. Christmas Day: staff see it when a booking is refused."
    every_year = merged["every_year"]
    if not isinstance(every_year, bool):
        errors["every_year"] = "Answer true or false."
    if first and last:
        if last < first:
            errors.setdefault("last_day", f"The last day can’t be before the first ({first.day} {first:%b %Y}).")
        elif (last - first).days >= MAX_DAYS:
            errors.setdefault(
                "last_day", "A closure lasts at most a year: for a location that has shut, untick its “Active” box."
            )
        elif every_year is True:
            if (first.month, first.day) == (2, 29) or (last.month, last.day) == (2, 29):
                errors.setdefault(
                    "first_day", "A yearly closure can’t start or end on 29 February (most years lack it)."
                )
            elif _in_year(first, first.year + 1) <= last:
                errors.setdefault("last_day", "A closure that repeats every year must be shorter than a year.")
    if errors:
        raise ValidationError(errors)
    return {"location": location, "first_day": first, "last_day": last, "reason": reason, "every_year": every_year}


def do_save_closure(actor, clean: dict, closure: Closure | None = None, *, expected_version=None) -> Closure:
    """Precondition: check_save_closure(). Saves and audits in one transaction; a version
    other than ``expected_version`` (the one the editor loaded) is refused (StaleVersion).
    Visits already booked on the days stay booked (visits_on_closed_days counts them)."""
    return save_and_audit(actor, Closure, closure, clean, "closure", expected_version=expected_version)


def check_delete_closure(actor, closure: Closure) -> None:
    """May ``actor`` delete ``closure``? Needs scheduling_setup.manage (PermissionDenied
    otherwise); nothing else blocks it. Returns None; then call do_delete_closure()."""
    authorize(actor, MANAGE, record_id=closure.public_id)


def do_delete_closure(actor, closure: Closure, *, expected_version=None) -> None:
    """Delete ``closure`` once check_delete_closure() allowed it: locks, deletes and audits
    in one transaction; StaleVersion when saved since ``expected_version``. The days open
    for booking again at once."""
    delete_and_audit(actor, closure, "closure", expected_version=expected_version)
