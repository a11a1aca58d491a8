"""Billing report pages, CSV files and API operations: who may run which, what they show,
and a bounded number of queries whatever the number of rows. Synthetic data only."""

import csv
import datetime
import io
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from effleura.billing.models import Charge, ChargeLine, Invoice, Payment, PaymentAllocation, ProcedureCode
from effleura.core.models import AuditEvent
from effleura.scheduling.models import Appointment

D = Decimal
PRACTICE_REPORTS = ["revenue", "payments", "aging", "visits"]
ALL_REPORTS = [*PRACTICE_REPORTS, "production"]
_numbers = itertools.count(1)


@pytest.fixture
def ledger(owner, therapist, make_patient, practice):
    """ledger(n) -> n patients, each with a charge (and line), an invoice, a payment applied
    to it, a refund and two appointments (completed and no-show) this month."""
    location, room, service = practice
    code = ProcedureCode.objects.get(code="97124")

    counter = itertools.count()

    def make(n=1, practitioner=therapist):
        today = timezone.localdate()
        for _ in range(n):
            i = next(counter)
            patient = make_patient()
            charge = Charge.objects.create(
                patient=patient, practitioner=practitioner, service=service, date_of_service=today,
                total=D("60.00"), created_by=owner,
            )  # fmt: skip
            ChargeLine.objects.create(
                charge=charge, code=code, minutes=30, computed_units=2, units=2, unit_price=D("30.00"),
                amount=D("60.00"),
            )  # fmt: skip
            invoice = Invoice.objects.create(
                number=f"2026-{next(_numbers):05d}", patient=patient, total=D("60.00"),
                issued_on=today - datetime.timedelta(days=40 * (i % 4)), created_by=owner,
            )  # fmt: skip
            payment = Payment.objects.create(
                patient=patient, method="card", amount=D("25.00"), received_on=today, recorded_by=owner
            )
            PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=D("25.00"), by=owner)
            Payment.objects.create(
                patient=patient, method="cash", kind="refund", amount=D("5.00"), received_on=today, recorded_by=owner
            )
            # Back to back from local midnight, half an hour each, so none overlaps (PostgreSQL
            # refuses overlapping bookings) and all fall on today.
            midnight = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
            for status, slot in (("completed", 2 * i), ("no_show", 2 * i + 1)):
                begin = midnight + datetime.timedelta(minutes=30 * slot + (720 if practitioner != therapist else 0))
                Appointment.objects.create(
                    patient=patient, practitioner=practitioner, service=service, location=location, room=room,
                    duration_minutes=30, start=begin, end=begin + datetime.timedelta(minutes=30),
                    busy_until=begin + datetime.timedelta(minutes=30), status=status, created_by=owner,
                )  # fmt: skip

    return make


def page(name: str) -> str:
    return reverse("billing:reports") if name == "index" else reverse(f"billing:report_{name}")


def csv_url(name: str) -> str:
    return reverse(f"billing:report_{name}_csv")


# Who may run which -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRACTICE_REPORTS)
@pytest.mark.parametrize(
    ("persona", "status"),
    [("owner", 200), ("billing", 200), ("therapist", 403), ("front_desk", 403), ("outsider", 403)],
)
def test_practice_report_pages_and_files_answer_each_role_as_the_table_says(request, client_for, name, persona, status):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(page(name)).status_code == status
    assert client.get(csv_url(name)).status_code == status


@pytest.mark.parametrize(
    ("persona", "status"),
    [("owner", 200), ("billing", 200), ("therapist", 200), ("front_desk", 403), ("outsider", 403)],
)
def test_production_and_the_index_answer_each_role_as_the_table_says(request, client_for, persona, status):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(page("production")).status_code == status
    assert client.get(csv_url("production")).status_code == status
    assert client.get(page("index")).status_code == status


@pytest.mark.parametrize("name", [*ALL_REPORTS, "index"])
def test_it_sends_a_signed_out_visitor_to_sign_in(client, name):
    response = client.get(page(name))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_index_lists_only_the_reports_the_user_may_run(client_for, therapist, billing):
    own = client_for(therapist).get(page("index")).content.decode()
    full = client_for(billing).get(page("index")).content.decode()
    assert page("production") in own and page("revenue") not in own
    assert all(page(name) in full for name in ALL_REPORTS)


# What the pages show ---------------------------------------------------------------------------


