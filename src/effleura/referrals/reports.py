"""Progress reports and discharge summaries for the referring provider.

A report is generated from the clinical record over a period (clinical/*: the plan in
force, the signed notes, the outcome measures, the completed appointments) and stored in
``Report.content`` as plain JSON values, so what was signed is what is printed and sent,
whatever happens to the record later. The therapist who wrote the draft edits its summary
and recommendations, then signs it: a signed report is frozen. A discharge summary works
the same way from the episode's Discharge (its frozen outcomes and goals).

Printing the signed report (PDF on the letterhead) is audited as PRINT; sending it
(email with the PDF attached through a django-tasks task, or recorded as faxed, handed
over or posted) is audited as EXPORT. Reports carry clinical content: clinicians only
(report.* in core/permissions.py).
"""

import datetime
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone

from effleura.clinical import discharge as clinical_discharge
from effleura.clinical import knowledge
from effleura.clinical.access import as_uuid
from effleura.clinical.choices import DischargeReason, GoalStatus, PlanStatus, RecordStatus
from effleura.clinical.models import (
    Discharge,
    Episode,
    Goal,
    OutcomeMeasurement,
    SessionNote,
    TechniqueEntry,
    TreatmentPlan,
)
from effleura.clinical.plans import measure_label
from effleura.core import audit
from effleura.core.access import allowed, authorize
from effleura.core.choices import AuditAction
from effleura.documents.pdf import render_pdf
from effleura.patients.models import Patient
from effleura.referrals.choices import DeliveryMethod, ReportKind, ReportStatus
from effleura.referrals.models import Referral, Report, ReportDelivery

TEXT_MAX = 10_000
TO_MAX = 200
PDF_TEMPLATE = "referrals/pdf/report.html"
GOAL_LABELS = dict(GoalStatus.choices)


# Reading ------------------------------------------------------------------------------


def _report_query():
    return Report.objects.select_related(
        "episode__patient", "episode__therapist", "referral__provider", "author"
    ).prefetch_related("deliveries__by")


def access_report(user, report_id, *, key: str = "report.view") -> Report:
    """The report ``report_id`` if ``user`` may use it under ``key``. A refused user learns
    nothing (refused before the look-up says whether it exists)."""
    report_id = as_uuid(report_id, "report")
    report = _report_query().filter(public_id=report_id).first()
    authorize(user, key, patient_id=report.episode.patient.public_id if report else None, record_id=report_id)
    if report is None:
        raise Http404("No such report.")
    allowed(user, key, patient_id=report.episode.patient.public_id, record_id=report_id)
    return report


def access_episode_for_reports(user, episode_id, *, key: str = "report.view") -> Episode:
    """The episode ``episode_id`` for its reports (audited under ``key``)."""
    episode_id = as_uuid(episode_id, "episode")
    episode = Episode.objects.select_related("patient", "therapist").filter(public_id=episode_id).first()
    authorize(user, key, patient_id=episode.patient.public_id if episode else None, record_id=episode_id)
    if episode is None:
        raise Http404("No such episode.")
    allowed(user, key, patient_id=episode.patient.public_id, record_id=episode_id, detail=f"{key} (episode)")
    return episode


def access_patient_for_reports(user, patient_id) -> Patient:
    patient_id = as_uuid(patient_id, "patient")
    authorize(user, "report.view", patient_id=patient_id, record_id=patient_id)
    patient = Patient.objects.filter(public_id=patient_id).first()
    if patient is None:
        raise Http404("No such patient.")
    allowed(user, "report.view", patient_id=patient_id, record_id=patient_id, detail="report.view (patient)")
    return patient


def reports_of_episode(episode: Episode) -> list[Report]:
    """The episode's reports, newest first (episode already accessed)."""
    return list(_report_query().filter(episode=episode))


def reports_of_patient(patient: Patient) -> list[Report]:
    """The patient's reports over all episodes, newest first (patient already accessed)."""
    return list(_report_query().filter(episode__patient=patient))


# Generating ---------------------------------------------------------------------------


