"""Signing a report and sending it to the referring provider.

Only the author signs a draft, and a signed report is frozen. Sending records a delivery
(audited as EXPORT): by email through referrals/tasks.py, which attaches the PDF
(referrals/report_email.py); or recorded as faxed, handed over or posted.
"""

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from effleura.core import audit, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.referrals import tasks
from effleura.referrals.choices import DeliveryMethod, ReportStatus
from effleura.referrals.models import Report, ReportDelivery

TO_MAX = 200


def require_editable(actor, report: Report, what: str) -> None:
    """Refuse unless ``actor`` may write reports and wrote this one, and it is still a draft."""
    authorize(actor, "report.write", patient_id=report.episode.patient.public_id, record_id=report.public_id)
    if report.status != ReportStatus.DRAFT:
        raise ValidationError("This report is signed: it can no longer be changed.")
    if report.author_id != actor.pk:
        raise ValidationError(f"Only the author of a draft may {what} it.")


# Signing ------------------------------------------------------------------------------


def check_sign_report(actor, report: Report) -> None:
    """May ``actor`` sign ``report``? Needs report.write, and only the author signs their own
    draft (require_editable(); ValidationError otherwise); raises ValidationError on
    ``summary`` when it is empty. Returns None; then call do_sign_report()."""
    require_editable(actor, report, "sign")
    if not report.summary.strip():
        raise ValidationError({"summary": "Write a summary before signing."})


def do_sign_report(actor, report: Report, *, now=None, expected_version=None) -> Report:
    """Sign the draft once check_sign_report() allowed it (call it first). In one transaction:
    locks the row, refuses (StaleVersion) a draft edited since ``expected_version`` (the
    version the signer read; None: not checked), marks it signed at ``now`` only if it is
    still a draft (ValidationError if it was signed meanwhile), counts the write in its
    version, then audits "signed". Returns the report, read again."""
    with transaction.atomic():
        locked = Report.objects.select_for_update().filter(pk=report.pk).order_by("pk").first()
        versions.check_version(locked, expected_version, "report")
        updated = Report.objects.filter(pk=report.pk, status=ReportStatus.DRAFT).update(
            status=ReportStatus.SIGNED, signed_at=now or timezone.now(), version=F("version") + 1
        )
        if not updated:
            raise ValidationError("This report is already signed.")
        report.refresh_from_db()
        audit.record(
            actor,
            AuditAction.UPDATE,
            "report",
            record_id=report.public_id,
            patient_id=report.episode.patient.public_id,
            detail="signed",
        )
    return report


# Sending ------------------------------------------------------------------------------


def default_recipient(report: Report, method: str) -> str:
    provider = report.referral.provider if report.referral_id else None
    if provider is None:
        return ""
    return {DeliveryMethod.EMAIL: provider.email, DeliveryMethod.FAX: provider.fax}.get(method, provider.display_name)


def check_send_report(actor, report: Report, method, to) -> tuple[str, str]:
    """May ``actor`` send ``report`` by ``method`` to ``to``? Only a signed report is sent."""
    authorize(actor, "report.send", patient_id=report.episode.patient.public_id, record_id=report.public_id)
    if report.status != ReportStatus.SIGNED:
        raise ValidationError("Sign the report before sending it.")
    errors: dict[str, str] = {}
    method = str(method or "")
    if method not in DeliveryMethod.values:
        errors["method"] = "Choose how it goes: email, fax, handed over or post."
    to = ("" if to is None else str(to)).strip() or default_recipient(report, method)
    if not to:
        errors["to"] = "Say where it goes: an email address, a fax number or a person."
    elif len(to) > TO_MAX:
        errors["to"] = f"Keep it under {TO_MAX} characters."
    elif method == DeliveryMethod.EMAIL:
        try:
            validate_email(to)
        except ValidationError:
            errors["to"] = "Give a valid email address."
    elif method == DeliveryMethod.FAX and len(re.sub(r"\D", "", to)) < 7:
        errors["to"] = "Give the fax number."
    if errors:
        raise ValidationError(errors)
    return method, to


def do_send_report(actor, report: Report, method, to, *, base_url: str = "http://localhost/") -> ReportDelivery:
    """Record the delivery (audited EXPORT); an email is queued (its task attaches the PDF
    and records sent_at or the error)."""
    method, to = check_send_report(actor, report, method, to)
    with transaction.atomic():
        delivery = ReportDelivery.objects.create(report=report, method=method, to=to, by=actor)
        audit.record(
            actor,
            AuditAction.EXPORT,
            "report",
            record_id=report.public_id,
            patient_id=report.episode.patient.public_id,
            detail=f"sent by {method}",
        )
        if method == DeliveryMethod.EMAIL:
            transaction.on_commit(lambda: tasks.email_report.enqueue(delivery.pk, base_url))
    return delivery
