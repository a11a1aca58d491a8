"""Helpers for the insurance tests (policies, superbills, claims, CMS-1500): charges made
directly with the models (the charge-making itself is tested in test_billing_charges*),
invoices and payments likewise, and the practice's billing identifiers. Synthetic only."""

import datetime
from decimal import Decimal

from effleura.billing.models import Charge, ChargeLine, Invoice, InvoiceLine, Payment, PaymentAllocation, ProcedureCode
from effleura.core.models import Practice

VALID_NPI = "1234567893"  # passes the Luhn check over 80840
OTHER_NPI = "1245319599"


def make_charge(patient, practitioner, *, lines=(("97124", 2, "50.00"),), dx=("M54.50",), day=None, created_by=None,
                policy=None, status="open", location=None):  # fmt: skip
    """A charge with ``lines`` of (code, units, unit price); pointer "A" on each line."""
    day = day or datetime.date.today() - datetime.timedelta(days=1)
    charge = Charge.objects.create(
        patient=patient, practitioner=practitioner, date_of_service=day, created_by=created_by or practitioner,
        diagnosis_codes=list(dx), policy=policy, payer=policy.payer if policy else None, status=status,
        location=location, void_reason="Entered twice (synthetic)." if status == "void" else "",
    )  # fmt: skip
    total = Decimal("0")
    for code, units, price in lines:
        amount = Decimal(price) * units
        ChargeLine.objects.create(
            charge=charge, code=ProcedureCode.objects.get(code=code), minutes=units * 15, computed_units=units,
            units=units, unit_price=Decimal(price), amount=amount, diagnosis_pointer="A" if dx else "",
        )  # fmt: skip
        total += amount
    charge.total = total
    charge.save(update_fields=["total"])
    return charge


def invoice_for(charges, by, number, total=None):
    total = total if total is not None else sum(c.total for c in charges)
    invoice = Invoice.objects.create(number=number, patient=charges[0].patient, total=total, created_by=by)
    for c in charges:
        InvoiceLine.objects.create(invoice=invoice, charge=c, description="Visit", amount=c.total,
                                   date_of_service=c.date_of_service)  # fmt: skip
    return invoice


def pay(invoice, by, amount):
    payment = Payment.objects.create(patient=invoice.patient, method="card", amount=Decimal(amount), recorded_by=by)
    PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=Decimal(amount), by=by)
    return payment


def billing_ready_practice(**fields) -> Practice:
    practice = Practice.current()
    values = dict(name="Synthetic Massage Clinic", address_line1="1 Synthetic Way", city="Testville", region="TS",
                  postal_code="00001", phone="555-0100", tax_id="12-3456789", npi=VALID_NPI)  # fmt: skip
    values.update(fields)
    for key, value in values.items():
        setattr(practice, key, value)
    practice.save()
    return practice
