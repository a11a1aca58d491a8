"""Billing pages: insurance (URL names in core/permissions.py URL_RULES, # billing: insurance).

A patient's policies (list, add, edit, deactivate/reactivate), superbills (one visit or a
period, as PDF), claims (list by status, a new claim for a charge, the claim page with its
history and moves, the CMS-1500 as PDF, JSON and CSV).

Thin: parse, access_* to read, check_*/do_* to write (billing/policies.py, claims.py,
superbill.py, cms1500.py), render.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from effleura.billing import access, claims, cms1500, policies, superbill
from effleura.billing.choices import ClaimStatus, IllnessQualifier, Priority, Relationship
from effleura.billing.models import Payer
from effleura.core.confirmation import NeedsConfirmation
from effleura.core.forms import VersionedForm, apply_errors, check_refused_form, conflict_status
from effleura.core.permissions import has_permission
from effleura.documents.pdf import pdf_response
from effleura.patients.chart import chart_context
from effleura.scheduling.choices import PlaceOfService

NAV = "billing"
TAB = "account"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class PolicyForm(forms.Form):
    payer = forms.ModelChoiceField(queryset=Payer.objects.none(), to_field_name="public_id", label="Insurer (payer)")
    member_id = forms.CharField(max_length=40, label="Member ID")
    group_number = forms.CharField(max_length=40, required=False)
    plan_name = forms.CharField(max_length=100, required=False)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.PRIMARY)
    relationship = forms.ChoiceField(
        choices=Relationship.choices, initial=Relationship.SELF, label="Patient's relationship to the subscriber"
    )
    subscriber_first_name = forms.CharField(max_length=100, required=False, label="Subscriber's first name")
    subscriber_last_name = forms.CharField(max_length=100, required=False, label="Subscriber's last name")
    subscriber_date_of_birth = forms.DateField(widget=DateInput(), required=False, label="Subscriber's date of birth")
    subscriber_address_line1 = forms.CharField(max_length=200, required=False, label="Subscriber's address")
    subscriber_city = forms.CharField(max_length=100, required=False, label="City")
    subscriber_region = forms.CharField(max_length=100, required=False, label="State / province")
    subscriber_postal_code = forms.CharField(max_length=20, required=False, label="Postal code")
    subscriber_phone = forms.CharField(max_length=40, required=False, label="Subscriber's phone")
    valid_from = forms.DateField(widget=DateInput(), required=False)
    valid_until = forms.DateField(widget=DateInput(), required=False)

    def __init__(self, *args, payer=None, **kwargs):
        super().__init__(*args, **kwargs)
        payers = Payer.objects.filter(is_active=True)
        if payer is not None:
            payers = payers | Payer.objects.filter(pk=payer.pk)
        self.fields["payer"].queryset = payers


class PolicyEditForm(VersionedForm, PolicyForm):
    """The edit page's form: it posts the version it was loaded with."""


class PeriodForm(forms.Form):
    start = forms.DateField(widget=DateInput(), label="From")
    end = forms.DateField(widget=DateInput(), label="To")


