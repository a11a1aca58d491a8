"""Reading billing records: the only way a view, API call or task fetches them. Each
access_* function asks the permission table and writes the audit event; every list is a
bounded number of queries whatever its length.

"Own only": a therapist holds "charge.view" and "production.view" but not "billing.view";
they see the charges and production of their own visits only. ``sees_everyones`` asks the
table (never the role) which case applies.
"""

import datetime
from collections.abc import Mapping

from django import http
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import Http404
from django.utils import timezone

from effleura.billing import balances, reports, superbill
from effleura.billing.choices import ChargeStatus, ClaimStatus, InvoiceStatus, PaymentKind, Priority
from effleura.billing.models import (
    Charge,
    ChargeAdjustment,
    ChargeLine,
    Claim,
    Invoice,
    InvoiceLine,
    Package,
    Payment,
    Policy,
)
from effleura.billing.models.money import default_currency
from effleura.core import audit
from effleura.core.access import access_one, allowed, authorize
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.permissions import RULES, has_permission

# Re-exported until ledger.py, packages.py and setup.py import it from core.values.
from effleura.core.values import as_uuid
from effleura.patients.access import access_patient
from effleura.patients.models import Patient


def sees_everyones(user) -> bool:
    """Whether ``user`` sees every practitioner's charges and production, not just their own."""
    return has_permission(user, "billing.view")


# A patient's invoices and payments (the accounts API) ------------------------------------


def access_patient_invoices(user, patient_id) -> tuple[Patient, list[Invoice]]:
    """The patient ``patient_id`` and their invoices, if ``user`` may see their account
    ("account.view", audited once for the patient). Two queries and the audit event."""
    patient = access_patient(user, patient_id, key="account.view")
    return patient, list(Invoice.objects.filter(patient=patient).select_related("patient"))


def access_patient_payments(user, patient_id) -> tuple[Patient, list[Payment]]:
    """The patient ``patient_id`` and their payments and refunds, if ``user`` may see their
    account ("account.view", audited once for the patient). Two queries and the audit event."""
    patient = access_patient(user, patient_id, key="account.view")
    return patient, list(Payment.objects.filter(patient=patient).select_related("patient", "voided_by"))


def invoice_lines(invoices: list[Invoice]) -> dict[int, list[InvoiceLine]]:
    """The lines of ``invoices`` (already read through an access_* function, which checked
    and audited them), by invoice pk, in order of service. One query."""
    lines: dict[int, list[InvoiceLine]] = {i.pk: [] for i in invoices}
    for line in InvoiceLine.objects.filter(invoice__in=invoices).order_by("invoice", "date_of_service", "id"):
        lines[line.invoice_id].append(line)
    return lines


# Charges (billing/charges.py writes them) ---------------------------------------------------

LIST_LIMIT = 200  # the longest list of charges or claims one read returns


def _charges():
    return Charge.objects.select_related(
        "patient", "practitioner", "service", "location", "payer", "policy", "note", "appointment"
    ).prefetch_related(
        Prefetch("lines", queryset=ChargeLine.objects.select_related("code")),
        Prefetch("adjustments", queryset=ChargeAdjustment.objects.select_related("by")),
    )


def _refuse_not_own(user, key: str, charge: Charge) -> None:
    """A therapist may use only the charges of their own visits: refuse like authorize does."""
    if not sees_everyones(user) and charge.practitioner_id != user.pk:
        rule = RULES[key]
        audit.record(
            user,
            rule.action,
            rule.record_type,
            record_id=charge.public_id,
            patient_id=charge.patient.public_id,
            outcome=AuditOutcome.DENIED,
            detail=f"{key}: not their visit",
        )
        raise PermissionDenied("You can see and adjust only the charges of your own visits.")


def access_charge(user, charge_id, *, key: str = "charge.view", audit_it: bool = True, detail: str = "") -> Charge:
    """The charge ``charge_id`` with its lines and adjustments, if ``user`` may use it (``key``)."""
    charge_id = as_uuid(charge_id, "charge")
    authorize(user, key, record_id=charge_id)
    charge = _charges().filter(public_id=charge_id).first()
    if charge is None:
        raise Http404("No such charge.")
    if key.startswith("charge."):
        _refuse_not_own(user, key, charge)
    if audit_it:
        allowed(user, key, patient_id=charge.patient.public_id, record_id=charge.public_id, detail=detail)
    return charge


