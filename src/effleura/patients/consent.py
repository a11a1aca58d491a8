"""Where a patient stands with each consent document. Pure: takes plain rows."""

from dataclasses import dataclass

from effleura.patients.choices import ConsentState


@dataclass(frozen=True)
class ConsentStatus:
    document: object  # ConsentDocument
    latest_version: object  # ConsentDocumentVersion or None (no wording published yet)
    state: str  # ConsentState
    consent: object | None  # the PatientConsent the state rests on, if any

    @property
    def state_label(self) -> str:
        return ConsentState(self.state).label

    @property
    def needs_attention(self) -> bool:
        return self.document.required and self.state != ConsentState.CURRENT


def consent_statuses(documents, latest_versions: dict, consents) -> list[ConsentStatus]:
    """For each active document: current, outdated, withdrawn or missing.

    ``latest_versions`` maps document id to its newest version; ``consents`` are the
    patient's consents, any order. The newest consent per document decides: a withdrawal
    stands until the patient signs again.
    """
    newest: dict = {}
    for consent in consents:
        doc_id = consent.document_version.document_id
        if doc_id not in newest or consent.signed_at > newest[doc_id].signed_at:
            newest[doc_id] = consent
    statuses = []
    for document in documents:
        latest = latest_versions.get(document.id)
        consent = newest.get(document.id)
        if consent is None:
            state = ConsentState.MISSING
        elif not consent.is_active:
            state = ConsentState.WITHDRAWN
        elif latest is not None and consent.document_version_id != latest.id:
            state = ConsentState.OUTDATED
        else:
            state = ConsentState.CURRENT
        statuses.append(ConsentStatus(document, latest, state, consent))
    return statuses
