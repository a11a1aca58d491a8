"""The billing charges part of the JSON API (operation names in core/permissions.py URL_RULES,
# API: billing charges). Registered in effleura/api/api.py.

Thin, like the views: access_* to read and check_*/do_* to write (billing/charges.py), which
authorize (a therapist: their own visits' charges only) and audit. Ids are UUIDs; money is a
decimal string with its currency.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from ninja import Query, Router, Schema
from pydantic import Field

from effleura.billing import access, charges
from effleura.billing.choices import ChargeStatus
from effleura.billing.models import Charge, ChargeAdjustment, ChargeLine
from effleura.core.api_schemas import ERRORS, ERRORS_WITH_ID, BlankIsNone, ErrorOut, InputSchema, WholeNumber, text

router = Router(tags=["billing: charges"])


class ChargeLineOut(Schema):
    code: str
    description: str
    techniques: list[str]
    minutes: int
    computed_units: int = Field(description="The units the rule counted from the minutes.")
    units: int = Field(description="The units billed (different after an adjustment).")
    unit_price: Decimal
    amount: Decimal
    diagnosis_pointer: str

    @staticmethod
    def resolve_code(obj: ChargeLine) -> str:
        return obj.code.code

    @staticmethod
    def resolve_description(obj: ChargeLine) -> str:
        return obj.code.description


class AdjustmentLineOut(Schema):
    code: str
    units: int
    amount: str


class AdjustmentOut(Schema):
    at: datetime
    by: str
    reason: str
    before: list[AdjustmentLineOut]
    after: list[AdjustmentLineOut]

    @staticmethod
    def resolve_by(obj: ChargeAdjustment) -> str:
        return obj.by.display_name


class ChargeSummaryOut(Schema):
    id: UUID
    patient_id: UUID
    practitioner: str
    date_of_service: date
    payer_id: UUID | None
    payer: str | None
    status: str
    total: Decimal
    currency: str
    lines: list[ChargeLineOut]

    @staticmethod
    def resolve_id(obj: Charge) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_patient_id(obj: Charge) -> UUID:
        return obj.patient.public_id

    @staticmethod
    def resolve_practitioner(obj: Charge) -> str:
        return obj.practitioner.display_name

    @staticmethod
    def resolve_payer_id(obj: Charge) -> UUID | None:
        return obj.payer.public_id if obj.payer else None

    @staticmethod
    def resolve_payer(obj: Charge) -> str | None:
        return obj.payer.name if obj.payer else None

    @staticmethod
    def resolve_lines(obj: Charge) -> list:
        return list(obj.lines.all())


class ChargeOut(ChargeSummaryOut):
    policy_id: UUID | None
    service: str | None
    unit_method: str
    diagnosis_codes: list[str] = Field(description="ICD-10-CM, in pointer order A, B, C, ...")
    notes: str
    void_reason: str
    created_at: datetime
    adjustments: list[AdjustmentOut]

    @staticmethod
    def resolve_policy_id(obj: Charge) -> UUID | None:
        return obj.policy.public_id if obj.policy else None

    @staticmethod
    def resolve_service(obj: Charge) -> str | None:
        return obj.service.name if obj.service else None

    @staticmethod
    def resolve_adjustments(obj: Charge) -> list:
        return list(obj.adjustments.all())


class ChargeQuery(Schema):
    status: Annotated[ChargeStatus | None, BlankIsNone] = Field(
        ChargeStatus.OPEN, description="Leave empty for every status."
    )
    limit: int = Field(access.LIST_LIMIT, ge=1, le=access.LIST_LIMIT)


class LineIn(InputSchema):
    code: text(5)
    units: WholeNumber = Field(ge=0, le=charges.MAX_UNITS)


class AdjustIn(InputSchema):
    lines: list[LineIn] = Field(
        max_length=charges.MAX_LINES,
        description="Every line the charge should have: a code left out is removed, a new one added.",
    )
    reason: text(charges.REASON_MAX)


class VoidIn(InputSchema):
    reason: text(200)


@router.get("/billing/charges", response={200: list[ChargeSummaryOut], **ERRORS}, url_name="billing_charges")
def list_charges(request, filters: Query[ChargeQuery]):
    """Charges in a status (open by default: waiting to be invoiced), oldest visit first.
    A therapist sees their own visits' charges only."""
    return access.access_charges(request.user, status=filters.status or "", limit=filters.limit)


@router.get("/billing/charges/{uuid:charge_id}", response={200: ChargeOut, **ERRORS_WITH_ID}, url_name="billing_charge")
def get_charge(request, charge_id: UUID):
    return access.access_charge(request.user, charge_id)


@router.post(
    "/billing/charges/{uuid:charge_id}/adjust",
    response={200: ChargeOut, 400: ErrorOut, **ERRORS_WITH_ID},
    url_name="billing_charge_adjust",
)
def adjust_charge(request, charge_id: UUID, payload: AdjustIn):
    """Change units, add or remove codes, with the reason (kept); only while the charge is open."""
    charge = access.access_charge(request.user, charge_id, key="charge.adjust", audit_it=False)
    adjustment = charges.check_adjust_charge(request.user, charge, payload.model_dump())
    return charges.do_adjust_charge(request.user, charge, adjustment)


@router.post(
    "/billing/charges/{uuid:charge_id}/void",
    response={200: ChargeOut, 400: ErrorOut, **ERRORS_WITH_ID},
    url_name="billing_charge_void",
)
def void_charge(request, charge_id: UUID, payload: VoidIn):
    """Void a charge not invoiced, with the reason; a package session it used is given back."""
    charge = access.access_charge(request.user, charge_id, key="billing.manage", audit_it=False)
    reason = charges.check_void_charge(request.user, charge, payload.model_dump())
    return charges.do_void_charge(request.user, charge, reason)
