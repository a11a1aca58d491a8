"""Referrals (prescriptions for massage) and their scanned original.

check_save_referral() validates and authorizes (referral.manage); do_save_referral()
writes inside a transaction with its audit event. The scanned original is checked by
its content (magic bytes), never by its name or the browser's content type, is stored
under MEDIA_ROOT with a random name, and is served only by referrals' own view
(referrals/views/referrals.py referral_original) after access_referral.

Uploads are kept, never deleted: replacing a scan, or removing it from the referral,
keeps the old file and what the referral showed of it as an EarlierScan (both audited),
listed as the earlier versions of the referral's scan.
"""

import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from effleura.clinical.knowledge import is_valid_icd10
from effleura.clinical.models import Episode
from effleura.core import audit, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.values import clean_text, parse_date, reject_unknown
from effleura.patients.models import Patient
from effleura.referrals.choices import ScanSuperseded
from effleura.referrals.models import EarlierScan, Referral, ReferringProvider

FIELDS = (
    "provider",
    "referral_date",
    "diagnosis_codes",
    "reason",
    "sessions_per_week",
    "weeks",
    "visits_authorized",
    "valid_from",
    "valid_until",
    "authorization_number",
    "precautions",
    "episode",
)
MAX_CODES = 12
MAX_VISITS = 500
TEXT_MAX = 5000
MAX_ORIGINAL_BYTES = 10 * 1024 * 1024
# What the scanned original may be, recognised by its first bytes.
ORIGINAL_TYPES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)
ORIGINAL_TYPE_MESSAGE = "Upload the scan as a PDF, PNG or JPEG file; this file is none of those."
ORIGINAL_SIZE_MESSAGE = "The scan is larger than 10 MB; scan it at a lower resolution or as a PDF."


def _whole(value, field: str, low: int, high: int, errors: dict, message: str):
    value = float(value) if isinstance(value, Decimal) else value  # a JSON number from the API
    if value in (None, ""):
        return None
    try:
        number = int(value)
        if isinstance(value, float) and value != number:
            raise ValueError
    except (TypeError, ValueError):
        errors[field] = message
        return None
    if not low <= number <= high:
        errors[field] = message
        return None
    return number


def parse_codes(value) -> list[str]:
    """Codes from a list or from text separated by commas, semicolons or spaces."""
    if isinstance(value, str):
        value = value.replace(",", " ").replace(";", " ").split()
    seen: list[str] = []
    for code in value or []:
        code = str(code).strip().upper()
        if code and code not in seen:
            seen.append(code)
    return seen


def _provider(value, errors: dict, current: ReferringProvider | None):
    if value in (None, ""):
        errors["provider"] = "Choose the referring provider (add them first if they are new)."
        return None
    provider = value
    if not isinstance(value, ReferringProvider):
        try:
            provider = ReferringProvider.objects.filter(public_id=value).first()
        except (ValueError, ValidationError):
            provider = None
    if provider is None:
        errors["provider"] = "Choose a referring provider from the list."
        return None
    if not provider.is_active and (current is None or provider.pk != current.pk):
        errors["provider"] = f"{provider.display_name} is inactive; reactivate them or choose another provider."
        return None
    return provider


def _episode(value, patient: Patient, errors: dict):
    if value in (None, ""):
        return None
    episode = value
    if not isinstance(value, Episode):
        try:
            episode = Episode.objects.filter(public_id=value).first()
        except (ValueError, ValidationError):
            episode = None
    if episode is None or episode.patient_id != patient.pk:
        errors["episode"] = "Choose one of this patient's episodes, or none."
        return None
    return episode


def _current(referral: Referral | None) -> dict:
    if referral is None:
        return {}
    values = {f: getattr(referral, f) for f in FIELDS if f not in ("provider", "episode")}
    values["provider"] = referral.provider
    values["episode"] = referral.episode
    return values


