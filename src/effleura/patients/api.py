"""The patients part of the JSON API: patient records, their health history and consents.

Thin, like the views: parse (the schemas below), then access_* to read and check_*/do_*
to write; those authorize and audit. Errors they raise (ValidationError, PermissionDenied,
Http404, DuplicatePatient) become JSON answers in effleura/api/api.py.

Ids in URLs and answers are the records' UUIDs (``public_id``), never database keys.
"""

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from django.conf import settings
from django.http import Http404
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from effleura.core import versions
from effleura.core.api_schemas import (
    ERRORS,
    ERRORS_VERSIONED,
    ERRORS_WITH_ID,
    BlankIsNone,
    ErrorOut,
    Flag,
    InputSchema,
    IsoDate,
    Page,
    StaffRef,
    WholeNumber,
    text,
)
from effleura.patients import access, actions
from effleura.patients.choices import (
    BodyRegion,
    Condition,
    ContactMethod,
    ImplantedDevice,
    PatientStatus,
    PressurePreference,
    SexAtBirth,
    SignerRelationship,
)
from effleura.patients.models import HealthHistory, Patient, PatientConsent

router = Router(tags=["patients"])

MAX_PAGE_SIZE = 100
# Health-history versions are numbered from 1; the bound keeps a silly number from
# reaching the database, where SQLite would overflow on it.
MAX_VERSION = 2_147_483_647


def _limit(name: str) -> int:
    return Patient._meta.get_field(name).max_length


# Patients -------------------------------------------------------------------------


class PatientFields(InputSchema):
    """The editable fields of a patient (actions.PATIENT_FIELDS). ``null`` clears a text field."""

    legal_first_name: text(_limit("legal_first_name")) | None = None
    legal_last_name: text(_limit("legal_last_name")) | None = None
    preferred_name: text(_limit("preferred_name")) | None = None
    pronouns: text(_limit("pronouns")) | None = None
    date_of_birth: IsoDate | None = None
    sex_at_birth: Annotated[SexAtBirth | None, BlankIsNone] = Field(None, description="Empty or null when unknown.")
    gender_identity: text(_limit("gender_identity")) | None = None
    phone: text(_limit("phone")) | None = None
    email: text(_limit("email")) | None = None
    address_line1: text(_limit("address_line1")) | None = None
    address_line2: text(_limit("address_line2")) | None = None
    city: text(_limit("city")) | None = None
    region: text(_limit("region")) | None = None
    postal_code: text(_limit("postal_code")) | None = None
    country: text(_limit("country")) | None = None
    preferred_contact: ContactMethod | None = None
    emergency_contact_name: text(_limit("emergency_contact_name")) | None = None
    emergency_contact_relationship: text(_limit("emergency_contact_relationship")) | None = None
    emergency_contact_phone: text(_limit("emergency_contact_phone")) | None = None
    notes: text() | None = None
    status: PatientStatus | None = None


class PatientCreate(PatientFields):
    legal_first_name: text(_limit("legal_first_name"))
    legal_last_name: text(_limit("legal_last_name"))
    date_of_birth: IsoDate
    allow_duplicate: Flag = Field(
        False,
        description="Create the patient even though one with the same legal name and date "
        "of birth exists (a different person).",
    )


class PatientUpdate(PatientFields):
    """Only the fields sent are changed."""


class PatientOut(Schema):
    id: UUID
    chart_number: str
    display_name: str
    legal_first_name: str
    legal_last_name: str
    preferred_name: str
    pronouns: str
    date_of_birth: date
    sex_at_birth: str
    gender_identity: str
    phone: str
    email: str
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    country: str
    preferred_contact: str
    emergency_contact_name: str
    emergency_contact_relationship: str
    emergency_contact_phone: str
    notes: str
    status: str
    status_since: date
    created_at: datetime
    updated_at: datetime
    is_demo: bool
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")

    @staticmethod
    def resolve_id(obj: Patient) -> UUID:
        return obj.public_id


class PatientRef(Schema):
    id: UUID
    chart_number: str


class DuplicateOut(ErrorOut):
    duplicates: list[PatientRef] = Field(description="The patients who may be the same person.")


