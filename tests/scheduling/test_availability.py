"""Worked examples of the slot engine's rule (scheduling/availability.py), one per edge."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from effleura.scheduling.availability import (
    OUTSIDE_WORKING,
    PRACTITIONER_BUSY,
    ROOM_BUSY,
    TOO_SOON,
    Interval,
    PractitionerCalendar,
    RoomCalendar,
    check_start,
    find_slots,
    intersect,
    is_aligned,
    merge,
    subtract,
)

CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")
DAY = date(2025, 6, 10)  # a Tuesday
M = timedelta(minutes=1)


def at(hhmm: str, day: date = DAY, tz=CHICAGO, fold: int = 0) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=tz).replace(fold=fold)


def iv(a: str, b: str, day: date = DAY, tz=CHICAGO) -> Interval:
    return Interval(at(a, day, tz), at(b, day, tz))


def local_starts(slots, tz=CHICAGO) -> list[str]:
    return [f"{s.start.astimezone(tz):%H:%M}" for s in slots]


def search(practitioners, rooms=None, *, duration=60, changeover=0, step=15, tz=CHICAGO, day=DAY, **kw):
    return find_slots(
        duration=duration * M,
        changeover=changeover * M,
        practitioners=practitioners,
        rooms=rooms,
        start=kw.pop("start", at("00:00", day, tz)),
        end=kw.pop("end", at("00:00", day + timedelta(days=1), tz)),
        step=step * M,
        tz=tz,
        **kw,
    )


def test_a_free_day_offers_every_step_until_the_visit_still_fits():
    slots = search([PractitionerCalendar("ann", [iv("09:00", "12:00")])])
    assert local_starts(slots) == ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45", "11:00"]
    assert all(s.end - s.start == 60 * M and s.practitioner == "ann" and s.room is None for s in slots)
    assert all(s.start.tzinfo is UTC for s in slots)


def test_the_changeover_may_run_past_the_end_of_working_hours():
    slots = search([PractitionerCalendar("ann", [iv("09:00", "11:00")])], changeover=15)
    assert local_starts(slots)[-1] == "10:00"


def test_changeover_keeps_the_next_visit_away_from_busy_time():
    ann = PractitionerCalendar("ann", [iv("09:00", "13:00")], busy=[iv("11:00", "12:00")])
    # A 60-minute visit with 15 minutes changeover holds 75 minutes: 09:45 ends its
    # changeover at 11:00 exactly (touching is fine), 10:00 would run into the busy hour.
    assert local_starts(search([ann], changeover=15)) == ["09:00", "09:15", "09:30", "09:45", "12:00"]


def test_a_visit_may_start_the_instant_busy_time_ends():
    ann = PractitionerCalendar("ann", [iv("09:00", "11:00")], busy=[iv("09:00", "09:45")])
    assert local_starts(search([ann])) == ["09:45", "10:00"]


def test_touching_working_intervals_join_up():
    split = PractitionerCalendar("ann", [iv("09:00", "10:00"), iv("10:00", "11:00")])
    gap = PractitionerCalendar("bob", [iv("09:00", "10:00"), iv("10:01", "11:00")])
    assert local_starts(search([split])) == ["09:00", "09:15", "09:30", "09:45", "10:00"]
    assert local_starts(search([gap])) == ["09:00"]


def test_the_first_free_room_is_chosen_in_the_order_given():
    ann = PractitionerCalendar("ann", [iv("09:00", "11:00")])
    rooms = [RoomCalendar("r1", [iv("09:00", "10:00")]), RoomCalendar("r2", [iv("10:00", "10:30")])]
    slots = search([ann], rooms, duration=30, step=30)
    assert [(f"{s.start.astimezone(CHICAGO):%H:%M}", s.room) for s in slots] == [
        ("09:00", "r2"),
        ("09:30", "r2"),
        ("10:00", "r1"),
        ("10:30", "r1"),
    ]


def test_no_slot_when_every_room_is_taken_or_there_is_no_room():
    ann = PractitionerCalendar("ann", [iv("09:00", "10:00")])
    assert search([ann], [RoomCalendar("r1", [iv("08:00", "12:00")])]) == []
    assert search([ann], []) == []


def test_slots_come_by_start_then_in_the_practitioners_order():
    bob = PractitionerCalendar("bob", [iv("09:00", "10:30")])
    ann = PractitionerCalendar("ann", [iv("09:30", "10:30")])
    slots = search([bob, ann], step=30)
    assert [(f"{s.start.astimezone(CHICAGO):%H:%M}", s.practitioner) for s in slots] == [
        ("09:00", "bob"),
        ("09:30", "bob"),
        ("09:30", "ann"),
    ]


def test_nothing_before_the_minimum_notice_and_nothing_outside_the_window():
    ann = PractitionerCalendar("ann", [iv("09:00", "17:00")])
    assert local_starts(search([ann], not_before=at("15:10"))) == ["15:15", "15:30", "15:45", "16:00"]
    assert local_starts(search([ann], start=at("10:00"), end=at("10:30"))) == ["10:00", "10:15"]
    assert search([ann], start=at("10:00"), end=at("10:00")) == []


def test_the_step_counts_from_local_midnight():
    ann = PractitionerCalendar("ann", [iv("09:00", "12:00")])
    # Every 50 minutes from midnight: ..., 08:20, 09:10, 10:00, 10:50, ...
    assert local_starts(search([ann], step=50)) == ["09:10", "10:00", "10:50"]
    # The grid is local: in UTC+05:30 a 60-minute step falls on local hours, not UTC ones.
    kolkata = ZoneInfo("Asia/Kolkata")
    rao = PractitionerCalendar("rao", [iv("09:00", "12:00", tz=kolkata)])
    assert local_starts(search([rao], tz=kolkata, step=60), tz=kolkata) == ["09:00", "10:00", "11:00"]


def test_the_day_clocks_go_forward_offers_no_start_in_the_missing_hour():
    spring = date(2025, 3, 9)  # New York: 02:00 EST becomes 03:00 EDT
    ann = PractitionerCalendar("ann", [Interval(at("00:00", spring, NEW_YORK), at("05:00", spring, NEW_YORK))])
    slots = search([ann], tz=NEW_YORK, day=spring, duration=60, step=30)
    assert local_starts(slots, NEW_YORK) == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30", "04:00"]
    # A 60-minute visit from 01:30 EST ends at 03:30 EDT: an hour of real time.
    assert f"{slots[3].end.astimezone(NEW_YORK):%H:%M %Z}" == "03:30 EDT"


def test_the_day_clocks_go_back_offers_the_repeated_hour_twice():
    autumn = date(2025, 11, 2)  # New York: 02:00 EDT becomes 01:00 EST
    ann = PractitionerCalendar("ann", [Interval(at("00:00", autumn, NEW_YORK), at("03:00", autumn, NEW_YORK))])
    slots = search([ann], tz=NEW_YORK, day=autumn, duration=30, step=30)
    assert [f"{s.start.astimezone(NEW_YORK):%H:%M %Z}" for s in slots] == [
        "00:00 EDT",
        "00:30 EDT",
        "01:00 EDT",
        "01:30 EDT",
        "01:00 EST",
        "01:30 EST",
        "02:00 EST",
        "02:30 EST",
    ]


def test_check_start_names_each_problem():
    ann = PractitionerCalendar("ann", [iv("09:00", "12:00")], busy=[iv("10:00", "11:15")])
    room = RoomCalendar("r1", [iv("09:00", "09:45")])
    ok = check_start(at("11:15"), duration=45 * M, changeover=15 * M, practitioner=ann, room=room)
    assert ok == []
    problems = check_start(
        at("09:30"), duration=60 * M, changeover=15 * M, practitioner=ann, room=room, not_before=at("10:00")
    )
    assert [p.kind for p in problems] == [PRACTITIONER_BUSY, ROOM_BUSY, TOO_SOON]
    assert problems[0].conflict == iv("10:00", "11:15")
    late = check_start(at("11:30"), duration=60 * M, changeover=0 * M, practitioner=ann, room=None)
    assert [p.kind for p in late] == [OUTSIDE_WORKING]


def test_interval_arithmetic():
    assert merge([iv("10:00", "11:00"), iv("09:00", "10:00"), iv("12:00", "12:00")]) == [iv("09:00", "11:00")]
    assert intersect([iv("09:00", "12:00"), iv("13:00", "17:00")], [iv("11:00", "14:00")]) == [
        iv("11:00", "12:00"),
        iv("13:00", "14:00"),
    ]
    assert subtract([iv("09:00", "17:00")], [iv("10:00", "11:00"), iv("16:30", "18:00")]) == [
        iv("09:00", "10:00"),
        iv("11:00", "16:30"),
    ]
    assert subtract([iv("09:00", "10:00")], [iv("08:00", "12:00")]) == []


def test_is_aligned_reads_the_local_clock():
    assert is_aligned(at("09:45"), 15 * M, CHICAGO)
    assert not is_aligned(at("09:50"), 15 * M, CHICAGO)
    assert not is_aligned(at("09:45").replace(second=1), 15 * M, CHICAGO)


@pytest.mark.parametrize("step", [0, 0.5, -15])
def test_a_step_must_be_whole_minutes(step):
    with pytest.raises(ValueError):
        search([PractitionerCalendar("ann", [iv("09:00", "10:00")])], step=step)


def test_naive_datetimes_are_refused():
    ann = PractitionerCalendar("ann", [Interval(datetime(2025, 6, 10, 9), datetime(2025, 6, 10, 10))])
    with pytest.raises(TypeError):
        search([ann])
