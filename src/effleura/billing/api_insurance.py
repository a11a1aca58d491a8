"""The billing insurance part of the JSON API (operation names in core/permissions.py URL_RULES,
# API: billing policies and claims). Registered in effleura/api/api.py.

Thin, like the views: access_* to read and check_*/do_* to write (billing/policies.py,
billing/claims.py, billing/cms1500.py); those authorize and audit. Ids are public UUIDs.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from django.db import transaction
from ninja import Query, Router, Schema, Status
from pydantic import Field

from effleura.billing import access, claims, cms1500, policies
from effleura.billing.models import Claim, ClaimEvent, Policy
from effleura.core import versions
from effleura.core.api_schemas import (
    ERRORS,
    ERRORS_VERSIONED,
    ERRORS_WITH_ID,
    Amount,
    Flag,
    InputSchema,
    IsoDate,
    WarningsOut,
    text,
)

router = Router(tags=["billing: insurance"])


# Policies ------------------------------------------------------------------------------


class PolicyFields(InputSchema):
    payer_id: UUID | None = None
    member_id: text(40) | None = None
    group_number: text(40) | None = None
    plan_name: text(100) | None = None
    relationship: Literal["self", "spouse", "child", "other"] | None = None
    priority: Literal["primary", "secondary", "tertiary"] | None = None
    subscriber_first_name: text(100) | None = None
    subscriber_last_name: text(100) | None = None
    subscriber_date_of_birth: IsoDate | None = None
    subscriber_address_line1: text(200) | None = None
    subscriber_city: text(100) | None = None
    subscriber_region: text(100) | None = None
    subscriber_postal_code: text(20) | None = None
    subscriber_phone: text(40) | None = None
    valid_from: IsoDate | None = None
    valid_until: IsoDate | None = None


class PolicyCreate(PolicyFields):
    payer_id: UUID
    member_id: text(40)


class PolicyUpdate(PolicyFields):
    """Only the fields sent change; ``is_active`` deactivates or reactivates."""

    is_active: bool | None = None


class InsurancePolicyOut(Schema):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    id: UUID
    patient_id: UUID
    payer_id: UUID
    payer_name: str
    member_id: str
    group_number: str
    plan_name: str
    relationship: str
    priority: str
    subscriber_first_name: str
    subscriber_last_name: str
    subscriber_date_of_birth: date | None
    subscriber_address_line1: str
    subscriber_city: str
    subscriber_region: str
    subscriber_postal_code: str
    subscriber_phone: str
    valid_from: date | None
    valid_until: date | None
    is_active: bool

    @staticmethod
    def resolve_id(obj: Policy) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_patient_id(obj: Policy) -> UUID:
        return obj.patient.public_id

    @staticmethod
    def resolve_payer_id(obj: Policy) -> UUID:
        return obj.payer.public_id

    @staticmethod
    def resolve_payer_name(obj: Policy) -> str:
        return obj.payer.name


def _policy_data(payload: PolicyFields) -> dict:
    data = payload.model_dump(exclude_unset=True)
    if "payer_id" in data:
        data["payer"] = data.pop("payer_id")
    return data


@router.get(
    "/billing/patients/{uuid:patient_id}/policies",
    response={200: list[InsurancePolicyOut], **ERRORS_WITH_ID},
    url_name="billing_policies",
)
def list_policies(request, patient_id: UUID):
    """The patient's policies, active first by priority."""
    _patient, found = access.access_patient_policies(request.user, patient_id)
    return found


@router.post(
    "/billing/patients/{uuid:patient_id}/policies",
    response={201: InsurancePolicyOut, **ERRORS_WITH_ID},
    url_name="billing_policies",
)
def create_policy(request, patient_id: UUID, payload: PolicyCreate):
    """Add a policy: one active per priority; the subscriber's name and date of birth are
    required unless the relationship is self."""
    patient, _found = access.access_patient_policies(request.user, patient_id)
    clean = policies.check_save_policy(request.user, patient, _policy_data(payload))
    return Status(201, policies.do_save_policy(request.user, patient, clean))


@router.get(
    "/billing/policies/{uuid:policy_id}",
    response={200: InsurancePolicyOut, **ERRORS_WITH_ID},
    url_name="billing_policy",
)
def get_policy(request, policy_id: UUID):
    return access.access_policy(request.user, policy_id)


