"""Every write of the patients app.

check_*() validates the input and authorizes; it raises ValidationError with messages
for a person (a dict of field -> message where a field is at fault). do_*() writes
inside a transaction and appends the audit event in the same transaction, so a write
and its audit line are saved together or not at all.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from effleura.core import audit, versions
from effleura.core.access import authorize
from effleura.core.api_schemas import LONG_TEXT
from effleura.core.choices import AuditAction
from effleura.core.models import Practice
from effleura.core.phones import clean_phone, practice_region
from effleura.core.values import clean_text, reject_unknown
from effleura.patients.choices import (
    BodyRegion,
    Condition,
    ConsentKind,
    ContactMethod,
    ImplantedDevice,
    PatientStatus,
    PressurePreference,
    SexAtBirth,
    SignerRelationship,
)
from effleura.patients.consent import names_match, signs_as_patient
from effleura.patients.models import (
    ChartNumberSequence,
    ConsentDocument,
    ConsentDocumentVersion,
    HealthHistory,
    Patient,
    PatientConsent,
)

OLDEST_BIRTH_YEAR = 1900
# The limits of the text columns that have none (the API's, so form and API refuse alike).
TEXT_LIMITS = {"notes": LONG_TEXT}
NOTE_MAX = 200  # the health history's short notes (devices, illness, areas to avoid)

PATIENT_FIELDS = [
    "legal_first_name", "legal_last_name", "preferred_name", "pronouns", "date_of_birth",
    "sex_at_birth", "gender_identity", "phone", "email", "address_line1", "address_line2",
    "city", "region", "postal_code", "country", "preferred_contact", "emergency_contact_name",
    "emergency_contact_relationship", "emergency_contact_phone", "notes", "status",
]  # fmt: skip
REQUIRED_PATIENT_FIELDS = {"legal_first_name", "legal_last_name", "date_of_birth"}


# Patients -------------------------------------------------------------------------


def _clean_patient(data: dict, *, partial: bool) -> dict:
    """Normalise and validate patient fields; raise ValidationError naming each bad field."""
    errors: dict[str, str] = {}
    clean: dict = {}
    reject_unknown(data, PATIENT_FIELDS)
    for name in PATIENT_FIELDS:
        if name not in data:
            if not partial and name in REQUIRED_PATIENT_FIELDS:
                errors[name] = "This is required."
            continue
        value = data[name]
        if isinstance(value, str):
            value = value.strip()
        if value is None:
            value = "" if name != "date_of_birth" else None
        clean[name] = value
    for name in REQUIRED_PATIENT_FIELDS:
        if name in clean and not clean[name]:
            errors[name] = "This is required."
    dob = clean.get("date_of_birth")
    if dob:
        if isinstance(dob, str):
            try:
                dob = datetime.date.fromisoformat(dob)
            except ValueError:
                errors["date_of_birth"] = "Enter the date of birth as a date, e.g. 1980-04-23."
                dob = None
        if dob:
            if dob > timezone.localdate():
                errors["date_of_birth"] = "The date of birth can’t be in the future."
            elif dob.year < OLDEST_BIRTH_YEAR:
                errors["date_of_birth"] = f"The date of birth can’t be before {OLDEST_BIRTH_YEAR}."
            clean["date_of_birth"] = dob
    phones = [name for name in ("phone", "emergency_contact_phone") if clean.get(name)]
    region = practice_region() if phones else None  # one read of the practice for both numbers
    for name in phones:
        clean[name] = clean_phone(clean[name], name, errors, region=region)
    _check_choice(clean, "sex_at_birth", SexAtBirth, errors, blank_ok=True)
    _check_choice(clean, "preferred_contact", ContactMethod, errors, blank_ok=False)
    _check_choice(clean, "status", PatientStatus, errors, blank_ok=False)
    if clean.get("email"):
        from django.core.validators import validate_email

        try:
            validate_email(clean["email"])
        except ValidationError:
            errors["email"] = "Enter a valid email address, e.g. name@example.com."
    email_given = not partial or "email" in clean
    if clean.get("preferred_contact") == ContactMethod.EMAIL and email_given and not clean.get("email"):
        errors["email"] = "Add an email address, or choose another contact method."
    for name, field in ((f.name, f) for f in Patient._meta.get_fields() if f.name in clean):
        limit = getattr(field, "max_length", None) or TEXT_LIMITS.get(name)
        if limit and isinstance(clean[name], str) and len(clean[name]) > limit:
            errors[name] = f"Keep this under {limit} characters."
    if errors:
        raise ValidationError(errors)
    return clean


def _check_choice(clean, name, choices, errors, *, blank_ok: bool) -> None:
    if name not in clean:
        return
    if clean[name] == "" and blank_ok:
        return
    if clean[name] not in choices.values:
        errors[name] = f"Choose one of: {', '.join(choices.labels)}."


def possible_duplicates(first: str, last: str, dob, exclude: Patient | None = None) -> list[Patient]:
    """Patients with the same legal name and date of birth: probably the same person."""
    found = Patient.objects.filter(legal_first_name__iexact=first, legal_last_name__iexact=last, date_of_birth=dob)
    if exclude is not None:
        found = found.exclude(pk=exclude.pk)
    return list(found[:5])


class DuplicatePatient(ValidationError):
    """Raised when a patient with the same name and date of birth exists and the caller
    did not confirm that this is a different person."""

    def __init__(self, duplicates: list[Patient]):
        self.duplicates = duplicates
        numbers = ", ".join(p.chart_number for p in duplicates)
        super().__init__(
            f"A patient with this name and date of birth already exists (chart {numbers}). "
            "Open that chart instead, or confirm this is a different person."
        )


def check_create_patient(actor, data: dict, *, allow_duplicate: bool = False) -> dict:
    """May ``actor`` register this patient? Needs patient.create. Validates every field (the
    required ones must be there; ValidationError with a dict of field -> message) and, unless
    ``allow_duplicate``, raises DuplicatePatient when one with the same name and date of
    birth exists. Returns the clean fields for do_create_patient()."""
    authorize(actor, "patient.create")
    clean = _clean_patient(data, partial=False)
    if not allow_duplicate:
        duplicates = possible_duplicates(clean["legal_first_name"], clean["legal_last_name"], clean["date_of_birth"])
        if duplicates:
            raise DuplicatePatient(duplicates)
    return clean


def do_create_patient(actor, clean: dict, *, is_demo: bool = False) -> Patient:
    """Create a patient from check_create_patient()'s output; hands out the chart number."""
    with transaction.atomic():
        sequence, _ = ChartNumberSequence.objects.select_for_update().get_or_create(pk=1)
        number = sequence.next_value
        sequence.next_value = number + 1
        sequence.save(update_fields=["next_value"])
        patient = Patient(**clean, chart_number=f"EF{number:05d}", is_demo=is_demo)
        patient.save()
        audit.record(actor, AuditAction.CREATE, "patient", record_id=patient.public_id, patient_id=patient.public_id)
    return patient


