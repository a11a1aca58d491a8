"""Referring providers: validation in plain words, NPI check and uniqueness, search while
typing, the provider page with their referred patients (bounded queries), deactivation,
roles."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from effleura.core.models import AuditEvent
from effleura.referrals import access, providers
from effleura.referrals.models import ReferringProvider

from .conftest import NPI_A, NPI_B, NPI_C


def errors_of(actor, data, provider=None) -> dict:
    with pytest.raises(ValidationError) as caught:
        providers.check_save_provider(actor, data, provider)
    return {k: " ".join(v) for k, v in caught.value.message_dict.items()}


def test_names_are_required(owner):
    errors = errors_of(owner, {"first_name": " ", "last_name": ""})
    assert errors["first_name"] == "Enter the provider's first name."
    assert errors["last_name"] == "Enter the provider's last name."


@pytest.mark.parametrize("npi", ["1234567890", "123456789", "12345678931", "12345678a3", "123 456 789"])
def test_a_bad_npi_is_refused_in_plain_words(owner, npi):
    errors = errors_of(owner, {"first_name": "A", "last_name": "B", "npi": npi})
    assert "10 digits" in errors["npi"] and "check digit" in errors["npi"]


def test_npi_is_optional_and_stored_when_valid(make_provider):
    assert make_provider(npi="").npi == ""
    assert make_provider(npi=NPI_B).npi == NPI_B


def test_a_second_provider_with_the_same_npi_is_refused_naming_the_first(owner, provider):
    errors = errors_of(owner, {"first_name": "Other", "last_name": "Person", "npi": NPI_A})
    assert errors["npi"] == f"NPI {NPI_A} already belongs to Ada Fakeson, MD."


def test_editing_keeps_its_own_npi_and_changes_only_what_is_sent(owner, provider):
    clean = providers.check_save_provider(owner, {"phone": "555-0111"}, provider)
    providers.do_save_provider(owner, clean, provider)
    provider.refresh_from_db()
    assert provider.phone == "555-0111" and provider.npi == NPI_A and provider.practice_name


def test_email_is_checked(owner):
    errors = errors_of(owner, {"first_name": "A", "last_name": "B", "email": "not-an-address"})
    assert "email address" in errors["email"]


def test_unknown_fields_are_refused(owner):
    with pytest.raises(ValidationError, match="Unknown field"):
        providers.check_save_provider(owner, {"first_name": "A", "last_name": "B", "is_demo": True})


@pytest.mark.parametrize("role", ["billing", "outsider"])
def test_only_owner_therapist_and_front_desk_manage_providers(request, role):
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        providers.check_save_provider(user, {"first_name": "A", "last_name": "B"})


@pytest.mark.parametrize("role", ["therapist", "front_desk"])
def test_therapist_and_front_desk_add_providers(request, role, make_provider):
    assert make_provider(actor=request.getfixturevalue(role)).pk


def test_creation_and_changes_are_audited(owner, provider):
    events = AuditEvent.objects.filter(record_type="referring_provider", record_id=str(provider.public_id))
    assert [e.detail for e in events] == ["provider created"]


def test_search_by_name_practice_and_npi(owner, provider, make_provider):
    other = make_provider(first_name="Bob", last_name="Mockley", practice_name="Nowhere Clinic", npi=NPI_C)
    assert access.access_providers(owner, "fakeson") == [provider]
    assert access.access_providers(owner, "synthetic family") == [provider]
    assert access.access_providers(owner, "1987") == [other]
    assert access.access_providers(owner, "nothing-like-it") == []


def test_deactivated_providers_leave_the_list_and_the_referral_form(owner, provider, make_provider):
    providers.check_set_provider_active(owner, provider, False)
    providers.do_set_provider_active(owner, provider, False)
    assert provider not in access.access_providers(owner)
    assert provider in access.access_providers(owner, include_inactive=True)
    with pytest.raises(ValidationError, match="already inactive"):
        providers.check_set_provider_active(owner, provider, False)
    assert AuditEvent.objects.filter(detail="provider deactivated").count() == 1


# Pages -----------------------------------------------------------------------------------


def test_the_list_and_the_search_while_typing(client_for, billing, provider):
    page = client_for(billing).get(reverse("referrals:providers"))
    assert page.status_code == 200
    assert "Ada Fakeson, MD" in page.content.decode()
    assert 'hx-get="' + reverse("referrals:provider_search") in page.content.decode()
    rows = client_for(billing).get(reverse("referrals:provider_search"), {"q": "fakes"})
    assert rows.status_code == 200 and "Ada Fakeson" in rows.content.decode()
    assert "<html" not in rows.content.decode()
    none = client_for(billing).get(reverse("referrals:provider_search"), {"q": "zzz"})
    assert "No provider matches" in none.content.decode()


def test_the_search_is_bounded(client_for, owner, make_provider):
    for n in range(25):
        ReferringProvider.objects.create(first_name=f"Bulk{n}", last_name="Synthetic")
    client = client_for(owner)
    client.get(reverse("referrals:provider_search"), {"q": "bulk"})  # warm up
    with CaptureQueriesContext(connection) as queries:
        rows = client.get(reverse("referrals:provider_search"), {"q": "bulk"})
    assert rows.content.decode().count("<tr") == access.SEARCH_LIMIT
    assert len(queries) <= 4  # session, user, the search (no per-row query)


def test_adding_a_provider_in_the_browser(client_for, front_desk):
    client = client_for(front_desk)
    assert client.get(reverse("referrals:provider_new")).status_code == 200
    bad = client.post(reverse("referrals:provider_new"), {"first_name": "Cy", "last_name": "Test", "npi": "1234567890"})
    assert bad.status_code == 200 and "check digit" in bad.content.decode()
    good = client.post(reverse("referrals:provider_new"), {"first_name": "Cy", "last_name": "Test", "npi": NPI_B})
    created = ReferringProvider.objects.get(npi=NPI_B)
    assert good.status_code == 302 and good["Location"] == reverse("referrals:provider", args=[created.public_id])


def test_editing_and_deactivating_in_the_browser(client_for, therapist, provider):
    client = client_for(therapist)
    url = reverse("referrals:provider_edit", args=[provider.public_id])
    assert client.get(url).status_code == 200
    data = {f: getattr(provider, f) for f in providers.FIELDS} | {"fax": "555-0177"}
    assert client.post(url, data).status_code == 302
    provider.refresh_from_db()
    assert provider.fax == "555-0177"
    client.post(reverse("referrals:provider_active", args=[provider.public_id]), {"active": "0"})
    provider.refresh_from_db()
    assert not provider.is_active


@pytest.mark.parametrize("role", ["billing", "outsider"])
def test_billing_and_outsiders_cannot_add_or_change(request, client_for, role, provider):
    client = client_for(request.getfixturevalue(role))
    assert client.get(reverse("referrals:provider_new")).status_code == 403
    assert (
        client.post(reverse("referrals:provider_active", args=[provider.public_id]), {"active": "0"}).status_code == 403
    )
    provider.refresh_from_db()
    assert provider.is_active


def test_outsiders_and_anonymous_cannot_list(client, client_for, outsider, provider):
    assert client_for(outsider).get(reverse("referrals:providers")).status_code == 403
    assert client.get(reverse("referrals:providers")).status_code in (302, 401, 403)


def test_the_provider_page_lists_referred_patients_in_bounded_queries(
    client_for, billing, provider, make_patient, make_referral
):
    client = client_for(billing)
    url = reverse("referrals:provider", args=[provider.public_id])
    make_referral(make_patient(legal_first_name="Firstref"))
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(5):
        make_referral(make_patient(legal_first_name=f"Moreref{n}"))
    with CaptureQueriesContext(connection) as six:
        page = client.get(url)
    html = page.content.decode()
    assert "Firstref" in html and "Moreref4" in html
    assert len(six) == len(one)
    # the patients shown are audited, in one insert
    assert AuditEvent.objects.filter(record_type="referral", detail="provider's referred patients").count() >= 6


def test_every_bad_field_is_named_at_once_and_numbers_are_stored_in_one_format(owner, client_for):
    from effleura.core.phones import NOT_A_PHONE

    errors = errors_of(owner, {"first_name": "", "last_name": "Test", "npi": "1234567890", "phone": "12", "fax": "x"})
    assert set(errors) == {"first_name", "npi", "phone", "fax"}
    assert errors["phone"] == errors["fax"] == NOT_A_PHONE
    page = client_for(owner).post(
        reverse("referrals:provider_new"), {"first_name": "", "last_name": "Test", "npi": "1234567890", "fax": "12"}
    )
    text = page.content.decode()
    assert "3 problems need fixing before this can be saved" in text
    clean = providers.check_save_provider(owner, {"first_name": "Cy", "last_name": "Test", "phone": "503-555-0160"})
    assert clean["phone"] == "(503) 555-0160"
