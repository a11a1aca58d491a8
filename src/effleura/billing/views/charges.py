"""Billing pages: charges (URL names in core/permissions.py URL_RULES, # billing: charges).

The list of charges (open ones by default: what is waiting to be invoiced), a charge's page
with its lines, minutes, units and adjustments, the adjust form and voiding. Thin: parse,
access_* to read, check_*/do_* to write (billing/charges.py), render.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from effleura.billing import access, charges
from effleura.billing.choices import ChargeStatus
from effleura.billing.models import ProcedureCode
from effleura.core.forms import apply_errors
from effleura.core.permissions import has_permission

NAV = "billing"
STATUSES = {"": "All", **dict(ChargeStatus.choices)}


class AdjustForm(forms.Form):
    """Units per line (0–99), codes to remove, one code to add, and the reason."""

    add_code = forms.ChoiceField(required=False, label="Add a code")
    add_units = forms.IntegerField(required=False, min_value=0, max_value=charges.MAX_UNITS, label="Its units")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=charges.REASON_MAX, help_text="Kept with the charge."
    )

    def __init__(self, charge, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(charge.lines.all())
        for line in self.lines:
            self.fields[f"units_{line.code.code}"] = forms.IntegerField(
                min_value=0, max_value=charges.MAX_UNITS, initial=line.units, label=f"{line.code.code} units"
            )
            self.fields[f"remove_{line.code.code}"] = forms.BooleanField(
                required=False, label=f"Remove {line.code.code}"
            )
        present = {line.code.code for line in self.lines}
        choices = [("", "—")] + [
            (c.code, f"{c.code} · {c.description[:60]}")
            for c in ProcedureCode.objects.filter(is_active=True).order_by("code")
            if c.code not in present
        ]
        self.fields["add_code"].choices = choices

    def line_fields(self):
        return [(line, self[f"units_{line.code.code}"], self[f"remove_{line.code.code}"]) for line in self.lines]

    def data_for_check(self) -> dict:
        d = self.cleaned_data
        rows = [
            {"code": line.code.code, "units": d[f"units_{line.code.code}"]}
            for line in self.lines
            if not d.get(f"remove_{line.code.code}")
        ]
        if d.get("add_code"):
            rows.append({"code": d["add_code"], "units": d.get("add_units") if d.get("add_units") is not None else 1})
        return {"lines": rows, "reason": d["reason"]}


class VoidForm(forms.Form):
    reason = forms.CharField(max_length=200, label="Why void this charge?")


def charge_list(request):
    status = request.GET.get("status", ChargeStatus.OPEN)
    if status not in STATUSES:
        status = ChargeStatus.OPEN
    found = access.access_charges(request.user, status=status)
    context = {
        "nav": NAV,
        "charges": found,
        "status": status,
        "statuses": STATUSES.items(),
        "limit": access.LIST_LIMIT,
        "everyone": access.sees_everyones(request.user),
    }
    return render(request, "billing/charges/list.html", context)


def _page(request, charge, *, adjust_form=None, void_form=None, status=200):
    can_adjust = (
        charge.status == ChargeStatus.OPEN
        and has_permission(request.user, "charge.adjust")
        and (access.sees_everyones(request.user) or charge.practitioner_id == request.user.pk)
    )
    can_void = charge.status in (ChargeStatus.OPEN, ChargeStatus.PACKAGE) and has_permission(
        request.user, "billing.manage"
    )
    context = {
        "nav": NAV,
        "charge": charge,
        "lines": list(charge.lines.all()),
        "adjustments": list(charge.adjustments.all()),
        "diagnoses": list(zip(charges.POINTER_LETTERS, charge.diagnosis_codes or [], strict=False)),
        "can_adjust": can_adjust,
        "can_void": can_void,
        "can_see_note": charge.note_id is not None and has_permission(request.user, "clinical.view"),
        "claims": (
            list(charge.claims.select_related("policy__payer").order_by("created_at", "id"))
            if has_permission(request.user, "claim.view")
            else []
        ),
        "adjust_form": adjust_form if adjust_form is not None else (AdjustForm(charge) if can_adjust else None),
        "void_form": void_form if void_form is not None else (VoidForm() if can_void else None),
    }
    return render(request, "billing/charges/charge.html", context, status=status)


def charge_page(request, charge_id):
    return _page(request, access.access_charge(request.user, charge_id))


def charge_adjust(request, charge_id):
    charge = access.access_charge(request.user, charge_id, key="charge.adjust", audit_it=False)
    form = AdjustForm(charge, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            adjustment = charges.check_adjust_charge(request.user, charge, form.data_for_check())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            charges.do_adjust_charge(request.user, charge, adjustment)
            messages.success(request, "Charge adjusted; the change and its reason are kept.")
            return redirect("billing:charge", charge_id=charge.public_id)
    status = 400 if request.method == "POST" else 200
    charge = access.access_charge(request.user, charge_id, audit_it=request.method == "GET")
    return _page(request, charge, adjust_form=form, status=status)


@require_POST
def charge_void(request, charge_id):
    charge = access.access_charge(request.user, charge_id, key="billing.manage", audit_it=False)
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            reason = charges.check_void_charge(request.user, charge, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            charges.do_void_charge(request.user, charge, reason)
            messages.success(request, "Charge voided.")
            return redirect("billing:charge", charge_id=charge.public_id)
    return _page(request, charge, void_form=form, status=400)


urlpatterns = [
    path("charges/", charge_list, name="charges"),
    path("charges/<uuid:charge_id>/", charge_page, name="charge"),
    path("charges/<uuid:charge_id>/adjust/", charge_adjust, name="charge_adjust"),
    path("charges/<uuid:charge_id>/void/", charge_void, name="charge_void"),
]
