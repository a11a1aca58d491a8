"""How an episode's pain and range of motion moved: its baseline, its latest reading and
the change, for progress reports and discharge summaries (referrals/reports.py).

Only signed data counts, as everywhere a record leaves the practice:

* pain: the 0-10 rating (NPRS) of each signed session note (``pain_now``) and each NPRS
  outcome measure not taken at a draft note. The baseline is the episode's first reading,
  the latest is the last one up to the report's end; the change and its MCID follow
  clinical/scoring.py (2 points or 30 % of the baseline). Two readings on one day: the
  measure wins over the note, as it is the questionnaire the patient answered.
* range of motion: each joint, movement and side of the episode's signed assessments up
  to the end, first against last, beside the movement's normal range from the knowledge
  base (clinical/knowledge/assessment.yaml).

The values are plain JSON (a report freezes them); ``*_text`` fields are the values as a
person reads them (clinical/scoring.py ``format_value``: "7", not "7.0").
"""

import datetime
from dataclasses import dataclass

from effleura.clinical import scoring
from effleura.clinical.assessment_rules import SIDE_LABELS, below_normal, movement_options, normal_range
from effleura.clinical.choices import RecordStatus
from effleura.clinical.measures import signed_only
from effleura.clinical.models import Assessment, Episode, OutcomeMeasurement, SessionNote
from effleura.clinical.plans import slug

NPRS = "nprs"


@dataclass(frozen=True)
class PainReading:
    on: datetime.date
    value: float
    source: str  # "measure" | "note"


def pain_readings(episode: Episode, end: datetime.date) -> list[PainReading]:
    """The episode's signed pain ratings up to ``end``, oldest first, one a day."""
    notes = SessionNote.objects.filter(
        episode=episode, status=RecordStatus.SIGNED, session_date__lte=end, pain_now__isnull=False
    ).values_list("session_date", "pain_now")
    taken = signed_only(OutcomeMeasurement.objects.filter(episode=episode, measure=NPRS, taken_on__lte=end))
    by_day: dict[datetime.date, PainReading] = {}
    for on, value in notes.order_by("session_date", "created_at", "id"):
        by_day[on] = PainReading(on, float(value), "note")
    for on, value in taken.order_by("taken_on", "created_at", "id").values_list("taken_on", "score"):
        by_day[on] = PainReading(on, float(value), "measure")
    return [by_day[on] for on in sorted(by_day)]


def pain_course(readings: list[PainReading]) -> dict | None:
    """Baseline, latest and change of the pain ratings (oldest first); None without any. Pure."""
    if not readings:
        return None
    first, last = readings[0], readings[-1]
    course = {
        "measure": NPRS,
        "label": scoring.SPECS[NPRS].name,
        "unit": scoring.SPECS[NPRS].unit,
        "count": len(readings),
        "baseline": first.value,
        "baseline_on": first.on.isoformat(),
        "latest": last.value,
        "latest_on": last.on.isoformat(),
        "change": None,
        "direction": "",
        "mcid_reached": False,
        "mcid": "",
    }
    if len(readings) > 1:
        moved = scoring.change(NPRS, first.value, last.value)
        course.update(change=moved.delta, direction=moved.direction, mcid_reached=moved.reaches_mcid, mcid=moved.mcid)
    return with_texts(course, NPRS)


def rom_course(episode: Episode, end: datetime.date) -> list[dict]:
    """Each movement and side of the episode's signed assessments up to ``end``."""
    assessments = Assessment.objects.filter(episode=episode, status=RecordStatus.SIGNED, assessed_on__lte=end).order_by(
        "assessed_on", "created_at", "id"
    )
    return rom_rows([(a.assessed_on, a.rom) for a in assessments])


def rom_rows(assessments: list[tuple[datetime.date, list[dict]]]) -> list[dict]:
    """First against last reading of each (joint, movement, side), in the order first
    measured. ``assessments``: (date, rom rows) oldest first. Pure but for the knowledge base."""
    options = movement_options()
    seen: dict[tuple, list[tuple[datetime.date, dict]]] = {}
    for on, rows in assessments:
        for row in rows or []:
            if not isinstance(row.get("degrees"), int | float) or isinstance(row.get("degrees"), bool):
                continue
            key = (row.get("joint"), row.get("movement"), row.get("side") or "")
            seen.setdefault(key, []).append((on, row))
    shown = []
    for (joint, movement_key, side), readings in seen.items():
        movement = options.get((joint, movement_key))
        (first_on, first), (last_on, last) = readings[0], readings[-1]
        measure = f"rom:{slug(str(joint))}:{slug(str(movement_key))}" + (f":{side}" if side else "")
        row = {
            "measure": measure,
            "label": movement.label if movement else f"{joint} {movement_key}".replace("_", " "),
            "side": SIDE_LABELS.get(side, side),
            "normal": normal_range(movement) if movement else "",
            "count": len(readings),
            "baseline": first["degrees"],
            "baseline_on": first_on.isoformat(),
            "latest": last["degrees"],
            "latest_on": last_on.isoformat(),
            "change": last["degrees"] - first["degrees"] if len(readings) > 1 else None,
            "below_normal": bool(movement) and below_normal(movement, last["degrees"]),
            "pain": bool(last.get("pain")),
        }
        shown.append(with_texts(row, measure))
    return shown


def with_texts(row: dict, measure: str) -> dict:
    """``row`` with baseline_text, latest_text and change_text added."""
    return {
        **row,
        "baseline_text": scoring.format_value(measure, row.get("baseline")),
        "latest_text": scoring.format_value(measure, row.get("latest")),
        "change_text": scoring.format_value(measure, row.get("change"), signed=True),
    }
