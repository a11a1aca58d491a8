"""Session notes (SOAP): reading them, and every write to them.

A note belongs to an episode of care and, usually, to one appointment. It starts as a
draft (blank, from a template of the service, or carried forward from the episode's last
signed note); only its author edits the draft; signing locks it, and later changes are
addenda with their own author and time.

Screening: every technique row is checked against the patient's current health history
(clinical/screening.py). A technique the knowledge base calls contraindicated for one of
the patient's conditions, or one charted over an area the patient must avoid when a
condition rules out local work, is refused unless the row carries a reason; the reason is
kept in ``SessionNote.overrides`` and each new one is written to the audit trail.

Total treatment minutes are the sum of the rows (billing reads ``total_minutes``). A total
beyond the appointment's length plus OVERRUN_MINUTES is refused: billing turns minutes
into units, and an over-long total would bill time that was never booked.

The pure rules (cleaning, what screening asks of a row, the total) are in
clinical/note_rules.py; note templates in clinical/note_templates.py; reading a note or an
episode's notes (access_note, access_episode_notes) in clinical/access.py.

access_*() read (authorize + audit), check_*() validate and authorize and raise
ValidationError in plain clinic words (a dict of field -> message), do_*() write inside
a transaction with their audit events.
"""

import dataclasses
import datetime
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from effleura.clinical import note_rules
from effleura.clinical.access import note_query
from effleura.clinical.choices import EpisodeStatus, PlanStatus, RecordStatus
from effleura.clinical.client_screening import current_history, screening_for
from effleura.clinical.models import Addendum, Episode, Goal, NoteTemplate, SessionNote, TechniqueEntry, TreatmentPlan
from effleura.clinical.note_rules import (
    TEXT_FIELDS,
    TEXT_MAX,
    RowScreening,
    Screening,
    check_total,
    clean_note_fields,
    overrides_for,
    row_screening,
    split_minutes,
)
from effleura.clinical.plans import current_plan
from effleura.core import audit, clock, extension_points, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.values import clean_text
from effleura.patients.models import Patient
from effleura.scheduling import actions as scheduling_actions
from effleura.scheduling import visit_rules as scheduling_rules
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment

RECORD_TYPE = "session_note"
WHAT = "session note"  # how a refusal names it: "Someone else saved this session note ..."

# A note documents treatment given: none for a cancelled appointment or a no-show.
NO_NOTE_STATUSES = frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW})
# Signing may complete an appointment still in one of these; the others are final.
OPEN_STATUSES = frozenset({AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_SESSION})


class Start:
    """How a new draft begins."""

    BLANK = "blank"
    TEMPLATE = "template"
    CARRY_FORWARD = "carry_forward"
    PLAN = "plan"
    ALL = (BLANK, TEMPLATE, CARRY_FORWARD, PLAN)


# Reading ------------------------------------------------------------------------------------


def plan_goals(episode: Episode) -> list[Goal]:
    """The goals of the episode's active plan, shown read-only beside A: one query."""
    return list(Goal.objects.filter(plan__episode=episode, plan__status=PlanStatus.ACTIVE).order_by("plan", "id"))


@dataclasses.dataclass
class NoteDetail:
    note: SessionNote
    techniques: list[TechniqueEntry]
    addenda: list[Addendum]
    screening: Screening
    goals: list[Goal]
    rows: list["RowScreening"]


def note_detail(note: SessionNote) -> NoteDetail:
    """Everything a note's page shows (note already accessed): four queries."""
    techniques = list(note.techniques.all())
    addenda = list(note.addenda.select_related("author"))
    found = screening_for(note.episode.patient)
    rows = [row_screening(found, t.technique, t.regions, note.body_marks) for t in techniques]
    return NoteDetail(note, techniques, addenda, found, plan_goals(note.episode), rows)


def open_episodes(patient: Patient) -> list[Episode]:
    return list(
        Episode.objects.filter(patient=patient, status=EpisodeStatus.OPEN)
        .select_related("therapist")
        .order_by("-opened_on", "-id")
    )


