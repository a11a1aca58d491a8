"""/api/v1/patients/{id}/health-history: clinical content only owners and therapists
see; every version kept; refusals and reads in the audit trail."""

import datetime
import uuid

import pytest

from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.models import AuditEvent
from effleura.patients.models import HealthHistory

pytestmark = pytest.mark.django_db

ALL_ROLES = ["owner", "therapist", "front_desk", "billing", "outsider"]
CLINICAL = {"owner", "therapist"}


@pytest.fixture
def patient(make_patient, add_history):
    patient = make_patient()
    add_history(patient, presenting_complaint="Stiff neck", pain_areas=["neck"])
    return patient


def _operations(patient):
    base = f"/patients/{patient.public_id}/health-history"
    return [
        ("GET", base, None, 200),
        ("POST", base, {"goals": "Turn head"}, 201),
        ("GET", f"{base}/versions", None, 200),
        ("GET", f"{base}/versions/1", None, 200),
    ]


# Who may do what -------------------------------------------------------------------


@pytest.mark.parametrize("persona", ALL_ROLES, indirect=True)
def test_it_shows_health_history_only_to_owners_and_therapists(persona, api_as, patient):
    client = api_as(persona)
    for method, path, body, allowed_status in _operations(patient):
        response = client.send(method, path, body)
        if persona.username in CLINICAL:
            assert response.status_code == allowed_status, (method, path, response.content)
        else:
            assert response.status_code == 403, (method, path)
            assert response.json() == {"detail": "Your role does not allow this."}
    if persona.username not in CLINICAL:
        assert HealthHistory.objects.filter(patient=patient).count() == 1


@pytest.mark.parametrize("persona", ["front_desk", "billing"], indirect=True)
def test_it_audits_each_refused_health_history_request_with_the_patient(persona, api_as, patient):
    client = api_as(persona)
    for method, path, body, _status in _operations(patient):
        client.send(method, path, body)
    denied = AuditEvent.objects.filter(actor_id=persona.pk, outcome=AuditOutcome.DENIED)
    assert denied.count() == 4
    assert {e.patient_id for e in denied} == {patient.public_id}
    assert {e.record_type for e in denied} == {"health_history"}
    assert {e.actor_role for e in denied} == {persona.role}
    assert not AuditEvent.objects.filter(
        actor_id=persona.pk, outcome=AuditOutcome.ALLOWED, record_type="health_history"
    ).exists()


def test_it_audits_reading_the_health_history_as_allowed(api_as, therapist, patient):
    api_as(therapist).send("GET", f"/patients/{patient.public_id}/health-history")
    event = AuditEvent.objects.get(actor_id=therapist.pk, action=AuditAction.READ)
    assert (event.record_type, event.outcome, event.patient_id) == (
        "health_history",
        AuditOutcome.ALLOWED,
        patient.public_id,
    )
    assert event.record_id == str(HealthHistory.objects.get(patient=patient).public_id)


def test_it_audits_listing_the_versions_as_allowed(api_as, owner, patient):
    api_as(owner).send("GET", f"/patients/{patient.public_id}/health-history/versions")
    assert AuditEvent.objects.filter(
        actor_id=owner.pk, record_type="health_history", outcome=AuditOutcome.ALLOWED, patient_id=patient.public_id
    ).exists()


# Reading ----------------------------------------------------------------------------


def test_it_answers_the_current_version(api_as, therapist, patient, add_history):
    add_history(patient, presenting_complaint="Low back pain", pain_areas=["low_back"])
    body = api_as(therapist).send("GET", f"/patients/{patient.public_id}/health-history").json()
    assert body["version"] == 2
    assert body["presenting_complaint"] == "Low back pain"
    assert body["pain_areas"] == ["low_back"]
    assert body["recorded_by"]["name"] == therapist.display_name
    assert body["recorded_by"]["id"] == str(therapist.public_id)


def test_it_answers_404_with_a_clear_message_when_there_is_no_health_history(api_as, owner, make_patient):
    patient = make_patient()
    response = api_as(owner).send("GET", f"/patients/{patient.public_id}/health-history")
    assert response.status_code == 404
    assert response.json() == {"detail": "This patient has no health history yet."}


def test_it_answers_404_for_the_health_history_of_a_patient_that_does_not_exist(api_as, owner):
    response = api_as(owner).send("GET", f"/patients/{uuid.uuid4()}/health-history")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such patient."}


def test_it_lists_every_version_newest_first(api_as, owner, patient, add_history):
    add_history(patient, goals="Sleep better")
    body = api_as(owner).send("GET", f"/patients/{patient.public_id}/health-history/versions").json()
    assert [v["version"] for v in body] == [2, 1]
    assert set(body[0]) == {"id", "version", "recorded_at", "recorded_by"}


def test_it_lists_no_versions_for_a_patient_without_history(api_as, owner, make_patient):
    patient = make_patient()
    body = api_as(owner).send("GET", f"/patients/{patient.public_id}/health-history/versions").json()
    assert body == []


