"""Superbills for one visit or a period: practice (tax ID, NPI), provider (credentials,
NPI), patient (name, DOB, address), diagnoses with pointers A–L, codes with units,
pointers and fees, dates, amounts paid, signature line; refusals; audit."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from pypdf import PdfReader

from effleura.billing import superbill
from effleura.core.models import AuditEvent

from .insurance_helpers import VALID_NPI, billing_ready_practice, invoice_for, make_charge, pay

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


@pytest.fixture
def visits(therapist, make_patient):
    billing_ready_practice()
    therapist.first_name, therapist.last_name, therapist.npi = "Synthetic", "Therapist", VALID_NPI
    therapist.save()
    patient = make_patient(legal_first_name="Synthetic", legal_last_name="Testpatient", address_line1="9 Test Road",
                           city="Testville")  # fmt: skip
    first = make_charge(patient, therapist, day=TODAY - datetime.timedelta(days=20), dx=("M54.50",))
    second = make_charge(patient, therapist, day=TODAY - datetime.timedelta(days=5), dx=("M62.830", "M54.50"),
                         lines=(("97140", 2, "45.00"),))  # fmt: skip
    return patient, first, second


def _text(content: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


def test_a_visit_superbill_has_everything_an_insurer_asks_for(client_for, front_desk, visits):
    patient, first, _second = visits
    answer = client_for(front_desk).get(reverse("billing:superbill", args=[first.public_id]))
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    text = _text(answer.content)
    for expected in ("Superbill", "Synthetic Massage Clinic", "1 Synthetic Way", "12-3456789", VALID_NPI,
                     "Synthetic Therapist", "LMT", "Testpatient", patient.date_of_birth.strftime("%Y-%m-%d"),
                     "9 Test Road", "M54.50", "97124", first.date_of_service.strftime("%Y-%m-%d"), "100.00",
                     "Amount paid", "signature"):  # fmt: skip
        assert expected in text, expected
    assert "97140" not in text
    event = AuditEvent.objects.get(action="print", record_type="superbill")
    assert event.patient_id == patient.public_id


def test_a_period_superbill_merges_diagnoses_and_repoints_lines(visits):
    patient, first, second = visits
    context = superbill.superbill_context(patient, [first, second])
    assert [d["code"] for d in context["diagnoses"]] == ["M54.50", "M62.830"]
    # The second visit's pointer "A" (its own M62.830) is "B" on the merged list.
    assert context["visits"][1]["lines"][0]["pointers"] == "B"
    assert context["visits"][0]["lines"][0]["pointers"] == "A"
    assert context["total"] == Decimal("190.00")


def test_amounts_paid_come_from_the_invoices_covering_the_visits(owner, visits):
    patient, first, second = visits
    pay(invoice_for([first], owner, "2026-00001"), owner, "60.00")
    assert superbill.paid_for([first]) == Decimal("60.00")
    assert superbill.paid_for([second]) == Decimal("0.00")
    # A period invoice covering both: a visit's share is in proportion to its part of it.
    shared = invoice_for([second, make_charge(patient, first.practitioner, lines=(("97124", 1, "90.00"),))], owner,
                         "2026-00002")  # fmt: skip
    pay(shared, owner, "90.00")
    assert superbill.paid_for([second]) == Decimal("45.00")


def test_a_void_invoice_pays_nothing(owner, visits):
    _patient, first, _second = visits
    invoice = invoice_for([first], owner, "2026-00003")
    invoice.status, invoice.void_reason = "void", "Synthetic error."
    invoice.save()
    assert superbill.paid_for([first]) == Decimal("0.00")


def test_the_period_superbill_takes_the_visits_in_range(client_for, billing, visits):
    patient, _first, _second = visits
    url = reverse("billing:superbill_period", args=[patient.public_id])
    client = client_for(billing)
    start = (TODAY - datetime.timedelta(days=10)).isoformat()
    answer = client.get(url, {"start": start, "end": TODAY.isoformat()})
    assert answer.status_code == 200
    text = _text(answer.content)
    assert "97140" in text and "97124" not in text
    both = _text(client.get(url, {"start": (TODAY - datetime.timedelta(days=30)).isoformat(),
                                  "end": TODAY.isoformat()}).content)  # fmt: skip
    assert "97140" in both and "97124" in both and "190.00" in both


def test_the_period_form_explains_a_bad_period(client_for, billing, visits):
    patient = visits[0]
    url = reverse("billing:superbill_period", args=[patient.public_id])
    client = client_for(billing)
    assert client.get(url).status_code == 200
    answer = client.get(url, {"start": "2026-05-01", "end": "2026-04-01"})
    assert answer.status_code == 400 and "cannot end before it starts" in answer.content.decode()
    with pytest.raises(ValidationError) as exc:
        superbill.parse_period("", "yesterday")
    assert set(exc.value.message_dict) == {"start", "end"}


def test_a_void_charge_has_no_superbill(client_for, billing, visits, therapist):
    void = make_charge(visits[0], therapist, status="void")
    assert client_for(billing).get(reverse("billing:superbill", args=[void.public_id])).status_code == 404


@pytest.mark.parametrize("persona", ["therapist", "outsider"])
def test_superbills_refuse_by_role(request, client_for, persona, visits):
    patient, first, _second = visits
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("billing:superbill", args=[first.public_id])).status_code == 403
    url = reverse("billing:superbill_period", args=[patient.public_id])
    assert client.get(url, {"start": "2026-01-01", "end": "2026-01-31"}).status_code == 403
    assert not AuditEvent.objects.filter(action="print", record_type="superbill", outcome="allowed").exists()
    assert AuditEvent.objects.filter(record_type="superbill", outcome="denied").exists()


def test_a_long_superbill_never_splits_a_visit_or_a_line_across_two_pages(therapist, make_patient):
    # Thirty visits of three codes each, whose descriptions wrap: each visit's first and last
    # words (its first line's start, its last line's end) must be printed on the same page.
    from effleura.billing.models import ProcedureCode
    from effleura.documents.pdf import render_pdf

    billing_ready_practice()
    patient = make_patient()
    charges = []
    for visit in range(30):
        codes = []
        for n in range(3):
            code = ProcedureCode.objects.create(
                code=f"X{visit:02d}{n}", timed=True,
                description=f"{'start' if n == 0 else 'part'}{visit}x synthetic procedure with a description long "
                f"enough to wrap onto more than one line of the services table {'end' if n == 2 else 'part'}{visit}x",
            )  # fmt: skip
            codes.append((code.code, 1, "10.00"))
        charges.append(make_charge(patient, therapist, day=TODAY - datetime.timedelta(days=visit + 1), lines=codes))
    context = superbill.superbill_context(patient, charges, start=charges[-1].date_of_service, end=TODAY)
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(
        render_pdf("billing/insurance/pdf/superbill.html", context, base_url="http://testserver/")
    )).pages]  # fmt: skip
    assert len(pages) > 2  # the test means nothing on one page
    for visit in range(30):
        (starts,) = [n for n, text in enumerate(pages) if f"start{visit}x" in text]
        (ends,) = [n for n, text in enumerate(pages) if f"end{visit}x" in text]
        assert starts == ends, f"visit {visit} starts on page {starts + 1} and ends on page {ends + 1}"
    assert [n for n, text in enumerate(pages) if "Total charges" in text] == [len(pages) - 1]  # once, at the end
