"""The billing desk stays flat as the practice's history grows (issue 13, docs/billing.md
"The billing desk"): the same queries with 5 or 100 visits not invoiced and with 5 or 60
outstanding invoices; the outstanding list comes DESK_LIMIT at a time with a "more" link; what
it shows is computed from the allocations, so the Invoice.settled hint (decision 0028) never
makes it wrong: paid, partly paid, voided payments and bulk-loaded rows alike."""

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from effleura.billing import access, invoices, payments
from effleura.billing.models import Invoice, Payment
from effleura.core.models import AuditEvent

from .billing_ledger_helpers import make_charge
from .insurance_helpers import invoice_for, pay

DESK = reverse("billing:home")
# session, user; outstanding invoices, today's payments, today's sums, the bulk audit insert
# (none when the desk shows nobody), the count of visits not invoiced; the layout's practice row
DESK_QUERIES = 8
# a later part: where it starts (the invoice of the "more" link) comes first
LATER_PART_QUERIES = DESK_QUERIES + 1


def _count(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries), response.content.decode()


def _issue(front_desk, therapist, patient, total="80.00", day=None):
    charge = make_charge(patient, therapist, total, day)
    clean = invoices.check_issue_visit_invoice(front_desk, patient, {"charge": str(charge.public_id)})
    return invoices.do_issue_invoice(front_desk, patient, clean)


def _pay(front_desk, patient, amount, *chosen):
    data = {"amount": amount, "method": "card", "invoices": [str(i.public_id) for i in chosen]}
    return payments.do_take_payment(front_desk, patient, payments.check_take_payment(front_desk, patient, data))


def _rows(text: str) -> int:
    return text.count('<td><a href="/billing/invoices/')


@pytest.mark.parametrize("visits", [5, 100])
def test_the_desk_makes_the_same_queries_with_twenty_times_the_visits_not_invoiced(
    visits, client_for, billing, front_desk, therapist, make_patient
):
    patients = [make_patient() for _ in range(5)]
    _issue(front_desk, therapist, patients[0])  # one invoice owed: the list and its audit
    for n in range(visits):
        make_charge(patients[n % 5], therapist, "80.00")
    count, text = _count(client_for(billing), DESK)
    assert count == DESK_QUERIES
    assert f"<dt>Visits not invoiced yet</dt><dd>{visits}</dd>" in text


@pytest.mark.parametrize("owing", [5, 60])
def test_the_desk_makes_the_same_queries_however_many_invoices_are_owed_or_paid(
    owing, client_for, billing, front_desk, therapist, make_patient
):
    patients = [make_patient() for _ in range(5)]
    for n in range(owing):
        _issue(front_desk, therapist, patients[n % 5])
    paid = _issue(front_desk, therapist, patients[0])
    _pay(front_desk, patients[0], "80.00", paid)
    count, text = _count(client_for(billing), DESK)
    assert count == DESK_QUERIES
    assert _rows(text) == min(owing, access.DESK_LIMIT)
    assert paid.number not in text


def test_the_outstanding_list_shows_a_more_link_and_the_next_part_in_order(
    client_for, billing, front_desk, therapist, make_patient
):
    patient, other = make_patient(), make_patient()
    start = datetime.date.today() - datetime.timedelta(days=90)
    issued = [
        _issue(front_desk, therapist, (patient, other)[n % 2], day=start + datetime.timedelta(days=n))
        for n in range(62)
    ]
    client = client_for(billing)
    count, first = _count(client, DESK)
    assert count == DESK_QUERIES and _rows(first) == access.DESK_LIMIT
    last_shown = issued[access.DESK_LIMIT - 1]
    more = f"{DESK}?after={last_shown.public_id}#outstanding"
    assert f'href="{more}"' in first
    count, second = _count(client, more)
    assert count == LATER_PART_QUERIES
    assert _rows(second) == 12 and "More outstanding invoices" not in second
    order = [i.number for i in issued]
    shown = [n for n in order if n in first] + [n for n in order if n in second]
    assert shown == order  # every invoice once, oldest first, none lost between the parts
    assert first.index(order[0]) < first.index(order[1])
    assert "Back to the oldest" in second


