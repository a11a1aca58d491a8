"""The referrals part of the JSON API: referring providers and referrals.

Thin, like the views: parse (the schemas below), then access_* to read and check_*/do_*
to write (referrals/providers.py, referrals/referral_actions.py); those authorize and
audit. The scanned original is sent separately as multipart/form-data (field
``original``) and read back through the web page referrals:referral_original only.

Ids in URLs and answers are the records' UUIDs (``public_id``), never database keys.
"""

from datetime import date, datetime
from uuid import UUID

from django.db import transaction
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from effleura.core import versions
from effleura.core.api_schemas import (
    ERRORS,
    ERRORS_VERSIONED,
    ERRORS_WITH_ID,
    ErrorOut,
    InputSchema,
    IsoDate,
    WholeNumber,
    text,
)
from effleura.patients.access import access_patient
from effleura.referrals import access, providers, referral_actions
from effleura.referrals.models import Referral, ReferringProvider

router = Router(tags=["referrals"])


def _limit(name: str) -> int:
    return ReferringProvider._meta.get_field(name).max_length


# Providers ------------------------------------------------------------------------------


class ProviderFields(InputSchema):
    first_name: text(_limit("first_name")) | None = None
    last_name: text(_limit("last_name")) | None = None
    credentials: text(_limit("credentials")) | None = None
    practice_name: text(_limit("practice_name")) | None = None
    npi: text(_limit("npi")) | None = Field(None, description="10 digits with a valid check digit; unique.")
    phone: text(_limit("phone")) | None = None
    fax: text(_limit("fax")) | None = None
    email: text(_limit("email")) | None = None
    address_line1: text(_limit("address_line1")) | None = None
    city: text(_limit("city")) | None = None
    region: text(_limit("region")) | None = None
    postal_code: text(_limit("postal_code")) | None = None


class ProviderCreate(ProviderFields):
    first_name: text(_limit("first_name"))
    last_name: text(_limit("last_name"))


class ProviderUpdate(ProviderFields):
    """Only the fields sent are changed; ``is_active`` deactivates or reactivates."""

    is_active: bool | None = None


class ProviderOut(Schema):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    id: UUID
    display_name: str
    first_name: str
    last_name: str
    credentials: str
    practice_name: str
    npi: str
    phone: str
    fax: str
    email: str
    address_line1: str
    city: str
    region: str
    postal_code: str
    is_active: bool

    @staticmethod
    def resolve_id(obj: ReferringProvider) -> UUID:
        return obj.public_id


class ProviderQuery(Schema):
    q: text(100) = Field("", description="Words of a name or practice, or the start of an NPI.")
    include_inactive: bool = False
    limit: int = Field(access.SEARCH_LIMIT, ge=1, le=access.PROVIDER_PAGE)


@router.get("/referring-providers", response={200: list[ProviderOut], **ERRORS}, url_name="referring_providers")
def list_providers(request, filters: Query[ProviderQuery]):
    """Search providers by name, practice or NPI (at most ``limit``)."""
    return access.access_providers(
        request.user, filters.q, include_inactive=filters.include_inactive, limit=filters.limit
    )


@router.post(
    "/referring-providers", response={201: ProviderOut, 400: ErrorOut, **ERRORS}, url_name="referring_providers"
)
def create_provider(request, payload: ProviderCreate):
    clean = providers.check_save_provider(request.user, payload.model_dump(exclude_unset=True))
    return Status(201, providers.do_save_provider(request.user, clean))


@router.get(
    "/referring-providers/{uuid:provider_id}",
    response={200: ProviderOut, **ERRORS_WITH_ID},
    url_name="referring_provider",
)
def get_provider(request, provider_id: UUID):
    return access.access_provider(request.user, provider_id)


@router.patch(
    "/referring-providers/{uuid:provider_id}",
    response={200: ProviderOut, 400: ErrorOut, **ERRORS_VERSIONED},
    url_name="referring_provider",
)
def update_provider(request, provider_id: UUID, payload: ProviderUpdate):
    """Change the fields sent; send `If-Match: "<version>"` (the ETag of your read): if
    someone saved since, the answer is 412 and nothing changes."""
    provider = access.access_provider(request.user, provider_id, key="provider.manage")
    expected = versions.if_match(request)
    data = payload.model_dump(exclude_unset=True)
    active = data.pop("is_active", None)
    with transaction.atomic():  # both changes, or neither
        if data:
            clean = providers.check_save_provider(request.user, data, provider)
            provider = providers.do_save_provider(request.user, clean, provider, expected_version=expected)
            expected = provider.version  # the next write follows this one
        if active is not None and active != provider.is_active:
            providers.check_set_provider_active(request.user, provider, active)
            provider = providers.do_set_provider_active(request.user, provider, active, expected_version=expected)
    return provider


# Referrals -------------------------------------------------------------------------------


class ReferralFields(InputSchema):
    provider_id: UUID | None = None
    referral_date: IsoDate | None = None
    diagnosis_codes: list[text(10)] | None = Field(None, max_length=referral_actions.MAX_CODES)
    reason: text(referral_actions.TEXT_MAX) | None = None
    sessions_per_week: WholeNumber | None = None
    weeks: WholeNumber | None = None
    visits_authorized: WholeNumber | None = None
    valid_from: IsoDate | None = None
    valid_until: IsoDate | None = None
    authorization_number: text(60) | None = None
    precautions: text(referral_actions.TEXT_MAX) | None = None
    episode_id: UUID | None = Field(None, description="One of the patient's episodes; null for none.")


