"""Fixtures shared by the patients tests: consent documents and signatures made
through the real actions."""

import pytest

from effleura.patients import actions

CONSENT_WORDING = (
    "Massage is manual therapy of the soft tissues. Benefits include relief of tension; "
    "risks include soreness. You may refuse or stop treatment at any time."
)


@pytest.fixture
def consent_document(db, owner):
    """A required treatment consent with one published version."""
    return actions.do_create_consent_document(
        owner, title="Consent to treatment", kind="treatment", required=True, body=CONSENT_WORDING
    )


@pytest.fixture
def sign_consent(db, front_desk):
    """sign_consent(patient, document) -> a consent to the document's newest version,
    signed with the patient's legal name unless ``typed_name`` says otherwise."""

    def sign(patient, document, typed_name=None):
        version = document.versions.order_by("-version").first()
        name = actions.check_capture_consent(front_desk, patient, version, typed_name or patient.legal_name, True)
        return actions.do_capture_consent(front_desk, patient, version, name)

    return sign
