"""The clinical demo's stories and the pure arithmetic that tells them.

A story (who, what was found, what was done, the note text, how the scores move) is data:
demo/clinical.yaml, read once into the Story records below when this module loads. The
building blocks spread a story over its visits: the minutes of a note's technique rows,
the days of the visits, a score eased from baseline towards the target and the
questionnaire answers that reach it. demo/clinical.py loads the stories through the
actions.
"""

import datetime
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from effleura.clinical import assessment_rules, plans, scoring
from effleura.demo.scheduling import TZ
from effleura.patients.choices import PatientStatus

STEADY, PLATEAU = "steady", "plateau"  # how a story's scores move


# The stories -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """An outcome measure of a story: where it starts, where the episode stands at its last
    measurement, and the plan's target. PSFS: one rating per activity in ``labels``."""

    key: str
    baseline: float | tuple
    current: float | tuple
    target: float
    labels: tuple = ()


@dataclass(frozen=True)
class Rom:
    """The range of motion the plan's goal measures (knowledge-base joint and movement)."""

    joint: str
    movement: str
    side: str
    baseline: int
    current: int
    target: int


@dataclass(frozen=True)
class Row:
    """A technique row of the story's notes; ``weight`` shares out the session's minutes;
    ``late`` is the pressure once the tissue tolerates more; ``override`` the reason to
    chart it where screening asks for one."""

    technique: str
    weight: int
    regions: tuple
    pressure: str
    position: str
    late: str = ""
    notes: str = ""
    override: str = ""


@dataclass(frozen=True)
class Story:
    key: str
    scenario: str  # the demo/scenarios.py scenario of the patient it happens to
    stage: str
    title: str
    status: str = PatientStatus.ACTIVE  # the patient's status
    same_patient_as: str = ""  # another story's key: a second episode of that patient
    weeks_ago: int = 0  # mid-course and discharged: opened this many weeks before today
    course_weeks: int = 0  # discharged: weeks from opening to discharge
    notes: int = 0
    measurements: int = 4
    curve: str = STEADY
    codes: tuple = ()
    techniques: tuple = ()
    modalities: tuple = ()
    pressure: tuple = ("light", "moderate")
    per_week: int = 1
    plan_weeks: int = 6
    minutes: int = 60
    measures: tuple = ()
    rom: Rom | None = None
    judged_goal: str = ""
    posture: tuple = ()
    rom_rows: tuple = ()  # other readings of the initial assessment: (joint, movement, side, degrees)
    tone: tuple = ()
    tests: tuple = ()
    marks: tuple = ()  # the initial body chart: (region, symbol, intensity)
    palpation: str = ""
    limitations: str = ""
    impression: str = ""
    rows: tuple = ()
    subjective: tuple = ("", "", "")  # early, middle, late in the course
    objective: tuple = ("", "", "")
    assessment: tuple = ("", "", "")
    plan_text: tuple = ("", "", "")
    home_care: tuple = ()  # (library key, dosage or "", notes[, reason to give it despite a check])
    home_care_intro: str = ""
    home_care_summary: str = ""
    addendum: str = ""
    discharge: tuple = ()  # (reason, summary)
    goal_status: dict = field(default_factory=dict)  # discharged: measure key ("" = judged) -> status


# The stories, read from clinical.yaml -----------------------------------------------------------

STORIES_FILE = Path(__file__).with_name("clinical.yaml")
# What a finding of the initial assessment holds when the file leaves it out.
_FINDING_DEFAULTS = {
    "posture": {"side": "", "note": ""},
    "tone": {"side": "", "note": ""},
    "tests": {"note": ""},
}
_LISTS_OF_LISTS = ("rom_rows", "marks", "home_care")


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _story(entry: dict) -> Story:
    data = dict(entry)
    for name, defaults in _FINDING_DEFAULTS.items():
        data[name] = tuple(defaults | finding for finding in data.get(name, ()))
    data["measures"] = tuple(Measure(**{k: _tuples(v) for k, v in m.items()}) for m in data.get("measures", ()))
    if data.get("rom"):
        data["rom"] = Rom(**data["rom"])
    data["rows"] = tuple(Row(**{k: _tuples(v) for k, v in row.items()}) for row in data.get("rows", ()))
    for name, value in data.items():
        if isinstance(value, list):
            data[name] = _tuples(value)
    return Story(**data)