def check_update_patient(actor, patient: Patient, data: dict) -> dict:
    """May ``actor`` change ``patient`` to ``data``? Needs patient.update. Validates only the
    fields given (ValidationError with a dict of field -> message), and refuses email as the
    preferred contact without an email address. Returns the clean fields for
    do_update_patient()."""
    authorize(actor, "patient.update", patient_id=patient.public_id, record_id=patient.public_id)
    clean = _clean_patient(data, partial=True)
    if clean.get("preferred_contact") == ContactMethod.EMAIL and not clean.get("email", patient.email):
        raise ValidationError({"email": "Add an email address, or choose another contact method."})
    return clean


def do_update_patient(actor, patient: Patient, clean: dict, *, expected_version=None) -> Patient:
    """Apply ``clean``, the dict check_update_patient() returned (call it first). In one
    transaction: locks the patient row, refuses (StaleVersion) when ``expected_version``
    is not the row's version (someone saved after the editor loaded it), dates
    status_since today when the status changes, saves one version more, and audits the
    names of the changed fields (never their values). Returns the locked patient."""
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        versions.check_version(patient, expected_version, "patient's details")
        changed = sorted(name for name, value in clean.items() if getattr(patient, name) != value)
        if "status" in changed:
            patient.status_since = timezone.localdate()
        for name, value in clean.items():
            setattr(patient, name, value)
        versions.bump(patient)
        patient.save()
        # Field names only: the values are patient data and stay out of the audit trail.
        audit.record(
            actor,
            AuditAction.UPDATE,
            "patient",
            record_id=patient.public_id,
            patient_id=patient.public_id,
            detail=("changed: " + ", ".join(changed))[:200] if changed else "no change",
        )
    return patient


# Health history ----------------------------------------------------------------------

