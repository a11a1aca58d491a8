"""The demo clinic's billing (billing/demo.py): payers, fees, policies and packages before
the clinical demo signs its notes; invoices in every state, a month of payments, claims in
every status and an adjusted charge after it. Loaded once for the module through
effleura.demo.data.load_demo(), like `effleura demo`."""

import datetime
from collections import Counter
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from effleura.billing import balances, reports
from effleura.billing.choices import ChargeStatus, ClaimStatus, InvoiceKind, PaymentKind, PaymentMethod, Relationship
from effleura.billing.models import (
    Charge,
    ChargeAdjustment,
    Claim,
    FeeScheduleEntry,
    Invoice,
    Package,
    PackagePlan,
    Payer,
    Payment,
    Policy,
    ProcedureCode,
    TechniqueCode,
)
from effleura.core import clock
from effleura.core.models import Practice, User
from effleura.core.npi import is_valid_npi
from effleura.demo import billing as demo
from effleura.demo import data as demo_data
from effleura.patients.models import Patient


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker, tmp_path_factory):
    media = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")))
    with django_db_blocker.unblock(), media, transaction.atomic():
        demo_data.load_demo()
        staff = {u.username: u for u in User.objects.filter(is_demo=True)}
        patients = list(Patient.objects.filter(is_demo=True).order_by("pk"))
        again = (demo.load_billing_setup_demo(staff, patients), demo.load_billing_ledger_demo(staff, patients))
        yield {"again": again}
        transaction.set_rollback(True)


@pytest.fixture
def demo_db(loaded, db):
    return loaded


def labels(invoices) -> Counter:
    amounts = balances.invoice_amounts(invoices)
    return Counter(amounts[i.pk].label for i in invoices)


def test_payers_and_policies_are_labelled_synthetic(demo_db):
    payers = list(Payer.objects.all())
    assert {p.name for p in payers} == {demo.MEDICARE, demo.MUTUAL, demo.SHIELD}
    assert all(p.name.endswith("(demo)") for p in payers)
    assert {p.name: p.unit_method for p in payers}[demo.MUTUAL] == "per_code"
    found = list(Policy.objects.select_related("patient", "payer"))
    assert all(p.patient.is_demo and p.member_id.startswith("DEMO-") and "(demo)" in p.payer.name for p in found)
    primaries = {p.patient_id for p in found if p.priority == "primary"}
    assert 15 <= len(primaries) <= 25  # about a third of the 60 patients
    assert any(p.priority == "secondary" for p in found)
    others = [p for p in found if p.relationship != Relationship.SELF]
    assert {p.relationship for p in others} >= {Relationship.SPOUSE}
    assert all(p.subscriber_last_name and p.subscriber_date_of_birth for p in others)


def test_set_up_has_fees_mapping_plans_and_billing_ids(demo_db):
    codes = set(ProcedureCode.objects.filter(is_active=True).values_list("code", flat=True))
    standard = set(FeeScheduleEntry.objects.filter(payer=None, code__isnull=False).values_list("code__code", flat=True))
    assert standard == codes
    assert FeeScheduleEntry.objects.filter(payer__isnull=False).exists()
    assert FeeScheduleEntry.objects.filter(service__isnull=False, payer=None, minutes=None).count() == 3
    lengths = FeeScheduleEntry.objects.filter(service__name="Clinical massage", minutes__isnull=False)
    assert sorted(lengths.values_list("minutes", flat=True)) == [30, 90]  # a 30-minute visit costs less
    medicare = TechniqueCode.objects.get(technique="electrotherapy", payer__name=demo.MEDICARE)
    assert medicare.code.code == "G0283"
    assert sorted(PackagePlan.objects.values_list("sessions", flat=True)) == [5, 10]
    practice = Practice.current()
    assert practice.tax_id and is_valid_npi(practice.npi) and practice.name.startswith("Anytown")
    assert practice.address_line1  # the practice's other details were kept
    therapists = User.objects.filter(username__in=["owner", "therapist", "therapist2", "therapist3"])
    assert all(is_valid_npi(u.npi) for u in therapists)


def test_signed_notes_make_priced_charges(demo_db):
    charges = list(Charge.objects.select_related("payer").prefetch_related("lines"))
    assert charges
    assert all(c.note_id for c in charges)
    assert all(c.total > 0 and "No fee set" not in c.notes for c in charges)
    for c in charges:
        assert c.total == sum((line.amount for line in c.lines.all()), Decimal("0.00"))
        assert all(0 <= line.units <= 8 for line in c.lines.all())
    insured = [c for c in charges if c.payer_id]
    assert insured and {c.unit_method for c in insured} == {"cms", "per_code"}
    # The packages sold before the visits cover some of them.
    assert any(c.status == ChargeStatus.PACKAGE for c in charges)
    assert Package.objects.filter(patient__is_demo=True).count() >= 2


