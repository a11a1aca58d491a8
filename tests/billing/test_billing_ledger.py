"""The ledger (billing/balances.py, invoices.py, payments.py): invoices, payments, refunds, credit, balances."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from effleura.billing import balances, invoices, ledger, payments
from effleura.billing.choices import ChargeStatus, InvoiceKind, InvoiceStatus
from effleura.billing.models import Invoice, PaymentAllocation
from effleura.core.models import AuditEvent

from .billing_ledger_helpers import make_charge

D = Decimal
TODAY = timezone.localdate


@pytest.fixture
def patient(make_patient):
    return make_patient()


def visit_invoice(actor, patient, charge):
    return invoices.do_issue_invoice(
        actor, patient, invoices.check_issue_visit_invoice(actor, patient, {"charge": str(charge.public_id)})
    )


def pay(actor, patient, amount, invoices=None, method="cash"):
    data = {"amount": amount, "method": method}
    if invoices is not None:
        data["invoices"] = [str(i.public_id) for i in invoices]
    return payments.do_take_payment(actor, patient, payments.check_take_payment(actor, patient, data))


def test_a_visit_invoice_copies_the_charge_and_marks_it_invoiced(front_desk, therapist, patient):
    charge = make_charge(patient, therapist, "85.00")
    invoice = visit_invoice(front_desk, patient, charge)
    assert invoice.kind == InvoiceKind.VISIT and invoice.total == D("85.00")
    line = invoice.lines.get()
    assert (line.code, line.units, line.amount, line.charge) == ("97124", 2, D("85.00"), charge)
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.INVOICED
    assert invoice.number == f"{TODAY().year}-00001"
    assert AuditEvent.objects.filter(record_type="invoice", action="create", patient_id=patient.public_id).exists()


def test_invoice_numbers_run_in_order_within_the_year(front_desk, therapist, patient):
    numbers = [visit_invoice(front_desk, patient, make_charge(patient, therapist)).number for _ in range(3)]
    year = TODAY().year
    assert numbers == [f"{year}-00001", f"{year}-00002", f"{year}-00003"]


def test_invoice_numbers_go_on_past_99999_in_a_year(front_desk, therapist, patient):
    year = TODAY().year
    Invoice.objects.create(number=f"{year}-99999", patient=patient, total=D("1.00"), created_by=front_desk)
    numbers = [visit_invoice(front_desk, patient, make_charge(patient, therapist)).number for _ in range(2)]
    assert numbers == [f"{year}-100000", f"{year}-100001"]


def test_a_number_taken_meanwhile_is_retried_with_the_next(front_desk, therapist, patient, monkeypatch):
    first = visit_invoice(front_desk, patient, make_charge(patient, therapist))
    calls = []
    real = invoices._next_number

    def stale(year):  # the first try sees the number before ``first`` was issued
        calls.append(year)
        return first.number if len(calls) == 1 else real(year)

    monkeypatch.setattr(invoices, "_next_number", stale)
    second = visit_invoice(front_desk, patient, make_charge(patient, therapist))
    assert second.number == f"{TODAY().year}-00002" and len(calls) == 2


def test_it_refuses_to_invoice_a_visit_twice_or_one_without_a_fee(front_desk, therapist, patient, make_patient):
    charge = make_charge(patient, therapist)
    visit_invoice(front_desk, patient, charge)
    with pytest.raises(ValidationError) as error:
        invoices.check_issue_visit_invoice(front_desk, patient, {"charge": charge.public_id})
    assert "already invoiced" in error.value.message_dict["charge"][0]
    free = make_charge(patient, therapist, "0.00")
    with pytest.raises(ValidationError) as error:
        invoices.check_issue_visit_invoice(front_desk, patient, {"charge": free.public_id})
    assert "no fee" in error.value.message_dict["charge"][0]
    other = make_charge(make_patient(), therapist)
    with pytest.raises(ValidationError) as error:
        invoices.check_issue_visit_invoice(front_desk, patient, {"charge": other.public_id})
    assert "this patient" in error.value.message_dict["charge"][0]


@pytest.mark.parametrize("who", ["therapist", "outsider"])
def test_it_refuses_invoices_and_payments_to_roles_without_payment_take(request, who, therapist, patient):
    user = request.getfixturevalue(who)
    charge = make_charge(patient, therapist)
    with pytest.raises(PermissionDenied):
        invoices.check_issue_visit_invoice(user, patient, {"charge": charge.public_id})
    with pytest.raises(PermissionDenied):
        payments.check_take_payment(user, patient, {"amount": "10", "method": "cash"})
    assert AuditEvent.objects.filter(outcome="denied", patient_id=patient.public_id).count() == 2


def test_a_period_invoice_gathers_the_open_visits_in_the_range(front_desk, therapist, patient):
    day = TODAY() - datetime.timedelta(days=20)
    inside = [
        make_charge(patient, therapist, "50.00", day),
        make_charge(patient, therapist, "60.00", day + datetime.timedelta(days=5)),
    ]
    outside = make_charge(patient, therapist, "70.00", day - datetime.timedelta(days=1))
    data = {"start": day.isoformat(), "end": (day + datetime.timedelta(days=10)).isoformat()}
    invoice = invoices.do_issue_invoice(
        front_desk, patient, invoices.check_issue_period_invoice(front_desk, patient, data)
    )
    assert invoice.kind == InvoiceKind.PERIOD and invoice.total == D("110.00")
    assert invoice.period_start == day
    assert {line.charge_id for line in invoice.lines.all()} == {c.pk for c in inside}
    outside.refresh_from_db()
    assert outside.status == ChargeStatus.OPEN
    with pytest.raises(ValidationError) as error:
        invoices.check_issue_period_invoice(front_desk, patient, data)
    assert "no visits" in error.value.message_dict["start"][0]


def test_a_period_must_be_in_order_and_dated(front_desk, patient):
    with pytest.raises(ValidationError) as error:
        invoices.check_issue_period_invoice(front_desk, patient, {"start": "2025-03-10", "end": "2025-03-01"})
    assert "ends before" in error.value.message_dict["end"][0]
    with pytest.raises(ValidationError) as error:
        invoices.check_issue_period_invoice(front_desk, patient, {"start": "soon", "end": ""})
    assert set(error.value.message_dict) == {"start", "end"}


def test_a_payment_pays_the_oldest_invoice_first_and_the_rest_is_credit(front_desk, therapist, patient):
    old = visit_invoice(front_desk, patient, make_charge(patient, therapist, "50.00"))
    new = visit_invoice(front_desk, patient, make_charge(patient, therapist, "40.00"))
    Invoice.objects.filter(pk=old.pk).update(issued_on=TODAY() - datetime.timedelta(days=3))
    pay(front_desk, patient, "70.00")
    assert balances.amounts(old).label == "Paid"
    assert balances.amounts(new).paid == D("20.00") and balances.amounts(new).label == "Partly paid"
    pay(front_desk, patient, "30.00", method="card")
    account = balances.account(patient)
    assert (account.outstanding, account.credit, account.balance) == (D("0.00"), D("10.00"), D("-10.00"))


def test_a_payment_goes_to_the_chosen_invoice(front_desk, therapist, patient):
    first = visit_invoice(front_desk, patient, make_charge(patient, therapist, "50.00"))
    second = visit_invoice(front_desk, patient, make_charge(patient, therapist, "40.00"))
    pay(front_desk, patient, "40.00", invoices=[second])
    assert balances.amounts(second).label == "Paid" and balances.amounts(first).paid == D("0.00")


@pytest.mark.parametrize(
    ("amount", "message"),
    [("", "Enter the amount"), ("-5", "more than zero"), ("0", "more than zero"), ("ten", "as a number"),
     ("10.001", "whole cents"), ("1000000.01", "at most 1,000,000.00"), ("nan", "as a number"),
     ("95,00", "Use a point for cents")],
)  # fmt: skip
def test_it_refuses_bad_amounts_in_plain_words(front_desk, patient, amount, message):
    with pytest.raises(ValidationError) as error:
        payments.check_take_payment(front_desk, patient, {"amount": amount, "method": "cash"})
    assert message in error.value.message_dict["amount"][0]


def test_it_refuses_an_unknown_method_a_future_date_and_anothers_invoice(front_desk, therapist, patient, make_patient):
    other = make_patient()
    theirs = visit_invoice(front_desk, other, make_charge(other, therapist))
    data = {"amount": "10", "method": "bitcoin", "received_on": TODAY() + datetime.timedelta(days=2),
            "invoices": [str(theirs.public_id)]}  # fmt: skip
    with pytest.raises(ValidationError) as error:
        payments.check_take_payment(front_desk, patient, data)
    assert set(error.value.message_dict) == {"method", "received_on", "invoices"}


def test_voiding_an_invoice_reopens_its_visits_and_turns_its_payments_into_credit(
    billing, front_desk, therapist, patient
):
    charge = make_charge(patient, therapist, "80.00")
    invoice = visit_invoice(front_desk, patient, charge)
    pay(front_desk, patient, "30.00")
    reason = invoices.check_void_invoice(billing, invoice, {"reason": "Wrong patient"})
    invoices.do_void_invoice(billing, invoice, reason)
    invoice.refresh_from_db()
    charge.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID and invoice.void_reason == "Wrong patient"
    assert charge.status == ChargeStatus.OPEN
    account = balances.account(patient)
    assert (account.invoiced, account.outstanding, account.credit) == (D("0.00"), D("0.00"), D("30.00"))
    assert PaymentAllocation.objects.filter(invoice=invoice).exists()  # the history stays
    again = visit_invoice(front_desk, patient, charge)
    assert again.number != invoice.number


def test_voiding_needs_billing_manage_and_a_reason(front_desk, billing, therapist, patient):
    invoice = visit_invoice(front_desk, patient, make_charge(patient, therapist))
    with pytest.raises(PermissionDenied):
        invoices.check_void_invoice(front_desk, invoice, {"reason": "x"})
    with pytest.raises(ValidationError) as error:
        invoices.check_void_invoice(billing, invoice, {"reason": ""})
    assert "reason" in error.value.message_dict


def test_credit_is_applied_to_a_later_invoice(front_desk, therapist, patient):
    pay(front_desk, patient, "100.00")
    invoice = visit_invoice(front_desk, patient, make_charge(patient, therapist, "60.00"))
    assert payments.do_apply_credit(front_desk, invoice, payments.check_apply_credit(front_desk, invoice, {})) == D(
        "60.00"
    )
    assert balances.amounts(invoice).label == "Paid" and balances.credit(patient) == D("40.00")
    with pytest.raises(ValidationError):
        payments.check_apply_credit(front_desk, invoice, {})


def test_it_refuses_to_apply_more_credit_than_there_is(front_desk, therapist, patient):
    invoice = visit_invoice(front_desk, patient, make_charge(patient, therapist, "60.00"))
    with pytest.raises(ValidationError) as error:
        payments.check_apply_credit(front_desk, invoice, {})
    assert "no credit" in str(error.value)
    pay(front_desk, patient, "10.00", invoices=[])
    invoice2 = visit_invoice(front_desk, patient, make_charge(patient, therapist, "60.00"))
    invoices.do_void_invoice(front_desk, invoice, "Test")  # 10 back to credit
    with pytest.raises(ValidationError) as error:
        payments.check_apply_credit(front_desk, invoice2, {"amount": "20.00"})
    assert "only 10.00" in error.value.message_dict["amount"][0]


def test_refunds_only_up_to_credit(billing, front_desk, therapist, patient):
    pay(front_desk, patient, "50.00")
    with pytest.raises(ValidationError) as error:
        payments.check_refund(billing, patient, {"amount": "60.00", "method": "cash", "reason": "Overpaid"})
    assert "only credit" in error.value.message_dict["amount"][0].lower()
    clean = payments.check_refund(billing, patient, {"amount": "50.00", "method": "card", "reason": "Overpaid"})
    refund = payments.do_refund(billing, patient, clean)
    assert refund.kind == "refund" and balances.credit(patient) == D("0.00")
    with pytest.raises(PermissionDenied):
        payments.check_refund(front_desk, patient, {"amount": "1.00", "method": "cash", "reason": "x"})


def test_a_refund_needs_a_reason(billing, patient):
    with pytest.raises(ValidationError) as error:
        payments.check_refund(billing, patient, {"amount": "1.00", "method": "cash"})
    assert "reason" in error.value.message_dict


def test_account_reads_are_bounded(front_desk, therapist, patient, django_assert_max_num_queries):
    for _ in range(5):
        visit_invoice(front_desk, patient, make_charge(patient, therapist))
        pay(front_desk, patient, "7.00")
    with django_assert_max_num_queries(4):
        balances.account(patient)
    invoices = list(Invoice.objects.filter(patient=patient))
    with django_assert_max_num_queries(1):
        balances.invoice_amounts(invoices)


def test_an_invoice_paid_in_two_parts_is_paid_whatever_the_engine_sums_with(billing, therapist, patient):
    # SQLite adds 0.12 and 1.64 as floats (1.7599999999999998): still "paid", not open.
    invoice = visit_invoice(billing, patient, make_charge(patient, therapist, Decimal("1.76")))
    pay(billing, patient, "0.12")
    pay(billing, patient, "1.64")
    assert balances.account(patient).open_invoices == 0
    assert list(balances.open_invoices(patient)) == []
    assert ledger.account_page(patient)["account"] == balances.account(patient)
    assert invoice.pk not in {i.pk for i in balances.open_invoices(patient)}


# Reconciliation: whatever happens, the books balance. ------------------------------------------

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["invoice", "pay", "pay_chosen", "refund", "void", "credit"]),
        st.integers(min_value=0, max_value=1),  # which patient
        st.integers(min_value=1, max_value=20000),  # an amount in cents
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
@example(actions=[("invoice", 1, 176), ("pay", 1, 12), ("pay", 1, 164)])  # a float sum's leftover
def test_the_books_always_reconcile(actions, billing, therapist, make_patient):
    from django.db import transaction

    sid = transaction.savepoint()
    try:
        patients = [make_patient(), make_patient()]
        for action, who, cents in actions:
            patient = patients[who]
            amount = (D(cents) / 100).quantize(D("0.01"))
            issued = list(Invoice.objects.filter(patient=patient, status=InvoiceStatus.ISSUED).order_by("id"))
            try:
                if action == "invoice":
                    visit_invoice(billing, patient, make_charge(patient, therapist, amount))
                elif action == "pay":
                    pay(billing, patient, amount)
                elif action == "pay_chosen" and issued:
                    pay(billing, patient, amount, invoices=issued[-1:])
                elif action == "refund":
                    clean = payments.check_refund(billing, patient, {"amount": amount, "method": "cash", "reason": "r"})
                    payments.do_refund(billing, patient, clean)
                elif action == "void" and issued:
                    invoices.do_void_invoice(billing, issued[0], "r")
                elif action == "credit" and issued:
                    payments.do_apply_credit(billing, issued[-1], payments.check_apply_credit(billing, issued[-1], {}))
            except ValidationError:
                pass  # refused (e.g. refund over credit): the books must still balance
        accounts = [balances.account(p) for p in patients]
        for patient, account in zip(patients, accounts, strict=True):
            # The account page works its account out from the rows it lists: the same figures.
            assert ledger.account_page(patient)["account"] == account
        whole = balances.totals()
        for account in [*accounts, whole]:
            assert account.invoiced == account.paid + account.outstanding
            assert account.credit >= 0
            assert account.outstanding >= 0
            assert account.received - account.refunded == account.paid + account.credit
        assert whole.invoiced == sum(a.invoiced for a in accounts)
        assert whole.credit == sum(a.credit for a in accounts)
        for amounts in balances.invoice_amounts(Invoice.objects.all()).values():
            assert amounts.paid <= amounts.total, "an invoice was over-paid"
    finally:
        transaction.savepoint_rollback(sid)
