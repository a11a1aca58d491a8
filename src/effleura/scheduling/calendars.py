"""From the database to the slot engine: who works when, who is busy, which rooms are free.

Two public functions, both read-only:

* ``available_slots(service, location, start, end, ...)``: bookable slots, from the pure
  engine in scheduling/availability.py.
* ``slot_problems(service, duration, location, practitioner, room, start, ...)``: why one
  chosen booking is not possible, in plain words for the front desk; empty when it is.
  Booking (scheduling/booking.py) calls it, so a slot offered is a slot that books.

How a practitioner's working time at a location is built, for each local date:

1. Their weekly pattern (WorkingHours rows for that weekday at that location whose
   valid_from / valid_until, both inclusive, contain the date), unless
2. a ScheduleException for that date at that location exists: its times replace the
   pattern; an exception with no times means not working that day (if a date has both,
   the day off wins).
3. Local times become instants in the location's zone (zoneinfo): on the day clocks go
   forward a time in the missing hour is read with the offset before the change (02:30 in
   New York is 03:30 EDT); a time that happens twice is its first occurrence.
4. Intersected with the location's opening hours. A location with no opening-hours rows
   at all counts as always open (a home-visit "location", a hospital ward).
5. Minus the practitioner's time off (any location).
6. Minus the days the location, or the whole practice, is closed (scheduling/closures.py:
   holidays and dated closures, each a whole local day).

Busy time is ``[start, busy_until)`` of every appointment whose status holds time
(HOLDS_TIME: all but cancelled): for practitioners at any location, for rooms here.

Queries are bounded whatever the number of practitioners or appointments: one each for
practitioners, rooms, working hours, exceptions, time off, opening hours, closures,
appointments and the policy.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from effleura.scheduling import availability, closures
from effleura.scheduling.availability import Interval, PractitionerCalendar, RoomCalendar, Slot
from effleura.scheduling.choices import HOLDS_TIME
from effleura.scheduling.models import (
    Appointment,
    OpeningHours,
    Room,
    ScheduleException,
    SchedulingPolicy,
    TimeOff,
    WorkingHours,
)

_DAY = timedelta(days=1)


# Public ---------------------------------------------------------------------------------


def offered_durations(service) -> list[int]:
    """The durations (minutes) a service is booked for; the first is the default."""
    return [int(d) for d in service.durations] or [service.default_duration]


def check_duration(service, duration) -> int:
    """``duration`` (minutes), or the service's default when None; ValidationError if not offered."""
    offered = offered_durations(service)
    if duration is None:
        return offered[0]
    if isinstance(duration, str) and duration.strip().isdigit():
        duration = int(duration)
    if not isinstance(duration, int) or isinstance(duration, bool) or duration not in offered:
        raise ValidationError({"duration": _duration_message(service, duration)})
    return duration


def available_slots(
    service,
    location,
    start: datetime,
    end: datetime,
    *,
    practitioner=None,
    duration: int | None = None,
    now=None,
    short_notice: bool = False,
) -> list[Slot]:
    """Bookable slots starting in ``[start, end)``: ``Slot(start, end, practitioner, room)``
    with the practitioner a User and the room a Room (None when the service needs none).
    Slots start after the practice's minimum notice, or (``short_notice``: staff filling a
    cancellation, who then confirm it; never a client booking online) from now on.

    Sorted by start, then practitioner (by name). Raises ValidationError (field -> message)
    for a duration the service is not offered for, an inactive service or location, or a
    practitioner who does not give the service.
    """
    minutes = check_duration(service, duration)
    _require_aware(start, end)
    if not service.is_active:
        raise ValidationError({"service": f"{service.name} is no longer offered."})
    if not location.is_active:
        raise ValidationError({"location": f"{location.name} is closed (not active)."})
    if practitioner is not None:
        if not practitioner.is_active or not service.practitioners.filter(pk=practitioner.pk).exists():
            raise ValidationError({"practitioner": f"{practitioner.display_name} does not give {service.name}."})
        practitioners = [practitioner]
    else:
        practitioners = list(
            service.practitioners.filter(is_active=True).order_by("last_name", "first_name", "username", "pk")
        )
    if start >= end or not practitioners:
        return []
    rooms = _rooms(location) if service.needs_room else None
    policy = SchedulingPolicy.current()
    now = now or timezone.now()
    dur = timedelta(minutes=minutes)
    changeover = timedelta(minutes=service.changeover_minutes)
    data = _load(location, practitioners, rooms or [], start, end + dur, busy_end=end + dur + changeover)
    calendars = [
        PractitionerCalendar(id=p, working=data.working_time(p.pk), busy=data.busy[p.pk]) for p in practitioners
    ]
    room_calendars = None if rooms is None else [RoomCalendar(id=r, busy=data.room_busy[r.pk]) for r in rooms]
    return availability.find_slots(
        duration=dur,
        changeover=changeover,
        practitioners=calendars,
        rooms=room_calendars,
        start=start,
        end=end,
        step=timedelta(minutes=policy.slot_step_minutes),
        tz=data.tz,
        not_before=now if short_notice else now + timedelta(minutes=policy.minimum_notice_minutes),
    )


