"""The outcome-measures and home-care part of the JSON API.

Thin, like the views: clinical/access.py reads (access_*), clinical/measures.py and
clinical/homecare.py write (check_*/do_*); they authorize and audit. A questionnaire the scorer refuses
answers 422 with its reason under ``errors.answers``, and nothing is saved.

Ids are the records' UUIDs. The router is registered in effleura/api/api.py; its
operations' names are in core/permissions.py URL_RULES (# API: clinical).
"""

from datetime import date
from typing import Literal
from uuid import UUID

from ninja import Router, Schema, Status
from pydantic import Field

from effleura.clinical import homecare, measures, scoring
from effleura.clinical.access import (
    access_episode,
    access_homecare,
    access_homecare_handout,
    access_measurement,
    access_measurements,
    access_progress,
    episode_note,
    measurement_notes,
)
from effleura.clinical.models import OutcomeMeasurement
from effleura.core import versions
from effleura.core.api_schemas import (
    ERRORS_VERSIONED,
    ERRORS_WITH_ID,
    InputSchema,
    IsoDate,
    StaffRef,
    WholeNumber,
    text,
)
from effleura.core.values import as_uuid
from effleura.documents.pdf import pdf_response

router = Router(tags=["clinical: outcome measures and home care"])

MeasureKey = Literal["nprs", "odi", "ndi", "quickdash", "lefs", "psfs"]
MAX_ANSWERS = 20  # the LEFS, the longest questionnaire


# Outcome measures -----------------------------------------------------------------------


class MeasurementIn(InputSchema):
    measure: MeasureKey
    answers: list[WholeNumber | None] = Field(
        max_length=MAX_ANSWERS,
        description="One per item, in order; null for an unanswered item (the measure's missing-item rule applies).",
    )
    labels: list[text(measures.LABEL_MAX)] = Field(
        default_factory=list, max_length=5, description="PSFS only: the activity each answer rates."
    )
    taken_on: IsoDate | None = Field(None, description="YYYY-MM-DD; today when left out.")
    note_id: UUID | None = Field(None, description="The session note this measure was taken at, if any.")


class MeasurementOut(Schema):
    id: UUID
    episode: UUID
    measure: str
    answers: list[int | None]
    labels: list[str]
    score: float
    unit: str
    band: str
    taken_on: date
    recorded_by: StaffRef
    note: UUID | None
    draft: bool = Field(
        False, description="Taken at a session note not signed yet: left out of progress, reports and discharge."
    )

    @staticmethod
    def resolve_draft(obj: OutcomeMeasurement) -> bool:
        return bool(getattr(obj, "draft", False))

    @staticmethod
    def resolve_id(obj: OutcomeMeasurement) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_episode(obj: OutcomeMeasurement) -> UUID:
        return obj.episode.public_id

    @staticmethod
    def resolve_recorded_by(obj: OutcomeMeasurement) -> dict:
        return {"id": obj.recorded_by.public_id, "name": obj.recorded_by.display_name}

    @staticmethod
    def resolve_note(obj: OutcomeMeasurement) -> UUID | None:
        return obj.note.public_id if obj.note_id else None


@router.post(
    "/episodes/{uuid:episode_id}/measures",
    response={201: MeasurementOut, **ERRORS_WITH_ID},
    url_name="episode_measures",
)
def record_measure(request, episode_id: UUID, payload: MeasurementIn):
    """Score the answers and save them; 422 (nothing saved) when the measure cannot be scored."""
    episode = access_episode(request.user, episode_id)
    data = payload.model_dump(exclude={"note_id"})
    if payload.note_id is not None:
        note = episode_note(episode, payload.note_id)
        data["note"] = note if note is not None else "unknown"
    measurement = measures.do_record_measure(
        request.user, episode, measures.check_record_measure(request.user, episode, data)
    )
    measurement.draft = measures.is_draft(measurement)
    return Status(201, measurement)


@router.get(
    "/episodes/{uuid:episode_id}/measures",
    response={200: list[MeasurementOut], **ERRORS_WITH_ID},
    url_name="episode_measures",
)
def list_measures(request, episode_id: UUID):
    """Every measurement of the episode with its score, oldest first."""
    _episode, found = access_measurements(request.user, episode_id)
    return _with_related(found)


@router.get(
    "/episodes/{uuid:episode_id}/measures/{uuid:measurement_id}",
    response={200: MeasurementOut, **ERRORS_WITH_ID},
    url_name="episode_measurement",
)
def get_measure(request, episode_id: UUID, measurement_id: UUID):
    _episode, measurement = access_measurement(request.user, episode_id, measurement_id)
    return _with_related([measurement])[0]


def _with_related(found: list[OutcomeMeasurement]) -> list[OutcomeMeasurement]:
    # access_* loaded recorded_by; the episode is the one accessed, and notes are looked up
    # in one query, so the list costs the same whatever its length.
    measurement_notes(found)
    return found


class PointOut(Schema):
    taken_on: date
    value: float
    band: str
    source: str = Field(description='"NPRS" or "Session note" for pain; the measure\'s name otherwise.')


class ProgressGoalOut(Schema):
    description: str
    target: float
    target_date: date | None
    status: str


class MeasureChangeOut(Schema):
    delta: float = Field(description="Last minus first, in the measure's unit.")
    direction: Literal["better", "worse", "none"]
    reaches_mcid: bool
    mcid: str = Field(description="The MCID threshold in words and whether it was reached.")


class ProgressOut(Schema):
    key: str = Field(description='A measure key, or "pain" (NPRS with the session notes\' pain ratings).')
    measure: str
    title: str
    unit: str
    higher_is_better: bool
    first: PointOut | None
    last: PointOut | None
    change: MeasureChangeOut | None = Field(description="First versus last; null with fewer than two values.")
    goals: list[ProgressGoalOut]
    points: list[PointOut]