def test_the_revenue_page_shows_the_totals_with_the_currency_and_a_csv_link(client_for, billing, ledger):
    ledger(2)
    response = client_for(billing).get(page("revenue"), {"by": "practitioner"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Therapist Tester, LMT" in body and "120.00 USD" in body
    assert csv_url("revenue") in body
    assert f'value="{timezone.localdate().isoformat()}"' in body  # the form shows the range used


def test_a_therapist_s_production_page_shows_their_own_work_only(client_for, therapist, owner, ledger):
    ledger(1, practitioner=therapist)
    ledger(1, practitioner=owner)
    body = client_for(therapist).get(page("production")).content.decode()
    assert "Therapist Tester, LMT" in body and "Owner Tester" not in body
    everyone = client_for(owner).get(page("production")).content.decode()
    assert "Therapist Tester, LMT" in everyone and "Owner Tester" in everyone


def test_the_outstanding_page_links_each_patient_and_audits_one_read_per_patient(client_for, billing, ledger):
    ledger(3)
    before = AuditEvent.objects.filter(record_type="billing_report", patient_id__isnull=False).count()
    body = client_for(billing).get(page("aging")).content.decode()
    assert "Synthetic" in body and "105.00 USD" in body  # 3 × (60.00 − 25.00)
    shown = AuditEvent.objects.filter(record_type="billing_report", patient_id__isnull=False).count() - before
    assert shown == 3


def test_the_visits_page_shows_the_no_show_rate(client_for, owner, ledger):
    ledger(2)
    body = client_for(owner).get(page("visits"), {"by": "month"}).content.decode()
    assert "50.0" in body and "No-show rate" in body


def test_bad_dates_get_a_plain_message_and_no_report(client_for, billing):
    response = client_for(billing).get(page("revenue"), {"start": "2026-03-10", "end": "2026-03-01"})
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()
    bad_file = client_for(billing).get(csv_url("aging"), {"as_of": "soon"})
    assert bad_file.status_code == 400 and "real date" in bad_file.content.decode()


def test_the_csv_file_has_a_header_plain_amounts_and_a_total_row(client_for, billing, ledger):
    ledger(2)
    response = client_for(billing).get(csv_url("payments"))
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="payments-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["Month", "Method", "Payments", "Received (USD)"]
    assert rows[-1] == ["Total", "", "2", "50.00", "2", "-10.00", "40.00"]
    assert AuditEvent.objects.filter(actor_id=billing.pk, action="export", record_type="billing_report").exists()


# Bounded queries --------------------------------------------------------------------------------

# The queries each page makes, whatever the number of rows: session and user, the practice
# (context processor), the report's aggregates (production: charges and units; outstanding:
# invoices and the patients named), and the audit inserts (outstanding: one bulk insert).
PINNED = {"revenue": 5, "payments": 5, "aging": 7, "visits": 5, "production": 6, "index": 3}


@pytest.mark.parametrize("name", [*ALL_REPORTS, "index"])
def test_each_report_page_makes_a_pinned_number_of_queries_whatever_the_rows(client_for, owner, ledger, name):
    client = client_for(owner)
    ledger(1)
    client.get(page(name))  # warm the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(page(name), {} if name in ("index", "aging") else {"by": "day"}).status_code == 200
    ledger(12)
    with CaptureQueriesContext(connection) as many:
        assert client.get(page(name), {} if name in ("index", "aging") else {"by": "day"}).status_code == 200
    assert len(many) == len(few)
    assert len(few) == PINNED[name], [q["sql"] for q in few.captured_queries]


@pytest.mark.parametrize("name", ALL_REPORTS)
def test_each_csv_file_makes_the_same_number_of_queries_whatever_the_rows(client_for, owner, ledger, name):
    client = client_for(owner)
    ledger(1)
    client.get(csv_url(name))
    with CaptureQueriesContext(connection) as few:
        client.get(csv_url(name))
    ledger(12)
    with CaptureQueriesContext(connection) as many:
        client.get(csv_url(name))
    assert len(many) == len(few)


# API ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRACTICE_REPORTS)
@pytest.mark.parametrize(
    ("persona", "status"),
    [("owner", 200), ("billing", 200), ("therapist", 403), ("front_desk", 403), ("outsider", 403)],
)
def test_the_api_answers_each_role_as_the_table_says(request, api_as, name, persona, status):
    client = api_as(request.getfixturevalue(persona))
    assert client.send("GET", f"/billing/reports/{name}").status_code == status


@pytest.mark.parametrize(
    ("persona", "status"),
    [("owner", 200), ("billing", 200), ("therapist", 200), ("front_desk", 403), ("outsider", 403)],
)
def test_the_api_production_report_answers_each_role_as_the_table_says(request, api_as, persona, status):
    assert api_as(request.getfixturevalue(persona)).send("GET", "/billing/reports/production").status_code == status


@pytest.mark.parametrize("name", ALL_REPORTS)
def test_the_api_refuses_an_anonymous_caller(api_as, name):
    assert api_as(None).send("GET", f"/billing/reports/{name}").status_code == 401


def test_the_api_answers_amounts_as_strings_with_their_currency(api_as, billing, ledger):
    ledger(2)
    body = api_as(billing).send("GET", "/billing/reports/revenue", None, QUERY_STRING="by=service").json()
    assert body["currency"] == "USD"
    assert body["totals"] == {"label": "Total", "visits": 2, "amount": "120.00"}
    assert {"key": "amount", "label": "Charges", "money": True} in body["columns"]
    assert body["params"]["by"] == "service"


def test_the_api_gives_a_therapist_only_their_own_production(api_as, therapist, owner, ledger):
    ledger(1, practitioner=therapist)
    ledger(2, practitioner=owner)
    body = api_as(therapist).send("GET", "/billing/reports/production").json()
    assert [row["label"] for row in body["rows"]] == ["Therapist Tester, LMT"]
    assert body["totals"]["amount"] == "60.00" and body["totals"]["units"] == 2


def test_the_api_refuses_bad_dates_naming_the_field(api_as, billing):
    response = api_as(billing).send("GET", "/billing/reports/visits", None, QUERY_STRING="start=2026-13-01")
    assert response.status_code == 422
    assert "real date" in response.json()["errors"]["start"]
