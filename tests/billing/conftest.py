"""Fixtures shared by the billing tests: payers, policies, fees, and signed visits.

Synthetic only. Signed visits go through the real clinical actions (an appointment that
has already started, an episode, a note with technique minutes, signed), so the charge
is made the way it is in the clinic. Payers, policies and fees are made directly: these
fixtures test what uses them, not their set-up pages."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from effleura.billing.models import FeeScheduleEntry, Payer, Policy, ProcedureCode
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment


@pytest.fixture
def practice(location, room, service, hours):
    """The scheduling set-up at once: (location, room, service)."""
    return location, room, service


@pytest.fixture
def code():
    """code("97124") -> the catalog's ProcedureCode (seeded from the bundled catalog)."""

    def get(value: str) -> ProcedureCode:
        return ProcedureCode.objects.get(code=value)

    return get


@pytest.fixture
def make_payer(db):
    """make_payer(name="Synthetic Mutual", unit_method="cms", **fields) -> a Payer."""

    def make(name="Synthetic Mutual (demo payer)", unit_method="cms", **fields):
        return Payer.objects.create(name=name, unit_method=unit_method, **fields)

    return make


@pytest.fixture
def make_policy(db, owner):
    """make_policy(patient, payer, priority="primary", **fields) -> an active Policy."""

    def make(patient, payer, priority="primary", **fields):
        fields.setdefault("member_id", "SYN123456789")
        return Policy.objects.create(patient=patient, payer=payer, priority=priority, created_by=owner, **fields)

    return make


@pytest.fixture
def set_fee(db):
    """set_fee(amount, code=None, service=None, payer=None, minutes=None) -> a FeeScheduleEntry
    (``code`` a ProcedureCode or a code string; ``minutes`` a service's visit length)."""

    def make(amount, code=None, service=None, payer=None, minutes=None):
        if isinstance(code, str):
            code = ProcedureCode.objects.get(code=code)
        return FeeScheduleEntry.objects.create(
            amount=Decimal(str(amount)), code=code, service=service, payer=payer, minutes=minutes
        )

    return make


@pytest.fixture
def past_appointment(owner, therapist, practice):
    """past_appointment(patient, minutes=60, hours_ago=2, practitioner=therapist) -> an
    appointment that has already started, made directly (booking refuses the past)."""
    location, room, service = practice

    def make(patient, minutes=60, hours_ago=2, practitioner=therapist, **extra):
        start = timezone.now() - datetime.timedelta(hours=hours_ago)
        end = start + datetime.timedelta(minutes=minutes)
        extra.setdefault("status", AppointmentStatus.BOOKED)
        return Appointment.objects.create(
            patient=patient, practitioner=practitioner, service=service, location=location, room=room,
            duration_minutes=minutes, start=start, end=end, busy_until=end, created_by=owner, **extra,
        )  # fmt: skip

    return make


@pytest.fixture
def visit_day(practice):
    """visit_day(hours_ago=2) -> the date, at the visit's location, of a visit that began
    ``hours_ago`` hours ago: the day its charge is for (not the server's date, which is
    already tomorrow there in the evening)."""
    location = practice[0]

    def day(hours_ago=2):
        return timezone.localtime(timezone.now() - datetime.timedelta(hours=hours_ago), location.tz).date()

    return day


@pytest.fixture
def sign_visit(db, therapist, make_patient, past_appointment):
    """sign_visit(techniques=(("swedish", 30), ...), patient=None, minutes=60, author=therapist)
    -> a signed SessionNote for a visit that has happened: appointment, open episode, the
    technique minutes, signed by its author through clinical.notes (which makes the charge)."""
    from effleura.clinical import access, episodes, notes

    earlier = iter(range(2, 200, 2))  # each visit 2 hours before the last: no overlap (PostgreSQL refuses it)

    def make(techniques=(("swedish", 30),), patient=None, minutes=60, author=therapist, hours_ago=None, **note_fields):
        hours_ago = next(earlier) if hours_ago is None else hours_ago
        patient = patient or make_patient()
        open_ = patient.episodes.filter(status="open").first() if hasattr(patient, "episodes") else None
        if open_ is None:
            clean = episodes.check_open_episode(
                author, patient, {"title": "Low back pain (synthetic)", "therapist": author}
            )
            open_ = episodes.do_open_episode(author, patient, clean)
        appointment = past_appointment(patient, minutes=minutes, hours_ago=hours_ago, practitioner=author)
        note = notes.do_start_note(author, notes.check_start_note(author, appointment=appointment, episode=open_))
        note = access.access_note(author, note.public_id, audit_it=False)
        rows = [{"technique": t, "minutes": m} for t, m in techniques]
        data = {"techniques": rows, "subjective": "Synthetic visit.", **note_fields}
        note = notes.do_update_note(author, note, notes.check_update_note(author, note, data))
        note = access.access_note(author, note.public_id, audit_it=False)
        return notes.do_sign_note(author, note, notes.check_sign_note(author, note))

    return make
