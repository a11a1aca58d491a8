"""Referring providers as a declared resource (core/resources.py): its new and edit pages
and their entries in the permission table come from the spec below. Every role looks
providers up (provider.view); the owner, therapists and the front desk add and change
them (provider.manage). Providers are never deleted (referrals name them): they are
deactivated (views/providers.py). Their API, a search rather than a paged list, is in
api_referrals.py. Registered by ReferralsConfig.ready().
"""

from django import forms
from django.urls import reverse

from effleura.core.resources import Pages, Resource, register
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


def _to_provider(provider, parent) -> tuple[str, str]:
    if provider is None:
        return reverse("referrals:providers"), "Referring providers"
    return reverse("referrals:provider", args=[provider.public_id]), provider.display_name


PROVIDERS = Resource(
    name="provider", label="provider", model=ReferringProvider, view_key="provider.view",
    manage_key="provider.manage", list=access.access_providers, get=access.access_provider,
    check_save=providers.check_save_provider, do_save=providers.do_save_provider,
    pages=Pages(
        app="referrals", nav=NAV, prefix="providers/", edit_suffix="edit/", form=ProviderForm,
        template="referrals/provider_form.html", title_new="Add a referring provider",
        title=lambda provider: f"Edit {provider.display_name}", back=_to_provider,
        initial=lambda provider: {f: getattr(provider, f) for f in providers.FIELDS},
        saved=lambda provider, created: f"{provider.display_name} {'added' if created else 'saved'}.",
    ),
)  # fmt: skip


def register_all() -> None:
    register(PROVIDERS)
