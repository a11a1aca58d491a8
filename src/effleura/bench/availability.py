"""Slot-search benchmark, run by ``make bench`` (``python -m effleura.bench``); results as a table.

Availability search for one location with 30 practitioners and 10 rooms over 30 days
with 5,000 existing appointments (issue 3), against the same search on an empty
calendar:

* ``engine``: scheduling/availability.find_slots on calendars built in memory, the
  practice's target being a median under 25 ms (the run fails above it);
* ``database``: scheduling/calendars.available_slots on a throwaway SQLite database
  holding the same calendar (migrations and all), i.e. the engine plus loading.

Data are synthetic and seeded, so runs compare. The whole run takes well under a minute.
"""

import gc
import os
import random
import statistics
import sys
import tempfile
import time as clock
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from effleura.scheduling.availability import Interval, PractitionerCalendar, RoomCalendar, find_slots

TARGET_MS = 25.0
TZ = ZoneInfo("America/Chicago")
FIRST_DAY = date(2031, 3, 3)  # a Monday; the 30 days include the change to daylight saving time
DAYS = 30
PRACTITIONERS = 30
ROOMS = 10
APPOINTMENTS = 5_000
OPENS, CLOSES = time(7), time(21)  # every day
SHIFTS = [(time(7), time(17)), (time(9), time(19)), (time(11), time(21))]
DURATIONS = [30, 60, 60, 90]
CHANGEOVER = 10
STEP = 15
SEARCH_DURATION = 60  # the service searched: 60 minutes, 15 minutes changeover
SEARCH_CHANGEOVER = 15


def _at(day: date, t: time) -> datetime:
    return datetime.combine(day, t, tzinfo=TZ).astimezone(UTC)


@dataclass
class Booking:
    practitioner: int  # 0-based
    room: int | None
    start: datetime
    end: datetime
    busy_until: datetime


@dataclass
class Clinic:
    """The benchmark's calendar as plain values: shifts per practitioner and the bookings."""

    shifts: dict[int, list[tuple[date, time, time]]]
    bookings: list[Booking]

    @property
    def start(self) -> datetime:
        return _at(FIRST_DAY, time(0))

    @property
    def end(self) -> datetime:
        return _at(FIRST_DAY + timedelta(days=DAYS), time(0))


def build_clinic(seed: int = 3) -> Clinic:
    """30 practitioners on 10-hour shifts six days a week, packed with visits and short gaps,
    5,000 of which are kept; each visit gets the first free room, or none when all are
    taken (services that need no room)."""
    rng = random.Random(seed)
    shifts: dict[int, list[tuple[date, time, time]]] = {}
    candidates: list[Booking] = []
    for p in range(PRACTITIONERS):
        day_off = p % 7
        shift = SHIFTS[p % len(SHIFTS)]
        shifts[p] = []
        for k in range(DAYS):
            day = FIRST_DAY + timedelta(days=k)
            if day.weekday() == day_off:
                continue
            shifts[p].append((day, *shift))
            at, end = _at(day, shift[0]), _at(day, shift[1])
            while True:
                at += timedelta(minutes=rng.choice([0, 0, 15, 30]))
                length = timedelta(minutes=rng.choice(DURATIONS))
                if at + length > end:
                    break
                busy_until = at + length + timedelta(minutes=CHANGEOVER)
                candidates.append(Booking(p, None, at, at + length, busy_until))
                at = busy_until
    if len(candidates) < APPOINTMENTS:
        raise RuntimeError(f"the benchmark calendar holds only {len(candidates)} visits")
    bookings = sorted(rng.sample(candidates, APPOINTMENTS), key=lambda b: b.start)
    room_free = [datetime.min.replace(tzinfo=UTC)] * ROOMS
    for b in bookings:
        free = next((r for r in range(ROOMS) if room_free[r] <= b.start), None)
        if free is not None:
            b.room = free
            room_free[free] = b.busy_until
    return Clinic(shifts, bookings)