HISTORY_FIELDS = [
    "presenting_complaint", "goals", "pain_areas", "conditions", "condition_notes", "medications",
    "allergies", "allergic_to_oils_or_lotions", "surgeries", "pregnant", "pregnancy_weeks",
    "implanted_devices", "implanted_devices_notes", "recent_illness_or_fever", "recent_illness_notes",
    "pressure_preference", "areas_to_avoid", "areas_to_avoid_notes",
]  # fmt: skip


def _keys(value, choices, field: str, errors: dict, what: str) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple):
        errors[field] = f"Give {what} as a list."
        return []
    unknown = [v for v in value if v not in choices.values]
    if unknown:
        errors[field] = f"Unknown {what}: {', '.join(map(str, unknown))}."
        return []
    return list(dict.fromkeys(value))  # keep order, drop repeats


def _text(value, limit: int | None = None) -> str:
    text = "" if value is None else str(value).strip()
    return text[:limit] if limit else text


def clean_health_history(data: dict, today: datetime.date) -> dict:
    """Validate and normalise a health history; pure (no database)."""
    reject_unknown(data, HISTORY_FIELDS)
    errors: dict[str, str] = {}
    clean = {
        "presenting_complaint": clean_text(
            data.get("presenting_complaint"), "presenting_complaint", errors, limit=LONG_TEXT
        ),
        "goals": clean_text(data.get("goals"), "goals", errors, limit=LONG_TEXT),
        "pain_areas": _keys(data.get("pain_areas"), BodyRegion, "pain_areas", errors, "body region"),
        "conditions": _keys(data.get("conditions"), Condition, "conditions", errors, "condition"),
        "condition_notes": clean_text(data.get("condition_notes"), "condition_notes", errors, limit=LONG_TEXT),
        "allergies": clean_text(data.get("allergies"), "allergies", errors, limit=LONG_TEXT),
        "allergic_to_oils_or_lotions": bool(data.get("allergic_to_oils_or_lotions")),
        "pregnant": bool(data.get("pregnant")),
        "implanted_devices": _keys(
            data.get("implanted_devices"), ImplantedDevice, "implanted_devices", errors, "device"
        ),
        "implanted_devices_notes": clean_text(
            data.get("implanted_devices_notes"), "implanted_devices_notes", errors, limit=NOTE_MAX
        ),
        "recent_illness_or_fever": bool(data.get("recent_illness_or_fever")),
        "recent_illness_notes": clean_text(
            data.get("recent_illness_notes"), "recent_illness_notes", errors, limit=NOTE_MAX
        ),
        "pressure_preference": _text(data.get("pressure_preference")),
        "areas_to_avoid": _keys(data.get("areas_to_avoid"), BodyRegion, "areas_to_avoid", errors, "body region"),
        "areas_to_avoid_notes": clean_text(
            data.get("areas_to_avoid_notes"), "areas_to_avoid_notes", errors, limit=NOTE_MAX
        ),
    }
    if clean["pressure_preference"] and clean["pressure_preference"] not in PressurePreference.values:
        errors["pressure_preference"] = f"Choose one of: {', '.join(PressurePreference.labels)}."

    weeks = data.get("pregnancy_weeks")
    if weeks in (None, ""):
        weeks = None
    else:
        try:
            weeks = int(weeks)
        except (TypeError, ValueError):
            errors["pregnancy_weeks"] = "Give the weeks of pregnancy as a whole number."
            weeks = None
    if weeks is not None and not clean["pregnant"]:
        errors["pregnancy_weeks"] = "Weeks of pregnancy only apply when pregnant is ticked."
    elif weeks is not None and not 1 <= weeks <= 45:
        errors["pregnancy_weeks"] = "Weeks of pregnancy must be between 1 and 45."
    clean["pregnancy_weeks"] = weeks

    clean["medications"] = []
    meds = data.get("medications") or []
    if not isinstance(meds, list | tuple):
        errors["medications"] = "Give medications as a list."
        meds = []
    for i, med in enumerate(meds, start=1):
        if not isinstance(med, dict) or not _text(med.get("name")):
            errors["medications"] = f"Medication {i} needs a name."
            continue
        extra = set(med) - {"name", "dose", "blood_thinner"}
        if extra:
            errors["medications"] = f"Medication {i} has unknown field(s): {', '.join(sorted(extra))}."
            continue
        clean["medications"].append(
            {
                "name": _text(med["name"], 120),
                "dose": _text(med.get("dose"), 60),
                "blood_thinner": bool(med.get("blood_thinner")),
            }
        )

    clean["surgeries"] = []
    surgeries = data.get("surgeries") or []
    if not isinstance(surgeries, list | tuple):
        errors["surgeries"] = "Give surgeries as a list."
        surgeries = []
    for i, surgery in enumerate(surgeries, start=1):
        if not isinstance(surgery, dict) or not _text(surgery.get("what")):
            errors["surgeries"] = f"Surgery {i} needs a description."
            continue
        extra = set(surgery) - {"what", "date"}
        if extra:
            errors["surgeries"] = f"Surgery {i} has unknown field(s): {', '.join(sorted(extra))}."
            continue
        when = surgery.get("date") or ""
        if isinstance(when, datetime.date):
            when = when.isoformat()
        if when:
            try:
                day = datetime.date.fromisoformat(str(when))
            except ValueError:
                errors["surgeries"] = f"Surgery {i}: give the date as YYYY-MM-DD."
                continue
            if day > today:
                errors["surgeries"] = f"Surgery {i}: the date can’t be in the future."
                continue
            when = day.isoformat()
        clean["surgeries"].append({"what": _text(surgery["what"], 200), "date": when})

    if errors:
        raise ValidationError(errors)
    return clean


