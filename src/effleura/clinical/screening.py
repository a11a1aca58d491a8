"""Screening: contraindications and precautions computed from a patient's conditions.

Pure rules over the knowledge base (clinical/knowledge/conditions.yaml, the rules of
PRODUCT.md's screening table, each with its source).

Severity words (PRODUCT.md): absolute = no massage today, defer or refer; local = avoid the
named region; precaution = adapt (pressure, positioning, duration, medical clearance).

A flag's `affects` lists the technique, stroke and modality keys it concerns; EMPTY MEANS ALL
MASSAGE, which Effleura applies to every key, adjunct modalities included: an absolute flag with
empty `affects` (DVT, fever) defers the whole visit, so no hot pack, cold pack or electrical
stimulation is given either; a local or precaution flag with empty `affects` concerns whatever
is done at that region or to that person. A flag with named keys concerns only those keys
(pacemaker: electrotherapy).

`verdict(conditions, technique)` is the most severe answer over all flags that concern the
technique: absolute -> "contraindicated", local -> "local", precaution -> "caution", none -> "ok".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from effleura.clinical import knowledge

SEVERITY_RANK = {"absolute": 0, "local": 1, "precaution": 2}
VERDICTS = ("ok", "caution", "local", "contraindicated")  # least to most severe
_VERDICT_OF = {"absolute": "contraindicated", "local": "local", "precaution": "caution"}


@dataclass(frozen=True)
class Flag:
    condition: str  # patients.choices.Condition key
    severity: str  # "absolute" | "local" | "precaution"
    affects: tuple[str, ...]  # technique/stroke/modality keys; empty = all massage
    region: str | None  # the region to avoid (local flags)
    action: str  # avoid, or adapt and how
    reason: str
    source: str
    max_pressure: str | None = None  # the firmest pressure the rule allows (precautions)

    @property
    def all_massage(self) -> bool:
        return not self.affects

    @property
    def defers_visit(self) -> bool:
        """No massage today: an absolute flag for all massage."""
        return self.severity == "absolute" and not self.affects

    def concerns(self, technique: str) -> bool:
        """Does this flag apply to the technique, stroke or modality key?"""
        return not self.affects or technique in self.affects

    @property
    def label(self) -> str:
        return knowledge.condition(self.condition).label

    @property
    def short(self) -> str:
        return knowledge.condition(self.condition).short


def screen(conditions: Iterable[str]) -> list[Flag]:
    """The flags for a set of condition keys, most severe first.

    Order-independent and duplicate-free: within a severity, flags follow the order of the
    knowledge base. An unknown condition key raises ValueError naming it.
    """
    wanted = _known_conditions(conditions)
    flags: list[tuple[int, int, int, Flag]] = []
    for position, info in enumerate(knowledge.conditions()):
        if info.key not in wanted:
            continue
        for n, rule in enumerate(info.rules):
            flag = Flag(
                condition=info.key,
                severity=rule.severity,
                affects=rule.affects,
                region=rule.region,
                action=rule.action,
                reason=rule.reason,
                source=rule.source,
                max_pressure=rule.max_pressure,
            )
            flags.append((SEVERITY_RANK[rule.severity], position, n, flag))
    flags.sort(key=lambda item: item[:3])
    return [item[3] for item in flags]


def verdict(conditions: Iterable[str], technique: str) -> str:
    """ "ok", "caution", "local" or "contraindicated" for one technique, stroke or modality key:
    the most severe answer across all conditions. Unknown keys raise ValueError."""
    if technique not in knowledge.technique_keys():
        raise ValueError(f"Unknown technique, stroke or modality key {technique!r}.")
    worst = "ok"
    for flag in screen(conditions):
        if flag.concerns(technique):
            answer = _VERDICT_OF[flag.severity]
            if VERDICTS.index(answer) > VERDICTS.index(worst):
                worst = answer
    return worst


def verdicts(conditions: Iterable[str]) -> dict[str, str]:
    """verdict() for every technique, stroke and modality key, in knowledge-base order."""
    flags = screen(conditions)
    out = {}
    for key in knowledge.technique_keys():
        worst = "ok"
        for flag in flags:
            if flag.concerns(key):
                answer = _VERDICT_OF[flag.severity]
                if VERDICTS.index(answer) > VERDICTS.index(worst):
                    worst = answer
        out[key] = worst
    return out


def flags_for_patient(health_history) -> list[Flag]:
    """The flags for a patient's current health history (None = no history yet: no flags).

    Uses HealthHistory.screening_conditions: the ticked conditions plus those the answers imply.
    """
    if health_history is None:
        return []
    return screen(health_history.screening_conditions)


def summary(flags: Iterable[Flag]) -> str:
    """A one-line badge: "No massage today: DVT", "1 contraindication, 2 precautions",
    "No screening flags"."""
    flags = list(flags)
    if not flags:
        return "No screening flags"
    deferring = _unique(f.short for f in flags if f.defers_visit)
    if deferring:
        return "No massage today: " + ", ".join(deferring)
    counts = [
        (sum(1 for f in flags if f.severity == "absolute"), "contraindication", "contraindications"),
        (sum(1 for f in flags if f.severity == "local"), "area to avoid", "areas to avoid"),
        (sum(1 for f in flags if f.severity == "precaution"), "precaution", "precautions"),
    ]
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts if n)


def most_severe(flags: Iterable[Flag]) -> str | None:
    """The most severe severity among the flags ("absolute", "local", "precaution"), or None."""
    severities = {f.severity for f in flags}
    return min(severities, key=SEVERITY_RANK.__getitem__, default=None)


def _known_conditions(conditions: Iterable[str]) -> set[str]:
    if isinstance(conditions, str):
        # A bare string is almost certainly a mistake ("dvt" iterated as "d", "v", "t").
        conditions = [conditions]
    known = {c.key for c in knowledge.conditions()}
    wanted = set()
    for key in conditions:
        if key not in known:
            raise ValueError(f"Unknown condition key {key!r}.")
        wanted.add(key)
    return wanted


def _unique(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
