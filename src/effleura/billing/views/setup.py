"""Billing pages: the practice's billing set-up (procedure codes, which technique bills as
which code, payers, the fee schedule, package plans). URL names are listed in
core/permissions.py URL_RULES (# billing: codes, mapping, ...): every role may read
(billing_setup.view), the owner and billing staff change (billing_setup.manage).

Thin: parse a form, call setup.check_*/do_*, render."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from effleura.billing import setup
from effleura.billing.choices import PlanType, UnitMethod
from effleura.billing.models import Payer, ProcedureCode
from effleura.core.permissions import has_permission
from effleura.scheduling.models import Service

NAV = "billing_setup"
FORM_TEMPLATE = "billing/setup/form.html"


# Forms --------------------------------------------------------------------------------------------


class CodeChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} · {obj.description[:70]}" + ("" if obj.is_active else " (retired)")


class CodeForm(forms.Form):
    code = forms.CharField(max_length=10, help_text="A CPT code (five digits, e.g. 97124) or HCPCS (e.g. G0283).")
    description = forms.CharField(max_length=200)
    timed = forms.BooleanField(required=False, label="Timed: billed in 15-minute units (8-minute rule)")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]


class TechniqueForm(forms.Form):
    payer = forms.ModelChoiceField(
        queryset=Payer.objects.filter(is_active=True),
        to_field_name="public_id",
        required=False,
        empty_label="Every payer (practice-wide)",
        help_text="Choose a payer to give it its own code (e.g. G0283 for Medicare).",
    )
    code = CodeChoice(
        queryset=ProcedureCode.objects.filter(is_active=True),
        to_field_name="public_id",
        required=False,
        empty_label="— not billed —",
        label="Bills as",
    )


class PayerForm(forms.Form):
    name = forms.CharField(max_length=150, help_text="As on the insurance card.")
    payer_id = forms.CharField(
        max_length=20, required=False, label="Payer ID", help_text="Electronic payer ID, if any."
    )
    address_line1 = forms.CharField(max_length=200, required=False, label="Claims address")
    address_line2 = forms.CharField(max_length=200, required=False, label="Address line 2")
    city = forms.CharField(max_length=100, required=False)
    region = forms.CharField(max_length=100, required=False, label="State / province")
    postal_code = forms.CharField(max_length=20, required=False)
    phone = forms.CharField(max_length=40, required=False, widget=forms.TextInput(attrs={"type": "tel"}))
    unit_method = forms.ChoiceField(
        choices=UnitMethod.choices,
        initial=UnitMethod.CMS,
        label="Counts timed units by",
        help_text="Medicare and many others: the 8-minute rule over all timed minutes. Some commercial payers: "
        "each code counted alone.",
    )
    plan_type = forms.ChoiceField(
        choices=PlanType.choices, initial=PlanType.GROUP, label="Insurance type", help_text="Box 1 of the claim form."
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active (offered for new policies)")


class FeeForm(forms.Form):
    code = CodeChoice(queryset=ProcedureCode.objects.none(), required=False, label="Procedure code (price per unit)")
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, label="…or a service (price per visit)"
    )
    payer = forms.ModelChoiceField(
        queryset=Payer.objects.none(), required=False, empty_label="Standard price (self-pay and fallback)"
    )
    amount = forms.CharField(max_length=20, label="Amount", help_text="Dollars and cents, e.g. 95.00.")

    def __init__(self, *args, fee=None, **kwargs):
        super().__init__(*args, **kwargs)
        for name, model in (("code", ProcedureCode), ("service", Service), ("payer", Payer)):
            current = getattr(fee, name, None) if fee else None
            self.fields[name].queryset = model.objects.filter(Q(is_active=True) | Q(pk=getattr(current, "pk", None)))
            self.fields[name].to_field_name = "public_id"


class PlanForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="As the client sees it, e.g. “10 × 60-minute massage”.")
    sessions = forms.IntegerField(min_value=1, max_value=setup.MAX_PACKAGE_SESSIONS)
    price = forms.CharField(max_length=20, help_text="For the whole package, e.g. 850.00.")
    valid_days = forms.IntegerField(
        min_value=1, max_value=setup.MAX_VALID_DAYS, initial=365, label="Valid for (days after purchase)"
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, empty_label="Any service",
        help_text="Only visits for this service use the package.",
    )  # fmt: skip
    is_active = forms.BooleanField(required=False, initial=True, label="Active (offered for sale)")

    def __init__(self, *args, plan=None, **kwargs):
        super().__init__(*args, **kwargs)
        current = plan.service if plan else None
        self.fields["service"].queryset = Service.objects.filter(Q(is_active=True) | Q(pk=getattr(current, "pk", None)))
        self.fields["service"].to_field_name = "public_id"


def _posted(request):
    """The submitted data, even when empty (so an empty submission shows what is missing)."""
    return request.POST if request.method == "POST" else None


def _apply_errors(form, exc: ValidationError) -> None:
    """Put an action's ValidationError beside the fields it names (or on top)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _form_page(request, form, title: str, *, record=None, extra: str = ""):
    context = {"nav": NAV, "form": form, "title": title, "record": record, "extra": extra}
    return render(request, FORM_TEMPLATE, context)


