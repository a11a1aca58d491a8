"""The JSON shapes of the billing set-up API (billing/resources.py serves them): procedure
codes, payers, the fee schedule and package plans. Ids are the records' UUIDs; a code may
also be named by its code ("97124"). Money is a JSON number or a decimal string with a point
("95.00"), read exactly, never through a float."""

import datetime
from decimal import Decimal
from uuid import UUID

from ninja import Schema
from pydantic import Field

from effleura.billing import modifiers, setup
from effleura.billing.choices import PlanType, UnitMethod
from effleura.billing.models import PackagePlan, Payer, ProcedureCode
from effleura.core.api_schemas import Amount, Flag, InputSchema, WholeNumber, text
from effleura.core.resources import NamedRef, PageQuery, RecordOut, max_length

# Money: core.api_schemas.Amount (a JSON number or a string with a point, e.g. "95.00");
# its range and cents are checked by core.values.parse_amount in billing/setup.py.
Money = Amount


class CodeRef(RecordOut):
    code: str
    timed: bool


# Procedure codes ----------------------------------------------------------------------------------


class CodeFields(InputSchema):
    description: text(max_length(ProcedureCode, "description")) | None = None
    timed: Flag | None = Field(None, description="Billed in 15-minute units (true) or once per visit (false).")
    is_active: Flag | None = Field(None, description="false retires the code; true reactivates it.")


class CodeCreate(InputSchema):
    code: text(10) = Field(description="CPT (five digits) or HCPCS (a letter and four digits).")
    description: text(max_length(ProcedureCode, "description"))
    timed: Flag


class CodeOut(RecordOut):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    code: str
    description: str
    timed: bool
    is_active: bool
    is_bundled: bool = Field(description="From Effleura's bundled catalog.")


class CodeQuery(PageQuery):
    active: bool | None = Field(None, description="true: active codes only; false: retired only.")


# Payers -------------------------------------------------------------------------------------------


class PairIn(InputSchema):
    code: text(10) = Field(description='The code that takes the modifier (the column-two code), e.g. "97140".')
    billed_with: text(10) = Field(description='The code billed with it the same date, e.g. "97530".')
    modifier: text(10) = Field(description='Two letters or digits, e.g. "59" or "XU".')


class PairOut(Schema):
    code: str = Field(description="Takes the modifier when billed on the same date as billed_with.")
    billed_with: str
    modifier: str


PAIRS_DOC = (
    "Code pairs the payer bundles unless a distinct-service modifier is on one of them (its NCCI "
    "procedure-to-procedure edits): when both codes are billed on one date, the line of `code` gets "
    "`modifier` after the every-line modifiers (box 24D). At most "
    f"{modifiers.MAX_PAIRS}; a PATCH replaces the whole list ([] removes them all)."
)


class PayerFields(InputSchema):
    name: text(max_length(Payer, "name")) | None = None
    payer_id: text(max_length(Payer, "payer_id")) | None = Field(None, description="The electronic payer ID, if any.")
    address_line1: text(max_length(Payer, "address_line1")) | None = None
    address_line2: text(max_length(Payer, "address_line2")) | None = None
    city: text(max_length(Payer, "city")) | None = None
    region: text(max_length(Payer, "region")) | None = None
    postal_code: text(max_length(Payer, "postal_code")) | None = None
    phone: text(max_length(Payer, "phone")) | None = None
    unit_method: UnitMethod | None = Field(None, description="cms: the 8-minute rule; per_code: each code alone.")
    plan_type: PlanType | None = Field(None, description="The kind of insurance (CMS-1500 box 1); group by default.")
    line_modifiers: text(11) | None = Field(None, description='Modifiers on every claim line (box 24D), e.g. "GP".')
    # The bound only keeps a request small; setup.py refuses more than MAX_PAIRS in words.
    pair_modifiers: list[PairIn] | None = Field(None, max_length=100, description=PAIRS_DOC)
    is_active: Flag | None = None


class PayerCreate(PayerFields):
    name: text(max_length(Payer, "name"))


class PayerOut(RecordOut):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    name: str
    payer_id: str
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    phone: str
    unit_method: str
    plan_type: str
    line_modifiers: str
    pair_modifiers: list[PairOut] = Field(description=PAIRS_DOC)
    is_active: bool


# Fee schedule -------------------------------------------------------------------------------------


class ServiceRef(NamedRef):
    pass


class FeeFields(InputSchema):
    code: text(40) | None = Field(None, description='A code ("97124") or its id: a price per unit.')
    service: UUID | None = Field(None, description="A service's id: a price per visit.")
    minutes: WholeNumber | None = Field(
        None, description="A service only: the visit length this price is for (one of the service's); null: any length."
    )
    payer: UUID | None = Field(None, description="null: the practice's standard price.")
    amount: Money | None = None


class FeeCreate(FeeFields):
    amount: Money


class FeeOut(RecordOut):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    code: CodeRef | None
    service: ServiceRef | None
    minutes: int | None = Field(description="The visit length a service's price is for; null: any length.")
    payer: NamedRef | None
    amount: Decimal
    currency: str
    per: str = Field(description='"unit" for a code, "visit" for a service.')
    updated_at: datetime.datetime

    @staticmethod
    def resolve_per(obj) -> str:
        return "unit" if obj.code_id else "visit"


class FeeQuery(PageQuery):
    payer: UUID | None = Field(None, description="Only this payer's prices.")
    standard: bool | None = Field(None, description="true: only the standard prices.")


# Package plans ------------------------------------------------------------------------------------


class PlanFields(InputSchema):
    name: text(max_length(PackagePlan, "name")) | None = None
    sessions: WholeNumber | None = Field(None, description=f"1 to {setup.MAX_PACKAGE_SESSIONS}.")
    price: Money | None = None
    valid_days: WholeNumber | None = Field(None, description="Days from purchase.")
    service: UUID | None = Field(None, description="Only visits for this service use it; null: any service.")
    is_active: Flag | None = Field(None, description="false: no longer sold; packages sold stay valid.")


class PlanCreate(PlanFields):
    name: text(max_length(PackagePlan, "name"))
    sessions: WholeNumber
    price: Money


class PackagePlanOut(RecordOut):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    name: str
    sessions: int
    price: Decimal
    per_session: Decimal
    currency: str
    valid_days: int
    service: ServiceRef | None
    is_active: bool

    @staticmethod
    def resolve_per_session(obj) -> Decimal:
        return setup.per_session(obj)