@router.patch(
    "/billing/policies/{uuid:policy_id}",
    response={200: InsurancePolicyOut, **ERRORS_VERSIONED},
    url_name="billing_policy",
)
def update_policy(request, policy_id: UUID, payload: PolicyUpdate):
    """Change the fields sent (``is_active`` deactivates or reactivates). Send
    `If-Match: "<version>"` (the ETag of your read): if someone saved since, the answer is
    412 and nothing changes."""
    policy = access.access_policy(request.user, policy_id, key="policy.manage", audit_it=False)
    expected = versions.if_match(request)
    data = _policy_data(payload)
    active = data.pop("is_active", None)
    with transaction.atomic():  # every change, or none; each write follows the one before
        if active is True and not policy.is_active:
            policies.check_set_policy_active(request.user, policy, True)
            policy = policies.do_set_policy_active(request.user, policy, True, expected_version=expected)
            expected = policy.version
        if data:
            clean = policies.check_save_policy(request.user, policy.patient, data, policy)
            policy = policies.do_save_policy(request.user, policy.patient, clean, policy, expected_version=expected)
            expected = policy.version
        if active is False and policy.is_active:
            policies.check_set_policy_active(request.user, policy, False)
            policy = policies.do_set_policy_active(request.user, policy, False, expected_version=expected)
    return policy


# Claims --------------------------------------------------------------------------------


class ClaimEventOut(Schema):
    status: str
    at: datetime
    by: str
    note: str

    @staticmethod
    def resolve_by(obj: ClaimEvent) -> str:
        return obj.by.display_name


class ClaimOut(Schema):
    id: UUID
    charge_id: UUID
    patient_id: UUID
    policy_id: UUID
    payer_name: str
    date_of_service: date
    status: str
    billed_amount: Decimal
    paid_amount: Decimal | None
    currency: str
    payer_claim_number: str
    denial_reason: str
    submitted_on: date | None
    resubmissions: int
    next_statuses: list[str]
    version: int = Field(description='Counts the claim\'s writes; send it as If-Match ("3") to change boxes 10 and 14.')
    employment_related: bool = Field(description="Box 10a.")
    auto_accident: bool = Field(description="Box 10b.")
    accident_state: str = Field(description="Box 10b: the state of the auto accident (two letters).")
    other_accident: bool = Field(description="Box 10c.")
    illness_date: date | None = Field(description="Box 14: the date of the current illness or injury.")
    illness_qualifier: str = Field(description="Box 14: 431 (onset) or 484 (last menstrual period).")
    place_of_service: str = Field(description="Box 24B: the CMS place-of-service code (11 office, 12 home, 21 …).")

    @staticmethod
    def resolve_id(obj: Claim) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_charge_id(obj: Claim) -> UUID:
        return obj.charge.public_id

    @staticmethod
    def resolve_patient_id(obj: Claim) -> UUID:
        return obj.charge.patient.public_id

    @staticmethod
    def resolve_policy_id(obj: Claim) -> UUID:
        return obj.policy.public_id

    @staticmethod
    def resolve_payer_name(obj: Claim) -> str:
        return obj.policy.payer.name

    @staticmethod
    def resolve_date_of_service(obj: Claim) -> date:
        return obj.charge.date_of_service

    @staticmethod
    def resolve_next_statuses(obj: Claim) -> list[str]:
        return list(claims.next_statuses(obj))


class ClaimLineOut(Schema):
    code: str = Field(description="Box 24D: the CPT or HCPCS code.")
    modifiers: list[str] = Field(
        description="Box 24D: the payer's every-line modifiers, then a code pair's (e.g. 59), at most four."
    )
    units: int = Field(description="Box 24G.")
    diagnosis_pointer: str = Field(description="Box 24E.")
    amount: Decimal = Field(description="Box 24F.")


class ClaimDetailOut(ClaimOut):
    events: list[ClaimEventOut]
    missing: list[str] = Field(description="What the form still lacks before it can be submitted.")
    lines: list[ClaimLineOut] = Field(description="The service lines on the form (box 24), in their order.")

    @staticmethod
    def resolve_lines(obj: Claim) -> list[dict]:
        return [
            {"code": line.code.code, "modifiers": list(mods), "units": line.units,
             "diagnosis_pointer": line.diagnosis_pointer, "amount": line.amount}
            for line, mods in cms1500.service_lines(obj)
        ]  # fmt: skip

    @staticmethod
    def resolve_events(obj: Claim) -> list[ClaimEvent]:
        return claims.claim_events(obj)

    @staticmethod
    def resolve_missing(obj: Claim) -> list[str]:
        return cms1500.missing(obj)


