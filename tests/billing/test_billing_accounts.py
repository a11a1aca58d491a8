"""Account pages and API (billing/views/accounts.py, billing/api_accounts.py)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from effleura.billing import access, invoices
from effleura.billing.models import Invoice, Payment
from effleura.core.models import AuditEvent

from .billing_ledger_helpers import make_charge, make_plan

ALLOWED = {"owner", "front_desk", "billing"}


@pytest.fixture
def patient(make_patient):
    return make_patient()


@pytest.mark.parametrize("who", ["owner", "therapist", "front_desk", "billing", "outsider"])
def test_the_account_page_and_desk_follow_account_view(request, who, client_for, patient, therapist):
    make_charge(patient, therapist, "80.00")
    client = client_for(request.getfixturevalue(who))
    page = client.get(reverse("billing:account", kwargs={"patient_id": patient.public_id}))
    desk = client.get(reverse("billing:home"))
    expected = 200 if who in ALLOWED else 403
    assert (page.status_code, desk.status_code) == (expected, expected)
    if expected == 200:
        assert "80.00" in page.content.decode()


def test_the_desk_takes_a_partial_payment_through_the_page(client_for, front_desk, therapist, patient):
    charge = make_charge(patient, therapist, "80.00")
    client = client_for(front_desk)
    response = client.post(reverse("billing:account_invoice", args=[patient.public_id]), {"charge": charge.public_id})
    invoice = Invoice.objects.get(patient=patient)
    assert response.status_code == 302 and str(invoice.public_id) in response["Location"]
    client.post(reverse("billing:account_pay", args=[patient.public_id]), {"amount": "30.00", "method": "card"})
    page = client.get(reverse("billing:invoice", args=[invoice.public_id])).content.decode()
    assert "Partly paid" in page and "50.00" in page
    pdf = client.get(reverse("billing:invoice_pdf", args=[invoice.public_id]) + "?receipt=1")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_a_bad_payment_is_refused_in_plain_words(client_for, front_desk, patient):
    client = client_for(front_desk)
    response = client.post(
        reverse("billing:account_pay", args=[patient.public_id]), {"amount": "-3", "method": "cash"}, follow=True
    )
    assert "The amount must be more than zero." in response.content.decode()
    assert not Payment.objects.exists()


@pytest.mark.parametrize("who", ["therapist", "outsider", "front_desk"])
def test_it_refuses_refunds_and_voids_to_all_but_billing_staff(request, who, client_for, owner, therapist, patient):
    invoice = invoices.do_issue_invoice(
        owner, patient, invoices.check_issue_visit_invoice(owner, patient, {"charge": make_charge(patient, therapist)})
    )
    client = client_for(request.getfixturevalue(who))
    void = client.post(reverse("billing:invoice_void", args=[invoice.public_id]), {"reason": "x"})
    refund = client.post(
        reverse("billing:account_refund", args=[patient.public_id]), {"amount": "1", "method": "cash", "reason": "x"}
    )
    assert (void.status_code, refund.status_code) == (403, 403)
    invoice.refresh_from_db()
    assert invoice.status == "issued"
    assert AuditEvent.objects.filter(outcome="denied").exists()


def test_the_chart_shows_the_account_card_to_the_desk_only(client_for, front_desk, therapist, patient):
    url = reverse("patients:chart", args=[patient.public_id])
    assert "Package sessions left" in client_for(front_desk).get(url).content.decode()
    assert "Package sessions left" not in client_for(therapist).get(url).content.decode()


def test_the_api_sells_a_package_takes_a_payment_and_reads_the_account(client_for, front_desk, patient):
    client = client_for(front_desk)
    plan = make_plan(sessions=5, price="250.00")
    sold = client.post(
        f"/api/v1/billing/accounts/{patient.public_id}/packages", {"plan": str(plan.public_id)}, "application/json"
    )
    assert sold.status_code == 201, sold.content
    assert sold.json()["sessions_left"] == 5
    paid = client.post(
        f"/api/v1/billing/accounts/{patient.public_id}/payments",
        {"amount": "300.00", "method": "transfer"},
        "application/json",
    )
    assert paid.status_code == 201, paid.content
    account = client.get(f"/api/v1/billing/accounts/{patient.public_id}").json()
    assert Decimal(account["outstanding"]) == 0 and Decimal(account["credit"]) == Decimal("50.00")
    assert account["package_sessions_left"] == 5
    bad = client.post(
        f"/api/v1/billing/accounts/{patient.public_id}/payments", {"amount": "0", "method": "cash"}, "application/json"
    )
    assert bad.status_code == 422 and "amount" in bad.json()["errors"]


@pytest.mark.parametrize("who", ["therapist", "outsider"])
def test_the_api_refuses_accounts_to_roles_without_account_view(request, who, client_for, patient):
    client = client_for(request.getfixturevalue(who))
    assert client.get(f"/api/v1/billing/accounts/{patient.public_id}").status_code == 403
    response = client.post(
        f"/api/v1/billing/accounts/{patient.public_id}/payments", {"amount": "5", "method": "cash"}, "application/json"
    )
    assert response.status_code == 403


def _issue_visit_invoices(front_desk, therapist, patient, count):
    for n in range(count):
        charge = make_charge(patient, therapist, day=datetime.date.today() - datetime.timedelta(days=n + 1))
        clean = invoices.check_issue_visit_invoice(front_desk, patient, {"charge": str(charge.public_id)})
        invoices.do_issue_invoice(front_desk, patient, clean)


def test_the_api_lists_an_accounts_invoices_and_payments_in_a_fixed_number_of_queries(
    client_for, front_desk, therapist, patient
):
    client = client_for(front_desk)
    invoices = f"/api/v1/billing/accounts/{patient.public_id}/invoices"
    payments = f"/api/v1/billing/accounts/{patient.public_id}/payments"

    def queries(url, expected):
        with CaptureQueriesContext(connection) as done:
            assert len(client.get(url).json()) == expected
        return len(done.captured_queries)

    _issue_visit_invoices(front_desk, therapist, patient, 1)
    client.post(payments, {"amount": "10.00", "method": "cash"}, "application/json")
    one_invoice, one_payment = queries(invoices, 1), queries(payments, 1)
    assert one_invoice and one_payment
    _issue_visit_invoices(front_desk, therapist, patient, 4)
    for _ in range(4):
        client.post(payments, {"amount": "10.00", "method": "cash"}, "application/json")
    assert (queries(invoices, 5), queries(payments, 5)) == (one_invoice, one_payment)


def test_reading_an_accounts_invoices_or_payments_is_audited_once_for_the_patient(front_desk, patient):
    access.access_patient_invoices(front_desk, patient.public_id)
    access.access_patient_payments(front_desk, patient.public_id)
    events = AuditEvent.objects.filter(record_type="patient_account", patient_id=patient.public_id)
    assert [(e.action, e.outcome) for e in events] == [("read", "allowed")] * 2


@pytest.mark.parametrize("who", ["therapist", "outsider"])
def test_it_refuses_and_audits_an_accounts_invoices_and_payments_outside_a_page(request, who, patient):
    user = request.getfixturevalue(who)
    for read in (access.access_patient_invoices, access.access_patient_payments):
        with pytest.raises(PermissionDenied):
            read(user, patient.public_id)
    denied = AuditEvent.objects.filter(outcome="denied", patient_id=patient.public_id)
    assert denied.count() == 2
