"""The pure rules of session notes: cleaning a note's fields and technique rows, what
screening asks of each row, and the total treatment minutes. No database: the callers
(clinical/notes.py) fetch the health history and the appointment.

Screening verdicts are clinical/screening.py's (the knowledge base's rules, with their
sources); this module only says what a verdict means for charting:

* contraindicated: the row needs a reason (an override, kept in the note and audited);
* local: the row needs a reason when it names a region the patient must avoid (the
  health history's areas to avoid, or an "avoid" mark on the note's body chart); the
  knowledge base names the site only in words ("the limb of the clot"), so otherwise
  the row gets a warning;
* caution: a warning with the rule's advice.
"""

import dataclasses
from decimal import Decimal

from django.core.exceptions import ValidationError

from effleura.clinical import bodychart, knowledge, screening
from effleura.clinical.choices import ClientPosition, Pressure
from effleura.clinical.models import NoteTemplate, TechniqueEntry
from effleura.core.values import clean_text, parse_date, reject_unknown
from effleura.patients.choices import BodyRegion, Condition
from effleura.patients.models import HealthHistory
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment

# A note may run this much past its appointment's booked length (setting up, a last
# stretch); beyond it the minutes are more likely a typing slip than treatment given.
OVERRUN_MINUTES = 15
# Without an appointment (bedside, unscheduled) nothing says how long the session was
# booked for; no session is longer than this.
UNSCHEDULED_MAX_MINUTES = 240
MIN_MINUTES, MAX_MINUTES = 1, 240
TEXT_MAX = 10_000
ROW_NOTES_MAX = TechniqueEntry._meta.get_field("notes").max_length
REASON_MAX = 300
TEMPLATE_NAME_MAX = NoteTemplate._meta.get_field("name").max_length
MAX_ROWS = 40

TEXT_FIELDS = ("subjective", "objective", "assessment", "plan", "home_care_given")
NOTE_FIELDS = frozenset({*TEXT_FIELDS, "pain_now", "body_marks", "session_date", "techniques"})
ROW_FIELDS = frozenset({"technique", "minutes", "regions", "pressure", "position", "notes", "override_reason"})
TEMPLATE_ROW_FIELDS = frozenset({"technique", "minutes", "regions", "pressure", "position"})


@dataclasses.dataclass
class Screening:
    """What the patient's current health history says for today's session."""

    history: HealthHistory | None
    conditions: list[str]
    flags: list
    # Body regions the history says to keep away from (areas to avoid).
    avoid_regions: list[str]


# Screening a technique row (pure) -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Requirement:
    """A reason the therapist must give to chart ``technique`` despite ``condition``."""

    condition: str
    technique: str
    verdict: str  # "contraindicated", or "local" when charted over an area to avoid
    message: str


@dataclasses.dataclass
class RowScreening:
    requirements: list[Requirement]
    warnings: list[str]
    verdict: str


def condition_label(key: str) -> str:
    found = knowledge.label(key)
    return dict(Condition.choices).get(key, key) if found == key else found


def technique_label(key: str) -> str:
    return knowledge.label(key)


def _flag_for(flags, condition: str, technique: str):
    """The flag of ``condition`` that concerns ``technique`` (its rule text), if any."""
    for flag in flags:
        if flag.condition == condition and (not flag.affects or technique in flag.affects):
            return flag
    return None


def _avoid_marks(body_marks) -> set[str]:
    return {m.get("region") for m in body_marks or [] if isinstance(m, dict) and m.get("symbol") == "avoid"}


def _sentences(*parts: str) -> str:
    return " ".join(part.strip() for part in parts if part and part.strip())


def row_screening(found: Screening, technique: str, regions, body_marks=()) -> RowScreening:
    """What screening says about one technique row, condition by condition (verdicts from
    clinical/screening.py, never decided here).

    * contraindicated: a reason is required (a Requirement).
    * local: a reason is required when the row names a region the patient must avoid (the
      health history's areas to avoid, or an "avoid" mark on this note's body chart); the
      knowledge base names the site only in words, so otherwise it is a warning.
    * caution: a warning with the rule's advice.
    """
    requirements, warnings = [], []
    worst = "ok"
    avoid = set(found.avoid_regions) | _avoid_marks(body_marks)
    named = technique_label(technique)
    for condition in found.conditions:
        try:
            verdict = screening.verdict([condition], technique)
        except ValueError:
            continue  # a condition the knowledge base does not know: nothing to say
        if screening.VERDICTS.index(verdict) > screening.VERDICTS.index(worst):
            worst = verdict
        if verdict == "ok":
            continue
        # Flags come most severe first: the first that concerns the technique gave the verdict.
        flag = _flag_for(found.flags, condition, technique)
        advice = flag.action if flag is not None else ""
        what = condition_label(condition)
        if verdict == "contraindicated":
            message = _sentences(
                f"{named} is contraindicated: {what}.",
                advice,
                "To chart it anyway, give the reason (it is kept in the note and the audit trail).",
            )
            requirements.append(Requirement(condition, technique, verdict, message))
        elif verdict == "local":
            over = sorted(avoid & set(regions or []))
            if over:
                places = ", ".join(dict(BodyRegion.choices).get(r, r) for r in over)
                message = _sentences(
                    f"{named} over {places}: {what} rules out local work there.",
                    advice,
                    "To chart it anyway, give the reason.",
                )
                requirements.append(Requirement(condition, technique, verdict, message))
            else:
                site = (flag.region if flag is not None else "") or "the affected area"
                warnings.append(_sentences(f"{what}: not over {site}.", advice))
        else:
            warnings.append(_sentences(f"{what} (precaution):", advice or f"adapt the {named.lower()}."))
    return RowScreening(requirements, warnings, worst)