def default_period(episode: Episode, today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """Since the day after the last report's period (or the episode's start) to today."""
    today = today or timezone.localdate()
    last = Report.objects.filter(episode=episode).order_by("-period_end").values_list("period_end", flat=True).first()
    start = last + datetime.timedelta(days=1) if last else episode.opened_on
    return min(start, today), today


def _plan_in_force(episode: Episode, on: datetime.date) -> TreatmentPlan | None:
    plans = list(TreatmentPlan.objects.filter(episode=episode).order_by("-created_at", "-id"))
    active = [p for p in plans if p.status == PlanStatus.ACTIVE]
    if active:
        return active[0]
    before = [p for p in plans if timezone.localdate(p.created_at) <= on]
    return before[0] if before else (plans[0] if plans else None)


def _visits(episode: Episode, start: datetime.date, end: datetime.date) -> dict:
    """Completed appointments of the patient and signed notes of the episode in the period;
    a visit is either (a note written for a counted appointment counts once)."""
    from effleura.scheduling.choices import AppointmentStatus
    from effleura.scheduling.models import Appointment

    completed = [
        a
        for a in Appointment.objects.filter(
            patient=episode.patient,
            status=AppointmentStatus.COMPLETED,
            start__gte=timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
            - datetime.timedelta(days=1),
            start__lt=timezone.make_aware(datetime.datetime.combine(end, datetime.time.min))
            + datetime.timedelta(days=2),
        ).select_related("location")
        if start <= _local_date(a) <= end
    ]
    notes = list(
        SessionNote.objects.filter(
            episode=episode, status=RecordStatus.SIGNED, session_date__gte=start, session_date__lte=end
        )
    )
    counted = {a.pk for a in completed}
    extra = [n for n in notes if n.appointment_id is None or n.appointment_id not in counted]
    dates = sorted({_local_date(a) for a in completed} | {n.session_date for n in notes})
    return {
        "attended": len(completed) + len(extra),
        "completed_appointments": len(completed),
        "signed_notes": len(notes),
        "first": dates[0].isoformat() if dates else None,
        "last": dates[-1].isoformat() if dates else None,
        "_notes": notes,
    }


def _local_date(appointment) -> datetime.date:
    import zoneinfo

    tz = getattr(appointment.location, "time_zone", None)
    return appointment.start.astimezone(zoneinfo.ZoneInfo(tz)).date() if tz else timezone.localdate(appointment.start)


def _techniques(notes: list[SessionNote]) -> list[dict]:
    rows = (
        TechniqueEntry.objects.filter(note__in=notes)
        .values("technique")
        .annotate(minutes=Sum("minutes"))
        .order_by("-minutes", "technique")
    )
    sessions: dict[str, set] = {}
    for technique, note_id in TechniqueEntry.objects.filter(note__in=notes).values_list("technique", "note_id"):
        sessions.setdefault(technique, set()).add(note_id)
    return [
        {
            "key": r["technique"],
            "label": knowledge.label(r["technique"]),
            "minutes": r["minutes"],
            "sessions": len(sessions.get(r["technique"], ())),
        }
        for r in rows
    ]


def _goal_rows(goals) -> list[dict]:
    return [
        {
            "goal": g["goal"],
            "measure": g["measure"],
            "measure_label": measure_label(g["measure"]),
            "baseline": g["baseline"],
            "target": g["target"],
            "status": g["status"],
            "status_label": GOAL_LABELS.get(g["status"], g["status"]),
        }
        for g in goals
    ]


def _codes(codes) -> list[dict]:
    return [{"code": c, "label": knowledge.label(c)} for c in codes or []]


def _default_summary(content: dict) -> str:
    visits = content["visits"]
    parts = [
        f"{content['patient']['name']} attended {visits['attended']} visit(s) "
        f"from {content['period']['start']} to {content['period']['end']}."
    ]
    for m in content["measures"]:
        if m["change"] is None:
            parts.append(f"{m['label']}: {m['last']:g} {m['unit']} (one measurement).")
            continue
        mcid = "clinically important change" if m["mcid_reached"] else "change below the MCID"
        parts.append(f"{m['label']}: {m['first']:g} to {m['last']:g} {m['unit']} ({m['direction']}; {mcid}).")
    met = sum(1 for g in content["goals"] if g["status"] == GoalStatus.MET)
    if content["goals"]:
        parts.append(f"Goals met: {met} of {len(content['goals'])}.")
    return " ".join(parts)


def _default_recommendations(content: dict, kind: str) -> str:
    if kind == ReportKind.DISCHARGE:
        return "Discharged from clinical massage. Continue the home-care programme; a new referral if symptoms return."
    plan = content.get("plan") or {}
    goals = content["goals"]
    if goals and all(g["status"] == GoalStatus.MET for g in goals):
        return "Goals met: we propose to discharge, with a home-care programme."
    if plan:
        return (
            f"Continue clinical massage {plan['sessions_per_week']} time(s) a week for {plan['weeks']} week(s) "
            "toward the open goals."
        )
    return ""


def generate_content(
    episode: Episode, start: datetime.date, end: datetime.date, *, referral: Referral | None = None, kind=None
) -> dict:
    """The report's sections as plain JSON values. Pure reading (no audit): callers have
    accessed the episode. Discharge summaries take outcomes and goals from the Discharge."""
    patient = episode.patient
    visits = _visits(episode, start, end)
    notes = visits.pop("_notes")
    techniques = _techniques(notes)
    plan = _plan_in_force(episode, end)
    content: dict = {
        "patient": {"name": patient.legal_name, "date_of_birth": patient.date_of_birth.isoformat()},
        "episode": {"title": episode.title, "opened_on": episode.opened_on.isoformat()},
        "therapist": {"name": episode.therapist.display_name},
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "visits": visits,
        "techniques": techniques,
        "technique_minutes": sum(t["minutes"] for t in techniques),
        "plan": None,
        "diagnosis_codes": [],
        "referral": None,
    }
    if plan is not None:
        content["plan"] = {
            "sessions_per_week": plan.sessions_per_week,
            "weeks": plan.weeks,
            "session_minutes": plan.session_minutes,
            "visits": plan.visits,
        }
        content["diagnosis_codes"] = _codes(plan.diagnosis_codes)
    if referral is not None:
        provider = referral.provider
        content["referral"] = {
            "date": referral.referral_date.isoformat(),
            "provider": provider.display_name,
            "practice": provider.practice_name,
            "npi": provider.npi,
            "visits_authorized": referral.visits_authorized,
            "diagnosis_codes": _codes(referral.diagnosis_codes),
        }
    if kind == ReportKind.DISCHARGE:
        record = Discharge.objects.get(episode=episode)
        content["discharge"] = {
            "on": record.discharged_on.isoformat(),
            "reason": record.reason,
            "reason_label": dict(DischargeReason.choices).get(record.reason, record.reason),
        }
        content["measures"] = [
            {**row, "label": row.get("label") or measure_label(row["measure"])} for row in record.outcomes
        ]
        content["goals"] = _goal_rows(record.goals)
    else:
        measurements = OutcomeMeasurement.objects.filter(episode=episode, taken_on__lte=end)
        content["measures"] = clinical_discharge.outcomes(measurements)
        goals = Goal.objects.filter(plan=plan) if plan is not None else []
        content["goals"] = _goal_rows(clinical_discharge.goal_outcomes(goals))
    return content


# Writing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanReport:
    episode: Episode
    kind: str
    referral: Referral | None
    period_start: datetime.date
    period_end: datetime.date


def _date(value, field: str, errors: dict) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = "Give the date as a date, e.g. 2025-03-04."
        return None


def check_create_report(actor, episode: Episode, data: dict) -> CleanReport:
    """May ``actor`` write a report for ``episode``, and is ``data`` sound? ``data``: kind
    ("progress" or "discharge"), referral (a Referral or its public id, the patient's,
    optional: the most recent one of the episode or patient otherwise), period_start and
    period_end (dates; default: since the last report or the episode's start, to today).
    A discharge summary covers the whole episode and needs the episode discharged."""
    authorize(actor, "report.write", patient_id=episode.patient.public_id, record_id=episode.public_id)
    unknown = set(data) - {"kind", "referral", "period_start", "period_end"}
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(sorted(str(u)[:40] for u in unknown))}.")
    errors: dict[str, str] = {}
    kind = data.get("kind") or ReportKind.PROGRESS
    if kind not in ReportKind.values:
        errors["kind"] = "Choose a progress report or a discharge summary."
    referral = _referral(episode, data.get("referral"), errors)
    today = timezone.localdate()
    if kind == ReportKind.DISCHARGE:
        record = Discharge.objects.filter(episode=episode).first()
        if record is None:
            errors["kind"] = "Discharge the episode first: the summary is made from the discharge."
            start = end = today
        else:
            start, end = episode.opened_on, record.discharged_on
    else:
        default_start, default_end = default_period(episode, today)
        start = _date(data.get("period_start"), "period_start", errors) or default_start
        end = _date(data.get("period_end"), "period_end", errors) or default_end
        if "period_end" not in errors and end > today:
            errors["period_end"] = "The period cannot end in the future."
        if not errors.get("period_start") and not errors.get("period_end") and start > end:
            errors["period_start"] = "The period must start on or before its end."
        if "period_start" not in errors and start < episode.opened_on:
            errors["period_start"] = "The period cannot start before the episode opened."
    if errors:
        raise ValidationError(errors)
    return CleanReport(episode, kind, referral, start, end)


