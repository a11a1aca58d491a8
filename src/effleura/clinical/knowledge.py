"""The clinical knowledge base: techniques, screening rules, outcome measures, the self-care
library, assessment lists and diagnosis codes, kept as YAML data files in clinical/knowledge/.

Every entry names its `source` and carries `reviewed` (the date the practice last reviewed it,
or null). The files are loaded and validated once: keys unique, every reference resolves
(a screening rule names only known technique keys; condition keys are exactly
patients.choices.Condition; measure specs agree with clinical/scoring.py), every entry has a
source. A broken file raises KnowledgeError naming the file and the entry; clinical/apps.py
loads the knowledge base in ready(), so a broken file stops the start.

The accessors below return immutable dataclasses; callers never see the raw YAML.
"""

from __future__ import annotations

import datetime
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_DIR = Path(__file__).resolve().parent / "knowledge"
FILES = ("techniques", "conditions", "measures", "selfcare", "assessment", "diagnosis_codes")

SEVERITIES = ("absolute", "local", "precaution")
TECHNIQUE_KINDS = ("technique", "stroke", "modality")
SELFCARE_CATEGORIES = {
    "stretch": "Stretch",
    "strengthening": "Strengthening exercise",
    "heat_cold": "Heat and cold",
    "posture": "Posture",
    "ergonomics": "Ergonomics",
    "self_massage": "Self-massage",
    "breathing": "Breathing and relaxation",
}
DIRECTIONS = ("lower_better", "higher_better")

# ICD-10-CM code format: a letter, a digit, a letter or digit, then optionally a dot and 1-4
# letters or digits (the 7th character may need placeholder X's, e.g. S16.1XXA).
ICD10_PATTERN = re.compile(r"^[A-Z][0-9][A-Z0-9](\.[A-Z0-9]{1,4})?$")


class KnowledgeError(Exception):
    """A knowledge-base file is broken. Names the file and the entry so it can be fixed."""

    def __init__(self, file: str, entry: str | None, problem: str) -> None:
        self.file = file
        self.entry = entry
        self.problem = problem
        where = f"{file}.yaml" + (f", entry {entry!r}" if entry is not None else "")
        super().__init__(f"Clinical knowledge base: {where}: {problem}")


# --- entries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Technique:
    """A technique, stroke or adjunct modality (PRODUCT.md "Techniques and modalities")."""

    key: str
    label: str
    kind: str  # technique | stroke | modality
    description: str
    source: str
    reviewed: datetime.date | None


@dataclass(frozen=True)
class Rule:
    """One screening rule of a condition; clinical/screening.py turns it into a Flag."""

    severity: str  # absolute | local | precaution
    affects: tuple[str, ...]  # technique/stroke/modality keys; empty = all massage
    region: str | None  # the region to avoid, for local rules
    action: str
    reason: str
    source: str
    reviewed: datetime.date | None


@dataclass(frozen=True)
class ConditionInfo:
    """A screening condition (key = patients.choices.Condition) with its rules."""

    key: str
    label: str
    short: str  # a few words for badges ("DVT")
    indicated: tuple[str, ...]  # techniques the condition calls for
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class MeasureItem:
    key: str
    heading: str  # short paraphrased heading (not the instrument's wording)
    low: str  # what the lowest answer means
    high: str  # what the highest answer means


@dataclass(frozen=True)
class MeasureBand:
    low: float
    high: float
    label: str


@dataclass(frozen=True)
class Measure:
    """An outcome measure: its items for the tablet form and how it is scored."""

    key: str
    label: str
    short: str
    about: str  # what it measures and for whom
    instructions: str
    answer_min: int
    answer_max: int
    min_items: int
    max_items: int
    score_min: float
    score_max: float
    unit: str
    direction: str  # lower_better | higher_better
    scoring: str
    missing: str
    mcid: float
    mcid_note: str
    bands: tuple[MeasureBand, ...]
    items: tuple[MeasureItem, ...]  # empty for PSFS: the patient names the activities
    source: str
    reviewed: datetime.date | None


@dataclass(frozen=True)
class SelfCareItem:
    """One entry of the self-care library a home-care plan is assembled from."""

    key: str
    title: str
    category: str
    steps: tuple[str, ...]  # numbered plain-language instructions
    dosage: str
    cautions: tuple[str, ...]
    regions: tuple[str, ...]  # patients.choices.BodyRegion keys; empty = general
    source: str
    reviewed: datetime.date | None

    @property
    def category_label(self) -> str:
        return SELFCARE_CATEGORIES[self.category]

    @property
    def region_labels(self) -> list[str]:
        from effleura.patients.choices import BodyRegion

        return [BodyRegion(r).label for r in self.regions]


