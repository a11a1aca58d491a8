"""Consent: the practice's documents and their versions, capturing a patient's
signature, and where each patient stands (missing, current, outdated, withdrawn)."""

import re
import uuid
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from effleura.core.choices import AuditAction, AuditOutcome
from effleura.patients import actions
from effleura.patients.choices import ConsentState
from effleura.patients.consent import consent_statuses
from effleura.patients.models import ConsentDocument, ConsentDocumentVersion, PatientConsent

from .conftest import CONSENT_WORDING
from .helpers import audit_events, page_text

NEW_WORDING = CONSENT_WORDING + " Photographs are never taken without separate consent."


@pytest.fixture
def patient(make_patient):
    return make_patient(legal_first_name="Ana", legal_last_name="Rivera")


def chart(client, patient):
    return client.get(reverse("patients:chart", args=[patient.public_id]))


def states(response) -> list[str]:
    return re.findall(r'data-consent-state="(\w+)"', page_text(response))


def flags(response) -> str:
    """The badges under the chart heading."""
    return page_text(response).split('aria-label="Flags">', 1)[1].split("</div>", 1)[0]


def field_error(response, field: str) -> str:
    found = re.findall(rf'<p class="error" id="id_{field}_error">(.*?)</p>', page_text(response))
    return " ".join(found)


def capture(client, patient, document, **data):
    return client.post(reverse("patients:consent_capture", args=[patient.public_id, document.public_id]), data)


def withdraw(client, patient, consent, reason):
    url = reverse("patients:consent_withdraw", args=[patient.public_id, consent.public_id])
    return client.post(url, {"reason": reason} if reason is not None else {})


def publish(client, document, body=NEW_WORDING):
    return client.post(reverse("patients:consent_document_version_new", args=[document.public_id]), {"body": body})


# Consent documents -----------------------------------------------------------------------------


def new_document(client, **overrides):
    data = {"title": "Privacy notice", "kind": "privacy", "required": "on", "body": CONSENT_WORDING}
    data.update(overrides)
    return client.post(reverse("patients:consent_document_new"), {k: v for k, v in data.items() if v is not None})


def test_it_lets_the_owner_publish_a_consent_document(client_for, owner):
    client = client_for(owner)
    response = new_document(client)
    document = ConsentDocument.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("patients:consent_document", args=[document.public_id])
    assert (document.title, document.kind, document.required, document.is_active) == (
        "Privacy notice",
        "privacy",
        True,
        True,
    )
    [version] = document.versions.all()
    assert (version.version, version.body, version.published_by) == (1, CONSENT_WORDING, owner)
    text = page_text(client.get(response.url))
    assert "“Privacy notice” published as version 1." in text
    assert 'Version 1 <span class="badge ok">current</span>' in text
    assert CONSENT_WORDING in text
    [event] = audit_events(record_type="consent_document")
    assert (event.action, event.detail, event.record_id) == (AuditAction.CREATE, "version 1", str(document.public_id))


def test_it_publishes_an_optional_document_when_required_is_unticked(client_for, owner):
    new_document(client_for(owner), required=None)
    assert ConsentDocument.objects.get().required is False


def test_it_lists_the_documents_with_their_current_version(client_for, owner, front_desk, consent_document):
    publish(client_for(owner), consent_document)
    text = page_text(client_for(front_desk).get(reverse("patients:consent_documents")))
    assert "Consent to treatment" in text
    assert "<td>v2, " in text
    assert reverse("patients:consent_document_new") not in text  # front desk may not add one


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"title": ""}, "title", "This field is required."),
        ({"body": "Too short."}, "body", "Write the full wording the patient reads (at least a sentence)."),
        ({"kind": "waiver"}, "kind", "Select a valid choice. waiver is not one of the available choices."),
        ({"title": "consent TO treatment"}, "title", "Another document already has this title."),
    ],
)
def test_it_refuses_an_incomplete_or_clashing_document(client_for, owner, consent_document, overrides, field, message):
    response = new_document(client_for(owner), **overrides)
    assert response.status_code == 200
    assert field_error(response, field) == message
    assert ConsentDocument.objects.count() == 1