def access_charges(user, *, status: str = ChargeStatus.OPEN, limit: int = LIST_LIMIT) -> list[Charge]:
    """Charges in ``status`` (all when ""), oldest visit first, at most ``limit``: everyone's
    for billing staff, a therapist's own otherwise. Three queries (list, lines, audit)."""
    authorize(user, "charge.view")
    charges = Charge.objects.select_related("patient", "practitioner", "service", "payer")
    if status:
        charges = charges.filter(status=status)
    if not sees_everyones(user):
        charges = charges.filter(practitioner=user)
    found = list(
        charges.prefetch_related(Prefetch("lines", queryset=ChargeLine.objects.select_related("code"))).order_by(
            "date_of_service", "id"
        )[:limit]
    )
    patient_ids = list(dict.fromkeys(c.patient.public_id for c in found))
    audit.record_many(user, AuditAction.READ, "charge", patient_ids, detail="charge list")
    return found


# Claims (billing/claims.py writes them) -----------------------------------------------------


def access_claims(user, *, status: str = "", limit: int = LIST_LIMIT) -> list[Claim]:
    """Claims, newest first, optionally of one status, each with charge, patient, policy and
    payer: one query, one bulk audit insert."""
    authorize(user, "claim.view")
    claims = Claim.objects.select_related("charge__patient", "policy__payer")
    if status:
        if status not in ClaimStatus.values:
            raise ValidationError({"status": "Choose draft, submitted, paid, denied or resubmitted."})
        claims = claims.filter(status=status)
    found = list(claims[:limit])
    patient_ids = list(dict.fromkeys(c.charge.patient.public_id for c in found))
    audit.record_many(user, AuditAction.READ, "claim", patient_ids, detail="claim list")
    return found


def access_claim(user, claim_id, *, key: str = "claim.view", audit_it: bool = True, detail: str = "") -> Claim:
    """The claim ``claim_id`` with its charge, patient, practitioner, policy and payer."""
    rows = Claim.objects.select_related(
        "charge__patient", "charge__practitioner", "charge__location", "policy__payer", "created_by"
    )
    return access_one(
        user, key, rows, claim_id, "claim", patient_of=lambda c: c.charge.patient, audit_it=audit_it, detail=detail
    )


def access_claim_quiet(pk: int) -> Claim:
    """Re-read a claim just written (the caller was authorized), with what pages show."""
    return Claim.objects.select_related(
        "charge__patient", "charge__practitioner", "charge__location", "policy__payer", "created_by"
    ).get(pk=pk)


def access_charge_for_claim(user, charge_id) -> Charge:
    """The charge a claim is about to be made for (claim.manage), with its patient and lines."""
    charge_id = as_uuid(charge_id, "charge")
    authorize(user, "claim.manage", record_id=charge_id)
    charge = (
        Charge.objects.filter(public_id=charge_id)
        .select_related("patient", "practitioner", "policy__payer")
        .prefetch_related("lines__code")
        .first()
    )
    if charge is None:
        raise Http404("No such charge.")
    allowed(user, "claim.manage", patient_id=charge.patient.public_id, record_id=charge.public_id, detail="new claim")
    return charge


# Insurance policies (billing/policies.py writes them) ---------------------------------------


def access_patient_policies(user, patient_id, *, include_inactive: bool = True) -> tuple[Patient, list[Policy]]:
    """(patient, their policies, active first by priority, with the payer): two queries and the audit."""
    patient_id = as_uuid(patient_id, "patient")
    authorize(user, "account.view", patient_id=patient_id, record_id=patient_id)
    patient = access_patient(user, patient_id, key="account.view", audit_it=False)
    policies = Policy.objects.filter(patient=patient).select_related("payer")
    if not include_inactive:
        policies = policies.filter(is_active=True)
    order = {p: i for i, p in enumerate(Priority.values)}
    found = sorted(policies, key=lambda p: (not p.is_active, order.get(p.priority, 9), p.pk))
    allowed(user, "account.view", patient_id=patient.public_id, record_id=patient.public_id, detail="policy list")
    return patient, found