def last_signed_note(episode: Episode, *, before: SessionNote | None = None) -> SessionNote | None:
    """The episode's most recent signed note (what carry-forward copies)."""
    notes = SessionNote.objects.filter(episode=episode, status=RecordStatus.SIGNED)
    if before is not None:
        notes = notes.exclude(pk=before.pk)
    return notes.order_by("-session_date", "-signed_at", "-id").first()


# Starting a draft ----------------------------------------------------------------------------


class EpisodeChoiceNeeded(ValidationError):
    """The patient has several open episodes and none was chosen."""

    def __init__(self, episodes: list[Episode]):
        self.episodes = episodes
        super().__init__(
            {"episode": f"This patient has {len(episodes)} open episodes of care: choose the one this session is for."}
        )


class NoOpenEpisode(ValidationError):
    """The patient has no open episode: one must be opened before a note."""

    def __init__(self, patient: Patient):
        self.patient = patient
        super().__init__({"episode": "This patient has no open episode of care. Open one first, then write the note."})


class NoteExists(ValidationError):
    """The appointment already has a note."""

    def __init__(self, note: SessionNote):
        self.note = note
        super().__init__({"appointment": "This appointment already has a session note."})


@dataclasses.dataclass(frozen=True)
class NoteStart:
    episode: Episode
    appointment: Appointment | None
    start: str
    template: NoteTemplate | None
    source: SessionNote | None  # the note carried forward
    session_date: datetime.date
    plan: TreatmentPlan | None = None  # the plan in force, when the note starts from it


def session_day(appointment: Appointment) -> datetime.date:
    return timezone.localtime(appointment.start, appointment.location.tz).date()


def check_start_note(
    actor,
    *,
    appointment: Appointment | None = None,
    episode: Episode | None = None,
    start: str = Start.BLANK,
    template: NoteTemplate | None = None,
) -> NoteStart:
    """May ``actor`` start a note for ``appointment`` (its patient's open episode: the one
    given, the only one, or the user must choose) or, without one, for ``episode``?"""
    if appointment is None and episode is None:
        authorize(actor, "clinical.write")
        raise ValidationError({"episode": "Choose the appointment or the episode of care the note is for."})
    patient = appointment.patient if appointment is not None else episode.patient
    authorize(actor, "clinical.write", patient_id=patient.public_id)
    errors: dict[str, str] = {}
    if appointment is not None:
        if appointment.status in NO_NOTE_STATUSES:
            label = AppointmentStatus(appointment.status).label.lower()
            raise ValidationError({"appointment": f"This appointment is {label}: there is no session to write up."})
        existing = SessionNote.objects.filter(appointment=appointment).first()
        if existing is not None:
            raise NoteExists(existing)
        if episode is None:
            choices = open_episodes(patient)
            if not choices:
                raise NoOpenEpisode(patient)
            if len(choices) > 1:
                raise EpisodeChoiceNeeded(choices)
            episode = choices[0]
    if episode.patient_id != patient.pk:
        errors["episode"] = "This episode of care belongs to another patient."
    elif episode.status != EpisodeStatus.OPEN:
        errors["episode"] = "This episode of care was discharged; open a new one to write notes."
    source = None
    if start not in Start.ALL:
        errors["start"] = "Start from a blank note, a template or the last note."
    elif start == Start.TEMPLATE:
        if template is None or not template.is_active:
            errors["template"] = "Choose one of the practice's note templates."
    elif start == Start.CARRY_FORWARD and "episode" not in errors:
        source = last_signed_note(episode)
        if source is None:
            errors["start"] = "There is no signed note in this episode to carry forward yet."
    plan = None
    if start == Start.PLAN and "episode" not in errors:
        plan = current_plan(episode)
        if plan is None or not (plan.techniques or plan.modalities):
            errors["start"] = (
                "This episode has no treatment plan in force with techniques: start blank or from a template."
            )
    if errors:
        raise ValidationError(errors)
    day = session_day(appointment) if appointment is not None else timezone.localdate()
    template = template if start == Start.TEMPLATE else None
    return NoteStart(episode, appointment, start, template, source, day, plan)


