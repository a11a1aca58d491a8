"""Packages: N prepaid sessions a patient buys together, used up one visit at a time.

- ``use_package_for_charge(actor, charge)`` is called by billing/charges.py when a signed
  note makes a visit's charge (inside the signing transaction). If the patient holds an
  active package valid on the date of service (purchased_on ≤ date ≤ expires_on), for the
  visit's service or for any service, with sessions left, the oldest-expiring one covers the
  visit: a PackageUse is written and the charge's status becomes "package" (it is not
  invoiced). The candidate packages are locked (select_for_update) so two visits signed at
  once never use the same last session.
- ``release_package_use(actor, charge)`` gives the session back when a covered charge is voided.
- Selling a package (from a plan) issues a package invoice through billing/invoices.py;
  cancelling one (with a reason) stops it covering visits.

What is left, "used up" and "expired" are read from the uses and the dates, never stored.
Selling needs "payment.take" (the front desk sells packages); cancelling needs
"billing.manage".
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from effleura.billing import invoices
from effleura.billing.choices import ChargeStatus, PackageStatus
from effleura.billing.models import Charge, Package, PackagePlan, PackageUse
from effleura.core import audit
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.text import printable
from effleura.core.values import parse_date, parse_uuid, reject_unknown
from effleura.patients.models import Patient

RECORD_TYPE = "package"
REASON_MAX = 200


@dataclass(frozen=True)
class PackageState:
    """A package as the desk sees it: sessions used and left, and whether it still covers visits."""

    package: Package
    used: int
    left: int
    expired: bool

    @property
    def label(self) -> str:
        if self.package.status == PackageStatus.CANCELLED:
            return "Cancelled"
        if self.left <= 0:
            return "Used up"
        if self.expired:
            return "Expired"
        return "Active"

    @property
    def usable(self) -> bool:
        return self.label == "Active"


def _covering(patient_id: int, day: datetime.date, service_id: int | None):
    packages = Package.objects.filter(
        patient_id=patient_id, status=PackageStatus.ACTIVE, purchased_on__lte=day, expires_on__gte=day
    )
    service = Q(service__isnull=True)
    if service_id is not None:
        service |= Q(service_id=service_id)
    return packages.filter(service)


def use_package_for_charge(actor, charge: Charge) -> PackageUse | None:
    """Cover ``charge`` with the patient's oldest-expiring usable package, if any.

    Only an open, self-pay charge not yet covered is considered: a visit billed to an
    insurer is paid by the insurer, and covering it from a prepaid package as well would
    make the patient pay twice. Returns the PackageUse, or None when no package applies.
    Call inside a transaction (the signing hook's); it opens its own atomic block either way."""
    if charge.status != ChargeStatus.OPEN or charge.pk is None or charge.payer_id is not None:
        return None
    with transaction.atomic():
        if PackageUse.objects.filter(charge_id=charge.pk).exists():
            return None
        # Lock in a fixed order (expiry, then id) so concurrent visits cannot deadlock.
        candidates = list(
            _covering(charge.patient_id, charge.date_of_service, charge.service_id)
            .select_for_update()
            .order_by("expires_on", "id")
        )
        if not candidates:
            return None
        used = dict(
            PackageUse.objects.filter(package__in=candidates)
            .values("package")
            .annotate(n=Count("id"))
            .values_list("package", "n")
        )
        package = next((p for p in candidates if used.get(p.pk, 0) < p.sessions), None)
        if package is None:
            return None
        use = PackageUse.objects.create(package=package, charge=charge, used_on=charge.date_of_service, by=actor)
        charge.status = ChargeStatus.PACKAGE
        Charge.objects.filter(pk=charge.pk).update(status=ChargeStatus.PACKAGE)
        patient_id = Patient.objects.filter(pk=charge.patient_id).values_list("public_id", flat=True).first()
        audit.record(
            actor,
            AuditAction.UPDATE,
            RECORD_TYPE,
            record_id=package.public_id,
            patient_id=patient_id,
            detail="session used by a visit",
        )
        return use


def release_package_use(actor, charge: Charge) -> bool:
    """Give the session back to its package (when ``charge`` is voided). True if one was released."""
    with transaction.atomic():
        use = PackageUse.objects.select_related("package", "package__patient").filter(charge_id=charge.pk).first()
        if use is None:
            return False
        package = use.package
        use.delete()
        audit.record(
            actor,
            AuditAction.UPDATE,
            RECORD_TYPE,
            record_id=package.public_id,
            patient_id=package.patient.public_id,
            detail="session released: visit voided",
        )
        return True


# Reading --------------------------------------------------------------------------------------


def states(packages, *, today: datetime.date | None = None) -> list[PackageState]:
    """PackageState for each package, with one query for all their uses."""
    packages = list(packages)
    today = today or timezone.localdate()
    used = dict(
        PackageUse.objects.filter(package__in=packages)
        .values("package")
        .annotate(n=Count("id"))
        .values_list("package", "n")
    )
    return [
        PackageState(p, used.get(p.pk, 0), max(p.sessions - used.get(p.pk, 0), 0), p.expires_on < today)
        for p in packages
    ]


def state(package: Package, *, today: datetime.date | None = None) -> PackageState:
    return states([package], today=today)[0]


def remaining_sessions(package: Package) -> int:
    return state(package).left


def patient_packages(patient: Patient, *, today: datetime.date | None = None) -> list[PackageState]:
    """All the patient's packages (newest first) with what is left: two queries."""
    return states(
        Package.objects.filter(patient=patient).select_related("service").order_by("-purchased_on", "-id"),
        today=today,
    )


def sessions_left(patient: Patient, *, today: datetime.date | None = None) -> int:
    """Sessions left on the patient's usable packages (active, not expired): one query."""
    today = today or timezone.localdate()
    rows = (
        Package.objects.filter(patient=patient, status=PackageStatus.ACTIVE, expires_on__gte=today)
        .annotate(used=Count("uses"))
        .values_list("sessions", "used")
    )
    return sum(max(sessions - used, 0) for sessions, used in rows)


# Selling --------------------------------------------------------------------------------------


def _plan(value, errors: dict) -> PackagePlan | None:
    if value in (None, ""):
        errors["plan"] = "Choose the package to sell."
        return None
    plan = value if isinstance(value, PackagePlan) else None
    if plan is None:
        found = parse_uuid(value)
        plan = PackagePlan.objects.select_related("service").filter(public_id=found).first() if found else None
    if plan is None:
        errors["plan"] = "Choose a package from the list."
        return None
    if not plan.is_active:
        errors["plan"] = f"{plan.name} is no longer sold; choose another package."
        return None
    return plan


def check_sell_package(actor, patient: Patient, data: dict) -> dict:
    """May ``actor`` sell ``patient`` a package, and is ``data`` sound?

    ``data``: plan (a PackagePlan or its public id, active), purchased_on (default today,
    not in the future)."""
    authorize(actor, "payment.take", patient_id=patient.public_id)
    reject_unknown(data, {"plan", "purchased_on"})
    errors: dict[str, str] = {}
    today = timezone.localdate()
    plan = _plan(data.get("plan"), errors)
    purchased_on = parse_date(data.get("purchased_on"), "purchased_on", errors, default=today)
    if "purchased_on" not in errors and purchased_on > today:
        errors["purchased_on"] = "The purchase date cannot be in the future."
    if errors:
        raise ValidationError(errors)
    return {"plan": plan, "purchased_on": purchased_on}


def do_sell_package(actor, patient: Patient, clean: dict):
    """Create the package and its invoice. Returns (package, invoice or None for a free package)."""
    plan: PackagePlan = clean["plan"]
    purchased_on = clean["purchased_on"]
    with transaction.atomic():
        package = Package.objects.create(
            patient=patient,
            plan=plan,
            name=plan.name,
            service=plan.service,
            sessions=plan.sessions,
            price=plan.price,
            currency=plan.currency,
            purchased_on=purchased_on,
            expires_on=purchased_on + datetime.timedelta(days=plan.valid_days),
            created_by=actor,
        )
        audit.record(actor, AuditAction.CREATE, RECORD_TYPE, record_id=package.public_id, patient_id=patient.public_id)
        invoice = invoices.issue_package_invoice(actor, package) if package.price > 0 else None
    return package, invoice


# Cancelling -----------------------------------------------------------------------------------


def check_cancel_package(actor, package: Package, data: dict) -> str:
    """Billing staff cancel a package with a reason; it then covers no more visits. Sessions
    already used stay used; a refund, if any, is recorded separately."""
    authorize(actor, "billing.manage", patient_id=package.patient.public_id, record_id=package.public_id)
    if package.status == PackageStatus.CANCELLED:
        raise ValidationError("This package is already cancelled.")
    reason = printable(str(data.get("reason") or "")).strip()
    if not reason:
        raise ValidationError({"reason": "Say why the package is cancelled."})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason under {REASON_MAX} characters."})
    return reason


def do_cancel_package(actor, package: Package, reason: str) -> Package:
    """Cancel ``package``; ``reason`` is what check_cancel_package() returned (call it first).
    In one transaction: locks the package row, refuses (ValidationError) one cancelled
    meanwhile, stores the reason and audits the cancellation. Returns the locked package."""
    with transaction.atomic():
        locked = Package.objects.select_for_update().get(pk=package.pk)
        if locked.status == PackageStatus.CANCELLED:
            raise ValidationError("This package is already cancelled.")
        locked.status = PackageStatus.CANCELLED
        locked.cancel_reason = reason
        locked.save(update_fields=["status", "cancel_reason"])
        audit.record(
            actor,
            AuditAction.UPDATE,
            RECORD_TYPE,
            record_id=locked.public_id,
            patient_id=package.patient.public_id,
            detail="cancelled",
        )
    return locked