def access_policy(user, policy_id, *, key: str = "account.view", audit_it: bool = True) -> Policy:
    """The policy ``policy_id`` with its patient and payer, if ``user`` may use it under ``key``."""
    rows = Policy.objects.select_related("patient", "payer")
    return access_one(
        user, key, rows, policy_id, "policy", patient_of=lambda p: p.patient, audit_it=audit_it, detail="policy"
    )


# Superbills (billing/superbill.py lays them out) --------------------------------------------


def access_visit_superbill(user, charge_id) -> tuple[Patient, list[Charge]]:
    """(patient, [the visit's charge]) if ``user`` may print it; audited as PRINT."""
    charge_id = as_uuid(charge_id, "charge")
    authorize(user, superbill.KEY, record_id=charge_id)
    charge = Charge.objects.filter(public_id=charge_id).select_related("patient").first()
    if charge is None:
        raise Http404("No such charge.")
    if charge.status == ChargeStatus.VOID:
        raise Http404("This charge is void; there is no superbill for it.")
    audit.record(
        user, AuditAction.PRINT, "superbill", record_id=charge.public_id, patient_id=charge.patient.public_id,
        detail="superbill for a visit",
    )  # fmt: skip
    return charge.patient, list(superbill._charges(charge.patient).filter(pk=charge.pk))


def access_period_superbill(user, patient_id, start, end) -> tuple[Patient, list[Charge]]:
    """(patient, their charges (not void) with a date of service in [start, end]); audited."""
    patient_id = as_uuid(patient_id, "patient")
    authorize(user, superbill.KEY, patient_id=patient_id, record_id=patient_id)
    start, end = superbill.parse_period(start, end)
    patient = access_patient(user, patient_id, key=superbill.KEY, audit_it=False)
    charges = list(superbill._charges(patient).filter(date_of_service__range=(start, end))[: superbill.MAX_VISITS])
    audit.record(
        user, AuditAction.PRINT, "superbill", record_id=patient.public_id, patient_id=patient.public_id,
        detail=f"superbill {start:%Y-%m-%d} to {end:%Y-%m-%d}",
    )  # fmt: skip
    return patient, charges


# Reports (billing/reports.py computes them): the only way a view or the API runs one --------


def access_report(user, name: str, data: Mapping, *, export: bool = False) -> reports.Report:
    """Run report ``name`` for ``user`` with the parameters in ``data`` (validated by
    check_params). Practice reports need billing_report.view (billing_report.export for a
    file); production needs production.view and shows a therapist only their own.
    Audits the use; the outstanding report, which names patients, one event per patient."""
    if name not in reports.REPORT_NAMES:
        raise ValueError(f"unknown report {name!r}")
    if name == "production":
        authorize(user, "production.view", record_id=name)
        params = reports.check_params(name, data)
        mine_only = None if sees_everyones(user) else user.pk
        report = reports.production(**params, practitioner_id=mine_only)
        allowed(user, "production.view", record_id=name, detail=f"production report{' CSV' if export else ''}")
        return report
    key = "billing_report.export" if export else "billing_report.view"
    authorize(user, key, record_id=name)
    params = reports.check_params(name, data)
    if name == "aging":
        report, patient_ids = reports.aging(**params)
        action = AuditAction.EXPORT if export else AuditAction.READ
        audit.record_many(user, action, "billing_report", patient_ids, detail=f"outstanding balances {params['as_of']}")
        allowed(user, key, record_id=name, detail=f"{key} {name}")
        return report
    report = reports.PRACTICE_REPORTS[name](**params)
    allowed(user, key, record_id=name, detail=f"{key} {name}")
    return report


# Invoices, payments, packages and the desk ---------------------------------------------------


