"""Reading and validating the clinical knowledge base's YAML files (clinical/knowledge/).

Keys unique, every reference resolves (a screening rule names only known technique keys;
condition keys are exactly patients.choices.Condition; measure specs agree with
clinical/scoring.py), every entry has a source. A broken file raises KnowledgeError
naming the file and the entry.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from effleura.clinical import scoring
from effleura.clinical.choices import Pressure
from effleura.clinical.knowledge_records import (
    DEFAULT_DIR,
    DIRECTIONS,
    FILES,
    ICD10_PATTERN,
    SELFCARE_CATEGORIES,
    SEVERITIES,
    TECHNIQUE_KINDS,
    ConditionInfo,
    DiagnosisCode,
    KnowledgeBase,
    KnowledgeError,
    Measure,
    MeasureBand,
    MeasureItem,
    PostureFinding,
    RomMovement,
    Rule,
    SelfCareItem,
    SpecialTest,
    Technique,
    ToneFinding,
)
from effleura.patients.choices import BodyRegion, Condition


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
    selfcare = _load_selfcare(raw["selfcare"], technique_keys)
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


PRESSURES = tuple(Pressure.values)  # light < moderate < firm < deep


def _load_conditions(doc: dict, technique_keys: set[str]) -> tuple[ConditionInfo, ...]:
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
            max_pressure = r.text("max_pressure", optional=True) or None
            if max_pressure is not None and max_pressure not in PRESSURES:
                raise r.fail(f"`max_pressure` must be one of {', '.join(PRESSURES)}, got {max_pressure!r}")
            if max_pressure is not None and severity != "precaution":
                raise r.fail("only a precaution rule limits the pressure (`max_pressure`)")
            rules.append(
                Rule(
                    severity=severity,
                    affects=r.keys("affects", technique_keys),
                    region=region,
                    action=r.text("action"),
                    reason=r.text("reason"),
                    source=r.source(),
                    reviewed=r.reviewed(),
                    max_pressure=max_pressure,
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


def _load_selfcare(doc: dict, technique_keys: set[str]) -> tuple[SelfCareItem, ...]:
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
                screened_as=e.keys("screened_as", technique_keys),
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