def visit_minutes(appointment: Appointment | None, plan: TreatmentPlan) -> int:
    """The minutes a note from the plan shares across its techniques: the minutes delivered
    of an interrupted visit, else its booked length, else (no appointment) the plan's
    session length."""
    if appointment is None:
        return plan.session_minutes
    if appointment.status == AppointmentStatus.INTERRUPTED and appointment.minutes_delivered is not None:
        return appointment.minutes_delivered
    return appointment.duration_minutes


def _rows_from_plan(start: NoteStart) -> list[dict]:
    """The plan's techniques and modalities as rows: the visit's minutes split across them,
    the plan's lighter pressure on the techniques (the therapist firms it up), and each
    row's regions as the last signed note charted that technique, else the client's pain
    areas away from the areas to avoid."""
    plan = start.plan
    keys = [*plan.techniques, *[m for m in plan.modalities if m not in plan.techniques]]
    last = last_signed_note(start.episode)
    before = {}
    if last is not None:
        for row in last.techniques.values("technique", "regions"):
            before.setdefault(row["technique"], list(row["regions"] or []))
    history = current_history(start.episode.patient)
    avoid = set(history.areas_to_avoid) if history is not None else set()
    painful = [r for r in (history.pain_areas if history is not None else []) if r not in avoid]
    minutes = split_minutes(visit_minutes(start.appointment, plan), len(keys))
    modalities = set(plan.modalities)
    return [
        {
            "technique": key,
            "minutes": share,
            "regions": before.get(key, painful),
            "pressure": "" if key in modalities and key not in plan.techniques else plan.pressure_min,
            "position": "",
            "notes": "",
        }
        for key, share in zip(keys, minutes, strict=True)
    ]


def _rows_from(source) -> list[dict]:
    keys = ("technique", "minutes", "regions", "pressure", "position", "notes")
    return [{k: row.get(k, [] if k == "regions" else "") for k in keys} for row in source]


def do_start_note(actor, start: NoteStart) -> SessionNote:
    """Create the draft ``start`` describes (from check_start_note), with the template's
    or the last note's content as a clearly marked starting point. Overrides are never
    carried: a contraindicated technique needs today's reason."""
    fields: dict = {}
    rows: list[dict] = []
    started_from: dict = {}
    if start.template is not None:
        template = start.template
        fields = {name: getattr(template, name) for name in ("subjective", "objective", "assessment", "plan")}
        rows = _rows_from(template.techniques)
        started_from = {"kind": Start.TEMPLATE, "id": str(template.public_id), "label": template.name}
    elif start.plan is not None:
        rows = _rows_from_plan(start)
        started_from = {
            "kind": Start.PLAN,
            "id": str(start.plan.public_id),
            "label": f"the plan of {clock.local_date(start.plan.created_at):%Y-%m-%d}",  # the practice's day
        }
    elif start.source is not None:
        source = start.source
        fields = {name: getattr(source, name) for name in ("subjective", "objective", "assessment", "plan")}
        fields["home_care_given"] = source.home_care_given
        rows = _rows_from(source.techniques.values("technique", "minutes", "regions", "pressure", "position", "notes"))
        started_from = {
            "kind": Start.CARRY_FORWARD,
            "id": str(source.public_id),
            "label": source.session_date.isoformat(),
        }
    patient_id = start.episode.patient.public_id
    with transaction.atomic():
        note = SessionNote.objects.create(
            episode=start.episode,
            appointment=start.appointment,
            author=actor,
            session_date=start.session_date,
            status=RecordStatus.DRAFT,
            started_from=started_from,
            total_minutes=sum(int(r["minutes"] or 0) for r in rows),
            **fields,
        )
        _write_rows(note, rows)
        detail = "draft started" + (f" from {started_from['kind']}" if started_from else "")
        audit.record(
            actor, AuditAction.CREATE, RECORD_TYPE, record_id=note.public_id, patient_id=patient_id, detail=detail
        )
    return note


def _write_rows(note: SessionNote, rows: list[dict]) -> None:
    TechniqueEntry.objects.bulk_create(
        TechniqueEntry(
            note=note,
            technique=row["technique"],
            minutes=row["minutes"],
            regions=list(row.get("regions") or []),
            pressure=row.get("pressure") or "",
            position=row.get("position") or "",
            notes=row.get("notes") or "",
        )
        for row in rows
    )