def load_stories(path: Path = STORIES_FILE) -> tuple[Story, ...]:
    """The stories of clinical.yaml, in the file's order."""
    with open(path, encoding="utf-8") as fh:
        return tuple(_story(entry) for entry in yaml.safe_load(fh)["stories"])


STORIES = load_stories()


def load_note_templates(path: Path = STORIES_FILE) -> list[dict]:
    """The note templates of clinical.yaml: one or more for each service of the demo."""
    with open(path, encoding="utf-8") as fh:
        return list(yaml.safe_load(fh).get("note_templates") or [])


NOTE_TEMPLATES = load_note_templates()


# Building blocks (pure) -------------------------------------------------------------------------


def allocate(total: int, weights, low: int, high: int) -> list[int]:
    """Whole numbers from ``low`` to ``high``, one per weight, summing to ``total`` and
    shared out as the weights say (the most behind gets the next unit)."""
    n = len(weights)
    values = [low] * n
    remaining = total - low * n
    if not 0 <= remaining <= (high - low) * n:
        raise ValueError(f"{total} cannot be shared over {n} items from {low} to {high}")
    whole = sum(weights)
    for _ in range(remaining):
        open_items = [i for i in range(n) if values[i] < high]
        i = max(open_items, key=lambda i: (weights[i] / whole * (remaining + low * n)) - values[i])
        values[i] += 1
    return values


def answers_for(measure: str, value, weights) -> list[int]:
    """Questionnaire answers that score (about) ``value`` (PSFS: a rating per activity)."""
    spec = scoring.SPECS[measure]
    if measure == "nprs":
        return [round(value)]
    if measure == "psfs":
        return [round(v) for v in value]
    if measure in ("odi", "ndi"):
        return allocate(round(value / 2), weights, 0, 5)
    if measure == "quickdash":
        total = min(55, max(11, round(11 * (value / 25 + 1))))
        return allocate(total, weights, 1, 5)
    if measure == "lefs":
        return allocate(round(value), weights, 0, 4)
    raise ValueError(f"no answers for {spec.key}")


def eased(fraction: float, curve: str) -> float:
    """How far along the way from baseline to current a visit is: quick gains early, then
    slower (steady) or none at all after the middle (plateau)."""
    if curve == PLATEAU:
        return min(1.0, fraction / 0.55) ** 0.8
    return 1 - (1 - fraction) ** 1.6


def between(start, end, share: float):
    if isinstance(start, tuple):
        return tuple(between(s, e, share) for s, e in zip(start, end, strict=True))
    return start + (end - start) * share


def note_minutes(rows: tuple, total: int) -> list[tuple[Row, int]]:
    """Share ``total`` minutes over the rows by weight; rows that would get under 3
    minutes are left out (a short bedside visit does less)."""
    chosen = list(rows)
    while len(chosen) > 1:
        whole = sum(r.weight for r in chosen)
        smallest = min(chosen, key=lambda r: r.weight)
        if total * smallest.weight / whole >= 3:
            break
        chosen.remove(smallest)
    minutes = allocate(total, [r.weight for r in chosen], 1, 240)
    return list(zip(chosen, minutes, strict=True))


def spread_days(first: datetime.date, last: datetime.date, count: int, busy: set) -> list[datetime.date]:
    """``count`` visit days from ``first`` on, evenly spaced up to about ``last`` (the visits
    that follow keep the rhythm), never a Sunday nor a day in ``busy`` (the patient's
    appointments); ``first`` (or the nearest free day) is the first of them. Fewer when the
    calendar is too full."""
    span = (last - first).days
    days: list[datetime.date] = []
    for n in range(count):
        wanted = first + datetime.timedelta(days=round(span * n / count))
        for shift in (0, 1, -1, 2, -2, 3, -3):
            day = wanted + datetime.timedelta(days=shift)
            if first <= day <= last and day not in days and day not in busy and day.weekday() != 6:
                days.append(day)
                break
    return sorted(days)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=TZ)


def rom_key(rom: Rom) -> str:
    movement = assessment_rules.movement_options()[(rom.joint, rom.movement)]
    return plans.rom_measure_key(movement, rom.side)


def rom_label(rom: Rom) -> str:
    movement = assessment_rules.movement_options()[(rom.joint, rom.movement)]
    return movement.label + (f" ({rom.side})" if rom.side else "")
