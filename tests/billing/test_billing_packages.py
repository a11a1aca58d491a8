"""Packages (billing/packages.py): N prepaid sessions, used by visits before they expire."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from effleura.billing import balances, invoices, packages
from effleura.billing.choices import ChargeStatus, InvoiceKind, PackageStatus
from effleura.billing.models import Charge, Package, PackageUse
from effleura.core.models import AuditEvent

from .billing_ledger_helpers import make_charge, make_plan

TODAY = timezone.localdate


def sell(actor, patient, plan, purchased_on=None):
    clean = packages.check_sell_package(actor, patient, {"plan": str(plan.public_id), "purchased_on": purchased_on})
    return packages.do_sell_package(actor, patient, clean)


@pytest.fixture
def patient(make_patient):
    return make_patient()


def test_selling_a_package_sets_its_expiry_and_issues_a_package_invoice(front_desk, patient):
    plan = make_plan(sessions=5, price="350.00", valid_days=180)
    package, invoice = sell(front_desk, patient, plan)
    assert package.sessions == 5 and package.price == Decimal("350.00")
    assert package.expires_on == TODAY() + datetime.timedelta(days=180)
    assert invoice.kind == InvoiceKind.PACKAGE and invoice.total == Decimal("350.00")
    assert invoice.lines.get().package == package
    assert balances.account(patient).outstanding == Decimal("350.00")
    assert packages.state(package).left == 5 and packages.state(package).label == "Active"
    assert AuditEvent.objects.filter(record_type="package", action="create", patient_id=patient.public_id).exists()


def test_a_free_package_issues_no_invoice(owner, patient):
    package, invoice = sell(owner, patient, make_plan(price="0.00"))
    assert invoice is None and package.pk


@pytest.mark.parametrize("who", ["therapist", "outsider"])
def test_it_refuses_to_let_roles_without_payment_take_sell_packages(request, who, patient):
    with pytest.raises(PermissionDenied):
        sell(request.getfixturevalue(who), patient, make_plan())
    assert not Package.objects.exists()


def test_it_refuses_an_inactive_plan_a_missing_plan_and_a_future_date(front_desk, patient):
    plan = make_plan()
    plan.is_active = False
    plan.save()
    with pytest.raises(ValidationError) as error:
        packages.check_sell_package(front_desk, patient, {"plan": str(plan.public_id)})
    assert "no longer sold" in error.value.message_dict["plan"][0]
    with pytest.raises(ValidationError) as error:
        packages.check_sell_package(front_desk, patient, {"plan": "not-a-uuid"})
    assert "plan" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        packages.check_sell_package(
            front_desk, patient, {"plan": make_plan().public_id, "purchased_on": TODAY() + datetime.timedelta(days=1)}
        )
    assert "future" in error.value.message_dict["purchased_on"][0]


def test_a_visit_uses_a_session_and_is_not_invoiced(owner, therapist, patient):
    package, _ = sell(owner, patient, make_plan(sessions=2))
    charge = make_charge(patient, therapist, day=TODAY())
    use = packages.use_package_for_charge(therapist, charge)
    assert use.package == package and use.used_on == TODAY()
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.PACKAGE
    assert packages.state(package).left == 1
    with pytest.raises(ValidationError):
        invoices.check_issue_visit_invoice(owner, patient, {"charge": charge.public_id})


def test_the_same_charge_never_uses_two_sessions(owner, therapist, patient):
    package, _ = sell(owner, patient, make_plan(sessions=3))
    charge = make_charge(patient, therapist, day=TODAY())
    assert packages.use_package_for_charge(therapist, charge)
    assert packages.use_package_for_charge(therapist, charge) is None
    assert PackageUse.objects.filter(package=package).count() == 1


def test_the_oldest_expiring_package_is_used_first(owner, therapist, patient):
    later, _ = sell(owner, patient, make_plan(name="Later", valid_days=300), purchased_on=TODAY())
    sooner, _ = sell(owner, patient, make_plan(name="Sooner", valid_days=30), purchased_on=TODAY())
    use = packages.use_package_for_charge(therapist, make_charge(patient, therapist, day=TODAY()))
    assert use.package == sooner and later.uses.count() == 0


def test_a_used_up_package_no_longer_covers_visits(owner, therapist, patient):
    package, _ = sell(owner, patient, make_plan(sessions=1))
    assert packages.use_package_for_charge(therapist, make_charge(patient, therapist, day=TODAY()))
    second = make_charge(patient, therapist, day=TODAY())
    assert packages.use_package_for_charge(therapist, second) is None
    second.refresh_from_db()
    assert second.status == ChargeStatus.OPEN
    assert packages.state(package).label == "Used up"


def test_an_expired_or_not_yet_bought_package_does_not_cover_the_visit(owner, therapist, patient):
    package, _ = sell(owner, patient, make_plan(valid_days=10), purchased_on=TODAY() - datetime.timedelta(days=20))
    assert packages.use_package_for_charge(therapist, make_charge(patient, therapist, day=TODAY())) is None
    assert packages.state(package).label == "Expired"
    sell(owner, patient, make_plan(valid_days=10))
    before = make_charge(patient, therapist, day=TODAY() - datetime.timedelta(days=1))
    assert packages.use_package_for_charge(therapist, before) is None
    on_expiry = make_charge(patient, therapist, day=package.expires_on)
    assert packages.use_package_for_charge(therapist, on_expiry).package == package


def test_a_package_for_one_service_covers_only_that_service(owner, therapist, patient, service):
    from effleura.scheduling.models import Service

    other = Service.objects.create(name="Synthetic other service", default_price=Decimal("50.00"))
    package, _ = sell(owner, patient, make_plan(service=service))
    assert (
        packages.use_package_for_charge(therapist, make_charge(patient, therapist, day=TODAY(), service=other)) is None
    )
    assert packages.use_package_for_charge(therapist, make_charge(patient, therapist, day=TODAY())) is None
    use = packages.use_package_for_charge(therapist, make_charge(patient, therapist, day=TODAY(), service=service))
    assert use.package == package


def test_another_patients_package_never_covers_a_visit(owner, therapist, patient, make_patient):
    sell(owner, make_patient(), make_plan())
    assert packages.use_package_for_charge(therapist, make_charge(patient, therapist, day=TODAY())) is None


def test_a_cancelled_package_covers_no_more_visits_and_keeps_its_reason(owner, billing, therapist, patient):
    package, _ = sell(owner, patient, make_plan())
    reason = packages.check_cancel_package(billing, package, {"reason": "Moved away"})
    packages.do_cancel_package(billing, package, reason)
    package.refresh_from_db()
    assert package.status == PackageStatus.CANCELLED and package.cancel_reason == "Moved away"
    assert packages.use_package_for_charge(therapist, make_charge(patient, therapist, day=TODAY())) is None
    with pytest.raises(ValidationError):
        packages.check_cancel_package(billing, package, {"reason": "again"})


def test_cancelling_needs_a_reason_and_billing_manage(owner, front_desk, patient):
    package, _ = sell(owner, patient, make_plan())
    with pytest.raises(ValidationError) as error:
        packages.check_cancel_package(owner, package, {"reason": "  "})
    assert "reason" in error.value.message_dict
    with pytest.raises(PermissionDenied):
        packages.check_cancel_package(front_desk, package, {"reason": "Moved away"})


def test_voiding_a_covered_visit_gives_the_session_back(owner, therapist, patient):
    package, _ = sell(owner, patient, make_plan(sessions=1))
    charge = make_charge(patient, therapist, day=TODAY())
    packages.use_package_for_charge(therapist, charge)
    assert packages.release_package_use(owner, charge)
    assert packages.state(package).left == 1
    assert not packages.release_package_use(owner, charge)


def test_sessions_left_counts_only_usable_packages(owner, therapist, patient):
    sell(owner, patient, make_plan(sessions=3))
    sell(owner, patient, make_plan(sessions=4, valid_days=1), purchased_on=TODAY() - datetime.timedelta(days=5))
    packages.use_package_for_charge(therapist, make_charge(patient, therapist, day=TODAY()))
    assert packages.sessions_left(patient) == 2


def test_a_signed_visit_is_covered_by_the_patients_package(owner, sign_visit, make_patient, set_fee):
    set_fee(30, code="97124")
    patient = make_patient()
    package, _ = sell(owner, patient, make_plan(sessions=2), purchased_on=TODAY() - datetime.timedelta(days=1))
    note = sign_visit(patient=patient)
    charge = Charge.objects.get(note=note)
    if charge.date_of_service < package.purchased_on:  # the visit was two hours ago: maybe yesterday
        pytest.skip("visit before the purchase date around midnight")
    assert charge.status == ChargeStatus.PACKAGE
    assert packages.state(package).left == 1


def test_a_package_does_not_cover_a_visit_billed_to_an_insurer(
    owner, therapist, make_patient, make_payer, make_policy, sign_visit
):
    patient = make_patient()
    make_policy(patient, make_payer())
    Package.objects.create(
        patient=patient, name="5 visits (synthetic)", sessions=5, price=Decimal("400.00"),
        expires_on=timezone.localdate() + datetime.timedelta(days=90), created_by=owner,
        purchased_on=timezone.localdate() - datetime.timedelta(days=1),
    )  # fmt: skip
    note = sign_visit(patient=patient)
    charge = note.charge
    assert charge.payer_id is not None
    assert charge.status == "open"
    assert not PackageUse.objects.filter(charge=charge).exists()
