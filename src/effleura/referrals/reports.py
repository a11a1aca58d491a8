"""Progress reports and discharge summaries for the referring provider.

A report is generated from the clinical record over a period (clinical/*: the plan in
force, the signed notes, the outcome measures not taken at a draft note, the completed
appointments) and stored in
``Report.content`` as plain JSON values, so what was signed is what is printed and sent,
whatever happens to the record later. The therapist who wrote the draft edits its summary
and recommendations, then signs it: a signed report is frozen. A discharge summary works
the same way from the episode's Discharge (its frozen outcomes and goals).

This module writes reports. Reading them goes through referrals/access.py; signing and
sending is referrals/report_sending.py; the PDF is referrals/report_pdf.py.
Printing the signed report (PDF on the letterhead) is audited as PRINT; sending it
(email with the PDF attached through a django-tasks task, or recorded as faxed, handed
over or posted) is audited as EXPORT. Reports carry clinical content: clinicians only
(report.* in core/permissions.py).
"""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone

from effleura.clinical import discharge as clinical_discharge
from effleura.clinical import knowledge, progress, scoring
from effleura.clinical import measures as clinical_measures
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
from effleura.core import audit, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.values import as_uuid, parse_date, reject_unknown
from effleura.patients.models import Patient
from effleura.referrals.access import (
    report_query,
)
from effleura.referrals.choices import ReportKind, ReportStatus
from effleura.referrals.models import Referral, Report
from effleura.referrals.report_sending import (
    require_editable,
)
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment

TEXT_MAX = 10_000
GOAL_LABELS = dict(GoalStatus.choices)


# Reading ------------------------------------------------------------------------------


def reports_of_episode(episode: Episode) -> list[Report]:
    """The episode's reports, newest first (episode already accessed)."""
    return list(report_query().filter(episode=episode))


def reports_of_patient(patient: Patient) -> list[Report]:
    """The patient's reports over all episodes, newest first (patient already accessed)."""
    return list(report_query().filter(episode__patient=patient))


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
            "baseline_text": scoring.format_value(g["measure"], g["baseline"]),
            "target": g["target"],
            "target_text": scoring.format_value(g["measure"], g["target"]),
            "status": g["status"],
            "status_label": GOAL_LABELS.get(g["status"], g["status"]),
        }
        for g in goals
    ]


def _measure_rows(rows) -> list[dict]:
    """Outcome measure rows (clinical/discharge.py outcomes) with their values as read."""
    return [
        {
            **row,
            "label": row.get("label") or measure_label(row["measure"]),
            "first_text": scoring.format_value(row["measure"], row["first"]),
            "last_text": scoring.format_value(row["measure"], row["last"]),
            "change_text": scoring.format_value(row["measure"], row["change"], signed=True),
        }
        for row in rows
    ]


def _codes(codes) -> list[dict]:
    return [{"code": c, "label": knowledge.label(c)} for c in codes or []]


def _default_summary(content: dict) -> str:
    visits = content["visits"]
    parts = [
        f"{content['patient']['name']} attended {visits['attended']} visit(s) "
        f"from {content['period']['start']} to {content['period']['end']}."
    ]
    pain = content.get("pain")
    if pain:
        if pain["change"] is None:
            parts.append(f"Pain (NPRS): {pain['latest_text']}/10 (one rating).")
        else:
            mcid = "clinically important change" if pain["mcid_reached"] else "change below the MCID"
            parts.append(
                f"Pain (NPRS): {pain['baseline_text']} to {pain['latest_text']}/10 ({pain['direction']}; {mcid})."
            )
    for m in content["measures"]:
        if pain and m["measure"] == progress.NPRS:
            continue  # said once, with the notes' ratings, above
        first, last = scoring.format_value(m["measure"], m["first"]), scoring.format_value(m["measure"], m["last"])
        if m["change"] is None:
            parts.append(f"{m['label']}: {last} {m['unit']} (one measurement).")
            continue
        mcid = "clinically important change" if m["mcid_reached"] else "change below the MCID"
        parts.append(f"{m['label']}: {first} to {last} {m['unit']} ({m['direction']}; {mcid}).")
    limited = [r for r in content.get("rom", []) if r["below_normal"]]
    if limited:
        moves = "; ".join(f"{_movement(r)} {r['latest_text']}° (normal {r['normal']})" for r in limited)
        parts.append(f"Range of motion below normal: {moves}.")
    met = sum(1 for g in content["goals"] if g["status"] == GoalStatus.MET)
    if content["goals"]:
        parts.append(f"Goals met: {met} of {len(content['goals'])}.")
    return " ".join(parts)