def _referral(episode: Episode, value, errors: dict) -> Referral | None:
    mine = Referral.objects.select_related("provider").filter(patient=episode.patient)
    if value in (None, ""):
        return mine.filter(episode=episode).first() or mine.first()
    if isinstance(value, Referral):
        found = value if value.patient_id == episode.patient_id else None
    else:
        try:
            found = mine.filter(public_id=as_uuid(value, "referral")).first()
        except Http404:
            found = None
    if found is None:
        errors["referral"] = "Choose one of this patient's referrals."
    return found


def do_create_report(actor, clean: CleanReport) -> Report:
    """Generate and store the draft, with a first summary and recommendations to edit."""
    content = generate_content(
        clean.episode, clean.period_start, clean.period_end, referral=clean.referral, kind=clean.kind
    )
    summary = _default_summary(content)
    if clean.kind == ReportKind.DISCHARGE:
        written = Discharge.objects.get(episode=clean.episode).summary
        summary = f"{written}\n\n{summary}" if written else summary
    with transaction.atomic():
        report = Report.objects.create(
            kind=clean.kind,
            referral=clean.referral,
            episode=clean.episode,
            period_start=clean.period_start,
            period_end=clean.period_end,
            content=content,
            summary=summary,
            recommendations=_default_recommendations(content, clean.kind),
            author=actor,
        )
        audit.record(
            actor,
            AuditAction.CREATE,
            "report",
            record_id=report.public_id,
            patient_id=clean.episode.patient.public_id,
            detail=f"{clean.kind} {clean.period_start}..{clean.period_end}",
        )
    return report