def check_add_health_history(actor, patient: Patient, data: dict) -> dict:
    """May ``actor`` record a health history for ``patient``? Needs health_history.create.
    Validates ``data`` with clean_health_history() (ValidationError with a dict of field ->
    message). Returns the clean fields for do_add_health_history()."""
    authorize(actor, "health_history.create", patient_id=patient.public_id)
    return clean_health_history(data, timezone.localdate())


def do_add_health_history(actor, patient: Patient, clean: dict, *, based_on=None) -> HealthHistory:
    """Save ``clean`` as the patient's next health-history version. ``based_on`` is the
    version the form was filled from (0: there was none yet): if someone saved a newer
    one meanwhile, this one would silently drop what they added, so it is refused
    (StaleVersion carrying the current version) and nothing is saved. None skips the
    check (an API client that sent no If-Match)."""
    with transaction.atomic():
        # Lock the patient so two people saving at once get versions n and n+1.
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
        last = HealthHistory.objects.filter(patient=patient).order_by("-version").first()
        if based_on is not None and based_on is not versions.ANY and based_on != (last.version if last else 0):
            if last is None:
                raise ValidationError("This health history was based on a version that does not exist; reload.")
            raise versions.StaleVersion(last, based_on, "health history")
        history = HealthHistory.objects.create(
            patient=patient, version=(last.version + 1 if last else 1), recorded_by=actor, **clean
        )
        audit.record(
            actor,
            AuditAction.CREATE,
            "health_history",
            record_id=history.public_id,
            patient_id=patient.public_id,
            detail=f"version {history.version}",
        )
    return history


# Consent ----------------------------------------------------------------------------


NOT_THE_PATIENT = "The name signed must be the patient's name, or say who is signing for them."


@dataclass(frozen=True)
class ConsentSignature:
    """What check_capture_consent() accepted: the typed name, and who signed for the
    patient (both empty when the patient signed themselves)."""

    typed_name: str
    signed_by_name: str = ""
    signed_by_relationship: str = ""


class AlreadySigned(ValidationError):
    """The patient already has a standing signature on this version (a second submit, the
    back button, a second tab). ``consent`` is that signature. The API answers 409."""

    def __init__(self, consent: PatientConsent):
        self.consent = consent
        super().__init__(f"This version was already signed on {signed_on(consent)}.")


def signed_on(consent: PatientConsent) -> str:
    """The day ``consent`` was signed, in the practice's time zone (YYYY-MM-DD)."""
    return timezone.localtime(consent.signed_at, Practice.current().zone).date().isoformat()


def _active_signature(patient: Patient, version: ConsentDocumentVersion) -> PatientConsent | None:
    """The patient's standing (not withdrawn) signature on ``version``, if any."""
    return PatientConsent.objects.filter(patient=patient, document_version=version, withdrawn_at__isnull=True).first()


def _tidy(text) -> str:
    return " ".join((text or "").split())