# Editing a draft ------------------------------------------------------------------------------


def _refuse(actor, note: SessionNote, why: str, message: str):
    """Audit a refused write on a note the role may use, then refuse."""
    audit.record(
        actor,
        AuditAction.UPDATE,
        RECORD_TYPE,
        record_id=note.public_id,
        patient_id=note.episode.patient.public_id,
        outcome=AuditOutcome.DENIED,
        detail=why,
    )
    raise PermissionDenied(message)


def require_author_draft(actor, note: SessionNote, what: str = "edit") -> None:
    """Only the author changes a draft; nobody changes a signed note (add an addendum)."""
    authorize(actor, "clinical.write", patient_id=note.episode.patient.public_id, record_id=note.public_id)
    if note.status == RecordStatus.SIGNED:
        raise ValidationError(f"This note is signed and locked: it cannot be {what}ed. Add an addendum instead.")
    if note.author_id != actor.pk:
        _refuse(
            actor,
            note,
            f"not the author: {what}",
            f"Only {note.author.display_name}, who wrote this draft, may {what} it.",
        )


@dataclasses.dataclass
class NoteChange:
    fields: dict
    rows: list[dict] | None  # None: the techniques stay as they are
    overrides: list[dict]
    new_overrides: list[dict]
    total_minutes: int
    warnings: list[str]


def _stored_rows(note: SessionNote) -> list[dict]:
    return [
        {
            "technique": t.technique,
            "minutes": t.minutes,
            "regions": t.regions,
            "pressure": t.pressure,
            "position": t.position,
            "notes": t.notes,
        }
        for t in note.techniques.all()
    ]


def check_update_note(actor, note: SessionNote, data: dict, *, now=None) -> NoteChange:
    """Validate a change to a draft (only the fields in ``data``; ``techniques``, when
    given, replaces every row). Refuses, beside the row, a technique screening rules out
    unless the row gives a reason, and a total beyond what the appointment allows."""
    require_author_draft(actor, note)
    now = now or timezone.now()
    errors: dict[str, str] = {}
    clean = clean_note_fields(data, errors)
    if "session_date" in clean and clean["session_date"] is not None:
        if note.appointment_id is not None and clean["session_date"] != session_day(note.appointment):
            errors["session_date"] = "The session date is the appointment's date."
        elif clean["session_date"] > timezone.localdate():
            errors["session_date"] = "The session date can’t be in the future."
    rows = clean.pop("techniques", None)
    checked_rows = rows if rows is not None else _stored_rows(note)
    body_marks = clean.get("body_marks", note.body_marks)
    found = screening_for(note.episode.patient)
    if rows is not None or "body_marks" in clean:
        overrides, fresh = overrides_for(found, checked_rows, body_marks, note.overrides, actor, now, errors)
    else:
        # Only the text changed: the rows were checked when they were saved, and signing
        # checks them again, so a reason still missing does not block saving the words.
        overrides, fresh = list(note.overrides or []), []
    total = check_total(checked_rows, note.appointment, errors)
    if errors:
        raise ValidationError(errors)
    warnings = [w for row in checked_rows for w in row_screening(found, row["technique"], row["regions"]).warnings]
    return NoteChange(clean, rows, overrides, fresh, total, list(dict.fromkeys(warnings)))


