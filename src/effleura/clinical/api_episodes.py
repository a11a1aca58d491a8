"""The episodes, treatment plans, goals, "schedule this plan", discharge and screening
part of the JSON API.

Thin, like the views: clinical/access.py reads (access_*, audited), and
clinical/episodes.py, plans.py and discharge.py write (check_*/do_*: they authorize and
audit). Front desk and billing are refused (403, audited) before anything is read.

Ids are the records' UUIDs. The router is registered in effleura/api/api.py; its
operations' names are in core/permissions.py URL_RULES (# API: clinical).
"""

import datetime
from typing import Annotated
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import Http404
from ninja import Router, Schema, Status
from pydantic import Field

from effleura.clinical import access, discharge, episodes, plan_scheduling, plans, screening
from effleura.clinical.choices import DischargeReason, GoalDirection, GoalStatus, PlanStatus, Pressure
from effleura.clinical.models import Discharge, Episode, Goal, TreatmentPlan
from effleura.core import versions
from effleura.core.api_schemas import (
    ERRORS_VERSIONED,
    ERRORS_WITH_ID,
    AwareTime,
    Flag,
    InputSchema,
    IsoDate,
    StaffRef,
    WarningsOut,
    WholeNumber,
    text,
)
from effleura.scheduling import access as scheduling_access
from effleura.scheduling import series as planning

router = Router(tags=["clinical: episodes, plans and discharge"])


def _staff(user) -> dict:
    return {"id": user.public_id, "name": user.display_name}


# Screening ----------------------------------------------------------------------------------


class ScreeningFlagOut(Schema):
    condition: str
    label: str
    severity: str = Field(description="absolute, local or precaution.")
    affects: list[str] = Field(description="Technique, stroke and modality keys; empty = all massage.")
    region: str | None
    action: str
    reason: str
    source: str


def _flag(f) -> dict:
    return {
        "condition": f.condition,
        "label": f.label,
        "severity": f.severity,
        "affects": list(f.affects),
        "region": f.region,
        "action": f.action,
        "reason": f.reason,
        "source": f.source,
    }


class ScreeningOut(Schema):
    patient: UUID
    health_history_version: int | None = Field(description="The version screened; null = no health history yet.")
    summary: str
    flags: list[ScreeningFlagOut]


@router.get(
    "/patients/{uuid:patient_id}/screening",
    response={200: ScreeningOut, **ERRORS_WITH_ID},
    url_name="patient_screening",
)
def get_screening(request, patient_id: UUID):
    """The screening flags of the patient's current health history, most severe first."""
    patient = access.access_patient_clinical(request.user, patient_id)
    history = access.current_history(patient)
    flags = screening.screen(history.screening_conditions) if history is not None else []
    return {
        "patient": patient.public_id,
        "health_history_version": history.version if history is not None else None,
        "summary": screening.summary(flags) if history is not None else "No health history yet",
        "flags": [_flag(f) for f in flags],
    }


# Episodes -----------------------------------------------------------------------------------


class EpisodeIn(InputSchema):
    title: text(episodes.TITLE_MAX)
    therapist: UUID | None = Field(None, description="The therapist responsible; the caller when left out.")
    opened_on: IsoDate | None = Field(None, description="YYYY-MM-DD; today when left out.")


class DischargeBrief(Schema):
    discharged_on: datetime.date
    reason: str


class EpisodeOut(Schema):
    id: UUID
    patient: UUID
    title: str
    status: str
    therapist: StaffRef
    opened_on: datetime.date
    created_at: datetime.datetime
    discharge: DischargeBrief | None


def _episode(e: Episode) -> dict:
    record = getattr(e, "discharge", None) if e.status == "discharged" else None
    return {
        "id": e.public_id,
        "patient": e.patient.public_id,
        "title": e.title,
        "status": e.status,
        "therapist": _staff(e.therapist),
        "opened_on": e.opened_on,
        "created_at": e.created_at,
        "discharge": {"discharged_on": record.discharged_on, "reason": record.reason} if record else None,
    }


