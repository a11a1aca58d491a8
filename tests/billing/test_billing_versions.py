"""No lost edits in billing (issue 11): a patient's insurance policy and an invoice carry a
version. Two desks editing one policy: the second save is refused (409 on the page, naming
what the first changed and keeping the second's input; 412 in the API) and nothing
changes. Voiding an invoice is a write: it moves the version on, and a void sent with a
stale If-Match is refused. (Set-up records: tests/core/test_resources.py.)"""

import json

import pytest
from django.db import connection
from django.urls import reverse
from html_forms import form_fields
from race_helpers import racing_writes, token_client

from effleura.billing import invoices, policies
from effleura.billing.choices import InvoiceStatus
from effleura.billing.models import Invoice, Policy

from .insurance_helpers import invoice_for, make_charge


def patch(client, url, data, **headers):
    return client.patch(url, json.dumps(data), content_type="application/json", **headers)


@pytest.fixture
def policy(front_desk, make_patient, make_payer):
    patient, payer = make_patient(), make_payer()
    data = {"payer": payer.public_id, "member_id": "SYN0001", "group_number": "GRP1"}
    return policies.do_save_policy(front_desk, patient, policies.check_save_policy(front_desk, patient, data))


@pytest.fixture
def invoice(make_patient, therapist, billing):
    charge = make_charge(make_patient(), therapist, status="invoiced")
    return invoice_for([charge], billing, "2026-09001")


# Policies ----------------------------------------------------------------------------------------


def test_a_stale_policy_edit_is_refused_and_shows_what_the_other_desk_changed(client_for, front_desk, billing, policy):
    assert policy.version == 1
    url = reverse("billing:policy_edit", args=[policy.public_id])
    desk, office = client_for(front_desk), client_for(billing)
    form_a, form_b = form_fields(desk.get(url).content), form_fields(office.get(url).content)
    assert form_a["version"] == form_b["version"] == "1"
    assert desk.post(url, {**form_a, "member_id": "SYN0002"}).status_code == 302

    answer = office.post(url, {**form_b, "group_number": "GRP9"})
    assert answer.status_code == 409
    page = answer.content.decode()
    assert "saved this policy" in page and "after you opened it" in page
    assert "SYN0002" in page and "GRP9" in page
    saved = Policy.objects.get(pk=policy.pk)
    assert (saved.member_id, saved.group_number, saved.version) == ("SYN0002", "GRP1", 2)

    again = form_fields(page)
    assert again["version"] == "2" and again["group_number"] == "GRP9"
    assert office.post(url, {**again, "member_id": "SYN0002"}).status_code == 302
    saved.refresh_from_db()
    assert (saved.member_id, saved.group_number, saved.version) == ("SYN0002", "GRP9", 3)


def test_deactivating_a_policy_moves_its_version_on(front_desk, policy):
    policies.check_set_policy_active(front_desk, policy, False)
    assert policies.do_set_policy_active(front_desk, policy, False).version == 2


