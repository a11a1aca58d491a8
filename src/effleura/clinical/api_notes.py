"""The session-notes part of the JSON API: SOAP notes, their technique rows, signing,
addenda, and the practice's note templates.

Thin, like the views: clinical/notes.py reads (access_*) and writes (check_*/do_*); those
authorize and audit. Who may call what is in core/permissions.py URL_RULES (# API:
clinical): clinicians only; front desk and billing never see a note.

Ids in URLs and answers are the records' UUIDs (``public_id``), never database keys.
"""

import datetime
from typing import Literal
from uuid import UUID

from ninja import Router, Schema, Status
from pydantic import Field

from effleura.clinical import access, note_rules, note_templates, notes
from effleura.clinical.access import access_episode
from effleura.clinical.models import Addendum, NoteTemplate, SessionNote, TechniqueEntry
from effleura.core import versions
from effleura.core.access import authorize
from effleura.core.api_schemas import (
    ERRORS,
    ERRORS_VERSIONED,
    ERRORS_WITH_ID,
    ErrorOut,
    Flag,
    InputSchema,
    IsoDate,
    StaffRef,
    WholeNumber,
    text,
)
from effleura.scheduling import access as scheduling_access

router = Router(tags=["session notes"])


def _staff(user) -> dict:
    return {"id": user.public_id, "name": user.display_name}


# Schemas ------------------------------------------------------------------------------------


class TechniqueIn(InputSchema):
    technique: text(40) = Field(description="A technique, stroke or modality key (the knowledge base).")
    minutes: WholeNumber = Field(description="1 to 240.")
    regions: list[text(40)] = Field([], description="Body-region keys.")
    pressure: text(10) = Field("", description="light, moderate, firm, deep, or empty.")
    position: text(14) = Field("", description="The client's position key, or empty.")
    notes: text(200) = ""
    override_reason: text(note_rules.REASON_MAX) | None = Field(
        None,
        description="Why the technique is charted although screening rules it out for this patient "
        "(contraindicated, or local work over an area to avoid). Required then; omit it to keep "
        "the reason the note already holds for this technique.",
    )


class NoteBodyMarkIn(InputSchema):
    region: text(40)
    symbol: text(20)
    intensity: WholeNumber


class NoteCreate(InputSchema):
    appointment: UUID | None = Field(None, description="The appointment the session was (its patient's open episode).")
    episode: UUID | None = Field(
        None, description="The episode: required without an appointment, or when the patient has several open."
    )
    start: Literal["blank", "template", "carry_forward", "plan"] = Field(
        "blank",
        description="Start blank, from a template, from the episode's last signed note, or from the plan in force "
        "(its techniques with regions and pressure, the visit's minutes shared among them).",
    )
    template: UUID | None = Field(None, description="The note template, when start is 'template'.")


class NoteUpdate(InputSchema):
    """Only the fields sent change; ``techniques`` replaces every row."""

    session_date: IsoDate | None = None
    subjective: text() | None = None
    pain_now: WholeNumber | None = Field(None, description="0 to 10; null when not asked.")
    objective: text() | None = None
    body_marks: list[NoteBodyMarkIn] | None = None
    assessment: text() | None = None
    plan: text() | None = None
    home_care_given: text() | None = None
    techniques: list[TechniqueIn] | None = None


class SignIn(InputSchema):
    complete_appointment: Flag = Field(
        True, description="Mark the appointment completed if it is still booked, checked in or in session."
    )


class AddendumIn(InputSchema):
    text: text()


class NoteTechniqueOut(Schema):
    technique: str
    label: str
    minutes: int
    regions: list[str]
    pressure: str
    position: str
    notes: str

    @staticmethod
    def resolve_label(obj: TechniqueEntry) -> str:
        return note_rules.technique_label(obj.technique)


class OverrideOut(Schema):
    condition: str
    technique: str
    verdict: str
    reason: str
    by: str
    at: str


class AddendumOut(Schema):
    id: UUID
    author: StaffRef
    at: datetime.datetime
    text: str

    @staticmethod
    def resolve_id(obj: Addendum) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_author(obj: Addendum) -> dict:
        return _staff(obj.author)


class NoteScreeningFlagOut(Schema):
    condition: str
    severity: str
    affects: list[str]
    region: str | None
    action: str
    reason: str
    source: str


class _NoteFields(Schema):
    id: UUID
    episode: UUID
    appointment: UUID | None
    author: StaffRef
    session_date: datetime.date
    status: str
    total_minutes: int = Field(description="The sum of the technique minutes (billing reads it).")
    signed_at: datetime.datetime | None
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")


class NoteSummaryOut(_NoteFields):
    @staticmethod
    def resolve_id(obj: SessionNote) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_episode(obj: SessionNote) -> UUID:
        return obj.episode.public_id

    @staticmethod
    def resolve_appointment(obj: SessionNote) -> UUID | None:
        return obj.appointment.public_id if obj.appointment_id else None

    @staticmethod
    def resolve_author(obj: SessionNote) -> dict:
        return _staff(obj.author)


