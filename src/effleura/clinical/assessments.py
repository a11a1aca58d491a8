"""Assessments, initial and repeat: reading them, and every write to them.

An assessment belongs to an episode of care. It records posture observations, range of
motion per joint and movement (in degrees, beside the normal range), muscle tone and
palpation findings per region, a pain map on the body chart (clinical/bodychart.py),
special tests, functional limitations and the clinical impression. The keys of the
structured rows come from the knowledge base (clinical/knowledge/assessment.yaml, read
through clinical/knowledge.py), so a clinician can review them.

It starts as a draft that only its author edits; signing locks it. A signed assessment
is never changed: findings that change are a re-assessment.

access_*() read (authorize + audit with the patient's id), check_*() validate and
authorize and raise ValidationError in plain clinic words (a dict of field -> message),
do_*() write inside a transaction with their audit event.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from effleura.clinical import knowledge
from effleura.clinical.access import access_episode
from effleura.clinical.bodychart import clean_body_marks
from effleura.clinical.choices import AssessmentKind, EpisodeStatus, RecordStatus
from effleura.clinical.models import Assessment, Episode
from effleura.core import audit
from effleura.core.access import allowed, authorize
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.values import as_uuid, parse_date, reject_unknown
from effleura.patients.choices import BodyRegion

__all__ = [
    "FIELDS",
    "access_assessment",
    "access_episode_assessments",
    "check_create_assessment",
    "check_sign_assessment",
    "check_update_assessment",
    "clean_body_marks",
    "do_create_assessment",
    "do_sign_assessment",
    "do_update_assessment",
]

RECORD_TYPE = "assessment"
TEXT_MAX = 10_000
NOTE_MAX = 300
MAX_ROWS = {"posture": 40, "rom": 80, "tone": 60, "special_tests": 40}
TEXT_FIELDS = ("palpation", "functional_limitations", "clinical_impression")
ROW_FIELDS = ("posture", "rom", "tone", "special_tests")
FIELDS = ("kind", "assessed_on", *ROW_FIELDS, "body_marks", *TEXT_FIELDS)

LEFT, RIGHT, BOTH = "left", "right", "both"
SIDE_LABELS = {LEFT: "Left", RIGHT: "Right", BOTH: "Both sides", "": ""}
POSITIVE, NEGATIVE = "positive", "negative"
RESULTS = {POSITIVE: "Positive", NEGATIVE: "Negative"}

# The most a movement can plausibly reach: its normal maximum plus a quarter (at least 30°)
# for a hypermobile joint; beyond that the number is a typing slip, not a finding.
PLAUSIBLE_MARGIN_MIN = 30
DEGREES_MAX = 360


# The knowledge base, as the assessment needs it --------------------------------------------


def posture_options() -> dict:
    return {f.key: f for f in knowledge.posture_findings()}


def movement_options() -> dict:
    """(joint, movement) -> knowledge.RomMovement."""
    return {(m.joint, m.movement): m for m in knowledge.rom_movements()}


def tone_options() -> dict:
    return {f.key: f for f in knowledge.tone_findings()}


def test_options() -> dict:
    return {t.key: t for t in knowledge.special_tests()}


def plausible_max(movement) -> int:
    return min(DEGREES_MAX, movement.normal_max + max(PLAUSIBLE_MARGIN_MIN, movement.normal_max // 4))


def below_normal(movement, degrees: int) -> bool:
    """Whether ``degrees`` falls short of the normal range. The knowledge base gives each
    movement's normal full range as normal_min..normal_max degrees (e.g. 70–90 for
    cervical rotation): a reading under normal_min is limited."""
    return degrees < movement.normal_min


def normal_range(movement) -> str:
    if movement.normal_min == movement.normal_max:
        return f"{movement.normal_max}°"
    return f"{movement.normal_min}–{movement.normal_max}°"


# Reading --------------------------------------------------------------------------------------


def _assessments():
    return Assessment.objects.select_related("episode__patient", "episode__therapist", "author")


def access_assessment(user, assessment_id, *, key: str = "clinical.view", audit_it: bool = True) -> Assessment:
    """The assessment ``assessment_id`` (its public id) with its episode, patient and
    author, if ``user`` may use it under ``key``. One query plus the audit insert. A
    refusal is audited before anything is looked up, so it tells nothing."""
    assessment_id = as_uuid(assessment_id, "assessment")
    authorize(user, key, record_id=assessment_id)
    assessment = _assessments().filter(public_id=assessment_id).first()
    if assessment is None:
        raise Http404("No such assessment.")
    if audit_it:
        allowed(user, key, patient_id=assessment.episode.patient.public_id, record_id=assessment_id)
    return assessment


def access_episode_assessments(user, episode_id) -> tuple[Episode, list[Assessment]]:
    """The episode and its assessments, newest first: two queries plus the audit insert."""
    episode = access_episode(user, episode_id)
    found = list(Assessment.objects.filter(episode=episode).select_related("author").order_by("-assessed_on", "-id"))
    for assessment in found:
        assessment.episode = episode  # already fetched: no query per row
    return episode, found


def previous_assessment(assessment: Assessment) -> Assessment | None:
    """The latest signed assessment of the same episode before this one (to compare a
    re-assessment with), or None. One query."""
    earlier = Assessment.objects.filter(episode_id=assessment.episode_id, status=RecordStatus.SIGNED).exclude(
        pk=assessment.pk
    )
    if assessment.pk is not None:
        earlier = earlier.filter(assessed_on__lte=assessment.assessed_on)
    return earlier.order_by("-assessed_on", "-signed_at", "-id").first()


def latest_assessment(episode: Episode) -> Assessment | None:
    """The latest signed assessment of ``episode``; a re-assessment starts from its rows."""
    return (
        Assessment.objects.filter(episode=episode, status=RecordStatus.SIGNED)
        .order_by("-assessed_on", "-signed_at", "-id")
        .first()
    )


# What a page, a note or a PDF shows -----------------------------------------------------------


@dataclass(frozen=True)
class RomRow:
    label: str
    side: str
    degrees: int
    pain: bool
    normal: str  # "70–90°", or "" when the movement is no longer in the knowledge base
    below_normal: bool
    previous: int | None  # the same movement and side at the previous assessment


def rom_rows(rows: list[dict], previous: list[dict] | None = None) -> list[RomRow]:
    options = movement_options()
    before = {(r.get("joint"), r.get("movement"), r.get("side", "")): r.get("degrees") for r in previous or []}
    shown = []
    for row in rows:
        movement = options.get((row.get("joint"), row.get("movement")))
        degrees = row.get("degrees", 0)
        shown.append(
            RomRow(
                label=movement.label if movement else f"{row.get('joint')} {row.get('movement')}",
                side=SIDE_LABELS.get(row.get("side", ""), ""),
                degrees=degrees,
                pain=bool(row.get("pain")),
                normal=normal_range(movement) if movement else "",
                below_normal=bool(movement) and below_normal(movement, degrees),
                previous=before.get((row.get("joint"), row.get("movement"), row.get("side", ""))),
            )
        )
    return shown


def finding_rows(rows: list[dict], field: str) -> list[dict]:
    """Posture, tone or special-test rows with their labels, for reading. A key the
    knowledge base no longer has shows as itself (old records stay readable)."""
    if field == "posture":
        options = posture_options()
        return [
            {**r, "label": _label(options, r.get("finding", "")), "side_label": SIDE_LABELS.get(r.get("side", ""), "")}
            for r in rows
        ]
    if field == "tone":
        options = tone_options()
        return [
            {
                **r,
                "region_label": _region_label(r.get("region", "")),
                "label": _label(options, r.get("finding", "")),
                "side_label": SIDE_LABELS.get(r.get("side", ""), ""),
            }
            for r in rows
        ]
    options = test_options()
    return [
        {
            **r,
            "label": _label(options, r.get("test", "")),
            "side_label": SIDE_LABELS.get(r.get("side", ""), ""),
            "result_label": RESULTS.get(r.get("result", ""), ""),
        }
        for r in rows
    ]


def _label(options: dict, key: str) -> str:
    found = options.get(key)
    return found.label if found is not None else str(key)


def _region_label(key: str) -> str:
    try:
        return str(BodyRegion(key).label)
    except ValueError:
        return key


# Validation (pure: the knowledge base, no database) -----------------------------------------


def _text(value, field: str, errors: dict, limit: int = TEXT_MAX) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[field] = "Give this as text."
        return ""
    text = value.strip()
    if "\x00" in text:
        errors[field] = "Remove the NUL character: text may not contain it."
    elif len(text) > limit:
        errors[field] = f"Keep this under {limit:,} characters."
    return text


def _rows(value, field: str, errors: dict, what: str) -> list:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple):
        errors[field] = f"Give {what} as a list."
        return []
    if len(value) > MAX_ROWS[field]:
        errors[field] = f"Record at most {MAX_ROWS[field]} {what}."
        return []
    if not all(isinstance(row, dict) for row in value):
        errors[field] = f"Each of the {what} is a set of fields."
        return []
    return list(value)


def _unknown_fields(row: dict, allowed_fields: set, number: int, what: str) -> str | None:
    extra = set(row) - allowed_fields
    if extra:
        return f"{what} {number} has unknown field(s): {', '.join(sorted(map(str, extra)))}."
    return None


def _side(value, sided: bool, name: str, *, both_ok: bool) -> tuple[str, str | None]:
    """(clean side, problem). A sided finding needs left or right (or both, where that
    makes sense); an unsided one takes no side."""
    side = (value or "").strip() if isinstance(value, str) else value
    allowed_sides = (LEFT, RIGHT, BOTH) if both_ok else (LEFT, RIGHT)
    if sided:
        if side not in allowed_sides:
            words = "left, right or both" if both_ok else "left or right"
            return "", f"{name}: say which side ({words})."
        return side, None
    if side:
        return "", f"{name} has no side; leave the side empty."
    return "", None


def _note(row: dict, name: str, problems: list) -> str:
    note = row.get("note", "")
    if note is None:
        return ""
    if not isinstance(note, str) or "\x00" in note:
        problems.append(f"{name}: give the note as plain text.")
        return ""
    note = note.strip()
    if len(note) > NOTE_MAX:
        problems.append(f"{name}: keep the note under {NOTE_MAX} characters.")
    return note


def clean_posture(value, errors: dict) -> list[dict]:
    rows = _rows(value, "posture", errors, "posture findings")
    options = posture_options()
    clean, problems, seen = [], [], set()
    for n, row in enumerate(rows, start=1):
        if problem := _unknown_fields(row, {"finding", "side", "note"}, n, "Posture finding"):
            problems.append(problem)
            continue
        finding = options.get(row.get("finding"))
        if finding is None:
            problems.append(f"Posture finding {n}: choose a finding from the list.")
            continue
        side, problem = _side(row.get("side"), finding.sided, finding.label, both_ok=True)
        if problem:
            problems.append(problem)
            continue
        if (finding.key, side) in seen:
            problems.append(f"{finding.label} is listed twice{' for the ' + side + ' side' if side else ''}.")
            continue
        seen.add((finding.key, side))
        clean.append({"finding": finding.key, "side": side, "note": _note(row, finding.label, problems)})
    if problems:
        errors["posture"] = " ".join(problems[:5])
    return clean


def _whole_number(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) <= 6:
        return int(value.strip())
    return None


def clean_rom(value, errors: dict) -> list[dict]:
    rows = _rows(value, "rom", errors, "range-of-motion readings")
    options = movement_options()
    clean, problems, seen = [], [], set()
    for n, row in enumerate(rows, start=1):
        if problem := _unknown_fields(row, {"joint", "movement", "side", "degrees", "pain"}, n, "Range of motion"):
            problems.append(problem)
            continue
        movement = options.get((row.get("joint"), row.get("movement")))
        if movement is None:
            problems.append(f"Range of motion {n}: choose a joint and movement from the list.")
            continue
        side, problem = _side(row.get("side"), movement.sided, movement.label, both_ok=False)
        if problem:
            problems.append(problem)
            continue
        degrees = _whole_number(row.get("degrees"))
        if degrees is None or not 0 <= degrees <= DEGREES_MAX:
            problems.append(f"{movement.label}: give the degrees as a whole number from 0 to {DEGREES_MAX}.")
            continue
        if degrees > plausible_max(movement):
            problems.append(
                f"{movement.label} of {degrees}° is beyond what the joint can do "
                f"(normal {normal_range(movement)}); check the number."
            )
            continue
        if (movement.key, side) in seen:
            problems.append(f"{movement.label}{' (' + side + ')' if side else ''} is measured twice; keep one.")
            continue
        seen.add((movement.key, side))
        pain = row.get("pain", False)
        if not isinstance(pain, bool):
            problems.append(f"{movement.label}: say yes or no for pain on movement.")
            continue
        clean.append(
            {"joint": movement.joint, "movement": movement.movement, "side": side, "degrees": degrees, "pain": pain}
        )
    if problems:
        errors["rom"] = " ".join(problems[:5])
    return clean


def clean_tone(value, errors: dict) -> list[dict]:
    rows = _rows(value, "tone", errors, "tone and palpation findings")
    options = tone_options()
    clean, problems, seen = [], [], set()
    for n, row in enumerate(rows, start=1):
        if problem := _unknown_fields(row, {"region", "finding", "side", "note"}, n, "Tone finding"):
            problems.append(problem)
            continue
        region = row.get("region")
        if region not in BodyRegion.values:
            problems.append(f"Tone finding {n}: choose the region from the list.")
            continue
        finding = options.get(row.get("finding"))
        if finding is None:
            problems.append(f"Tone finding {n} ({_region_label(region).lower()}): choose a finding from the list.")
            continue
        name = f"{_region_label(region)}, {finding.label.lower()}"
        side = row.get("side") or ""
        # Most regions carry their side in the key (shoulder_l); the side is for the others.
        if side not in ("", LEFT, RIGHT, BOTH):
            problems.append(f"{name}: the side is left, right, both or empty.")
            continue
        note = _note(row, name, problems)
        if (region, finding.key, side, note.lower()) in seen:
            problems.append(f"{name} is listed twice.")
            continue
        seen.add((region, finding.key, side, note.lower()))
        clean.append({"region": region, "finding": finding.key, "side": side, "note": note})
    if problems:
        errors["tone"] = " ".join(problems[:5])
    return clean


def clean_special_tests(value, errors: dict) -> list[dict]:
    rows = _rows(value, "special_tests", errors, "special tests")
    options = test_options()
    clean, problems, seen = [], [], set()
    for n, row in enumerate(rows, start=1):
        if problem := _unknown_fields(row, {"test", "side", "result", "note"}, n, "Special test"):
            problems.append(problem)
            continue
        test = options.get(row.get("test"))
        if test is None:
            problems.append(f"Special test {n}: choose a test from the list.")
            continue
        side, problem = _side(row.get("side"), test.sided, test.label, both_ok=True)
        if problem:
            problems.append(problem)
            continue
        result = row.get("result")
        if result not in RESULTS:
            problems.append(f"{test.label}: say whether it was positive or negative.")
            continue
        if (test.key, side) in seen:
            problems.append(f"{test.label}{' (' + side + ')' if side else ''} is listed twice.")
            continue
        seen.add((test.key, side))
        clean.append({"test": test.key, "side": side, "result": result, "note": _note(row, test.label, problems)})
    if problems:
        errors["special_tests"] = " ".join(problems[:5])
    return clean


def _assessed_on(value, errors: dict, episode: Episode, today: datetime.date):
    """The assessment's date: today when not given, never in the future nor before the
    episode opened."""
    value = parse_date(value, "assessed_on", errors, default=today)
    if "assessed_on" in errors:
        return None
    if value > today:
        errors["assessed_on"] = "An assessment can’t be dated in the future."
    elif value < episode.opened_on:
        errors["assessed_on"] = (
            f"The episode opened on {episode.opened_on:%Y-%m-%d}; date the assessment on or after it."
        )
    return value


def clean_assessment(data: dict, episode: Episode, *, partial: bool, today: datetime.date | None = None) -> dict:
    """Validate and normalise an assessment's fields (only those given when ``partial``).
    Raises ValidationError naming each field at fault."""
    reject_unknown(data, FIELDS)
    today = today or timezone.localdate()
    errors: dict[str, str] = {}
    clean: dict = {}
    if "kind" in data or not partial:
        kind = data.get("kind") or AssessmentKind.INITIAL
        if kind not in AssessmentKind.values:
            errors["kind"] = "Choose initial assessment or re-assessment."
        clean["kind"] = kind
    if "assessed_on" in data or not partial:
        clean["assessed_on"] = _assessed_on(data.get("assessed_on") or today, errors, episode, today)
    cleaners = {
        "posture": clean_posture,
        "rom": clean_rom,
        "tone": clean_tone,
        "special_tests": clean_special_tests,
    }
    for field, cleaner in cleaners.items():
        if field in data or not partial:
            clean[field] = cleaner(data.get(field), errors)
    if "body_marks" in data or not partial:
        try:
            clean["body_marks"] = clean_body_marks(data.get("body_marks"))
        except ValidationError as exc:
            errors["body_marks"] = " ".join(exc.messages)
    for field in TEXT_FIELDS:
        if field in data or not partial:
            clean[field] = _text(data.get(field), field, errors)
    if errors:
        raise ValidationError(errors)
    return clean


# Writing ---------------------------------------------------------------------------------------


def _check_kind(episode: Episode, kind: str, exclude: Assessment | None = None) -> None:
    """One initial assessment per episode; every later one is a re-assessment."""
    if kind != AssessmentKind.INITIAL:
        return
    others = Assessment.objects.filter(episode=episode, kind=AssessmentKind.INITIAL)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise ValidationError({"kind": "This episode already has an initial assessment; record a re-assessment."})


def check_create_assessment(actor, episode: Episode, data: dict) -> dict:
    """Validate a new assessment of ``episode`` (already accessed) and authorize it."""
    authorize(actor, "clinical.write", patient_id=episode.patient.public_id, record_id=episode.public_id)
    if episode.status != EpisodeStatus.OPEN:
        raise ValidationError("This episode of care was discharged; open a new episode to assess the patient again.")
    clean = clean_assessment(data, episode, partial=False)
    _check_kind(episode, clean["kind"])
    return clean


def do_create_assessment(actor, episode: Episode, clean: dict) -> Assessment:
    """Save a draft assessment from check_create_assessment()'s output."""
    with transaction.atomic():
        assessment = Assessment.objects.create(episode=episode, author=actor, status=RecordStatus.DRAFT, **clean)
        audit.record(
            actor,
            AuditAction.CREATE,
            RECORD_TYPE,
            record_id=assessment.public_id,
            patient_id=episode.patient.public_id,
            detail=f"{assessment.kind} assessment, draft",
        )
    return assessment