@dataclass(frozen=True)
class PostureFinding:
    key: str
    label: str
    sided: bool  # recorded left / right
    description: str
    source: str
    reviewed: datetime.date | None


@dataclass(frozen=True)
class RomMovement:
    """A joint movement with its normal active range of motion in degrees."""

    key: str
    joint: str
    movement: str
    label: str
    normal_min: int
    normal_max: int
    sided: bool
    source: str
    reviewed: datetime.date | None


@dataclass(frozen=True)
class ToneFinding:
    key: str
    label: str
    description: str
    source: str
    reviewed: datetime.date | None


@dataclass(frozen=True)
class SpecialTest:
    key: str
    label: str
    region: str
    purpose: str
    positive: str  # what a positive test looks like
    sided: bool
    source: str
    reviewed: datetime.date | None


@dataclass(frozen=True)
class DiagnosisCode:
    code: str
    description: str
    valid: bool  # False = no longer a valid ICD-10-CM code (kept to catch old referrals)
    note: str
    source: str
    reviewed: datetime.date | None


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything, validated. Built by load(); read through the module's accessors."""

    directory: Path
    techniques: tuple[Technique, ...]
    conditions: tuple[ConditionInfo, ...]
    measures: tuple[Measure, ...]
    selfcare: tuple[SelfCareItem, ...]
    posture_findings: tuple[PostureFinding, ...]
    rom_movements: tuple[RomMovement, ...]
    tone_findings: tuple[ToneFinding, ...]
    special_tests: tuple[SpecialTest, ...]
    diagnosis_codes: tuple[DiagnosisCode, ...]
    notes: dict[str, str] = field(default_factory=dict)  # each file's `note`, shown on the page

    def __post_init__(self) -> None:
        index: dict[str, Any] = {t.key: t for t in self.techniques}
        object.__setattr__(self, "_techniques", index)
        object.__setattr__(self, "_conditions", {c.key: c for c in self.conditions})
        object.__setattr__(self, "_measures", {m.key: m for m in self.measures})
        object.__setattr__(self, "_selfcare", {s.key: s for s in self.selfcare})
        object.__setattr__(self, "_codes", {d.code: d for d in self.diagnosis_codes})


# --- loading and validation ----------------------------------------------------------------


def load(directory: Path | str | None = None) -> KnowledgeBase:
    """Read and validate every file of `directory` (default: clinical/knowledge/).

    Raises KnowledgeError naming the file and the entry at the first problem found.
    Does not install the result: see reload().
    """
    directory = Path(directory) if directory is not None else DEFAULT_DIR
    raw = {name: _read(directory, name) for name in FILES}
    notes = {name: str(doc.get("note") or "") for name, doc in raw.items()}

    techniques = _load_techniques(raw["techniques"])
    technique_keys = {t.key for t in techniques}
    conditions = _load_conditions(raw["conditions"], technique_keys)
    measures = _load_measures(raw["measures"])
    selfcare = _load_selfcare(raw["selfcare"])
    posture, rom, tone, tests = _load_assessment(raw["assessment"])
    codes = _load_codes(raw["diagnosis_codes"])
    return KnowledgeBase(
        directory=directory,
        techniques=techniques,
        conditions=conditions,
        measures=measures,
        selfcare=selfcare,
        posture_findings=posture,
        rom_movements=rom,
        tone_findings=tone,
        special_tests=tests,
        diagnosis_codes=codes,
        notes=notes,
    )


_lock = threading.Lock()
_current: KnowledgeBase | None = None


def reload(directory: Path | str | None = None) -> KnowledgeBase:
    """Load and validate `directory` and make it the knowledge base the accessors read."""
    global _current
    kb = load(directory)
    with _lock:
        _current = kb
    return kb


def get() -> KnowledgeBase:
    """The loaded knowledge base (loaded on first use if ready() has not run, e.g. in scripts)."""
    kb = _current
    if kb is None:
        with _lock:
            kb = _current
        if kb is None:
            kb = reload(configured_dir())
    return kb