class NoteOut(_NoteFields):
    """A note as ``_out()`` assembles it."""

    patient: UUID
    subjective: str
    pain_now: int | None
    objective: str
    body_marks: list[dict]
    assessment: str
    plan: str
    home_care_given: str
    techniques: list[NoteTechniqueOut]
    overrides: list[OverrideOut]
    started_from: dict = Field(description="{} or {kind: template|carry_forward, id, label}: where the draft began.")
    typing_kept_at: datetime.datetime | None = Field(
        None,
        description="When the editor kept typing on this draft that does not pass the checks yet (not "
        "shown here; the editor shows it again). An update replaces it, and a signature is refused "
        "until it is saved. Null when there is none.",
    )
    addenda: list[AddendumOut]
    screening: list[NoteScreeningFlagOut] = Field(description="The flags of the patient's current health history.")
    warnings: list[str] = Field([], description="Cautions for the techniques charted (after a change).")
    created_at: datetime.datetime
    updated_at: datetime.datetime


def _out(note: SessionNote, warnings=()) -> dict:
    """A note with its rows, addenda and current screening: four queries."""
    detail = notes.note_detail(note)
    return {
        "id": note.public_id,
        "episode": note.episode.public_id,
        "patient": note.episode.patient.public_id,
        "appointment": note.appointment.public_id if note.appointment_id else None,
        "author": _staff(note.author),
        "session_date": note.session_date,
        "status": note.status,
        "total_minutes": note.total_minutes,
        "signed_at": note.signed_at,
        "version": note.version,
        "subjective": note.subjective,
        "pain_now": note.pain_now,
        "objective": note.objective,
        "body_marks": note.body_marks,
        "assessment": note.assessment,
        "plan": note.plan,
        "home_care_given": note.home_care_given,
        "techniques": detail.techniques,
        "overrides": note.overrides or [],
        "started_from": note.started_from or {},
        "typing_kept_at": notes.typed_at(note),
        "addenda": detail.addenda,
        "screening": [
            {
                "condition": f.condition,
                "severity": f.severity,
                "affects": list(f.affects),
                "region": f.region,
                "action": f.action,
                "reason": f.reason,
                "source": f.source,
            }
            for f in detail.screening.flags
        ],
        "warnings": list(warnings),
        "created_at": note.created_at,
        "updated_at": note.updated_at,
    }


# Notes ----------------------------------------------------------------------------------------


@router.get(
    "/episodes/{uuid:episode_id}/notes",
    response={200: list[NoteSummaryOut], **ERRORS_WITH_ID},
    url_name="episode_notes",
)
def list_episode_notes(request, episode_id: UUID):
    """The episode's session notes, newest first."""
    _episode, found = access.access_episode_notes(request.user, episode_id)
    return found


@router.post("/notes", response={201: NoteOut, **ERRORS_WITH_ID}, url_name="notes")
def create_note(request, payload: NoteCreate):
    """Start a draft note for an appointment or, without one, for an open episode. A
    template or the last signed note of the episode fills it as a starting draft
    (``started_from`` says which); screening overrides are never copied."""
    authorize(request.user, "clinical.write")
    appointment = episode = template = None
    if payload.appointment is not None:
        appointment = scheduling_access.access_appointment(request.user, payload.appointment, audit_it=False)
    if payload.episode is not None:
        episode = access_episode(request.user, payload.episode, key="clinical.write")
    if payload.template is not None:
        template = access.access_note_template(request.user, payload.template)
    start = notes.check_start_note(
        request.user, appointment=appointment, episode=episode, start=payload.start, template=template
    )
    note = notes.do_start_note(request.user, start)
    return Status(201, _out(access.access_note(request.user, note.public_id, audit_it=False)))


@router.get("/notes/{uuid:note_id}", response={200: NoteOut, **ERRORS_WITH_ID}, url_name="note")
def get_note(request, note_id: UUID):
    return _out(access.access_note(request.user, note_id))


@router.patch("/notes/{uuid:note_id}", response={200: NoteOut, **ERRORS_VERSIONED}, url_name="note")
def update_note(request, note_id: UUID, payload: NoteUpdate):
    """Change a draft (its author only). A technique screening rules out for this patient
    needs ``override_reason`` on its row (422 names the row and the condition otherwise);
    the total of the minutes may not pass the appointment's length plus 15 minutes. Send
    `If-Match: "<version>"` (the ETag of your read): if the draft was saved since, the
    answer is 412 and nothing changes."""
    note = access.access_note(request.user, note_id, key="clinical.write", audit_it=False)
    expected = versions.if_match(request)
    data = payload.model_dump(exclude_unset=True)
    for name in ("subjective", "objective", "assessment", "plan", "home_care_given"):
        if name in data and data[name] is None:
            data[name] = ""
    if data.get("session_date", 0) is None:
        data.pop("session_date")
    if data.get("techniques", 0) is None:
        data["techniques"] = []
    if data.get("body_marks", 0) is None:
        data["body_marks"] = []
    change = notes.check_update_note(request.user, note, data)
    note = notes.do_update_note(request.user, note, change, expected_version=expected)
    return _out(note, change.warnings)