@router.get(
    "/patients/{uuid:patient_id}/episodes",
    response={200: list[EpisodeOut], **ERRORS_WITH_ID},
    url_name="patient_episodes",
)
def list_episodes(request, patient_id: UUID):
    """The patient's episodes of care, newest first."""
    _patient, found = access.access_patient_episodes(request.user, patient_id)
    return [_episode(e) for e in found]


@router.post(
    "/patients/{uuid:patient_id}/episodes",
    response={201: EpisodeOut, **ERRORS_WITH_ID},
    url_name="patient_episodes",
)
def open_episode(request, patient_id: UUID, payload: EpisodeIn):
    """Open an episode of care."""
    patient = access.access_patient_clinical(request.user, patient_id, key="clinical.write")
    episode = episodes.do_open_episode(
        request.user, patient, episodes.check_open_episode(request.user, patient, payload.model_dump())
    )
    return Status(201, _episode(episode))


@router.get("/episodes/{uuid:episode_id}", response={200: EpisodeOut, **ERRORS_WITH_ID}, url_name="episode")
def get_episode(request, episode_id: UUID):
    episode = access.access_episode(request.user, episode_id)
    return _episode(episode)


# Plans and goals ------------------------------------------------------------------------------


class GoalIn(InputSchema):
    description: text(plans.DESCRIPTION_MAX)
    measure: text(60) = Field(
        "", description="An outcome measure key (nprs, odi, ...), rom:<joint>:<movement>[:<side>], or empty."
    )
    baseline: float | None = None
    target: float | None = None
    direction: GoalDirection | None = Field(None, description="Decided by the measure when left out.")
    target_date: IsoDate | None = None
    status: GoalStatus | None = None


class PlanIn(InputSchema):
    diagnosis_codes: list[text(12)] = Field(max_length=plans.MAX_CODES, description="ICD-10-CM, e.g. ['M54.50'].")
    goals: list[GoalIn] = Field(max_length=plans.MAX_GOALS)
    techniques: list[text(40)] = Field(max_length=plans.MAX_KEYS, description="Technique and stroke keys.")
    modalities: list[text(40)] = Field(default_factory=list, max_length=plans.MAX_KEYS)
    pressure_min: Pressure = Pressure.LIGHT
    pressure_max: Pressure = Pressure.MODERATE
    sessions_per_week: WholeNumber
    weeks: WholeNumber
    session_minutes: WholeNumber
    home_care_summary: text(plans.HOME_CARE_MAX) = ""
    reassess_on: IsoDate | None = None


class PlanGoalOut(Schema):
    id: UUID
    description: str
    measure: str
    measure_label: str
    baseline: float | None
    target: float | None
    direction: str
    target_date: datetime.date | None
    status: str
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")


class WarningOut(Schema):
    technique: str
    label: str
    verdict: str = Field(description="caution, local or contraindicated (screening.verdict).")
    flags: list[ScreeningFlagOut]


class TreatmentPlanOut(Schema):
    id: UUID
    episode: UUID
    status: str
    diagnosis_codes: list[str]
    techniques: list[str]
    modalities: list[str]
    pressure_min: str
    pressure_max: str
    sessions_per_week: int
    weeks: int
    visits: int
    session_minutes: int
    home_care_summary: str
    reassess_on: datetime.date | None
    created_at: datetime.datetime
    created_by: StaffRef
    series: UUID | None = Field(description="The series booked by scheduling this plan, if any.")
    goals: list[PlanGoalOut]
    warnings: list[WarningOut] = Field(
        description="Planned techniques screening restricts for the current health history (not refusals)."
    )
    version: int = Field(
        description="Numbers the episode's plans: 1 for the first, one more for each plan that replaces "
        'another. A new plan sends the plan in force\'s version in If-Match ("0" for the first).'
    )


def _goal(g: Goal) -> dict:
    return {
        "id": g.public_id,
        "description": g.description,
        "measure": g.measure,
        "measure_label": plans.measure_label(g.measure),
        "baseline": g.baseline,
        "target": g.target,
        "direction": g.direction,
        "target_date": g.target_date,
        "status": g.status,
        "version": g.version,
    }


