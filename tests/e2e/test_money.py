"""Exact money in a real browser, on a phone (390 px wide): issue 11, "Money misread".

Billing staff open a patient's account with one 95.00 invoice. "95,00" is refused in
words (this practice writes cents with a point) instead of being recorded as 9,500.00.
A payment typed as 9500 by mistake is recorded; billing staff void it from the same page,
with a reason, and the balance returns to 95.00 while the payment stays listed as "Void".

`effleura shell` against the e2e site prepares the patient and the invoice (a charge
written directly, issued through billing's actions); everything else goes through the pages.
"""

import json
import re

import pytest
from playwright.sync_api import expect

PATIENT = "Vera Voidsworth"
PHONE = {"width": 390, "height": 844}

SETUP = """
import datetime, json
from decimal import Decimal
from django.contrib.auth import get_user_model
from effleura.billing import invoices
from effleura.billing.models import Charge, ChargeLine, ProcedureCode
from effleura.patients import actions as patient_actions

User = get_user_model()
owner = User.objects.get(username="owner")
therapist = User.objects.get(username="therapist")
data = {"legal_first_name": "Vera", "legal_last_name": "Voidsworth", "date_of_birth": "1979-02-11"}
patient = patient_actions.do_create_patient(
    owner, patient_actions.check_create_patient(owner, data, allow_duplicate=True)
)
charge = Charge.objects.create(
    patient=patient, practitioner=therapist, date_of_service=datetime.date.today() - datetime.timedelta(days=1),
    total=Decimal("95.00"), created_by=therapist,
)
ChargeLine.objects.create(
    charge=charge, code=ProcedureCode.objects.get(code="97124"), minutes=30, computed_units=2, units=2,
    unit_price=Decimal("47.50"), amount=Decimal("95.00"),
)
invoice = invoices.do_issue_invoice(
    owner, patient, invoices.check_issue_visit_invoice(owner, patient, {"charge": str(charge.public_id)})
)
print(json.dumps({"patient": str(patient.public_id), "invoice": invoice.number}))
"""


@pytest.fixture(scope="module")
def prepared(site) -> dict:
    result = site.manage("shell", "-c", SETUP)
    return json.loads(result.stdout.strip().splitlines()[-1])


def figure(page, term):
    return page.locator(".billing-figures > div").filter(has=page.locator("dt", has_text=re.compile(f"^{term}$")))


def messages(page):
    return page.get_by_role("status").and_(page.locator(".messages"))


def test_a_mistyped_payment_is_refused_or_voided_on_a_phone(page, login, prepared):
    page.set_viewport_size(PHONE)
    login(page, "billing")
    page.goto(f"/billing/accounts/{prepared['patient']}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Account: {PATIENT}")
    expect(figure(page, "Balance").locator("dd")).to_have_text("95.00 USD")

    # "95,00" is not read as 9,500.00: the page says how to write cents here.
    amount = page.get_by_label(re.compile(r"^Amount \("))
    amount.fill("95,00")
    page.get_by_role("button", name="Record the payment").click()
    expect(page.locator(".messages")).to_contain_text("Use a point for cents, e.g. 95.00.")
    expect(figure(page, "Balance").locator("dd")).to_have_text("95.00 USD")
    expect(page.get_by_text("No payments yet.")).to_be_visible()

    # 9500 typed for 95: recorded, and the patient shows a large credit.
    page.get_by_label(re.compile(r"^Amount \(")).fill("9500")
    page.get_by_role("button", name="Record the payment").click()
    expect(messages(page)).to_have_text("Payment of 9,500.00 USD recorded.")
    expect(figure(page, "Balance").locator("dd")).to_have_text("-9,405.00 USD")

    # Void it from the same page: the button opens a small form asking why, then confirm.
    row = page.get_by_test_id("payment-row").filter(has_text="9,500.00")
    row.get_by_text("Void", exact=True).click()
    reason = row.get_by_label("Reason")
    expect(reason).to_be_visible()
    expect(reason).to_be_in_viewport()
    reason.fill("Typed 9500 for 95.00")
    row.get_by_role("button", name="Confirm: void it").click()

    expect(messages(page)).to_have_text("Payment of 9,500.00 USD voided; it no longer counts.")
    expect(figure(page, "Balance").locator("dd")).to_have_text("95.00 USD")
    expect(figure(page, "Credit").locator("dd")).to_have_text("0.00 USD")
    row = page.get_by_test_id("payment-row").filter(has_text="9,500.00")
    expect(row.locator("strong")).to_have_text("Void")
    expect(row).to_contain_text("Typed 9500 for 95.00")
    expect(row.get_by_role("button", name="Confirm: void it")).to_have_count(0)
    invoice_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=prepared["invoice"]))
    expect(invoice_row).to_contain_text("Unpaid")

    # Nothing on the page is wider than the phone.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the account page scrolls sideways at 390 px ({width} px wide)"