def test_the_policy_api_sends_the_version_and_refuses_a_stale_patch(client_for, front_desk, policy):
    client = client_for(front_desk)
    url = reverse("api:billing_policy", args=[policy.public_id])
    got = client.get(url)
    assert got["ETag"] == '"1"' and got.json()["version"] == 1
    first = patch(client, url, {"member_id": "API0001"}, HTTP_IF_MATCH='"1"')
    assert first.status_code == 200 and first["ETag"] == '"2"' and first.json()["version"] == 2
    stale = patch(client, url, {"member_id": "API0002", "is_active": False}, HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412 and stale.json()["version"] == 2 and stale["ETag"] == '"2"'
    saved = Policy.objects.get(pk=policy.pk)
    assert (saved.member_id, saved.is_active, saved.version) == ("API0001", True, 2)
    assert patch(client, url, {"member_id": "x"}, HTTP_IF_MATCH='"2", "3"').status_code == 412
    assert patch(client, url, {"member_id": "API0003"}, HTTP_IF_MATCH="*").status_code == 200
    assert patch(client, url, {"member_id": "API0004"}).status_code == 200
    listed = client.get(reverse("api:billing_policies", args=[policy.patient.public_id])).json()
    assert listed[0]["version"] == 4


def test_a_new_policy_answer_carries_its_etag(client_for, front_desk, make_patient, make_payer):
    patient, payer = make_patient(), make_payer()
    url = reverse("api:billing_policies", args=[patient.public_id])
    made = client_for(front_desk).post(
        url, json.dumps({"payer_id": str(payer.public_id), "member_id": "SYN0003"}), content_type="application/json"
    )
    assert made.status_code == 201 and made["ETag"] == '"1"' and made.json()["version"] == 1


# Invoices ----------------------------------------------------------------------------------------


def test_voiding_an_invoice_moves_its_version_on(billing, invoice):
    assert invoice.version == 1
    voided = invoices.do_void_invoice(billing, invoice, invoices.check_void_invoice(billing, invoice, {"reason": "x"}))
    assert (voided.status, voided.version) == (InvoiceStatus.VOID, 2)


def test_the_invoice_api_sends_the_version_and_refuses_a_stale_void(client_for, billing, invoice):
    client = client_for(billing)
    url = reverse("api:billing_invoice", args=[invoice.public_id])
    got = client.get(url)
    assert got["ETag"] == '"1"' and got.json()["version"] == 1
    Invoice.objects.filter(pk=invoice.pk).update(version=2)  # changed meanwhile
    void = reverse("api:billing_invoice_void", args=[invoice.public_id])
    body = json.dumps({"reason": "Entered twice (synthetic)."})
    stale = client.post(void, body, content_type="application/json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412 and stale.json()["version"] == 2
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.ISSUED
    done = client.post(void, body, content_type="application/json", HTTP_IF_MATCH='"2"')
    assert done.status_code == 200 and done["ETag"] == '"3"' and done.json()["version"] == 3


def test_the_invoice_page_refuses_a_void_from_a_stale_page(client_for, billing, invoice):
    client = client_for(billing)
    page = client.get(reverse("billing:invoice", args=[invoice.public_id])).content.decode()
    void = reverse("billing:invoice_void", args=[invoice.public_id])
    stale = form_fields(page, action=void)
    assert stale["version"] == "1"
    Invoice.objects.filter(pk=invoice.pk).update(version=2)
    answer = client.post(void, {**stale, "reason": "Entered twice (synthetic)."}, follow=True)
    assert "Someone else saved this invoice after you opened it" in answer.content.decode()
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.ISSUED


# Races (PostgreSQL) --------------------------------------------------------------------------------


def _race(user, method: str, path: str, body: dict) -> list[int]:
    """Two API clients of ``user`` send the same write with If-Match "1" at once."""
    return sorted(racing_writes([token_client(user, "a"), token_client(user, "b")], method, path, body, '"1"'))


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the threads race on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_policy_patches_with_the_same_version_let_one_in(front_desk, policy):
    assert _race(front_desk, "PATCH", f"/billing/policies/{policy.public_id}", {"member_id": "RACE0001"}) == [200, 412]
    policy.refresh_from_db()
    assert (policy.member_id, policy.version) == ("RACE0001", 2)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the threads race on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_voids_of_one_invoice_with_the_same_version_void_it_once(billing, invoice):
    body = {"reason": "Entered twice (synthetic)."}
    assert _race(billing, "POST", f"/billing/invoices/{invoice.public_id}/void", body) == [200, 412]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.version) == (InvoiceStatus.VOID, 2)


def test_a_second_void_from_the_same_read_is_told_the_invoice_changed_not_refused_as_void(billing, invoice):
    # Whoever loses the race, early or late, learns that the invoice moved on since their
    # read (412 with the current version), whether or not the other void committed first.
    body = json.dumps({"reason": "Entered twice (synthetic)."})
    path = f"/api/v1/billing/invoices/{invoice.public_id}/void"
    first, second = token_client(billing, "a"), token_client(billing, "b")
    assert first.post(path, body, content_type="application/json", HTTP_IF_MATCH='"1"').status_code == 200
    late = second.post(path, body, content_type="application/json", HTTP_IF_MATCH='"1"')
    assert late.status_code == 412