def _saved(request, form, check, do, message, *args):
    """Validate with ``check``, write with ``do``; back to the set-up page, or the form with errors."""
    try:
        clean = check(request.user, form.cleaned_data, *args)
    except ValidationError as exc:
        _apply_errors(form, exc)
        return None
    saved = do(request.user, clean, *args)
    messages.success(request, message(saved))
    return saved


# Landing page -------------------------------------------------------------------------------------


def setup_index(request):
    """Everything at once: codes, mapping, payers, fees, package plans. Five queries."""
    context = {
        "nav": NAV,
        "codes": setup.list_codes(request.user),
        "mapping": setup.mapping_table(request.user),
        "payers": setup.list_payers(request.user),
        "fees": setup.list_fees(request.user),
        "plans": [(plan, setup.per_session(plan)) for plan in setup.list_plans(request.user)],
        "can_manage": has_permission(request.user, setup.MANAGE),
    }
    return render(request, "billing/setup/index.html", context)


# Codes --------------------------------------------------------------------------------------------


def code_new(request):
    form = CodeForm(_posted(request))
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(request, form, setup.check_save_code, setup.do_save_code, lambda c: f"{c.code} added.")
    ):
        return redirect("billing:setup")
    return _form_page(request, form, "New procedure code")


def code_edit(request, code_id):
    code = setup.get_code(request.user, code_id, key=setup.MANAGE)
    form = CodeForm(_posted(request), editing=True, initial={"description": code.description, "timed": code.timed})
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(request, form, setup.check_save_code, setup.do_save_code, lambda c: f"{c.code} saved.", code)
    ):
        return redirect("billing:setup")
    return _form_page(request, form, f"Procedure code {code.code}", record=code, extra="code")


@require_POST
def code_active(request, code_id):
    code = setup.get_code(request.user, code_id, key=setup.MANAGE)
    active = request.POST.get("active") == "1"
    try:
        setup.check_set_code_active(request.user, code, active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        setup.do_set_code_active(request.user, code, active)
        messages.success(request, f"{code.code} {'reactivated' if active else 'retired'}.")
    return redirect("billing:setup")


# Technique mapping --------------------------------------------------------------------------------


def technique(request, technique):
    """One technique's code, practice-wide and per payer; set or remove either."""
    key = setup.clean_technique(technique)
    row = next(r for r in setup.mapping_table(request.user) if r["key"] == key)
    form = TechniqueForm(_posted(request), initial={"code": row["code"]})
    if request.method == "POST" and form.is_valid():
        try:
            clean = setup.check_map_technique(request.user, key, form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            mapped = setup.do_map_technique(request.user, clean)
            whom = f" for {clean['payer'].name}" if clean["payer"] else ""
            if mapped is None:
                messages.success(request, f"{row['label']} is no longer mapped{whom}.")
            else:
                messages.success(request, f"{row['label']} now bills as {mapped.code.code}{whom}.")
            return redirect("billing:technique", technique=key)
    return render(request, "billing/setup/technique.html", {"nav": NAV, "row": row, "form": form})


# Payers -------------------------------------------------------------------------------------------


def payer_new(request):
    form = PayerForm(_posted(request))
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(request, form, setup.check_save_payer, setup.do_save_payer, lambda p: f"{p.name} added.")
    ):
        return redirect("billing:setup")
    return _form_page(request, form, "New payer")


def payer_edit(request, payer_id):
    payer = setup.get_payer(request.user, payer_id, key=setup.MANAGE)
    form = PayerForm(_posted(request), initial={f: getattr(payer, f) for f in setup.PAYER_FIELDS})
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(request, form, setup.check_save_payer, setup.do_save_payer, lambda p: f"{p.name} saved.", payer)
    ):
        return redirect("billing:setup")
    return _form_page(request, form, payer.name, record=payer, extra="payer")


