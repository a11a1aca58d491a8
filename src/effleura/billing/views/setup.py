"""Billing pages: the practice's billing set-up (procedure codes, which technique bills as
which code, payers, the fee schedule, package plans). Every role may read
(billing_setup.view), the owner and billing staff change (billing_setup.manage).

The new/edit (and a fee's delete) pages of codes, payers, fees and plans come from their
specs (billing/resources.py, which also puts their URL names in the permission table);
the landing page, retiring a code and the technique mapping are written here
(# billing: codes, mapping, ... in core/permissions.py URL_RULES).

Thin: parse a form, call setup.check_*/do_*, render."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from effleura.billing import resources, setup
from effleura.billing.setup_forms import TechniqueForm
from effleura.core.forms import apply_errors
from effleura.core.permissions import has_permission
from effleura.core.resources import page_urlpatterns

NAV = resources.NAV


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
    form = TechniqueForm(request.POST if request.method == "POST" else None, initial={"code": row["code"]})
    if request.method == "POST" and form.is_valid():
        try:
            clean = setup.check_map_technique(request.user, key, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            mapped = setup.do_map_technique(request.user, clean)
            whom = f" for {clean['payer'].name}" if clean["payer"] else ""
            if mapped is None:
                messages.success(request, f"{row['label']} is no longer mapped{whom}.")
            else:
                messages.success(request, f"{row['label']} now bills as {mapped.code.code}{whom}.")
            return redirect("billing:technique", technique=key)
    return render(request, "billing/setup/technique.html", {"nav": NAV, "row": row, "form": form})


urlpatterns = [
    path("setup/", setup_index, name="setup"),
    path("setup/codes/<uuid:code_id>/active/", code_active, name="code_active"),
    path("setup/techniques/<str:technique>/", technique, name="technique"),
    *page_urlpatterns(resources.CODES),
    *page_urlpatterns(resources.PAYERS),
    *page_urlpatterns(resources.FEES),
    *page_urlpatterns(resources.PLANS),
]
