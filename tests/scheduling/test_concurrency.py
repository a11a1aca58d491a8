"""Many booking requests for the same slot at the same instant, through the API: exactly one
succeeds, every other answers 409 with the conflicting time (docs/decisions/0005).

PostgreSQL: 50 threads, each with its own connection, test Client and API token, released
together by a barrier. The exclusion constraints let one row in.

SQLite: the same race with 8 threads, against a database FILE in WAL mode as in
production. The test database pytest-django makes for SQLite is in memory with a shared
cache, where a second writer fails at once ("database table is locked") instead of
waiting for the lock, so that race runs in a child process (this file run as a script)
on a fresh migrated file. It shows that BEGIN IMMEDIATE serializes the bookings.
"""

import datetime
import json
import os
import subprocess
import sys
import threading
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test import Client

THREADS_POSTGRES = 50
THREADS_SQLITE = 8
BARRIER_TIMEOUT = 60
NINE, FIVE = datetime.time(9), datetime.time(17)
BORN = datetime.date(1980, 1, 1)


# The race, shared by both tests -------------------------------------------------------------


def make_clinic(front_desk, therapist, patients: int):
    """A location with two rooms, a 60-minute service with 15 minutes' changeover, the
    therapist's weekday hours, ``patients`` patients and one API token per request."""
    from effleura.core.actions import do_create_api_token
    from effleura.patients import actions as patient_actions
    from effleura.scheduling.models import Location, OpeningHours, Room, Service, WorkingHours

    location = Location.objects.create(name="Main Street", time_zone="America/Chicago")
    OpeningHours.objects.bulk_create(
        OpeningHours(location=location, weekday=d, opens=datetime.time(8), closes=datetime.time(20)) for d in range(6)
    )
    for name in ("Room 1", "Room 2"):
        Room.objects.create(location=location, name=name)
    service = Service.objects.create(
        name="Clinical massage", durations=[60], default_price=Decimal("95.00"), changeover_minutes=15
    )
    service.practitioners.set([therapist])
    WorkingHours.objects.bulk_create(
        WorkingHours(
            practitioner=therapist, location=location, weekday=d, start=datetime.time(9), end=datetime.time(17)
        )
        for d in range(5)
    )
    people = []
    for n in range(patients):
        clean = patient_actions.check_create_patient(
            front_desk,
            {
                "legal_first_name": f"Racer{n}",
                "legal_last_name": "Synthetic",
                "date_of_birth": datetime.date(1980, 1, 1),
            },
            allow_duplicate=True,
        )
        people.append(patient_actions.do_create_patient(front_desk, clean))
    tokens = [do_create_api_token(front_desk, f"racer {n}")[1] for n in range(patients)]
    tz = zoneinfo.ZoneInfo(location.time_zone)
    day = datetime.datetime.now(tz).date() + datetime.timedelta(days=3)
    day += datetime.timedelta(days=(7 - day.weekday()) % 7)  # a Monday, well ahead
    start = datetime.datetime.combine(day, datetime.time(10), tzinfo=tz)
    bodies = [
        {
            "patient": str(p.public_id),
            "practitioner": str(therapist.public_id),
            "service": str(service.public_id),
            "location": str(location.public_id),
            "start": start.isoformat(),
        }
        for p in people
    ]
    return tokens, bodies


def race(tokens: list[str], bodies: list[dict]) -> list[tuple[int, dict]]:
    """POST every body at once, one thread, client and token each; (status, json) answers."""
    barrier = threading.Barrier(len(bodies), timeout=BARRIER_TIMEOUT)
    answers: list = [None] * len(bodies)

    def one(n: int) -> None:
        try:
            client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens[n]}")
            barrier.wait()
            response = client.post("/api/v1/appointments", bodies[n], content_type="application/json")
            answers[n] = (response.status_code, response.json())
        except Exception as exc:  # reported by the assertions below, not lost in the thread
            answers[n] = (0, {"detail": f"{type(exc).__name__}: {exc}"})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT * 2)
    return answers


def assert_exactly_one_booked(answers) -> None:
    statuses = sorted(status for status, _ in answers)
    assert statuses.count(201) == 1, answers
    refused = [data for status, data in answers if status != 201]
    assert all(status in (201, 409) for status, _ in answers), [a for a in answers if a[0] not in (201, 409)]
    # Each refusal gives the conflicting time (the winner's visit: 10:00–11:00 local).
    assert all("10:00–11:00" in data["detail"] for data in refused), refused


# PostgreSQL ----------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the 50-request race runs on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_requests_for_one_slot_book_it_once(front_desk, therapist):
    from effleura.scheduling.models import Appointment

    tokens, bodies = make_clinic(front_desk, therapist, THREADS_POSTGRES)
    answers = race(tokens, bodies)
    assert_exactly_one_booked(answers)
    assert Appointment.objects.count() == 1


# SQLite --------------------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite race")
def test_on_sqlite_the_write_lock_lets_one_of_eight_simultaneous_requests_book(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "effleura.settings",
        "EFFLEURA_VAR_DIR": str(tmp_path),
        "EFFLEURA_DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}",
        "EFFLEURA_TASK_BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "EFFLEURA_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    child = subprocess.run(
        [sys.executable, __file__, str(THREADS_SQLITE)], env=env, capture_output=True, text=True, timeout=300
    )
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["transaction_mode"] == "IMMEDIATE"
    assert result["first_statement"] == "BEGIN IMMEDIATE"
    assert len(result["answers"]) == THREADS_SQLITE
    assert_exactly_one_booked([tuple(a) for a in result["answers"]])
    assert result["appointments"] == 1


def _sqlite_race_in_this_process(threads: int) -> dict:
    """The child's part: migrate a fresh file database, set up the clinic, race."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from effleura.core.choices import Role
    from effleura.core.models import User
    from effleura.scheduling.models import Appointment

    setup_test_environment()
    call_command("migrate", verbosity=0, interactive=False)
    # What every atomic() block starts with: the write lock, taken at BEGIN.
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        User.objects.exists()
    front_desk = User.objects.create_user(username="desk", role=Role.FRONT_DESK, first_name="Front")
    therapist = User.objects.create_user(
        username="therapist", role=Role.THERAPIST, first_name="Therapist", last_name="Tester"
    )
    tokens, bodies = make_clinic(front_desk, therapist, threads)
    connections.close_all()
    answers = race(tokens, bodies)
    return {
        "transaction_mode": connection.transaction_mode,
        "first_statement": captured.captured_queries[0]["sql"],
        "answers": answers,
        "appointments": Appointment.objects.count(),
    }


if __name__ == "__main__":
    print(json.dumps(_sqlite_race_in_this_process(int(sys.argv[1]))))
