"""Undo races on PostgreSQL (issue 11): do_undo_status asks the rules again under the row
lock, so two undos of one change take it back once, and undoing a cancellation while
someone books the freed time never leaves both visits holding it (the exclusion
constraints of migration 0002 let one in).

Each thread has its own connection; a barrier releases them together. SQLite serializes
every write transaction (BEGIN IMMEDIATE), so there the second look is all there is, and
tests/scheduling/test_visit_states.py covers it.
"""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone

from effleura.scheduling import actions
from effleura.scheduling.booking import BookingConflict
from effleura.scheduling.choices import AppointmentStatus, ChangeKind
from effleura.scheduling.models import Appointment, AppointmentChange

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the undo races run on PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]
THREADS = 8


def together(jobs) -> list:
    """Run the callables at once; each one's answer or the exception it raised."""
    barrier = threading.Barrier(len(jobs), timeout=60)
    answers: list = [None] * len(jobs)

    def run(i, job):
        try:
            barrier.wait()
            answers[i] = job()
        except Exception as exc:  # the answer is what the test checks
            answers[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_simultaneous_undos_of_one_change_take_it_back_once(therapist, book):
    appointment = book("10:00")
    Appointment.objects.filter(pk=appointment.pk).update(
        start=timezone.now(), end=timezone.now() + datetime.timedelta(hours=1),
        busy_until=timezone.now() + datetime.timedelta(hours=1, minutes=15),
    )  # fmt: skip
    appointment.refresh_from_db()
    started = actions.do_set_status(
        therapist, appointment, actions.check_set_status(therapist, appointment, AppointmentStatus.IN_SESSION)
    )
    checked = [actions.check_undo_status(therapist, started) for _ in range(THREADS)]
    answers = together([lambda c=c: actions.do_undo_status(therapist, started, c) for c in checked])
    done = [a for a in answers if isinstance(a, Appointment)]
    refused = [a for a in answers if isinstance(a, ValidationError)]
    assert len(done) == 1 and len(refused) == THREADS - 1, answers
    assert all("changed meanwhile" in " ".join(r.messages) for r in refused)
    assert AppointmentChange.objects.filter(appointment=appointment, kind=ChangeKind.UNDO).count() == 1
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED


def test_undoing_a_cancellation_and_booking_the_freed_time_never_both_hold_it(
    front_desk, therapist, book, make_patient, at, next_monday
):
    appointment = book("10:00")
    cancelled = actions.do_cancel(front_desk, appointment, actions.check_cancel(front_desk, appointment, "Mistake"))
    checked = actions.check_undo_status(front_desk, cancelled)
    plan = actions.check_book(
        front_desk, make_patient(), therapist, appointment.service, appointment.location, at(next_monday, "10:00")
    )
    answers = together([
        lambda: actions.do_undo_status(front_desk, cancelled, checked),
        lambda: actions.do_book(front_desk, plan),
    ])  # fmt: skip
    winners = [a for a in answers if isinstance(a, Appointment)]
    assert len(winners) == 1, answers
    loser = next(a for a in answers if not isinstance(a, Appointment))
    assert isinstance(loser, ValidationError | BookingConflict), loser
    holding = Appointment.objects.filter(practitioner=therapist, start=at(next_monday, "10:00")).exclude(
        status=AppointmentStatus.CANCELLED
    )
    assert holding.count() == 1