def test_it_answers_an_earlier_version(api_as, therapist, patient, add_history):
    add_history(patient, presenting_complaint="Something else")
    body = api_as(therapist).send("GET", f"/patients/{patient.public_id}/health-history/versions/1").json()
    assert (body["version"], body["presenting_complaint"]) == (1, "Stiff neck")


def test_it_answers_404_for_a_version_that_does_not_exist(api_as, therapist, patient):
    response = api_as(therapist).send("GET", f"/patients/{patient.public_id}/health-history/versions/7")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such version of the health history."}


@pytest.mark.parametrize("version", ["0", "-1", "abc", "1.5", "99999999999999999999999"])
def test_it_refuses_a_version_that_is_not_a_positive_whole_number(version, api_as, therapist, patient):
    response = api_as(therapist).send("GET", f"/patients/{patient.public_id}/health-history/versions/{version}")
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"version"}


# Adding a version -------------------------------------------------------------------


def test_it_adds_a_new_version_and_keeps_the_old_one(api_as, therapist, patient):
    response = api_as(therapist).send(
        "POST",
        f"/patients/{patient.public_id}/health-history",
        {
            "presenting_complaint": "Headaches",
            "pain_areas": ["head", "neck"],
            "medications": [{"name": "Apixaban", "dose": "5 mg", "blood_thinner": True}],
            "surgeries": [{"what": "Appendix removed", "date": "2001-05-02"}, {"what": "Tonsils", "date": ""}],
            "pregnant": True,
            "pregnancy_weeks": 20,
            "implanted_devices": ["pacemaker"],
            "pressure_preference": "light",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"] == 2
    assert body["recorded_by"]["id"] == str(therapist.public_id)
    # Conditions the answers imply are screened, without being ticked on the checklist.
    assert {"anticoagulant", "pregnancy", "pacemaker"} <= set(body["screening_conditions"])
    assert not {"anticoagulant", "pregnancy", "pacemaker"} & set(body["conditions"])
    assert body["surgeries"] == [
        {"what": "Appendix removed", "date": "2001-05-02"},
        {"what": "Tonsils", "date": ""},
    ]
    assert HealthHistory.objects.filter(patient=patient).count() == 2
    event = AuditEvent.objects.get(actor_id=therapist.pk, action=AuditAction.CREATE, detail="version 2")
    assert (event.record_type, event.patient_id) == ("health_history", patient.public_id)


def test_it_adds_the_first_version_from_an_empty_form(api_as, owner, make_patient):
    patient = make_patient()
    response = api_as(owner).send("POST", f"/patients/{patient.public_id}/health-history", {})
    assert response.status_code == 201
    assert response.json()["version"] == 1


def test_it_accepts_a_version_read_back_as_the_next_version(api_as, therapist, patient):
    client = api_as(therapist)
    base = f"/patients/{patient.public_id}/health-history"
    current = client.send(
        "POST", base, {"surgeries": [{"what": "Knee", "date": ""}], "medications": [{"name": "Ibuprofen"}]}
    ).json()
    for key in ("id", "version", "recorded_at", "recorded_by", "screening_conditions"):  # read-only
        current.pop(key)
    current["goals"] = "Walk the dog"
    response = client.send("POST", base, current)
    assert response.status_code == 201, response.content
    assert response.json()["version"] == 3


def test_it_refuses_pregnancy_weeks_when_not_pregnant(api_as, therapist, patient):
    response = api_as(therapist).send("POST", f"/patients/{patient.public_id}/health-history", {"pregnancy_weeks": 12})
    assert response.status_code == 422
    assert response.json()["errors"] == {"pregnancy_weeks": "Weeks of pregnancy only apply when pregnant is ticked."}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"conditions": ["werewolf"]}, "conditions.0"),
        ({"pain_areas": "neck"}, "pain_areas"),
        ({"medications": [{"dose": "5 mg"}]}, "medications.0.name"),
        ({"medications": [{"name": "x", "colour": "blue"}]}, "medications.0.colour"),
        ({"surgeries": [{"what": "Knee", "date": "2001-02-30"}]}, "surgeries.0.date"),
        ({"pregnant": True, "pregnancy_weeks": 99}, "pregnancy_weeks"),
        ({"pregnant": "yes"}, "pregnant"),
        ({"pressure_preference": "crushing"}, "pressure_preference"),
        ({"implanted_devices_notes": "x" * 201}, "implanted_devices_notes"),
        ({"smoker": True}, "smoker"),
    ],
)
def test_it_refuses_an_invalid_health_history_naming_the_field(body, field, api_as, therapist, patient):
    response = api_as(therapist).send("POST", f"/patients/{patient.public_id}/health-history", body)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert HealthHistory.objects.filter(patient=patient).count() == 1


def test_it_refuses_a_surgery_dated_in_the_future(api_as, therapist, patient):
    soon = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    response = api_as(therapist).send(
        "POST", f"/patients/{patient.public_id}/health-history", {"surgeries": [{"what": "Hip", "date": soon}]}
    )
    assert response.status_code == 422
    assert "future" in response.json()["errors"]["surgeries"]