def engine_inputs(clinic: Clinic, *, empty: bool) -> tuple[list[PractitionerCalendar], list[RoomCalendar]]:
    busy: dict[int, list[Interval]] = {p: [] for p in range(PRACTITIONERS)}
    room_busy: dict[int, list[Interval]] = {r: [] for r in range(ROOMS)}
    if not empty:
        for b in clinic.bookings:
            busy[b.practitioner].append(Interval(b.start, b.busy_until))
            if b.room is not None:
                room_busy[b.room].append(Interval(b.start, b.busy_until))
    practitioners = [
        PractitionerCalendar(p, [Interval(_at(d, s), _at(d, e)) for d, s, e in clinic.shifts[p]], busy[p])
        for p in range(PRACTITIONERS)
    ]
    rooms = [RoomCalendar(r, room_busy[r]) for r in range(ROOMS)]
    return practitioners, rooms


def time_it(fn, runs: int) -> tuple[list[float], object]:
    """Milliseconds per run. Like timeit, the garbage collector is paused while a run is
    timed (and run in between), so a collection of the previous run's objects does not
    land in the next one's time."""
    result = fn()  # warm up
    times = []
    for _ in range(runs):
        result = None
        gc.collect()
        gc.disable()
        try:
            t0 = clock.perf_counter()
            result = fn()
            times.append((clock.perf_counter() - t0) * 1000)
        finally:
            gc.enable()
    return times, result


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def engine_rows(clinic: Clinic, runs: int) -> list[tuple]:
    rows = []
    for label, needs_room in (("needs a room", True), ("no room", False)):
        medians = {}
        for empty in (True, False):
            practitioners, rooms = engine_inputs(clinic, empty=empty)

            def search(practitioners=practitioners, rooms=rooms, needs_room=needs_room):
                return find_slots(
                    duration=timedelta(minutes=SEARCH_DURATION),
                    changeover=timedelta(minutes=SEARCH_CHANGEOVER),
                    practitioners=practitioners,
                    rooms=rooms if needs_room else None,
                    start=clinic.start,
                    end=clinic.end,
                    step=timedelta(minutes=STEP),
                    tz=TZ,
                )

            times, slots = time_it(search, runs)
            medians[empty] = statistics.median(times)
            appointments = 0 if empty else APPOINTMENTS
            rows.append((f"engine, {label}", appointments, len(slots), runs, times, None))
        rows[-1] = (*rows[-1][:-1], medians[False] / medians[True])
        rows[-2] = (*rows[-2][:-1], 1.0)
    return rows


def database_rows(clinic: Clinic, runs: int) -> list[tuple]:
    """The same search through calendars.available_slots on a throwaway SQLite database."""
    with tempfile.TemporaryDirectory(prefix="effleura-bench-") as var_dir:
        os.environ["EFFLEURA_VAR_DIR"] = var_dir
        os.environ.pop("EFFLEURA_DATABASE_URL", None)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "effleura.settings")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0, interactive=False)
        service, location = _load_clinic(clinic)
        rows, medians = [], {}
        # lazy: the models load only after django.setup() above.
        from effleura.scheduling.calendars import available_slots
        from effleura.scheduling.models import Appointment

        # Appointments first, then the empty calendar after deleting them.
        for empty in (False, True):
            if empty:
                Appointment.objects.all().delete()

            def search():
                return available_slots(service, location, clinic.start, clinic.end, now=clinic.start)

            times, slots = time_it(search, runs)
            medians[empty] = statistics.median(times)
            rows.append(("database (SQLite)", 0 if empty else APPOINTMENTS, len(slots), runs, times, None))
        rows[0] = (*rows[0][:-1], medians[False] / medians[True])
        rows[1] = (*rows[1][:-1], 1.0)
        connection.close()
        return [rows[1], rows[0]]


