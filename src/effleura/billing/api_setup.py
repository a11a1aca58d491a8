"""The billing set-up part of the JSON API: procedure codes, the technique -> code mapping
(practice-wide and per payer), payers, the fee schedule and package plans. Operation names
are in core/permissions.py URL_RULES (# API: billing set-up). Registered in effleura/api/api.py.

Thin, like the pages: the schemas parse, billing/setup.py authorizes, validates and writes
(with the audit event). Every role reads (billing_setup.view); the owner and billing staff
write (billing_setup.manage). Ids are the records' UUIDs; a code may also be named by its
code ("97124"). Money is a decimal string with the cents ("95.00"), never a float.
"""

import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from ninja import Query, Router, Schema, Status
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from effleura.billing import setup
from effleura.billing.choices import PlanType, UnitMethod
from effleura.billing.models import PackagePlan, Payer, ProcedureCode
from effleura.core.api_schemas import ERRORS, ERRORS_WITH_ID, Flag, InputSchema, Page, WholeNumber, text

router = Router(tags=["billing: setup"])

MAX_PAGE_SIZE = 100
MONEY_MESSAGE = 'Give the amount as a string with the cents, e.g. "95.00", or a whole number.'


def _money(value: Any) -> Any:
    # A float can't hold most cent amounts exactly (0.1 + 0.2); money comes as a string.
    if isinstance(value, bool | float):
        raise PydanticCustomError("money_format", MONEY_MESSAGE)
    if isinstance(value, int | Decimal):
        return str(value)
    if not isinstance(value, str):
        raise PydanticCustomError("money_format", MONEY_MESSAGE)
    return value


# Range and cents are checked by billing.values.parse_amount, which answers {field: message}.
Money = Annotated[str, BeforeValidator(_money), Field(max_length=20, description='e.g. "95.00".')]


def _limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length


