"""Reading billing records: the shared steps. Each area's access_* functions (in its own
module) ask the permission table through these and write the audit event; every list is
a bounded number of queries whatever its length.

"Own only": a therapist holds "charge.view" and "production.view" but not "billing.view";
they see the charges and production of their own visits only. ``sees_everyones`` asks the
table (never the role) which case applies.
"""

import uuid

from django.http import Http404

from effleura.core.permissions import has_permission


def as_uuid(value, what: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise Http404(f"No such {what}.") from None


def sees_everyones(user) -> bool:
    """Whether ``user`` sees every practitioner's charges and production, not just their own."""
    return has_permission(user, "billing.view")


# Invoices, payments, packages and the desk ---------------------------------------------------
# Appended with their own imports so the top of this file stays as it is.

import datetime  # noqa: E402

from django import http  # noqa: E402
from django.db.models import F  # noqa: E402
from django.utils import timezone  # noqa: E402

from effleura.billing import balances  # noqa: E402
from effleura.billing.choices import ChargeStatus, InvoiceStatus, PaymentKind  # noqa: E402
from effleura.billing.models import Charge, Invoice, Package, Payment  # noqa: E402
from effleura.billing.models.money import default_currency  # noqa: E402
from effleura.core import audit  # noqa: E402
from effleura.core import values as core_values  # noqa: E402
from effleura.core.access import allowed, authorize  # noqa: E402
from effleura.core.choices import AuditAction  # noqa: E402


def access_invoice(actor, invoice_id, key: str = "account.view") -> Invoice:
    authorize(actor, key, record_id=invoice_id)
    invoice = (
        Invoice.objects.select_related("patient").filter(public_id=core_values.as_uuid(invoice_id, "invoice")).first()
    )
    if invoice is None:
        raise http.Http404("No such invoice.")
    allowed(actor, key, patient_id=invoice.patient.public_id, record_id=invoice.public_id)
    return invoice


def access_payment(actor, payment_id) -> Payment:
    authorize(actor, "account.view", record_id=payment_id)
    payment = (
        Payment.objects.select_related("patient").filter(public_id=core_values.as_uuid(payment_id, "payment")).first()
    )
    if payment is None:
        raise http.Http404("No such payment.")
    allowed(actor, "account.view", patient_id=payment.patient.public_id, record_id=payment.public_id)
    return payment


def access_package(actor, package_id) -> Package:
    """The package, for someone holding account.view (audited)."""
    authorize(actor, "account.view", record_id=package_id)
    package = (
        Package.objects.select_related("patient", "service", "plan").filter(
            public_id=core_values.as_uuid(package_id, "package")
        )
    ).first()
    if package is None:
        raise http.Http404("No such package.")
    allowed(actor, "account.view", patient_id=package.patient.public_id, record_id=package.public_id)
    return package


# The billing desk ---------------------------------------------------------------------------

DESK_LIMIT = 50


def access_desk(actor, *, today: datetime.date | None = None) -> dict:
    """The billing desk (account.view): the oldest outstanding invoices, the count of visits
    not invoiced yet and today's payments. Bounded: a fixed number of queries, at most
    DESK_LIMIT rows of each list; one audit event per patient shown."""
    authorize(actor, "account.view")
    today = today or timezone.localdate()
    outstanding = list(
        Invoice.objects.filter(status=InvoiceStatus.ISSUED)
        .annotate(paid=balances.amount_sum("allocations__amount"))
        .filter(total__gt=F("paid"))
        .select_related("patient")
        .order_by("issued_on", "id")[:DESK_LIMIT]
    )
    payments = list(
        Payment.objects.filter(received_on=today).select_related("patient").order_by("-recorded_at", "-id")[:DESK_LIMIT]
    )
    day = Payment.objects.filter(received_on=today).aggregate(
        received=balances.amount_sum("amount", kind=PaymentKind.PAYMENT),
        refunded=balances.amount_sum("amount", kind=PaymentKind.REFUND),
    )
    shown = {i.patient.public_id for i in outstanding} | {p.patient.public_id for p in payments}
    audit.record_many(actor, AuditAction.READ, "patient_account", sorted(shown, key=str), detail="billing desk")
    return {
        "outstanding": [(i, balances.money(i.total) - balances.money(i.paid)) for i in outstanding],
        "open_charges": Charge.objects.filter(status=ChargeStatus.OPEN).count(),
        "payments": payments,
        "received_today": balances.money(day["received"]),
        "refunded_today": balances.money(day["refunded"]),
        "currency": default_currency(),
        "today": today,
    }
