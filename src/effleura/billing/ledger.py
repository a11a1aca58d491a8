"""Invoices, payments, refunds, credit and balances.

Balances are read, never stored:
- an invoice's paid amount is the sum of its allocations; its outstanding amount is its
  total less that (a void invoice owes nothing);
- a patient's credit is what they paid, less refunds, less what is applied to invoices
  that are not void. Voiding an invoice therefore releases what was applied to it back
  to credit without deleting the history;
- a patient's balance is what they owe less their credit.
So, for every patient and in total, invoiced (not void) = paid + outstanding by
construction; the writes keep credit ≥ 0 and never pay an invoice over its total.

Every write locks the patient's row first (select_for_update): the account is changed
by one desk at a time, so two refunds can never both spend the same credit.

Numbers: ``YYYY-NNNNN`` in order of issue within the year of issue; the number is unique
in the database and a clash with a concurrent issue is retried with the next number.

Permissions: issuing invoices, taking payments and applying credit need "payment.take"
(the desk checks a patient out); voiding invoices and refunds need "billing.manage".
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from effleura.billing.access import as_uuid
from effleura.billing.choices import ChargeStatus, InvoiceKind, InvoiceStatus, PaymentKind, PaymentMethod
from effleura.billing.models import Charge, ChargeLine, Invoice, InvoiceLine, Package, Payment, PaymentAllocation
from effleura.billing.models.money import CENT, default_currency
from effleura.core import audit
from effleura.core.access import allowed, authorize
from effleura.core.choices import AuditAction
from effleura.core.text import printable
from effleura.core.values import parse_amount, parse_date
from effleura.patients.models import Patient

ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("100000.00")
DUE_DAYS = 30
MAX_PERIOD_DAYS = 366
REASON_MAX = 200
NUMBER_RETRIES = 5
_MONEY = DecimalField(max_digits=14, decimal_places=2)


def money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def _sum(field: str, **filters):
    return Coalesce(Sum(field, filter=Q(**filters) if filters else None), Value(ZERO), output_field=_MONEY)


# Reading balances -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceAmounts:
    total: Decimal
    paid: Decimal
    outstanding: Decimal
    void: bool

    @property
    def label(self) -> str:
        if self.void:
            return "Void"
        if self.outstanding <= 0:
            return "Paid"
        if self.paid > 0:
            return "Partly paid"
        return "Unpaid"


def invoice_amounts(invoices) -> dict[int, InvoiceAmounts]:
    """Paid and outstanding for each invoice (by pk), in one query."""
    rows = Invoice.objects.filter(pk__in=[i.pk for i in invoices]).annotate(paid=_sum("allocations__amount"))
    result = {}
    for row in rows.values("pk", "total", "status", "paid"):
        void = row["status"] == InvoiceStatus.VOID
        paid = money(row["paid"])
        result[row["pk"]] = InvoiceAmounts(
            money(row["total"]), paid, ZERO if void else money(row["total"]) - paid, void
        )
    return result


def amounts(invoice: Invoice) -> InvoiceAmounts:
    return invoice_amounts([invoice])[invoice.pk]


@dataclass(frozen=True)
class Account:
    invoiced: Decimal  # invoices not void
    paid: Decimal  # applied to invoices not void
    outstanding: Decimal
    received: Decimal  # payments
    refunded: Decimal
    credit: Decimal
    open_invoices: int
    currency: str

    @property
    def balance(self) -> Decimal:
        """What the patient owes (positive) or is owed as credit (negative)."""
        return self.outstanding - self.credit


def account(patient: Patient | int) -> Account:
    """A patient's (or, with ``patient=None`` via ``totals()``, everyone's) account: three queries."""
    return _account(Q(patient=patient), Q(invoice__patient=patient))


def totals() -> Account:
    """The whole practice's account, for reconciliation."""
    return _account(Q(), Q())