def _editable(actor, report: Report, what: str) -> None:
    authorize(actor, "report.write", patient_id=report.episode.patient.public_id, record_id=report.public_id)
    if report.status != ReportStatus.DRAFT:
        raise ValidationError("This report is signed: it can no longer be changed.")
    if report.author_id != actor.pk:
        raise ValidationError(f"Only the author of a draft may {what} it.")


def check_update_report(actor, report: Report, data: dict) -> dict:
    """Only the author edits a draft: its summary and recommendations."""
    _editable(actor, report, "edit")
    unknown = set(data) - {"summary", "recommendations"}
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(sorted(str(u)[:40] for u in unknown))}.")
    clean, errors = {}, {}
    for name in ("summary", "recommendations"):
        if name in data:
            text = "" if data[name] is None else str(data[name]).strip()
            if len(text) > TEXT_MAX:
                errors[name] = f"Keep it under {TEXT_MAX} characters."
            clean[name] = text
    if errors:
        raise ValidationError(errors)
    return clean


def do_update_report(actor, report: Report, clean: dict) -> Report:
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if locked.status != ReportStatus.DRAFT:
            raise ValidationError("This report is signed: it can no longer be changed.")
        for name, value in clean.items():
            setattr(report, name, value)
        report.save(update_fields=list(clean) or None)
        audit.record(
            actor,
            AuditAction.UPDATE,
            "report",
            record_id=report.public_id,
            patient_id=report.episode.patient.public_id,
            detail="edited " + ", ".join(sorted(clean)),
        )
    return report


def check_sign_report(actor, report: Report) -> None:
    _editable(actor, report, "sign")
    if not report.summary.strip():
        raise ValidationError({"summary": "Write a summary before signing."})


def do_sign_report(actor, report: Report, *, now=None) -> Report:
    with transaction.atomic():
        updated = Report.objects.filter(pk=report.pk, status=ReportStatus.DRAFT).update(
            status=ReportStatus.SIGNED, signed_at=now or timezone.now()
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


# The PDF ------------------------------------------------------------------------------


def access_report_pdf(user, report_id) -> Report:
    """The signed report for printing: report.print, audited as PRINT. A draft is not printed."""
    report_id = as_uuid(report_id, "report")
    report = _report_query().filter(public_id=report_id).first()
    patient_id = report.episode.patient.public_id if report else None
    authorize(user, "report.print", patient_id=patient_id, record_id=report_id)
    if report is None:
        raise Http404("No such report.")
    if report.status != ReportStatus.SIGNED:
        raise ValidationError("Sign the report before printing it.")  # nothing printed, nothing audited
    allowed(user, "report.print", patient_id=patient_id, record_id=report_id, detail=f"{report.kind} report")
    return report


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
            from effleura.referrals import tasks

            transaction.on_commit(lambda: tasks.email_report.enqueue(delivery.pk, base_url))
    return delivery


def email_delivery(delivery_id: int, base_url: str = "http://localhost/") -> ReportDelivery:
    """Send one queued email delivery with the PDF attached (the task's body)."""
    from django.core.mail import EmailMessage

    from effleura.core.models import Practice

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