@pytest.mark.parametrize("role", ["therapist", "front_desk", "billing", "outsider"])
def test_it_refuses_document_management_to_anyone_but_the_owner(client_for, personas, consent_document, role):
    client = client_for(personas[role])
    assert client.get(reverse("patients:consent_document_new")).status_code == 403
    assert new_document(client).status_code == 403
    version_url = reverse("patients:consent_document_version_new", args=[consent_document.public_id])
    assert client.get(version_url).status_code == 403
    assert publish(client, consent_document).status_code == 403
    document_url = reverse("patients:consent_document", args=[consent_document.public_id])
    assert client.post(document_url, {"active": "0"}).status_code == 403
    assert ConsentDocument.objects.count() == 1
    assert ConsentDocumentVersion.objects.count() == 1
    consent_document.refresh_from_db()
    assert consent_document.is_active


def test_it_refuses_document_management_by_a_therapist_in_the_action_too(therapist):
    with pytest.raises(PermissionDenied):
        actions.check_save_consent_document(therapist, title="X", kind="other", body=CONSENT_WORDING)


def test_it_shows_a_therapist_the_document_without_the_owner_buttons(client_for, therapist, consent_document):
    url = reverse("patients:consent_document", args=[consent_document.public_id])
    text = page_text(client_for(therapist).get(url))
    assert CONSENT_WORDING in text
    assert "Publish new wording" not in text
    assert "Stop using this form" not in text


def test_it_offers_the_current_wording_to_start_a_new_version(client_for, owner, consent_document):
    url = reverse("patients:consent_document_version_new", args=[consent_document.public_id])
    text = page_text(client_for(owner).get(url))
    assert "New wording for “Consent to treatment”" in text
    assert CONSENT_WORDING in text


def test_it_publishes_a_new_version_and_keeps_the_old_one(client_for, owner, consent_document):
    client = client_for(owner)
    response = publish(client, consent_document)
    assert response.status_code == 302
    versions = list(consent_document.versions.order_by("version"))
    assert [(v.version, v.body) for v in versions] == [(1, CONSENT_WORDING), (2, NEW_WORDING)]
    text = page_text(client.get(response.url))
    assert "Version 2 published. Patients who signed an earlier version now show as outdated." in text
    assert 'Version 2 <span class="badge ok">current</span>' in text
    assert '<h2 class="flush-top">Version 1</h2>' in text
    details = [e.detail for e in audit_events(record_type="consent_document", action=AuditAction.CREATE)]
    assert details == ["version 1", "version 2"]


def test_it_refuses_a_new_version_that_is_too_short(client_for, owner, consent_document):
    response = publish(client_for(owner), consent_document, body="Short.")
    assert field_error(response, "body") == "Write the full wording the patient reads (at least a sentence)."
    assert consent_document.versions.count() == 1


def test_it_lets_the_owner_retire_and_restore_a_document(client_for, owner, front_desk, consent_document, patient):
    client = client_for(owner)
    url = reverse("patients:consent_document", args=[consent_document.public_id])
    client.post(url, {"active": "0"})
    consent_document.refresh_from_db()
    assert not consent_document.is_active
    assert states(chart(client_for(front_desk), patient)) == []
    listing = page_text(client.get(reverse("patients:consent_documents")))
    assert "No longer in use" in listing
    sign_url = reverse("patients:consent_capture", args=[patient.public_id, consent_document.public_id])
    assert client_for(front_desk).get(sign_url).status_code == 404

    client.post(url, {"active": "1"})
    consent_document.refresh_from_db()
    assert consent_document.is_active
    details = [e.detail for e in audit_events(record_type="consent_document", action=AuditAction.UPDATE)]
    assert details == ["active=False", "active=True"]


# Capturing a signature ---------------------------------------------------------------------------


def test_it_shows_the_wording_to_sign(client_for, front_desk, patient, consent_document):
    url = reverse("patients:consent_capture", args=[patient.public_id, consent_document.public_id])
    text = page_text(client_for(front_desk).get(url))
    assert 'Consent to treatment <span class="muted">(version 1)</span>' in text
    assert CONSENT_WORDING in text
    assert 'name="typed_name"' in text
    assert 'name="agreed"' in text


def test_it_captures_consent_with_a_typed_name_and_a_tick(client_for, front_desk, patient, consent_document):
    client = client_for(front_desk)
    response = capture(client, patient, consent_document, typed_name="  Ana   Rivera ", agreed="on")
    assert response.status_code == 302
    assert response.url == reverse("patients:chart", args=[patient.public_id])
    consent = PatientConsent.objects.get()
    assert consent.patient == patient
    assert consent.typed_name == "Ana Rivera"
    assert consent.agreed is True
    assert consent.captured_by == front_desk
    assert consent.document_version == consent_document.versions.get(version=1)
    page = client.get(response.url)
    assert "Consent to “Consent to treatment” recorded." in page_text(page)
    assert states(page) == ["current"]
    assert "v1 signed" in page_text(page)
    assert "by “Ana Rivera”" in page_text(page)
    [event] = audit_events(record_type="consent", action=AuditAction.CREATE)
    assert (event.record_id, event.patient_id, event.detail) == (
        str(consent.public_id),
        patient.public_id,
        "treatment v1",
    )
    assert "Rivera" not in event.detail


