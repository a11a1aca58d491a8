"""Emailing a signed report with its PDF attached: the body of referrals/tasks.py's
email_report, below the module that queues it (referrals/report_sending.py).

The delivery row records when the email left, or why it did not.
"""

from django.core.mail import EmailMessage
from django.utils import timezone

from effleura.core.models import Practice
from effleura.referrals.models import ReportDelivery
from effleura.referrals.report_pdf import pdf_filename, render_report_pdf


def email_delivery(delivery_id: int, base_url: str = "http://localhost/") -> ReportDelivery:
    """Send one queued email delivery with the PDF attached (the task's body)."""

    delivery = ReportDelivery.objects.select_related("report__episode__patient", "report__author").get(pk=delivery_id)
    if delivery.sent_at is not None:
        return delivery
    report = delivery.report
    practice = Practice.current()
    # No patient name or clinical detail in the subject or body: email is not private.
    subject = f"{report.get_kind_display()} from {practice.name}"
    body = (
        f"Please find attached a {report.get_kind_display().lower()} from {practice.name}"
        f" for a patient you referred.\n\n{practice.name}" + (f"\n{practice.phone}" if practice.phone else "")
    )
    try:
        data = render_report_pdf(report, base_url=base_url)
        message = EmailMessage(subject, body, to=[delivery.to], reply_to=[practice.email] if practice.email else None)
        message.attach(pdf_filename(report), data, "application/pdf")
        message.send()
    except Exception as exc:
        delivery.error = f"{type(exc).__name__}: {exc}"[:200]
        delivery.save(update_fields=["error"])
        return delivery
    delivery.sent_at = timezone.now()
    delivery.error = ""
    delivery.save(update_fields=["sent_at", "error"])
    return delivery