def _account(patient_q: Q, allocation_q: Q) -> Account:
    live = Q(invoice__status__in=[InvoiceStatus.ISSUED])
    inv = Invoice.objects.filter(patient_q, status=InvoiceStatus.ISSUED).aggregate(
        total=_sum("total"), count=Count("id")
    )
    applied = PaymentAllocation.objects.filter(allocation_q, live).aggregate(total=_sum("amount"))["total"]
    # Invoices with something left to pay: a second aggregate over the same rows.
    open_count = (
        Invoice.objects.filter(patient_q, status=InvoiceStatus.ISSUED)
        .annotate(paid=_sum("allocations__amount"))
        .filter(total__gt=F("paid"))
        .count()
    )
    pay = Payment.objects.filter(patient_q).aggregate(
        received=_sum("amount", kind=PaymentKind.PAYMENT), refunded=_sum("amount", kind=PaymentKind.REFUND)
    )
    invoiced, applied = money(inv["total"]), money(applied)
    received, refunded = money(pay["received"]), money(pay["refunded"])
    return Account(
        invoiced=invoiced,
        paid=applied,
        outstanding=invoiced - applied,
        received=received,
        refunded=refunded,
        credit=received - refunded - applied,
        open_invoices=open_count,
        currency=default_currency(),
    )


def credit(patient: Patient) -> Decimal:
    return account(patient).credit


def open_invoices(patient: Patient):
    """The patient's issued invoices with something left to pay, oldest first (a queryset)."""
    return (
        Invoice.objects.filter(patient=patient, status=InvoiceStatus.ISSUED)
        .annotate(paid=_sum("allocations__amount"))
        .filter(total__gt=F("paid"))
        .order_by("issued_on", "id")
    )


# Access ---------------------------------------------------------------------------------------


def access_invoice(actor, invoice_id, key: str = "account.view") -> Invoice:
    authorize(actor, key, record_id=invoice_id)
    invoice = Invoice.objects.select_related("patient").filter(public_id=as_uuid(invoice_id, "invoice")).first()
    if invoice is None:
        raise Http404("No such invoice.")
    allowed(actor, key, patient_id=invoice.patient.public_id, record_id=invoice.public_id)
    return invoice


def access_payment(actor, payment_id) -> Payment:
    authorize(actor, "account.view", record_id=payment_id)
    payment = Payment.objects.select_related("patient").filter(public_id=as_uuid(payment_id, "payment")).first()
    if payment is None:
        raise Http404("No such payment.")
    allowed(actor, "account.view", patient_id=payment.patient.public_id, record_id=payment.public_id)
    return payment


# Numbering ------------------------------------------------------------------------------------


def _next_number(year: int) -> str:
    prefix = f"{year}-"
    last = (
        Invoice.objects.filter(number__startswith=prefix).order_by("-number").values_list("number", flat=True).first()
    )
    n = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{n:05d}"


def _create_invoice(**fields) -> Invoice:
    """Create an invoice with the next free number of its year, retrying on a clash."""
    year = fields["issued_on"].year
    for _ in range(NUMBER_RETRIES):
        try:
            with transaction.atomic():
                return Invoice.objects.create(number=_next_number(year), **fields)
        except IntegrityError:
            continue
    raise ValidationError("Another invoice is being issued at this moment; try again.")


def _lock_patient(patient_id: int) -> Patient:
    return Patient.objects.select_for_update().get(pk=patient_id)


# Parsing --------------------------------------------------------------------------------------


def _reason(data: dict) -> str:
    reason = printable(str(data.get("reason") or "")).strip()
    if not reason:
        raise ValidationError({"reason": "Say why."})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason under {REASON_MAX} characters."})
    return reason


def _unknown(data: dict, known: set[str]) -> None:
    unknown = set(data) - known
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")


def _due(data: dict, issued_on: datetime.date, errors: dict) -> datetime.date:
    due = parse_date(data.get("due_on"), "due_on", errors, default=issued_on + datetime.timedelta(days=DUE_DAYS))
    if "due_on" not in errors and due < issued_on:
        errors["due_on"] = "The due date cannot be before the invoice date."
    return due


