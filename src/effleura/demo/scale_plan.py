"""The shape of the large synthetic practice (demo/scale.py): pure, no database.

Everything here is a function of (n, seed): the same call gives the same practice, so a
step of the build can be run again after a failure and a later step can walk the
appointments again instead of reading a million rows back.

The visit grid (docs/decisions/0023-scale-demo-bulk-load.md). Every visit takes one
hour of its practitioner's and its room's time (duration plus changeover is at most 60
minutes) on a grid of ten hourly slots from 08:00 local time, and each practitioner has
one room of their own wherever they work that day, so no two visits of a practitioner or
of a room ever overlap, whatever their status. A patient sees one practitioner (their
panel), so a patient's visits never overlap either.

- Wednesday: all 50 practitioners at the bench location, practitioner p in room p.
- Saturday: practitioners 1-10 at the bench location (rooms 1-10); until the week of the
  bench day the others worked Saturdays at the other locations too.
- Monday, Tuesday, Thursday, Friday: the four other locations, practitioner p at
  location 1 + (p + k) % 4 in room p // 4 (k = 0..3): on one day and location the
  practitioners differ by a multiple of 4, so their rooms differ.
- Sunday: closed.
"""

import datetime
import hashlib
import random
import zoneinfo
from collections import deque
from dataclasses import dataclass

BENCH_DAY = datetime.date(2026, 6, 17)  # a Wednesday
SMALL_DAY = datetime.date(2026, 6, 20)  # the Saturday of that week
BENCH_LOCATION = "Bench Central Clinic"
TIME_ZONE = "America/Los_Angeles"
TZ = zoneinfo.ZoneInfo(TIME_ZONE)
SEED = 13

PRACTITIONERS = 50
SMALL_DAY_PRACTITIONERS = 10
BENCH_VISITS = 8  # per practitioner on BENCH_DAY (and on SMALL_DAY for the first ten)
HISTORY_DAYS = 7 * 365
FUTURE_DAYS = 28
HISTORY_START = BENCH_DAY - datetime.timedelta(days=HISTORY_DAYS)
LAST_DAY = BENCH_DAY + datetime.timedelta(days=FUTURE_DAYS)
# The current weekly pattern starts the Monday of the bench week; before it, everyone
# also worked Saturdays.
PATTERN_CHANGE = BENCH_DAY - datetime.timedelta(days=BENCH_DAY.weekday())
SLOTS = 10  # hourly, from DAY_START
DAY_START = datetime.time(8, 0)
DAY_END = datetime.time(18, 0)
BENCH_SLOTS = (0, 1, 2, 3, 5, 6, 7, 8)  # 08:00-12:00 and 13:00-17:00, lunch at noon
# Visits per patient, in turn (mean 10): about 10·n appointments in all.
VISIT_COUNTS = (3, 6, 9, 12, 15, 18, 7, 10)
# How many patients of a panel are in a course of treatment at once: each comes back
# about every ACTIVE visits of their practitioner (weekly when the diary is full).
ACTIVE = 45
MAX_PER_DAY = 9.5  # average visits per working day the grid takes (of SLOTS)
MIN_N = 100
FUTURE_MIN_VISITS = 6

# Location name, rooms. The first is the bench location.
LOCATIONS = (
    (BENCH_LOCATION, PRACTITIONERS),
    ("Bench Northside Clinic", 13),
    ("Bench Riverside Studio", 13),
    ("Bench Hillcrest Clinic", 13),
    ("Bench Harbor Wellness", 13),
)
OTHER_WEEKDAY = {0: 0, 1: 1, 3: 2, 4: 3}

# name, durations (the first is the default), changeover, price
SERVICES = (
    ("Therapeutic massage", [45, 30], 15, "95.00"),
    ("Deep tissue massage", [50], 10, "110.00"),
    ("Lymphatic drainage", [45], 15, "105.00"),
    ("Relaxation massage", [60], 0, "90.00"),
    ("Sports massage", [30], 15, "70.00"),
)

# The statuses of past visits, with their weights. Checked in and in session happen on
# the bench day only.
PAST_STATUSES = (("completed", 836), ("cancelled", 90), ("no_show", 50), ("interrupted", 14), ("booked", 10))
FUTURE_STATUSES = (("booked", 93), ("cancelled", 7))
BENCH_DAY_STATUSES = ("completed", "completed", "completed", "in_session", "checked_in", "booked", "booked", "booked")


