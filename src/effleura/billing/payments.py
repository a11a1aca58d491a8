"""Payments, credit applied to invoices, and refunds.

A payment is allocated to the invoices it pays (the oldest first unless some are chosen);
what is left is the patient's credit, which can be applied to an invoice later or
refunded. Every write locks the patient's row first (billing/invoices.py lock_patient),
so two refunds can never both spend the same credit.

A payment (or refund) entered in error is voided (check_void_payment / do_void_payment):
it stays in the ledger marked void with who, when and why, and counts for nothing after;
what it paid on invoices is owed again.

Amounts are read by core.values.parse_amount: more than zero, at most the practice's
largest amount (Practice.largest_amount). Dates run from 2000-01-01 to tomorrow in the
practice's zone (billing/ledger_dates.py).

Permissions: taking payments and applying credit need "payment.take"; refunds need
"billing.manage"; voiding a payment needs "payment.void".
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from effleura.billing.balances import ZERO, amounts, credit, invoice_amounts, money
from effleura.billing.choices import InvoiceStatus, PaymentKind, PaymentMethod
from effleura.billing.invoices import lock_patient
from effleura.billing.ledger_dates import parse_ledger_date, practice_today
from effleura.billing.models import Invoice, Payment, PaymentAllocation
from effleura.billing.models.money import default_currency
from effleura.core import audit
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.text import printable
from effleura.core.values import clean_text, format_amount, parse_amount, parse_uuid, reject_unknown
from effleura.patients.models import Patient

REASON_MAX = 200


# Payments -------------------------------------------------------------------------------------


def _method(value, errors: dict) -> str:
    if value not in PaymentMethod.values:
        errors["method"] = "Choose how they paid: cash, card, cheque or bank transfer."
    return value


def _invoices(value, patient: Patient, errors: dict) -> list[Invoice]:
    if value in (None, "", []):
        return []
    if isinstance(value, str | Invoice):
        value = [value]
    chosen: list[Invoice] = []
    for item in value:
        invoice = item if isinstance(item, Invoice) else None
        if invoice is None:
            found = parse_uuid(item)
            invoice = Invoice.objects.filter(public_id=found).first() if found else None
        if invoice is None or invoice.patient_id != patient.pk:
            errors["invoices"] = "Choose this patient's invoices."
            return []
        if invoice.status == InvoiceStatus.VOID:
            errors["invoices"] = f"Invoice {invoice.number} is void; choose another."
            return []
        if invoice not in chosen:
            chosen.append(invoice)
    return chosen


def check_take_payment(actor, patient: Patient, data: dict) -> dict:
    """``data``: amount (more than 0, at most the practice's largest amount), method (cash,
    card, cheque, transfer), received_on (default today; 2000-01-01 to tomorrow in the
    practice's zone), reference, note, invoices (the invoices to pay, in order; default:
    the oldest unpaid first). What is left over becomes credit."""
    authorize(actor, "payment.take", patient_id=patient.public_id)
    reject_unknown(data, {"amount", "method", "received_on", "reference", "note", "invoices"})
    errors: dict[str, str] = {}
    amount = parse_amount(data.get("amount"), "amount", errors, zero_allowed=False)
    method = _method(data.get("method"), errors)
    received_on = parse_ledger_date(data.get("received_on"), "received_on", errors, what="The payment date")
    reference = printable(str(data.get("reference") or "")).strip()
    if len(reference) > 60:
        errors["reference"] = "Keep the reference under 60 characters."
    note = printable(str(data.get("note") or "")).strip()
    if len(note) > 200:
        errors["note"] = "Keep the note under 200 characters."
    invoices = _invoices(data.get("invoices"), patient, errors)
    if errors:
        raise ValidationError(errors)
    return {
        "amount": amount,
        "method": method,
        "received_on": received_on,
        "reference": reference,
        "note": note,
        "invoices": invoices,
    }


def _allocate(actor, payments: list[tuple[Payment, Decimal]], invoices, limit: Decimal) -> Decimal:
    """Apply up to ``limit`` from ``payments`` ((payment, unapplied), in order) to ``invoices``
    (locked, in order), each at most what it still owes. Returns what was applied."""
    owed = {pk: a.outstanding for pk, a in invoice_amounts(invoices).items()}
    applied = ZERO
    rows = []
    sources = [[p, free] for p, free in payments if free > 0]
    for invoice in invoices:
        need = min(owed.get(invoice.pk, ZERO), limit - applied)
        while need > 0 and sources:
            payment, free = sources[0]
            part = min(need, free)
            rows.append(PaymentAllocation(payment=payment, invoice=invoice, amount=part, by=actor))
            need -= part
            applied += part
            sources[0][1] = free - part
            if sources[0][1] <= 0:
                sources.pop(0)
    PaymentAllocation.objects.bulk_create(rows)
    # Paid in full now: the desk's hint (Invoice.settled) follows; the amounts stay computed.
    for row in rows:
        owed[row.invoice_id] -= row.amount
    settled = [i.pk for i in invoices if i.pk in owed and owed[i.pk] <= 0 and not i.settled]
    if settled:
        Invoice.objects.filter(pk__in=settled).update(settled=True)
    return applied


def _target_invoices(patient_id: int, chosen: list[Invoice]) -> list[Invoice]:
    if chosen:
        locked = {i.pk: i for i in Invoice.objects.select_for_update().filter(pk__in=[c.pk for c in chosen])}
        return [locked[c.pk] for c in chosen if c.pk in locked and locked[c.pk].status == InvoiceStatus.ISSUED]
    return list(
        Invoice.objects.select_for_update()
        .filter(patient_id=patient_id, status=InvoiceStatus.ISSUED)
        .order_by("issued_on", "id")
    )


def do_take_payment(actor, patient: Patient, clean: dict) -> Payment:
    """Record the payment check_take_payment() cleaned (``clean`` is its answer; call it first).
    In one transaction, holding the patient's row lock: creates the payment, applies it to the
    chosen issued invoices (locked; default the oldest first), leaves the rest as credit and
    audits what was applied. Returns the payment."""
    with transaction.atomic():
        lock_patient(patient.pk)
        payment = Payment.objects.create(
            patient=patient,
            kind=PaymentKind.PAYMENT,
            method=clean["method"],
            amount=clean["amount"],
            currency=default_currency(),
            received_on=clean["received_on"],
            reference=clean["reference"],
            note=clean["note"],
            recorded_by=actor,
        )
        invoices = _target_invoices(patient.pk, clean["invoices"])
        applied = _allocate(actor, [(payment, payment.amount)], invoices, payment.amount)
        audit.record(
            actor,
            AuditAction.CREATE,
            "payment",
            record_id=payment.public_id,
            patient_id=patient.public_id,
            detail=f"applied {applied}, credit {payment.amount - applied}",
        )
    return payment


def _unapplied_payments(patient_id: int) -> list[tuple[Payment, Decimal]]:
    """The patient's payments with money not applied to a live invoice, oldest first."""
    rows = (
        Payment.objects.select_for_update()
        .filter(Payment.LIVE, patient_id=patient_id, kind=PaymentKind.PAYMENT)
        .order_by("received_on", "id")
    )
    applied = dict(
        PaymentAllocation.objects.filter(
            payment__patient_id=patient_id, payment__voided_at__isnull=True, invoice__status=InvoiceStatus.ISSUED
        )
        .values("payment")
        .annotate(total=Sum("amount"))
        .values_list("payment", "total")
    )
    return [(p, p.amount - money(applied.get(p.pk))) for p in rows]