def test_invoices_in_every_state(demo_db):
    invoices = list(Invoice.objects.all())
    assert {"Unpaid", "Partly paid", "Paid", "Void"} <= set(labels(invoices))
    kinds = {i.kind for i in invoices}
    assert kinds == {InvoiceKind.VISIT, InvoiceKind.PERIOD, InvoiceKind.PACKAGE}
    void = [i for i in invoices if i.status == "void"]
    assert void and all(i.void_reason for i in void)
    assert all(i.issued_on <= clock.today() and i.due_on >= i.issued_on for i in invoices)


def test_a_month_of_payments_by_every_method_a_refund_and_credit(demo_db):
    today = clock.today()
    month = Payment.objects.filter(kind=PaymentKind.PAYMENT, received_on__gte=today - datetime.timedelta(days=31))
    assert set(month.values_list("method", flat=True)) == set(PaymentMethod.values)
    days = set(month.values_list("received_on", flat=True))
    assert len(days) >= 8 and max(days) - min(days) >= datetime.timedelta(days=20)
    assert Payment.objects.filter(kind=PaymentKind.REFUND).exists()
    in_credit = [p for p in Patient.objects.filter(is_demo=True) if balances.account(p).credit > 0]
    assert in_credit


def test_accounts_reconcile_for_every_demo_patient(demo_db):
    total_invoiced = total_paid = total_outstanding = Decimal("0.00")
    for patient in Patient.objects.filter(is_demo=True):
        account = balances.account(patient)
        assert account.invoiced == account.paid + account.outstanding
        assert account.credit >= 0 and account.outstanding >= 0
        total_invoiced += account.invoiced
        total_paid += account.paid
        total_outstanding += account.outstanding
    everyone = balances.totals()
    assert (everyone.invoiced, everyone.paid, everyone.outstanding) == (total_invoiced, total_paid, total_outstanding)
    assert everyone.invoiced == everyone.paid + everyone.outstanding > 0
    amounts = balances.invoice_amounts(list(Invoice.objects.all()))
    assert all(a.paid <= a.total for a in amounts.values())


def test_aging_has_all_four_buckets(demo_db):
    report, _patients = reports.aging(clock.today())
    for key, *_rest in reports.AGING_BUCKETS:
        assert report.totals[key] > 0, key


def test_claims_in_every_status(demo_db):
    claims = list(Claim.objects.select_related("charge", "policy"))
    assert {c.status for c in claims} == set(ClaimStatus.values)
    assert all(c.charge.payer_id and c.policy.patient_id == c.charge.patient_id for c in claims)
    denied = [c for c in claims if c.status == ClaimStatus.DENIED]
    assert all(c.denial_reason for c in denied)
    resubmitted = [c for c in claims if c.resubmissions]
    assert resubmitted and any(c.status == ClaimStatus.PAID for c in resubmitted)
    assert all(c.paid_amount and c.paid_amount <= c.billed_amount for c in claims if c.status == ClaimStatus.PAID)
    # Every move is a ClaimEvent: a draft has one, a paid claim at least three.
    for c in claims:
        assert c.events.count() >= {"draft": 1, "submitted": 2, "denied": 3, "resubmitted": 4, "paid": 3}[c.status]


def test_one_charge_adjusted_with_a_reason(demo_db):
    adjustment = ChargeAdjustment.objects.select_related("charge", "by").get()
    assert adjustment.reason and "(demo)" in adjustment.reason
    assert adjustment.by_id == adjustment.charge.practitioner_id
    before = sum(row["units"] for row in adjustment.before)
    after = sum(row["units"] for row in adjustment.after)
    assert after == before - 1


def test_loading_again_changes_nothing(demo_db):
    setup_again, ledger_again = demo_db["again"]
    assert not setup_again.created and not ledger_again.created
    assert Payer.objects.count() == 3


def test_the_demo_payers_that_bundle_manual_therapy_with_massage_say_so(demo_db):
    from effleura.billing import cms1500, setup

    payers = {p.name: p for p in Payer.objects.all()}
    assert [str(p) for p in payers[demo.MEDICARE].pair_modifiers] == ["97140 with 97530: 59", "97140 with 97124: 59"]
    assert [str(p) for p in payers[demo.SHIELD].pair_modifiers] == ["97140 with 97124: 59"]
    assert payers[demo.MUTUAL].pair_modifiers == []
    for payer in payers.values():  # what the set-up would save again
        assert setup.check_pair_modifiers(payer.pair_modifiers, payer.line_modifiers.split()) == (
            [],
            payer.pair_modifiers,
        )
    # A demo claim for a visit billing massage and manual therapy carries 59 on 97140 only.
    partners = {demo.MEDICARE: {"97530", "97124"}, demo.SHIELD: {"97124"}, demo.MUTUAL: set()}
    seen = Counter()
    for claim in Claim.objects.select_related("charge", "policy__payer"):
        lines = cms1500.service_lines(claim)
        codes = {line.code.code for line, _mods in lines}
        bundled = bool(codes & partners[claim.policy.payer.name])
        for line, mods in lines:
            with_59 = line.code.code == "97140" and bundled
            assert ("59" in mods) is with_59, (claim.pk, line.code.code, mods)
            seen[with_59] += 1
    assert seen[True] > 0