def test_a_later_part_of_the_desk_audits_the_patients_it_shows(
    client_for, billing, front_desk, therapist, make_patient
):
    patients = [make_patient() for _ in range(access.DESK_LIMIT + 1)]
    issued = [_issue(front_desk, therapist, p) for p in patients]
    client_for(billing).get(f"{DESK}?after={issued[access.DESK_LIMIT - 1].public_id}")
    shown = AuditEvent.objects.filter(detail="billing desk", actor_username=billing.username)
    assert list(shown.values_list("patient_id", flat=True)) == [patients[-1].public_id]


@pytest.mark.parametrize("after", ["not-an-id", "00000000-0000-4000-8000-000000000000"])
def test_a_more_link_to_no_invoice_is_not_found(after, client_for, billing):
    assert client_for(billing).get(DESK, {"after": after}).status_code == 404


@pytest.mark.parametrize("who", ["therapist", "outsider"])
def test_a_later_part_of_the_desk_is_refused_like_the_desk(
    request, who, client_for, front_desk, therapist, make_patient
):
    invoice = _issue(front_desk, therapist, make_patient())
    response = client_for(request.getfixturevalue(who)).get(DESK, {"after": str(invoice.public_id)})
    assert response.status_code == 403
    assert invoice.number not in response.content.decode()


# What the desk shows: (total, payments (amount, voided?)) -> owed on the desk, or None
# when the invoice is not shown (paid in full).
CASES = [
    ("80.00", [], "80.00"),
    ("80.00", [("30.00", False)], "50.00"),
    ("80.00", [("30.00", False), ("50.00", False)], None),
    ("80.00", [("80.00", False)], None),
    ("80.00", [("80.00", True)], "80.00"),  # a voided payment: owed again
    ("80.00", [("30.00", False), ("50.00", True)], "50.00"),
    ("80.00", [("100.00", False)], None),  # the rest is credit
]


@pytest.mark.parametrize(("total", "paid", "owed"), CASES)
def test_the_desk_shows_what_each_invoice_still_owes(total, paid, owed, front_desk, billing, therapist, make_patient):
    patient = make_patient()
    invoice = _issue(front_desk, therapist, patient, total)
    for amount, voided in paid:
        payment = _pay(front_desk, patient, amount, invoice)
        if voided:
            payments.do_void_payment(
                billing, payment, payments.check_void_payment(billing, payment, {"reason": "typo"})
            )
    shown = dict(access.access_desk(billing)["outstanding"])
    invoice.refresh_from_db()
    assert shown.get(invoice) == (Decimal(owed) if owed else None)
    assert invoice.settled is (owed is None)


def test_an_invoice_paid_by_a_bulk_load_is_still_left_off_the_desk(billing, owner, therapist, make_patient):
    """Rows written straight to the tables keep settled=False: the desk looks at them and
    still computes that nothing is owed."""
    patient = make_patient()
    paid = invoice_for([make_charge(patient, therapist, "80.00")], owner, "B-00001")
    pay(paid, owner, "80.00")
    owing = invoice_for([make_charge(patient, therapist, "60.00")], owner, "B-00002")
    pay(owing, owner, "20.00")
    shown = dict(access.access_desk(billing)["outstanding"])
    assert list(shown.items()) == [(owing, Decimal("40.00"))]


def test_the_migration_marks_the_invoices_already_paid_in_full(billing, owner, therapist, make_patient):
    migration = importlib.import_module("effleura.billing.migrations.0005_pages_desk_indexes")
    patient = make_patient()
    paid = invoice_for([make_charge(patient, therapist, "80.00")], owner, "M-00001")
    pay(paid, owner, "80.00")
    partly = invoice_for([make_charge(patient, therapist, "80.00")], owner, "M-00002")
    pay(partly, owner, "79.99")
    voided = invoice_for([make_charge(patient, therapist, "80.00")], owner, "M-00003")
    payment = pay(voided, owner, "80.00")
    Payment.objects.filter(pk=payment.pk).update(voided_at=timezone.now(), voided_by=owner, void_reason="typo")
    migration.mark_paid_invoices(django_apps, None)
    settled = dict(Invoice.objects.values_list("number", "settled"))
    assert settled == {"M-00001": True, "M-00002": False, "M-00003": False}
