"""The report pages (referrals/views/reports.py): list, generate, edit (author only), sign,
view, print (PDF text checked) and send (email with the PDF, fax recorded); refusals per role."""

import pytest
from django.core import mail
from django.urls import reverse

from effleura.core.choices import AuditAction
from effleura.core.models import AuditEvent
from effleura.referrals.choices import ReportStatus
from effleura.referrals.models import Report

from . import test_reports as base
from .test_reports import ago, flat, new_report, pdf_text

# This module's fixtures are test_reports.py's own.
r3_patient, r3_course, r3_provider, r3_referral, r3_signed = (
    base.r3_patient,
    base.r3_course,
    base.r3_provider,
    base.r3_referral,
    base.r3_signed,
)


def test_generate_edit_sign_print_and_send_through_the_pages(
    client_for, therapist, r3_course, r3_referral, django_capture_on_commit_callbacks
):
    web = client_for(therapist)
    page = web.get(reverse("referrals:report_new", args=[r3_course.public_id]))
    assert page.status_code == 200 and "Generate the draft" in page.text
    response = web.post(
        reverse("referrals:report_new", args=[r3_course.public_id]),
        {"kind": "progress", "referral": str(r3_referral.public_id), "period_start": ago(42), "period_end": ago(0)},
    )
    report = Report.objects.get(episode=r3_course)
    assert response.status_code == 302 and response["Location"] == reverse(
        "referrals:report_edit", args=[report.public_id]
    )
    edit = reverse("referrals:report_edit", args=[report.public_id])
    assert web.get(edit).status_code == 200
    web.post(edit, {"summary": "Steady progress (edited).", "recommendations": "Four more visits."})
    report.refresh_from_db()
    assert report.summary == "Steady progress (edited)."
    # A draft is neither printed nor sent.
    assert web.get(reverse("referrals:report_pdf", args=[report.public_id])).status_code == 302
    web.post(reverse("referrals:report_sign", args=[report.public_id]))
    report.refresh_from_db()
    assert report.status == ReportStatus.SIGNED
    view = web.get(reverse("referrals:report", args=[report.public_id]))
    assert "Steady progress (edited)." in view.text and "Not sent yet" in view.text
    pdf = web.get(reverse("referrals:report_pdf", args=[report.public_id]))
    assert pdf["Content-Type"] == "application/pdf"
    text = flat(pdf_text(pdf.content))
    assert "Steady progress (edited)." in text and "Four more visits." in text and "M54.50" in text
    assert "Rosalind Reportson" in text and "Secretcomplaint" not in text
    assert AuditEvent.objects.filter(action=AuditAction.PRINT, record_id=str(report.public_id)).count() == 1
    send = reverse("referrals:report_send", args=[report.public_id])
    assert "dr.okafor@example.test" in web.get(send).text
    with django_capture_on_commit_callbacks(execute=True):
        web.post(send, {"method": "email", "to": "dr.okafor@example.test"})
    assert len(mail.outbox) == 1 and mail.outbox[0].attachments[0][2] == "application/pdf"
    web.post(send, {"method": "fax", "to": "555-0199"})
    view = web.get(reverse("referrals:report", args=[report.public_id]))
    assert "Faxed to 555-0199" in view.text and "Emailed to dr.okafor@example.test" in view.text
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, record_id=str(report.public_id)).count() == 2
    listing = web.get(reverse("referrals:episode_reports", args=[r3_course.public_id]))
    assert "Progress report" in listing.text and "2 times" in listing.text
    assert "Progress report" in web.get(reverse("referrals:patient_reports", args=[r3_course.patient.public_id])).text


def test_another_clinician_reads_but_does_not_edit_a_draft(client_for, therapist, owner, r3_course):
    report = new_report(therapist, r3_course)
    web = client_for(owner)
    assert web.get(reverse("referrals:report", args=[report.public_id])).status_code == 200
    assert web.get(reverse("referrals:report_edit", args=[report.public_id])).status_code == 302
    web.post(reverse("referrals:report_edit", args=[report.public_id]), {"summary": "Hijack", "recommendations": ""})
    web.post(reverse("referrals:report_sign", args=[report.public_id]))
    report.refresh_from_db()
    assert report.summary != "Hijack" and report.status == ReportStatus.DRAFT


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_reports_are_refused_to_non_clinicians(client_for, personas, role, r3_signed, r3_course):
    web = client_for(personas[role])
    rid, eid = r3_signed.public_id, r3_course.public_id
    for url in (
        reverse("referrals:report", args=[rid]),
        reverse("referrals:report_pdf", args=[rid]),
        reverse("referrals:report_send", args=[rid]),
        reverse("referrals:episode_reports", args=[eid]),
        reverse("referrals:report_new", args=[eid]),
        reverse("referrals:patient_reports", args=[r3_course.patient.public_id]),
    ):
        response = web.get(url)
        assert response.status_code == 403, url
        assert "Reportson" not in response.text
    assert web.post(reverse("referrals:report_send", args=[rid]), {"method": "fax", "to": "555"}).status_code == 403
    assert not r3_signed.deliveries.exists()
