"""Outcome-measure scoring: pure rules from PRODUCT.md's "Outcome measures" table.

`score(measure, answers)` scores one completed questionnaire; `change(measure, baseline,
current)` says whether the difference between two scores matters clinically (the MCID).
Answers are a sequence of integers, with `None` for an item the patient left unanswered.

- nprs: 1 item 0-10; the number; none missing allowed; MCID 2 points or 30 %.
- odi: 10 sections 0-5; sum / (5 x sections answered) x 100 (%); the denominator shrinks by 5
  per unanswered section; MCID 10.
- ndi: as ODI; MCID 19 (neck pain; some use 7.5-10).
- quickdash: 11 items 1-5; ((sum / n) - 1) x 25, n = items answered; more than 1 missing:
  not scorable; MCID 14.
- lefs: 20 items 0-4; sum, 0-80 (higher = better); any missing: not scorable; MCID 9.
- psfs: 3-5 activities 0-10; mean of the activities rated (higher = better); MCID 2.

PRODUCT.md sets no upper limit on unanswered ODI/NDI sections: the score is refused only when
no section at all is answered (nothing to divide by). PSFS likewise needs at least one rated
activity. The sources of every number are in clinical/knowledge/measures.yaml (start-up
validation checks that file agrees with the specs here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from numbers import Integral


class NotScorable(ValueError):
    """The answers cannot be scored; the message says why, in clinic words."""


@dataclass(frozen=True)
class Band:
    """A severity band `low <= value <= high`, with its label. Bands are tried in order and the
    first that fits wins, so a shared limit belongs to the lower band (ODI 20 = minimal)."""

    low: float
    high: float
    label: str


@dataclass(frozen=True)
class Spec:
    """How one measure is answered and scored."""

    key: str
    name: str
    min_items: int
    max_items: int
    answer_min: int
    answer_max: int
    score_min: float
    score_max: float
    unit: str
    direction: str  # "lower_better" | "higher_better"
    mcid: float
    bands: tuple[Band, ...] = ()


# ODI bands: Fairbank & Pynsent 2000 (PRODUCT.md): 0-20 minimal ... 81-100 bed-bound; read on a
# continuous scale with the upper bound inclusive (a 45-point denominator gives 22.2 %).
ODI_BANDS = (
    Band(0, 20, "minimal disability"),
    Band(20, 40, "moderate disability"),
    Band(40, 60, "severe disability"),
    Band(60, 80, "crippled"),
    Band(80, 100, "bed-bound"),
)
# NDI bands: Vernon & Mior 1991 on the raw 0-50 score: 0-4 none, 5-14 mild, 15-24 moderate,
# 25-34 severe, 35-50 complete; in per cent (x2): 0-8, 10-28, 30-48, 50-68, 70-100. A score with
# unanswered sections can fall between two bands (e.g. 8.9 % or 11.1 %), so the per-cent limits
# are the midpoints 9, 29, 49 and 69 (bands are tried in order, the first that fits wins).
NDI_BANDS = (
    Band(0, 9, "no disability"),
    Band(9, 29, "mild disability"),
    Band(29, 49, "moderate disability"),
    Band(49, 69, "severe disability"),
    Band(69, 100, "complete disability"),
)

SPECS: dict[str, Spec] = {
    "nprs": Spec("nprs", "Numeric Pain Rating Scale", 1, 1, 0, 10, 0, 10, "/10", "lower_better", 2),
    "odi": Spec("odi", "Oswestry Disability Index", 10, 10, 0, 5, 0, 100, "%", "lower_better", 10, ODI_BANDS),
    "ndi": Spec("ndi", "Neck Disability Index", 10, 10, 0, 5, 0, 100, "%", "lower_better", 19, NDI_BANDS),
    "quickdash": Spec("quickdash", "QuickDASH", 11, 11, 1, 5, 0, 100, "/100", "lower_better", 14),
    "lefs": Spec("lefs", "Lower Extremity Functional Scale", 20, 20, 0, 4, 0, 80, "/80", "higher_better", 9),
    "psfs": Spec("psfs", "Patient-Specific Functional Scale", 3, 5, 0, 10, 0, 10, "/10", "higher_better", 2),
}

MEASURES: tuple[str, ...] = tuple(SPECS)
# Measures scored in whole points (a 0-10 rating, a sum of item answers): their values
# print without decimals. Degrees of motion (goal measures "rom:...") are whole too.
WHOLE_POINTS = frozenset({"nprs", "lefs"})

# NPRS: a change counts when it reaches 2 points OR 30 % of the baseline (Farrar et al. 2001;
# Childs et al. 2005).
NPRS_MCID_POINTS = 2.0
NPRS_MCID_PERCENT = 30.0

_EPSILON = 1e-9


@dataclass(frozen=True)
class Score:
    measure: str
    value: float
    unit: str
    band: str | None


@dataclass(frozen=True)
class Change:
    measure: str
    delta: float  # current - baseline, in the measure's unit
    direction: str  # "better" | "worse" | "none"
    reaches_mcid: bool
    mcid: str  # the threshold in words and, for NPRS, which rule was reached


def spec(measure: str) -> Spec:
    try:
        return SPECS[measure]
    except KeyError:
        raise NotScorable(f"Unknown outcome measure {measure!r}; known: {', '.join(SPECS)}.") from None


def score(measure: str, answers: Sequence[int | None]) -> Score:
    """Score one completed questionnaire; raise NotScorable saying why it cannot be scored."""
    s = spec(measure)
    values = _check_answers(s, answers)
    answered = [v for v in values if v is not None]
    missing = len(values) - len(answered)

    if measure == "nprs":
        if missing:
            raise NotScorable("The pain rating is unanswered: NPRS needs the number from 0 to 10.")
        value = float(answered[0])
    elif measure in ("odi", "ndi"):
        if not answered:
            raise NotScorable(f"No section of the {s.name} is answered; at least one is needed.")
        # Fairbank & Pynsent 2000: the denominator shrinks by 5 for every unanswered section.
        value = sum(answered) / (5 * len(answered)) * 100
    elif measure == "quickdash":
        if missing > 1:
            raise NotScorable(
                f"{missing} of the 11 QuickDASH items are unanswered; it cannot be scored with more than 1 missing."
            )
        value = (sum(answered) / len(answered) - 1) * 25
    elif measure == "lefs":
        if missing:
            raise NotScorable(
                f"{missing} of the 20 LEFS items {'is' if missing == 1 else 'are'} unanswered; "
                "the LEFS has no rule for missing items, so every item must be answered."
            )
        value = float(sum(answered))
    else:  # psfs
        if not answered:
            raise NotScorable("No PSFS activity is rated; rate at least one activity from 0 to 10.")
        value = sum(answered) / len(answered)

    return Score(measure=measure, value=round(value, 1), unit=s.unit, band=band(measure, value))


def band(measure: str, value: float) -> str | None:
    """The severity band of a score, for measures that define bands (ODI, NDI); else None."""
    for b in spec(measure).bands:
        if b.low - _EPSILON <= value <= b.high + _EPSILON:
            return b.label
    return None


def change(measure: str, baseline: float | Score, current: float | Score) -> Change:
    """How a score moved from baseline to current and whether that reaches the MCID.

    A change of at least the MCID in either direction is clinically important (improvement or
    deterioration). LEFS and PSFS rise as function improves; the others fall.
    """
    s = spec(measure)
    before = _score_value(s, baseline, "baseline")
    after = _score_value(s, current, "current")
    delta = after - before
    if abs(delta) < _EPSILON:
        direction = "none"
    elif (delta < 0) == (s.direction == "lower_better"):
        direction = "better"
    else:
        direction = "worse"

    if measure == "nprs":
        by_points = abs(delta) >= NPRS_MCID_POINTS - _EPSILON
        percent = abs(delta) / before * 100 if before > 0 else None
        by_percent = percent is not None and percent >= NPRS_MCID_PERCENT - _EPSILON
        reaches = by_points or by_percent
        if by_points and by_percent:
            how = f"reached by both rules ({abs(delta):g} points, {percent:.0f}%)"
        elif by_points:
            how = f"reached by the 2-point rule ({abs(delta):g} points)"
        elif by_percent:
            how = f"reached by the 30% rule ({percent:.0f}% of the baseline)"
        else:
            how = "not reached"
        text = f"2 points or 30%: {how}"
    else:
        reaches = abs(delta) >= s.mcid - _EPSILON
        text = f"{s.mcid:g} points"
        if measure == "ndi":
            text += " (neck pain; some use 7.5-10)"
        text += ": reached" if reaches else ": not reached"
    return Change(measure=measure, delta=round(delta, 1), direction=direction, reaches_mcid=reaches, mcid=text)


def format_value(measure: str, value, *, signed: bool = False) -> str:
    """A score, goal value or change as a person reads it: whole points for NPRS, LEFS and
    degrees of motion ("7", "45", not "7.0"), at most one decimal for the others ("22.2",
    "40"); with ``signed`` a sign in front ("+2", "-4", "0"). "" for None."""
    if value is None or isinstance(value, bool):
        return ""
    number = float(value)
    whole = measure in WHOLE_POINTS or measure.startswith("rom:")
    text = f"{round(number):d}" if whole else f"{round(number, 1):g}"
    if text == "-0":
        text = "0"
    return f"+{text}" if signed and number > 0 and text != "0" else text


def _check_answers(s: Spec, answers: Sequence[int | None]) -> list[int | None]:
    if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
        raise NotScorable(f"The {s.name} answers must be a list of numbers (or blanks for unanswered items).")
    n = len(answers)
    if not s.min_items <= n <= s.max_items:
        expected = f"{s.min_items}" if s.min_items == s.max_items else f"{s.min_items} to {s.max_items}"
        what = "activities" if s.key == "psfs" else "answers"
        raise NotScorable(f"The {s.name} needs {expected} {what}; {n} were given.")
    values: list[int | None] = []
    for position, answer in enumerate(answers, start=1):
        if answer is None:
            values.append(None)
            continue
        if isinstance(answer, bool) or not isinstance(answer, Integral):
            raise NotScorable(f"Item {position} of the {s.name} is {answer!r}; answers must be whole numbers.")
        if not s.answer_min <= answer <= s.answer_max:
            raise NotScorable(
                f"Item {position} of the {s.name} is {answer}; answers go from {s.answer_min} to {s.answer_max}."
            )
        values.append(int(answer))
    return values


def _score_value(s: Spec, value: float | Score, which: str) -> float:
    value = float(value) if isinstance(value, Decimal) else value  # a JSON number from the API
    if isinstance(value, Score):
        if value.measure != s.key:
            raise NotScorable(f"The {which} score is a {value.measure} score, not {s.key}.")
        value = value.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NotScorable(f"The {which} {s.name} score must be a number.")
    if not s.score_min - _EPSILON <= value <= s.score_max + _EPSILON:
        raise NotScorable(f"The {which} {s.name} score {value:g} is outside {s.score_min:g}-{s.score_max:g}.")
    return float(value)