def slot_problems(
    service,
    duration,
    location,
    practitioner,
    room,
    start: datetime,
    *,
    now=None,
    ignore_appointment=None,
    short_notice: bool = False,
) -> list[str]:
    """Why booking ``service`` for ``duration`` minutes with ``practitioner`` in ``room`` (or
    None) at ``location`` from ``start`` is not possible, in plain words; empty when it is.

    Checks the same rule as the engine (see availability.py) except the slot step: a start
    off the offered grid (10:05 typed by hand) may still be booked. ``ignore_appointment``
    (an Appointment or its pk) is left out of the busy time, for a reschedule.
    ``short_notice``: a start inside the minimum notice is not a problem (staff booking,
    who confirm short_notice_warning() instead); a start before now still is. Concurrency
    is not handled here: the caller books inside its own locked transaction.
    """
    if timezone.is_naive(start):
        return ["Give the start time with its time zone (an offset such as -05:00)."]
    offered = offered_durations(service)
    if duration not in offered or isinstance(duration, bool):
        return [_duration_message(service, duration)]
    problems = []
    name = practitioner.display_name
    if not service.is_active:
        problems.append(f"{service.name} is no longer offered.")
    if not location.is_active:
        problems.append(f"{location.name} is closed (not active).")
    if not practitioner.is_active:
        problems.append(f"{name} is not an active member of staff.")
    elif not service.practitioners.filter(pk=practitioner.pk).exists():
        problems.append(f"{name} does not give {service.name}.")
    if room is None:
        if service.needs_room:
            problems.append(f"{service.name} needs a room: choose one.")
    elif room.location_id != location.pk:
        problems.append(f"{room.name} is at another location, not {location.name}.")
    elif not room.is_active:
        problems.append(f"{room.name} is not in use.")
    if start.second or start.microsecond:
        problems.append("Start on a whole minute.")

    tz = location.tz
    dur = timedelta(minutes=duration)
    changeover = timedelta(minutes=service.changeover_minutes)
    end, held = start + dur, start + dur + changeover
    policy = SchedulingPolicy.current()
    now = now or timezone.now()
    not_before = now if short_notice else now + timedelta(minutes=policy.minimum_notice_minutes)
    if short_notice and start < not_before:
        problems.append("That time has passed: pick a time from now on.")
    elif start < not_before:
        problems.append(
            f"That is too soon: bookings need {policy.minimum_notice_minutes} minutes' notice "
            f"(the earliest start now is {_when(_ceil_minute(not_before), tz)})."
        )

    rooms = [room] if room is not None and room.location_id == location.pk else []
    data = _load(location, [practitioner], rooms, start, end, busy_end=held, ignore=ignore_appointment)
    pid = practitioner.pk
    day = start.astimezone(tz).date()
    working = data.working[pid]
    closed = [(d, data.closed[d]) for d in _local_days(start, end, tz) if d in data.closed]
    if closed:
        problems.append(f"{location.name} is closed on {_day(closed[0][0])} ({closed[0][1]}).")
    elif not availability.inside_one(working, start, end):
        hours = _hours_on(working, day, tz)
        problems.append(
            f"{name} does not work at {location.name} at that time "
            + (f"(hours that day: {hours})." if hours else "(not working there that day).")
        )
    if not closed and data.opening is not None and not availability.inside_one(data.opening, start, end):
        hours = _hours_on(data.opening, day, tz)
        problems.append(
            f"{location.name} is closed at that time " + (f"(open {hours} that day)." if hours else "(closed all day).")
        )
    for off in availability.overlapping(data.time_off[pid], start, end):
        problems.append(f"{name} has time off {_span(off, tz)}.")
    for busy in availability.overlapping(data.busy[pid], start, held):
        problems.append(f"{name} is busy {_span(busy, tz)} (another appointment, changeover included).")
    if rooms:
        for busy in availability.overlapping(data.room_busy[room.pk], start, held):
            problems.append(f"{room.name} is in use {_span(busy, tz)} (changeover included).")
    return problems