def _data(payload: InputSchema) -> dict:
    return payload.model_dump(exclude_unset=True)


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(settings.EFFLEURA_API_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


def _page(found, query: PageQuery) -> dict:
    page = Paginator(found, query.page_size).get_page(query.page)
    return {"items": list(page), "count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages}


class Ref(Schema):
    id: UUID
    name: str

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


class CodeRef(Schema):
    id: UUID
    code: str
    timed: bool

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


# Procedure codes ----------------------------------------------------------------------------------


class CodeFields(InputSchema):
    description: text(_limit(ProcedureCode, "description")) | None = None
    timed: Flag | None = Field(None, description="Billed in 15-minute units (true) or once per visit (false).")
    is_active: Flag | None = Field(None, description="false retires the code; true reactivates it.")


class CodeCreate(InputSchema):
    code: text(10) = Field(description="CPT (five digits) or HCPCS (a letter and four digits).")
    description: text(_limit(ProcedureCode, "description"))
    timed: Flag


class CodeOut(Schema):
    id: UUID
    code: str
    description: str
    timed: bool
    is_active: bool
    is_bundled: bool = Field(description="From Effleura's bundled catalog.")

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


class CodeQuery(PageQuery):
    active: bool | None = Field(None, description="true: active codes only; false: retired only.")


@router.get("/billing/codes", response={200: Page[CodeOut], **ERRORS}, url_name="billing_codes")
def list_codes(request, query: Query[CodeQuery]):
    found = setup.list_codes(request.user)
    if query.active is not None:
        found = found.filter(is_active=query.active)
    return _page(found, query)


@router.post("/billing/codes", response={201: CodeOut, **ERRORS}, url_name="billing_codes")
def create_code(request, payload: CodeCreate):
    clean = setup.check_save_code(request.user, _data(payload))
    return Status(201, setup.do_save_code(request.user, clean))


@router.get("/billing/codes/{uuid:code_id}", response={200: CodeOut, **ERRORS_WITH_ID}, url_name="billing_code")
def get_code(request, code_id: UUID):
    return setup.get_code(request.user, code_id)


@router.patch("/billing/codes/{uuid:code_id}", response={200: CodeOut, **ERRORS_WITH_ID}, url_name="billing_code")
def update_code(request, code_id: UUID, payload: CodeFields):
    """Change the description or whether it is timed; ``is_active: false`` retires it (refused
    while a technique still bills as it). The code itself never changes."""
    code = setup.get_code(request.user, code_id, key=setup.MANAGE)
    data = _data(payload)
    active = data.pop("is_active", None)
    clean = setup.check_save_code(request.user, data, code) if data else None
    if active is not None and active != code.is_active:
        setup.check_set_code_active(request.user, code, active)
    with transaction.atomic():  # both changes, or neither
        if clean is not None:
            code = setup.do_save_code(request.user, clean, code)
        if active is not None and active != code.is_active:
            code = setup.do_set_code_active(request.user, code, active)
    return code


# Technique -> code mapping ------------------------------------------------------------------------


class MappingOut(Schema):
    technique: str
    payer: Ref | None = Field(description="null: the practice-wide code.")
    code: CodeRef


class TechniqueOut(Schema):
    technique: str
    label: str
    code: CodeRef | None = Field(description="The practice-wide code; null: not billed.")
    payer_codes: list[MappingOut] = Field(description="Payers that bill it under another code.")


class MappingIn(InputSchema):
    code: text(40) = Field(description='The code ("97124") or its id.')
    payer: UUID | None = Field(None, description="Only for this payer; null or absent: practice-wide.")


class PayerQuery(Schema):
    payer: UUID | None = Field(None, description="Remove this payer's own code; absent: the practice-wide one.")


def _technique_out(row: dict) -> dict:
    return {"technique": row["key"], "label": row["label"], "code": row["code"], "payer_codes": row["overrides"]}


@router.get(
    "/billing/technique-codes", response={200: list[TechniqueOut], **ERRORS}, url_name="billing_technique_codes"
)
def list_technique_codes(request):
    """Every technique, stroke and modality, with the code it bills as and payer exceptions."""
    return [_technique_out(row) for row in setup.mapping_table(request.user)]


def _technique_row(user, technique: str) -> dict:
    key = setup.clean_technique(technique)
    return _technique_out(next(r for r in setup.mapping_table(user) if r["key"] == key))


@router.get(
    "/billing/technique-codes/{technique}",
    response={200: TechniqueOut, **ERRORS_WITH_ID},
    url_name="billing_technique_code",
)
def get_technique_code(request, technique: str):
    return _technique_row(request.user, technique)


@router.put(
    "/billing/technique-codes/{technique}",
    response={200: TechniqueOut, **ERRORS_WITH_ID},
    url_name="billing_technique_code",
)
def put_technique_code(request, technique: str, payload: MappingIn):
    """Bill the technique as ``code``: practice-wide, or for ``payer`` only."""
    setup.clean_technique(technique)
    data = _data(payload)
    if not data.get("code"):
        raise ValidationError({"code": "Choose a code; to stop billing the technique, DELETE the mapping."})
    clean = setup.check_map_technique(request.user, technique, data)
    setup.do_map_technique(request.user, clean)
    return _technique_row(request.user, technique)


@router.delete(
    "/billing/technique-codes/{technique}",
    response={200: TechniqueOut, **ERRORS_WITH_ID},
    url_name="billing_technique_code",
)
def delete_technique_code(request, technique: str, query: Query[PayerQuery]):
    """Remove the practice-wide code (the technique is then not billed) or, with ``payer``,
    that payer's exception (it then gets the practice-wide code)."""
    setup.clean_technique(technique)
    clean = setup.check_map_technique(request.user, technique, {"code": None, "payer": query.payer})
    setup.do_map_technique(request.user, clean)
    return _technique_row(request.user, technique)


# Payers -------------------------------------------------------------------------------------------


class PayerFields(InputSchema):
    name: text(_limit(Payer, "name")) | None = None
    payer_id: text(_limit(Payer, "payer_id")) | None = Field(None, description="The electronic payer ID, if any.")
    address_line1: text(_limit(Payer, "address_line1")) | None = None
    address_line2: text(_limit(Payer, "address_line2")) | None = None
    city: text(_limit(Payer, "city")) | None = None
    region: text(_limit(Payer, "region")) | None = None
    postal_code: text(_limit(Payer, "postal_code")) | None = None
    phone: text(_limit(Payer, "phone")) | None = None
    unit_method: UnitMethod | None = Field(None, description="cms: the 8-minute rule; per_code: each code alone.")
    plan_type: PlanType | None = Field(None, description="The kind of insurance (CMS-1500 box 1); group by default.")
    is_active: Flag | None = None


class PayerCreate(PayerFields):
    name: text(_limit(Payer, "name"))


class PayerOut(Schema):
    id: UUID
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
    is_active: bool

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


class ActiveQuery(PageQuery):
    active: bool | None = None


@router.get("/billing/payers", response={200: Page[PayerOut], **ERRORS}, url_name="billing_payers")
def list_payers(request, query: Query[ActiveQuery]):
    found = setup.list_payers(request.user)
    if query.active is not None:
        found = found.filter(is_active=query.active)
    return _page(found, query)


@router.post("/billing/payers", response={201: PayerOut, **ERRORS}, url_name="billing_payers")
def create_payer(request, payload: PayerCreate):
    clean = setup.check_save_payer(request.user, _data(payload))
    return Status(201, setup.do_save_payer(request.user, clean))


@router.get("/billing/payers/{uuid:payer_id}", response={200: PayerOut, **ERRORS_WITH_ID}, url_name="billing_payer")
def get_payer(request, payer_id: UUID):
    return setup.get_payer(request.user, payer_id)


@router.patch("/billing/payers/{uuid:payer_id}", response={200: PayerOut, **ERRORS_WITH_ID}, url_name="billing_payer")
def update_payer(request, payer_id: UUID, payload: PayerFields):
    """``is_active: false`` keeps it off new policies; its policies and claims stay."""
    payer = setup.get_payer(request.user, payer_id, key=setup.MANAGE)
    clean = setup.check_save_payer(request.user, _data(payload), payer)
    return setup.do_save_payer(request.user, clean, payer)


# Fee schedule -------------------------------------------------------------------------------------


class ServiceRef(Ref):
    pass


class FeeFields(InputSchema):
    code: text(40) | None = Field(None, description='A code ("97124") or its id: a price per unit.')
    service: UUID | None = Field(None, description="A service's id: a price per visit.")
    payer: UUID | None = Field(None, description="null: the practice's standard price.")
    amount: Money | None = None


class FeeCreate(FeeFields):
    amount: Money


class FeeOut(Schema):
    id: UUID
    code: CodeRef | None
    service: ServiceRef | None
    payer: Ref | None
    amount: Decimal
    currency: str
    per: str = Field(description='"unit" for a code, "visit" for a service.')
    updated_at: datetime.datetime

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_per(obj) -> str:
        return "unit" if obj.code_id else "visit"


class FeeQuery(PageQuery):
    payer: UUID | None = Field(None, description="Only this payer's prices.")
    standard: bool | None = Field(None, description="true: only the standard prices.")


@router.get("/billing/fees", response={200: Page[FeeOut], **ERRORS}, url_name="billing_fees")
def list_fees(request, query: Query[FeeQuery]):
    found = setup.list_fees(request.user, payer_id=query.payer)
    if query.standard is not None:
        found = found.filter(payer__isnull=query.standard)
    return _page(found, query)


@router.post("/billing/fees", response={201: FeeOut, **ERRORS}, url_name="billing_fees")
def create_fee(request, payload: FeeCreate):
    """One price per code (or service) per payer, and one standard price: a second is refused."""
    clean = setup.check_save_fee(request.user, _data(payload))
    return Status(201, setup.do_save_fee(request.user, clean))


@router.get("/billing/fees/{uuid:fee_id}", response={200: FeeOut, **ERRORS_WITH_ID}, url_name="billing_fee")
def get_fee(request, fee_id: UUID):
    return setup.get_fee(request.user, fee_id)


@router.patch("/billing/fees/{uuid:fee_id}", response={200: FeeOut, **ERRORS_WITH_ID}, url_name="billing_fee")
def update_fee(request, fee_id: UUID, payload: FeeFields):
    fee = setup.get_fee(request.user, fee_id, key=setup.MANAGE)
    clean = setup.check_save_fee(request.user, _data(payload), fee)
    return setup.do_save_fee(request.user, clean, fee)


@router.delete("/billing/fees/{uuid:fee_id}", response={204: None, **ERRORS_WITH_ID}, url_name="billing_fee")
def delete_fee(request, fee_id: UUID):
    """Charges already made keep their amounts."""
    fee = setup.get_fee(request.user, fee_id, key=setup.MANAGE)
    setup.check_delete_fee(request.user, fee)
    setup.do_delete_fee(request.user, fee)
    return Status(204, None)


# Package plans ------------------------------------------------------------------------------------


class PlanFields(InputSchema):
    name: text(_limit(PackagePlan, "name")) | None = None
    sessions: WholeNumber | None = Field(None, description=f"1 to {setup.MAX_PACKAGE_SESSIONS}.")
    price: Money | None = None
    valid_days: WholeNumber | None = Field(None, description="Days from purchase.")
    service: UUID | None = Field(None, description="Only visits for this service use it; null: any service.")
    is_active: Flag | None = Field(None, description="false: no longer sold; packages sold stay valid.")


class PlanCreate(PlanFields):
    name: text(_limit(PackagePlan, "name"))
    sessions: WholeNumber
    price: Money


class PlanOut(Schema):
    id: UUID
    name: str
    sessions: int
    price: Decimal
    per_session: Decimal
    currency: str
    valid_days: int
    service: ServiceRef | None
    is_active: bool

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_per_session(obj) -> Decimal:
        return setup.per_session(obj)


@router.get("/billing/package-plans", response={200: Page[PlanOut], **ERRORS}, url_name="billing_package_plans")
def list_plans(request, query: Query[ActiveQuery]):
    found = setup.list_plans(request.user)
    if query.active is not None:
        found = found.filter(is_active=query.active)
    return _page(found, query)


@router.post("/billing/package-plans", response={201: PlanOut, **ERRORS}, url_name="billing_package_plans")
def create_plan(request, payload: PlanCreate):
    clean = setup.check_save_plan(request.user, _data(payload))
    return Status(201, setup.do_save_plan(request.user, clean))


@router.get(
    "/billing/package-plans/{uuid:plan_id}", response={200: PlanOut, **ERRORS_WITH_ID}, url_name="billing_package_plan"
)
def get_plan(request, plan_id: UUID):
    return setup.get_plan(request.user, plan_id)


@router.patch(
    "/billing/package-plans/{uuid:plan_id}", response={200: PlanOut, **ERRORS_WITH_ID}, url_name="billing_package_plan"
)
def update_plan(request, plan_id: UUID, payload: PlanFields):
    plan = setup.get_plan(request.user, plan_id, key=setup.MANAGE)
    clean = setup.check_save_plan(request.user, _data(payload), plan)
    return setup.do_save_plan(request.user, clean, plan)
