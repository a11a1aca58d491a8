"""Referrals pages: referring providers (list, search while typing, new, edit, their page
with the patients they referred, deactivate). URL names are listed in core/permissions.py
URL_RULES (# referrals: providers and referrals).

Thin: parse, access_* to read, check_*/do_* to write (referrals/providers.py), render.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from effleura.core.forms import apply_errors
from effleura.core.permissions import has_permission
from effleura.referrals import access, providers
from effleura.referrals.models import ReferringProvider

NAV = "providers"


def _limit(name: str) -> int:
    return ReferringProvider._meta.get_field(name).max_length


class ProviderForm(forms.Form):
    first_name = forms.CharField(max_length=_limit("first_name"))
    last_name = forms.CharField(max_length=_limit("last_name"))
    credentials = forms.CharField(max_length=_limit("credentials"), required=False, help_text="e.g. MD, DO, NP, PA-C")
    practice_name = forms.CharField(max_length=_limit("practice_name"), required=False, label="Practice")
    npi = forms.CharField(
        max_length=20, required=False, label="NPI", help_text="10 digits, on the referral or prescription pad."
    )
    phone = forms.CharField(max_length=_limit("phone"), required=False)
    fax = forms.CharField(max_length=_limit("fax"), required=False)
    email = forms.CharField(max_length=_limit("email"), required=False)
    address_line1 = forms.CharField(max_length=_limit("address_line1"), required=False, label="Address")
    city = forms.CharField(max_length=_limit("city"), required=False)
    region = forms.CharField(max_length=_limit("region"), required=False, label="State / province")
    postal_code = forms.CharField(max_length=_limit("postal_code"), required=False)


def provider_list(request):
    q = request.GET.get("q", "").strip()[:100]
    show_inactive = request.GET.get("inactive") == "1"
    found = access.access_providers(request.user, q, include_inactive=show_inactive)
    context = {
        "nav": NAV,
        "providers": found,
        "q": q,
        "show_inactive": show_inactive,
        "can_manage": has_permission(request.user, "provider.manage"),
        "limit": access.PROVIDER_PAGE,
    }
    return render(request, "referrals/provider_list.html", context)


def provider_search(request):
    """The rows of the provider list for the words typed (htmx), at most SEARCH_LIMIT."""
    q = request.GET.get("q", "").strip()[:100]
    show_inactive = request.GET.get("inactive") == "1"
    found = access.access_providers(request.user, q, include_inactive=show_inactive, limit=access.SEARCH_LIMIT)
    return render(request, "referrals/provider_rows.html", {"providers": found, "q": q})


def provider_new(request):
    form = ProviderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            clean = providers.check_save_provider(request.user, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            provider = providers.do_save_provider(request.user, clean)
            messages.success(request, f"{provider.display_name} added.")
            return redirect("referrals:provider", provider_id=provider.public_id)
    return render(request, "referrals/provider_form.html", {"nav": NAV, "form": form, "provider": None})


def provider_edit(request, provider_id):
    provider = access.access_provider(request.user, provider_id, key="provider.manage")
    initial = {f: getattr(provider, f) for f in providers.FIELDS}
    form = ProviderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            clean = providers.check_save_provider(request.user, form.cleaned_data, provider)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            providers.do_save_provider(request.user, clean, provider)
            messages.success(request, f"{provider.display_name} saved.")
            return redirect("referrals:provider", provider_id=provider.public_id)
    return render(request, "referrals/provider_form.html", {"nav": NAV, "form": form, "provider": provider})


def provider_detail(request, provider_id):
    """The provider's details and the patients they referred (their referrals, newest first)."""
    provider = access.access_provider(request.user, provider_id)
    referrals = access.access_provider_referrals(request.user, provider)
    context = {
        "nav": NAV,
        "provider": provider,
        "referrals": referrals,
        "limit": access.PATIENTS_LIMIT,
        "can_manage": has_permission(request.user, "provider.manage"),
    }
    return render(request, "referrals/provider.html", context)


@require_POST
def provider_active(request, provider_id):
    provider = access.access_provider(request.user, provider_id, key="provider.manage")
    active = request.POST.get("active") == "1"
    try:
        providers.check_set_provider_active(request.user, provider, active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        providers.do_set_provider_active(request.user, provider, active)
        messages.success(request, f"{provider.display_name} {'reactivated' if active else 'deactivated'}.")
    return redirect("referrals:provider", provider_id=provider.public_id)


urlpatterns = [
    path("providers/", provider_list, name="providers"),
    path("providers/search/", provider_search, name="provider_search"),
    path("providers/new/", provider_new, name="provider_new"),
    path("providers/<uuid:provider_id>/", provider_detail, name="provider"),
    path("providers/<uuid:provider_id>/edit/", provider_edit, name="provider_edit"),
    path("providers/<uuid:provider_id>/active/", provider_active, name="provider_active"),
]
