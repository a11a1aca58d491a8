"""Fixtures shared by the clinical tests: synthetic patients with a health history, an
open episode of care, and (for "schedule this plan", discharge and session notes) a
minimal practice set-up (tests/scheduling_fixtures.py). Everything goes through the real
actions."""

import pytest

from effleura.core.choices import Role

TZ_NAME = "America/Chicago"


@pytest.fixture
def patient_with_history(db, make_patient, add_history):
    """A synthetic patient whose current health history ticks "anticoagulant"
    (screening: precaution, no deep or forceful work)."""
    patient = make_patient()
    add_history(patient, conditions=["anticoagulant"], presenting_complaint="Stiff neck (synthetic)")
    return patient


@pytest.fixture
def patient_with_dvt(db, make_patient, add_history):
    """A synthetic patient whose current health history ticks "dvt" (screening: absolute,
    no massage today)."""
    patient = make_patient()
    add_history(patient, conditions=["dvt"])
    return patient


@pytest.fixture
def open_episode(db, therapist):
    """open_episode(patient, title=..., therapist=..., actor=...) -> an open episode made
    through clinical.episodes."""
    from effleura.clinical import episodes

    def make(patient, title="Low back pain (synthetic)", therapist=therapist, actor=therapist, **fields):
        clean = episodes.check_open_episode(actor, patient, {"title": title, "therapist": therapist, **fields})
        return episodes.do_open_episode(actor, patient, clean)

    return make


@pytest.fixture
def episode(db, make_patient, open_episode):
    """An open episode of care for a synthetic patient, with the therapist persona."""
    return open_episode(make_patient())


# Practice set-up: location, room, service, hours, next_monday, at, book and api_as come
# from tests/scheduling_fixtures.py (loaded for the whole suite).


@pytest.fixture
def practice(location, room, service, hours):
    """The whole set-up at once: (location, room, service)."""
    return location, room, service


@pytest.fixture
def colleague(db, django_user_model):
    """Another therapist of the practice: may read a colleague's notes, never edit their drafts."""
    return django_user_model.objects.create_user(
        username="colleague", password="x", role=Role.THERAPIST, first_name="Colleague", last_name="Tester"
    )
