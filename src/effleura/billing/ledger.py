"""The account and invoice pages: what they show, built from the ledger's parts.

The rules live by concept: reading balances in billing/balances.py, issuing and voiding
invoices in billing/invoices.py, payments, credit and refunds in billing/payments.py,
and reading invoices, payments and the desk in billing/access.py.
"""

from effleura.billing import packages
from effleura.billing.balances import account, account_of, amounts, invoice_amounts
from effleura.billing.choices import ChargeStatus
from effleura.billing.models import Charge, Invoice, Payment, PaymentAllocation
from effleura.patients.models import Patient


def account_page(patient: Patient) -> dict:
    """What the patient's account page shows (after access_patient(..., key="account.view")):
    a fixed number of queries."""
    invoices = list(Invoice.objects.filter(patient=patient).order_by("-issued_on", "-id"))
    per_invoice = invoice_amounts(invoices)
    # Void payments stay in the list, marked void with who and why (voided_by: no extra query).
    payments = list(Payment.objects.filter(patient=patient).select_related("voided_by").order_by("-received_on", "-id"))
    open_charges = list(
        Charge.objects.filter(patient=patient, status=ChargeStatus.OPEN)
        .select_related("service", "practitioner")
        .order_by("date_of_service", "id")
    )
    listed = [(i, per_invoice[i.pk]) for i in invoices]
    return {
        "account": account_of(listed, payments),
        "invoices": listed,
        "payments": payments,
        "open_charges": open_charges,
        "packages": packages.patient_packages(patient),
    }


def invoice_page(invoice: Invoice) -> dict:
    """What the invoice page and its PDF show: lines, amounts, payments applied, the
    patient's package sessions left (after access_invoice)."""
    allocations = list(
        PaymentAllocation.objects.filter(invoice=invoice, payment__voided_at__isnull=True)
        .select_related("payment")
        .order_by("at", "id")
    )
    return {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "amounts": amounts(invoice),
        "allocations": allocations,
        "packages": [s for s in packages.patient_packages(invoice.patient) if s.usable],
        "account": account(invoice.patient),
    }
