"""The rules of an assessment's content (pure: the knowledge base, no database): which
posture, range-of-motion, tone and special-test keys exist (clinical/knowledge/
assessment.yaml), what a plausible reading is, and the validation of every field.

clinical/assessments.py reads and writes assessments with these.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from effleura.clinical import knowledge
from effleura.clinical.bodychart import clean_body_marks
from effleura.clinical.choices import AssessmentKind
from effleura.clinical.models import Episode
from effleura.core.values import reject_unknown
from effleura.patients.choices import BodyRegion

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


def region_label(key: str) -> str:
    """The body region's label; the key itself when it is unknown (old data)."""
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
    value = float(value) if isinstance(value, Decimal) else value  # a JSON number from the API
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
            problems.append(f"Tone finding {n} ({region_label(region).lower()}): choose a finding from the list.")
            continue
        name = f"{region_label(region)}, {finding.label.lower()}"
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


def _date(value, errors: dict, episode: Episode, today: datetime.date):
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value.strip())
        except ValueError:
            errors["assessed_on"] = "Enter the date of the assessment, e.g. 2025-03-14."
            return None
    if not isinstance(value, datetime.date):
        errors["assessed_on"] = "Enter the date of the assessment, e.g. 2025-03-14."
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
        clean["assessed_on"] = _date(data.get("assessed_on") or today, errors, episode, today)
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