def access_invoice(actor, invoice_id, key: str = "account.view") -> Invoice:
    authorize(actor, key, record_id=invoice_id)
    invoice = Invoice.objects.select_related("patient").filter(public_id=as_uuid(invoice_id, "invoice")).first()
    if invoice is None:
        raise http.Http404("No such invoice.")
    allowed(actor, key, patient_id=invoice.patient.public_id, record_id=invoice.public_id)
    return invoice


def access_payment(actor, payment_id) -> Payment:
    authorize(actor, "account.view", record_id=payment_id)
    payment = Payment.objects.select_related("patient").filter(public_id=as_uuid(payment_id, "payment")).first()
    if payment is None:
        raise http.Http404("No such payment.")
    allowed(actor, "account.view", patient_id=payment.patient.public_id, record_id=payment.public_id)
    return payment


def access_package(actor, package_id) -> Package:
    """The package, for someone holding account.view (audited)."""
    authorize(actor, "account.view", record_id=package_id)
    package = (
        Package.objects.select_related("patient", "service", "plan").filter(public_id=as_uuid(package_id, "package"))
    ).first()
    if package is None:
        raise http.Http404("No such package.")
    allowed(actor, "account.view", patient_id=package.patient.public_id, record_id=package.public_id)
    return package


# The billing desk ---------------------------------------------------------------------------

DESK_LIMIT = 50


def _desk_cursor(after) -> tuple[datetime.date, int] | None:
    """Where the next part of the outstanding list starts: after the invoice ``after`` (its
    public id, from the "more" link), as (issued_on, pk); None for the first part."""
    if not after:
        return None
    found = Invoice.objects.filter(public_id=as_uuid(after, "invoice")).values_list("issued_on", "pk").first()
    if found is None:
        raise Http404("No such invoice.")
    return found


def access_desk(actor, *, today: datetime.date | None = None, after=None) -> dict:
    """The billing desk (account.view): outstanding invoices oldest first, DESK_LIMIT at a
    time (``after``: the public id of the last one of the part before, from the "more" link),
    the count of visits not invoiced yet and today's payments. Bounded whatever the history:
    a fixed number of queries (one more for a later part), each on an index (the invoices
    that may still be owed, Invoice.settled; the open charges; today's payments); at most
    DESK_LIMIT rows of each list; one audit event per patient shown."""
    authorize(actor, "account.view")
    today = today or timezone.localdate()
    cursor = _desk_cursor(after)
    maybe_owing = Invoice.objects.filter(status=InvoiceStatus.ISSUED, settled=False)
    if cursor is not None:
        maybe_owing = maybe_owing.filter(Q(issued_on__gt=cursor[0]) | Q(issued_on=cursor[0], pk__gt=cursor[1]))
    outstanding = list(
        maybe_owing.annotate(paid=balances.paid_on_invoice())
        .filter(balances.still_owed())
        .select_related("patient")
        .order_by("issued_on", "id")[: DESK_LIMIT + 1]
    )
    more = outstanding[DESK_LIMIT - 1].public_id if len(outstanding) > DESK_LIMIT else None
    outstanding = outstanding[:DESK_LIMIT]
    payments = list(
        Payment.objects.filter(received_on=today).select_related("patient").order_by("-recorded_at", "-id")[:DESK_LIMIT]
    )
    day = Payment.objects.filter(Payment.LIVE, received_on=today).aggregate(
        received=balances.amount_sum("amount", kind=PaymentKind.PAYMENT),
        refunded=balances.amount_sum("amount", kind=PaymentKind.REFUND),
    )
    shown = {i.patient.public_id for i in outstanding} | {p.patient.public_id for p in payments}
    audit.record_many(actor, AuditAction.READ, "patient_account", sorted(shown, key=str), detail="billing desk")
    return {
        "outstanding": [(i, balances.money(i.total) - balances.money(i.paid)) for i in outstanding],
        "more_after": more,
        "later_part": cursor is not None,
        "open_charges": Charge.objects.filter(status=ChargeStatus.OPEN).count(),
        "payments": payments,
        "received_today": balances.money(day["received"]),
        "refunded_today": balances.money(day["refunded"]),
        "currency": default_currency(),
        "today": today,
    }