def _plan(p: TreatmentPlan, episode: Episode, conditions) -> dict:
    return {
        "id": p.public_id,
        "episode": episode.public_id,
        "status": p.status,
        "diagnosis_codes": p.diagnosis_codes,
        "techniques": p.techniques,
        "modalities": p.modalities,
        "pressure_min": p.pressure_min,
        "pressure_max": p.pressure_max,
        "sessions_per_week": p.sessions_per_week,
        "weeks": p.weeks,
        "visits": p.visits,
        "session_minutes": p.session_minutes,
        "home_care_summary": p.home_care_summary,
        "reassess_on": p.reassess_on,
        "created_at": p.created_at,
        "created_by": _staff(p.created_by),
        "series": p.series.public_id if p.series_id else None,
        "version": p.version,
        "goals": [_goal(g) for g in p.goals.all()],
        "warnings": [
            {"technique": w.technique, "label": w.label, "verdict": w.verdict, "flags": [_flag(f) for f in w.flags]}
            for w in plans.plan_warnings(p, conditions)
        ],
    }


@router.get(
    "/episodes/{uuid:episode_id}/plans",
    response={200: list[TreatmentPlanOut], **ERRORS_WITH_ID},
    url_name="episode_plans",
)
def list_plans(request, episode_id: UUID):
    """Every plan of the episode, newest first: the one in force (active, or closed at
    discharge) and the ones it replaced (superseded)."""
    episode = access.access_episode(request.user, episode_id)
    conditions = access.current_conditions(episode.patient)
    return [_plan(p, episode, conditions) for p in access.episode_plans(episode)]


@router.post(
    "/episodes/{uuid:episode_id}/plans",
    response={201: TreatmentPlanOut, **ERRORS_VERSIONED},
    url_name="episode_plans",
)
def create_plan(request, episode_id: UUID, payload: PlanIn):
    """Write the episode's plan; a plan already in force is superseded (it stays readable).
    Planned techniques that screening restricts come back under ``warnings``. Send
    `If-Match` with the version of the plan in force you based it on (the ETag of
    `plans/current`, or "0" for the first): if another plan was saved meanwhile, the
    answer is 412 and nothing is saved."""
    episode = access.access_episode(request.user, episode_id, key="clinical.write")
    based_on = versions.if_match(request)
    data = payload.model_dump()
    data["goals"] = [{k: v for k, v in g.items() if v is not None} for g in data["goals"]]
    clean = plans.check_create_plan(request.user, episode, data)
    plan = plans.do_create_plan(request.user, episode, clean, based_on=based_on)
    plan = access.episode_plan(episode, plan.pk)
    return Status(201, _plan(plan, episode, access.current_conditions(episode.patient)))


@router.get(
    "/episodes/{uuid:episode_id}/plans/current",
    response={200: TreatmentPlanOut, **ERRORS_WITH_ID},
    url_name="episode_plan_current",
)
def current_plan(request, episode_id: UUID):
    """The plan in force (404 when the episode has none)."""

    episode = access.access_episode(request.user, episode_id)
    found = [p for p in access.episode_plans(episode) if p.status in (PlanStatus.ACTIVE, PlanStatus.CLOSED)]
    if not found:
        raise Http404("This episode has no treatment plan yet.")
    return _plan(found[0], episode, access.current_conditions(episode.patient))


@router.get("/plans/{uuid:plan_id}", response={200: TreatmentPlanOut, **ERRORS_WITH_ID}, url_name="plan")
def get_plan(request, plan_id: UUID):
    plan = access.access_plan(request.user, plan_id)
    episode = plan.episode
    plan = access.episode_plan(episode, plan.pk)
    return _plan(plan, episode, access.current_conditions(episode.patient))


class GoalUpdate(InputSchema):
    status: GoalStatus


@router.patch("/goals/{uuid:goal_id}", response={200: PlanGoalOut, **ERRORS_VERSIONED}, url_name="goal")
def update_goal(request, goal_id: UUID, payload: GoalUpdate):
    """Set a goal's status (only the goals of the plan in force of an open episode). With
    `If-Match: "<version>"`, a status set since is not overwritten (412)."""
    goal = access.access_goal(request.user, goal_id, key="clinical.write")
    expected = versions.if_match(request)
    status = plans.check_update_goal(request.user, goal, payload.status)
    return _goal(plans.do_update_goal(request.user, goal, status, expected_version=expected))