def short_notice_warning(start: datetime, *, now=None) -> str:
    """What staff booking ``start`` confirm when it is sooner than the practice's minimum
    notice ("" when it is not): filling a same-hour cancellation is allowed, not unnoticed."""
    policy = SchedulingPolicy.current()
    now = now or timezone.now()
    if start >= now + timedelta(minutes=policy.minimum_notice_minutes):
        return ""
    left = max(0, int((start - now).total_seconds() // 60))
    return (
        f"This visit starts in {left} minute{'s' if left != 1 else ''}, sooner than the "
        f"{policy.minimum_notice_minutes:,} minutes' notice the practice asks for: check that the "
        "client and the therapist can both be there."
    )


def working_time(location, practitioners, start: datetime, end: datetime) -> dict:
    """Each practitioner's working time at ``location`` (pk -> list of Interval) over the
    local dates of ``[start, end]``: pattern or exception, within opening hours, minus time
    off and closed days. The time the engine offers, for shading a calendar. Bounded queries."""
    data = _load(location, practitioners, [], start, end, busy_end=None)
    return {p.pk: data.working_time(p.pk) for p in practitioners}


# Loading ---------------------------------------------------------------------------------


@dataclass
class _Loaded:
    """Raw calendars for some practitioners and rooms over a window (instants, merged)."""

    tz: tzinfo
    working: dict = field(default_factory=lambda: defaultdict(list))  # pid -> pattern/exception time
    time_off: dict = field(default_factory=lambda: defaultdict(list))  # pid -> intervals
    opening: list | None = None  # None: always open
    busy: dict = field(default_factory=lambda: defaultdict(list))  # pid -> [start, busy_until)
    room_busy: dict = field(default_factory=lambda: defaultdict(list))  # room pk -> [start, busy_until)
    closed: dict = field(default_factory=dict)  # local date -> why the location is closed
    closed_time: list = field(default_factory=list)  # those dates as whole-day intervals

    def working_time(self, pid) -> list[Interval]:
        """Working time as the engine takes it: within opening hours, minus time off and
        closed days."""
        time = self.working[pid]
        if self.opening is not None:
            time = availability.intersect(time, self.opening)
        return availability.subtract(time, [*self.time_off[pid], *self.closed_time])


def _rooms(location) -> list[Room]:
    return list(Room.objects.filter(location=location, is_active=True).order_by("name", "pk"))


def _load(location, practitioners, rooms, start, end, *, busy_end, ignore=None) -> _Loaded:
    """Calendars for working time within the local dates of ``[start, end]`` and busy time
    overlapping ``[start, busy_end)`` (none when ``busy_end`` is None: working time only,
    one query less). Eight queries at most, each reading only around the window whatever
    the length of the history: busy time through Appointment.objects.overlapping()
    (bounded on both sides by the longest visit), time off by its end."""
    tz = location.tz
    data = _Loaded(tz=tz)
    days = _local_days(start, end, tz)
    first, last = days[0], days[-1]
    pids = [p.pk for p in practitioners]
    lo, hi = _at(first, time(0), tz), _at(last + _DAY, time(0), tz)

    patterns = defaultdict(list)  # (pid, weekday) -> [(start, end, valid_from, valid_until)]
    rows = WorkingHours.objects.filter(location=location, practitioner_id__in=pids).filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=last), Q(valid_until__isnull=True) | Q(valid_until__gte=first)
    )
    for pid, weekday, s, e, valid_from, valid_until in rows.values_list(
        "practitioner_id", "weekday", "start", "end", "valid_from", "valid_until"
    ):
        patterns[pid, weekday].append((s, e, valid_from, valid_until))
    exceptions = defaultdict(list)  # (pid, date) -> [(start, end)]
    rows = ScheduleException.objects.filter(location=location, practitioner_id__in=pids, date__range=(first, last))
    for pid, day, s, e in rows.values_list("practitioner_id", "date", "start", "end"):
        exceptions[pid, day].append((s, e))
    for pid in pids:
        data.working[pid] = availability.merge(_working_days(pid, days, patterns, exceptions, tz))

    reach = hi if busy_end is None else max(hi, busy_end)
    rows = TimeOff.objects.filter(practitioner_id__in=pids, start__lt=reach, end__gt=min(lo, start))
    for pid, s, e in rows.values_list("practitioner_id", "start", "end"):
        data.time_off[pid].append(Interval(s, e))

    opening = list(OpeningHours.objects.filter(location=location).values_list("weekday", "opens", "closes"))
    if opening:
        by_weekday = defaultdict(list)
        for weekday, s, e in opening:
            by_weekday[weekday].append((s, e))
        data.opening = availability.merge(
            Interval(_at(day, s, tz), _at(day, e, tz)) for day in days for s, e in by_weekday[day.weekday()]
        )

    data.closed = closures.closed_days(location, first, last)
    data.closed_time = [Interval(_at(day, time(0), tz), _at(day + _DAY, time(0), tz)) for day in data.closed]

    if busy_end is None:
        return data
    room_ids = [r.pk for r in rooms]
    who = Q(practitioner_id__in=pids) | Q(room_id__in=room_ids) if room_ids else Q(practitioner_id__in=pids)
    rows = Appointment.objects.overlapping(start, busy_end, until="busy_until").filter(who, status__in=HOLDS_TIME)
    if ignore is not None:
        rows = rows.exclude(pk=getattr(ignore, "pk", ignore))
    pid_set, room_set = set(pids), set(room_ids)
    for pid, room_id, s, e in rows.values_list("practitioner_id", "room_id", "start", "busy_until"):
        if pid in pid_set:
            data.busy[pid].append(Interval(s, e))
        if room_id in room_set:
            data.room_busy[room_id].append(Interval(s, e))
    return data


