"""Outcome measures of an episode: recording one, and reading them back as progress.

Clients answer on the therapist's tablet (the portal later). The answers are stored as
given, ``None`` for an unanswered item, with the score clinical/scoring.py computes from
them; answers it cannot score (a wrong count, an answer out of range, too many missing
items) are refused with its message and nothing is saved.

check_record_measure() validates and authorizes; do_record_measure() writes inside a
transaction with its audit event. access_progress() (clinical/access.py) reads an
episode's measurements with their progress (progress() here): a series per measure (pain
joins NPRS with the session notes' "pain now"), the goals' targets, and the change from
first to last against the MCID.

Signed data only: a chart, a progress report, a discharge summary or an export counts a
measurement recorded on its own (no note) or taken at a signed note, and a note's "pain
now" once the note is signed (COUNTED, signed_only(), is_draft()). A measurement taken at
a draft note is listed, labelled as a draft, and never plotted nor counted.
"""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from effleura.clinical import knowledge, scoring
from effleura.clinical.choices import PlanStatus, RecordStatus
from effleura.clinical.episodes import require_open
from effleura.clinical.models import Episode, Goal, OutcomeMeasurement, SessionNote
from effleura.core import audit
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.values import parse_date, reject_unknown

RECORD_TYPE = "outcome_measurement"
LABEL_MAX = 80  # a PSFS activity in the client's words: "climbing stairs", "lifting my grandchild"
PAIN = "pain"  # the pain chart: NPRS plus the session notes' "pain now"


# The measurements that count: recorded on their own, or taken at a signed note.
COUNTED = Q(note__isnull=True) | Q(note__status=RecordStatus.SIGNED)


def signed_only(measurements):
    """``measurements`` (a queryset of OutcomeMeasurement) without those taken at a draft note."""
    return measurements.filter(COUNTED)


def is_draft(measurement: OutcomeMeasurement) -> bool:
    """Taken at a session note that is not signed yet (the note is loaded with it)."""
    return measurement.note_id is not None and measurement.note.status != RecordStatus.SIGNED


def measure_keys() -> tuple[str, ...]:
    return scoring.MEASURES


def measure_short(key: str) -> str:
    try:
        return knowledge.measure(key).short
    except KeyError:
        return key


def measure_name(key: str) -> str:
    try:
        return knowledge.measure(key).label
    except KeyError:
        return key


# Forms -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: int
    label: str  # the statement for this answer where the questionnaire has one, else ""


@dataclass(frozen=True)
class FormItem:
    """One question of a measure's form: a heading and its answers."""

    number: int  # 1-based
    heading: str
    choices: tuple[Choice, ...]


@dataclass(frozen=True)
class MeasureForm:
    """What the tablet form of a measure shows (headings from the knowledge base)."""

    key: str
    name: str
    instructions: str
    items: tuple[FormItem, ...]
    skip_allowed: bool  # whether an item may be left unanswered (the scorer decides how many)
    missing_rule: str  # the knowledge base's missing-item rule, in words
    answer_min: int
    answer_max: int
    min_items: int
    max_items: int
    higher_is_better: bool
    unit: str
    source: str = ""

    @property
    def is_psfs(self) -> bool:
        return self.key == "psfs"

    @property
    def scale(self) -> range:
        return range(self.answer_min, self.answer_max + 1)


# The scoring table's missing-item rules (PRODUCT.md): NPRS allows none, LEFS refuses any;
# ODI, NDI and QuickDASH tolerate some (the scorer refuses past its limit); a PSFS activity
# may be named and left unrated.
_SKIP_ALLOWED = {"nprs": False, "odi": True, "ndi": True, "quickdash": True, "lefs": False, "psfs": True}


def measure_form(key: str) -> MeasureForm:
    """The form of measure ``key`` from the knowledge base; Http404 for an unknown key."""
    try:
        entry = knowledge.measure(key)
    except KeyError:
        raise Http404("No such outcome measure.") from None
    items = []
    for number, item in enumerate(entry.items, start=1):
        # The anchors: what the lowest and the highest answer mean ("no pain" ... "worst").
        anchors = {entry.answer_min: item.low, entry.answer_max: item.high}
        choices = tuple(
            Choice(value, anchors.get(value, "")) for value in range(entry.answer_min, entry.answer_max + 1)
        )
        items.append(FormItem(number, item.heading, choices))
    return MeasureForm(
        key=key,
        name=entry.label,
        instructions=entry.instructions,
        items=tuple(items),
        skip_allowed=_SKIP_ALLOWED.get(key, False),
        missing_rule=entry.missing,
        answer_min=entry.answer_min,
        answer_max=entry.answer_max,
        min_items=entry.min_items,
        max_items=entry.max_items,
        higher_is_better=entry.direction == "higher_better",
        unit=entry.unit,
        source=entry.source,
    )


