"""The main billing pages do a fixed number of queries whatever the data: the desk, a
patient's account, an invoice, the claims list, a claim and a patient's policies. Each page
is counted once with one of everything, then again after more patients, visits, invoices,
payments, policies and claims are added; the counts must not move."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from effleura.billing.models import Claim

from .insurance_helpers import invoice_for, make_charge, pay


@pytest.fixture
def world(owner, billing, make_patient, make_payer, make_policy):
    payer = make_payer()
    numbers = iter(range(1, 1000))

    def add(patient=None):
        patient = patient or make_patient()
        policy = patient.policies.first() or make_policy(patient, payer)
        charges = [make_charge(patient, owner, policy=policy) for _ in range(2)]
        invoice = invoice_for(charges, billing, f"Q-{next(numbers):05d}")
        pay(invoice, billing, "30.00")
        for charge in charges:
            Claim.objects.create(charge=charge, policy=policy, billed_amount=charge.total, created_by=billing)
        return patient, invoice

    first, invoice = add()
    return {"add": add, "patient": first, "invoice": invoice}


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


# Pinned: a change that adds a query to one of these pages must say so here.
# Every page also reads the session, the user and the practice row (3 of each count). The
# account page works its totals out from the invoices and payments it lists (account_of).
PINNED = {"billing:home": 8, "billing:account": 14, "billing:invoice": 16, "billing:claims": 5, "billing:claim": 9,
          "billing:policies": 10, "billing:charges": 6}  # fmt: skip

PAGES = {
    "billing:home": lambda w: [],
    "billing:account": lambda w: [w["patient"].public_id],
    "billing:invoice": lambda w: [w["invoice"].public_id],
    "billing:claims": lambda w: [],
    "billing:claim": lambda w: [Claim.objects.filter(charge__patient=w["patient"]).first().public_id],
    "billing:policies": lambda w: [w["patient"].public_id],
    "billing:charges": lambda w: [],
}


@pytest.mark.parametrize("name", PAGES)
def test_the_page_does_not_do_more_queries_as_the_data_grows(name, world, billing, client_for):
    client = client_for(billing)
    url = reverse(name, args=PAGES[name](world))
    before = _count(client, url)
    for _ in range(4):
        world["add"]()
    world["add"](world["patient"])  # the same patient: more invoices, payments and claims on one account
    assert _count(client, url) == before == PINNED[name]
