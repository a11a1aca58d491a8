"""The blank referral / permission form (a PDF on the practice's letterhead) that the
patient takes to their physician: fields for diagnosis, frequency, duration, visits,
precautions, the prescriber's signature, printed name, NPI and date, and a short plain
explanation of clinical massage. Printed for a patient it carries only their name and
date of birth; a fully blank one carries no patient at all. Printing is audited (PRINT):
referrals/access.py access_permission_form.
"""

from django.utils import timezone

from effleura.documents.pdf import render_pdf
from effleura.patients.models import Patient

TEMPLATE = "referrals/pdf/permission_form.html"


def form_context(patient: Patient | None) -> dict:
    """Only the name and date of birth: nothing else of the record goes on the form."""
    return {
        "patient_name": patient.legal_name if patient else "",
        "patient_dob": patient.date_of_birth.strftime("%B %-d, %Y") if patient else "",
        "document_date": timezone.localdate(),
    }


def render_form(patient: Patient | None, *, base_url: str = "http://localhost/") -> bytes:
    return render_pdf(TEMPLATE, form_context(patient), base_url=base_url)


def filename() -> str:
    return "referral-form.pdf"