# Recording ----------------------------------------------------------------------------


def check_record_measure(actor, episode: Episode, data: dict) -> dict:
    """May ``actor`` record this measure for ``episode``, and can it be scored?

    ``data``: measure (a key), answers (a list of whole numbers or None), labels (PSFS: the
    activities, one per answer), taken_on (a date, default today), note (a SessionNote of
    this episode, optional). Raises ValidationError naming the field at fault; a
    questionnaire the scorer refuses is refused with its reason under "answers"."""
    authorize(actor, "clinical.write", patient_id=episode.patient.public_id, record_id=episode.public_id)
    reject_unknown(data, {"measure", "answers", "labels", "taken_on", "note"})
    require_open(episode, "record a measure")
    errors: dict[str, str] = {}
    measure = data.get("measure")
    if measure not in scoring.SPECS:
        raise ValidationError({"measure": f"Choose one of: {', '.join(measure_name(k) for k in scoring.MEASURES)}."})
    answers = data.get("answers")
    if isinstance(answers, tuple):
        answers = list(answers)
    if not isinstance(answers, list):
        raise ValidationError({"answers": "Give the answers as a list (a blank for an unanswered item)."})
    labels = _clean_labels(measure, data.get("labels"), answers, errors)
    taken_on = _clean_date(data.get("taken_on"), episode, errors)
    note = data.get("note")
    if note is not None and (not isinstance(note, SessionNote) or note.episode_id != episode.pk):
        errors["note"] = "Choose a session note of this episode."
    result = None
    if "labels" not in errors:
        try:
            result = scoring.score(measure, answers)
        except scoring.NotScorable as exc:
            errors["answers"] = str(exc)
    if errors:
        raise ValidationError(errors)
    return {"measure": measure, "answers": list(answers), "labels": labels, "taken_on": taken_on, "note": note,
            "score": result}  # fmt: skip


def _clean_labels(measure: str, labels, answers: list, errors: dict) -> list[str]:
    if measure != "psfs":
        if labels:
            errors["labels"] = "Only the PSFS names activities; leave the labels out."
        return []
    if not isinstance(labels, list | tuple) or not all(isinstance(x, str) for x in labels):
        errors["labels"] = "Name each activity the client rated (3 to 5)."
        return []
    clean = [" ".join(label.split()) for label in labels]
    if len(clean) != len(answers):
        errors["labels"] = "Give one activity name for each rating."
    elif any(not label for label in clean):
        errors["labels"] = "Name every activity; leave out an activity the client did not choose."
    elif any(len(label) > LABEL_MAX for label in clean):
        errors["labels"] = f"Keep each activity under {LABEL_MAX} characters."
    elif len({label.casefold() for label in clean}) != len(clean):
        errors["labels"] = "Each activity is named once."
    return clean


def _clean_date(value, episode: Episode, errors: dict):
    taken_on = parse_date(value or timezone.localdate(), "taken_on", errors)
    if taken_on is None:
        return None
    if taken_on > timezone.localdate():
        errors["taken_on"] = "A measure can’t be dated in the future."
    elif taken_on < episode.opened_on:
        errors["taken_on"] = f"The episode opened on {episode.opened_on:%Y-%m-%d}; date the measure on or after it."
    return taken_on


def do_record_measure(actor, episode: Episode, clean: dict) -> OutcomeMeasurement:
    """Save the measurement ``clean`` describes (from check_record_measure) with its score."""
    result: scoring.Score = clean["score"]
    with transaction.atomic():
        measurement = OutcomeMeasurement.objects.create(
            episode=episode,
            measure=clean["measure"],
            answers=clean["answers"],
            labels=clean["labels"],
            score=result.value,
            unit=result.unit,
            band=result.band or "",
            taken_on=clean["taken_on"],
            recorded_by=actor,
            note=clean["note"],
        )
        audit.record(
            actor,
            AuditAction.CREATE,
            RECORD_TYPE,
            record_id=measurement.public_id,
            patient_id=episode.patient.public_id,
            # Which measure was taken is a health detail: it stays on the measurement row.
            detail="measure recorded",
        )
    return measurement


# Reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    taken_on: datetime.date
    value: float
    band: str = ""
    source: str = ""  # "NPRS" or "Session note" on the pain chart; the measure's name elsewhere
    measurement: OutcomeMeasurement | None = None


@dataclass(frozen=True)
class GoalLine:
    description: str
    target: float
    target_date: datetime.date | None
    status: str


