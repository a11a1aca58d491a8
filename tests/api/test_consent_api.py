"""The consent API: the same rules as the sign page (issue 11). The name signed must be
the patient's, or the signer says who they are; a version is signed once (409)."""

import pytest

from effleura.patients import actions
from effleura.patients.models import PatientConsent

NOT_THE_PATIENT = "The name signed must be the patient's name, or say who is signing for them."


@pytest.fixture
def patient(make_patient):
    return make_patient(legal_first_name="Ana", legal_last_name="Rivera")


@pytest.fixture
def document(owner):
    return actions.do_create_consent_document(
        owner,
        title="Consent to treatment",
        kind="treatment",
        required=True,
        body="Massage is manual therapy of the soft tissues; you may stop at any time.",
    )


def sign(client, patient, document, **body):
    data = {"document": str(document.public_id), "typed_name": "Ana Rivera", "agreed": True, **body}
    return client.send("POST", f"/patients/{patient.public_id}/consents", data)


def test_it_signs_with_the_patients_name(api_as, front_desk, patient, document):
    response = sign(api_as(front_desk), patient, document, typed_name="ANA  rivera")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["typed_name"] == "ANA rivera"
    assert (body["signed_by_name"], body["signed_by_relationship"]) == ("", "")
    assert body["document"] == {"id": str(document.public_id), "title": "Consent to treatment", "version": 1}


def test_it_refuses_mickey_mouse_with_422(api_as, front_desk, patient, document):
    response = sign(api_as(front_desk), patient, document, typed_name="Mickey Mouse")
    assert response.status_code == 422
    assert response.json()["errors"] == {"typed_name": NOT_THE_PATIENT}
    assert not PatientConsent.objects.exists()


def test_it_records_a_guardian_signing_for_the_patient(api_as, front_desk, patient, document):
    client = api_as(front_desk)
    response = sign(
        client,
        patient,
        document,
        typed_name="Marta Rivera",
        signed_by_name="Marta Rivera",
        signed_by_relationship="guardian",
    )
    assert response.status_code == 201, response.json()
    listed = client.send("GET", f"/patients/{patient.public_id}/consents").json()
    assert [(c["typed_name"], c["signed_by_name"], c["signed_by_relationship"]) for c in listed] == [
        ("Marta Rivera", "Marta Rivera", "guardian")
    ]


def test_it_refuses_an_unknown_relationship(api_as, front_desk, patient, document):
    response = sign(
        api_as(front_desk), patient, document, typed_name="Marta Rivera", signed_by_name="Marta Rivera",
        signed_by_relationship="friend",
    )  # fmt: skip
    assert response.status_code == 422
    assert not PatientConsent.objects.exists()


def test_it_answers_409_to_a_second_signature_of_the_same_version(api_as, front_desk, patient, document):
    client = api_as(front_desk)
    first = sign(client, patient, document)
    again = sign(client, patient, document)
    assert again.status_code == 409
    consent = PatientConsent.objects.get()
    assert again.json()["consent"] == first.json()["id"] == str(consent.public_id)
    assert again.json()["detail"] == f"This version was already signed on {actions.signed_on(consent)}."


def test_it_refuses_billing_to_sign(api_as, billing, patient, document):
    assert sign(api_as(billing), patient, document).status_code == 403
    assert api_as(billing).send("GET", f"/patients/{patient.public_id}/consents").status_code == 200
