"""The assessments part of the JSON API: an episode's assessments (initial and repeat),
the draft's changes, and signing.

Thin, like the views: clinical/assessments.py reads (access_*) and writes (check_*/do_*);
those authorize and audit. Who may call what is in core/permissions.py URL_RULES (# API:
clinical): clinicians only; front desk and billing never see an assessment. Row keys
(posture findings, movements, tone findings, special tests) are the knowledge base's
(clinical/knowledge/assessment.yaml); unknown keys are refused in plain words (422).

Ids in URLs and answers are the records' UUIDs (``public_id``), never database keys.
"""

import datetime
from typing import Literal
from uuid import UUID

from ninja import Router, Schema, Status
from pydantic import Field

from effleura.clinical import access, assessment_rules, assessments
from effleura.clinical.access import access_episode
from effleura.clinical.bodychart import MAX_MARKS
from effleura.clinical.choices import AssessmentKind
from effleura.clinical.models import Assessment
from effleura.core import versions
from effleura.core.api_schemas import (
    ERRORS_VERSIONED,
    ERRORS_WITH_ID,
    Flag,
    InputSchema,
    IsoDate,
    StaffRef,
    WholeNumber,
    text,
)

router = Router(tags=["assessments"])

Side = Literal["", "left", "right", "both"]
KEY = 60  # the longest key of the knowledge base is far shorter


# Schemas -------------------------------------------------------------------------------------


class PostureIn(InputSchema):
    finding: text(KEY) = Field(description="A posture-finding key of the knowledge base.")
    side: Side = Field("", description="left, right or both for a sided finding; empty otherwise.")
    note: text(assessment_rules.NOTE_MAX) = ""


class RomIn(InputSchema):
    joint: text(KEY) = Field(description="The joint, as the knowledge base's movement names it.")
    movement: text(KEY) = Field(description="The movement of that joint.")
    side: Literal["", "left", "right"] = Field("", description="left or right for a sided movement; empty otherwise.")
    degrees: WholeNumber = Field(ge=0, le=assessment_rules.DEGREES_MAX, description="Active range, in degrees.")
    pain: Flag = Field(False, description="Painful on movement.")


class ToneIn(InputSchema):
    region: text(KEY) = Field(description="A body-region key.")
    finding: text(KEY) = Field(description="A tone or palpation finding key of the knowledge base.")
    side: Side = ""
    note: text(assessment_rules.NOTE_MAX) = Field("", description="The muscle or a detail, e.g. upper trapezius.")


class SpecialTestIn(InputSchema):
    test: text(KEY) = Field(description="A special-test key of the knowledge base.")
    side: Side = ""
    result: Literal["positive", "negative"]
    note: text(assessment_rules.NOTE_MAX) = ""


class AssessmentBodyMarkIn(InputSchema):
    region: text(KEY) = Field(description="A body-region key.")
    symbol: text(20) = Field(description="pain, tension, trigger_point, numbness, treated or avoid.")
    intensity: WholeNumber = Field(ge=0, le=10)


class AssessmentFields(InputSchema):
    kind: AssessmentKind | None = Field(
        None, description="initial (one per episode) or repeat; new assessments default to initial."
    )
    assessed_on: IsoDate | None = Field(None, description="YYYY-MM-DD; new assessments default to today.")
    posture: list[PostureIn] | None = Field(None, max_length=assessment_rules.MAX_ROWS["posture"])
    rom: list[RomIn] | None = Field(None, max_length=assessment_rules.MAX_ROWS["rom"])
    tone: list[ToneIn] | None = Field(None, max_length=assessment_rules.MAX_ROWS["tone"])
    palpation: text() | None = None
    body_marks: list[AssessmentBodyMarkIn] | None = Field(
        None, max_length=MAX_MARKS, description="The pain map: each region and symbol once."
    )
    special_tests: list[SpecialTestIn] | None = Field(None, max_length=assessment_rules.MAX_ROWS["special_tests"])
    functional_limitations: text() | None = None
    clinical_impression: text() | None = Field(None, description="Needed before signing.")


class AssessmentCreate(AssessmentFields):
    """A new draft. Lists left out start empty."""


class AssessmentUpdate(AssessmentFields):
    """Only the fields sent change; a list sent replaces the whole list."""


class PostureOut(Schema):
    finding: str
    label: str
    side: str
    note: str


class RomOut(Schema):
    joint: str
    movement: str
    label: str
    side: str
    degrees: int
    pain: bool
    normal_min: int | None = Field(description="The normal range from the knowledge base (null if unknown).")
    normal_max: int | None
    below_normal: bool


class ToneOut(Schema):
    region: str
    finding: str
    label: str
    side: str
    note: str


class SpecialTestOut(Schema):
    test: str
    label: str
    side: str
    result: str
    note: str


class BodyMarkOut(Schema):
    region: str
    symbol: str
    intensity: int


