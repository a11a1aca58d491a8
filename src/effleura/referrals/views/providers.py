"""Referrals pages: referring providers (list, search while typing, new, edit, their page
with the patients they referred, deactivate). URL names are listed in core/permissions.py
URL_RULES (# referrals: providers and referrals); the new and edit pages, and their
entries there, come from the provider's spec (referrals/resources.py).

Thin: parse, access_* to read, check_*/do_* to write (referrals/providers.py), render.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from effleura.core.permissions import has_permission
from effleura.core.resources import page_urlpatterns
from effleura.referrals import access, providers
from effleura.referrals.resources import NAV, PROVIDERS


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
    path("providers/<uuid:provider_id>/", provider_detail, name="provider"),
    path("providers/<uuid:provider_id>/active/", provider_active, name="provider_active"),
    *page_urlpatterns(PROVIDERS),  # provider_new, provider_edit (referrals/resources.py)
]
