"""The load test's checks after a run (effleura/bench/loadchecks.py): no double-booking,
no acknowledged write lost. The comparisons are table-tested; then the whole check on a
small database with a double-booking and lost writes planted."""

import datetime

import pytest
from django.db import connection

from effleura.bench import loadchecks
from effleura.bench.loadchecks import Busy, StoredBooking, StoredNote

T = datetime.datetime(2031, 3, 3, 9, 0, tzinfo=datetime.UTC)


def busy(resource, name, start_min, end_min):
    return Busy(resource, name, T + datetime.timedelta(minutes=start_min), T + datetime.timedelta(minutes=end_min))


@pytest.mark.parametrize(
    ("rows", "pairs"),
    [
        ([], []),
        ([busy("p1", "a", 0, 60), busy("p1", "b", 60, 120)], []),  # touching is not overlapping
        ([busy("p1", "a", 0, 60), busy("p2", "b", 30, 90)], []),  # two practitioners
        ([busy("p1", "a", 0, 60), busy("p1", "b", 45, 90)], [("a", "b")]),
        ([busy("p1", "b", 45, 90), busy("p1", "a", 0, 60)], [("a", "b")]),  # any order in
        # A long one covers two later ones, although the first of them ended before the second.
        ([busy("r1", "a", 0, 180), busy("r1", "b", 30, 45), busy("r1", "c", 90, 120)], [("a", "b"), ("a", "c")]),
        ([busy("r1", "a", 0, 60), busy("r1", "b", 0, 60)], [("a", "b")]),  # the same time twice
    ],
)
def test_overlapping_busy_times_of_one_practitioner_or_room_are_found(rows, pairs):
    assert [(a.appointment, b.appointment) for a, b in loadchecks.overlaps(rows)] == pairs


BOOKED = {"kind": "booking", "id": "b1", "practitioner": "p1", "start": T.isoformat(), "notes": "load 1"}


def stored(**changes):
    values = {"id": "b1", "practitioner": "p1", "start": T, "notes": "load 1", "holds_time": True}
    return StoredBooking(**{**values, **changes})


@pytest.mark.parametrize(
    ("found", "problems"),
    [
        ({"b1": stored()}, []),
        ({"b1": stored(start=T.astimezone(datetime.timezone(datetime.timedelta(hours=-7))))}, []),  # same instant
        ({}, ["booking b1 was acknowledged but is not in the database"]),
        ({"b1": stored(holds_time=False)}, ["booking b1 was acknowledged but is cancelled"]),
        ({"b1": stored(practitioner="p2")}, ["booking b1: practitioner p2, booked p1"]),
        (
            {"b1": stored(start=T + datetime.timedelta(minutes=15))},
            [f"booking b1: starts {(T + datetime.timedelta(minutes=15)).isoformat()}, booked {T.isoformat()}"],
        ),
        ({"b1": stored(notes="")}, ["booking b1: its notes are not those it was booked with"]),
    ],
)
def test_every_acknowledged_booking_must_be_there_as_booked(found, problems):
    assert loadchecks.lost_bookings([BOOKED], found) == problems


def save(version, text, note="n1"):
    return {"kind": "note", "id": note, "version": version, "subjective": text}


@pytest.mark.parametrize(
    ("acks", "found", "problems"),
    [
        ([save(2, "a"), save(3, "b")], {"n1": StoredNote("n1", 3, "b")}, []),
        ([save(3, "b"), save(2, "a")], {"n1": StoredNote("n1", 3, "b")}, []),  # acks in any order
        ([save(2, "a")], {"n1": StoredNote("n1", 5, "later")}, []),  # saved again since: newer wins
        (
            [save(2, "a"), save(3, "b")],
            {"n1": StoredNote("n1", 3, "a")},
            ["note n1: version 3 does not hold the text that save acknowledged"],
        ),
        (
            [save(2, "a"), save(3, "b")],
            {"n1": StoredNote("n1", 2, "a")},
            ["note n1: version 2, but version 3 was acknowledged"],
        ),
        ([save(2, "a")], {}, ["note n1 had acknowledged saves but is not in the database"]),
        (
            [save(2, "a"), save(2, "b")],
            {"n1": StoredNote("n1", 2, "a")},
            ["note n1: two saves were both acknowledged as version 2"],
        ),
    ],
)
def test_every_acknowledged_note_save_must_be_there_or_overtaken(acks, found, problems):
    assert loadchecks.lost_notes(acks, found) == problems


@pytest.mark.django_db
def test_the_database_check_passes_when_the_run_kept_its_promises(book, therapist):
    first = book("10:00", notes="load a")
    book("11:15", notes="load b")  # 60 minutes + 15 changeover after the first: touching
    acks = [
        {
            "kind": "booking",
            "id": str(first.public_id),
            "practitioner": str(therapist.public_id),
            "start": first.start.isoformat(),
            "notes": "load a",
        }
    ]
    assert loadchecks.check_database(acks) == []


@pytest.mark.django_db
def test_the_database_check_names_a_lost_booking_and_a_lost_note_save(book, therapist, make_patient):
    from effleura.clinical import episodes, notes

    visit = book("10:00", notes="load a")
    patient = visit.patient
    clean = episodes.check_open_episode(therapist, patient, {"title": "Neck (synthetic)", "therapist": therapist})
    episodes.do_open_episode(therapist, patient, clean)
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=visit))
    missing = "00000000-0000-4000-8000-000000000000"
    acks = [
        {
            "kind": "booking",
            "id": missing,
            "practitioner": str(therapist.public_id),
            "start": visit.start.isoformat(),
            "notes": "x",
        },
        {"kind": "note", "id": str(note.public_id), "version": note.version, "subjective": "never saved"},
    ]
    assert loadchecks.check_database(acks) == [
        f"booking {missing} was acknowledged but is not in the database",
        f"note {note.public_id}: version {note.version} does not hold the text that save acknowledged",
    ]


@pytest.mark.django_db
@pytest.mark.skipif(
    connection.vendor == "postgresql", reason="PostgreSQL's exclusion constraint refuses the planted overlap itself"
)
def test_the_database_check_finds_a_planted_double_booking(book, therapist, room):
    from effleura.scheduling.models import Appointment

    first = book("10:00")
    second = book("13:00")
    # Planted past the actions (as a bug would): the second now starts inside the first.
    Appointment.objects.filter(pk=second.pk).update(
        start=first.start + datetime.timedelta(minutes=30),
        end=first.end + datetime.timedelta(minutes=30),
        busy_until=first.busy_until + datetime.timedelta(minutes=30),
    )
    problems = loadchecks.check_database([])
    assert len(problems) == 2  # the practitioner and the room
    assert problems[0].startswith(f"double-booked practitioner {therapist.pk}: appointments {first.public_id}")
    assert problems[1].startswith(f"double-booked room {room.pk}: appointments {first.public_id}")