# Cleaning input (pure) ------------------------------------------------------------------------


def _whole(value, field: str, errors: dict, low: int, high: int, what: str):
    value = float(value) if isinstance(value, Decimal) else value  # a JSON number from the API
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        errors[field] = f"Give {what} as a whole number."
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors[field] = f"Give {what} as a whole number."
        return None
    if isinstance(value, float) and value != number:
        errors[field] = f"Give {what} as a whole number."
        return None
    if not low <= number <= high:
        errors[field] = f"Give {what} from {low} to {high}."
        return None
    return number


def technique_keys() -> list[str]:
    return list(knowledge.technique_keys())


def clean_row(row, prefix: str, errors: dict, *, fields=ROW_FIELDS) -> dict | None:
    """One technique row: technique key, minutes 1–240, body regions, pressure, position,
    a short note and, when screening asks for one, the reason to chart it anyway."""
    if not isinstance(row, dict):
        errors[prefix] = "Each technique is a set of fields (technique, minutes, regions, …)."
        return None
    try:
        reject_unknown(row, fields)
    except ValidationError as exc:
        errors[prefix] = exc.messages[0]
        return None
    clean = {}
    technique = str(row.get("technique") or "").strip()
    if not technique:
        errors[f"{prefix}.technique"] = "Choose the technique, stroke or modality."
    elif technique not in technique_keys():
        errors[f"{prefix}.technique"] = "Choose a technique, stroke or modality from the list."
    clean["technique"] = technique
    minutes = _whole(row.get("minutes"), f"{prefix}.minutes", errors, MIN_MINUTES, MAX_MINUTES, "the minutes")
    if minutes is None and f"{prefix}.minutes" not in errors:
        errors[f"{prefix}.minutes"] = f"Give the minutes, from {MIN_MINUTES} to {MAX_MINUTES}."
    clean["minutes"] = minutes
    regions = row.get("regions") or []
    if not isinstance(regions, list | tuple):
        errors[f"{prefix}.regions"] = "Give the regions as a list."
        regions = []
    unknown_regions = [r for r in regions if r not in BodyRegion.values]
    if unknown_regions:
        errors[f"{prefix}.regions"] = "Choose body regions from the list."
    clean["regions"] = list(dict.fromkeys(r for r in regions if r in BodyRegion.values))
    pressure = str(row.get("pressure") or "")
    if pressure and pressure not in Pressure.values:
        errors[f"{prefix}.pressure"] = f"Choose one of: {', '.join(Pressure.labels)}."
    clean["pressure"] = pressure
    position = str(row.get("position") or "")
    if position and position not in ClientPosition.values:
        errors[f"{prefix}.position"] = f"Choose one of: {', '.join(ClientPosition.labels)}."
    clean["position"] = position
    if "notes" in fields:
        clean["notes"] = clean_text(row.get("notes"), f"{prefix}.notes", errors, limit=ROW_NOTES_MAX)
    # Absent (not empty) means "keep the reason the note already holds" (an API client
    # sending back the rows it read); the web form always sends the field.
    if "override_reason" in fields and "override_reason" in row:
        clean["override_reason"] = clean_text(
            row.get("override_reason"), f"{prefix}.override_reason", errors, limit=REASON_MAX, one_line=True
        )
    return clean


def clean_rows(rows, errors: dict, *, fields=ROW_FIELDS, field: str = "techniques") -> list[dict]:
    if rows in (None, ""):
        return []
    if not isinstance(rows, list | tuple):
        errors[field] = "Give the techniques as a list."
        return []
    if len(rows) > MAX_ROWS:
        errors[field] = f"A note lists at most {MAX_ROWS} techniques."
        return []
    cleaned = [clean_row(row, f"{field}.{i}", errors, fields=fields) for i, row in enumerate(rows)]
    return [row for row in cleaned if row is not None]


