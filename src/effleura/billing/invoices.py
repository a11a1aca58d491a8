"""Issuing and voiding invoices: one per visit, one per period, one per package sold.

Every write locks the patient's row first (select_for_update): the account is changed
by one desk at a time.

Numbers: ``YYYY-NNNNN`` in order of issue within the year of issue; the number is unique
in the database and a clash with a concurrent issue is retried with the next number.

Permissions: issuing invoices needs "payment.take" (the desk checks a patient out);
voiding them needs "billing.manage".
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Length
from django.utils import timezone

from effleura.billing.balances import ZERO, money
from effleura.billing.choices import ChargeStatus, InvoiceKind, InvoiceStatus
from effleura.billing.models import Charge, ChargeLine, Invoice, InvoiceLine, Package
from effleura.core import audit, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.text import printable
from effleura.core.values import parse_date, parse_uuid, reject_unknown
from effleura.patients.models import Patient

DUE_DAYS = 30
MAX_PERIOD_DAYS = 366
REASON_MAX = 200
NUMBER_RETRIES = 5


# Numbering ------------------------------------------------------------------------------------


def _next_number(year: int) -> str:
    prefix = f"{year}-"
    # Longest first: past 99,999 invoices in a year "2026-100000" sorts below "2026-99999" as text.
    last = (
        Invoice.objects.filter(number__startswith=prefix)
        .order_by(Length("number").desc(), "-number")
        .values_list("number", flat=True)
        .first()
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


def lock_patient(patient_id: int) -> Patient:
    """Lock the patient's row until the transaction ends: one account change at a time."""
    return Patient.objects.select_for_update().get(pk=patient_id)


# Parsing --------------------------------------------------------------------------------------


def _reason(data: dict) -> str:
    reason = printable(str(data.get("reason") or "")).strip()
    if not reason:
        raise ValidationError({"reason": "Say why."})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason under {REASON_MAX} characters."})
    return reason


def _due(data: dict, issued_on: datetime.date, errors: dict) -> datetime.date:
    due = parse_date(data.get("due_on"), "due_on", errors, default=issued_on + datetime.timedelta(days=DUE_DAYS))
    if "due_on" not in errors and due < issued_on:
        errors["due_on"] = "The due date cannot be before the invoice date."
    return due


def _charge(value, patient: Patient | None, errors: dict) -> Charge | None:
    charge = value if isinstance(value, Charge) else None
    if charge is None and value not in (None, ""):
        found = parse_uuid(value)
        charge = Charge.objects.filter(public_id=found).first() if found else None
    if charge is None or (patient is not None and charge.patient_id != patient.pk):
        errors["charge"] = "Choose one of this patient's visits."
        return None
    return charge


# Issuing invoices -----------------------------------------------------------------------------


def check_issue_visit_invoice(actor, patient: Patient, data: dict) -> dict:
    """``data``: charge (a Charge or its public id, the patient's, open and priced), due_on
    (default 30 days from today)."""
    authorize(actor, "payment.take", patient_id=patient.public_id)
    reject_unknown(data, {"charge", "due_on"})
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
    reject_unknown(data, {"start", "end", "due_on"})
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
        lock_patient(patient.pk)
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
        lock_patient(package.patient_id)
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


def check_void_invoice(actor, invoice: Invoice, data: dict, *, expected_version=None) -> str:
    """May ``actor`` void ``invoice``? Billing staff only (billing.manage); ``data`` holds
    only ``reason``, which is required. Raises ValidationError for an unknown field, a missing
    or too long reason, or an invoice already void; StaleVersion first when the invoice is no
    longer at ``expected_version`` (someone voided or changed it since it was read). Returns
    the reason for do_void_invoice()."""
    authorize(actor, "billing.manage", patient_id=invoice.patient.public_id, record_id=invoice.public_id)
    reject_unknown(data, {"reason"})
    versions.check_version(invoice, expected_version, "invoice")
    if invoice.status == InvoiceStatus.VOID:
        raise ValidationError("This invoice is already void.")
    return _reason(data)


def do_void_invoice(actor, invoice: Invoice, reason: str, *, expected_version=None) -> Invoice:
    """Void the invoice: its visits go back to open (to be invoiced again), what was paid on
    it goes back to the patient's credit. Refused (StaleVersion, nothing changed) when the
    invoice changed since ``expected_version``, the version the person read (None: not
    checked); voiding counts as a write of the invoice (its version moves on)."""
    with transaction.atomic():
        lock_patient(invoice.patient_id)
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        versions.check_version(locked, expected_version, "invoice")
        if locked.status == InvoiceStatus.VOID:
            raise ValidationError("This invoice is already void.")
        locked.status = InvoiceStatus.VOID
        locked.void_reason = reason
        locked.save(update_fields=["status", "void_reason", *versions.bump(locked)])
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