def configured_dir() -> Path:
    """settings.CLINICAL_KNOWLEDGE_DIR when set (tests, a practice's reviewed copy), else the default."""
    from django.conf import settings

    configured = getattr(settings, "CLINICAL_KNOWLEDGE_DIR", None) if settings.configured else None
    return Path(configured) if configured else DEFAULT_DIR


def _read(directory: Path, name: str) -> dict:
    path = directory / f"{name}.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KnowledgeError(name, None, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise KnowledgeError(name, None, f"is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(doc, dict):
        raise KnowledgeError(name, None, "must be a mapping with `file:` and its lists of entries")
    if doc.get("file") != name:
        raise KnowledgeError(name, None, f"declares file: {doc.get('file')!r}, expected {name!r}")
    return doc


class _Entry:
    """Typed field access to one YAML mapping, raising KnowledgeError with file and entry."""

    def __init__(self, file: str, data: Any, position: int, key_field: str = "key") -> None:
        self.file = file
        if not isinstance(data, dict):
            raise KnowledgeError(file, f"#{position}", "must be a mapping")
        self.data = data
        key = data.get(key_field)
        self.name = str(key) if isinstance(key, str) and key else f"#{position}"

    def fail(self, problem: str) -> KnowledgeError:
        return KnowledgeError(self.file, self.name, problem)

    def text(self, name: str, *, optional: bool = False) -> str:
        value = self.data.get(name)
        if value is None and optional:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"`{name}` must be non-empty text")
        return value.strip()

    def key(self, name: str = "key") -> str:
        value = self.text(name)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
            raise self.fail(f"`{name}` must be lower_snake_case, got {value!r}")
        return value

    def number(self, name: str, *, integer: bool = False) -> float | int:
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            raise self.fail(f"`{name}` must be a {'whole number' if integer else 'number'}")
        return value

    def flag(self, name: str, default: bool | None = None) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(f"`{name}` must be true or false")
        return value

    def keys(self, name: str, known: Iterable[str] | None = None, *, allow_empty: bool = True) -> tuple[str, ...]:
        value = self.data.get(name)
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"`{name}` must be a list of keys")
        if not value and not allow_empty:
            raise self.fail(f"`{name}` must not be empty")
        if len(set(value)) != len(value):
            raise self.fail(f"`{name}` repeats a key")
        if known is not None:
            known = set(known)
            unknown = [v for v in value if v not in known]
            if unknown:
                raise self.fail(f"`{name}` names unknown key(s): {', '.join(unknown)}")
        return tuple(value)

    def texts(self, name: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        value = self.data.get(name)
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(f"`{name}` must be a list of non-empty texts")
        if not value and not allow_empty:
            raise self.fail(f"`{name}` must not be empty")
        return tuple(v.strip() for v in value)

    def source(self) -> str:
        return self.text("source")

    def reviewed(self) -> datetime.date | None:
        if "reviewed" not in self.data:
            raise self.fail("`reviewed` is missing (a date, or null when not yet reviewed)")
        value = self.data["reviewed"]
        if value is None:
            return None
        if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
            raise self.fail(f"`reviewed` must be a date (YYYY-MM-DD) or null, got {value!r}")
        return value


def _entries(file: str, doc: dict, key_field: str = "key", section: str = "entries") -> list[_Entry]:
    items = doc.get(section)
    if not isinstance(items, list) or not items:
        raise KnowledgeError(file, None, f"`{section}` must be a non-empty list")
    entries = [_Entry(file, data, n, key_field) for n, data in enumerate(items, start=1)]
    seen: set[str] = set()
    for entry in entries:
        key = entry.text(key_field)
        if key in seen:
            raise entry.fail(f"duplicate {key_field} {key!r}")
        seen.add(key)
    return entries


def _load_techniques(doc: dict) -> tuple[Technique, ...]:
    out = []
    for e in _entries("techniques", doc):
        kind = e.text("kind")
        if kind not in TECHNIQUE_KINDS:
            raise e.fail(f"`kind` must be one of {', '.join(TECHNIQUE_KINDS)}, got {kind!r}")
        out.append(Technique(e.key(), e.text("label"), kind, e.text("description"), e.source(), e.reviewed()))
    return tuple(out)


def _load_conditions(doc: dict, technique_keys: set[str]) -> tuple[ConditionInfo, ...]:
    from effleura.patients.choices import Condition

    out = []
    for e in _entries("conditions", doc):
        key = e.key()
        if key not in Condition.values:
            raise e.fail("is not a condition key of the health history (patients.choices.Condition)")
        raw_rules = e.data.get("rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            raise e.fail("`rules` must be a non-empty list")
        rules = []
        for n, data in enumerate(raw_rules, start=1):
            r = _Entry("conditions", data, n)
            r.name = f"{key} rule {n}"
            severity = r.text("severity")
            if severity not in SEVERITIES:
                raise r.fail(f"`severity` must be one of {', '.join(SEVERITIES)}, got {severity!r}")
            region = r.text("region", optional=True) or None
            if severity == "local" and region is None:
                raise r.fail("a local rule must name the `region` to avoid")
            if severity != "local" and region is not None:
                raise r.fail("only a local rule names a `region`")
            rules.append(
                Rule(
                    severity=severity,
                    affects=r.keys("affects", technique_keys),
                    region=region,
                    action=r.text("action"),
                    reason=r.text("reason"),
                    source=r.source(),
                    reviewed=r.reviewed(),
                )
            )
        out.append(
            ConditionInfo(key, e.text("label"), e.text("short"), e.keys("indicated", technique_keys), tuple(rules))
        )
    missing = sorted(set(Condition.values) - {c.key for c in out})
    if missing:
        raise KnowledgeError("conditions", missing[0], "is a health-history condition with no screening rules")
    return tuple(out)


def _load_measures(doc: dict) -> tuple[Measure, ...]:
    from effleura.clinical import scoring

    out = []
    for e in _entries("measures", doc):
        key = e.key()
        spec = scoring.SPECS.get(key)
        if spec is None:
            raise e.fail(f"is not a measure clinical/scoring.py can score ({', '.join(scoring.SPECS)})")
        direction = e.text("direction")
        if direction not in DIRECTIONS:
            raise e.fail(f"`direction` must be one of {', '.join(DIRECTIONS)}")
        bands = []
        for n, data in enumerate(e.data.get("bands") or [], start=1):
            b = _Entry("measures", data, n)
            b.name = f"{key} band {n}"
            band = MeasureBand(b.number("low"), b.number("high"), b.text("label"))
            if band.low > band.high:
                raise b.fail("`low` is above `high`")
            bands.append(band)
        items = []
        for n, data in enumerate(e.data.get("items") or [], start=1):
            i = _Entry("measures", data, n)
            i.name = f"{key} item {n}"
            items.append(MeasureItem(i.key(), i.text("heading"), i.text("low"), i.text("high")))
        if len({i.key for i in items}) != len(items):
            raise e.fail("repeats an item key")
        measure = Measure(
            key=key,
            label=e.text("label"),
            short=e.text("short"),
            about=e.text("about"),
            instructions=e.text("instructions"),
            answer_min=e.number("answer_min", integer=True),
            answer_max=e.number("answer_max", integer=True),
            min_items=e.number("min_items", integer=True),
            max_items=e.number("max_items", integer=True),
            score_min=e.number("score_min"),
            score_max=e.number("score_max"),
            unit=e.text("unit"),
            direction=direction,
            scoring=e.text("scoring"),
            missing=e.text("missing"),
            mcid=e.number("mcid"),
            mcid_note=e.text("mcid_note"),
            bands=tuple(bands),
            items=tuple(items),
            source=e.source(),
            reviewed=e.reviewed(),
        )
        _check_measure_against_spec(e, measure, spec)
        out.append(measure)
    missing = sorted(set(scoring.SPECS) - {m.key for m in out})
    if missing:
        raise KnowledgeError("measures", missing[0], "is scored by clinical/scoring.py but has no entry")
    return tuple(out)


def _check_measure_against_spec(e: _Entry, m: Measure, spec: Any) -> None:
    """The file's numbers must be the numbers scoring.py scores with ("ranges consistent")."""
    pairs = {
        "answer_min": (m.answer_min, spec.answer_min),
        "answer_max": (m.answer_max, spec.answer_max),
        "min_items": (m.min_items, spec.min_items),
        "max_items": (m.max_items, spec.max_items),
        "score_min": (m.score_min, spec.score_min),
        "score_max": (m.score_max, spec.score_max),
        "unit": (m.unit, spec.unit),
        "direction": (m.direction, spec.direction),
        "mcid": (m.mcid, spec.mcid),
    }
    for name, (found, expected) in pairs.items():
        if found != expected:
            raise e.fail(f"`{name}` is {found!r} but clinical/scoring.py scores it with {expected!r}")
    if m.answer_min >= m.answer_max or m.min_items > m.max_items or m.score_min >= m.score_max:
        raise e.fail("ranges are inconsistent (a minimum is not below its maximum)")
    if m.items and len(m.items) != m.max_items:
        raise e.fail(f"has {len(m.items)} items but is answered with {m.max_items}")
    if not m.items and m.min_items == m.max_items:
        raise e.fail("a fixed-length measure must list its items")
    spec_bands = [(b.low, b.high, b.label) for b in spec.bands]
    if [(b.low, b.high, b.label) for b in m.bands] != spec_bands:
        raise e.fail("`bands` differ from the bands clinical/scoring.py uses")
    for b in m.bands:
        if b.low < m.score_min or b.high > m.score_max:
            raise e.fail(f"band {b.label!r} lies outside the score range")


def _load_selfcare(doc: dict) -> tuple[SelfCareItem, ...]:
    from effleura.patients.choices import BodyRegion

    out = []
    for e in _entries("selfcare", doc):
        category = e.text("category")
        if category not in SELFCARE_CATEGORIES:
            raise e.fail(f"`category` must be one of {', '.join(SELFCARE_CATEGORIES)}, got {category!r}")
        out.append(
            SelfCareItem(
                key=e.key(),
                title=e.text("title"),
                category=category,
                steps=e.texts("steps"),
                dosage=e.text("dosage"),
                cautions=e.texts("cautions", allow_empty=True),
                regions=e.keys("regions", BodyRegion.values),
                source=e.source(),
                reviewed=e.reviewed(),
            )
        )
    return tuple(out)


def _load_assessment(doc: dict) -> tuple[tuple, tuple, tuple, tuple]:
    file = "assessment"

    def each(section: str, build: Callable[[_Entry], Any]) -> tuple:
        return tuple(build(e) for e in _entries(file, doc, section=section))

    posture = each(
        "posture_findings",
        lambda e: PostureFinding(
            e.key(), e.text("label"), e.flag("sided", False), e.text("description"), e.source(), e.reviewed()
        ),
    )

    def rom(e: _Entry) -> RomMovement:
        low, high = e.number("normal_min", integer=True), e.number("normal_max", integer=True)
        if not 0 <= low <= high <= 200:
            raise e.fail(f"normal range {low}-{high} degrees is not a plausible range (0 <= min <= max <= 200)")
        return RomMovement(
            e.key(),
            e.text("joint"),
            e.text("movement"),
            e.text("label"),
            low,
            high,
            e.flag("sided"),
            e.source(),
            e.reviewed(),
        )

    rom_movements = each("rom_movements", rom)
    pairs = [(m.joint, m.movement) for m in rom_movements]
    if len(set(pairs)) != len(pairs):
        dup = next(p for p in pairs if pairs.count(p) > 1)
        raise KnowledgeError(file, f"{dup[0]} {dup[1]}", "joint and movement listed twice")
    tone = each(
        "tone_findings",
        lambda e: ToneFinding(e.key(), e.text("label"), e.text("description"), e.source(), e.reviewed()),
    )
    tests = each(
        "special_tests",
        lambda e: SpecialTest(
            e.key(),
            e.text("label"),
            e.text("region"),
            e.text("purpose"),
            e.text("positive"),
            e.flag("sided", True),
            e.source(),
            e.reviewed(),
        ),
    )
    all_keys = [x.key for group in (posture, rom_movements, tone, tests) for x in group]
    for key in all_keys:
        if all_keys.count(key) > 1:
            raise KnowledgeError(file, key, "key used in two assessment lists")
    return posture, rom_movements, tone, tests


def _load_codes(doc: dict) -> tuple[DiagnosisCode, ...]:
    out = []
    for e in _entries("diagnosis_codes", doc, key_field="code"):
        code = e.text("code")
        if not ICD10_PATTERN.fullmatch(code):
            raise e.fail("is not in ICD-10-CM format (letter, digit, letter or digit, optional dot and 1-4 more)")
        valid = e.flag("valid", True)
        note = e.text("note", optional=True)
        if not valid and not note:
            raise e.fail("an invalid code needs a `note` saying why and what replaces it")
        out.append(DiagnosisCode(code, e.text("description"), valid, note, e.source(), e.reviewed()))
    return tuple(out)


# --- accessors -----------------------------------------------------------------------------


def techniques() -> list[Technique]:
    return [t for t in get().techniques if t.kind == "technique"]


def strokes() -> list[Technique]:
    return [t for t in get().techniques if t.kind == "stroke"]


def modalities() -> list[Technique]:
    return [t for t in get().techniques if t.kind == "modality"]


def all_techniques() -> list[Technique]:
    """Techniques, strokes and modalities, in file order."""
    return list(get().techniques)


def technique_keys() -> list[str]:
    """Every technique, stroke and modality key, in file order."""
    return [t.key for t in get().techniques]


def technique(key: str) -> Technique:
    try:
        return get()._techniques[key]  # type: ignore[attr-defined]
    except KeyError:
        raise KeyError(f"unknown technique, stroke or modality key {key!r}") from None


def label(key: str) -> str:
    """The display label of a technique, stroke, modality, condition, measure, self-care item,
    assessment entry or diagnosis code; the key itself when it is unknown (old data)."""
    kb = get()
    for index in ("_techniques", "_conditions", "_measures", "_selfcare"):
        item = getattr(kb, index).get(key)
        if item is not None:
            return getattr(item, "label", None) or item.title
    for group in (kb.posture_findings, kb.rom_movements, kb.tone_findings, kb.special_tests):
        for item in group:
            if item.key == key:
                return item.label
    code = kb._codes.get(key)  # type: ignore[attr-defined]
    if code is not None:
        return f"{code.code} {code.description}"
    return key


def conditions() -> list[ConditionInfo]:
    return list(get().conditions)


def condition(key: str) -> ConditionInfo:
    try:
        return get()._conditions[key]  # type: ignore[attr-defined]
    except KeyError:
        raise KeyError(f"unknown condition key {key!r}") from None


def measures() -> list[Measure]:
    return list(get().measures)


def measure(key: str) -> Measure:
    try:
        return get()._measures[key]  # type: ignore[attr-defined]
    except KeyError:
        raise KeyError(f"unknown outcome measure {key!r}") from None


def selfcare() -> list[SelfCareItem]:
    return list(get().selfcare)


def selfcare_item(key: str) -> SelfCareItem:
    try:
        return get()._selfcare[key]  # type: ignore[attr-defined]
    except KeyError:
        raise KeyError(f"unknown self-care item {key!r}") from None


def posture_findings() -> list[PostureFinding]:
    return list(get().posture_findings)


def rom_movements() -> list[RomMovement]:
    return list(get().rom_movements)


def rom_movement(key: str) -> RomMovement:
    for m in get().rom_movements:
        if m.key == key:
            return m
    raise KeyError(f"unknown range-of-motion movement {key!r}")


def tone_findings() -> list[ToneFinding]:
    return list(get().tone_findings)


def special_tests() -> list[SpecialTest]:
    return list(get().special_tests)


def diagnosis_codes() -> list[DiagnosisCode]:
    """Every code of the file, valid ones and the known-invalid ones (valid=False)."""
    return list(get().diagnosis_codes)


def diagnosis_code(code: str) -> DiagnosisCode | None:
    return get()._codes.get(_normalize_code(code))  # type: ignore[attr-defined]


def search_diagnosis(text: str, limit: int = 20) -> list[DiagnosisCode]:
    """Valid codes whose code starts with `text` (dot optional) or whose description contains
    every word of `text`; code matches first."""
    query = (text or "").strip().lower()
    if not query:
        return []
    compact = query.replace(".", "").upper()
    words = query.split()
    by_code, by_words = [], []
    for d in get().diagnosis_codes:
        if not d.valid:
            continue
        if d.code.replace(".", "").startswith(compact):
            by_code.append(d)
        elif all(w in d.description.lower() for w in words):
            by_words.append(d)
    return (by_code + by_words)[:limit]


def invalid_codes() -> dict[str, str]:
    """Known-invalid codes and why (M54.5: no longer valid since October 2021)."""
    return {d.code: d.note for d in get().diagnosis_codes if not d.valid}


def is_valid_icd10(code: str) -> bool:
    """True when `code` has the ICD-10-CM format and is not a known-invalid code.

    A format check, not a lookup: a well-formed code that is not in diagnosis_codes.yaml is
    accepted (the file lists the common codes, not the whole classification).
    """
    if not isinstance(code, str):
        return False
    normalized = _normalize_code(code)
    if not ICD10_PATTERN.fullmatch(normalized):
        return False
    return normalized not in invalid_codes()


def _normalize_code(code: str) -> str:
    return code.strip().upper()