def _check_draft_of(actor, assessment: Assessment, verb: str) -> None:
    """A signed assessment is locked; a draft is its author's alone (refusal audited)."""
    patient_id = assessment.episode.patient.public_id
    if assessment.status == RecordStatus.SIGNED:
        signed = timezone.localtime(assessment.signed_at).strftime("%Y-%m-%d") if assessment.signed_at else ""
        raise ValidationError(
            f"This assessment was signed{' on ' + signed if signed else ''} and is locked; "
            "record what has changed in a re-assessment."
        )
    if assessment.author_id != actor.pk:
        audit.record(
            actor,
            AuditAction.UPDATE,
            RECORD_TYPE,
            record_id=assessment.public_id,
            patient_id=patient_id,
            outcome=AuditOutcome.DENIED,
            detail=f"{verb}: not the author of the draft",
        )
        raise PermissionDenied(
            f"Only {assessment.author.display_name}, who started this draft, can {verb} it until it is signed."
        )


def check_update_assessment(actor, assessment: Assessment, data: dict) -> dict:
    """Validate a change to a draft (only the fields given) and authorize it."""
    authorize(actor, "clinical.write", patient_id=assessment.episode.patient.public_id, record_id=assessment.public_id)
    _check_draft_of(actor, assessment, "change")
    clean = clean_assessment(data, assessment.episode, partial=True)
    if "kind" in clean:
        _check_kind(assessment.episode, clean["kind"], exclude=assessment)
    return clean


