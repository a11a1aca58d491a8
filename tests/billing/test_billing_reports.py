"""Billing reports (billing/reports.py): what each report counts, from the issue's facts.

Records are made directly with the models (charges, invoices, payments, appointments):
these tests are about the sums, not the actions that make the records. Synthetic only."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from effleura.billing import access, reports
from effleura.billing.models import Charge, ChargeLine, Invoice, Payment, PaymentAllocation, ProcedureCode
from effleura.core.models import AuditEvent
from effleura.scheduling.models import Appointment, Service

D = Decimal
_numbers = itertools.count(1)


@pytest.fixture
def charge(owner, therapist, make_patient, practice):
    """charge(total, day, practitioner=therapist, status="open", service=<the practice's>,
    units=None) -> a Charge made directly (with one 97124 line of ``units`` if given)."""
    _location, _room, service_ = practice
    patient = make_patient()

    def make(total, day, practitioner=therapist, status="open", service=service_, units=None):
        made = Charge.objects.create(
            patient=patient, practitioner=practitioner, service=service, date_of_service=day, total=D(total),
            status=status, created_by=owner, void_reason="Entered twice" if status == "void" else "",
        )  # fmt: skip
        if units is not None:
            ChargeLine.objects.create(
                charge=made, code=ProcedureCode.objects.get(code="97124"), minutes=15 * units,
                computed_units=units, units=units, unit_price=D(total) / units, amount=D(total),
            )  # fmt: skip
        return made

    return make


@pytest.fixture
def invoice(owner):
    """invoice(patient, total, issued_on, status="issued") -> an Invoice made directly."""

    def make(patient, total, issued_on, status="issued"):
        return Invoice.objects.create(
            number=f"2026-{next(_numbers):05d}", patient=patient, total=D(total), issued_on=issued_on,
            status=status, created_by=owner, void_reason="Wrong patient" if status == "void" else "",
        )  # fmt: skip

    return make


@pytest.fixture
def pay(owner):
    """pay(patient, amount, on, method="cash", kind="payment", to=None, at=None) -> a Payment,
    applied in full to invoice ``to`` (at instant ``at``) when given."""

    def make(patient, amount, on, method="cash", kind="payment", to=None, at=None):
        payment = Payment.objects.create(
            patient=patient, amount=D(amount), received_on=on, method=method, kind=kind, recorded_by=owner
        )
        if to is not None:
            PaymentAllocation.objects.create(
                payment=payment, invoice=to, amount=D(amount), by=owner, at=at or timezone.now()
            )
        return payment

    return make


@pytest.fixture
def appointment(owner, therapist, make_patient, practice):
    """appointment(start, status="completed", late_cancel=False, practitioner=therapist)."""
    location, room, service = practice
    patient = make_patient()

    def make(start, status="completed", late_cancel=False, practitioner=therapist):
        return Appointment.objects.create(
            patient=patient, practitioner=practitioner, service=service, location=location, room=room,
            duration_minutes=60, start=start, end=start + datetime.timedelta(hours=1),
            busy_until=start + datetime.timedelta(hours=1), status=status, late_cancel=late_cancel, created_by=owner,
        )  # fmt: skip

    return make


def day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)


def by_label(report) -> dict:
    return {row["label"]: row for row in report.rows}


# Revenue ---------------------------------------------------------------------------------------


def test_revenue_adds_up_the_charges_by_month_of_service_and_leaves_out_void_ones(charge):
    charge("80.00", day("2026-03-02"))
    charge("45.50", day("2026-03-31"), status="package")
    charge("60.00", day("2026-04-01"), status="invoiced")
    charge("99.00", day("2026-03-15"), status="void")
    charge("70.00", day("2026-05-01"))  # after the range

    report = reports.revenue(day("2026-03-01"), day("2026-04-30"), "month")

    rows = by_label(report)
    assert list(rows) == ["2026-03", "2026-04"]
    assert rows["2026-03"]["amount"] == D("125.50") and rows["2026-03"]["visits"] == 2
    assert rows["2026-04"]["amount"] == D("60.00")
    assert report.totals["amount"] == D("185.50") and report.totals["visits"] == 3
    assert report.currency == "USD"


def test_revenue_by_week_starts_each_week_on_monday(charge):
    charge("10.00", day("2026-03-04"))  # a Wednesday
    charge("20.00", day("2026-03-08"))  # the Sunday after
    charge("30.00", day("2026-03-09"))  # the next Monday

    report = reports.revenue(day("2026-03-01"), day("2026-03-31"), "week")

    assert [(r["label"], r["amount"]) for r in report.rows] == [
        ("week of 2026-03-02", D("30.00")),
        ("week of 2026-03-09", D("30.00")),
    ]


def test_revenue_by_practitioner_and_by_service_names_each(charge, therapist, owner):
    other_service = Service.objects.create(name="Lymphatic drainage (synthetic)", durations=[60])
    charge("50.00", day("2026-03-02"), practitioner=therapist)
    charge("40.00", day("2026-03-03"), practitioner=owner, service=other_service)
    charge("25.00", day("2026-03-04"), practitioner=owner, service=None)

    by_practitioner = by_label(reports.revenue(day("2026-03-01"), day("2026-03-31"), "practitioner"))
    by_service = by_label(reports.revenue(day("2026-03-01"), day("2026-03-31"), "service"))

    assert by_practitioner["Therapist Tester, LMT"]["amount"] == D("50.00")
    assert by_practitioner["Owner Tester"]["amount"] == D("65.00")
    assert by_service["Lymphatic drainage (synthetic)"]["amount"] == D("40.00")
    assert by_service["No service"]["amount"] == D("25.00")


def test_revenue_by_day_lists_each_day_with_charges(charge):
    charge("10.00", day("2026-03-02"))
    charge("15.00", day("2026-03-02"))

    report = reports.revenue(day("2026-03-02"), day("2026-03-02"), "day")

    assert [(r["label"], r["visits"], r["amount"]) for r in report.rows] == [("2026-03-02", 2, D("25.00"))]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    charges=st.lists(
        st.tuples(
            st.decimals(min_value=0, max_value=500, places=2),
            st.integers(min_value=0, max_value=120),
            st.sampled_from(["open", "invoiced", "package", "void"]),
            st.booleans(),
        ),
        max_size=12,
    ),
    by=st.sampled_from(sorted(reports.GROUPS)),
)
def test_revenue_rows_always_add_up_to_the_total_of_the_charges_not_void(charge, owner, therapist, charges, by):
    start = day("2026-01-01")
    savepoint = transaction.savepoint()
    try:
        for total, offset, status, by_owner in charges:
            charge(total, start + datetime.timedelta(days=offset), status=status,
                   practitioner=owner if by_owner else therapist)  # fmt: skip
        report = reports.revenue(start, start + datetime.timedelta(days=90), by)
        expected = [t for t, offset, status, _o in charges if status != "void" and offset <= 90]
        assert report.totals["amount"] == sum(expected, D("0.00"))
        assert report.totals["visits"] == len(expected)
        assert sum((r["amount"] for r in report.rows), D("0.00")) == report.totals["amount"]
        assert all(r["amount"].as_tuple().exponent == -2 for r in report.rows)
    finally:
        transaction.savepoint_rollback(savepoint)


# Payments --------------------------------------------------------------------------------------


def test_payments_are_grouped_by_period_and_method_with_refunds_negative(make_patient, pay):
    patient = make_patient()
    pay(patient, "100.00", day("2026-03-02"), "card")
    pay(patient, "50.00", day("2026-03-20"), "card")
    pay(patient, "30.00", day("2026-03-21"), "card", kind="refund")
    pay(patient, "40.00", day("2026-03-05"), "cash")
    pay(patient, "25.00", day("2026-04-02"), "cheque")
    pay(patient, "999.00", day("2026-02-28"), "cash")  # before the range

    report = reports.payments(day("2026-03-01"), day("2026-04-30"), "month")

    rows = [(r["label"], r["method"], r["payments"], r["received"], r["refunds"], r["refunded"], r["net"])
            for r in report.rows]  # fmt: skip
    assert rows == [
        ("2026-03", "Cash", 1, D("40.00"), 0, D("0.00"), D("40.00")),
        ("2026-03", "Card", 2, D("150.00"), 1, D("-30.00"), D("120.00")),
        ("2026-04", "Cheque", 1, D("25.00"), 0, D("0.00"), D("25.00")),
    ]
    assert report.totals["received"] == D("215.00")
    assert report.totals["refunded"] == D("-30.00")
    assert report.totals["net"] == D("185.00")
    by_method = [(r["method"], r["net"]) for r in report.subtotals]
    assert by_method == [("Cash", D("40.00")), ("Card", D("120.00")), ("Cheque", D("25.00"))]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moves=st.lists(
        st.tuples(
            st.decimals(min_value=D("0.01"), max_value=800, places=2),
            st.integers(min_value=0, max_value=59),
            st.sampled_from(["cash", "card", "cheque", "transfer"]),
            st.sampled_from(["payment", "refund"]),
        ),
        max_size=12,
    ),
    by=st.sampled_from(sorted(reports.PERIODS)),
)
def test_net_payments_are_always_received_less_refunded(make_patient, pay, moves, by):
    start = day("2026-01-01")
    savepoint = transaction.savepoint()
    try:
        patient = make_patient()
        for amount, offset, method, kind in moves:
            pay(patient, amount, start + datetime.timedelta(days=offset), method, kind=kind)
        report = reports.payments(start, start + datetime.timedelta(days=59), by)
        signed = sum((a if k == "payment" else -a for a, _o, _m, k in moves), D("0.00"))
        assert report.totals["net"] == signed
        assert report.totals["received"] + report.totals["refunded"] == report.totals["net"]
        assert sum((r["net"] for r in report.subtotals), D("0.00")) == signed
        assert all(r["refunded"] <= 0 for r in report.rows)
    finally:
        transaction.savepoint_rollback(savepoint)


# Outstanding balances and aging -------------------------------------------------------------------


def test_outstanding_balances_fall_into_aging_buckets_by_invoice_issue_date(make_patient, invoice):
    as_of = day("2026-06-30")
    patient = make_patient()
    ages = {0: "10.00", 30: "20.00", 31: "40.00", 60: "80.00", 61: "160.00", 90: "320.00", 91: "640.00"}
    for age, total in ages.items():
        invoice(patient, total, as_of - datetime.timedelta(days=age))

    report, shown = reports.aging(as_of)

    (row,) = report.rows
    assert row["days_0_30"] == D("30.00")
    assert row["days_31_60"] == D("120.00")
    assert row["days_61_90"] == D("480.00")
    assert row["days_over_90"] == D("640.00")
    assert row["total"] == D("1270.00") and row["invoices"] == 7
    assert shown == [patient.public_id]


def test_outstanding_counts_what_was_paid_by_the_date_and_leaves_out_void_paid_and_later_invoices(
    make_patient, invoice, pay
):
    as_of = day("2026-06-30")
    patient, other = make_patient(), make_patient()
    partly = invoice(patient, "100.00", day("2026-06-01"))
    pay(patient, "30.00", day("2026-06-10"), to=partly, at=utc("2026-06-10T12:00"))
    pay(patient, "20.00", day("2026-07-02"), to=partly, at=utc("2026-07-02T12:00"))  # after the date
    paid = invoice(patient, "50.00", day("2026-05-01"))
    pay(patient, "50.00", day("2026-05-02"), to=paid, at=utc("2026-05-02T12:00"))
    invoice(patient, "70.00", day("2026-04-01"), status="void")
    invoice(patient, "90.00", day("2026-07-01"))  # issued after the date
    invoice(other, "15.00", day("2026-03-01"))

    report, _shown = reports.aging(as_of)

    rows = by_label(report)
    mine = rows[patient.display_name]
    assert mine["total"] == D("70.00") and mine["days_0_30"] == D("70.00") and mine["invoices"] == 1
    assert rows[other.display_name]["days_over_90"] == D("15.00")
    assert report.totals["total"] == D("85.00")
    assert report.rows[0]["label"] == patient.display_name  # the largest balance first


def test_outstanding_is_empty_when_everything_is_paid(make_patient, invoice, pay):
    patient = make_patient()
    settled = invoice(patient, "40.00", day("2026-06-01"))
    pay(patient, "40.00", day("2026-06-01"), to=settled, at=utc("2026-06-01T10:00"))

    report, shown = reports.aging(day("2026-06-30"))

    assert report.rows == [] and shown == [] and report.totals["total"] == D("0.00")


# Visits and no-shows ---------------------------------------------------------------------------


def test_visits_count_each_status_and_the_no_show_rate_is_no_shows_over_completed_plus_no_shows(appointment):
    for hour in range(3):
        appointment(utc(f"2026-03-02T{9 + hour:02d}:00"), "completed")
    appointment(utc("2026-03-03T09:00"), "no_show")
    appointment(utc("2026-03-04T09:00"), "cancelled", late_cancel=True)
    appointment(utc("2026-03-04T10:00"), "cancelled")
    appointment(utc("2026-03-05T10:00"), "interrupted")
    appointment(utc("2026-04-05T10:00"), "no_show")  # after the range

    report = reports.visits(day("2026-03-01"), day("2026-03-31"), "month")

    (row,) = report.rows
    assert (row["appointments"], row["completed"], row["no_show"]) == (7, 3, 1)
    assert (row["late_cancelled"], row["cancelled"], row["interrupted"]) == (1, 1, 1)
    assert row["rate"] == D("25.0")
    assert report.totals["rate"] == D("25.0")


def test_the_no_show_rate_is_blank_without_visits_and_rounds_half_up():
    assert reports.no_show_rate(0, 0) is None
    assert reports.no_show_rate(2, 1) == D("33.3")
    assert reports.no_show_rate(1, 2) == D("66.7")
    assert reports.no_show_rate(7, 1) == D("12.5")
    assert reports.no_show_rate(0, 4) == D("100.0")


def test_visits_are_counted_on_the_practice_s_local_day(appointment):
    # 03:00 UTC on 2 March is still 1 March in Chicago.
    appointment(utc("2026-03-02T03:00"), "no_show")
    with timezone.override("America/Chicago"):
        report = reports.visits(day("2026-03-01"), day("2026-03-01"), "day")
    assert [(r["label"], r["no_show"]) for r in report.rows] == [("2026-03-01", 1)]


def test_visits_by_practitioner_give_each_their_own_rate(appointment, owner, therapist):
    appointment(utc("2026-03-02T09:00"), "completed", practitioner=therapist)
    appointment(utc("2026-03-02T10:00"), "no_show", practitioner=owner)

    rows = by_label(reports.visits(day("2026-03-01"), day("2026-03-31"), "practitioner"))

    assert rows["Therapist Tester, LMT"]["rate"] == D("0.0")
    assert rows["Owner Tester"]["rate"] == D("100.0")


# Production and who sees what ------------------------------------------------------------------


def test_production_sums_visits_units_and_charges_per_practitioner(charge, owner, therapist):
    charge("60.00", day("2026-03-02"), practitioner=therapist, units=2)
    charge("90.00", day("2026-03-09"), practitioner=therapist, units=3)
    charge("45.00", day("2026-03-03"), practitioner=owner, units=1)
    charge("45.00", day("2026-03-04"), practitioner=owner, units=4, status="void")

    rows = by_label(reports.production(day("2026-03-01"), day("2026-03-31"), "month"))

    mine = rows["Therapist Tester, LMT"]
    assert (mine["period"], mine["visits"], mine["units"], mine["amount"]) == ("2026-03", 2, 5, D("150.00"))
    assert (rows["Owner Tester"]["units"], rows["Owner Tester"]["amount"]) == (1, D("45.00"))


def test_a_therapist_sees_only_their_own_production(charge, owner, therapist):
    charge("60.00", timezone.localdate(), practitioner=therapist, units=2)
    charge("45.00", timezone.localdate(), practitioner=owner, units=1)

    own = access.access_report(therapist, "production", {})
    everyone = access.access_report(owner, "production", {})

    assert [r["label"] for r in own.rows] == ["Therapist Tester, LMT"]
    assert own.totals["amount"] == D("60.00")
    assert {r["label"] for r in everyone.rows} == {"Therapist Tester, LMT", "Owner Tester"}


@pytest.mark.parametrize("name", ["revenue", "payments", "aging", "visits"])
@pytest.mark.parametrize("persona", ["therapist", "front_desk", "outsider"])
def test_it_refuses_practice_reports_to_roles_without_billing_report_view(request, name, persona):
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        access.access_report(user, name, {})
    assert AuditEvent.objects.filter(actor_id=user.pk, outcome="denied", record_type="billing_report").exists()


@pytest.mark.parametrize("persona", ["front_desk", "outsider"])
def test_it_refuses_production_to_roles_without_production_view(request, persona):
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        access.access_report(user, "production", {})


def test_running_a_report_is_audited(billing):
    access.access_report(billing, "revenue", {"start": "2026-03-01", "end": "2026-03-31"})
    access.access_report(billing, "revenue", {}, export=True)
    events = AuditEvent.objects.filter(actor_id=billing.pk, record_type="billing_report").order_by("id")
    actions = list(events.values_list("action", flat=True))
    assert actions == ["read", "export"]


# Parameters ----------------------------------------------------------------------------------------


def test_the_range_defaults_to_this_month_so_far():
    today = timezone.localdate()
    assert reports.check_params("revenue", {}) == {"start": today.replace(day=1), "end": today, "by": "month"}
    assert reports.check_params("aging", {}) == {"as_of": today}


@pytest.mark.parametrize(
    ("name", "data", "field", "words"),
    [
        ("revenue", {"start": "2026-02-30"}, "start", "real date"),
        ("revenue", {"start": "yesterday"}, "start", "real date"),
        ("revenue", {"start": "2026-03-10", "end": "2026-03-01"}, "end", "before the start"),
        ("revenue", {"start": "2000-01-01", "end": "2026-03-01"}, "end", "ten years"),
        ("revenue", {"by": "year"}, "by", "Group by"),
        ("payments", {"by": "practitioner"}, "by", "day, week, month"),
        ("production", {"by": "service"}, "by", "day, week, month"),
        ("aging", {"as_of": "30/06/2026"}, "as_of", "real date"),
    ],
)
def test_it_refuses_bad_parameters_with_a_plain_message(name, data, field, words):
    with pytest.raises(ValidationError) as caught:
        reports.check_params(name, data)
    assert words in " ".join(caught.value.message_dict[field])


# CSV -----------------------------------------------------------------------------------------------


def test_csv_has_a_header_row_plain_decimal_strings_and_negative_refunds(make_patient, pay):
    patient = make_patient()
    pay(patient, "1234.50", day("2026-03-02"), "transfer")
    pay(patient, "4.50", day("2026-03-03"), "transfer", kind="refund")

    rows = list(reports.csv_rows(reports.payments(day("2026-03-01"), day("2026-03-31"), "month")))

    assert rows[0] == ["Month", "Method", "Payments", "Received (USD)", "Refunds", "Refunded (USD)", "Net (USD)"]
    assert rows[1] == ["2026-03", "Bank transfer", "1", "1234.50", "1", "-4.50", "1230.00"]
    assert rows[-1] == ["Total", "", "1", "1234.50", "1", "-4.50", "1230.00"]


def test_csv_quotes_a_name_that_a_spreadsheet_would_run_as_a_formula(make_patient, invoice):
    patient = make_patient(legal_first_name="=HYPERLINK", preferred_name="")
    invoice(patient, "10.00", day("2026-06-01"))
    report, _shown = reports.aging(day("2026-06-30"))

    rows = list(reports.csv_rows(report))

    assert rows[1][0].startswith("'=HYPERLINK")
    assert rows[1][-1] == "10.00"
