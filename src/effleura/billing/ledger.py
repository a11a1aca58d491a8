"""The patient's account: invoices, payments, refunds, credit and balances.

The rules live by concept: reading balances in billing/balances.py, issuing and voiding
invoices in billing/invoices.py, payments, credit and refunds in billing/payments.py,
and reading invoices, payments and the desk in billing/access.py. This module builds the
account and invoice pages from them, and re-exports their public names, which the
account pages, the accounts API and the demo use throughout.
"""

from effleura.billing import packages
from effleura.billing.access import DESK_LIMIT, access_desk, access_invoice, access_payment
from effleura.billing.balances import (
    Account,
    InvoiceAmounts,
    account,
    amounts,
    credit,
    invoice_amounts,
    money,
    open_invoices,
    totals,
)
from effleura.billing.choices import ChargeStatus
from effleura.billing.invoices import (
    DUE_DAYS,
    check_issue_period_invoice,
    check_issue_visit_invoice,
    check_void_invoice,
    do_issue_invoice,
    do_void_invoice,
    issue_package_invoice,
)
from effleura.billing.models import Charge, Invoice, Payment, PaymentAllocation
from effleura.billing.payments import (
    check_apply_credit,
    check_refund,
    check_take_payment,
    do_apply_credit,
    do_refund,
    do_take_payment,
)
from effleura.patients.models import Patient

# Moved out, still importable from here (see the module's docstring).
__all__ = [
    "DESK_LIMIT",
    "DUE_DAYS",
    "Account",
    "InvoiceAmounts",
    "access_desk",
    "access_invoice",
    "access_payment",
    "account",
    "account_page",
    "amounts",
    "check_apply_credit",
    "check_issue_period_invoice",
    "check_issue_visit_invoice",
    "check_refund",
    "check_take_payment",
    "check_void_invoice",
    "credit",
    "do_apply_credit",
    "do_issue_invoice",
    "do_refund",
    "do_take_payment",
    "do_void_invoice",
    "invoice_amounts",
    "invoice_page",
    "issue_package_invoice",
    "money",
    "open_invoices",
    "totals",
]


def account_page(patient: Patient) -> dict:
    """What the patient's account page shows (after access_patient(..., key="account.view")):
    a fixed number of queries."""
    invoices = list(Invoice.objects.filter(patient=patient).order_by("-issued_on", "-id"))
    per_invoice = invoice_amounts(invoices)
    payments = list(Payment.objects.filter(patient=patient).order_by("-received_on", "-id"))
    open_charges = list(
        Charge.objects.filter(patient=patient, status=ChargeStatus.OPEN)
        .select_related("service", "practitioner")
        .order_by("date_of_service", "id")
    )
    return {
        "account": account(patient),
        "invoices": [(i, per_invoice[i.pk]) for i in invoices],
        "payments": payments,
        "open_charges": open_charges,
        "packages": packages.patient_packages(patient),
    }


def invoice_page(invoice: Invoice) -> dict:
    """What the invoice page and its PDF show: lines, amounts, payments applied, the
    patient's package sessions left (after access_invoice)."""
    allocations = list(PaymentAllocation.objects.filter(invoice=invoice).select_related("payment").order_by("at", "id"))
    return {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "amounts": amounts(invoice),
        "allocations": allocations,
        "packages": [s for s in packages.patient_packages(invoice.patient) if s.usable],
        "account": account(invoice.patient),
    }
