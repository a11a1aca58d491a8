"""Billing's account, invoice and package addresses name records by UUID, like every other
page: a malformed id names nothing (404, never a 500), and a refused attempt at a real
record is written to the audit trail against its patient."""

import pytest
from django.test import Client
from django.urls import reverse

from effleura.billing import invoices, packages
from effleura.core.choices import AuditOutcome
from effleura.core.models import AuditEvent
from effleura.core.permissions import url_permission

from .billing_ledger_helpers import make_charge, make_plan

# (URL name, method, the record it names). Pages under accounts/ name the patient.
PAGES = [
    ("billing:account", "GET", "patient_id"),
    ("billing:account_pay", "POST", "patient_id"),
    ("billing:account_invoice", "POST", "patient_id"),
    ("billing:account_refund", "POST", "patient_id"),
    ("billing:package_sell", "POST", "patient_id"),
    ("billing:package_cancel", "POST", "package_id"),
    ("billing:invoice", "GET", "invoice_id"),
    ("billing:invoice_pdf", "GET", "invoice_id"),
    ("billing:invoice_void", "POST", "invoice_id"),
    ("billing:invoice_credit", "POST", "invoice_id"),
]
API = [
    ("GET", "/billing/accounts/{patient_id}"),
    ("GET", "/billing/accounts/{patient_id}/invoices"),
    ("POST", "/billing/accounts/{patient_id}/invoices"),
    ("GET", "/billing/accounts/{patient_id}/payments"),
    ("POST", "/billing/accounts/{patient_id}/payments"),
    ("POST", "/billing/accounts/{patient_id}/refunds"),
    ("GET", "/billing/accounts/{patient_id}/packages"),
    ("POST", "/billing/accounts/{patient_id}/packages"),
    ("GET", "/billing/invoices/{invoice_id}"),
    ("POST", "/billing/invoices/{invoice_id}/void"),
    ("POST", "/billing/invoices/{invoice_id}/credit"),
    ("GET", "/billing/packages/{package_id}"),
    ("POST", "/billing/packages/{package_id}/cancel"),
]
MALFORMED = ["not-a-uuid", "12", "0000"]


@pytest.fixture
def records(owner, therapist, make_patient):
    """A patient with an issued invoice and a sold package: one real record per id kind."""
    patient = make_patient()
    charge = make_charge(patient, therapist)
    invoice = invoices.do_issue_invoice(
        owner, patient, invoices.check_issue_visit_invoice(owner, patient, {"charge": charge})
    )
    plan = make_plan()
    package, _invoice = packages.do_sell_package(
        owner, patient, packages.check_sell_package(owner, patient, {"plan": str(plan.public_id)})
    )
    return {
        "patient": patient,
        "patient_id": patient.public_id,
        "invoice_id": invoice.public_id,
        "package_id": package.public_id,
    }


def _send(client, method, url):
    return client.get(url) if method == "GET" else client.post(url, {}, content_type="application/json")


def _malformed(name, kind, records, bad):
    # reverse() refuses a malformed id, so swap it into a well-formed address.
    return reverse(name, kwargs={kind: records[kind]}).replace(str(records[kind]), bad)


@pytest.mark.parametrize("who", ["owner", "therapist"])
@pytest.mark.parametrize(("name", "method", "kind"), PAGES)
def test_a_malformed_id_in_a_billing_page_address_is_not_found(request, who, name, method, kind, records):
    client = Client(raise_request_exception=False)
    client.force_login(request.getfixturevalue(who))
    for bad in MALFORMED:
        assert _send(client, method, _malformed(name, kind, records, bad)).status_code == 404, (name, bad)


@pytest.mark.parametrize("who", ["owner", "therapist"])
@pytest.mark.parametrize(("method", "path"), API)
def test_a_malformed_id_in_a_billing_api_address_is_not_found(request, who, method, path, records):
    client = Client(raise_request_exception=False)
    client.force_login(request.getfixturevalue(who))
    for bad in MALFORMED:
        url = "/api/v1" + path.format(patient_id=bad, invoice_id=bad, package_id=bad)
        assert _send(client, method, url).status_code == 404, (path, bad)


def _refused_once(client, method, url, actor) -> AuditEvent:
    """Send the request, check it was refused, and answer the one denial it audited."""
    before = AuditEvent.objects.filter(outcome=AuditOutcome.DENIED).count()
    assert _send(client, method, url).status_code == 403
    denied = AuditEvent.objects.filter(outcome=AuditOutcome.DENIED)
    assert denied.count() == before + 1
    event = denied.latest("pk")
    assert event.actor_id == actor.pk
    return event


@pytest.mark.parametrize(("name", "method", "kind"), PAGES)
def test_it_audits_a_refused_attempt_at_a_billing_page_against_the_patient(
    name, method, kind, records, therapist, client_for
):
    url = reverse(name, kwargs={kind: records[kind]})
    event = _refused_once(client_for(therapist), method, url, therapist)
    assert event.patient_id == records["patient_id"]
    assert event.detail == f"{method} {url_permission(name, method)}"


@pytest.mark.parametrize(("method", "path"), API)
def test_it_audits_a_refused_attempt_at_a_billing_api_address_against_the_patient(
    method, path, records, therapist, client_for
):
    url = "/api/v1" + path.format(**{k: records[k] for k in ("patient_id", "invoice_id", "package_id")})
    event = _refused_once(client_for(therapist), method, url, therapist)
    assert event.patient_id == records["patient_id"]