def _charge(value, patient: Patient | None, errors: dict) -> Charge | None:
    charge = value if isinstance(value, Charge) else None
    if charge is None and value not in (None, ""):
        try:
            charge = Charge.objects.filter(public_id=value).first()
        except (ValueError, ValidationError):
            charge = None
    if charge is None or (patient is not None and charge.patient_id != patient.pk):
        errors["charge"] = "Choose one of this patient's visits."
        return None
    return charge


# Issuing invoices -----------------------------------------------------------------------------


def check_issue_visit_invoice(actor, patient: Patient, data: dict) -> dict:
    """``data``: charge (a Charge or its public id, the patient's, open and priced), due_on
    (default 30 days from today)."""
    authorize(actor, "payment.take", patient_id=patient.public_id)
    _unknown(data, {"charge", "due_on"})
    errors: dict[str, str] = {}
    charge = _charge(data.get("charge"), patient, errors)
    today = timezone.localdate()
    due = _due(data, today, errors)
    if charge is not None:
        _check_invoiceable(charge, errors)
    if errors:
        raise ValidationError(errors)
    return {"charges": [charge], "due_on": due, "issued_on": today}


def _check_invoiceable(charge: Charge, errors: dict) -> None:
    if charge.status == ChargeStatus.INVOICED:
        errors["charge"] = "This visit is already invoiced."
    elif charge.status == ChargeStatus.PACKAGE:
        errors["charge"] = "This visit is covered by a package; there is nothing to invoice."
    elif charge.status == ChargeStatus.VOID:
        errors["charge"] = "This visit's charge is void."
    elif charge.total <= 0:
        errors["charge"] = "This visit has no fee yet; set its price on the charge before invoicing."


def check_issue_period_invoice(actor, patient: Patient, data: dict) -> dict:
    """``data``: start, end (dates of service, at most a year apart), due_on. Invoices every
    open, priced visit of the patient in the period."""
    authorize(actor, "payment.take", patient_id=patient.public_id)
    _unknown(data, {"start", "end", "due_on"})
    errors: dict[str, str] = {}
    start = parse_date(data.get("start"), "start", errors)
    end = parse_date(data.get("end"), "end", errors)
    if start is None and "start" not in errors:
        errors["start"] = "Give the first date of the period."
    if end is None and "end" not in errors:
        errors["end"] = "Give the last date of the period."
    if start and end:
        if end < start:
            errors["end"] = "The period ends before it starts."
        elif (end - start).days > MAX_PERIOD_DAYS:
            errors["end"] = "Invoice at most a year at a time."
    today = timezone.localdate()
    due = _due(data, today, errors)
    if errors:
        raise ValidationError(errors)
    charges = list(
        Charge.objects.filter(
            patient=patient,
            status=ChargeStatus.OPEN,
            total__gt=0,
            date_of_service__gte=start,
            date_of_service__lte=end,
        ).order_by("date_of_service", "id")
    )
    if not charges:
        raise ValidationError({"start": "This patient has no visits to invoice in that period."})
    return {"charges": charges, "due_on": due, "issued_on": today, "start": start, "end": end}