def check_save_referral(actor, patient: Patient, data: dict, referral: Referral | None = None) -> dict:
    """May ``actor`` record (or change ``referral``) for ``patient``, and is ``data`` sound?

    ``data``: provider (a ReferringProvider or its public id), referral_date (not in the
    future), diagnosis_codes (ICD-10-CM, at least one), reason, sessions_per_week (1–7),
    weeks (1–104), visits_authorized (1–500), valid_from, valid_until (on or after
    valid_from; default: valid_from), authorization_number, precautions, episode (one of
    the patient's, optional). On an update only the fields sent change."""
    authorize(actor, "referral.manage", patient_id=patient.public_id, record_id=referral.public_id if referral else "")
    reject_unknown(data, FIELDS)
    if referral is not None and referral.is_closed:
        raise ValidationError("This referral is closed; record a new referral instead.")
    merged = {**_current(referral), **data}
    errors: dict[str, str] = {}
    clean: dict = {}
    clean["provider"] = _provider(merged.get("provider"), errors, referral.provider if referral else None)

    referral_date = parse_date(merged.get("referral_date"), "referral_date", errors)
    if referral_date is None and "referral_date" not in errors:
        errors["referral_date"] = "Enter the date the prescriber signed the referral."
    elif referral_date is not None and referral_date > timezone.localdate():
        errors["referral_date"] = "The referral date cannot be in the future."
    clean["referral_date"] = referral_date

    codes = parse_codes(merged.get("diagnosis_codes"))
    bad = [c for c in codes if not is_valid_icd10(c)]
    if not codes:
        errors["diagnosis_codes"] = "Enter at least one ICD-10-CM diagnosis code, e.g. M54.50."
    elif bad:
        errors["diagnosis_codes"] = (
            f"Not a valid ICD-10-CM code: {', '.join(bad)}. Check the referral or search the list."
        )
    elif len(codes) > MAX_CODES:
        errors["diagnosis_codes"] = f"Enter at most {MAX_CODES} codes."
    clean["diagnosis_codes"] = codes

    for field in ("reason", "precautions"):
        clean[field] = clean_text(merged.get(field), field, errors, limit=TEXT_MAX)
    number = " ".join(str(merged.get("authorization_number") or "").split())
    if len(number) > 60:
        errors["authorization_number"] = "Keep the authorization number under 60 characters."
    clean["authorization_number"] = number

    clean["sessions_per_week"] = _whole(
        merged.get("sessions_per_week"), "sessions_per_week", 1, 7, errors, "Sessions per week: a whole number, 1 to 7."
    )
    clean["weeks"] = _whole(merged.get("weeks"), "weeks", 1, 104, errors, "Weeks: a whole number, 1 to 104.")
    visits = _whole(
        merged.get("visits_authorized"),
        "visits_authorized",
        1,
        MAX_VISITS,
        errors,
        f"Visits authorized: a whole number, 1 to {MAX_VISITS}.",
    )
    if visits is None and "visits_authorized" not in errors:
        errors["visits_authorized"] = "Enter the number of visits authorized (1 to 500)."
    clean["visits_authorized"] = visits

    valid_from = parse_date(merged.get("valid_from"), "valid_from", errors)
    if valid_from is None and "valid_from" not in errors:
        valid_from = referral_date
        if valid_from is None:
            errors.setdefault("valid_from", "Enter the first day the referral covers.")
    valid_until = parse_date(merged.get("valid_until"), "valid_until", errors)
    if valid_until is None and "valid_until" not in errors:
        errors["valid_until"] = "Enter the last day the referral covers."
    elif valid_from is not None and valid_until is not None and valid_until < valid_from:
        errors["valid_until"] = (
            "The referral cannot end before it starts: “valid until” must be on or after “valid from”."
        )
    clean["valid_from"], clean["valid_until"] = valid_from, valid_until

    clean["episode"] = _episode(merged.get("episode"), patient, errors)
    if errors:
        raise ValidationError(errors)
    return clean