def _locked_draft(actor, assessment: Assessment, verb: str) -> Assessment:
    """Lock the row and check again: it may have been signed since it was read."""
    fresh = Assessment.objects.select_for_update().get(pk=assessment.pk)
    fresh.episode = assessment.episode
    fresh.author = assessment.author
    _check_draft_of(actor, fresh, verb)
    return fresh


def do_update_assessment(actor, assessment: Assessment, clean: dict) -> Assessment:
    with transaction.atomic():
        fresh = _locked_draft(actor, assessment, "change")
        changed = sorted(name for name, value in clean.items() if getattr(fresh, name) != value)
        for name, value in clean.items():
            setattr(fresh, name, value)
        fresh.save()
        # Field names only: the values are clinical data and stay out of the audit trail.
        audit.record(
            actor,
            AuditAction.UPDATE,
            RECORD_TYPE,
            record_id=fresh.public_id,
            patient_id=fresh.episode.patient.public_id,
            detail=("changed: " + ", ".join(changed))[:200] if changed else "no change",
        )
    return fresh


def check_sign_assessment(actor, assessment: Assessment) -> None:
    """The author signs their own draft once it states a clinical impression."""
    authorize(actor, "clinical.write", patient_id=assessment.episode.patient.public_id, record_id=assessment.public_id)
    _check_draft_of(actor, assessment, "sign")
    if not assessment.clinical_impression.strip():
        raise ValidationError(
            {"clinical_impression": "Write the clinical impression before signing: it is what the plan builds on."}
        )


def do_sign_assessment(actor, assessment: Assessment) -> Assessment:
    with transaction.atomic():
        fresh = _locked_draft(actor, assessment, "sign")
        fresh.status = RecordStatus.SIGNED
        fresh.signed_at = timezone.now()
        fresh.save(update_fields=["status", "signed_at", "updated_at"])
        audit.record(
            actor,
            AuditAction.UPDATE,
            RECORD_TYPE,
            record_id=fresh.public_id,
            patient_id=fresh.episode.patient.public_id,
            detail="signed",
        )
    return fresh