def _clean_marks(value, errors: dict) -> list:
    if value in (None, ""):
        return []
    try:
        return bodychart.clean_body_marks(value)
    except ValidationError as exc:
        errors["body_marks"] = " ".join(exc.messages)
        return []


def clean_note_fields(data: dict, errors: dict) -> dict:
    """The note's own fields present in ``data`` (partial: only what was sent)."""
    reject_unknown(data, NOTE_FIELDS)
    clean = {}
    for name in TEXT_FIELDS:
        if name in data:
            clean[name] = clean_text(data[name], name, errors, limit=TEXT_MAX)
    if "pain_now" in data:
        clean["pain_now"] = _whole(data["pain_now"], "pain_now", errors, 0, 10, "pain now")
    if "body_marks" in data:
        clean["body_marks"] = _clean_marks(data["body_marks"], errors)
    if "session_date" in data:
        day = parse_date(data["session_date"], "session_date", errors)
        if day is None:
            errors.setdefault("session_date", "Give the date of the session.")
        clean["session_date"] = day
    if "techniques" in data:
        clean["techniques"] = clean_rows(data["techniques"], errors)
    return clean


def minutes_allowed(appointment: Appointment | None) -> int:
    """The most treatment minutes a note may chart: the appointment's booked length (or,
    for an interrupted session, the minutes delivered) plus OVERRUN_MINUTES."""
    if appointment is None:
        return UNSCHEDULED_MAX_MINUTES
    booked = appointment.duration_minutes
    if appointment.status == AppointmentStatus.INTERRUPTED and appointment.minutes_delivered is not None:
        booked = appointment.minutes_delivered
    return booked + OVERRUN_MINUTES


def split_minutes(total: int, parts: int) -> list[int]:
    """``total`` minutes shared across ``parts`` rows as evenly as whole minutes allow, the
    first rows taking the minutes left over: 60 across 4 is 15 each, 50 across 3 is 17, 17,
    16. Every row gets at least one minute (so more rows than minutes add up to more)."""
    if parts <= 0:
        return []
    base, extra = divmod(max(total, 0), parts)
    return [max(base + (1 if k < extra else 0), MIN_MINUTES) for k in range(parts)]


def check_total(rows, appointment: Appointment | None, errors: dict) -> int:
    """Add up the rows' minutes and, beyond what ``appointment`` allows (minutes_allowed():
    booked or delivered minutes plus OVERRUN_MINUTES, a fixed limit without one), put a
    plain-words message under ``techniques`` in ``errors``. Raises nothing itself: the caller
    raises ValidationError(errors). Returns the total."""
    total = sum(row["minutes"] or 0 for row in rows)
    limit = minutes_allowed(appointment)
    if total > limit:
        if appointment is None:
            errors["techniques"] = (
                f"The techniques add up to {total} minutes; a session without an appointment "
                f"charts at most {limit}. Check the minutes."
            )
        else:
            booked = limit - OVERRUN_MINUTES
            what = "minutes delivered" if appointment.status == AppointmentStatus.INTERRUPTED else "minutes booked"
            errors["techniques"] = (
                f"The techniques add up to {total} minutes, more than the {booked} {what} plus "
                f"{OVERRUN_MINUTES} ({limit} at most). Check the minutes."
            )
    return total


def overrides_for(found: Screening, rows, body_marks, previous, actor, now, errors: dict) -> tuple[list, list]:
    """(the overrides the rows need, those among them that are new or changed).

    Each requirement needs the row's reason; a reason already on the note for the same
    condition and technique is kept with its author and time when unchanged."""
    kept = {(o["condition"], o["technique"]): o for o in previous or []}
    result: dict[tuple, dict] = {}
    fresh = []
    for i, row in enumerate(rows):
        if not row.get("technique") or f"techniques.{i}.technique" in errors:
            continue
        checked = row_screening(found, row["technique"], row.get("regions"), body_marks)
        for need in checked.requirements:
            key = (need.condition, need.technique)
            if key in result:
                continue
            reason = row.get("override_reason", "")
            if not reason:
                earlier = kept.get(key)
                if earlier is not None and "override_reason" not in row:
                    result[key] = earlier  # the row came back without the field (API partial)
                    continue
                errors[f"techniques.{i}.override_reason"] = need.message
                continue
            earlier = kept.get(key)
            if earlier is not None and earlier.get("reason") == reason:
                result[key] = earlier
                continue
            record = {
                "condition": need.condition,
                "technique": need.technique,
                "verdict": need.verdict,
                "reason": reason,
                "by": str(actor.public_id),
                "at": now.isoformat(),
            }
            result[key] = record
            fresh.append(record)
    return list(result.values()), fresh
