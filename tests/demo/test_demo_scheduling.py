"""The demo clinic's scheduling (scheduling/demo.py): locations, hours, services and four
weeks of appointments in every status, loaded through the real actions."""

import datetime
import itertools
from collections import Counter

import pytest
from django.core import mail
from django.utils import timezone

from effleura.core.models import User
from effleura.demo import data as demo_data
from effleura.demo import scheduling as demo
from effleura.patients.models import Patient
from effleura.scheduling import waitlist as waitlist_rules
from effleura.scheduling.choices import HOLDS_TIME, AppointmentStatus, WaitlistStatus
from effleura.scheduling.models import (
    Appointment,
    Location,
    Notification,
    SchedulingPolicy,
    Series,
    Service,
    WaitlistEntry,
    WorkingHours,
)

Status = AppointmentStatus


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """The demo clinic with its scheduling, loaded once for this module (and removed after)."""
    with django_db_blocker.unblock():
        from django.db import transaction

        with transaction.atomic():
            # Before the load: the demo decides each visit's fate by its own clock, and a
            # test that runs minutes later must not count a visit that started since.
            loaded_at = timezone.now()
            demo_data.load_demo()
            staff = {u.username: u for u in User.objects.filter(is_demo=True)}
            patients = list(Patient.objects.filter(is_demo=True).order_by("chart_number"))
            today = timezone.now().astimezone(demo.TZ).date()
            first = demo.load_scheduling_demo(staff, patients, today)
            again = demo.load_scheduling_demo(staff, patients, today)
            yield {"first": first, "again": again, "today": today, "staff": staff, "loaded_at": loaded_at}
            transaction.set_rollback(True)


@pytest.fixture
def demo_db(loaded, db):
    return loaded


def test_it_loads_two_locations_with_rooms_hours_and_services(demo_db):
    clinic = Location.objects.get(name=demo.CLINIC)
    hospital = Location.objects.get(name=demo.HOSPITAL)
    assert clinic.time_zone == hospital.time_zone == "America/Los_Angeles"
    assert clinic.rooms.count() == 3 and hospital.rooms.count() == 0
    assert clinic.opening_hours.exists() and hospital.opening_hours.exists()
    services = {s.name: s for s in Service.objects.all()}
    assert services["Clinical massage"].durations == [60, 30, 90]
    assert sorted(services["Manual lymphatic drainage"].durations) == [45, 60]
    assert sorted(services["Bedside massage"].durations) == [15, 30]
    assert not services["Bedside massage"].needs_room
    working = {w.practitioner.username for w in WorkingHours.objects.select_related("practitioner")}
    assert working == {"therapist", "therapist2", "therapist3"}
    policy = SchedulingPolicy.current()
    assert policy.send_confirmations and policy.send_reminders and policy.late_cancel_hours == 24


def test_it_loads_four_weeks_of_appointments_in_every_status(demo_db):
    today = demo_db["today"]
    appointments = list(Appointment.objects.select_related("location", "service"))
    assert 120 <= len(appointments) <= 400
    days = {a.start.astimezone(demo.TZ).date() for a in appointments}
    assert min(days) <= today - datetime.timedelta(days=12) and max(days) >= today + datetime.timedelta(days=12)
    statuses = Counter(a.status for a in appointments)
    for status in (Status.BOOKED, Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW, Status.INTERRUPTED):
        assert statuses[status] > 0, status
    cancelled = [a for a in appointments if a.status == Status.CANCELLED]
    assert any(a.late_cancel for a in cancelled) and any(not a.late_cancel for a in cancelled)
    interrupted = [a for a in appointments if a.status == Status.INTERRUPTED]
    assert all(a.location.name == demo.HOSPITAL and a.minutes_delivered < a.duration_minutes for a in interrupted)
    assert all(a.room is None for a in appointments if a.location.name == demo.HOSPITAL)
    # Still booked means still ahead when the demo was loaded (series visits are booked ahead).
    loaded_at = demo_db["loaded_at"]
    assert all(a.start > loaded_at for a in appointments if a.status == Status.BOOKED and a.series is None)


def test_nobody_and_no_room_is_double_booked(demo_db):
    held = list(Appointment.objects.filter(status__in=HOLDS_TIME).order_by("start"))
    for key in ("practitioner_id", "room_id", "patient_id"):
        rows = sorted((a for a in held if getattr(a, key) is not None), key=lambda a: (getattr(a, key), a.start))
        for a, b in itertools.pairwise(rows):
            if getattr(a, key) == getattr(b, key):
                until = a.end if key == "patient_id" else a.busy_until
                assert b.start >= until, (key, a.start, b.start)


def test_it_books_two_series_and_a_waitlist_with_a_match(demo_db):
    series = list(Series.objects.all())
    assert len(series) == 2 and all(s.appointments.count() == s.visits for s in series)
    entries = list(WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING))
    assert len(entries) >= 3
    freed = Appointment.objects.filter(status=Status.CANCELLED, start__gt=timezone.now()).order_by("-cancelled_at")
    assert any(waitlist_rules.matches_for_appointment(a) for a in freed)


def test_loading_again_changes_nothing(demo_db):
    assert demo_db["again"].created is False
    assert Location.objects.count() == 2 and Series.objects.count() == 2


def test_the_demo_sends_no_emails_to_its_made_up_patients(demo_db):
    assert not Notification.objects.exists() and mail.outbox == []