class AssessmentSummary(Schema):
    id: UUID
    episode: UUID
    patient: UUID
    kind: str
    assessed_on: datetime.date
    status: str
    author: StaffRef
    created_at: datetime.datetime
    updated_at: datetime.datetime
    signed_at: datetime.datetime | None
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")

    @staticmethod
    def resolve_id(obj: Assessment) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_episode(obj: Assessment) -> UUID:
        return obj.episode.public_id

    @staticmethod
    def resolve_patient(obj: Assessment) -> UUID:
        return obj.episode.patient.public_id

    @staticmethod
    def resolve_author(obj: Assessment) -> dict:
        return {"id": obj.author.public_id, "name": obj.author.display_name}


class AssessmentOut(AssessmentSummary):
    posture: list[PostureOut]
    rom: list[RomOut]
    tone: list[ToneOut]
    palpation: str
    body_marks: list[BodyMarkOut]
    special_tests: list[SpecialTestOut]
    functional_limitations: str
    clinical_impression: str

    @staticmethod
    def resolve_posture(obj: Assessment) -> list[dict]:
        return [
            {"finding": r["finding"], "label": r["label"], "side": r.get("side", ""), "note": r.get("note", "")}
            for r in assessments.finding_rows(obj.posture, "posture")
        ]

    @staticmethod
    def resolve_rom(obj: Assessment) -> list[dict]:
        options = assessment_rules.movement_options()
        out = []
        for row, shown in zip(obj.rom, assessments.rom_rows(obj.rom), strict=True):
            movement = options.get((row["joint"], row["movement"]))
            out.append(
                {
                    **row,
                    "label": shown.label,
                    "normal_min": movement.normal_min if movement else None,
                    "normal_max": movement.normal_max if movement else None,
                    "below_normal": shown.below_normal,
                }
            )
        return out

    @staticmethod
    def resolve_tone(obj: Assessment) -> list[dict]:
        return [
            {
                "region": r["region"],
                "finding": r["finding"],
                "label": r["label"],
                "side": r.get("side", ""),
                "note": r.get("note", ""),
            }
            for r in assessments.finding_rows(obj.tone, "tone")
        ]

    @staticmethod
    def resolve_special_tests(obj: Assessment) -> list[dict]:
        return [
            {
                "test": r["test"],
                "label": r["label"],
                "side": r.get("side", ""),
                "result": r["result"],
                "note": r.get("note", ""),
            }
            for r in assessments.finding_rows(obj.special_tests, "special_tests")
        ]


def _data(payload: AssessmentFields) -> dict:
    """The fields sent, as the actions take them (None = not sent)."""
    return {name: value for name, value in payload.model_dump(exclude_unset=True).items() if value is not None}


# Operations -----------------------------------------------------------------------------------


@router.get(
    "/episodes/{uuid:episode_id}/assessments",
    response={200: list[AssessmentSummary], **ERRORS_WITH_ID},
    url_name="episode_assessments",
)
def list_assessments(request, episode_id: UUID):
    """The episode's assessments, newest first."""
    _episode, found = access.access_episode_assessments(request.user, episode_id)
    return found


@router.post(
    "/episodes/{uuid:episode_id}/assessments",
    response={201: AssessmentOut, **ERRORS_WITH_ID},
    url_name="episode_assessments",
)
def create_assessment(request, episode_id: UUID, payload: AssessmentCreate):
    """Start a draft assessment of an open episode; only its author may change or sign it."""
    episode = access_episode(request.user, episode_id, key="clinical.write")
    clean = assessments.check_create_assessment(request.user, episode, _data(payload))
    return Status(201, assessments.do_create_assessment(request.user, episode, clean))


@router.get("/assessments/{uuid:assessment_id}", response={200: AssessmentOut, **ERRORS_WITH_ID}, url_name="assessment")
def get_assessment(request, assessment_id: UUID):
    return access.access_assessment(request.user, assessment_id)


@router.patch(
    "/assessments/{uuid:assessment_id}", response={200: AssessmentOut, **ERRORS_VERSIONED}, url_name="assessment"
)
def update_assessment(request, assessment_id: UUID, payload: AssessmentUpdate):
    """Change the author's draft. A signed assessment is locked (422); someone else's
    draft is refused (403). With `If-Match: "<version>"`, a draft saved since is not
    overwritten (412)."""
    found = access.access_assessment(request.user, assessment_id, key="clinical.write", audit_it=False)
    expected = versions.if_match(request)
    clean = assessments.check_update_assessment(request.user, found, _data(payload))
    return assessments.do_update_assessment(request.user, found, clean, expected_version=expected)


@router.post(
    "/assessments/{uuid:assessment_id}/sign",
    response={200: AssessmentOut, **ERRORS_VERSIONED},
    url_name="assessment_sign",
)
def sign_assessment(request, assessment_id: UUID):
    """Sign and lock the author's draft; it needs a clinical impression. With If-Match, a
    draft saved since the version you read is not signed (412)."""
    found = access.access_assessment(request.user, assessment_id, key="clinical.write", audit_it=False)
    expected = versions.if_match(request)
    assessments.check_sign_assessment(request.user, found)
    return assessments.do_sign_assessment(request.user, found, expected_version=expected)