def check_apply_credit(actor, invoice: Invoice, data: dict) -> dict:
    """``data``: amount (optional; default as much as the credit and the invoice allow)."""
    authorize(actor, "payment.take", patient_id=invoice.patient.public_id, record_id=invoice.public_id)
    reject_unknown(data, {"amount"})
    errors: dict[str, str] = {}
    amount = parse_amount(data.get("amount"), "amount", errors, required=False, zero_allowed=False)
    if errors:
        raise ValidationError(errors)
    if invoice.status == InvoiceStatus.VOID:
        raise ValidationError("This invoice is void.")
    owed = amounts(invoice).outstanding
    if owed <= 0:
        raise ValidationError("This invoice is paid.")
    available = credit(invoice.patient)
    if available <= 0:
        raise ValidationError("This patient has no credit to apply.")
    if amount is not None and amount > available:
        raise ValidationError({"amount": f"The patient's credit is only {available} {default_currency()}."})
    if amount is not None and amount > owed:
        raise ValidationError({"amount": f"The invoice owes only {owed} {default_currency()}."})
    return {"amount": amount}


def do_apply_credit(actor, invoice: Invoice, clean: dict) -> Decimal:
    """Apply the patient's credit to ``invoice``. Returns the amount applied."""
    with transaction.atomic():
        lock_patient(invoice.patient_id)
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status == InvoiceStatus.VOID:
            raise ValidationError("This invoice is void.")
        available = credit(invoice.patient)
        limit = min(clean["amount"] or available, available)
        if limit <= 0:
            raise ValidationError("This patient has no credit to apply.")
        applied = _allocate(actor, _unapplied_payments(invoice.patient_id), [locked], limit)
        audit.record(
            actor,
            AuditAction.UPDATE,
            "invoice",
            record_id=locked.public_id,
            patient_id=invoice.patient.public_id,
            detail=f"credit applied {applied}",
        )
    return applied


# Refunds --------------------------------------------------------------------------------------


def check_refund(actor, patient: Patient, data: dict) -> dict:
    """``data``: amount (at most the patient's credit), method, reference, reason. Only credit
    is refunded: to refund a paid invoice, void it first (its payment becomes credit)."""
    authorize(actor, "billing.manage", patient_id=patient.public_id)
    reject_unknown(data, {"amount", "method", "reference", "reason"})
    errors: dict[str, str] = {}
    amount = parse_amount(data.get("amount"), "amount", errors, zero_allowed=False)
    method = _method(data.get("method"), errors)
    reference = printable(str(data.get("reference") or "")).strip()
    if len(reference) > 60:
        errors["reference"] = "Keep the reference under 60 characters."
    reason = printable(str(data.get("reason") or "")).strip()
    if not reason:
        errors["reason"] = "Say why the money is refunded."
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"Keep the reason under {REASON_MAX} characters."
    if errors:
        raise ValidationError(errors)
    available = credit(patient)
    if amount > available:
        raise ValidationError(
            {"amount": f"Only credit can be refunded; this patient's credit is {available} {default_currency()}."}
        )
    return {"amount": amount, "method": method, "reference": reference, "reason": reason}


