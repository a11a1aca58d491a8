""" "Schedule this plan": book a treatment plan's visits as one series.

Through the scheduling engine (scheduling.actions.propose_series / do_book_series:
conflicts and alternatives, all or nothing), and the series is linked to the plan, so
discharge can cancel what is left of it. The plan itself is clinical/plans.py.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from effleura.clinical.choices import PlanStatus
from effleura.clinical.episodes import require_open
from effleura.clinical.models import TreatmentPlan
from effleura.core import audit
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.scheduling import actions as scheduling
from effleura.scheduling.choices import HOLDS_TIME
from effleura.scheduling.series import MAX_VISITS


@dataclass(frozen=True)
class ScheduleRequest:
    """What "schedule this plan" needs besides the plan: checked by check_schedule_plan()."""

    practitioner: object
    service: object
    location: object
    first_start: datetime.datetime
    weekdays: tuple[int, ...] | None = None
    every_days: int | None = None
    room: object = None


def remaining_visits(plan: TreatmentPlan, now=None) -> int:
    """Visits of the plan's series still ahead and holding time (0 without a series)."""
    if plan.series_id is None:
        return 0
    now = now or timezone.now()
    return plan.series.appointments.filter(start__gt=now, status__in=HOLDS_TIME).count()


def check_schedule_plan(actor, plan: TreatmentPlan, request: ScheduleRequest) -> ScheduleRequest:
    """May ``actor`` book ``plan``'s visits as a series, and does the pattern fit the plan?

    Weekdays must number the plan's sessions a week (2 a week: e.g. Tuesday and
    Thursday); every so many days is also accepted. The plan must be in force, its
    episode open, and not already scheduled with visits still ahead."""
    episode = plan.episode
    authorize(actor, "clinical.write", patient_id=episode.patient.public_id, record_id=plan.public_id)
    authorize(actor, "appointment.book", patient_id=episode.patient.public_id, record_id=plan.public_id)
    require_open(episode, "book more visits")
    if plan.status != PlanStatus.ACTIVE:
        raise ValidationError("This plan was replaced by a newer one; schedule the current plan.")
    errors: dict[str, str] = {}
    if plan.visits > MAX_VISITS:
        errors["visits"] = f"The plan has {plan.visits} visits; a series books at most {MAX_VISITS}."
    ahead = remaining_visits(plan)
    if ahead:
        errors["__all__"] = (
            f"This plan is already scheduled: {ahead} visit{'s' if ahead != 1 else ''} still booked. "
            "Cancel the remaining visits of its series first to schedule it again."
        )
    weekdays = tuple(sorted(set(request.weekdays or ())))
    if weekdays and request.every_days is None and len(weekdays) != plan.sessions_per_week:
        n = plan.sessions_per_week
        plural = "s" if n != 1 else ""
        errors["weekdays"] = f"The plan says {n} session{plural} a week: tick {n} weekday{plural}."
    if errors:
        raise ValidationError(errors)
    return ScheduleRequest(
        request.practitioner,
        request.service,
        request.location,
        request.first_start,
        weekdays or None,
        request.every_days,
        request.room,
    )


def propose_plan_series(actor, plan: TreatmentPlan, request: ScheduleRequest, *, now=None) -> list:
    """Each visit of the plan as the scheduling engine sees it (free, or a conflict with
    alternatives); saves nothing. Run check_schedule_plan() first."""
    return scheduling.propose_series(
        actor,
        plan.episode.patient,
        request.practitioner,
        request.service,
        request.location,
        request.first_start,
        plan.visits,
        every_days=request.every_days,
        weekdays=list(request.weekdays) if request.weekdays else None,
        duration=plan.session_minutes,
        room=request.room,
        now=now,
    )


def do_schedule_plan(actor, plan: TreatmentPlan, request: ScheduleRequest, visits, *, confirm_warnings=False, now=None):
    """Book ``visits`` (starts or scheduling.series.Visit, as chosen on the proposal) as
    one series and link it to the plan: all or nothing, in one transaction. Raises
    BookingConflict or ValidationError naming the visit that cannot be booked, and
    scheduling's NeedsConfirmation (nothing saved) when booking warnings apply (e.g. the
    referral has no visits left) and ``confirm_warnings`` is false: scheduling decides,
    the person's answer is passed through."""
    with transaction.atomic():
        locked = TreatmentPlan.objects.select_for_update().select_related("episode").get(pk=plan.pk)
        require_open(locked.episode, "book more visits")
        if locked.status != PlanStatus.ACTIVE:
            raise ValidationError("This plan was replaced by a newer one; schedule the current plan.")
        if remaining_visits(locked, now):
            raise ValidationError("This plan is already scheduled; cancel its remaining visits first.")
        series = scheduling.do_book_series(
            actor,
            plan.episode.patient,
            request.practitioner,
            request.service,
            request.location,
            visits,
            duration=plan.session_minutes,
            room=request.room,
            every_days=request.every_days,
            weekdays=list(request.weekdays) if request.weekdays else None,
            notes="",
            confirm_warnings=confirm_warnings,
            now=now,
        )
        TreatmentPlan.objects.filter(pk=plan.pk).update(series=series)
        plan.series = series
        audit.record(
            actor,
            AuditAction.UPDATE,
            "treatment_plan",
            record_id=plan.public_id,
            patient_id=plan.episode.patient.public_id,
            detail=f"scheduled: series {series.public_id} of {series.visits} visits",
        )
    return series
