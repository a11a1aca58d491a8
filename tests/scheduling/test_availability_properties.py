"""The slot engine against a brute-force oracle on random small calendars.

The oracle knows nothing of merging, bisect or grids: it walks every minute of the
window, keeps the starts whose local wall-clock time is on the step, and checks the rule
minute by minute (every minute of the visit worked, no minute of visit + changeover busy
for the practitioner or the room). The engine must answer exactly the oracle's set:
every slot it returns is bookable, and no bookable start is missing.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from effleura.scheduling.availability import (
    Interval,
    PractitionerCalendar,
    RoomCalendar,
    check_start,
    find_slots,
)

MINUTE = timedelta(minutes=1)
SPAN = 2 * 24 * 60  # two days of minutes from the first local midnight
# Plain zones, a half-hour offset, a zone whose daylight saving moves by 30 minutes.
ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
# Ordinary days and the days clocks change in New York and on Lord Howe Island.
DAYS = [
    date(2025, 6, 10),
    date(2025, 3, 8),
    date(2025, 3, 9),
    date(2025, 11, 1),
    date(2025, 11, 2),
    date(2025, 4, 5),
    date(2025, 10, 4),
]


@dataclass
class Case:
    tz: ZoneInfo
    base: datetime  # the first local midnight, in UTC; minutes count from here
    practitioners: list[tuple[list[tuple[int, int]], list[tuple[int, int]]]]  # (working, busy)
    rooms: list[list[tuple[int, int]]] | None  # busy per room; None: no room needed
    duration: int
    changeover: int
    step: int
    window: tuple[int, int]
    not_before: int | None

    def at(self, minute: int) -> datetime:
        return self.base + minute * MINUTE

    def interval(self, pair: tuple[int, int]) -> Interval:
        # Intervals come in a mix of zones, as they would from a database and a form.
        a, b = pair
        return Interval(self.at(a).astimezone(self.tz), self.at(b))

    def engine_inputs(self):
        practitioners = [
            PractitionerCalendar(
                id=f"p{k}", working=[self.interval(w) for w in working], busy=[self.interval(b) for b in busy]
            )
            for k, (working, busy) in enumerate(self.practitioners)
        ]
        rooms = (
            None
            if self.rooms is None
            else [RoomCalendar(id=f"r{k}", busy=[self.interval(b) for b in busy]) for k, busy in enumerate(self.rooms)]
        )
        return practitioners, rooms


# Any minute, or often a quarter-hour mark, so that intervals touch each other and meet
# the step grid (where off-by-one mistakes live). Minutes count from the first local
# midnight in UTC, so on Lord Howe Island or in Kolkata a quarter-hour here is a
# quarter-hour on the local clock too.
any_minute = st.one_of(
    st.integers(-30, SPAN + 30),
    st.integers(0, SPAN // 5).map(lambda m: m * 5),
    st.integers(0, SPAN // 15).map(lambda m: m * 15),
)
any_length = st.one_of(st.integers(1, 600), st.sampled_from([15, 30, 45, 60, 75, 90, 120, 480]))
# Everything on quarter hours: visits end exactly where busy time starts, all the time.
quarter = st.integers(0, SPAN // 15).map(lambda m: m * 15)
quarters = st.integers(1, 40).map(lambda m: m * 15)


def intervals(max_size: int, starts=any_minute, lengths=any_length):
    return st.lists(st.tuples(starts, lengths).map(lambda p: (p[0], p[0] + p[1])), max_size=max_size)


WORKING = intervals(3)
BUSY = intervals(4)
DURATIONS = st.one_of(st.integers(1, 120), st.sampled_from([15, 30, 45, 60, 90]))
CHANGEOVERS = st.one_of(st.sampled_from([0, 10, 15]), st.integers(0, 30))
STEPS = st.sampled_from([5, 7, 10, 15, 20, 30, 45, 60])


@st.composite
def cases(
    draw,
    zones=ZONES,
    days=DAYS,
    working=WORKING,
    busy=BUSY,
    durations=DURATIONS,
    changeovers=CHANGEOVERS,
    steps=STEPS,
    minutes=any_minute,
) -> Case:
    tz = ZoneInfo(draw(st.sampled_from(zones)))
    day = draw(st.sampled_from(days))
    base = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    practitioners = draw(st.lists(st.tuples(working, busy), min_size=1, max_size=3))
    rooms = draw(st.none() | st.lists(busy, max_size=2))
    start = draw(minutes)
    end = start + draw(st.integers(0, SPAN))
    return Case(
        tz=tz,
        base=base,
        practitioners=practitioners,
        rooms=rooms,
        duration=draw(durations),
        changeover=draw(changeovers),
        step=draw(steps),
        window=(start, end),
        not_before=draw(st.none() | minutes),
    )


on_quarter_hours = cases(
    working=intervals(3, quarter, quarters),
    busy=intervals(4, quarter, st.integers(1, 8).map(lambda m: m * 15)),
    durations=st.sampled_from([15, 30, 45, 60, 90]),
    changeovers=st.sampled_from([0, 15, 30]),
    steps=st.sampled_from([15, 30]),
    minutes=quarter,
)

# The days clocks change, with long working days that cover the change, so that starts
# in a missing or repeated hour are tried often.
clock_change_cases = cases(
    zones=["America/New_York", "Australia/Lord_Howe"],
    days=[date(2025, 3, 9), date(2025, 11, 2), date(2025, 4, 6), date(2025, 10, 5)],
    working=intervals(2, lengths=st.integers(600, 2000)),
)


def covered(pairs: list[tuple[int, int]]) -> set[int]:
    return {t for a, b in pairs for t in range(a, b)}


def on_step(case: Case, m: int) -> bool:
    local = case.at(m).astimezone(case.tz)
    return (local.hour * 60 + local.minute) % case.step == 0


def oracle(case: Case) -> set[tuple[int, str, str | None]]:
    """Every bookable (minute, practitioner, first free room), minute by minute."""
    found = set()
    room_busy = None if case.rooms is None else [covered(busy) for busy in case.rooms]
    calendars = [(f"p{k}", covered(w), covered(b)) for k, (w, b) in enumerate(case.practitioners)]
    for m in range(*case.window):
        if case.not_before is not None and m < case.not_before:
            continue
        if not on_step(case, m):
            continue
        visit = range(m, m + case.duration)
        held = range(m, m + case.duration + case.changeover)
        for pid, working, busy in calendars:
            if not all(t in working for t in visit) or any(t in busy for t in held):
                continue
            if room_busy is None:
                found.add((m, pid, None))
                continue
            for k, busy_room in enumerate(room_busy):
                if not any(t in busy_room for t in held):
                    found.add((m, pid, f"r{k}"))
                    break
    return found


def search(case: Case):
    practitioners, rooms = case.engine_inputs()
    return find_slots(
        duration=case.duration * MINUTE,
        changeover=case.changeover * MINUTE,
        practitioners=practitioners,
        rooms=rooms,
        start=case.at(case.window[0]),
        end=case.at(case.window[1]),
        step=case.step * MINUTE,
        tz=case.tz,
        not_before=None if case.not_before is None else case.at(case.not_before),
    )


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(cases())
def test_every_slot_returned_is_bookable_and_none_is_missing(case):
    check_against_oracle(case)


@PROPERTY
@given(on_quarter_hours)
def test_touching_intervals_match_the_oracle(case):
    check_against_oracle(case)


@settings(max_examples=150, deadline=None)
@given(clock_change_cases)
def test_the_days_clocks_change_match_the_oracle(case):
    check_against_oracle(case)


def check_against_oracle(case):
    slots = search(case)
    got = {((s.start - case.base) // MINUTE, s.practitioner, s.room) for s in slots}
    expected = oracle(case)
    assert got - expected == set(), "slots the oracle says cannot be booked"
    assert expected - got == set(), "bookable starts the engine missed"
    assert len(got) == len(slots), "a slot was returned twice"


@PROPERTY
@given(cases())
def test_slots_are_sorted_by_start_and_last_the_duration(case):
    slots = search(case)
    order = {f"p{k}": k for k in range(len(case.practitioners))}
    assert [(s.start, order[s.practitioner]) for s in slots] == sorted((s.start, order[s.practitioner]) for s in slots)
    assert all(s.end - s.start == case.duration * MINUTE for s in slots)
    assert all(s.start.utcoffset() == timedelta(0) for s in slots)


@PROPERTY
@given(cases())
def test_check_start_agrees_with_the_oracle_for_each_room(case):
    """check_start, which booking uses through calendars.slot_problems, decides one start the
    same way: empty exactly when the oracle would book that practitioner in that room."""
    practitioners, rooms = case.engine_inputs()
    step_starts = [m for m in range(case.window[0], min(case.window[1], case.window[0] + 600)) if on_step(case, m)]
    for room_index, room in enumerate(rooms or [None]):
        single = Case(**{**case.__dict__, "rooms": None if room is None else [case.rooms[room_index]]})
        bookable = {(m, pid) for m, pid, _room in oracle(single)}
        for m in step_starts:
            for practitioner in practitioners:
                problems = check_start(
                    case.at(m),
                    duration=case.duration * MINUTE,
                    changeover=case.changeover * MINUTE,
                    practitioner=practitioner,
                    room=room,
                    not_before=None if case.not_before is None else case.at(case.not_before),
                )
                assert (problems == []) == ((m, practitioner.id) in bookable), (m, practitioner.id, problems)
