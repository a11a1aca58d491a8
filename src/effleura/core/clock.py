"""One clock: which zone a date or time is shown in.

Datetimes are stored in UTC. A person sees them in one of two zones:

* **the location's zone** for what happens at a location: a visit, and what is about a
  visit (a note's visit heading, a report's visit dates, a superbill's or claim's date
  of service, reminders and confirmations, the calendar feed);
* **the practice's zone** (``Practice.time_zone``, set on the Practice page) for
  everything else: signatures, the audit trail, created and updated stamps, when a report
  was sent, payments, and "today".

The practice's zone is active for every request (core.middleware.PracticeZoneMiddleware)
and every background task (``in_practice_zone()``), so Django's ``|date`` filter,
``timezone.localtime()`` and ``timezone.localdate()`` already answer in it. For a visit,
convert with ``local(moment, location)`` or the template filter
``{{ appointment.start|at_location:appointment.location|date:"D j M, H:i T" }}``
(``{% load clock %}``); ``T`` names the zone ("PST").

The zone is read once and kept in a small per-process cache for ``CACHE_SECONDS``, so a
page costs no extra query; ``forget_practice_zone()`` (called by core.actions.
do_save_practice) empties it at once in this process, other app servers follow within
``CACHE_SECONDS``.
"""

import contextlib
import datetime
import threading
import time
import zoneinfo

from django.conf import settings
from django.utils import timezone

CACHE_SECONDS = 60

_lock = threading.Lock()
# (zone, monotonic time it expires, whether therapists are limited to their care team)
_cached: tuple[zoneinfo.ZoneInfo, float, bool] | None = None


def _zone_named(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def remember_practice_zone(name: str, *, care_team_only: bool = False) -> zoneinfo.ZoneInfo:
    """Keep ``name`` as the practice's zone for CACHE_SECONDS (from a Practice row just read),
    with its care-team setting (core/careteam.py), cached alike."""
    global _cached
    zone = _zone_named(name)
    with _lock:
        _cached = (zone, time.monotonic() + CACHE_SECONDS, bool(care_team_only))
    return zone


def cached_practice_zone() -> zoneinfo.ZoneInfo | None:
    """The cached zone, or None when nothing is cached or it has expired."""
    entry = _cached
    if entry is None or entry[1] <= time.monotonic():
        return None
    return entry[0]


def practice_zone() -> zoneinfo.ZoneInfo:
    """The practice's zone (Practice.time_zone; EFFLEURA_TIME_ZONE before the practice is
    set up). At most one query per process every CACHE_SECONDS."""
    zone = cached_practice_zone()
    if zone is not None:
        return zone
    from effleura.core.models import Practice

    row = Practice.objects.order_by("pk").values_list("time_zone", "care_team_only").first()
    name, care_team_only = row or (settings.TIME_ZONE, False)
    return remember_practice_zone(name or settings.TIME_ZONE, care_team_only=care_team_only)


def practice_care_team_only() -> bool:
    """Practice.care_team_only, from the same cache as the zone (read with it)."""
    entry = _cached
    if entry is None or entry[1] <= time.monotonic():
        practice_zone()
        entry = _cached
    return entry[2] if entry is not None else False


def forget_practice_zone() -> None:
    """Empty the cache: the next practice_zone() reads the row again."""
    global _cached
    with _lock:
        _cached = None


@contextlib.contextmanager
def in_practice_zone():
    """Run a block (a background task, a command) with the practice's zone active, as a
    request has it; the zone active before is restored afterwards."""
    with timezone.override(practice_zone()):
        yield


def zone_of(where=None) -> zoneinfo.ZoneInfo:
    """The zone of ``where``: a Location (its ``tz``), a ZoneInfo, a zone name, or None for
    the practice's zone."""
    if where is None or where == "":
        return practice_zone()
    if isinstance(where, zoneinfo.ZoneInfo):
        return where
    if isinstance(where, str):
        return _zone_named(where)
    tz = getattr(where, "tz", None)
    if isinstance(tz, zoneinfo.ZoneInfo):
        return tz
    name = getattr(where, "time_zone", None)
    return _zone_named(name) if name else practice_zone()


class LocalMoment(datetime.datetime):
    """A datetime already in the zone it is to be shown in: Django's templates leave it as
    it is instead of converting it to the active zone (the flag ``template_localtime``
    reads, as django.templatetags.tz does)."""

    convert_to_local_time = False


def local(moment: datetime.datetime | None, where=None) -> LocalMoment | None:
    """``moment`` (aware) in the zone of ``where`` (a Location, a zone or its name; None:
    the practice's zone). A naive value is taken as UTC, which is how it is stored."""
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=datetime.UTC)
    shown = moment.astimezone(zone_of(where))
    return LocalMoment(
        shown.year,
        shown.month,
        shown.day,
        shown.hour,
        shown.minute,
        shown.second,
        shown.microsecond,
        shown.tzinfo,
        fold=shown.fold,
    )


def local_date(moment: datetime.datetime, where=None) -> datetime.date:
    """The calendar day of ``moment`` in the zone of ``where`` (None: the practice's)."""
    return local(moment, where).date()


def today() -> datetime.date:
    """Today in the practice's zone, whatever zone is active."""
    return timezone.now().astimezone(practice_zone()).date()


def zone_differs(where) -> bool:
    """Does ``where``'s zone differ from the practice's (so a time there needs its zone
    named)?"""
    return zone_of(where).key != practice_zone().key


def visit_when(appointment, *, weekday: str = "%A") -> str:
    """ "Tuesday 1 December 2026, 17:30–18:30 PST": a visit's day and time in its location's
    zone, with the zone's abbreviation so nobody reads it in another zone."""
    start = local(appointment.start, appointment.location)
    end = local(appointment.end, appointment.location)
    return f"{start:{weekday}} {start.day} {start:%B %Y}, {start:%H:%M}–{end:%H:%M} {start:%Z}"


def stamp(moment: datetime.datetime | None, *, seconds: bool = False) -> str:
    """ "2026-12-01 10:45 PST": a moment in the practice's zone, named (CSV exports, error
    messages)."""
    if moment is None:
        return ""
    shown = local(moment)
    return f"{shown:%Y-%m-%d %H:%M{':%S' if seconds else ''} %Z}"