# Schedule this plan -----------------------------------------------------------------------------


class ScheduleIn(InputSchema):
    service: UUID
    location: UUID
    practitioner: UUID | None = Field(None, description="The episode's therapist when left out.")
    room: UUID | None = None
    start: AwareTime = Field(description="The first visit's start; the others keep its local time.")
    weekdays: list[Annotated[WholeNumber, Field(ge=0, le=6)]] | None = Field(
        None, max_length=7, description="As many weekdays as the plan's sessions a week (0 = Monday), or …"
    )
    every_days: WholeNumber | None = Field(None, ge=1, le=planning.MAX_EVERY_DAYS, description="… every so many days.")


class PlanVisitIn(InputSchema):
    start: AwareTime
    practitioner: UUID | None = Field(None, description="Another practitioner for this visit (an alternative).")
    room: UUID | None = None


class ScheduleBookIn(ScheduleIn):
    visits: list[PlanVisitIn] | None = Field(
        None,
        max_length=planning.MAX_VISITS,
        description="The visits as chosen on the proposal; every proposed visit when left out.",
    )
    confirm_warnings: Flag = Field(
        False, description="Book despite the warnings (e.g. no referral visits left) a 409 answer listed."
    )


class PlanSlotOut(Schema):
    start: datetime.datetime
    end: datetime.datetime
    practitioner: UUID
    room: UUID | None


class PlanProposedVisitOut(PlanSlotOut):
    number: int
    status: str = Field(description="ok, or conflict (see problem and alternatives).")
    problem: str
    alternatives: list[PlanSlotOut]


class ScheduledOut(Schema):
    plan: UUID
    series: UUID
    visits: int


def _schedule_request(request, plan, payload: ScheduleIn) -> plan_scheduling.ScheduleRequest:

    practitioner = (
        scheduling_access.practitioner_by_id(payload.practitioner) if payload.practitioner else plan.episode.therapist
    )
    wanted = plan_scheduling.ScheduleRequest(
        practitioner=practitioner,
        service=scheduling_access.service_by_id(payload.service),
        location=scheduling_access.location_by_id(payload.location),
        first_start=payload.start,
        weekdays=tuple(payload.weekdays) if payload.weekdays else None,
        every_days=payload.every_days,
        room=scheduling_access.room_by_id(payload.room) if payload.room else None,
    )
    return plan_scheduling.check_schedule_plan(request.user, plan, wanted)


def _slot(item, tz) -> dict:
    return {
        "start": item.start.astimezone(tz),
        "end": item.end.astimezone(tz),
        "practitioner": item.practitioner.public_id,
        "room": item.room.public_id if item.room is not None else None,
    }


@router.post(
    "/plans/{uuid:plan_id}/schedule/propose",
    response={200: list[PlanProposedVisitOut], **ERRORS_WITH_ID},
    url_name="plan_schedule_propose",
)
def propose_schedule(request, plan_id: UUID, payload: ScheduleIn):
    """Every visit of the plan (its sessions a week × weeks) checked against the calendar,
    saving nothing: ok, or a conflict with up to three alternatives that day."""
    plan = access.access_plan(request.user, plan_id, key="clinical.write")
    wanted = _schedule_request(request, plan, payload)
    tz = wanted.location.tz
    return [
        {
            **_slot(p, tz),
            "number": p.number,
            "status": p.status,
            "problem": p.problem,
            "alternatives": [_slot(a, tz) for a in p.alternatives],
        }
        for p in plan_scheduling.propose_plan_series(request.user, plan, wanted)
    ]