def _movement(row: dict) -> str:
    """A range-of-motion row's movement as read: "Cervical rotation (left)"."""
    return f"{row['label']} ({row['side'].lower()})" if row["side"] else row["label"]


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
        content["measures"] = _measure_rows(record.outcomes)
        content["goals"] = _goal_rows(record.goals)
    else:
        taken = OutcomeMeasurement.objects.filter(episode=episode, taken_on__lte=end)
        measurements = clinical_measures.signed_only(taken)  # none taken at a draft note
        content["measures"] = _measure_rows(clinical_discharge.outcomes(measurements))
        goals = Goal.objects.filter(plan=plan) if plan is not None else []
        content["goals"] = _goal_rows(clinical_discharge.goal_outcomes(goals))
    # Pain over the notes' ratings and the NPRS measures; motion from signed assessments
    # (clinical/progress.py). Both from the episode's start: the baseline is its first.
    content["pain"] = progress.pain_course(progress.pain_readings(episode, end))
    content["rom"] = progress.rom_course(episode, end)
    # The function scores: every measure but NPRS, which the pain section reports.
    content["function"] = [m for m in content["measures"] if m["measure"] != progress.NPRS]
    return content


# Writing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanReport:
    episode: Episode
    kind: str
    referral: Referral | None
    period_start: datetime.date
    period_end: datetime.date


def check_create_report(actor, episode: Episode, data: dict) -> CleanReport:
    """May ``actor`` write a report for ``episode``, and is ``data`` sound? ``data``: kind
    ("progress" or "discharge"), referral (a Referral or its public id, the patient's,
    optional: the most recent one of the episode or patient otherwise), period_start and
    period_end (dates; default: since the last report or the episode's start, to today).
    A discharge summary covers the whole episode and needs the episode discharged."""
    authorize(actor, "report.write", patient_id=episode.patient.public_id, record_id=episode.public_id)
    reject_unknown(data, {"kind", "referral", "period_start", "period_end"})
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
        start = parse_date(data.get("period_start"), "period_start", errors) or default_start
        end = parse_date(data.get("period_end"), "period_end", errors) or default_end
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


def check_update_report(actor, report: Report, data: dict) -> dict:
    """Only the author edits a draft: its summary and recommendations."""
    require_editable(actor, report, "edit")
    reject_unknown(data, {"summary", "recommendations"})
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


def do_update_report(actor, report: Report, clean: dict, *, expected_version=None) -> Report:
    """Apply ``clean``, the dict check_update_report() returned (call it first). In one
    transaction: locks the row, refuses (StaleVersion) a draft saved since
    ``expected_version`` (the version the editor loaded; None: not checked) and
    (ValidationError) a report signed meanwhile, saves the fields given and audits their
    names. Returns the report."""
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        versions.check_version(locked, expected_version, "report")
        if locked.status != ReportStatus.DRAFT:
            raise ValidationError("This report is signed: it can no longer be changed.")
        for name, value in clean.items():
            setattr(report, name, value)
        report.version = locked.version
        report.save(update_fields=[*clean, *versions.bump(report)])
        audit.record(
            actor,
            AuditAction.UPDATE,
            "report",
            record_id=report.public_id,
            patient_id=report.episode.patient.public_id,
            detail="edited " + ", ".join(sorted(clean)),
        )
    return report
