"""Exact money (issue 11): amounts read by the practice's separator, bounded, dated sensibly;
and a payment entered in error voided, not refunded.

Each defect seen on the demo clinic is a test here: "95,00" recorded as 9,500.00; no way to
void it, only a refund ("Received today 9,500.00 / Refunded 9,477.50"); 1e30 answering 500;
a payment dated 0173-09-04 accepted."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from effleura.billing import access, balances, invoices, payments, reports
from effleura.billing.ledger_dates import practice_today
from effleura.billing.models import Payment
from effleura.core.models import AuditEvent, Practice
from effleura.core.values import format_amount

from .billing_ledger_helpers import make_charge, make_plan

D = Decimal


@pytest.fixture
def patient(make_patient):
    return make_patient()


def comma_practice(**fields):
    return Practice.objects.create(name="Synthetic practice", decimal_separator=",", **fields)


def issue(actor, patient, charge):
    clean = invoices.check_issue_visit_invoice(actor, patient, {"charge": str(charge.public_id)})
    return invoices.do_issue_invoice(actor, patient, clean)


def pay(actor, patient, amount, **data):
    clean = payments.check_take_payment(actor, patient, {"amount": amount, "method": "cash", **data})
    return payments.do_take_payment(actor, patient, clean)


def refund(actor, patient, amount):
    clean = payments.check_refund(actor, patient, {"amount": amount, "method": "cash", "reason": "Synthetic."})
    return payments.do_refund(actor, patient, clean)


def void(actor, payment, reason="Typed 9500 for 95.00."):
    payment = Payment.objects.get(pk=payment.pk)
    return payments.do_void_payment(actor, payment, payments.check_void_payment(actor, payment, {"reason": reason}))


# Reading what was typed -----------------------------------------------------------------------


def test_it_refuses_95_comma_00_in_take_a_payment_instead_of_recording_9500(client_for, front_desk, patient):
    response = client_for(front_desk).post(
        reverse("billing:account_pay", args=[patient.public_id]), {"amount": "95,00", "method": "cash"}, follow=True
    )
    assert "Use a point for cents, e.g. 95.00." in response.content.decode()
    assert not Payment.objects.exists()


def test_a_comma_practice_records_95_comma_00_as_95(client_for, front_desk, patient):
    comma_practice()
    client = client_for(front_desk)
    response = client.post(
        reverse("billing:account_pay", args=[patient.public_id]), {"amount": "95,00", "method": "cash"}, follow=True
    )
    assert Payment.objects.get().amount == D("95.00")
    page = response.content.decode()
    assert "Payment of 95,00 USD recorded." in page and "95,00" in page
    refused = client.post(
        reverse("billing:account_pay", args=[patient.public_id]), {"amount": "95.00", "method": "cash"}, follow=True
    )
    assert "Use a comma for cents, e.g. 95,00." in refused.content.decode()


def test_the_refund_form_is_filled_with_the_credit_as_the_practice_writes_it(client_for, billing, patient):
    comma_practice()
    pay(billing, patient, D("1234.50"))
    page = client_for(billing).get(reverse("billing:account", args=[patient.public_id])).content.decode()
    assert 'value="1.234,50"' in page
    response = client_for(billing).post(
        reverse("billing:account_refund", args=[patient.public_id]),
        {"amount": "1.234,50", "method": "cash", "reason": "Synthetic."},
    )
    assert response.status_code == 302 and balances.credit(patient) == 0


# Bounds: never a 500 ---------------------------------------------------------------------------


def _api(client, path, body):
    return client.post(f"/api/v1{path}", body, content_type="application/json")


@pytest.mark.parametrize("amount", ["1e30", '"1e30"', "1E400", "-1e30", '"1000000.01"', "1000000.01"])
def test_a_huge_amount_is_a_422_not_a_500(client_for, front_desk, patient, amount):
    response = _api(client_for(front_desk), f"/billing/accounts/{patient.public_id}/payments",
                    f'{{"amount": {amount}, "method": "cash"}}')  # fmt: skip
    assert response.status_code == 422, response.content
    assert "amount" in response.json()["errors"]
    assert not Payment.objects.exists()


def test_1e30_is_refused_as_at_most_the_largest_amount(client_for, front_desk, patient):
    response = _api(client_for(front_desk), f"/billing/accounts/{patient.public_id}/payments",
                    '{"amount": 1e30, "method": "cash"}')  # fmt: skip
    assert response.json()["errors"]["amount"] == "The amount can be at most 1,000,000.00; check it."


@pytest.mark.parametrize("amount", ["1e30", "95,00", "-4", "0"])
def test_a_bad_amount_in_any_payment_form_is_a_message_not_a_500(client_for, billing, therapist, patient, amount):
    invoice = issue(billing, patient, make_charge(patient, therapist, "80.00"))
    client = client_for(billing)
    for url, data in [
        (reverse("billing:account_pay", args=[patient.public_id]), {"method": "cash"}),
        (reverse("billing:account_refund", args=[patient.public_id]), {"method": "cash", "reason": "x"}),
        (reverse("billing:invoice_credit", args=[invoice.public_id]), {}),
    ]:
        response = client.post(url, {"amount": amount, **data}, follow=True)
        assert response.status_code == 200
        assert 'class="message error"' in response.content.decode() or "error" in response.content.decode()
    assert not Payment.objects.exists()


def test_the_api_reads_95_1_and_95_10_as_the_same_exact_amount(client_for, front_desk, patient):
    client = client_for(front_desk)
    for body in ('{"amount": 95.1, "method": "cash"}', '{"amount": "95.10", "method": "cash"}'):
        assert _api(client, f"/billing/accounts/{patient.public_id}/payments", body).status_code == 201
    assert [p.amount for p in Payment.objects.all()] == [D("95.10"), D("95.10")]
    assert balances.account(patient).received == D("190.20")


@pytest.mark.parametrize("amount", ['"95,00"', '"$95"', '"95.001"', "95.001", "true", '"1,000.00"'])
def test_the_api_refuses_amounts_not_written_with_a_point(client_for, front_desk, patient, amount):
    response = _api(client_for(front_desk), f"/billing/accounts/{patient.public_id}/payments",
                    f'{{"amount": {amount}, "method": "cash"}}')  # fmt: skip
    assert response.status_code == 422 and "amount" in response.json()["errors"]


def test_the_largest_amount_follows_the_practice(front_desk, patient):
    Practice.objects.create(name="Synthetic practice", largest_amount=D("500.00"))
    with pytest.raises(ValidationError) as error:
        payments.check_take_payment(front_desk, patient, {"amount": "500.01", "method": "cash"})
    assert error.value.message_dict["amount"] == ["The amount can be at most 500.00; check it."]
    assert payments.check_take_payment(front_desk, patient, {"amount": "500", "method": "cash"})["amount"] == 500


@pytest.mark.parametrize("amount", ["1e30", '"1e30"', '"1000000.01"'])
def test_fees_and_package_prices_refuse_huge_amounts_with_a_422(client_for, billing, code, amount):
    client = client_for(billing)
    fee = _api(client, "/billing/fees", f'{{"code": "97124", "amount": {amount}}}')
    plan = _api(client, "/billing/package-plans", f'{{"name": "Synthetic", "sessions": 5, "price": {amount}}}')
    assert (fee.status_code, plan.status_code) == (422, 422), (fee.content, plan.content)


def test_fees_and_prices_may_be_zero_and_read_exact_numbers(client_for, billing, code):
    client = client_for(billing)
    free = _api(client, "/billing/fees", '{"code": "97124", "amount": 0}')
    assert free.status_code == 201, free.content
    plan = _api(client, "/billing/package-plans", '{"name": "Synthetic", "sessions": 3, "price": 100.1}')
    assert plan.status_code == 201 and D(plan.json()["price"]) == D("100.10")


def test_a_claim_paid_amount_of_1e30_or_a_date_of_0173_is_a_422(
    client_for, billing, therapist, make_patient, make_payer, make_policy
):
    from effleura.billing import claims

    from .insurance_helpers import VALID_NPI, billing_ready_practice
    from .insurance_helpers import make_charge as make_claim_charge

    billing_ready_practice()
    therapist.npi = VALID_NPI
    therapist.save()
    patient = make_patient()
    charge = make_claim_charge(patient, therapist, policy=make_policy(patient, make_payer()))
    claim = claims.do_create_claim(billing, charge, claims.check_create_claim(billing, charge, {}))
    client, url = client_for(billing), f"/billing/claims/{claim.public_id}/moves"
    assert _api(client, url, {"to": "submitted"}).status_code == 200
    huge = _api(client, url, '{"to": "paid", "paid_amount": 1e30}')
    assert huge.status_code == 422 and "paid_amount" in huge.json()["errors"]
    old = _api(client, url, {"to": "paid", "paid_amount": "1", "on": "0173-09-04"})
    assert old.status_code == 422 and "2000" in old.json()["errors"]["on"]


# Dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["0173-09-04", "1999-12-31"])
def test_it_refuses_a_payment_dated_before_2000(front_desk, patient, day):
    with pytest.raises(ValidationError) as error:
        payments.check_take_payment(front_desk, patient, {"amount": "10", "method": "cash", "received_on": day})
    assert "from 1 January 2000 to tomorrow" in error.value.message_dict["received_on"][0]


def test_a_payment_may_be_dated_tomorrow_in_the_practices_zone_but_not_later(front_desk, patient):
    Practice.objects.create(name="Synthetic practice", time_zone="Pacific/Kiritimati")  # UTC+14
    today = timezone.now().astimezone(Practice.current().zone).date()
    assert practice_today() == today
    ok = payments.check_take_payment(
        front_desk, patient, {"amount": "10", "method": "cash", "received_on": today + datetime.timedelta(days=1)}
    )
    assert ok["received_on"] == today + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as error:
        payments.check_take_payment(
            front_desk, patient, {"amount": "10", "method": "cash", "received_on": today + datetime.timedelta(days=2)}
        )
    assert "received_on" in error.value.message_dict


def test_the_api_refuses_a_payment_dated_0173(client_for, front_desk, patient):
    response = _api(client_for(front_desk), f"/billing/accounts/{patient.public_id}/payments",
                    '{"amount": "10.00", "method": "cash", "received_on": "0173-09-04"}')  # fmt: skip
    assert response.status_code == 422 and "received_on" in response.json()["errors"]


# Voiding a payment entered in error ---------------------------------------------------------------


def test_voiding_the_9500_payment_gives_back_the_balance_and_the_desk_totals(billing, therapist, patient):
    invoice = issue(billing, patient, make_charge(patient, therapist, "95.00"))
    wrong = pay(billing, patient, D("9500.00"))
    assert balances.amounts(invoice).label == "Paid" and balances.credit(patient) == D("9405.00")
    void(billing, wrong)
    account = balances.account(patient)
    assert (account.received, account.credit, account.outstanding, account.balance) == (0, 0, D("95.00"), D("95.00"))
    assert balances.amounts(invoice).label == "Unpaid"
    desk = access.access_desk(billing)
    assert (desk["received_today"], desk["refunded_today"]) == (0, 0)
    wrong.refresh_from_db()
    assert wrong.is_void and wrong.voided_by == billing and wrong.void_reason == "Typed 9500 for 95.00."
    right = pay(billing, patient, "95.00")
    assert balances.amounts(invoice).label == "Paid" and right.allocations.get().invoice == invoice


def test_the_refund_workaround_can_be_undone_refund_first(billing, therapist, patient):
    issue(billing, patient, make_charge(patient, therapist, "22.50"))
    wrong = pay(billing, patient, D("9500.00"))
    workaround = refund(billing, patient, D("9477.50"))
    desk = access.access_desk(billing)
    assert (desk["received_today"], desk["refunded_today"]) == (D("9500.00"), D("9477.50"))
    with pytest.raises(ValidationError) as error:
        payments.check_void_payment(billing, wrong, {"reason": "Typed 9500."})
    assert "credit has been refunded" in error.value.messages[0] and "Void the refund first" in error.value.messages[0]
    void(billing, workaround, "The refund was a workaround.")
    void(billing, wrong)
    desk = access.access_desk(billing)
    assert (desk["received_today"], desk["refunded_today"]) == (0, 0)
    assert balances.account(patient).balance == D("22.50")


def test_a_second_void_says_it_is_already_void(billing, patient):
    payment = pay(billing, patient, "10.00")
    void(billing, payment)
    with pytest.raises(ValidationError) as error:
        payments.check_void_payment(billing, payment, {"reason": "again"})
    assert error.value.messages == ["This payment is already void."]
    with pytest.raises(ValidationError):  # and under the lock, had the check raced
        payments.do_void_payment(billing, payment, {"reason": "again"})


def test_a_void_needs_a_reason(billing, patient):
    payment = pay(billing, patient, "10.00")
    with pytest.raises(ValidationError) as error:
        payments.check_void_payment(billing, payment, {"reason": "  "})
    assert "Say why" in error.value.message_dict["reason"][0]


@pytest.mark.parametrize("who", ["front_desk", "therapist", "outsider"])
def test_only_billing_staff_and_the_owner_may_void(request, who, billing, patient):
    payment = pay(billing, patient, "10.00")
    with pytest.raises(PermissionDenied):
        payments.check_void_payment(request.getfixturevalue(who), payment, {"reason": "x"})


def test_a_void_is_audited_without_amounts(owner, patient):
    payment = pay(owner, patient, "10.00")
    void(owner, payment)
    event = AuditEvent.objects.filter(record_type="payment", detail="payment void").get()
    assert event.record_id == str(payment.public_id) and event.patient_id == patient.public_id
    assert "10" not in event.detail


def test_credit_is_not_taken_from_a_void_payment(billing, therapist, patient):
    first = pay(billing, patient, "50.00")
    pay(billing, patient, "20.00")
    void(billing, first)
    invoice = issue(billing, patient, make_charge(patient, therapist, "60.00"))
    applied = payments.do_apply_credit(billing, invoice, payments.check_apply_credit(billing, invoice, {}))
    assert applied == D("20.00") and balances.amounts(invoice).outstanding == D("40.00")
    with pytest.raises(ValidationError):
        refund(billing, patient, "1.00")


def test_reports_leave_a_void_payment_out(billing, patient):
    pay(billing, patient, "30.00")
    void(billing, pay(billing, patient, "9500.00"))
    today = practice_today()
    report = reports.payments(today, today)
    assert report.totals["received"] == D("30.00") and report.totals["payments"] == 1


def test_the_account_page_voids_a_payment_with_a_reason(client_for, billing, therapist, patient):
    issue(billing, patient, make_charge(patient, therapist, "95.00"))
    payment = pay(billing, patient, "9500.00")
    client = client_for(billing)
    page = client.get(reverse("billing:account", args=[patient.public_id])).content.decode()
    assert reverse("billing:payment_void", args=[payment.public_id]) in page
    response = client.post(reverse("billing:payment_void", args=[payment.public_id]), {"reason": "Typo."}, follow=True)
    page = response.content.decode()
    assert "Payment of 9,500.00 USD voided" in page and "<strong>Void</strong>" in page and "Typo." in page
    assert balances.account(patient).balance == D("95.00")


@pytest.mark.parametrize("who", ["front_desk", "therapist"])
def test_the_void_page_and_button_refuse_other_roles(request, who, client_for, billing, patient):
    payment = pay(billing, patient, "10.00")
    client = client_for(request.getfixturevalue(who))
    assert client.post(reverse("billing:payment_void", args=[payment.public_id]), {"reason": "x"}).status_code == 403
    if who == "front_desk":
        page = client.get(reverse("billing:account", args=[patient.public_id])).content.decode()
        assert reverse("billing:payment_void", args=[payment.public_id]) not in page
    payment.refresh_from_db()
    assert not payment.is_void


def test_the_api_voids_a_payment(client_for, billing, front_desk, patient):
    payment = pay(billing, patient, "10.00")
    url = f"/billing/payments/{payment.public_id}/void"
    assert _api(client_for(front_desk), url, {"reason": "x"}).status_code == 403
    missing = _api(client_for(billing), url, {})
    assert missing.status_code == 422
    done = _api(client_for(billing), url, {"reason": "Entered twice."})
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["void"] is True and body["void_reason"] == "Entered twice." and body["voided_by"]
    again = _api(client_for(billing), url, {"reason": "Entered twice."})
    assert again.status_code == 422 and again.json()["detail"] == "This payment is already void."
    listed = client_for(billing).get(f"/api/v1/billing/accounts/{patient.public_id}/payments").json()
    assert listed[0]["void"] is True
    assert D(client_for(billing).get(f"/api/v1/billing/accounts/{patient.public_id}").json()["received"]) == 0


def test_a_package_sale_still_works_with_exact_prices(client_for, front_desk, patient):
    plan = make_plan(sessions=5, price="250.00")
    sold = _api(
        client_for(front_desk), f"/billing/accounts/{patient.public_id}/packages", {"plan": str(plan.public_id)}
    )
    assert sold.status_code == 201 and D(sold.json()["price"]) == D("250.00")


# Never a cent lost or gained ---------------------------------------------------------------------

CENTS = st.lists(st.integers(min_value=1, max_value=100_000_000), min_size=1, max_size=6)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cents=CENTS, separator=st.sampled_from([".", ","]), voided=st.integers(min_value=0, max_value=5))
def test_amounts_round_trip_through_the_form_reader_and_the_ledger(cents, separator, voided, billing, make_patient):
    from django.db import transaction

    sid = transaction.savepoint()
    try:
        Practice.objects.create(name="Synthetic practice", decimal_separator=separator)
        patient = make_patient()
        taken = []
        for c in cents:
            amount = D(c) / 100
            typed = format_amount(amount, separator)  # as the page shows it, e.g. 1.234,56
            taken.append(pay(billing, patient, typed))
            assert taken[-1].amount == amount
        gone = taken[voided] if voided < len(taken) else None
        if gone is not None:
            void(billing, gone)
        expected = sum((D(c) / 100 for c in cents), D("0.00")) - (gone.amount if gone else 0)
        account = balances.account(patient)
        assert account.received == expected and account.credit == expected
        assert balances.totals().received == expected
    finally:
        transaction.savepoint_rollback(sid)


def test_set_up_forms_are_filled_with_amounts_as_the_practice_types_them(client_for, billing, set_fee, code):
    comma_practice()
    fee = set_fee("1234.50", code="97124")
    plan = make_plan(price="850.00")
    client = client_for(billing)
    page = client.get(reverse("billing:fee_edit", args=[fee.public_id])).content.decode()
    assert 'value="1.234,50"' in page
    assert 'value="850,00"' in client.get(reverse("billing:plan_edit", args=[plan.public_id])).content.decode()
    data = {"code": code("97124").public_id, "amount": "1.234,50"}
    assert client.post(reverse("billing:fee_edit", args=[fee.public_id]), data).status_code == 302
    fee.refresh_from_db()
    assert fee.amount == D("1234.50")


LEDGER_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["invoice", "pay", "refund", "void_payment", "void_refund", "void_invoice", "credit"]),
        st.integers(min_value=1, max_value=20000),  # an amount in cents
        st.integers(min_value=0, max_value=3),  # which payment, refund or invoice
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=LEDGER_STEPS)
def test_the_books_reconcile_whatever_is_voided(steps, billing, therapist, make_patient):
    """Voids mixed with payments, refunds, invoices and credit: the books always balance,
    credit never goes below zero, no invoice is over-paid, and a void payment counts for
    nothing (received is the sum of the payments that are not void)."""
    from django.db import transaction

    from effleura.billing.choices import InvoiceStatus, PaymentKind
    from effleura.billing.models import Invoice

    sid = transaction.savepoint()
    try:
        patient = make_patient()
        for action, cents, which in steps:
            amount = D(cents) / 100
            live = list(Payment.objects.filter(Payment.LIVE, patient=patient).order_by("id"))
            paid_in = [p for p in live if p.kind == PaymentKind.PAYMENT]
            paid_out = [p for p in live if p.kind == PaymentKind.REFUND]
            issued = list(Invoice.objects.filter(patient=patient, status=InvoiceStatus.ISSUED).order_by("id"))
            try:
                if action == "invoice":
                    issue(billing, patient, make_charge(patient, therapist, amount))
                elif action == "pay":
                    pay(billing, patient, amount)
                elif action == "refund":
                    refund(billing, patient, amount)
                elif action == "void_payment" and paid_in:
                    void(billing, paid_in[which % len(paid_in)])
                elif action == "void_refund" and paid_out:
                    void(billing, paid_out[which % len(paid_out)])
                elif action == "void_invoice" and issued:
                    invoices.do_void_invoice(billing, issued[which % len(issued)], "Synthetic.")
                elif action == "credit" and issued:
                    target = issued[which % len(issued)]
                    payments.do_apply_credit(billing, target, payments.check_apply_credit(billing, target, {}))
            except ValidationError:
                pass  # refused (a refund over the credit, a void that would spend refunded credit)
            account = balances.account(patient)
            assert account.invoiced == account.paid + account.outstanding
            assert account.credit >= 0 and account.outstanding >= 0
            assert account.received - account.refunded == account.paid + account.credit
            live = Payment.objects.filter(Payment.LIVE, patient=patient)
            assert account.received == sum((p.amount for p in live if p.kind == PaymentKind.PAYMENT), D("0.00"))
            for amounts in balances.invoice_amounts(Invoice.objects.filter(patient=patient)).values():
                assert amounts.paid <= amounts.total, "an invoice was over-paid"
    finally:
        transaction.savepoint_rollback(sid)
