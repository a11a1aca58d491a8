"""Where a patient stands with each consent document, and whose name a signature is.
Pure: takes plain rows and strings."""

import unicodedata
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


def name_key(text: str) -> str:
    """``text`` reduced to what tells one name from another: accents dropped (NFKD, then
    no combining marks), case folded, and every space, hyphen, apostrophe and other
    punctuation removed. "  José O’Neil-Núñez " and "jose oneil nunez" give the same key."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Dotless ı has no capital of its own: "ISIK" is how Işık is written in capitals.
    return "".join(ch for ch in plain.casefold().replace("ı", "i") if ch.isalnum())


def names_match(typed: str, name: str) -> bool:
    """Whether two names are the same once case, accents, punctuation and spacing are set
    aside. An empty name matches nothing."""
    key = name_key(typed)
    return bool(key) and key == name_key(name)


def signs_as_patient(typed: str, first_name: str, last_name: str, preferred_name: str = "") -> bool:
    """Whether ``typed`` is the patient's own name: legal first + last name, or preferred
    name + last name."""
    candidates = [f"{first_name} {last_name}"]
    if name_key(preferred_name):
        candidates.append(f"{preferred_name} {last_name}")
    return any(names_match(typed, name) for name in candidates)