def do_save_referral(
    actor,
    patient: Patient,
    clean: dict,
    referral: Referral | None = None,
    original: dict | None = None,
    *,
    expected_version=None,
) -> Referral:
    """Create the referral (or change ``referral``) from check_save_referral's answer, with the
    scanned original from check_original if given. A change locks the row first and is
    refused (StaleVersion, nothing saved) when the referral was saved since
    ``expected_version``, the version the editor loaded (None: not checked)."""
    with transaction.atomic():
        if referral is None:
            referral = Referral.objects.create(patient=patient, created_by=actor, **clean)
            action, detail = AuditAction.CREATE, "referral recorded"
        else:
            locked = _lock(referral)
            versions.check_version(locked, expected_version, "referral")
            if locked.is_closed:
                raise ValidationError("This referral was closed meanwhile; record a new referral instead.")
            # Onto the row as it is now, never the caller's older copy: a scan attached
            # meanwhile (or any field this save does not name) keeps its value.
            for field, value in clean.items():
                setattr(locked, field, value)
            versions.bump(locked)
            locked.save()
            referral = _mirror(referral, locked)
            action, detail = AuditAction.UPDATE, "referral changed"
        audit.record(
            actor, action, "referral", record_id=referral.public_id, patient_id=patient.public_id, detail=detail
        )
        if original is not None:
            _store_original(actor, referral, original, counted=True)
    return referral


def _mirror(target: Referral, saved: Referral) -> Referral:
    """Copy the saved row's values onto the caller's ``target`` (it shows what was saved)."""
    if target is not saved:
        for field in Referral._meta.concrete_fields:
            setattr(target, field.attname, getattr(saved, field.attname))
    return target


def _lock(referral: Referral) -> Referral:
    """The referral's row, locked until the transaction ends, as it is now."""
    return Referral.objects.select_for_update().filter(pk=referral.pk).order_by("pk").get()


def _bump_locked(referral: Referral) -> list[str]:
    """Lock the row and count one more write of it on ``referral``; its update_fields."""
    referral.version = _lock(referral).version
    return versions.bump(referral)


# The scanned original ------------------------------------------------------------------


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from a file's first bytes, or None if not PDF/PNG/JPEG."""
    for magic, content_type, extension in ORIGINAL_TYPES:
        if head.startswith(magic):
            return content_type, extension
    return None


def check_original(actor, referral_or_patient, upload) -> dict:
    """Is ``upload`` (an UploadedFile or any file object with a size) an acceptable scan?

    The type comes from the content, not the name; at most 10 MB. Returns what
    do_attach_original / do_save_referral store."""
    patient = referral_or_patient.patient if isinstance(referral_or_patient, Referral) else referral_or_patient
    authorize(actor, "referral.manage", patient_id=patient.public_id)
    if upload is None:
        raise ValidationError({"original": "Choose the scanned referral to upload."})
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, 2)
        size = upload.tell()
    if size == 0:
        raise ValidationError({"original": "The file is empty."})
    if size > MAX_ORIGINAL_BYTES:
        raise ValidationError({"original": ORIGINAL_SIZE_MESSAGE})
    upload.seek(0)
    found = sniff(upload.read(16))
    upload.seek(0)
    if found is None:
        raise ValidationError({"original": ORIGINAL_TYPE_MESSAGE})
    content_type, extension = found
    name = str(getattr(upload, "name", "") or "").replace("\\", "/").rsplit("/", 1)[-1]
    return {"file": upload, "content_type": content_type, "extension": extension, "size": size, "name": name[:200]}