def do_update_note(actor, note: SessionNote, change: NoteChange, *, expected_version=None) -> SessionNote:
    """Apply ``change``, the NoteChange check_update_note() returned (call it first). In one
    transaction: locks the note, refuses (ValidationError) one signed meanwhile or not the
    actor's draft, refuses (versions.StaleVersion) when ``expected_version`` is not the
    note's version (saved from another tab or client after this one loaded it), replaces
    the technique rows when given, saves one version more, and audits the changed field
    names (never the text) and each new contraindication override. Returns the note, read
    again."""
    patient_id = note.episode.patient.public_id
    with transaction.atomic():
        locked = SessionNote.objects.select_for_update().get(pk=note.pk)
        if locked.status != RecordStatus.DRAFT or locked.author_id != actor.pk:
            raise ValidationError("This note was signed meanwhile: add an addendum instead.")
        versions.check_version(locked, expected_version, WHAT)
        changed = sorted(name for name, value in change.fields.items() if getattr(locked, name) != value)
        for name, value in change.fields.items():
            setattr(locked, name, value)
        if change.rows is not None:
            if change.rows != _stored_rows(locked):
                changed.append("techniques")
            locked.techniques.all().delete()
            _write_rows(locked, change.rows)
        locked.total_minutes = change.total_minutes
        locked.overrides = change.overrides
        locked.typed = {}  # everything typed has now passed the checks
        versions.bump(locked)
        locked.save()
        # Field names only: the text is patient data and stays out of the audit trail.
        audit.record(
            actor,
            AuditAction.UPDATE,
            RECORD_TYPE,
            record_id=locked.public_id,
            patient_id=patient_id,
            detail=("changed: " + ", ".join(changed))[:200] if changed else "no change",
        )
        for _override in change.new_overrides:
            audit.record(
                actor,
                AuditAction.UPDATE,
                RECORD_TYPE,
                record_id=locked.public_id,
                patient_id=patient_id,
                # The kind only: which technique and which condition are health details, kept
                # in the note's own overrides (with who, when and why), never in the trail.
                detail="override",
            )
    return note_query().get(pk=locked.pk)


# Keeping what was typed -------------------------------------------------------------------

# The editor's form as typed: its own fields, the technique rows (t-count, t-<n>-<field>)
# and the body chart; nothing else is kept.
TYPED_KEY = re.compile(
    r"^(session_date|pain_now|subjective|objective|assessment|plan|home_care_given|t-count|t-\d{1,2}-(technique|minutes|regions|pressure|position|notes|override_reason)|body_marks)$"
)
TYPED_MAX_CHARS = 6 * TEXT_MAX + 64_000  # the six texts at their limit, the rows and the chart
TYPED_REQUIRED = ("t-count", "pain_now", "body_marks", *note_rules.TEXT_FIELDS)  # what the editor always sends


def check_keep_typed(actor, note: SessionNote, form: dict[str, list[str]]) -> dict:
    """What of the editor's ``form`` (field name -> values, as posted) to keep on ``note``
    when it does not pass the checks yet, so an interruption loses nothing. Only the author's
    draft; only the editor's fields; refused (ValidationError) when larger than a full note.
    Returns {"at": iso, "form": ...} for do_keep_typed()."""
    require_author_draft(actor, note)
    # The whole editor or nothing: kept typing is shown instead of the note when the draft
    # opens again, so a part of a form would show (and then save) the rest as blank.
    missing = [name for name in TYPED_REQUIRED if name not in form]
    count = (form.get("t-count") or [""])[0]
    if missing or not count.isdigit() or int(count) > note_rules.MAX_ROWS:
        raise ValidationError(
            "This page sent only part of the note, so nothing was kept: reload the page (what was "
            "saved before is still there)."
        )
    kept = {
        name: [str(v) for v in values][: note_rules.MAX_ROWS * 30]
        for name, values in form.items()
        if TYPED_KEY.match(name)
    }
    if sum(len(v) for values in kept.values() for v in values) > TYPED_MAX_CHARS:
        raise ValidationError("This note is longer than a note can be: shorten the text before it can be kept.")
    return {"at": timezone.now().isoformat(), "form": kept}


def do_keep_typed(actor, note: SessionNote, typed: dict, *, expected_version=None) -> SessionNote:
    """Keep ``typed`` (check_keep_typed()'s answer) on the draft, one version more, in one
    transaction with its audit event (the kind only, never the text). Raises
    versions.StaleVersion when the draft was saved elsewhere since ``expected_version``,
    ValidationError when it was signed meanwhile."""
    with transaction.atomic():
        locked = SessionNote.objects.select_for_update().get(pk=note.pk)
        if locked.status != RecordStatus.DRAFT or locked.author_id != actor.pk:
            raise ValidationError("This note was signed meanwhile: add an addendum instead.")
        versions.check_version(locked, expected_version, WHAT)
        locked.typed = typed
        versions.bump(locked)
        locked.save(update_fields=["typed", "version", "updated_at"])
        audit.record(
            actor,
            AuditAction.UPDATE,
            RECORD_TYPE,
            record_id=locked.public_id,
            patient_id=note.episode.patient.public_id,
            detail="kept as typed, not yet checked",
        )
    return note_query().get(pk=locked.pk)