def check_capture_consent(
    actor,
    patient: Patient,
    version: ConsentDocumentVersion,
    typed_name: str,
    agreed: bool,
    *,
    signed_by_name: str = "",
    signed_by_relationship: str = "",
) -> ConsentSignature:
    """May ``actor`` capture ``patient``'s signature on ``version``? Needs consent.capture.
    Requires ``agreed`` and a typed name of 2 to 200 characters that is the patient's legal
    or preferred name (patients/consent.signs_as_patient); otherwise someone signs for the
    patient and must give ``signed_by_relationship`` (SignerRelationship) and
    ``signed_by_name``, the same name they typed. ``version`` must be the latest of a
    document still in use. Raises ValidationError with a dict of field -> message, or
    AlreadySigned when the patient's signature on ``version`` stands. Returns the
    ConsentSignature for do_capture_consent()."""
    authorize(actor, "consent.capture", patient_id=patient.public_id)
    errors = {}
    typed_name = _tidy(typed_name)
    signed_by_name = _tidy(signed_by_name)
    signed_by_relationship = (signed_by_relationship or "").strip()
    if not agreed:
        errors["agreed"] = "Tick the box to confirm the patient has read and agrees to this document."
    if len(typed_name) < 2:
        errors["typed_name"] = "The patient types their full name to sign."
    elif len(typed_name) > 200:
        errors["typed_name"] = "Keep the name under 200 characters."
    elif not (signed_by_name or signed_by_relationship):
        if not signs_as_patient(typed_name, patient.legal_first_name, patient.legal_last_name, patient.preferred_name):
            errors["typed_name"] = NOT_THE_PATIENT
    else:
        if signed_by_relationship not in SignerRelationship.values:
            errors["signed_by_relationship"] = (
                f"Choose one of: {', '.join(SignerRelationship.labels)}."
                if signed_by_relationship
                else "Say how they are related to the patient."
            )
        if not signed_by_name:
            errors["signed_by_name"] = "Type the full name of the person signing."
        elif len(signed_by_name) > 200:
            errors["signed_by_name"] = "Keep the name under 200 characters."
        elif not names_match(signed_by_name, typed_name):
            errors["signed_by_name"] = "Type the same name that was signed above."
    if not version.document.is_active:
        errors["document"] = "This document is no longer in use."
    else:
        latest = version.document.versions.order_by("-version").first()
        if latest.pk != version.pk:
            errors["document"] = "A newer version of this document has been published; sign that one."
    if "document" not in errors:
        standing = _active_signature(patient, version)
        if standing is not None:
            raise AlreadySigned(standing)
    if errors:
        raise ValidationError(errors)
    return ConsentSignature(typed_name, signed_by_name, signed_by_relationship if signed_by_name else "")


def do_capture_consent(
    actor, patient: Patient, version: ConsentDocumentVersion, signature: ConsentSignature
) -> PatientConsent:
    """Record the consent; ``signature`` is what check_capture_consent() returned (call it
    first). In one transaction: locks the patient row, refuses (AlreadySigned) when a
    standing signature on ``version`` was saved meanwhile (a second tab; the database's
    once-per-version constraint backs this up where no row lock is taken), creates the
    agreed PatientConsent and audits the document kind and version, and who signed when
    not the patient (the relationship, never a name). Returns the consent."""
    try:
        with transaction.atomic():
            Patient.objects.select_for_update().filter(pk=patient.pk).first()
            standing = _active_signature(patient, version)
            if standing is not None:
                raise AlreadySigned(standing)
            consent = PatientConsent.objects.create(
                patient=patient,
                document_version=version,
                typed_name=signature.typed_name,
                signed_by_name=signature.signed_by_name,
                signed_by_relationship=signature.signed_by_relationship,
                agreed=True,
                captured_by=actor,
            )
            detail = f"{version.document.kind} v{version.version}"
            if signature.signed_by_relationship:
                detail += f", signed by {signature.signed_by_relationship}"
            audit.record(
                actor,
                AuditAction.CREATE,
                "consent",
                record_id=consent.public_id,
                patient_id=patient.public_id,
                detail=detail,
            )
    except IntegrityError as exc:
        standing = _active_signature(patient, version)
        if standing is None:
            raise
        raise AlreadySigned(standing) from exc
    return consent


def check_withdraw_consent(actor, consent: PatientConsent, reason: str) -> str:
    """May ``actor`` withdraw ``consent``? Needs consent.withdraw. Raises ValidationError when
    it was already withdrawn or (on ``reason``) when no reason is given. Returns the reason,
    cut to 300 characters, for do_withdraw_consent()."""
    authorize(actor, "consent.withdraw", patient_id=consent.patient.public_id, record_id=consent.public_id)
    reason = (reason or "").strip()
    if consent.withdrawn_at is not None:
        raise ValidationError("This consent was already withdrawn.")
    if not reason:
        raise ValidationError({"reason": "Say why the consent is withdrawn (e.g. ‘patient’s request’)."})
    return reason[:300]