def test_it_refuses_a_signature_without_the_tick(client_for, front_desk, patient, consent_document):
    response = capture(client_for(front_desk), patient, consent_document, typed_name="Ana Rivera")
    assert response.status_code == 200
    assert field_error(response, "agreed") == (
        "Tick the box to confirm the patient has read and agrees to this document."
    )
    assert 'value="Ana Rivera"' in page_text(response)
    assert not PatientConsent.objects.exists()
    assert audit_events(record_type="consent", action=AuditAction.CREATE) == []


@pytest.mark.parametrize(
    "typed_name, message",
    [
        ("", "The patient types their full name to sign."),
        ("   ", "The patient types their full name to sign."),
        ("A", "The patient types their full name to sign."),
    ],
)
def test_it_refuses_a_signature_without_a_name(client_for, front_desk, patient, consent_document, typed_name, message):
    response = capture(client_for(front_desk), patient, consent_document, typed_name=typed_name, agreed="on")
    assert field_error(response, "typed_name") == message
    assert not PatientConsent.objects.exists()


def test_it_refuses_to_sign_a_version_that_has_been_replaced(owner, front_desk, patient, consent_document):
    old = consent_document.versions.get()
    actions.do_publish_consent_version(owner, consent_document, NEW_WORDING)
    with pytest.raises(ValidationError) as caught:
        actions.check_capture_consent(front_desk, patient, old, "Ana Rivera", True)
    assert caught.value.message_dict == {
        "document": ["A newer version of this document has been published; sign that one."]
    }
    assert not PatientConsent.objects.exists()


def test_it_refuses_to_sign_a_retired_document(owner, front_desk, patient, consent_document):
    actions.do_set_consent_document_active(owner, consent_document, False)
    consent_document.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        actions.check_capture_consent(front_desk, patient, consent_document.versions.get(), "Ana Rivera", True)
    assert caught.value.message_dict == {"document": ["This document is no longer in use."]}


def test_it_always_offers_the_newest_version_to_sign(client_for, owner, front_desk, patient, consent_document):
    publish(client_for(owner), consent_document)
    client = client_for(front_desk)
    url = reverse("patients:consent_capture", args=[patient.public_id, consent_document.public_id])
    assert "(version 2)" in page_text(client.get(url))
    capture(client, patient, consent_document, typed_name="Ana Rivera", agreed="on")
    assert PatientConsent.objects.get().document_version.version == 2


@pytest.mark.parametrize("role", ["billing", "outsider"])
def test_it_refuses_capture_to_billing_and_no_role(client_for, personas, patient, consent_document, role):
    client = client_for(personas[role])
    url = reverse("patients:consent_capture", args=[patient.public_id, consent_document.public_id])
    assert client.get(url).status_code == 403
    assert capture(client, patient, consent_document, typed_name="Ana Rivera", agreed="on").status_code == 403
    assert not PatientConsent.objects.exists()
    denied = audit_events(outcome=AuditOutcome.DENIED)
    assert [(e.record_type, e.patient_id, e.actor_id) for e in denied] == [
        ("consent", patient.public_id, personas[role].pk)
    ] * 2


def test_it_shows_billing_the_consent_state_without_the_buttons(client_for, billing, patient, consent_document):
    response = chart(client_for(billing), patient)
    assert states(response) == ["missing"]
    assert "Capture consent" not in page_text(response)


# Where the patient stands --------------------------------------------------------------------------


def test_it_flags_a_missing_required_consent_on_the_chart(client_for, front_desk, patient, consent_document):
    response = chart(client_for(front_desk), patient)
    assert states(response) == ["missing"]
    assert "Consent to treatment: Not signed" in flags(response)
    sign_url = reverse("patients:consent_capture", args=[patient.public_id, consent_document.public_id])
    assert f'href="{sign_url}">Capture consent</a>' in page_text(response)


def test_it_does_not_flag_a_current_consent(client_for, front_desk, patient, consent_document, sign_consent):
    sign_consent(patient, consent_document)
    response = chart(client_for(front_desk), patient)
    assert states(response) == ["current"]
    assert "Consent to treatment" not in flags(response)
    assert "Withdraw consent" in page_text(response)