@dataclass
class Progress:
    """One chart: a measure (or pain) over time, its goals, and first versus last."""

    key: str  # a measure key, or PAIN
    measure: str  # the scoring key (PAIN uses nprs)
    title: str
    unit: str
    higher_is_better: bool
    score_min: float
    score_max: float
    points: list[Point] = field(default_factory=list)
    goals: list[GoalLine] = field(default_factory=list)
    change: scoring.Change | None = None

    @property
    def first(self) -> Point | None:
        return self.points[0] if self.points else None

    @property
    def last(self) -> Point | None:
        return self.points[-1] if self.points else None

    @property
    def sources(self) -> list[str]:
        return sorted({p.source for p in self.points})

    def chart_data(self) -> dict:
        """What progress.js draws (the data table beside it shows the same numbers)."""
        dates = sorted({p.taken_on.isoformat() for p in self.points})
        # One line, whatever the sources (pain: NPRS and the notes' ratings are one scale);
        # the table says where each value came from. The last value of a day is drawn.
        by_date = {p.taken_on.isoformat(): p.value for p in self.points}
        label = self.title if len(self.sources) > 1 else self.sources[0] if self.sources else self.title
        series = [{"label": label, "values": [by_date[d] for d in dates]}]
        return {
            "title": self.title,
            "unit": self.unit,
            "min": self.score_min,
            "max": self.score_max,
            "dates": dates,
            "series": series,
            "goals": [{"label": f"Goal: {g.description}", "value": g.target} for g in self.goals],
        }


def episode_goals(episode: Episode) -> list[Goal]:
    """The goals of the plan in force: the active plan, else the newest one (one query)."""
    goals = list(
        Goal.objects.filter(plan__episode=episode)
        .exclude(plan__status=PlanStatus.SUPERSEDED)
        .select_related("plan")
        .order_by("-plan__created_at", "-plan__id", "id")
    )
    if not goals:
        return []
    active = [g for g in goals if g.plan.status == PlanStatus.ACTIVE]
    chosen = active or goals
    plan_id = chosen[0].plan_id
    return [g for g in chosen if g.plan_id == plan_id]


def progress(measurements, pain_notes, goals) -> list[Progress]:
    """Pure: one Progress per measure that has measurements (NPRS folded into the pain
    chart together with the notes' pain ratings), in the scoring table's order. The
    caller passes signed data only (signed_only(); pain from signed notes)."""
    by_measure: dict[str, list[OutcomeMeasurement]] = {}
    for m in sorted(measurements, key=lambda m: (m.taken_on, m.pk or 0)):
        by_measure.setdefault(m.measure, []).append(m)
    charts = []
    pain_points = [Point(m.taken_on, m.score, m.band, "NPRS", m) for m in by_measure.pop("nprs", [])] + [
        Point(day, float(value), "", "Session note") for day, value in pain_notes
    ]
    if pain_points:
        pain_points.sort(key=lambda p: (p.taken_on, p.source != "Session note"))
        charts.append(_progress(PAIN, "nprs", "Pain (0–10)", pain_points, goals))
    for key in scoring.MEASURES:
        if key in by_measure:
            points = [Point(m.taken_on, m.score, m.band, measure_name(key), m) for m in by_measure[key]]
            charts.append(_progress(key, key, measure_name(key), points, goals))
    return charts


def _progress(key: str, measure: str, title: str, points: list[Point], goals) -> Progress:
    spec = scoring.SPECS[measure]
    chart = Progress(
        key=key,
        measure=measure,
        title=title,
        unit=spec.unit,
        higher_is_better=spec.direction == "higher_better",
        score_min=spec.score_min,
        score_max=spec.score_max,
        points=points,
        goals=[
            GoalLine(g.description, g.target, g.target_date, g.get_status_display())
            for g in goals
            if g.measure == measure and g.target is not None
        ],
    )
    if len(points) >= 2:
        chart.change = scoring.change(measure, points[0].value, points[-1].value)
    return chart


def summary(chart: Progress) -> str:
    """First versus last in words, e.g. "ODI 48% on 2026-01-05 → 22% on 2026-03-01:
    26 points better; MCID 10 points: reached"."""
    first, last = chart.first, chart.last
    if first is None:
        return ""
    if chart.change is None:
        return f"One measurement so far: {first.value:g}{chart.unit} on {first.taken_on:%Y-%m-%d}."
    c = chart.change
    moved = "no change" if c.direction == "none" else f"{abs(c.delta):g} points {c.direction}"
    return (
        f"First {first.value:g}{chart.unit} on {first.taken_on:%Y-%m-%d}, last {last.value:g}{chart.unit} on "
        f"{last.taken_on:%Y-%m-%d}: {moved}. MCID {c.mcid}."
    )
