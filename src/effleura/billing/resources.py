"""The billing set-up as declared resources (core/resources.py): procedure codes, payers,
the fee schedule and package plans. Each spec names the rules (setup.py), the API shapes
(setup_schemas.py) and the pages (setup_forms.py); from them come the API routes
(api_setup.py), the pages (views/setup.py) and their entries in the permission table:
every role reads (billing_setup.view), the owner and billing staff write
(billing_setup.manage).

Codes, payers and plans are never deleted (charges, claims, policies and sold packages
name them): they are retired instead. A fee may be removed.

Registered by BillingConfig.ready(). The technique -> code mapping is not a record of its
own (one row per technique and payer, keyed by the knowledge base): its pages and API
stay in views/setup.py and api_setup.py.
"""

from django.urls import reverse

from effleura.billing import modifiers, setup
from effleura.billing import setup_forms as forms
from effleura.billing import setup_schemas as schemas
from effleura.billing.models import FeeScheduleEntry, PackagePlan, Payer, ProcedureCode
from effleura.core.models import Practice
from effleura.core.resources import ActiveQuery, Api, Pages, Resource, register, rules_of
from effleura.core.values import format_amount

NAV = "billing_setup"
VIEW, MANAGE = setup.VIEW, setup.MANAGE
SECTION = "Billing set-up"


def _to_setup(record, parent) -> tuple[str, str]:
    return reverse("billing:setup"), SECTION


def _typed(amount) -> str:
    """An amount as the practice types it (its decimal separator), to fill a form field with."""
    return format_amount(amount, Practice.current().decimal_separator)


def _added_or_saved(name):
    return lambda record, created: f"{name(record)} {'added' if created else 'saved'}."


def _pages(prefix: str, form, title_new: str, **more) -> Pages:
    return Pages(
        app="billing", nav=NAV, prefix=prefix, form=form, title_new=title_new, back=_to_setup, section=SECTION, **more
    )


CODES = Resource(
    name="code", label="procedure code", model=ProcedureCode, view_key=VIEW, manage_key=MANAGE,
    **rules_of(setup, "code", "codes"),
    api=Api(
        path="/billing/codes", names=("billing_codes", "billing_code"), query=schemas.CodeQuery,
        filters={"active": "is_active"}, out=schemas.CodeOut, create=schemas.CodeCreate,
        patch=None,  # api_setup.py: a PATCH may also retire the code
    ),
    pages=_pages(
        "setup/codes/", forms.CodeForm, "New procedure code", template="billing/setup/code_form.html",
        title=lambda code: f"Procedure code {code.code}", form_kwargs=lambda code: {"editing": code is not None},
        initial=lambda code: {"description": code.description, "timed": code.timed},
        saved=_added_or_saved(lambda code: code.code),
    ),
)  # fmt: skip


def _payer_initial(payer) -> dict:
    initial = {name: getattr(payer, name) for name in forms.PayerForm.base_fields}
    return initial | {"pair_modifiers": modifiers.pairs_text(payer.pair_modifiers)}


PAYERS = Resource(
    name="payer", label="payer", model=Payer, view_key=VIEW, manage_key=MANAGE,
    **rules_of(setup, "payer", "payers"),
    api=Api(
        path="/billing/payers", names=("billing_payers", "billing_payer"), query=ActiveQuery,
        filters={"active": "is_active"}, out=schemas.PayerOut, create=schemas.PayerCreate, patch=schemas.PayerFields,
        docs={"update": "``is_active: false`` keeps it off new policies; its policies and claims stay."},
    ),
    pages=_pages(
        "setup/payers/", forms.PayerForm, "New payer", title=lambda payer: payer.name,
        saved=_added_or_saved(lambda payer: payer.name), initial=_payer_initial,
    ),
)  # fmt: skip


def _fee_initial(request) -> dict:
    # ?code=<code uuid>, ?service=…, ?payer=… pre-fill the form from the set-up page's links.
    return {name: request.GET.get(name) for name in ("code", "service", "payer") if request.GET.get(name)}


FEES = Resource(
    name="fee", label="fee", model=FeeScheduleEntry, view_key=VIEW, manage_key=MANAGE,
    **rules_of(setup, "fee", "fees"),
    api=Api(
        path="/billing/fees", names=("billing_fees", "billing_fee"), query=schemas.FeeQuery,
        filters={"payer": "payer__public_id", "standard": "payer__isnull"},
        out=schemas.FeeOut, create=schemas.FeeCreate, patch=schemas.FeeFields,
        docs={
            "create": "One price per code (or service and visit length) per payer, and one standard price: "
            "a second is refused.",
            "delete": "Charges already made keep their amounts.",
        },
    ),
    pages=_pages(
        "setup/fees/", forms.FeeForm, "New fee", title_edit="Fee", form_kwargs=lambda fee: {"fee": fee},
        initial=lambda fee: {
            "code": fee.code, "service": fee.service, "minutes": fee.minutes, "payer": fee.payer,
            "amount": _typed(fee.amount),
        },
        new_initial=_fee_initial, saved=lambda fee, created: f"Fee saved: {setup.fee_label(fee)}.",
        delete_label="Remove this fee",
        delete_hint="Charges already made keep their amounts; new visits fall back to the standard price.",
        deleted=lambda fee: f"Fee removed: {setup.fee_label(fee)}.",
    ),
)  # fmt: skip

PLANS = Resource(
    name="plan", label="package plan", model=PackagePlan, view_key=VIEW, manage_key=MANAGE,
    **rules_of(setup, "plan", "plans"),
    api=Api(
        path="/billing/package-plans", names=("billing_package_plans", "billing_package_plan"), words=("plans", "plan"),
        query=ActiveQuery, filters={"active": "is_active"},
        out=schemas.PackagePlanOut, create=schemas.PlanCreate, patch=schemas.PlanFields,
    ),
    pages=_pages(
        "setup/plans/", forms.PlanForm, "New package plan", title=lambda plan: plan.name,
        form_kwargs=lambda plan: {"plan": plan}, saved=_added_or_saved(lambda plan: plan.name),
        initial=lambda plan: {
            **{name: getattr(plan, name) for name in forms.PlanForm.base_fields}, "price": _typed(plan.price),
        },
    ),
)  # fmt: skip

RESOURCES = (CODES, PAYERS, FEES, PLANS)


def register_all() -> None:
    register(*RESOURCES)