def do_issue_invoice(actor, patient: Patient, clean: dict) -> Invoice:
    """Issue the visit (one charge) or period invoice ``clean`` describes; its charges become invoiced."""
    with transaction.atomic():
        _lock_patient(patient.pk)
        pks = [c.pk for c in clean["charges"]]
        charges = list(Charge.objects.select_for_update().filter(pk__in=pks).order_by("date_of_service", "id"))
        errors: dict[str, str] = {}
        for charge in charges:
            _check_invoiceable(charge, errors)
        if errors or len(charges) != len(pks):
            raise ValidationError(errors or {"charge": "A visit changed meanwhile; reload and try again."})
        period = "start" in clean
        invoice = _create_invoice(
            patient=patient,
            kind=InvoiceKind.PERIOD if period else InvoiceKind.VISIT,
            period_start=clean.get("start"),
            period_end=clean.get("end"),
            issued_on=clean["issued_on"],
            due_on=clean["due_on"],
            total=money(sum((c.total for c in charges), ZERO)),
            currency=charges[0].currency,
            created_by=actor,
        )
        lines = (
            ChargeLine.objects.filter(charge__in=charges, units__gt=0)  # a line with no unit bills nothing
            .select_related("code", "charge")
            .order_by("charge", "id")
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                charge=line.charge,
                date_of_service=line.charge.date_of_service,
                code=line.code.code,
                description=line.code.description[:200],
                units=line.units,
                amount=line.amount,
            )
            for line in lines
        )
        Charge.objects.filter(pk__in=pks).update(status=ChargeStatus.INVOICED)
        audit.record(actor, AuditAction.CREATE, "invoice", record_id=invoice.public_id, patient_id=patient.public_id)
    return invoice


def issue_package_invoice(actor, package: Package) -> Invoice:
    """The invoice for a package sold (called by billing/packages.py do_sell_package)."""
    with transaction.atomic():
        _lock_patient(package.patient_id)
        invoice = _create_invoice(
            patient=package.patient,
            kind=InvoiceKind.PACKAGE,
            issued_on=timezone.localdate(),
            due_on=timezone.localdate(),
            total=money(package.price),
            currency=package.currency,
            created_by=actor,
        )
        InvoiceLine.objects.create(
            invoice=invoice,
            package=package,
            date_of_service=package.purchased_on,
            description=f"{package.name} ({package.sessions} sessions, valid until {package.expires_on:%Y-%m-%d})"[
                :200
            ],
            units=1,
            amount=money(package.price),
        )
        audit.record(
            actor, AuditAction.CREATE, "invoice", record_id=invoice.public_id, patient_id=package.patient.public_id
        )
    return invoice


def check_void_invoice(actor, invoice: Invoice, data: dict) -> str:
    authorize(actor, "billing.manage", patient_id=invoice.patient.public_id, record_id=invoice.public_id)
    _unknown(data, {"reason"})
    if invoice.status == InvoiceStatus.VOID:
        raise ValidationError("This invoice is already void.")
    return _reason(data)


def do_void_invoice(actor, invoice: Invoice, reason: str) -> Invoice:
    """Void the invoice: its visits go back to open (to be invoiced again), what was paid on
    it goes back to the patient's credit."""
    with transaction.atomic():
        _lock_patient(invoice.patient_id)
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status == InvoiceStatus.VOID:
            raise ValidationError("This invoice is already void.")
        locked.status = InvoiceStatus.VOID
        locked.void_reason = reason
        locked.save(update_fields=["status", "void_reason"])
        charge_ids = locked.lines.exclude(charge=None).values_list("charge_id", flat=True)
        Charge.objects.filter(pk__in=list(charge_ids), status=ChargeStatus.INVOICED).update(status=ChargeStatus.OPEN)
        audit.record(
            actor,
            AuditAction.UPDATE,
            "invoice",
            record_id=locked.public_id,
            patient_id=invoice.patient.public_id,
            detail="voided",
        )
    return locked


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
            try:
                invoice = Invoice.objects.filter(public_id=item).first()
            except (ValueError, ValidationError):
                invoice = None
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
    """``data``: amount, method (cash, card, cheque, transfer), received_on (default today,
    not in the future), reference, note, invoices (the invoices to pay, in order; default:
    the oldest unpaid first). What is left over becomes credit."""
    authorize(actor, "payment.take", patient_id=patient.public_id)
    _unknown(data, {"amount", "method", "received_on", "reference", "note", "invoices"})
    errors: dict[str, str] = {}
    amount = parse_amount(data.get("amount"), "amount", errors, zero_allowed=False, maximum=MAX_AMOUNT)
    method = _method(data.get("method"), errors)
    today = timezone.localdate()
    received_on = parse_date(data.get("received_on"), "received_on", errors, default=today)
    if "received_on" not in errors and received_on > today:
        errors["received_on"] = "The payment date cannot be in the future."
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
    with transaction.atomic():
        _lock_patient(patient.pk)
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
        .filter(patient_id=patient_id, kind=PaymentKind.PAYMENT)
        .order_by("received_on", "id")
    )
    applied = dict(
        PaymentAllocation.objects.filter(payment__patient_id=patient_id, invoice__status=InvoiceStatus.ISSUED)
        .values("payment")
        .annotate(total=Sum("amount"))
        .values_list("payment", "total")
    )
    return [(p, p.amount - money(applied.get(p.pk))) for p in rows]