@router.delete("/notes/{uuid:note_id}", response={204: None, **ERRORS_VERSIONED}, url_name="note")
def discard_note(request, note_id: UUID):
    """Discard a draft (its author only). A signed note is never deleted. With If-Match, a
    draft saved since that version is kept (412)."""
    note = access.access_note(request.user, note_id, key="clinical.write", audit_it=False)
    expected = versions.if_match(request)
    notes.check_discard_draft(request.user, note)
    notes.do_discard_draft(request.user, note, expected_version=expected)
    return Status(204, None)


@router.post("/notes/{uuid:note_id}/sign", response={200: NoteOut, **ERRORS_VERSIONED}, url_name="note_sign")
def sign_note(request, note_id: UUID, payload: SignIn):
    """Sign a draft (its author only): the note is locked; later changes are addenda. Send
    `If-Match` with the version you read: a signature vouches for what you saw, so a draft
    saved since is not signed (412)."""
    note = access.access_note(request.user, note_id, key="clinical.write", audit_it=False)
    expected = versions.if_match(request)
    signing = notes.check_sign_note(request.user, note, complete_appointment=payload.complete_appointment)
    return _out(notes.do_sign_note(request.user, note, signing, expected_version=expected))


@router.post("/notes/{uuid:note_id}/addenda", response={201: AddendumOut, **ERRORS_WITH_ID}, url_name="note_addenda")
def add_addendum(request, note_id: UUID, payload: AddendumIn):
    """Add an addendum to a signed note; any clinician may."""
    note = access.access_note(request.user, note_id, key="clinical.write", audit_it=False)
    text_ = notes.check_add_addendum(request.user, note, payload.text)
    addendum = notes.do_add_addendum(request.user, note, text_)
    return Status(201, addendum)


# Templates ------------------------------------------------------------------------------------


class TemplateTechniqueIn(InputSchema):
    technique: text(40)
    minutes: WholeNumber
    regions: list[text(40)] = []
    pressure: text(10) = ""
    position: text(14) = ""


class TemplateIn(InputSchema):
    service: UUID | None = None
    name: text(note_rules.TEMPLATE_NAME_MAX) | None = None
    subjective: text() | None = None
    objective: text() | None = None
    assessment: text() | None = None
    plan: text() | None = None
    techniques: list[TemplateTechniqueIn] | None = None
    is_active: Flag | None = None


class TemplateOut(Schema):
    id: UUID
    service: UUID
    service_name: str
    name: str
    subjective: str
    objective: str
    assessment: str
    plan: str
    techniques: list[dict]
    is_active: bool
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")

    @staticmethod
    def resolve_id(obj: NoteTemplate) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_service(obj: NoteTemplate) -> UUID:
        return obj.service.public_id

    @staticmethod
    def resolve_service_name(obj: NoteTemplate) -> str:
        return obj.service.name


def _template_data(payload: TemplateIn) -> dict:
    data = payload.model_dump(exclude_unset=True)
    for name in ("subjective", "objective", "assessment", "plan"):
        if name in data and data[name] is None:
            data[name] = ""
    if data.get("techniques", 0) is None:
        data["techniques"] = []
    if "service" in data and data["service"] is not None:
        data["service"] = str(data["service"])
    return data


@router.get("/note-templates", response={200: list[TemplateOut], **ERRORS}, url_name="note_templates")
def list_templates(request):
    return access.access_note_templates(request.user)


@router.post("/note-templates", response={201: TemplateOut, 400: ErrorOut, **ERRORS}, url_name="note_templates")
def create_template(request, payload: TemplateIn):
    clean = note_templates.check_save_template(request.user, _template_data(payload))
    return Status(201, note_templates.do_save_template(request.user, clean))


@router.get(
    "/note-templates/{uuid:template_id}", response={200: TemplateOut, **ERRORS_WITH_ID}, url_name="note_template"
)
def get_template(request, template_id: UUID):
    return access.access_note_template(request.user, template_id)


@router.patch(
    "/note-templates/{uuid:template_id}", response={200: TemplateOut, **ERRORS_VERSIONED}, url_name="note_template"
)
def update_template(request, template_id: UUID, payload: TemplateIn):
    """Change the fields sent. With `If-Match: "<version>"`, a template saved since is not
    overwritten (412)."""
    template = access.access_note_template(request.user, template_id, key="clinical.write")
    expected = versions.if_match(request)
    clean = note_templates.check_save_template(request.user, _template_data(payload), template)
    return note_templates.do_save_template(request.user, clean, template, expected_version=expected)