class MoveForm(forms.Form):
    to = forms.ChoiceField(choices=ClaimStatus.choices)
    on = forms.DateField(widget=DateInput(), required=False, label="On")
    payer_claim_number = forms.CharField(max_length=40, required=False, label="Payer's claim number")
    paid_amount = forms.CharField(max_length=20, required=False, label="Amount paid")
    reason = forms.CharField(max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    note = forms.CharField(max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DetailsForm(VersionedForm):
    """Boxes 10a–c and 14 of a claim."""

    employment_related = forms.BooleanField(required=False, label="10a. Related to employment (current or previous)")
    auto_accident = forms.BooleanField(required=False, label="10b. Related to an auto accident")
    accident_state = forms.CharField(
        max_length=2, required=False, label="State of the auto accident", help_text="Two letters, e.g. OR."
    )
    other_accident = forms.BooleanField(required=False, label="10c. Related to another accident")
    illness_date = forms.DateField(
        widget=DateInput(), required=False, label="14. Date of current illness, injury or pregnancy"
    )
    illness_qualifier = forms.ChoiceField(
        choices=[("", "—"), *IllnessQualifier.choices], required=False, label="14. Qualifier"
    )
    place_of_service = forms.ChoiceField(
        choices=PlaceOfService.choices,
        label="24B. Place of service",
        help_text="The location's, unless this visit was elsewhere (at home: 12).",
    )


def _details_initial(claim) -> dict:
    return {name: getattr(claim, name) for name in claims.DETAIL_FIELDS}


def _data(form) -> dict:
    return {k: v for k, v in form.cleaned_data.items() if k not in ("version", "loaded")}


# Policies ------------------------------------------------------------------------------


def _policy_context(request, patient, **extra) -> dict:
    context = chart_context(request, patient, TAB)
    context["can_manage"] = has_permission(request.user, "policy.manage")
    context["can_superbill"] = has_permission(request.user, "superbill.print")
    context.update(extra)
    return context


def patient_policies(request, patient_id):
    """The patient's policies; POST adds one (policy.manage, enforced by URL_RULES and check_*)."""
    patient, found = access.access_patient_policies(request.user, patient_id)
    form = PolicyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                clean = policies.check_save_policy(request.user, patient, _data(form))
                policies.do_save_policy(request.user, patient, clean)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, "Policy added.")
                return redirect("billing:policies", patient_id=patient.public_id)
        else:
            check_refused_form(form, lambda data: policies.check_save_policy(request.user, patient, data))
        status = 400
    context = _policy_context(request, patient, policies=found, form=form, period_form=PeriodForm())
    return render(request, "billing/insurance/policies.html", context, status=status)


def policy_edit(request, policy_id):
    policy = access.access_policy(request.user, policy_id, key="policy.manage", audit_it=False)
    patient = policy.patient
    form = PolicyEditForm(request.POST or None, initial=_policy_initial(policy), payer=policy.payer)
    # The page posts the version it showed: a save over another desk's newer one is refused
    # (409), showing what they changed, with this person's input kept.
    form.load_version(policy, policies.FIELDS, what="policy", initial=_policy_initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                clean = policies.check_save_policy(request.user, patient, _data(form), policy)
                policies.do_save_policy(request.user, patient, clean, policy, expected_version=form.expected_version())
            except ValidationError as exc:  # a StaleVersion becomes the form's conflict notice
                apply_errors(form, exc)
            else:
                messages.success(request, "Policy saved.")
                return redirect("billing:policies", patient_id=patient.public_id)
        else:
            check_refused_form(form, lambda data: policies.check_save_policy(request.user, patient, data, policy))
        status = conflict_status(form) if form.conflict else 400
    return render(
        request, "billing/insurance/policy_form.html", _policy_context(request, patient, form=form, policy=policy),
        status=status,
    )  # fmt: skip


def _policy_initial(policy) -> dict:
    initial = {f: getattr(policy, f) for f in policies.FIELDS if f != "payer"}
    initial["payer"] = policy.payer.public_id
    return initial


@require_POST
def policy_active(request, policy_id):
    policy = access.access_policy(request.user, policy_id, key="policy.manage", audit_it=False)
    active = request.POST.get("active") == "1"
    try:
        policies.check_set_policy_active(request.user, policy, active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        policies.do_set_policy_active(request.user, policy, active)
        messages.success(request, "Policy reactivated." if active else "Policy deactivated.")
    return redirect("billing:policies", patient_id=policy.patient.public_id)


# Superbills ----------------------------------------------------------------------------


def superbill_visit(request, charge_id):
    patient, charges = access.access_visit_superbill(request.user, charge_id)
    context = superbill.superbill_context(patient, charges)
    return pdf_response(
        request, "billing/insurance/pdf/superbill.html", context, filename=superbill.filename(patient, context["start"])
    )


def superbill_period(request, patient_id):
    """?start=&end= gives the PDF; without them (or with bad ones) the period form."""
    if "start" in request.GET or "end" in request.GET:
        try:
            patient, charges = access.access_period_superbill(
                request.user, patient_id, request.GET.get("start"), request.GET.get("end")
            )
        except ValidationError as exc:
            form = PeriodForm(request.GET)
            form.is_valid()
            apply_errors(form, exc)
            patient, _found = access.access_patient_policies(request.user, patient_id)
            context = _policy_context(request, patient, form=form)
            return render(request, "billing/insurance/superbill_period.html", context, status=400)
        start, end = superbill.parse_period(request.GET.get("start"), request.GET.get("end"))
        context = superbill.superbill_context(patient, charges, start=start, end=end)
        return pdf_response(
            request, "billing/insurance/pdf/superbill.html", context, filename=superbill.filename(patient, start)
        )
    patient, _found = access.access_patient_policies(request.user, patient_id)
    return render(
        request, "billing/insurance/superbill_period.html", _policy_context(request, patient, form=PeriodForm())
    )


# Claims --------------------------------------------------------------------------------


def claim_list(request):
    status = request.GET.get("status", "")
    if status not in ClaimStatus.values:
        status = ""
    found = access.access_claims(request.user, status=status)
    context = {
        "nav": NAV,
        "claims": found,
        "status": status,
        "statuses": ClaimStatus.choices,
        "limit": access.LIST_LIMIT,
    }
    return render(request, "billing/insurance/claim_list.html", context)


def claim_new(request, charge_id):
    charge = access.access_charge_for_claim(request.user, charge_id)
    options = claims.patient_active_policies(charge)
    error, warnings, chosen = "", [], request.POST.get("policy") or ""
    if request.method == "POST":
        data = {"policy": chosen or None, "confirm_warnings": request.POST.get("confirm_warnings") == "1"}
        try:
            claim = claims.do_create_claim(request.user, charge, claims.check_create_claim(request.user, charge, data))
        except NeedsConfirmation as exc:
            warnings = exc.warnings
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, "Draft claim created.")
            return redirect("billing:claim", claim_id=claim.public_id)
    context = {
        "nav": NAV, "charge": charge, "policies": options, "error": error, "warnings": warnings, "chosen": chosen,
    }  # fmt: skip
    return render(request, "billing/insurance/claim_new.html", context, status=400 if error or warnings else 200)


def _claim_lines(claim) -> list[tuple]:
    """Every line of the visit with the modifiers it carries on the claim (box 24D; None: a
    line with no unit, left off the form)."""
    lines = list(claim.charge.lines.select_related("code"))
    carried = {line.pk: " ".join(mods) for line, mods in cms1500.service_lines(claim, lines)}
    return [(line, carried.get(line.pk)) for line in lines]


def _claim_context(request, claim, **extra) -> dict:
    context = {
        "nav": NAV,
        "claim": claim,
        "charge": claim.charge,
        "lines": _claim_lines(claim),
        "events": claims.claim_events(claim),
        "missing": cms1500.missing(claim),
        "moves": [(s, claims.ACTION_LABELS[s]) for s in claims.next_statuses(claim)],
        "can_manage": has_permission(request.user, "claim.manage"),
        "can_export": has_permission(request.user, "claim.export"),
        "form": MoveForm(),
        "details_editable": claim.status in claims.EDITABLE,
    }
    if "details_form" not in extra:
        condition = DetailsForm(initial=_details_initial(claim))
        condition.load_version(claim, claims.DETAIL_FIELDS, what="claim", initial=_details_initial)
        context["details_form"] = condition
    context.update(extra)
    return context


def claim_detail(request, claim_id):
    claim = access.access_claim(request.user, claim_id)
    return render(request, "billing/insurance/claim.html", _claim_context(request, claim))


@require_POST
def claim_move(request, claim_id):
    claim = access.access_claim(request.user, claim_id, key="claim.manage", audit_it=False)
    form = MoveForm(request.POST)
    if form.is_valid():
        data = {k: v for k, v in _data(form).items() if k != "to" and v not in (None, "")}
        try:
            clean = claims.check_move_claim(request.user, claim, form.cleaned_data["to"], data)
            claims.do_move_claim(request.user, claim, clean)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Claim marked {ClaimStatus(form.cleaned_data['to']).label.lower()}.")
            return redirect("billing:claim", claim_id=claim.public_id)
    return render(request, "billing/insurance/claim.html", _claim_context(request, claim, form=form), status=400)


@require_POST
def claim_details(request, claim_id):
    """Save boxes 10a–c, 14 and 24B: the version checked, the person's input kept on a refusal."""
    claim = access.access_claim(request.user, claim_id, key="claim.manage", audit_it=False)
    form = DetailsForm(request.POST)
    form.load_version(claim, claims.DETAIL_FIELDS, what="claim", initial=_details_initial)
    if form.is_valid():
        try:
            clean = claims.check_save_details(request.user, claim, _data(form))
            claims.do_save_details(request.user, claim, clean, expected_version=form.expected_version())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Boxes 10, 14 and 24B saved.")
            return redirect("billing:claim", claim_id=claim.public_id)
    context = _claim_context(request, claim, details_form=form)
    status = 409 if form.conflict else 400
    return render(request, "billing/insurance/claim.html", context, status=status)


def claim_pdf(request, claim_id):
    claim = access.access_claim(request.user, claim_id, key="claim.export", audit_it=False)
    cms1500.record_export(request.user, claim, "PDF")
    return pdf_response(
        request,
        "billing/insurance/pdf/cms1500.html",
        # ?print=values: the values alone, for the red pre-printed form in the printer.
        cms1500.pdf_context(claim, form_drawn=request.GET.get("print") != "values"),
        filename=cms1500.filename(claim, "pdf"),
    )


def _download(body: str, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def claim_json(request, claim_id):
    claim = access.access_claim(request.user, claim_id, key="claim.export", audit_it=False)
    cms1500.record_export(request.user, claim, "JSON")
    body = cms1500.to_json(cms1500.claim_data(claim))
    return _download(body, "application/json", cms1500.filename(claim, "json"))


def claim_csv(request, claim_id):
    claim = access.access_claim(request.user, claim_id, key="claim.export", audit_it=False)
    cms1500.record_export(request.user, claim, "CSV")
    body = cms1500.to_csv(cms1500.claim_data(claim))
    return _download(body, "text/csv; charset=utf-8", cms1500.filename(claim, "csv"))


urlpatterns = [
    path("patients/<uuid:patient_id>/policies/", patient_policies, name="policies"),
    path("policies/<uuid:policy_id>/edit/", policy_edit, name="policy_edit"),
    path("policies/<uuid:policy_id>/active/", policy_active, name="policy_active"),
    path("charges/<uuid:charge_id>/superbill/", superbill_visit, name="superbill"),
    path("patients/<uuid:patient_id>/superbill/", superbill_period, name="superbill_period"),
    path("claims/", claim_list, name="claims"),
    path("charges/<uuid:charge_id>/claim/", claim_new, name="claim_new"),
    path("claims/<uuid:claim_id>/", claim_detail, name="claim"),
    path("claims/<uuid:claim_id>/move/", claim_move, name="claim_move"),
    path("claims/<uuid:claim_id>/details/", claim_details, name="claim_details"),
    path("claims/<uuid:claim_id>/cms1500.pdf", claim_pdf, name="claim_pdf"),
    path("claims/<uuid:claim_id>/cms1500.json", claim_json, name="claim_json"),
    path("claims/<uuid:claim_id>/cms1500.csv", claim_csv, name="claim_csv"),
]
