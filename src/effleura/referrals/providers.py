"""Referring providers: the physicians and other prescribers who send patients.

check_save_provider() validates and authorizes (provider.manage); do_save_provider()
writes through core's locked, audited save_record (the audit event in the same
transaction). Providers are contacts, not patient
data; their list of referred patients is (referrals/access.py).
"""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from effleura.core import audit, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.npi import is_valid_npi
from effleura.core.phones import clean_phone, practice_region
from effleura.core.resources import save_record
from effleura.core.values import clean_text, merge_fields
from effleura.referrals.models import ReferringProvider

FIELDS = (
    "first_name",
    "last_name",
    "credentials",
    "practice_name",
    "npi",
    "phone",
    "fax",
    "email",
    "address_line1",
    "city",
    "region",
    "postal_code",
)
REQUIRED = {"first_name": "Enter the provider's first name.", "last_name": "Enter the provider's last name."}
NPI_MESSAGE = "An NPI is 10 digits and its last digit must match the check digit; check the number on the referral."
# A typed NPI longer than this is refused for its length before the NPI check reads it.
NPI_INPUT_MAX = 100


def check_save_provider(actor, data: dict, provider: ReferringProvider | None = None) -> dict:
    """May ``actor`` create (or change ``provider``) with ``data``, and is it sound?

    Only the fields in ``data`` change on an update. Returns the cleaned fields."""
    authorize(actor, "provider.manage", record_id=provider.public_id if provider else "")
    merged = merge_fields(provider, FIELDS, {}, data)
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    for field in FIELDS:
        # A wrong NPI is refused by the NPI check below, in its own words.
        limit = ReferringProvider._meta.get_field(field).max_length if field != "npi" else NPI_INPUT_MAX
        clean[field] = clean_text(
            merged.get(field), field, errors, limit=limit, required=REQUIRED.get(field, ""), one_line=True
        )
    if clean["npi"] and "npi" not in errors:
        if not is_valid_npi(clean["npi"]):
            errors["npi"] = NPI_MESSAGE
        else:
            existing = ReferringProvider.objects.filter(npi=clean["npi"])
            if provider is not None:
                existing = existing.exclude(pk=provider.pk)
            other = existing.first()
            if other is not None:
                errors["npi"] = f"NPI {clean['npi']} already belongs to {other.display_name}."
    numbers = [field for field in ("phone", "fax") if clean[field] and field not in errors]
    region = practice_region() if numbers else None
    for field in numbers:
        clean[field] = clean_phone(clean[field], field, errors, region=region)
    if clean["email"] and "email" not in errors:
        try:
            validate_email(clean["email"])
        except ValidationError:
            errors["email"] = "Enter an email address such as office@example.com."
    if errors:
        raise ValidationError(errors)
    return clean


def do_save_provider(
    actor, clean: dict, provider: ReferringProvider | None = None, *, expected_version=None
) -> ReferringProvider:
    """Create the provider, or change ``provider`` (locked), from check_save_provider's
    answer; the audit event names the fields changed. Two saves of one NPI at once: the
    second is refused in words. A change over a newer version than ``expected_version``
    (the one the editor loaded) raises StaleVersion and saves nothing."""
    unique = {"npi": f"NPI {clean.get('npi', '')} already belongs to another provider."}
    return save_record(actor, ReferringProvider, provider, clean, "referring_provider", what="provider",
                       unique_message=unique, expected_version=expected_version)  # fmt: skip


def check_set_provider_active(actor, provider: ReferringProvider, active: bool) -> bool:
    """May ``actor`` deactivate (or reactivate) ``provider``? Needs provider.manage
    (PermissionDenied otherwise). Raises ValidationError when it already is as asked.
    Returns ``active`` for do_set_provider_active()."""
    authorize(actor, "provider.manage", record_id=provider.public_id)
    if provider.is_active == active:
        raise ValidationError("This provider is already active." if active else "This provider is already inactive.")
    return active


def do_set_provider_active(
    actor, provider: ReferringProvider, active: bool, *, expected_version=None
) -> ReferringProvider:
    """Deactivate (or reactivate) ``provider``: inactive ones are not offered for new referrals;
    their referrals stay as they are. The row is locked; a provider saved since
    ``expected_version`` is refused (StaleVersion)."""
    with transaction.atomic():
        locked = ReferringProvider.objects.select_for_update().filter(pk=provider.pk).order_by("pk").first()
        versions.check_version(locked, expected_version, "provider")
        provider.is_active = active
        provider.version = locked.version
        provider.save(update_fields=["is_active", *versions.bump(provider)])
        audit.record(
            actor,
            AuditAction.UPDATE,
            "referring_provider",
            record_id=provider.public_id,
            detail="provider reactivated" if active else "provider deactivated",
        )
    return provider