class ReferralCreate(ReferralFields):
    provider_id: UUID
    referral_date: IsoDate
    diagnosis_codes: list[text(10)] = Field(max_length=referral_actions.MAX_CODES)
    visits_authorized: WholeNumber
    valid_until: IsoDate


class ReferralUpdate(ReferralFields):
    """Only the fields sent are changed."""


class OriginalOut(Schema):
    content_type: str
    size: int


class ReferralOut(Schema):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    id: UUID
    patient_id: UUID
    provider: ProviderOut
    episode_id: UUID | None
    referral_date: date
    diagnosis_codes: list[str]
    reason: str
    sessions_per_week: int | None
    weeks: int | None
    visits_authorized: int
    valid_from: date
    valid_until: date
    authorization_number: str
    precautions: str
    original: OriginalOut | None = Field(description="The scanned original, if any (read it on the web page).")
    is_closed: bool
    created_at: datetime

    @staticmethod
    def resolve_id(obj: Referral) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_patient_id(obj: Referral) -> UUID:
        return obj.patient.public_id

    @staticmethod
    def resolve_episode_id(obj: Referral) -> UUID | None:
        return obj.episode.public_id if obj.episode else None

    @staticmethod
    def resolve_original(obj: Referral):
        if not obj.original:
            return None
        return {"content_type": obj.original_type, "size": obj.original_size or 0}


def _referral_data(payload) -> dict:
    data = payload.model_dump(exclude_unset=True)
    if "provider_id" in data:
        data["provider"] = data.pop("provider_id")
    if "episode_id" in data:
        data["episode"] = data.pop("episode_id")
    return data


@router.get(
    "/patients/{uuid:patient_id}/referrals",
    response={200: list[ReferralOut], **ERRORS_WITH_ID},
    url_name="patient_referrals",
)
def list_referrals(request, patient_id: UUID):
    """The patient's referrals, newest first."""
    _patient, referrals = access.access_patient_referrals(request.user, patient_id)
    return referrals


@router.post(
    "/patients/{uuid:patient_id}/referrals",
    response={201: ReferralOut, 400: ErrorOut, **ERRORS_WITH_ID},
    url_name="patient_referrals",
)
def create_referral(request, patient_id: UUID, payload: ReferralCreate):
    """Record a referral (JSON; attach the scanned original with POST …/original)."""
    patient = access_patient(request.user, patient_id, key="referral.manage", audit_it=False)
    clean = referral_actions.check_save_referral(request.user, patient, _referral_data(payload))
    return Status(201, referral_actions.do_save_referral(request.user, patient, clean))


@router.get("/referrals/{uuid:referral_id}", response={200: ReferralOut, **ERRORS_WITH_ID}, url_name="referral")
def get_referral(request, referral_id: UUID):
    return access.access_referral(request.user, referral_id)


@router.patch(
    "/referrals/{uuid:referral_id}", response={200: ReferralOut, 400: ErrorOut, **ERRORS_VERSIONED}, url_name="referral"
)
def update_referral(request, referral_id: UUID, payload: ReferralUpdate):
    """Change the fields sent; send `If-Match: "<version>"` (the ETag of your read): if
    someone saved since, the answer is 412 and nothing changes."""
    referral = access.access_referral(request.user, referral_id, key="referral.manage", audit_it=False)
    expected = versions.if_match(request)
    clean = referral_actions.check_save_referral(request.user, referral.patient, _referral_data(payload), referral)
    return referral_actions.do_save_referral(request.user, referral.patient, clean, referral, expected_version=expected)


@router.post(
    "/referrals/{uuid:referral_id}/original",
    response={200: ReferralOut, 400: ErrorOut, **ERRORS_VERSIONED},
    url_name="referral_original",
)
def upload_original(request, referral_id: UUID, original: File[UploadedFile]):
    """Attach or replace the scanned original (multipart/form-data, field ``original``):
    PDF, PNG or JPEG by content, at most 10 MB."""
    referral = access.access_referral(request.user, referral_id, key="referral.manage", audit_it=False)
    expected = versions.if_match(request)
    clean = referral_actions.check_original(request.user, referral, original)
    return referral_actions.do_attach_original(request.user, referral, clean, expected_version=expected)


@router.delete(
    "/referrals/{uuid:referral_id}/original",
    response={200: ReferralOut, 400: ErrorOut, **ERRORS_VERSIONED},
    url_name="referral_original",
)
def remove_original(request, referral_id: UUID):
    """Remove the scanned original; send If-Match to refuse it over a newer version."""
    referral = access.access_referral(request.user, referral_id, key="referral.manage", audit_it=False)
    expected = versions.if_match(request)
    referral_actions.check_remove_original(request.user, referral)
    return referral_actions.do_remove_original(request.user, referral, expected_version=expected)


@router.post(
    "/referrals/{uuid:referral_id}/close",
    response={200: ReferralOut, 400: ErrorOut, **ERRORS_WITH_ID},
    url_name="referral_close",
)
def close_referral(request, referral_id: UUID):
    referral = access.access_referral(request.user, referral_id, key="referral.manage", audit_it=False)
    referral_actions.check_close_referral(request.user, referral)
    return referral_actions.do_close_referral(request.user, referral)