def check_apply_credit(actor, invoice: Invoice, data: dict) -> dict:
    """``data``: amount (optional; default as much as the credit and the invoice allow)."""
    authorize(actor, "payment.take", patient_id=invoice.patient.public_id, record_id=invoice.public_id)
    _unknown(data, {"amount"})
    errors: dict[str, str] = {}
    amount = parse_amount(data.get("amount"), "amount", errors, required=False, zero_allowed=False, maximum=MAX_AMOUNT)
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
        _lock_patient(invoice.patient_id)
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
    _unknown(data, {"amount", "method", "reference", "reason"})
    errors: dict[str, str] = {}
    amount = parse_amount(data.get("amount"), "amount", errors, zero_allowed=False, maximum=MAX_AMOUNT)
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
    with transaction.atomic():
        _lock_patient(patient.pk)
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
            received_on=timezone.localdate(),
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


# Pages ----------------------------------------------------------------------------------------

DESK_LIMIT = 50


def access_desk(actor, *, today: datetime.date | None = None) -> dict:
    """The billing desk (account.view): the oldest outstanding invoices, the count of visits
    not invoiced yet and today's payments. Bounded: a fixed number of queries, at most
    DESK_LIMIT rows of each list; one audit event per patient shown."""
    authorize(actor, "account.view")
    today = today or timezone.localdate()
    outstanding = list(
        Invoice.objects.filter(status=InvoiceStatus.ISSUED)
        .annotate(paid=_sum("allocations__amount"))
        .filter(total__gt=F("paid"))
        .select_related("patient")
        .order_by("issued_on", "id")[:DESK_LIMIT]
    )
    payments = list(
        Payment.objects.filter(received_on=today).select_related("patient").order_by("-recorded_at", "-id")[:DESK_LIMIT]
    )
    day = Payment.objects.filter(received_on=today).aggregate(
        received=_sum("amount", kind=PaymentKind.PAYMENT), refunded=_sum("amount", kind=PaymentKind.REFUND)
    )
    shown = {i.patient.public_id for i in outstanding} | {p.patient.public_id for p in payments}
    audit.record_many(actor, AuditAction.READ, "patient_account", sorted(shown, key=str), detail="billing desk")
    return {
        "outstanding": [(i, money(i.total) - money(i.paid)) for i in outstanding],
        "open_charges": Charge.objects.filter(status=ChargeStatus.OPEN).count(),
        "payments": payments,
        "received_today": money(day["received"]),
        "refunded_today": money(day["refunded"]),
        "currency": default_currency(),
        "today": today,
    }


def account_page(patient: Patient) -> dict:
    """What the patient's account page shows (after access_patient(..., key="account.view")):
    a fixed number of queries."""
    from effleura.billing import packages

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
    from effleura.billing import packages

    allocations = list(PaymentAllocation.objects.filter(invoice=invoice).select_related("payment").order_by("at", "id"))
    return {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "amounts": amounts(invoice),
        "allocations": allocations,
        "packages": [s for s in packages.patient_packages(invoice.patient) if s.usable],
        "account": account(invoice.patient),
    }