def salt(seed: int, name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"effleura-scale:{seed}:{name}".encode()).digest()[:16], "big")


_MASK = (1 << 128) - 1
_VERSION_MASK = ~((0xF << 76) | (0x3 << 62)) & _MASK
_VERSION_BITS = (4 << 76) | (0x2 << 62)


def uid(table_salt: int, i: int) -> str:
    """A version-4 UUID (32 hex digits) for row ``i`` of a table: a fixed scramble of the
    number, so every step and every rerun names the same row the same way and no table
    needs its ids read back."""
    x = ((i + table_salt) * 0x9E3779B97F4A7C15F39CC0605CEDC835) & _MASK
    x ^= x >> 64
    x = (x * 0xD1B54A32D192ED03AEF0B4A1B4C0E1F5) & _MASK
    x ^= x >> 59
    return f"{(x & _VERSION_MASK) | _VERSION_BITS:032x}"


def workplace(p: int, day: datetime.date) -> tuple[int, int] | None:
    """(location index, room index) where practitioner ``p`` (0-based) works on ``day``."""
    weekday = day.weekday()
    if weekday == 6:
        return None
    if weekday == 2:
        return 0, p
    if weekday == 5:
        if p < SMALL_DAY_PRACTITIONERS:
            return 0, p
        return (1 + p % 4, p // 4) if day < PATTERN_CHANGE else None
    return 1 + (p + OTHER_WEEKDAY[weekday]) % 4, p // 4


def utc_naive(day: datetime.date, at: datetime.time) -> datetime.datetime:
    local = datetime.datetime.combine(day, at, tzinfo=TZ)
    return local.astimezone(datetime.UTC).replace(tzinfo=None)


def panel_size(n: int, p: int) -> int:
    return n // PRACTITIONERS + (1 if p < n % PRACTITIONERS else 0)


def visit_count(j: int) -> int:
    """How many visits patient ``j`` (0-based) has in all, bench days included."""
    # Mixed by practitioner too, so every panel averages 10 even when it holds few patients.
    return VISIT_COUNTS[(j // PRACTITIONERS + j % PRACTITIONERS) % len(VISIT_COUNTS)]


def fixed_visits(p: int) -> int:
    return BENCH_VISITS * (2 if p < SMALL_DAY_PRACTITIONERS else 1)


def _spread(days: list, total: int) -> dict:
    """``total`` visits over ``days`` by their weights (largest remainder: the sum is exact)."""
    weights = [_day_weight(d) for d in days]
    scale = total / sum(weights) if weights else 0
    counts, running, given = {}, 0.0, 0
    for day, weight in zip(days, weights, strict=True):
        running += weight * scale
        k = round(running) - given
        if k:
            counts[day] = k
            given += k
    return counts


def _day_weight(day: datetime.date) -> float:
    if day < BENCH_DAY:
        return 1.0
    # The booked future thins out: most bookings are for the next two weeks.
    return max(0.1, 1.0 - (day - BENCH_DAY).days / FUTURE_DAYS)


@dataclass(frozen=True)
class Visit:
    """One appointment of the plan. Times are naive UTC; ``day`` is the local date."""

    id: int
    public_id: str
    patient: int  # 0-based patient index (patient id = patient + 1)
    practitioner: int  # 0-based practitioner index
    location: int
    room: int
    service: int
    duration: int
    day: datetime.date
    start: datetime.datetime
    status: str
    booked_days_before: int
    bench_rank: int  # its place among the practitioner's visits of a bench day, else -1

    @property
    def end(self) -> datetime.datetime:
        return self.start + datetime.timedelta(minutes=self.duration)

    @property
    def busy_until(self) -> datetime.datetime:
        return self.end + datetime.timedelta(minutes=SERVICES[self.service][2])

    @property
    def created_at(self) -> datetime.datetime:
        # Never after the start of the bench day: the builder writes no event of the future.
        created = self.start - datetime.timedelta(days=self.booked_days_before, hours=2)
        return min(created, utc_naive(BENCH_DAY, datetime.time(7, 0)))


class Plan:
    """The practice for ``n`` patients: who works where, and every visit, in order of day."""

    def __init__(self, n: int, seed: int = SEED):
        self.n = n
        self.seed = seed
        self.days = [HISTORY_START + datetime.timedelta(days=i) for i in range((LAST_DAY - HISTORY_START).days + 1)]
        self.appointment_salt = salt(seed, "appointment")
        self.patient_salt = salt(seed, "patient")
        self._per_day = [self._counts(p) for p in range(PRACTITIONERS)]

    def max_n(self) -> int:
        return int(MAX_PER_DAY * sum(_day_weight(d) for d in self.days if workplace(PRACTITIONERS - 1, d)) * 5)

    def too_large(self) -> bool:
        return any(max(counts.values(), default=0) > SLOTS for counts in self._per_day)

    def _counts(self, p: int) -> dict[datetime.date, int]:
        """Visits of practitioner ``p`` per day: the bench days fixed, the rest spread over
        every working day by weight (largest remainder, so the sum is exact)."""
        total = sum(visit_count(j) for j in range(p, self.n, PRACTITIONERS))
        fixed = {BENCH_DAY: BENCH_VISITS}
        if p < SMALL_DAY_PRACTITIONERS:
            fixed[SMALL_DAY] = BENCH_VISITS
        rest = max(0, total - sum(fixed.values()))
        days = [d for d in self.days if d not in fixed and workplace(p, d) is not None]
        past = [d for d in days if d < BENCH_DAY]
        future = [d for d in days if d > BENCH_DAY]
        natural = rest * sum(map(_day_weight, future)) / sum(map(_day_weight, days))
        # A few weeks of bookings whatever N: at least a few visits ahead for everyone.
        ahead = max(round(natural), min(FUTURE_MIN_VISITS, rest // 4))
        counts = _spread(past, rest - ahead) | _spread(future, ahead)
        return counts | fixed

    def visits(self):
        """Every appointment, day by day (then practitioner, then time): ids 1, 2, …"""
        rng = random.Random(f"{self.seed}:{self.n}:visits")
        queues = [_PanelQueue(self.n, p) for p in range(PRACTITIONERS)]
        past_statuses, past_weights = zip(*PAST_STATUSES, strict=True)
        future_statuses, future_weights = zip(*FUTURE_STATUSES, strict=True)
        next_id = 1
        for day in self.days:
            bench = day in (BENCH_DAY, SMALL_DAY)
            base = utc_naive(day, DAY_START)
            for p in range(PRACTITIONERS):
                k = self._per_day[p].get(day, 0)
                if not k:
                    continue
                location, room = workplace(p, day)
                slots = BENCH_SLOTS if bench else sorted(rng.sample(range(SLOTS), k))
                for rank, slot in enumerate(slots):
                    patient = queues[p].next()
                    service = patient % len(SERVICES)
                    durations = SERVICES[service][1]
                    duration = durations[0] if rng.random() < 0.8 else durations[-1]
                    if day == BENCH_DAY:
                        status = BENCH_DAY_STATUSES[rank]
                    elif day > BENCH_DAY:
                        status = "booked" if day == SMALL_DAY else rng.choices(future_statuses, future_weights)[0]
                    else:
                        status = rng.choices(past_statuses, past_weights)[0]
                    yield Visit(
                        id=next_id,
                        public_id=uid(self.appointment_salt, next_id),
                        patient=patient,
                        practitioner=p,
                        location=location,
                        room=room,
                        service=service,
                        duration=duration,
                        day=day,
                        start=base + datetime.timedelta(hours=slot),
                        status=status,
                        booked_days_before=rng.randint(1, 21),
                        bench_rank=rank if bench else -1,
                    )
                    next_id += 1

    def patient_public_id(self, j: int) -> str:
        return uid(self.patient_salt, j + 1)


class _PanelQueue:
    """The patients of one practitioner in turn: ACTIVE of them in a course at once, each
    back after the others, until their visits are used; then the next patient starts."""

    def __init__(self, n: int, p: int):
        self.pending = iter(range(p, n, PRACTITIONERS))
        self.active: deque = deque()
        self.n, self.p = n, p
        self._fill()

    def _fill(self):
        while len(self.active) < ACTIVE:
            j = next(self.pending, None)
            if j is None:
                break
            self.active.append([j, visit_count(j)])
        if not self.active:  # more fixed bench visits than the panel's counts: start again
            self.pending = iter(range(self.p, self.n, PRACTITIONERS))
            self._fill()

    def next(self) -> int:
        entry = self.active.popleft()
        entry[1] -= 1
        if entry[1] > 0:
            self.active.append(entry)
        else:
            self._fill()
        return entry[0]
