"""Opening episodes of care (clinical/episodes.py) and the shared access functions."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from effleura.clinical import access
from effleura.clinical.choices import EpisodeStatus
from effleura.core.models import AuditEvent


def test_the_episode_fixture_is_open_with_the_therapist(episode, therapist):
    assert episode.status == EpisodeStatus.OPEN
    assert episode.therapist == therapist


def test_access_episode_audits_with_the_patient(episode, therapist):
    found = access.access_episode(therapist, episode.public_id)
    assert found == episode
    event = AuditEvent.objects.filter(record_id=str(episode.public_id)).last()
    assert event.patient_id == episode.patient.public_id


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_access_episode_refuses_non_clinicians(request, episode, role):
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        access.access_episode(user, episode.public_id)
    assert AuditEvent.objects.filter(actor_username=user.username, outcome="denied").exists()


def test_access_episode_unknown_is_404(therapist):
    with pytest.raises(Http404):
        access.access_episode(therapist, "5b7a0d8e-0000-4000-8000-000000000000")
    with pytest.raises(Http404):
        access.access_episode(therapist, "not-a-uuid")


# Opening an episode -------------------------------------------------------------------------


def test_an_episode_opens_with_the_actor_as_therapist_by_default(make_patient, therapist):
    from effleura.clinical import episodes

    patient = make_patient()
    clean = episodes.check_open_episode(therapist, patient, {"title": "  Neck   pain  "})
    opened = episodes.do_open_episode(therapist, patient, clean)
    assert (opened.title, opened.therapist, opened.created_by) == ("Neck pain", therapist, therapist)
    event = AuditEvent.objects.get(record_type="episode", record_id=str(opened.public_id))
    assert event.patient_id == patient.public_id and event.action == "create"


def test_a_patient_may_have_several_episodes(make_patient, open_episode):
    patient = make_patient()
    open_episode(patient, title="Low back pain")
    open_episode(patient, title="Carpal tunnel")
    assert patient.episodes.count() == 2


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": ""}, "title", "Name the problem"),
        ({"title": "x" * 151}, "title", "under 150"),
        ({"title": "Neck", "opened_on": "2099-01-01"}, "opened_on", "more than a week ahead"),
        ({"title": "Neck", "opened_on": "1900-01-01"}, "opened_on", "before the patient was born"),
        ({"title": "Neck", "opened_on": "yesterday"}, "opened_on", "Give the date"),
    ],
)
def test_opening_an_episode_checks_title_and_date(make_patient, therapist, data, field, message):
    from django.core.exceptions import ValidationError

    from effleura.clinical import episodes

    with pytest.raises(ValidationError) as exc:
        episodes.check_open_episode(therapist, make_patient(), data)
    assert message in exc.value.message_dict[field][0]


def test_the_therapist_must_be_a_clinician(make_patient, owner, front_desk, billing):
    from django.core.exceptions import ValidationError

    from effleura.clinical import episodes

    patient = make_patient()
    for who in (front_desk, billing, front_desk.public_id):
        with pytest.raises(ValidationError) as exc:
            episodes.check_open_episode(owner, patient, {"title": "Neck", "therapist": who})
        assert "active therapist or owner" in exc.value.message_dict["therapist"][0]
    # The owner gives treatment too.
    assert episodes.check_open_episode(owner, patient, {"title": "Neck", "therapist": owner})["therapist"] == owner


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_only_clinicians_open_episodes(request, make_patient, role):
    from effleura.clinical import episodes

    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        episodes.check_open_episode(user, make_patient(), {"title": "Neck"})
    assert AuditEvent.objects.filter(actor_username=user.username, outcome="denied").exists()


def test_a_refused_look_at_an_episode_names_the_patient_in_the_audit_trail(episode, front_desk):
    with pytest.raises(PermissionDenied):
        access.access_episode(front_desk, episode.public_id)
    denied = AuditEvent.objects.get(actor_username="front_desk", outcome="denied")
    assert denied.patient_id == episode.patient.public_id


def test_access_patient_clinical_refuses_before_looking_up(front_desk, therapist, make_patient):
    patient = make_patient()
    with pytest.raises(PermissionDenied):
        access.access_patient_clinical(front_desk, patient.public_id)
    assert access.access_patient_clinical(therapist, patient.public_id) == patient
    assert AuditEvent.objects.filter(actor_username="therapist", patient_id=patient.public_id, action="read").exists()