@router.get(
    "/episodes/{uuid:episode_id}/progress",
    response={200: list[ProgressOut], **ERRORS_WITH_ID},
    url_name="episode_progress",
)
def progress(request, episode_id: UUID):
    """Per measure (and pain): every value over time, the plan's goals, and first versus
    last against the minimal clinically important difference."""
    _episode, _found, charts = access_progress(request.user, episode_id)
    return [
        {
            "key": c.key,
            "measure": c.measure,
            "title": c.title,
            "unit": c.unit,
            "higher_is_better": c.higher_is_better,
            "first": _point(c.first),
            "last": _point(c.last),
            "change": _change(c.change),
            "goals": [g.__dict__ for g in c.goals],
            "points": [_point(p) for p in c.points],
        }
        for c in charts
    ]


def _point(p: measures.Point | None) -> dict | None:
    if p is None:
        return None
    return {"taken_on": p.taken_on, "value": p.value, "band": p.band, "source": p.source}


def _change(c: scoring.Change | None) -> dict | None:
    if c is None:
        return None
    return {"delta": c.delta, "direction": c.direction, "reaches_mcid": c.reaches_mcid, "mcid": c.mcid}


# Home care -----------------------------------------------------------------------------


class HomeCareItemIn(InputSchema):
    item: text(60) = Field(description="A self-care library key (see the knowledge base).")
    dosage: text(homecare.DOSAGE_MAX) = Field("", description="This client's dosage; empty = the library's.")
    notes: text(homecare.NOTES_MAX) = ""
    override_reason: text(homecare.REASON_MAX) = Field(
        "",
        description="Why the item is given although the client's health history questions it (an area to avoid, "
        "a condition that rules it out); required then (422 names the check), ignored otherwise.",
    )


class HomeCareIn(InputSchema):
    """The whole plan: it replaces the one stored (items in the order the client reads them)."""

    introduction: text(homecare.INTRODUCTION_MAX) = ""
    items: list[HomeCareItemIn] = Field(default_factory=list, max_length=homecare.MAX_ITEMS)


class HomeCareItemOut(Schema):
    item: str
    title: str
    category: str
    steps: list[str]
    dosage: str = Field(description="What the client is asked to do: this client's dosage, else the library's.")
    custom_dosage: str = Field(description="The dosage set for this client; empty when the library's applies.")
    notes: str
    cautions: list[str]
    source: str
    in_library: bool
    override_reason: str = Field(description="Why it was given despite a check; empty when none asked for one.")


class HomeCareOut(Schema):
    id: UUID | None = Field(description="The plan's id; null while the episode has none.")
    episode: UUID
    introduction: str
    items: list[HomeCareItemOut]
    updated_at: str | None
    updated_by: StaffRef | None
    version: int = Field(
        description='Counts the saves (0 while there is none); send it back in If-Match ("0" for the first plan).'
    )


def _home_care_out(home_care: homecare.HomeCare) -> dict:
    plan = home_care.plan
    return {
        "id": plan.public_id if plan else None,
        "version": home_care.version,
        "episode": home_care.episode.public_id,
        "introduction": home_care.introduction,
        "items": [
            {
                "item": i.key,
                "title": i.title,
                "category": i.category,
                "steps": list(i.steps),
                "dosage": i.dosage,
                "custom_dosage": i.custom_dosage,
                "notes": i.notes,
                "cautions": list(i.cautions),
                "source": i.source,
                "in_library": i.known,
                "override_reason": i.override_reason,
            }
            for i in home_care.items
        ],
        "updated_at": plan.updated_at.isoformat() if plan else None,
        "updated_by": {"id": plan.updated_by.public_id, "name": plan.updated_by.display_name} if plan else None,
    }


@router.get(
    "/episodes/{uuid:episode_id}/home-care",
    response={200: HomeCareOut, **ERRORS_WITH_ID},
    url_name="episode_home_care",
)
def get_home_care(request, episode_id: UUID):
    """The episode's home-care plan (empty when none was made yet)."""
    return _home_care_out(access_homecare(request.user, episode_id))


@router.put(
    "/episodes/{uuid:episode_id}/home-care",
    response={200: HomeCareOut, **ERRORS_VERSIONED},
    url_name="episode_home_care",
)
def put_home_care(request, episode_id: UUID, payload: HomeCareIn):
    """Replace the plan: add, remove and reorder by sending the list as it should be. Send
    `If-Match: "<version>"` (the ETag of your read; "0" before the first plan): a plan
    saved since is not overwritten (412)."""
    episode = access_episode(request.user, episode_id)
    expected = versions.if_match(request)
    clean = homecare.check_save_homecare(request.user, episode, payload.model_dump())
    homecare.do_save_homecare(request.user, episode, clean, expected_version=expected)
    return _home_care_out(access_homecare(request.user, episode.public_id))


@router.get(
    "/episodes/{uuid:episode_id}/home-care/handout.pdf",
    response={200: bytes, **ERRORS_WITH_ID},
    url_name="episode_home_care_handout",
    openapi_extra={"responses": {"200": {"description": "The handout", "content": {"application/pdf": {}}}}},
)
def home_care_handout(request, episode_id: UUID):
    """The plain-language handout as a PDF on the practice's letterhead (audited as a print)."""
    home_care = access_homecare_handout(request.user, as_uuid(episode_id, "episode"))
    return pdf_response(
        request,
        "clinical/homecare_handout.html",
        homecare.handout_context(home_care),
        filename=homecare.handout_filename(home_care),
    )