class ClaimQuery(Schema):
    status: Literal["", "draft", "submitted", "paid", "denied", "resubmitted"] = ""


class ClaimCreate(InputSchema):
    policy_id: UUID | None = Field(None, description="Default: the charge's policy, else the active primary.")
    confirm_warnings: Flag = Field(
        False, description="true: claim a visit the patient already paid in full (a 409 says so first)."
    )


class ClaimDetails(InputSchema):
    employment_related: Flag | None = None
    auto_accident: Flag | None = None
    accident_state: text(2) | None = None
    other_accident: Flag | None = None
    illness_date: IsoDate | None = None
    illness_qualifier: Literal["", "431", "484"] | None = None
    place_of_service: text(2) | None = None


class ClaimMove(InputSchema):
    to: Literal["submitted", "paid", "denied", "resubmitted"]
    on: IsoDate | None = None
    payer_claim_number: text(40) | None = None
    paid_amount: Amount | None = None
    reason: text(1000) | None = None
    note: text(1000) | None = None


@router.get("/billing/claims", response={200: list[ClaimOut], **ERRORS}, url_name="billing_claims")
def list_claims(request, filters: Query[ClaimQuery]):
    """Claims, newest first (at most 200), optionally of one status."""
    return access.access_claims(request.user, status=filters.status)


@router.post(
    "/billing/charges/{uuid:charge_id}/claims",
    response={201: ClaimDetailOut, 409: WarningsOut, **ERRORS_WITH_ID},
    url_name="billing_charge_claims",
)
def create_claim(request, charge_id: UUID, payload: ClaimCreate):
    """A draft claim for the visit's charge under one of the patient's policies."""
    charge = access.access_charge_for_claim(request.user, charge_id)
    data = {"policy": payload.policy_id} if payload.policy_id else {}
    data["confirm_warnings"] = payload.confirm_warnings
    claim = claims.do_create_claim(request.user, charge, claims.check_create_claim(request.user, charge, data))
    return Status(201, access.access_claim_quiet(claim.pk))


@router.get(
    "/billing/claims/{uuid:claim_id}", response={200: ClaimDetailOut, **ERRORS_WITH_ID}, url_name="billing_claim"
)
def get_claim(request, claim_id: UUID):
    return access.access_claim(request.user, claim_id)


@router.post(
    "/billing/claims/{uuid:claim_id}/moves",
    response={200: ClaimDetailOut, **ERRORS_WITH_ID},
    url_name="billing_claim_move",
)
def move_claim(request, claim_id: UUID, payload: ClaimMove):
    """Move the claim: draft → submitted → paid | denied (reason) → resubmitted → paid | denied."""
    claim = access.access_claim(request.user, claim_id, key="claim.manage", audit_it=False)
    data = payload.model_dump(exclude_unset=True, exclude={"to"})
    data = {k: v for k, v in data.items() if v is not None}
    clean = claims.check_move_claim(request.user, claim, payload.to, data)
    return claims.do_move_claim(request.user, claim, clean)


@router.patch(
    "/billing/claims/{uuid:claim_id}/details",
    response={200: ClaimDetailOut, **ERRORS_VERSIONED},
    url_name="billing_claim_details",
)
def update_claim_details(request, claim_id: UUID, payload: ClaimDetails):
    """Boxes 10a–c, 14 and 24B, the fields sent, while the claim is a draft or denied. Send
    `If-Match: "<version>"`: a claim saved or moved since answers 412 and nothing changes."""
    claim = access.access_claim(request.user, claim_id, key="claim.manage", audit_it=False)
    data = payload.model_dump(exclude_unset=True)
    clean = claims.check_save_details(request.user, claim, data)
    return claims.do_save_details(request.user, claim, clean, expected_version=versions.if_match(request))


@router.get(
    "/billing/claims/{uuid:claim_id}/cms1500", response={200: dict, **ERRORS_WITH_ID}, url_name="billing_claim_cms1500"
)
def claim_form(request, claim_id: UUID):
    """The CMS-1500 (02/12) data keyed by box number, one dict per page of six lines."""
    claim = access.access_claim(request.user, claim_id, key="claim.export", audit_it=False)
    cms1500.record_export(request.user, claim, "JSON (API)")
    return cms1500.claim_data(claim)
