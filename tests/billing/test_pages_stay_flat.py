"""The chart (with every card the apps add), the note editor, a signed note and a patient's
account make the same queries for a patient with 2 visits as with 20, and whatever the rest of
the practice holds (issue 13). Each visit here is the whole chain: a signed note, its charge,
an invoice and a part payment. Counts are pinned: a page that needs one more query says why."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from effleura.billing import invoices, payments
from effleura.clinical import notes

# What each page reads is in the pinned tests of its app (tests/patients/test_chart_queries.py,
# tests/clinical/test_notes_pages.py, tests/billing/test_billing_page_queries.py); here the
# same counts with a billed history behind the patient, and no consent document (the consent
# block reads the documents only: one query less). The chart for front desk: no health
# history, the account card; for the owner: both. Both see the next visits (a query and
# its audit insert).
PINNED = {"chart/front_desk": 18, "chart/owner": 21, "account/billing": 14, "note_edit/therapist": 11,
          "note/therapist": 15}  # fmt: skip


@pytest.fixture
def history(sign_visit, front_desk, make_patient, add_history):
    """history(patient, visits) -> the last signed note, after ``visits`` visits of ``patient``
    were signed, invoiced and paid 10.00 each."""

    def add(patient, visits):
        note = None
        for _ in range(visits):
            note = sign_visit(patient=patient)
            clean = invoices.check_issue_visit_invoice(front_desk, patient, {"charge": str(note.charge.public_id)})
            invoice = invoices.do_issue_invoice(front_desk, patient, clean)
            data = {"amount": "10.00", "method": "card", "invoices": [str(invoice.public_id)]}
            payments.do_take_payment(front_desk, patient, payments.check_take_payment(front_desk, patient, data))
        return note

    return add


def _pages(patient, signed, draft) -> dict[str, str]:
    chart = reverse("patients:chart", args=[patient.public_id])
    return {
        "chart/front_desk": chart,
        "chart/owner": chart,
        "account/billing": reverse("billing:account", args=[patient.public_id]),
        "note_edit/therapist": reverse("clinical:note_edit", args=[draft.public_id]),
        "note/therapist": reverse("clinical:note", args=[signed.public_id]),
    }


def _counts(request, client_for, pages) -> dict[str, int]:
    counts = {}
    for name, url in pages.items():
        client = client_for(request.getfixturevalue(name.split("/")[1]))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, name
        counts[name] = len(queries)
    return counts


def test_the_patient_pages_make_the_same_queries_with_ten_times_the_visits(
    request, client_for, therapist, make_patient, add_history, history, past_appointment
):
    patient = make_patient()
    add_history(patient, presenting_complaint="Low back pain (synthetic)")
    signed = history(patient, 2)
    draft_visit = past_appointment(patient, minutes=30, hours_ago=1)
    draft = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=draft_visit))
    pages = _pages(patient, signed, draft)
    few = _counts(request, client_for, pages)
    history(patient, 18)  # the same patient, 20 visits
    for _ in range(3):
        history(make_patient(), 5)  # and other patients' history
    assert few == PINNED
    assert _counts(request, client_for, pages) == few