def do_withdraw_consent(actor, consent: PatientConsent, reason: str) -> PatientConsent:
    """Withdraw ``consent``; ``reason`` is what check_withdraw_consent() returned (call it
    first). In one transaction: locks the row, refuses (ValidationError) one withdrawn
    meanwhile, stamps who withdrew it, when and why, and audits "withdrawn". Returns the
    locked consent."""
    with transaction.atomic():
        consent = PatientConsent.objects.select_for_update().get(pk=consent.pk)
        if consent.withdrawn_at is not None:
            raise ValidationError("This consent was already withdrawn.")
        consent.withdrawn_at = timezone.now()
        consent.withdrawn_by = actor
        consent.withdrawal_reason = reason
        consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
        audit.record(
            actor,
            AuditAction.UPDATE,
            "consent",
            record_id=consent.public_id,
            patient_id=consent.patient.public_id,
            detail="withdrawn",
        )
    return consent


def check_save_consent_document(actor, *, title: str, kind: str, body: str, document: ConsentDocument | None = None):
    """May ``actor`` create a consent document, or publish new wording for ``document``? Needs
    consent_document.manage. A new one needs a unique title and a known kind; an existing one
    must be in use; the body needs at least 20 characters. Raises ValidationError with a dict
    of field -> message; returns None."""
    authorize(actor, "consent_document.manage")
    errors = {}
    title = (title or "").strip()
    if document is None:
        if not title:
            errors["title"] = "Give the document a title."
        elif ConsentDocument.objects.filter(title__iexact=title).exists():
            errors["title"] = "Another document already has this title."
        if kind not in ConsentKind.values:
            errors["kind"] = f"Choose one of: {', '.join(ConsentKind.labels)}."
    elif not document.is_active:
        errors["body"] = "This form is no longer in use. Use it again before publishing new wording."
    if len((body or "").strip()) < 20:
        errors["body"] = "Write the full wording the patient reads (at least a sentence)."
    if errors:
        raise ValidationError(errors)


def do_create_consent_document(actor, *, title: str, kind: str, required: bool, body: str) -> ConsentDocument:
    """Create a consent document and its version 1 from values check_save_consent_document()
    accepted (call it first). Both rows are created and audited in one transaction; nothing
    is locked. Returns the document."""
    with transaction.atomic():
        document = ConsentDocument.objects.create(title=title.strip(), kind=kind, required=required)
        ConsentDocumentVersion.objects.create(document=document, version=1, body=body.strip(), published_by=actor)
        audit.record(actor, AuditAction.CREATE, "consent_document", record_id=document.public_id, detail="version 1")
    return document


def do_publish_consent_version(
    actor, document: ConsentDocument, body: str, *, expected_version=None
) -> ConsentDocumentVersion:
    """Publish new wording. Patients who signed an earlier version now show as outdated.
    ``expected_version`` is the version the new wording was written from: under the
    document's lock, a newer one published meanwhile refuses it (StaleVersion, nothing
    published), so nobody's wording is replaced unseen (None: not checked)."""
    with transaction.atomic():
        document = ConsentDocument.objects.select_for_update().get(pk=document.pk)
        last = document.versions.order_by("-version").first()
        if last is not None:
            versions.check_version(last, expected_version, "consent form's wording")
        version = ConsentDocumentVersion.objects.create(
            document=document, version=(last.version + 1 if last else 1), body=body.strip(), published_by=actor
        )
        audit.record(
            actor,
            AuditAction.CREATE,
            "consent_document",
            record_id=document.public_id,
            detail=f"version {version.version}",
        )
    return version


def do_set_consent_document_active(actor, document: ConsentDocument, active: bool) -> None:
    """Put ``document`` back in use or take it out (``active``). Authorizes itself
    (consent_document.manage, PermissionDenied otherwise; there is no check_*), then updates
    the row without a lock and audits it in one transaction. Returns None."""
    authorize(actor, "consent_document.manage")
    with transaction.atomic():
        ConsentDocument.objects.filter(pk=document.pk).update(is_active=active)
        audit.record(
            actor, AuditAction.UPDATE, "consent_document", record_id=document.public_id, detail=f"active={active}"
        )
