"""The records of the clinical knowledge base (clinical/knowledge/*.yaml): immutable
dataclasses, one per kind of entry, and the KnowledgeError a broken file raises.

clinical/knowledge_loading.py builds them from the files; clinical/knowledge.py holds the
loaded knowledge base and answers questions about it.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from effleura.patients.choices import BodyRegion

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
    max_pressure: str | None = None  # precaution rules: the firmest pressure the action allows


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
    # techniques.yaml keys whose screening rules (those naming them) also rule this item
    # out or adapt it: heat at home is screened as the heat modality.
    screened_as: tuple[str, ...] = ()

    @property
    def category_label(self) -> str:
        return SELFCARE_CATEGORIES[self.category]

    @property
    def region_labels(self) -> list[str]:
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