def typed_at(note: SessionNote) -> datetime.datetime | None:
    """When the draft's unchecked typing was kept (None: there is none)."""
    at = (note.typed or {}).get("at")
    try:
        return datetime.datetime.fromisoformat(at) if at else None
    except ValueError:
        return None


def check_discard_draft(actor, note: SessionNote) -> None:
    """May ``actor`` discard ``note``? Needs clinical.write, and only the author discards their
    own draft: raises ValidationError for a signed note, PermissionDenied (audited) for
    anyone else. Returns None; then call do_discard_draft()."""
    require_author_draft(actor, note, "discard")


def do_discard_draft(actor, note: SessionNote, *, expected_version=None) -> None:
    """Delete a draft (started by mistake, or for the wrong episode). Signed notes stay. A
    draft saved since ``expected_version`` is not discarded (versions.StaleVersion): the
    person has not seen what would be thrown away."""
    with transaction.atomic():
        locked = SessionNote.objects.select_for_update().get(pk=note.pk)
        if locked.status != RecordStatus.DRAFT:
            raise ValidationError("This note was signed meanwhile: it cannot be discarded.")
        versions.check_version(locked, expected_version, WHAT)
        locked.techniques.all().delete()
        locked.delete()
        audit.record(
            actor,
            AuditAction.DELETE,
            RECORD_TYPE,
            record_id=note.public_id,
            patient_id=note.episode.patient.public_id,
            detail="draft discarded",
        )


# Signing ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Signing:
    complete_appointment: bool
    status_change: object | None  # scheduling.actions.StatusChange


def signing_refusal(appointment: Appointment, now: datetime.datetime) -> str | None:
    """Why a note for ``appointment`` cannot be signed at ``now``: only once its session
    has begun, when it was started (its recorded start of session) or, if it was never
    started, at its booked start."""
    began = scheduling_rules.session_began(appointment.start, appointment.session_started_at)
    if now >= began:
        return None
    when = scheduling_rules.local_when(began, appointment.location.tz, now)
    return f"The session has not started yet: start it first, or sign the note from {when}."


def undo_guard(appointment: Appointment, change) -> str | None:
    """status_undo_guards provider: a signed note says the session took place, so a visit
    with one stays started, completed or interrupted. One query, only for those changes.
    (A draft stays as it is: it can be signed once the session has begun again.)"""
    if change.to_status not in scheduling_rules.SESSION_STATUSES:
        return None
    if not SessionNote.objects.filter(appointment=appointment, status=RecordStatus.SIGNED).exists():
        return None
    return (
        "The session note for this visit is signed, which records that the session took place: "
        "it cannot be undone. Add an addendum to the note to correct it."
    )