def _working_days(pid, days, patterns, exceptions, tz) -> Iterable[Interval]:
    for day in days:
        replaced = exceptions.get((pid, day))
        if replaced is not None:
            if any(s is None for s, _e in replaced):
                continue  # a day off
            times = replaced
        else:
            times = [
                (s, e)
                for s, e, valid_from, valid_until in patterns.get((pid, day.weekday()), ())
                if (valid_from is None or valid_from <= day) and (valid_until is None or day <= valid_until)
            ]
        for s, e in times:
            yield Interval(_at(day, s, tz), _at(day, e, tz))


def _local_days(start: datetime, end: datetime, tz: tzinfo) -> list[date]:
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def _at(day: date, t: time, tz: tzinfo) -> datetime:
    """Local ``day`` at wall-clock ``t`` as a UTC instant (fold 0: see the module docstring)."""
    return datetime.combine(day, t.replace(tzinfo=None), tzinfo=tz).astimezone(UTC)


def _require_aware(*values: datetime) -> None:
    for value in values:
        if timezone.is_naive(value):
            raise ValidationError("Give times with their time zone (an offset such as -05:00).")


# Wording -----------------------------------------------------------------------------------


def _duration_message(service, duration) -> str:
    offered = offered_durations(service)
    listed = ", ".join(str(d) for d in offered[:-1]) + (" or " if len(offered) > 1 else "") + str(offered[-1])
    return f"{service.name} is booked for {listed} minutes, not {duration}."


def _when(instant: datetime, tz: tzinfo) -> str:
    local = instant.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def _span(iv: Interval, tz: tzinfo) -> str:
    """ "on Tue 4 Mar 2025 10:00–11:15", or "from … to …" across days."""
    a, b = iv.start.astimezone(tz), iv.end.astimezone(tz)
    if a.date() == b.date():
        return f"on {a:%a} {a.day} {a:%b %Y} {a:%H:%M}–{b:%H:%M}"
    return f"from {_when(a, tz)} to {_when(b, tz)}"


def _hours_on(intervals: list[Interval], day: date, tz: tzinfo) -> str:
    """The parts of ``intervals`` that start on local ``day``: "09:00–12:00, 13:00–17:00"."""
    parts = [iv for iv in intervals if iv.start.astimezone(tz).date() == day]
    return ", ".join(f"{iv.start.astimezone(tz):%H:%M}–{iv.end.astimezone(tz):%H:%M}" for iv in parts)


def _ceil_minute(instant: datetime) -> datetime:
    floor = instant.replace(second=0, microsecond=0)
    return floor if floor == instant else floor + timedelta(minutes=1)