def do_refund(actor, patient: Patient, clean: dict) -> Payment:
    """Refund credit as check_refund() cleaned it (``clean`` is its answer; call it first). In
    one transaction, holding the patient's row lock: refuses (ValidationError on ``amount``)
    more than the credit left now, creates the refund dated today with the reason as its
    note, and audits it. Returns the refund."""
    with transaction.atomic():
        lock_patient(patient.pk)
        available = credit(patient)
        if clean["amount"] > available:
            raise ValidationError(
                {"amount": f"Only credit can be refunded; this patient's credit is {available} {default_currency()}."}
            )
        refund = Payment.objects.create(
            patient=patient,
            kind=PaymentKind.REFUND,
            method=clean["method"],
            amount=clean["amount"],
            currency=default_currency(),
            received_on=practice_today(),
            reference=clean["reference"],
            note=clean["reason"],
            recorded_by=actor,
        )
        audit.record(
            actor,
            AuditAction.CREATE,
            "payment",
            record_id=refund.public_id,
            patient_id=patient.public_id,
            detail="refund",
        )
    return refund


# Voiding a payment entered in error ---------------------------------------------------------


def _void_refusal(payment: Payment, available: Decimal) -> str | None:
    """Why ``payment`` (locked, with the patient's row lock held) cannot be voided now, or None."""
    if payment.is_void:
        return "This payment is already void."
    if payment.kind == PaymentKind.REFUND:
        return None  # voiding a refund gives the money back to the patient's credit
    applied = PaymentAllocation.objects.filter(payment=payment, invoice__status=InvoiceStatus.ISSUED).aggregate(
        total=Sum("amount")
    )["total"]
    unapplied = payment.amount - money(applied)
    if unapplied > available:
        # The money it left as credit has been refunded (or applied from credit elsewhere).
        return (
            f"This payment's credit has been refunded: the patient's credit is {format_amount(available)} "
            f"{payment.currency}, less than the {format_amount(unapplied)} this payment left as credit. "
            "Void the refund first if it was entered in error too; otherwise the refund stands and "
            "this payment cannot be voided."
        )
    return None


def check_void_payment(actor, payment: Payment, data: dict) -> dict:
    """May ``actor`` void ``payment`` (a payment or refund entered in error)? Needs
    "payment.void" (billing staff or the owner). ``data``: reason (required, at most
    REASON_MAX characters). Refused in words when it is already void, or when voiding it
    would leave the patient's credit below zero (its credit was refunded). Returns the clean
    reason for do_void_payment()."""
    authorize(actor, "payment.void", patient_id=payment.patient.public_id, record_id=payment.public_id)
    reject_unknown(data, {"reason"})
    errors: dict[str, str] = {}
    reason = clean_text(
        printable(str(data.get("reason") or "")), "reason", errors, limit=REASON_MAX, one_line=True,
        required="Say why the payment is void, e.g. “typed 9500 for 95.00”.",
    )  # fmt: skip
    if errors:
        raise ValidationError(errors)
    payment.refresh_from_db(fields=["voided_at", "voided_by", "void_reason"])  # voided in another tab?
    refusal = _void_refusal(payment, credit(payment.patient))
    if refusal:
        raise ValidationError(refusal)
    return {"reason": reason}


def do_void_payment(actor, payment: Payment, clean: dict) -> Payment:
    """Void ``payment`` with check_void_payment()'s answer (call it first). In one transaction,
    holding the patient's row lock and the payment's: refuses (ValidationError) a payment
    voided meanwhile ("already void") or whose credit was refunded meanwhile; marks it void
    with who, when and why; what it paid on invoices is owed again (its allocations stay, and
    count for nothing); audits the record type and id only. Returns the payment."""
    with transaction.atomic():
        lock_patient(payment.patient_id)
        locked = Payment.objects.select_for_update().select_related("patient").get(pk=payment.pk)
        refusal = _void_refusal(locked, credit(locked.patient))
        if refusal:
            raise ValidationError(refusal)
        locked.voided_at = timezone.now()
        locked.voided_by = actor
        locked.void_reason = clean["reason"]
        locked.save(update_fields=["voided_at", "voided_by", "void_reason"])
        # What it paid is owed again: its invoices are back among those the desk looks at.
        Invoice.objects.filter(allocations__payment=locked, settled=True).update(settled=False)
        audit.record(
            actor,
            AuditAction.UPDATE,
            "payment",
            record_id=locked.public_id,
            patient_id=locked.patient.public_id,
            detail="refund void" if locked.kind == PaymentKind.REFUND else "payment void",
        )
    return locked
