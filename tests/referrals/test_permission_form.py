"""The blank referral / permission form (referrals/forms_pdf.py): a PDF on the letterhead
with the fields the physician fills in, pre-filled with only the patient's name and date of
birth (or fully blank), printed by any staff role under referral.view and audited as PRINT."""

import datetime
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.models import AuditEvent, Practice

URL = "referrals:permission_form"


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf" and response["Cache-Control"] == "no-store"
    data = b"".join(response.streaming_content) if response.streaming else response.content
    return " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


@pytest.fixture
def form_patient(make_patient, add_history):
    patient = make_patient(
        legal_first_name="Ottilie", legal_last_name="Formsby", date_of_birth=datetime.date(1969, 3, 14)
    )
    add_history(patient, conditions=["anticoagulant"], presenting_complaint="Hiddencomplaint of the shoulder")
    return patient


@pytest.fixture
def letterhead(db):
    practice = Practice.current()
    practice.name, practice.phone, practice.fax = "Willow Clinical Massage", "555-0142", "555-0143"
    practice.email = "desk@willow.example"
    practice.save()
    return practice


FIELDS = (
    "Diagnosis (ICD-10-CM codes)",
    "Frequency",
    "Duration",
    "Number of visits",
    "Precautions",
    "Prescriber's signature",
    "Printed name",
    "NPI",
    "Date",
    "clinical massage",
)


def test_the_form_for_a_patient_carries_only_name_and_birth_date(client_for, front_desk, form_patient, letterhead):
    response = client_for(front_desk).get(reverse(URL) + f"?patient={form_patient.public_id}")
    text = text_of(response)
    for expected in (*FIELDS, "Ottilie Formsby", "March 14, 1969", "Willow Clinical Massage", "555-0142", "555-0143"):
        assert expected in text, expected
    for absent in ("Hiddencomplaint", "nticoagulant", form_patient.phone):
        assert absent not in text, absent
    event = AuditEvent.objects.get(action=AuditAction.PRINT, record_type="referral_form")
    assert event.patient_id == form_patient.public_id and event.outcome == AuditOutcome.ALLOWED


def test_a_fully_blank_form(client_for, billing, form_patient, letterhead):
    text = text_of(client_for(billing).get(reverse(URL)))
    for expected in FIELDS:
        assert expected in text, expected
    assert "Ottilie" not in text and "1969" not in text
    event = AuditEvent.objects.get(action=AuditAction.PRINT, record_type="referral_form")
    assert event.patient_id is None


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing"])
def test_every_staff_role_prints_it(client_for, personas, role, form_patient):
    assert client_for(personas[role]).get(reverse(URL) + f"?patient={form_patient.public_id}").status_code == 200


def test_outsiders_and_strangers_are_refused(client_for, outsider, client, form_patient):
    assert client_for(outsider).get(reverse(URL) + f"?patient={form_patient.public_id}").status_code == 403
    assert client.get(reverse(URL)).status_code in (302, 403)
    assert not AuditEvent.objects.filter(action=AuditAction.PRINT, outcome=AuditOutcome.ALLOWED).exists()


def test_an_unknown_or_malformed_patient_is_not_found(client_for, therapist, db):
    assert client_for(therapist).get(reverse(URL) + "?patient=not-a-uuid").status_code == 404
    assert client_for(therapist).get(reverse(URL) + "?patient=00000000-0000-4000-8000-000000000000").status_code == 404
