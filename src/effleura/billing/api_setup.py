"""The billing set-up part of the JSON API: procedure codes, the technique -> code mapping
(practice-wide and per payer), payers, the fee schedule and package plans. Registered in
effleura/api/api.py.

The list/create/get/patch/delete operations of codes, payers, fees and plans come from
their specs (billing/resources.py; shapes in setup_schemas.py), which also put their
operation names in core/permissions.py URL_RULES. Written here: a code's PATCH (which may
also retire it) and the technique mapping (# API: billing set-up in URL_RULES).

Thin, like the pages: billing/setup.py authorizes, validates and writes (with the audit
event). Every role reads (billing_setup.view); the owner and billing staff write
(billing_setup.manage). Ids are the records' UUIDs; a code may also be named by its code
("97124"). Money is a decimal string with the cents ("95.00"), never a float.
"""

from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from ninja import Query, Schema
from pydantic import Field

from effleura.billing import resources, setup
from effleura.billing.setup_schemas import CodeFields, CodeOut, CodeRef
from effleura.core import versions
from effleura.core.api_schemas import ERRORS, ERRORS_VERSIONED, ERRORS_WITH_ID, InputSchema, text
from effleura.core.resources import NamedRef, api_router

router = api_router(*resources.RESOURCES, tags=["billing: setup"], module=__name__)


def _data(payload: InputSchema) -> dict:
    return payload.model_dump(exclude_unset=True)


# Procedure codes ----------------------------------------------------------------------------------


@router.patch("/billing/codes/{uuid:code_id}", response={200: CodeOut, **ERRORS_VERSIONED}, url_name="billing_code")
def update_code(request, code_id: UUID, payload: CodeFields):
    """Change the description or whether it is timed; ``is_active: false`` retires it (refused
    while a technique still bills as it). The code itself never changes. Send
    `If-Match: "<version>"` (the ETag of your read): if it was saved since, the answer is
    412 and nothing changes."""
    code = setup.get_code(request.user, code_id, key=setup.MANAGE)
    expected = versions.if_match(request)
    data = _data(payload)
    active = data.pop("is_active", None)
    clean = setup.check_save_code(request.user, data, code) if data else None
    if active is not None and active != code.is_active:
        setup.check_set_code_active(request.user, code, active)
    with transaction.atomic():  # both changes, or neither
        if clean is not None:
            code = setup.do_save_code(request.user, clean, code, expected_version=expected)
            expected = code.version  # the next write follows this one
        if active is not None and active != code.is_active:
            code = setup.do_set_code_active(request.user, code, active, expected_version=expected)
    return code


# Technique -> code mapping ------------------------------------------------------------------------


class MappingOut(Schema):
    technique: str
    payer: NamedRef | None = Field(description="null: the practice-wide code.")
    code: CodeRef


class TechniqueCodeOut(Schema):
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
    "/billing/technique-codes", response={200: list[TechniqueCodeOut], **ERRORS}, url_name="billing_technique_codes"
)
def list_technique_codes(request):
    """Every technique, stroke and modality, with the code it bills as and payer exceptions."""
    return [_technique_out(row) for row in setup.mapping_table(request.user)]


def _technique_row(user, technique: str) -> dict:
    key = setup.clean_technique(technique)
    return _technique_out(next(r for r in setup.mapping_table(user) if r["key"] == key))


@router.get(
    "/billing/technique-codes/{technique}",
    response={200: TechniqueCodeOut, **ERRORS_WITH_ID},
    url_name="billing_technique_code",
)
def get_technique_code(request, technique: str):
    return _technique_row(request.user, technique)


@router.put(
    "/billing/technique-codes/{technique}",
    response={200: TechniqueCodeOut, **ERRORS_WITH_ID},
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
    response={200: TechniqueCodeOut, **ERRORS_WITH_ID},
    url_name="billing_technique_code",
)
def delete_technique_code(request, technique: str, query: Query[PayerQuery]):
    """Remove the practice-wide code (the technique is then not billed) or, with ``payer``,
    that payer's exception (it then gets the practice-wide code)."""
    setup.clean_technique(technique)
    clean = setup.check_map_technique(request.user, technique, {"code": None, "payer": query.payer})
    setup.do_map_technique(request.user, clean)
    return _technique_row(request.user, technique)
