"""Consent that means something (issue 11): the name signed must be the patient's, or
the signer says who they are and how they may sign for the patient; and one version is
signed once."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from effleura.core.choices import AuditAction
from effleura.patients import actions
from effleura.patients.choices import SignerRelationship
from effleura.patients.consent import name_key, names_match, signs_as_patient
from effleura.patients.models import PatientConsent

from .helpers import audit_events, page_text

NOT_THE_PATIENT = "The name signed must be the patient's name, or say who is signing for them."


@pytest.fixture
def patient(make_patient):
    return make_patient(legal_first_name="José", legal_last_name="O'Neil-Núñez", preferred_name="Pepe")


def sign_url(patient, document):
    return reverse("patients:consent_capture", args=[patient.public_id, document.public_id])


def capture(client, patient, document, **data):
    return client.post(sign_url(patient, document), {"agreed": "on", **data})


def field_error(response, field: str) -> str:
    found = re.findall(rf'<p class="error" id="id_{field}_error">(.*?)</p>', page_text(response))
    return " ".join(found)


# The rule (patients/consent.py) -----------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "José O'Neil-Núñez",
        "jose oneil nunez",
        "JOSE O NEIL NUNEZ",
        "  José   O’Neil‑Núñez.  ",
        "Pepe O'Neil-Nunez",
        "pepe oneilnunez",
    ],
)
def test_it_accepts_the_legal_or_preferred_name_whatever_the_case_accents_and_punctuation(typed):
    assert signs_as_patient(typed, "José", "O'Neil-Núñez", "Pepe")


@pytest.mark.parametrize("typed", ["Mickey Mouse", "José", "O'Neil-Núñez", "Pepe José O'Neil-Núñez", "Jose Nunez"])
def test_it_refuses_any_other_name_as_the_patients(typed):
    assert not signs_as_patient(typed, "José", "O'Neil-Núñez", "Pepe")


def test_it_does_not_let_an_empty_preferred_name_match_the_last_name_alone():
    assert not signs_as_patient("O'Neil-Núñez", "José", "O'Neil-Núñez", "")


names = st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=12)


@given(first=names, last=names)
def test_it_matches_a_name_against_itself_however_it_is_cased_and_spaced(first, last):
    assert signs_as_patient(f"  {first.upper()}   {last.lower()} ", first, last, "")
    assert signs_as_patient(f"{first}-{last}.", first, last, "")


@given(text=st.text(max_size=40))
def test_the_name_key_is_stable_and_plain(text):
    key = name_key(text)
    assert name_key(key) == key
    assert key == key.casefold()
    assert all(ch.isalnum() for ch in key)
    assert names_match(text, text) == bool(key)


# Signing as the patient or for them (the action) ---------------------------------------------


def test_it_refuses_mickey_mouse_as_the_patients_signature(front_desk, patient, consent_document):
    version = consent_document.versions.get()
    with pytest.raises(ValidationError) as caught:
        actions.check_capture_consent(front_desk, patient, version, "Mickey Mouse", True)
    assert caught.value.message_dict == {"typed_name": [NOT_THE_PATIENT]}
    assert not PatientConsent.objects.exists()


def test_it_refuses_mickey_mouse_on_the_sign_page(client_for, front_desk, patient, consent_document):
    response = capture(client_for(front_desk), patient, consent_document, typed_name="Mickey Mouse")
    assert response.status_code == 200
    assert field_error(response, "typed_name") == NOT_THE_PATIENT
    assert 'value="Mickey Mouse"' in page_text(response)
    assert not PatientConsent.objects.exists()
    assert audit_events(record_type="consent", action=AuditAction.CREATE) == []


def test_it_accepts_the_preferred_name_without_accents_on_the_sign_page(
    client_for, front_desk, patient, consent_document
):
    response = capture(client_for(front_desk), patient, consent_document, typed_name="pepe oneil nunez")
    assert response.status_code == 302
    consent = PatientConsent.objects.get()
    assert (consent.typed_name, consent.signed_by_name, consent.signed_by_relationship) == ("pepe oneil nunez", "", "")


def test_it_records_a_parent_signing_for_the_patient(client_for, front_desk, patient, consent_document):
    client = client_for(front_desk)
    response = capture(
        client,
        patient,
        consent_document,
        typed_name="María Núñez",
        signed_by_name="María Núñez",
        signed_by_relationship="parent",
    )
    assert response.status_code == 302
    consent = PatientConsent.objects.get()
    assert (consent.typed_name, consent.signed_by_name, consent.signed_by_relationship) == (
        "María Núñez",
        "María Núñez",
        SignerRelationship.PARENT,
    )
    assert consent.get_signed_by_relationship_display() == "Parent"
    chart = page_text(client.get(response.url))
    assert "by “María Núñez” (parent, signing for the patient)" in chart
    [event] = audit_events(record_type="consent", action=AuditAction.CREATE)
    assert event.detail == "treatment v1, signed by parent"
    assert "María" not in event.detail


@pytest.mark.parametrize(
    "signer, relationship, errors",
    [
        ("", "", {"typed_name": [NOT_THE_PATIENT]}),
        ("María Núñez", "", {"signed_by_relationship": ["Say how they are related to the patient."]}),
        ("", "guardian", {"signed_by_name": ["Type the full name of the person signing."]}),
        ("Somebody Else", "guardian", {"signed_by_name": ["Type the same name that was signed above."]}),
        (
            "María Núñez",
            "friend",
            {"signed_by_relationship": ["Choose one of: Parent, Guardian, Legal representative."]},
        ),
    ],
)
def test_it_refuses_an_incomplete_statement_of_who_signs(
    front_desk, patient, consent_document, signer, relationship, errors
):
    version = consent_document.versions.get()
    with pytest.raises(ValidationError) as caught:
        actions.check_capture_consent(
            front_desk,
            patient,
            version,
            "María Núñez",
            True,
            signed_by_name=signer,
            signed_by_relationship=relationship,
        )
    assert caught.value.message_dict == errors


def test_it_refuses_a_signer_who_typed_the_patients_name_instead_of_their_own(front_desk, patient, consent_document):
    version = consent_document.versions.get()
    with pytest.raises(ValidationError) as caught:
        actions.check_capture_consent(
            front_desk,
            patient,
            version,
            "José O'Neil-Núñez",
            True,
            signed_by_name="María Núñez",
            signed_by_relationship="guardian",
        )
    assert caught.value.message_dict == {"signed_by_name": ["Type the same name that was signed above."]}


def test_the_database_refuses_a_relationship_without_a_signer(front_desk, patient, consent_document):
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientConsent.objects.create(
            patient=patient,
            document_version=consent_document.versions.get(),
            typed_name="María Núñez",
            agreed=True,
            captured_by=front_desk,
            signed_by_relationship="parent",
        )


# Once per version -----------------------------------------------------------------------------


def test_it_signs_once_when_the_form_is_submitted_twice(client_for, front_desk, patient, consent_document):
    """The defect: going back to the sign page and submitting again signed again."""
    client = client_for(front_desk)
    first = capture(client, patient, consent_document, typed_name="José O'Neil-Núñez")
    assert first.status_code == 302
    again = capture(client, patient, consent_document, typed_name="José O'Neil-Núñez")
    assert again.status_code == 200
    assert PatientConsent.objects.count() == 1
    signed = PatientConsent.objects.get().signed_at
    assert f"Already signed on {signed:%Y-%m-%d}" in page_text(again)
    assert 'name="typed_name"' not in page_text(again)
    assert len(audit_events(record_type="consent", action=AuditAction.CREATE)) == 1


def test_the_sign_page_says_already_signed(client_for, front_desk, patient, consent_document, sign_consent):
    sign_consent(patient, consent_document, typed_name="Pepe O'Neil-Núñez")
    text = page_text(client_for(front_desk).get(sign_url(patient, consent_document)))
    assert "Already signed on" in text
    assert "by “Pepe O'Neil-Núñez”" in text
    assert 'name="typed_name"' not in text


def test_it_refuses_the_second_signature_in_the_check(front_desk, patient, consent_document, sign_consent):
    consent = sign_consent(patient, consent_document, typed_name="Pepe O'Neil-Núñez")
    version = consent_document.versions.get()
    with pytest.raises(actions.AlreadySigned) as caught:
        actions.check_capture_consent(front_desk, patient, version, "Pepe O'Neil-Núñez", True)
    assert caught.value.consent == consent
    assert caught.value.messages == [f"This version was already signed on {consent.signed_at:%Y-%m-%d}."]


def test_it_refuses_the_second_signature_in_the_do_step_when_both_checks_passed(front_desk, patient, consent_document):
    """Two tabs: both checks pass before either writes; the locked re-check decides."""
    version = consent_document.versions.get()
    first = actions.check_capture_consent(front_desk, patient, version, "Pepe O'Neil-Núñez", True)
    second = actions.check_capture_consent(front_desk, patient, version, "Pepe O'Neil-Núñez", True)
    actions.do_capture_consent(front_desk, patient, version, first)
    with pytest.raises(actions.AlreadySigned):
        actions.do_capture_consent(front_desk, patient, version, second)
    assert PatientConsent.objects.count() == 1


def test_the_database_refuses_a_second_active_signature_of_one_version(
    front_desk, patient, consent_document, sign_consent
):
    consent = sign_consent(patient, consent_document, typed_name="Pepe O'Neil-Núñez")
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientConsent.objects.create(
            patient=patient,
            document_version=consent.document_version,
            typed_name="Pepe O'Neil-Núñez",
            agreed=True,
            captured_by=front_desk,
        )


def test_it_turns_a_lost_race_at_the_constraint_into_already_signed(front_desk, patient, consent_document, monkeypatch):
    """Should the locked re-check miss (SQLite takes no row lock), the constraint decides."""
    version = consent_document.versions.get()
    checked = actions.check_capture_consent(front_desk, patient, version, "Pepe O'Neil-Núñez", True)
    actions.do_capture_consent(front_desk, patient, version, checked)
    real_lookup, calls = actions._active_signature, []

    def miss_the_first_look(patient, version):
        calls.append(version)
        return None if len(calls) == 1 else real_lookup(patient, version)

    monkeypatch.setattr(actions, "_active_signature", miss_the_first_look)
    with pytest.raises(actions.AlreadySigned):
        actions.do_capture_consent(front_desk, patient, version, checked)
    assert PatientConsent.objects.count() == 1
    assert len(calls) == 2


def test_it_lets_the_patient_sign_again_after_a_withdrawal(front_desk, patient, consent_document, sign_consent):
    consent = sign_consent(patient, consent_document, typed_name="Pepe O'Neil-Núñez")
    actions.do_withdraw_consent(front_desk, consent, "request")
    again = sign_consent(patient, consent_document, typed_name="Pepe O'Neil-Núñez")
    assert again.pk != consent.pk
    assert PatientConsent.objects.filter(withdrawn_at__isnull=True).count() == 1