def _store_original(
    actor, referral: Referral, original: dict, *, counted: bool = False, expected_version=None
) -> Referral:
    """Store the scan on ``referral``; ``counted``: part of a save that already counted as
    this write (``referral`` is then the row it locked and saved). Otherwise the row is
    locked here and ``expected_version`` checked first. Returns the saved row."""
    caller = referral
    if not counted:
        referral = _lock(referral)
        versions.check_version(referral, expected_version, "referral")
    old = referral.original.name if referral.original else ""
    if old:
        _keep_earlier(actor, referral, ScanSuperseded.REPLACED)
    upload = original["file"]
    upload.seek(0)
    # A random name: the uploaded name (often the patient's) never reaches the path.
    referral.original.save(f"{uuid.uuid4().hex}.{original['extension']}", ContentFile(upload.read()), save=False)
    referral.original_name = original["name"]
    referral.original_type = original["content_type"]
    referral.original_size = original["size"]
    bumped = [] if counted else versions.bump(referral)
    referral.save(update_fields=["original", "original_name", "original_type", "original_size", *bumped])
    audit.record(
        actor,
        AuditAction.UPDATE,
        "referral",
        record_id=referral.public_id,
        patient_id=referral.patient.public_id,
        detail="original replaced" if old else "original attached",
    )
    return _mirror(caller, referral)


def _keep_earlier(actor, referral: Referral, why: str) -> EarlierScan:
    """Keep the locked ``referral``'s current scan (file and description) as an earlier
    version before it is replaced or removed. Call inside the write's transaction."""
    return EarlierScan.objects.create(
        referral=referral,
        file=referral.original.name,
        name=referral.original_name,
        content_type=referral.original_type,
        size=referral.original_size,
        why=why,
        superseded_by=actor,
    )


def do_attach_original(actor, referral: Referral, original: dict, *, expected_version=None) -> Referral:
    """Attach (or replace) the scanned original from check_original's answer, the row locked;
    refused (StaleVersion) when the referral was saved since ``expected_version``."""
    with transaction.atomic():
        return _store_original(actor, referral, original, expected_version=expected_version)


def check_remove_original(actor, referral: Referral) -> None:
    """May ``actor`` remove ``referral``'s scanned original? Needs referral.manage
    (PermissionDenied otherwise); raises ValidationError when there is no original to remove.
    Returns None; then call do_remove_original()."""
    authorize(actor, "referral.manage", patient_id=referral.patient.public_id, record_id=referral.public_id)
    if not referral.original:
        raise ValidationError("This referral has no scanned original.")


def do_remove_original(actor, referral: Referral, *, expected_version=None) -> Referral:
    """Remove the scanned original from the referral once check_remove_original() allowed
    it (call it first). In one transaction, the row locked first (refused, StaleVersion,
    when it was saved since ``expected_version``): keeps the scan as an EarlierScan (its
    file stays in storage), clears the referral's file fields and audits "original
    removed". Returns the referral."""
    with transaction.atomic():
        caller, referral = referral, _lock(referral)
        versions.check_version(referral, expected_version, "referral")
        old = referral.original.name
        if not old:
            raise ValidationError("This referral has no scanned original.")
        _keep_earlier(actor, referral, ScanSuperseded.REMOVED)
        referral.original = ""
        referral.original_name = referral.original_type = ""
        referral.original_size = None
        bumped = versions.bump(referral)
        referral.save(update_fields=["original", "original_name", "original_type", "original_size", *bumped])
        audit.record(
            actor,
            AuditAction.DELETE,
            "referral",
            record_id=referral.public_id,
            patient_id=referral.patient.public_id,
            detail="original removed",
        )
    return _mirror(caller, referral)


# Closing -------------------------------------------------------------------------------


def check_close_referral(actor, referral: Referral) -> None:
    """May ``actor`` close ``referral``? Needs referral.manage (PermissionDenied otherwise);
    raises ValidationError when it is already closed. Returns None; then call
    do_close_referral()."""
    authorize(actor, "referral.manage", patient_id=referral.patient.public_id, record_id=referral.public_id)
    if referral.is_closed:
        raise ValidationError("This referral is already closed.")


def do_close_referral(actor, referral: Referral) -> Referral:
    """Close the referral: no more visits count against it; it stays on the record."""
    with transaction.atomic():
        referral.is_closed = True
        referral.save(update_fields=["is_closed", *_bump_locked(referral)])
        audit.record(
            actor,
            AuditAction.UPDATE,
            "referral",
            record_id=referral.public_id,
            patient_id=referral.patient.public_id,
            detail="referral closed",
        )
    return referral