def test_it_does_not_flag_a_missing_optional_consent(client_for, owner, front_desk, patient):
    actions.do_create_consent_document(owner, title="Photo consent", kind="other", required=False, body=CONSENT_WORDING)
    response = chart(client_for(front_desk), patient)
    assert states(response) == ["missing"]
    assert "(optional)" in page_text(response)
    assert "Photo consent" not in flags(response)


def test_it_flags_a_consent_as_outdated_once_new_wording_is_published(
    client_for, owner, front_desk, patient, consent_document, sign_consent
):
    sign_consent(patient, consent_document)
    publish(client_for(owner), consent_document)
    response = chart(client_for(front_desk), patient)
    assert states(response) == ["outdated"]
    assert "Consent to treatment: Signed an older version" in flags(response)
    assert "Sign the new version" in page_text(response)

    capture(client_for(front_desk), patient, consent_document, typed_name="Ana Rivera", agreed="on")
    response = chart(client_for(front_desk), patient)
    assert states(response) == ["current"]
    assert "Consent to treatment" not in flags(response)


def test_it_withdraws_a_consent_with_a_reason(client_for, front_desk, patient, consent_document, sign_consent):
    consent = sign_consent(patient, consent_document)
    client = client_for(front_desk)
    response = withdraw(client, patient, consent, "Patient’s request")
    assert response.url == reverse("patients:chart", args=[patient.public_id])
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    assert consent.withdrawn_by == front_desk
    assert consent.withdrawal_reason == "Patient’s request"
    page = client.get(response.url)
    assert "Consent to “Consent to treatment” withdrawn." in page_text(page)
    assert states(page) == ["withdrawn"]
    assert "(Patient’s request)" in page_text(page)
    assert "Consent to treatment: Withdrawn" in flags(page)
    [event] = audit_events(record_type="consent", action=AuditAction.UPDATE)
    assert (event.detail, event.record_id, event.actor_id) == ("withdrawn", str(consent.public_id), front_desk.pk)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_it_refuses_to_withdraw_without_a_reason(
    client_for, front_desk, patient, consent_document, sign_consent, reason
):
    consent = sign_consent(patient, consent_document)
    client = client_for(front_desk)
    response = withdraw(client, patient, consent, reason)
    consent.refresh_from_db()
    assert consent.withdrawn_at is None
    assert "Say why the consent is withdrawn." in page_text(client.get(response.url))
    assert audit_events(record_type="consent", action=AuditAction.UPDATE) == []


def test_it_refuses_to_withdraw_twice(client_for, front_desk, patient, consent_document, sign_consent):
    consent = sign_consent(patient, consent_document)
    client = client_for(front_desk)
    withdraw(client, patient, consent, "Patient’s request")
    consent.refresh_from_db()
    first = consent.withdrawn_at
    client.get(reverse("patients:chart", args=[patient.public_id]))  # read the first message

    response = withdraw(client, patient, consent, "Again")
    consent.refresh_from_db()
    assert consent.withdrawn_at == first
    assert consent.withdrawal_reason == "Patient’s request"
    assert "This consent was already withdrawn." in page_text(client.get(response.url))
    assert len(audit_events(record_type="consent", action=AuditAction.UPDATE)) == 1


def test_it_refuses_to_withdraw_twice_in_the_action(front_desk, patient, consent_document, sign_consent):
    consent = sign_consent(patient, consent_document)
    actions.do_withdraw_consent(front_desk, consent, "request")
    with pytest.raises(ValidationError, match="already withdrawn"):
        actions.do_withdraw_consent(front_desk, consent, "request")  # stale object: the row lock decides
    consent.refresh_from_db()
    with pytest.raises(ValidationError, match="already withdrawn"):
        actions.check_withdraw_consent(front_desk, consent, "request")


def test_it_counts_a_new_signature_after_a_withdrawal(client_for, front_desk, patient, consent_document, sign_consent):
    consent = sign_consent(patient, consent_document)
    actions.do_withdraw_consent(front_desk, consent, "request")
    sign_consent(patient, consent_document)
    assert states(chart(client_for(front_desk), patient)) == ["current"]


