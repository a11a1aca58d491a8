"""Superbills: the itemised statement a patient sends to their insurer themselves, for one
visit or for every visit in a period.

It carries the practice (name, address, tax ID, NPI), each provider (name, credentials,
NPI), the patient (name, date of birth, address), the diagnosis codes with pointers A–L,
each visit's procedure codes with units, pointers and fees, the dates of service, the
amounts paid (payments applied to the invoices covering those visits) and a signature
line. Printing needs superbill.print and is audited as PRINT.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Sum

from effleura.billing.choices import ChargeStatus, InvoiceStatus
from effleura.billing.models import Charge, InvoiceLine, PaymentAllocation
from effleura.core.values import CENT, parse_date
from effleura.patients.models import Patient

KEY = "superbill.print"
POINTERS = "ABCDEFGHIJKL"
MAX_DAYS = 366
MAX_VISITS = 200


def _charges(patient: Patient):
    return (
        Charge.objects.filter(patient=patient)
        .exclude(status=ChargeStatus.VOID)
        .select_related("practitioner")
        .prefetch_related("lines__code")
        .order_by("date_of_service", "id")
    )


def parse_period(start, end) -> tuple[datetime.date, datetime.date]:
    """The period from the query string; a ValidationError {field: message} if unsound."""
    errors = {}
    days = {}
    for field, value in (("start", start), ("end", end)):
        if value in (None, ""):
            errors[field] = f"Enter the {'first' if field == 'start' else 'last'} day of the period."
            continue
        day = parse_date(value, field, errors)
        if day is not None:
            days[field] = day
    if not errors and days["end"] < days["start"]:
        errors["end"] = "The period cannot end before it starts."
    if not errors and (days["end"] - days["start"]).days > MAX_DAYS:
        errors["end"] = "Choose a period of at most a year."
    if errors:
        raise ValidationError(errors)
    return days["start"], days["end"]


def paid_for(charges: list[Charge]) -> Decimal:
    """What was paid toward these visits: the payments applied to the (not void) invoices
    covering them; an invoice that also covers other visits counts in proportion to these
    visits' share of it. Three queries."""
    ids = [c.pk for c in charges]
    if not ids:
        return Decimal("0.00")
    shares = (
        InvoiceLine.objects.filter(charge_id__in=ids)
        .exclude(invoice__status=InvoiceStatus.VOID)
        .values("invoice_id", "invoice__total")
        .annotate(ours=Sum("amount"))
    )
    shares = list(shares)
    paid = dict(
        PaymentAllocation.objects.filter(
            invoice_id__in=[s["invoice_id"] for s in shares], payment__voided_at__isnull=True
        )
        .values("invoice_id")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "total")
    )
    amount = Decimal("0")
    for share in shares:
        applied = paid.get(share["invoice_id"]) or Decimal("0")
        total = share["invoice__total"] or Decimal("0")
        if not applied or not total:
            continue
        amount += applied if share["ours"] >= total else applied * share["ours"] / total
    return amount.quantize(CENT)


def superbill_context(patient: Patient, charges: list[Charge], *, start=None, end=None) -> dict:
    """Everything the superbill template shows. Diagnosis codes of all the visits are
    merged in order (A–L); each line's pointers are re-lettered to that merged list."""
    merged: list[str] = []
    for charge in charges:
        for code in charge.diagnosis_codes or []:
            if code not in merged and len(merged) < len(POINTERS):
                merged.append(code)
    visits, providers, total = [], {}, Decimal("0.00")
    for charge in charges:
        own = list(charge.diagnosis_codes or [])
        lines = []
        for line in charge.lines.all():
            if not line.units:
                continue  # the rule gave it no unit: nothing billed for it
            letters = line.diagnosis_pointer or ("A" if own else "")
            pointers = "".join(
                POINTERS[merged.index(own[POINTERS.index(letter)])]
                for letter in letters
                if letter in POINTERS and POINTERS.index(letter) < len(own) and own[POINTERS.index(letter)] in merged
            )
            lines.append({"line": line, "code": line.code, "pointers": pointers})
        visits.append({"charge": charge, "lines": lines, "package": charge.status == ChargeStatus.PACKAGE})
        providers[charge.practitioner_id] = charge.practitioner
        total += charge.total
    paid = paid_for(charges)
    return {
        "patient": patient,
        "recipient_name": patient.legal_name,
        "visits": visits,
        "providers": list(providers.values()),
        "diagnoses": [{"pointer": POINTERS[i], "code": code} for i, code in enumerate(merged)],
        "total": total,
        "paid": paid,
        "balance": max(total - paid, Decimal("0.00")),
        "currency": charges[0].currency if charges else settings.EFFLEURA_CURRENCY,
        "start": start or (charges[0].date_of_service if charges else None),
        "end": end or (charges[-1].date_of_service if charges else None),
    }


def filename(patient: Patient, start=None) -> str:
    return f"superbill-{patient.chart_number}{'-' + start.strftime('%Y%m%d') if start else ''}.pdf"
