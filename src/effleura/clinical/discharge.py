"""Discharge: closing an episode of care.

A discharge records why the episode ends (choices.DischargeReason) and the therapist's
summary, and freezes what came of it:

* outcomes: for each outcome measure taken during the episode (signed data only: none
  taken at a draft note, clinical/measures.py signed_only), the first against the last
  measurement, with the change and whether it reaches the measure's MCID
  (clinical/scoring.py ``change``: LEFS and PSFS rise as function improves);
* goals: each goal of the plan in force, with its status as it stood.

It cancels the visits still ahead (future and holding time) of the series booked for the
episode's plans, through scheduling's own cancel action (history, audit and the patient's
notice included), and counts them. The plans in force are closed. An episode is
discharged once: a second discharge is refused.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from effleura.clinical import scoring
from effleura.clinical.choices import DischargeReason, EpisodeStatus, PlanStatus
from effleura.clinical.measures import signed_only
from effleura.clinical.models import Discharge, Episode, Goal, OutcomeMeasurement, TreatmentPlan
from effleura.clinical.plans import measure_label
from effleura.core import audit
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.values import parse_date, reject_unknown
from effleura.scheduling import actions as scheduling

SUMMARY_MAX = 10_000
# The cancellation reason front desk and the patient's notice see: no clinical detail.
CANCEL_REASON = "Course of treatment completed"


@dataclass(frozen=True)
class CleanDischarge:
    reason: str
    summary: str
    discharged_on: datetime.date


def _refuse_twice(episode: Episode) -> None:
    if episode.status == EpisodeStatus.DISCHARGED:
        raise ValidationError("This episode has already been discharged.")


def check_discharge(actor, episode: Episode, data: dict) -> CleanDischarge:
    """May ``actor`` discharge ``episode``, and is ``data`` sound? ``data``: reason (a
    DischargeReason), summary (text; required when the reason is "other"), discharged_on
    (a date, default today; not before the episode opened nor in the future)."""
    patient_id = episode.patient.public_id
    authorize(actor, "clinical.write", patient_id=patient_id, record_id=episode.public_id)
    # Discharge cancels the visits still booked: the actor must be allowed to do that too.
    authorize(actor, "appointment.change", patient_id=patient_id, record_id=episode.public_id)
    _refuse_twice(episode)
    reject_unknown(data, {"reason", "summary", "discharged_on"})
    errors: dict[str, str] = {}
    reason = data.get("reason") or ""
    if reason not in DischargeReason.values:
        errors["reason"] = f"Choose why the episode ends: {', '.join(DischargeReason.labels)}."
    summary = "" if data.get("summary") is None else str(data["summary"]).strip()
    if len(summary) > SUMMARY_MAX:
        errors["summary"] = f"Keep the summary under {SUMMARY_MAX} characters."
    elif reason == DischargeReason.OTHER and not summary:
        errors["summary"] = "Say in the summary why the episode ends."
    on = parse_date(data.get("discharged_on") or timezone.localdate(), "discharged_on", errors)
    if on is not None:
        if on < episode.opened_on:
            errors["discharged_on"] = "The discharge cannot be before the episode started."
        elif on > timezone.localdate():
            errors["discharged_on"] = "The discharge date cannot be in the future."
    if errors:
        raise ValidationError(errors)
    return CleanDischarge(reason, summary, on)


def outcomes(measurements) -> list[dict]:
    """First against last measurement of each measure, in the order measures were first
    taken. ``measurements``: OutcomeMeasurement rows (any order). Pure."""
    by_measure: dict[str, list] = {}
    for m in sorted(measurements, key=lambda m: (m.taken_on, m.created_at, m.pk or 0)):
        by_measure.setdefault(m.measure, []).append(m)
    rows = []
    for measure, taken in by_measure.items():
        first, last = taken[0], taken[-1]
        row = {
            "measure": measure,
            "label": measure_label(measure),
            "unit": first.unit,
            "count": len(taken),
            "first": first.score,
            "first_on": first.taken_on.isoformat(),
            "first_band": first.band,
            "last": last.score,
            "last_on": last.taken_on.isoformat(),
            "last_band": last.band,
            "change": None,
            "direction": "",
            "mcid_reached": False,
            "mcid": "",
        }
        if len(taken) > 1 and measure in scoring.SPECS:
            moved = scoring.change(measure, first.score, last.score)
            row.update(change=moved.delta, direction=moved.direction, mcid_reached=moved.reaches_mcid, mcid=moved.mcid)
        elif len(taken) > 1:
            row["change"] = round(last.score - first.score, 1)
        rows.append(row)
    return rows


def goal_outcomes(goals) -> list[dict]:
    """Each goal as it stood at discharge. Pure."""
    return [
        {
            "goal": g.description,
            "measure": g.measure,
            "baseline": g.baseline,
            "target": g.target,
            "direction": g.direction,
            "target_date": g.target_date.isoformat() if g.target_date else None,
            "status": g.status,
        }
        for g in goals
    ]


def do_discharge(actor, episode: Episode, clean: CleanDischarge, *, now=None) -> Discharge:
    """Discharge ``episode``: freeze outcomes and goals, cancel the visits still ahead of
    its plans' series, close its plans, all in one transaction with the audit event."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Episode.objects.select_for_update().select_related("patient").get(pk=episode.pk)
        _refuse_twice(locked)  # a second discharge that raced the first
        measurements = list(signed_only(OutcomeMeasurement.objects.filter(episode=locked)))
        plans = list(
            TreatmentPlan.objects.filter(episode=locked).select_related("series").order_by("-created_at", "-id")
        )
        in_force = next((p for p in plans if p.status == PlanStatus.ACTIVE), plans[0] if plans else None)
        goals = list(Goal.objects.filter(plan=in_force)) if in_force is not None else []
        cancelled = 0
        seen = set()
        for plan in plans:
            if plan.series is None or plan.series_id in seen:
                continue
            seen.add(plan.series_id)
            cancelled += len(scheduling.do_cancel_series_remaining(actor, plan.series, CANCEL_REASON, now=now))
        discharge = Discharge.objects.create(
            episode=locked,
            discharged_on=clean.discharged_on,
            reason=clean.reason,
            summary=clean.summary,
            outcomes=outcomes(measurements),
            goals=goal_outcomes(goals),
            cancelled_appointments=cancelled,
            discharged_by=actor,
        )
        TreatmentPlan.objects.filter(episode=locked, status=PlanStatus.ACTIVE).update(status=PlanStatus.CLOSED)
        Episode.objects.filter(pk=locked.pk).update(status=EpisodeStatus.DISCHARGED)
        episode.status = EpisodeStatus.DISCHARGED
        met = sum(1 for g in goals if g.status == "met")
        audit.record(
            actor,
            AuditAction.UPDATE,
            "episode",
            record_id=locked.public_id,
            patient_id=locked.patient.public_id,
            # The reason (e.g. "contraindicated") is a clinical detail: it stays on the discharge.
            detail=f"discharged; goals met {met}/{len(goals)}; {cancelled} visit(s) cancelled",
        )
    return discharge
