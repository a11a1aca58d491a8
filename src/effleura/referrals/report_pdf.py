"""A signed report as a PDF on the practice's letterhead (referrals/pdf/report.html).

Printing it is audited as PRINT by referrals.access.access_report_pdf; emailing it is
referrals/report_email.py's work.
"""

from django.utils import timezone

from effleura.documents.pdf import render_pdf
from effleura.referrals.models import Report

PDF_TEMPLATE = "referrals/pdf/report.html"


def pdf_context(report: Report) -> dict:
    """What referrals/pdf/report.html needs: the frozen content and the signed narrative."""
    author = report.author
    return {
        "report": report,
        "c": report.content,
        "kind_label": report.get_kind_display(),
        "author_name": author.display_name,
        "document_date": timezone.localdate(report.signed_at) if report.signed_at else timezone.localdate(),
    }


def render_report_pdf(report: Report, *, base_url: str = "http://localhost/") -> bytes:
    return render_pdf(PDF_TEMPLATE, pdf_context(report), base_url=base_url)


def pdf_filename(report: Report) -> str:
    # No patient name: file names show in download lists and mail clients.
    return f"{report.kind}-report-{report.period_end:%Y-%m-%d}.pdf"