def check_sign_note(actor, note: SessionNote, *, complete_appointment: bool = True, now=None) -> Signing:
    """May ``actor`` sign ``note``? Only its author, only a draft; the note says something;
    every technique screening rules out carries its reason (checked again against the
    health history as it stands now); the total fits the appointment, whose session has
    begun (signing_refusal(): from the moment it was started, else its booked start).

    ``complete_appointment``: mark the appointment completed if it is still booked,
    checked in or in session (through scheduling's status action)."""
    require_author_draft(actor, note, "sign")
    now = now or timezone.now()
    errors: dict[str, str] = {}
    if note.typed:
        at = typed_at(note)
        when = f" (kept {clock.stamp(at)})" if at else ""
        raise ValidationError(
            f"This draft has typing that is not saved as the note yet{when}: open the draft, "
            "finish what is marked and save it, then sign."
        )
    rows = _stored_rows(note)
    if not rows and not any(getattr(note, name).strip() for name in TEXT_FIELDS):
        errors["__all__"] = "The note is empty: write what happened in the session before signing."
    found = screening_for(note.episode.patient)
    given = {(o["condition"], o["technique"]) for o in note.overrides or [] if o.get("reason")}
    for i, row in enumerate(rows):
        for need in row_screening(found, row["technique"], row["regions"], note.body_marks).requirements:
            if (need.condition, need.technique) not in given:
                errors[f"techniques.{i}.override_reason"] = need.message
    check_total(rows, note.appointment, errors)
    status_change = None
    appointment = note.appointment
    if appointment is not None:
        refused = signing_refusal(appointment, now)
        if refused:
            errors["__all__"] = refused
        elif complete_appointment and appointment.status in OPEN_STATUSES:
            try:
                status_change = scheduling_actions.check_set_status(
                    actor, appointment, AppointmentStatus.COMPLETED, now=now
                )
            except ValidationError as exc:
                errors["appointment"] = " ".join(exc.messages)
    if errors:
        raise ValidationError(errors)
    return Signing(complete_appointment, status_change)


def do_sign_note(actor, note: SessionNote, signing: Signing, *, now=None, expected_version=None) -> SessionNote:
    """Sign the note; ``signing`` is what check_sign_note() returned (call it first). In one
    transaction: locks the note, refuses (ValidationError) one signed meanwhile, refuses
    (versions.StaleVersion) one saved since ``expected_version``, the version the signer
    read (a signature vouches for what the signer saw), marks it signed at ``now`` (one
    version more) and audits it, completes the appointment when ``signing`` says so
    (scheduling's do_set_status) and runs the note_signed extensions. Returns the note."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = SessionNote.objects.select_for_update().get(pk=note.pk)
        if locked.status != RecordStatus.DRAFT:
            raise ValidationError("This note is already signed.")
        versions.check_version(locked, expected_version, WHAT)
        if locked.typed:  # kept meanwhile from another tab or device (check_sign_note says why)
            raise ValidationError(
                "This draft has typing that is not saved as the note yet: open the draft, finish "
                "what is marked and save it, then sign."
            )
        locked.status = RecordStatus.SIGNED
        locked.signed_at = now
        locked.save(update_fields=["status", "signed_at", "updated_at", *versions.bump(locked)])
        audit.record(
            actor,
            AuditAction.UPDATE,
            RECORD_TYPE,
            record_id=locked.public_id,
            patient_id=note.episode.patient.public_id,
            detail="signed",
        )
        if signing.status_change is not None:
            scheduling_actions.do_set_status(actor, note.appointment, signing.status_change, now=now)
        extension_points.note_signed.call_all(actor, locked, now=now)
    return note_query().get(pk=locked.pk)


# Addenda ------------------------------------------------------------------------------------


def check_add_addendum(actor, note: SessionNote, text) -> str:
    """Any clinician may add an addendum to a signed note; a draft is edited instead."""
    authorize(actor, "clinical.write", patient_id=note.episode.patient.public_id, record_id=note.public_id)
    if note.status != RecordStatus.SIGNED:
        raise ValidationError({"text": "This note is still a draft: its author edits it. Addenda follow signing."})
    errors: dict[str, str] = {}
    text = clean_text(text, "text", errors, limit=TEXT_MAX)
    if not text and "text" not in errors:
        errors["text"] = "Write the addendum."
    if errors:
        raise ValidationError(errors)
    return text


def do_add_addendum(actor, note: SessionNote, text: str, *, now=None) -> Addendum:
    """Add ``text``, what check_add_addendum() returned (call it first), as an addendum to the
    signed ``note`` by ``actor`` at ``now``. Creates it and audits "addendum" in one
    transaction; the note itself is not locked or changed. Returns the addendum."""
    with transaction.atomic():
        addendum = Addendum.objects.create(note=note, author=actor, at=now or timezone.now(), text=text)
        audit.record(
            actor,
            AuditAction.CREATE,
            RECORD_TYPE,
            record_id=note.public_id,
            patient_id=note.episode.patient.public_id,
            detail="addendum",
        )
    return addendum