# Fees ---------------------------------------------------------------------------------------------


def _fee_message(fee) -> str:
    return f"Fee saved: {setup.fee_label(fee)}."


def fee_new(request):
    # ?code=<code uuid>, ?service=…, ?payer=… pre-fill the form from the set-up page's links.
    initial = {name: request.GET.get(name) for name in ("code", "service", "payer") if request.GET.get(name)}
    form = FeeForm(_posted(request), initial=initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(request, form, setup.check_save_fee, setup.do_save_fee, _fee_message)
    ):
        return redirect("billing:setup")
    return _form_page(request, form, "New fee")


def fee_edit(request, fee_id):
    fee = setup.get_fee(request.user, fee_id, key=setup.MANAGE)
    initial = {"code": fee.code, "service": fee.service, "payer": fee.payer, "amount": fee.amount}
    form = FeeForm(_posted(request), fee=fee, initial=initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(request, form, setup.check_save_fee, setup.do_save_fee, _fee_message, fee)
    ):
        return redirect("billing:setup")
    return _form_page(request, form, "Fee", record=fee, extra="fee")


@require_POST
def fee_delete(request, fee_id):
    fee = setup.get_fee(request.user, fee_id, key=setup.MANAGE)
    setup.check_delete_fee(request.user, fee)
    label = setup.fee_label(fee)
    setup.do_delete_fee(request.user, fee)
    messages.success(request, f"Fee removed: {label}.")
    return redirect("billing:setup")


# Package plans ------------------------------------------------------------------------------------


def plan_new(request):
    form = PlanForm(_posted(request))
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(request, form, setup.check_save_plan, setup.do_save_plan, lambda p: f"{p.name} added.")
    ):
        return redirect("billing:setup")
    return _form_page(request, form, "New package plan")


def plan_edit(request, plan_id):
    plan = setup.get_plan(request.user, plan_id, key=setup.MANAGE)
    initial = {f: getattr(plan, f) for f in setup.PLAN_FIELDS}
    form = PlanForm(_posted(request), plan=plan, initial=initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(request, form, setup.check_save_plan, setup.do_save_plan, lambda p: f"{p.name} saved.", plan)
    ):
        return redirect("billing:setup")
    return _form_page(request, form, plan.name, record=plan, extra="plan")


urlpatterns = [
    path("setup/", setup_index, name="setup"),
    path("setup/codes/new/", code_new, name="code_new"),
    path("setup/codes/<uuid:code_id>/", code_edit, name="code_edit"),
    path("setup/codes/<uuid:code_id>/active/", code_active, name="code_active"),
    path("setup/techniques/<str:technique>/", technique, name="technique"),
    path("setup/payers/new/", payer_new, name="payer_new"),
    path("setup/payers/<uuid:payer_id>/", payer_edit, name="payer_edit"),
    path("setup/fees/new/", fee_new, name="fee_new"),
    path("setup/fees/<uuid:fee_id>/", fee_edit, name="fee_edit"),
    path("setup/fees/<uuid:fee_id>/delete/", fee_delete, name="fee_delete"),
    path("setup/plans/new/", plan_new, name="plan_new"),
    path("setup/plans/<uuid:plan_id>/", plan_edit, name="plan_edit"),
]