def test_it_refuses_to_withdraw_another_patients_consent(
    client_for, front_desk, patient, make_patient, consent_document, sign_consent
):
    consent = sign_consent(patient, consent_document)
    other = make_patient()
    response = withdraw(client_for(front_desk), other, consent, "wrong chart")
    assert response.status_code == 404
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_it_answers_404_to_withdraw_an_unknown_consent(client_for, front_desk, patient):
    fake = SimpleNamespace(public_id=uuid.uuid4())
    assert withdraw(client_for(front_desk), patient, fake, "x").status_code == 404


def test_it_refuses_withdrawal_to_billing(client_for, billing, patient, consent_document, sign_consent):
    consent = sign_consent(patient, consent_document)
    assert withdraw(client_for(billing), patient, consent, "no").status_code == 403
    consent.refresh_from_db()
    assert consent.withdrawn_at is None
    [denied] = audit_events(outcome=AuditOutcome.DENIED)
    assert (denied.record_type, denied.record_id) == ("consent", str(consent.public_id))


def test_it_only_withdraws_by_post(client_for, front_desk, patient, consent_document, sign_consent):
    consent = sign_consent(patient, consent_document)
    url = reverse("patients:consent_withdraw", args=[patient.public_id, consent.public_id])
    assert client_for(front_desk).get(url, {"reason": "x"}).status_code == 405
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_it_audits_reading_consent_status_on_the_chart(client_for, billing, patient, consent_document):
    chart(client_for(billing), patient)
    [event] = audit_events(record_type="consent")
    assert (event.action, event.patient_id, event.actor_id) == (AuditAction.READ, patient.public_id, billing.pk)


# The rule (patients/consent.py) ----------------------------------------------------------------------


def _doc(id, required=True):
    return SimpleNamespace(id=id, required=required)


def _consent(doc_id, version_id, signed_at, withdrawn=False):
    return SimpleNamespace(
        document_version=SimpleNamespace(document_id=doc_id),
        document_version_id=version_id,
        signed_at=signed_at,
        is_active=not withdrawn,
    )


def test_it_decides_each_state_from_the_newest_consent():
    docs = [_doc(1), _doc(2), _doc(3), _doc(4)]
    latest = {
        1: SimpleNamespace(id=11),
        2: SimpleNamespace(id=22),
        3: SimpleNamespace(id=33),
        4: SimpleNamespace(id=44),
    }
    consents = [
        _consent(1, 11, 5),
        _consent(2, 21, 5),  # signed the version before the newest
        _consent(3, 33, 5, withdrawn=True),
        _consent(3, 33, 2),  # an older signature does not outweigh the withdrawal
    ]
    result = consent_statuses(docs, latest, consents)
    assert [s.state for s in result] == [
        ConsentState.CURRENT,
        ConsentState.OUTDATED,
        ConsentState.WITHDRAWN,
        ConsentState.MISSING,
    ]
    assert [s.needs_attention for s in result] == [False, True, True, True]
    assert result[1].state_label == "Signed an older version"


def test_it_lets_a_newer_signature_replace_a_withdrawal():
    docs = [_doc(1)]
    latest = {1: SimpleNamespace(id=11)}
    [status] = consent_statuses(docs, latest, [_consent(1, 11, 1, withdrawn=True), _consent(1, 11, 9)])
    assert status.state == ConsentState.CURRENT


def test_it_never_asks_attention_for_an_optional_document():
    [status] = consent_statuses([_doc(1, required=False)], {1: SimpleNamespace(id=11)}, [])
    assert status.state == ConsentState.MISSING
    assert not status.needs_attention


def test_it_refuses_new_wording_for_a_form_no_longer_in_use(owner):
    from effleura.patients import actions as consent_actions

    document = consent_actions.do_create_consent_document(
        owner, title="Old photo release", kind="other", required=False, body="You may photograph my posture."
    )
    consent_actions.do_set_consent_document_active(owner, document, False)
    document.refresh_from_db()
    with pytest.raises(ValidationError, match="no longer in use"):
        consent_actions.check_save_consent_document(
            owner, title=document.title, kind=document.kind, body="New wording for a retired form.", document=document
        )


def test_it_reports_a_missing_name_and_a_missing_tick_together(client_for, front_desk, make_patient, owner):
    from effleura.patients import actions as consent_actions

    document = consent_actions.do_create_consent_document(
        owner, title="Consent to treatment (both errors)", kind="treatment", required=True, body="I agree to treatment."
    )
    patient = make_patient()
    response = client_for(front_desk).post(
        reverse("patients:consent_capture", args=[patient.public_id, document.public_id]), {"typed_name": ""}
    )
    text = response.content.decode()
    assert "types their full name" in text
    assert "Tick the box" in text
