"""The clinical knowledge base: techniques, screening rules, outcome measures, the self-care
library, assessment lists and diagnosis codes, kept as YAML data files in clinical/knowledge/.

Every entry names its `source` and carries `reviewed` (the date the practice last reviewed it,
or null). The files are loaded and validated once: keys unique, every reference resolves
(a screening rule names only known technique keys; condition keys are exactly
patients.choices.Condition; measure specs agree with clinical/scoring.py), every entry has a
source. A broken file raises KnowledgeError naming the file and the entry; clinical/apps.py
loads the knowledge base in ready(), so a broken file stops the start.

This module holds the loaded knowledge base and answers questions about it; the accessors
return the immutable records of clinical/knowledge_records.py, and callers never see the
raw YAML. Reading and validating the files is clinical/knowledge_loading.py.
"""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings

from effleura.clinical.knowledge_loading import load
from effleura.clinical.knowledge_records import (
    DEFAULT_DIR,
    ICD10_PATTERN,
    ConditionInfo,
    DiagnosisCode,
    KnowledgeBase,
    Measure,
    PostureFinding,
    RomMovement,
    SelfCareItem,
    SpecialTest,
    Technique,
    ToneFinding,
)

# --- the loaded knowledge base ---------------------------------------------------------------


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
    configured = getattr(settings, "CLINICAL_KNOWLEDGE_DIR", None) if settings.configured else None
    return Path(configured) if configured else DEFAULT_DIR


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