class PatientQuery(Schema):
    q: text(200) = Field(
        "",
        description="Search words: names, a date of birth, phone digits or a chart number. "
        "A search answers the best matches (at most page_size) as a single page.",
    )
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(settings.EFFLEURA_API_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    status: PatientStatus | None = None


@router.get("/patients", response={200: Page[PatientOut], **ERRORS}, url_name="patients")
def list_patients(request, filters: Query[PatientQuery]):
    """Search patients with ``q``, or list them a page at a time."""
    if filters.q.strip():
        found = access.access_patient_search(request.user, filters.q, limit=filters.page_size)
        return {"items": found, "count": len(found), "page": 1, "pages": 1}
    page = access.access_patient_page(
        request.user, filters.page, per_page=filters.page_size, status=filters.status or ""
    )
    return {
        "items": list(page),
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
    }


@router.post(
    "/patients",
    response={201: PatientOut, 400: ErrorOut, 409: DuplicateOut, **ERRORS},
    url_name="patients",
)
def create_patient(request, payload: PatientCreate):
    """Register a patient. A patient with the same legal name and date of birth answers
    409 with their ids, unless ``allow_duplicate`` is true."""
    data = payload.model_dump(exclude_unset=True)
    allow_duplicate = data.pop("allow_duplicate", False)
    clean = actions.check_create_patient(request.user, data, allow_duplicate=allow_duplicate)
    return Status(201, actions.do_create_patient(request.user, clean))


@router.get("/patients/{uuid:patient_id}", response={200: PatientOut, **ERRORS_WITH_ID}, url_name="patient")
def get_patient(request, patient_id: UUID):
    return access.access_patient(request.user, patient_id)


@router.patch(
    "/patients/{uuid:patient_id}",
    response={200: PatientOut, 400: ErrorOut, **ERRORS_VERSIONED},
    url_name="patient",
)
def update_patient(request, patient_id: UUID, payload: PatientUpdate):
    """Change the fields sent; the others keep their values. Send `If-Match: "<version>"`
    (the ETag of your read): if someone saved since, the answer is 412 and nothing changes."""
    patient = access.access_patient(request.user, patient_id, key="patient.update", audit_it=False)
    expected = versions.if_match(request)
    clean = actions.check_update_patient(request.user, patient, payload.model_dump(exclude_unset=True))
    return actions.do_update_patient(request.user, patient, clean, expected_version=expected)


# Health history ---------------------------------------------------------------------


class Medication(InputSchema):
    name: text(120)
    dose: text(60) = ""
    blood_thinner: Flag = False


class Surgery(InputSchema):
    what: text(200)
    date: Annotated[IsoDate | None, BlankIsNone] = Field(None, description="YYYY-MM-DD; null or empty when unknown.")


class HealthHistoryIn(InputSchema):
    """A new version of the health history: the whole form, not a change to the last one."""

    presenting_complaint: text() = ""
    goals: text() = ""
    pain_areas: list[BodyRegion] = Field(default_factory=list, max_length=len(BodyRegion))
    conditions: list[Condition] = Field(default_factory=list, max_length=len(Condition))
    condition_notes: text() = ""
    medications: list[Medication] = Field(default_factory=list, max_length=100)
    allergies: text() = ""
    allergic_to_oils_or_lotions: Flag = False
    surgeries: list[Surgery] = Field(default_factory=list, max_length=100)
    pregnant: Flag = False
    pregnancy_weeks: WholeNumber | None = Field(None, ge=1, le=45)
    implanted_devices: list[ImplantedDevice] = Field(default_factory=list, max_length=len(ImplantedDevice))
    implanted_devices_notes: text(200) = ""
    recent_illness_or_fever: Flag = False
    recent_illness_notes: text(200) = ""
    pressure_preference: Annotated[PressurePreference | None, BlankIsNone] = None
    areas_to_avoid: list[BodyRegion] = Field(default_factory=list, max_length=len(BodyRegion))
    areas_to_avoid_notes: text(200) = ""


class MedicationOut(Schema):
    name: str
    dose: str = ""
    blood_thinner: bool = False


class SurgeryOut(Schema):
    what: str
    date: str = Field("", description="YYYY-MM-DD, or empty when unknown.")


class HealthHistorySummary(Schema):
    id: UUID
    version: int
    recorded_at: datetime
    recorded_by: StaffRef

    @staticmethod
    def resolve_id(obj: HealthHistory) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_recorded_by(obj: HealthHistory) -> dict:
        return {"id": obj.recorded_by.public_id, "name": obj.recorded_by.display_name}


class HealthHistoryOut(HealthHistorySummary):
    presenting_complaint: str
    goals: str
    pain_areas: list[str]
    conditions: list[str] = Field(description="The conditions ticked on the checklist.")
    screening_conditions: list[str] = Field(
        description="Ticked conditions plus those the answers imply today (a blood thinner, a pregnancy, "
        "a pacemaker-like device, surgery in the last 6 weeks): what screening considers."
    )
    condition_notes: str
    medications: list[MedicationOut]
    allergies: str
    allergic_to_oils_or_lotions: bool
    surgeries: list[SurgeryOut]
    pregnant: bool
    pregnancy_weeks: int | None
    implanted_devices: list[str]
    implanted_devices_notes: str
    recent_illness_or_fever: bool
    recent_illness_notes: str
    pressure_preference: str
    areas_to_avoid: list[str]
    areas_to_avoid_notes: str


@router.get(
    "/patients/{uuid:patient_id}/health-history",
    response={200: HealthHistoryOut, **ERRORS_WITH_ID},
    url_name="health_history",
)
def get_health_history(request, patient_id: UUID):
    """The current version of the patient's health history."""
    _patient, current, _previous = access.access_health_history(request.user, patient_id)
    if current is None:
        raise Http404("This patient has no health history yet.")
    return current


@router.post(
    "/patients/{uuid:patient_id}/health-history",
    response={201: HealthHistoryOut, 400: ErrorOut, **ERRORS_VERSIONED},
    url_name="health_history",
)
def add_health_history(request, patient_id: UUID, payload: HealthHistoryIn):
    """Save a new version of the health history; earlier versions are kept. Send
    `If-Match: "<version>"`, the version you based it on (the ETag of the current one, or
    "0" for the first): if a newer one was saved meanwhile, the answer is 412 and nothing
    is saved, so what it added is not silently dropped."""
    patient = access.access_patient(request.user, patient_id, key="health_history.create", audit_it=False)
    based_on = versions.if_match(request)
    data = payload.model_dump()
    for surgery in data["surgeries"]:
        surgery["date"] = surgery["date"].isoformat() if surgery["date"] else ""
    data["pressure_preference"] = data["pressure_preference"] or ""
    clean = actions.check_add_health_history(request.user, patient, data)
    return Status(201, actions.do_add_health_history(request.user, patient, clean, based_on=based_on))


@router.get(
    "/patients/{uuid:patient_id}/health-history/versions",
    response={200: list[HealthHistorySummary], **ERRORS_WITH_ID},
    url_name="health_history_versions",
)
def list_health_history_versions(request, patient_id: UUID):
    """Every version, newest first."""
    _patient, versions = access.access_health_history_versions(request.user, patient_id)
    return versions


@router.get(
    "/patients/{uuid:patient_id}/health-history/versions/{version}",
    response={200: HealthHistoryOut, **ERRORS_WITH_ID},
    url_name="health_history_version",
)
def get_health_history_version(request, patient_id: UUID, version: int = Path(..., ge=1, le=MAX_VERSION)):
    _patient, found, _previous = access.access_health_history(request.user, patient_id, version)
    return found


# Consent ------------------------------------------------------------------------------


class ConsentIn(InputSchema):
    """A signature on the newest version of a consent document.

    ``typed_name`` must be the patient's legal or preferred name (first and last; case,
    accents, punctuation and spacing do not matter). Someone signing for the patient types
    their own name and gives ``signed_by_name`` (the same name) and
    ``signed_by_relationship``."""

    document: UUID = Field(description="The consent document; its newest version is signed.")
    typed_name: text(200)
    agreed: Flag = Field(description="The signer has read the document and agrees.")
    signed_by_name: text(200) = ""
    signed_by_relationship: Annotated[SignerRelationship | None, BlankIsNone] = Field(
        None, description="Only when someone signs for the patient."
    )


class ConsentDocumentRef(Schema):
    id: UUID
    title: str
    version: int


class ConsentOut(Schema):
    id: UUID
    document: ConsentDocumentRef
    typed_name: str
    signed_by_name: str = Field(description="Who signed for the patient; empty when the patient signed.")
    signed_by_relationship: str = Field(description="parent, guardian or legal_rep; empty when the patient signed.")
    signed_at: datetime
    captured_by: StaffRef
    withdrawn_at: datetime | None
    withdrawal_reason: str

    @staticmethod
    def resolve_id(obj: PatientConsent) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_document(obj: PatientConsent) -> dict:
        version = obj.document_version
        return {"id": version.document.public_id, "title": version.document.title, "version": version.version}

    @staticmethod
    def resolve_captured_by(obj: PatientConsent) -> dict:
        return {"id": obj.captured_by.public_id, "name": obj.captured_by.display_name}


class AlreadySignedOut(ErrorOut):
    consent: UUID = Field(description="The signature that stands.")


@router.get(
    "/patients/{uuid:patient_id}/consents",
    response={200: list[ConsentOut], **ERRORS_WITH_ID},
    url_name="patient_consents",
)
def list_consents(request, patient_id: UUID):
    """Every consent the patient signed, newest first, withdrawn ones included."""
    _patient, consents = access.access_patient_consents(request.user, patient_id)
    return consents


@router.post(
    "/patients/{uuid:patient_id}/consents",
    response={201: ConsentOut, 409: AlreadySignedOut, **ERRORS_WITH_ID},
    url_name="patient_consents",
)
def sign_consent(request, patient_id: UUID, payload: ConsentIn):
    """Record a signature. A name that is not the patient's, without who signs for them,
    answers 422; a version the patient already signed (and did not withdraw) answers 409
    with the standing signature's id."""
    patient = access.access_patient(request.user, patient_id, key="consent.capture", audit_it=False)
    version = access.latest_consent_version(payload.document)
    try:
        signature = actions.check_capture_consent(
            request.user,
            patient,
            version,
            payload.typed_name,
            payload.agreed,
            signed_by_name=payload.signed_by_name,
            signed_by_relationship=payload.signed_by_relationship or "",
        )
        return Status(201, actions.do_capture_consent(request.user, patient, version, signature))
    except actions.AlreadySigned as exc:
        return Status(409, {"detail": exc.messages[0], "consent": exc.consent.public_id})