def _load_clinic(clinic: Clinic):
    # lazy: called after django.setup(); the models cannot load before it.
    from django.contrib.auth import get_user_model

    from effleura.core.choices import Role
    from effleura.patients.models import Patient
    from effleura.scheduling.models import (
        Appointment,
        Location,
        OpeningHours,
        Room,
        SchedulingPolicy,
        Service,
        WorkingHours,
    )

    User = get_user_model()
    location = Location.objects.create(name="Benchmark clinic", time_zone=TZ.key)
    OpeningHours.objects.bulk_create(
        OpeningHours(location=location, weekday=d, opens=OPENS, closes=CLOSES) for d in range(7)
    )
    rooms = Room.objects.bulk_create(Room(location=location, name=f"Room {r + 1:02d}") for r in range(ROOMS))
    users = User.objects.bulk_create(
        User(username=f"bench{p:02d}", first_name="Practitioner", last_name=f"{p:02d}", role=Role.THERAPIST)
        for p in range(PRACTITIONERS)
    )
    SchedulingPolicy.objects.create(slot_step_minutes=STEP, minimum_notice_minutes=0)
    WorkingHours.objects.bulk_create(
        WorkingHours(practitioner=users[p], location=location, weekday=w, start=shift[0], end=shift[1])
        for p in range(PRACTITIONERS)
        for w in range(7)
        if w != p % 7
        for shift in [SHIFTS[p % len(SHIFTS)]]
    )
    service = Service.objects.create(
        name="Benchmark massage",
        durations=[SEARCH_DURATION],
        changeover_minutes=SEARCH_CHANGEOVER,
        needs_room=True,
    )
    service.practitioners.set(users)
    other = Service.objects.create(name="Benchmark visit", durations=DURATIONS, changeover_minutes=CHANGEOVER)
    patient = Patient.objects.create(
        legal_first_name="Bench", legal_last_name="Synthetic", date_of_birth=date(1980, 1, 1), is_demo=True
    )
    Appointment.objects.bulk_create(
        (
            Appointment(
                patient=patient,
                practitioner=users[b.practitioner],
                service=other,
                location=location,
                room=None if b.room is None else rooms[b.room],
                duration_minutes=(b.end - b.start) // timedelta(minutes=1),
                start=b.start,
                end=b.end,
                busy_until=b.busy_until,
                created_by=users[0],
            )
            for b in clinic.bookings
        ),
        batch_size=500,
    )
    return service, location


def print_table(rows: list[tuple]) -> None:
    header = ("scenario", "appointments", "slots", "runs", "median ms", "p95 ms", "ratio to empty")
    lines = [header]
    for label, appointments, slots, runs, times, ratio in rows:
        lines.append(
            (
                label,
                f"{appointments:,}",
                f"{slots:,}",
                str(runs),
                f"{statistics.median(times):.1f}",
                f"{p95(times):.1f}",
                f"{ratio:.2f}",
            )
        )
    widths = [max(len(line[k]) for line in lines) for k in range(len(header))]
    for n, line in enumerate(lines):
        print(
            "  ".join(
                cell.ljust(w) if k == 0 else cell.rjust(w) for k, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    engine_runs = 50
    database_runs = 20
    if "--quick" in argv:
        engine_runs, database_runs = 5, 3
    t0 = clock.perf_counter()
    clinic = build_clinic()
    print(
        f"Availability search: {PRACTITIONERS} practitioners, {ROOMS} rooms, {DAYS} days from {FIRST_DAY} "
        f"({TZ.key}), {SEARCH_DURATION}-minute visits + {SEARCH_CHANGEOVER} changeover, a start every {STEP} minutes."
    )
    print()
    rows = engine_rows(clinic, engine_runs)
    if "--engine-only" not in argv:
        rows += database_rows(clinic, database_runs)
    print_table(rows)
    if len(rows) > 4 and (rows[0][2], rows[1][2]) != (rows[4][2], rows[5][2]):
        print("\nWARNING: the database search found other slots than the engine on the same calendar.")
    main_median = statistics.median(rows[1][4])
    print()
    print(f"Target: engine median under {TARGET_MS:.0f} ms with {APPOINTMENTS:,} appointments (needs a room): ", end="")
    print(f"{main_median:.1f} ms, {'met' if main_median <= TARGET_MS else 'MISSED'}.")
    print(f"Total benchmark time {clock.perf_counter() - t0:.1f} s.")
    return 0 if main_median <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