@router.post(
    "/plans/{uuid:plan_id}/schedule",
    response={201: ScheduledOut, 409: WarningsOut, **ERRORS_WITH_ID},
    url_name="plan_schedule",
)
def book_schedule(request, plan_id: UUID, payload: ScheduleBookIn):
    """Book the plan's visits as one series, all or none (409 naming the first visit whose
    time is taken, nothing saved), and link the series to the plan. 409 with ``warnings``
    when visits need confirming first (e.g. the referral has no visits left for them):
    send again with ``confirm_warnings`` true to book anyway."""

    plan = access.access_plan(request.user, plan_id, key="clinical.write")
    wanted = _schedule_request(request, plan, payload)
    if payload.visits is None:
        proposals = plan_scheduling.propose_plan_series(request.user, plan, wanted)
        taken = [p for p in proposals if p.status != planning.OK]
        if taken:
            raise ValidationError(
                {
                    "visits": f"{len(taken)} visit(s) cannot be booked as planned (visit {taken[0].number} first): "
                    "propose, then send the visits chosen."
                }
            )
        visits = [planning.Visit(p.start) for p in proposals]
    else:
        visits = [
            planning.Visit(
                v.start,
                scheduling_access.practitioner_by_id(v.practitioner, f"visits.{n}.practitioner")
                if v.practitioner
                else None,
                scheduling_access.room_by_id(v.room, f"visits.{n}.room") if v.room else None,
            )
            for n, v in enumerate(payload.visits)
        ]
    series = plan_scheduling.do_schedule_plan(
        request.user, plan, wanted, visits, confirm_warnings=payload.confirm_warnings
    )
    return Status(201, {"plan": plan.public_id, "series": series.public_id, "visits": series.visits})


# Discharge --------------------------------------------------------------------------------------


class DischargeIn(InputSchema):
    reason: DischargeReason
    summary: text(discharge.SUMMARY_MAX) = ""
    discharged_on: IsoDate | None = Field(None, description="YYYY-MM-DD; today when left out.")


class OutcomeOut(Schema):
    measure: str
    label: str
    unit: str
    count: int
    first: float
    first_on: str
    last: float
    last_on: str
    change: float | None
    direction: str = Field(description="better, worse, none; empty when measured once.")
    mcid_reached: bool
    mcid: str


class GoalAtDischargeOut(Schema):
    goal: str
    measure: str
    baseline: float | None
    target: float | None
    direction: str
    target_date: str | None
    status: str


class DischargeOut(Schema):
    id: UUID
    episode: UUID
    discharged_on: datetime.date
    reason: str
    summary: str
    outcomes: list[OutcomeOut]
    goals: list[GoalAtDischargeOut]
    goals_met: int
    cancelled_appointments: int
    discharged_by: StaffRef
    created_at: datetime.datetime


def _discharge(d: Discharge, episode: Episode) -> dict:
    return {
        "id": d.public_id,
        "episode": episode.public_id,
        "discharged_on": d.discharged_on,
        "reason": d.reason,
        "summary": d.summary,
        "outcomes": d.outcomes,
        "goals": d.goals,
        "goals_met": sum(1 for g in d.goals if g.get("status") == GoalStatus.MET),
        "cancelled_appointments": d.cancelled_appointments,
        "discharged_by": _staff(d.discharged_by),
        "created_at": d.created_at,
    }


@router.post(
    "/episodes/{uuid:episode_id}/discharge",
    response={201: DischargeOut, **ERRORS_WITH_ID},
    url_name="episode_discharge",
)
def discharge_episode(request, episode_id: UUID, payload: DischargeIn):
    """Close the episode: outcomes (first against last measure) and goals are frozen, the
    visits still booked for its plans are cancelled. 422 when already discharged."""
    episode = access.access_episode(request.user, episode_id, key="clinical.write")
    clean = discharge.check_discharge(request.user, episode, payload.model_dump())
    discharge.do_discharge(request.user, episode, clean)
    return Status(201, _discharge(access.episode_discharge(episode), episode))


@router.get(
    "/episodes/{uuid:episode_id}/discharge",
    response={200: DischargeOut, **ERRORS_WITH_ID},
    url_name="episode_discharge",
)
def get_discharge(request, episode_id: UUID):
    """The discharge summary (404 while the episode is open)."""
    episode = access.access_episode(request.user, episode_id)
    return _discharge(access.episode_discharge(episode), episode)
