"""The blank referral / permission form (a PDF on the practice's letterhead) that the
patient takes to their physician: fields for diagnosis, frequency, duration, visits,
precautions, the prescriber's signature, printed name, NPI and date, and a short plain
explanation of clinical massage. Printed for a patient it carries only their name and
date of birth; a fully blank one carries no patient at all. Printing is audited (PRINT).
"""

from django.http import Http404
from django.utils import timezone

from effleura.core import audit
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.values import as_uuid
from effleura.documents.pdf import render_pdf
from effleura.patients.models import Patient

TEMPLATE = "referrals/pdf/permission_form.html"
KEY = "referral.view"


def access_permission_form(user, patient_id=None) -> Patient | None:
    """The patient the form is printed for (None for a blank form) if ``user`` may print
    it; the print is audited as PRINT, naming the patient when there is one."""
    pid = as_uuid(patient_id, "patient") if patient_id not in (None, "") else None
    authorize(user, KEY, patient_id=pid, record_id=pid or "")
    patient = None
    if pid is not None:
        patient = Patient.objects.filter(public_id=pid).first()
        if patient is None:
            raise Http404("No such patient.")
    audit.record(
        user, AuditAction.PRINT, "referral_form", record_id=pid or "", patient_id=pid, detail="permission form"
    )
    return patient


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
