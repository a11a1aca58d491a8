"""Box 24D's modifiers: which modifiers each service line of a claim carries.

Both sources are the payer's (billing/setup.py keeps and checks them):

* its every-line modifiers (``Payer.line_modifiers``), e.g. GP, therapy under a plan of
  care: every line carries them, first, in the order the payer lists them;
* its code pairs (``Payer.pair_modifiers``), after the procedure-to-procedure (PTP) edits
  of CMS's National Correct Coding Initiative (NCCI): two codes billed for one patient on
  one date that the payer bundles, unless a modifier says the service was distinct (59, or
  one of XE, XP, XS, XU). The modifier goes on the column-two code only, e.g. 97140
  (manual therapy) billed with 97530: 97140 carries 59, 97530 does not. A pair is written
  ``97140 with 97530: 59`` (the code that takes the modifier first).

Effleura ships no NCCI table: the practice enters the pairs its payers publish.

For each date of service, a line whose code is the first code of a pair gets the pair's
modifier when the pair's other code is also billed that date: after the every-line
modifiers, never twice, and at most four on a line (the form has four places; the set-up
refuses pairs that could need more). Pure: plain values in and out, no database.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

MAX_PER_LINE = 4  # box 24D has room for four modifiers
MAX_PAIRS = 20  # per payer: the pairs a massage or therapy practice meets stay few
MODIFIER = re.compile(r"[A-Z0-9]{2}")
KEYS = ("code", "billed_with", "modifier")
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_FILLER = {"WITH", "ON"}  # words between the codes ("97140 with 97530: 59 on 97140")


class CodePair(dict):
    """One pair as stored (a JSON object): ``code`` takes ``modifier`` when billed on the same
    date as ``billed_with``. A dict, so it is stored and served as JSON as it is; it prints
    the way the set-up page writes it ("97140 with 97530: 59")."""

    @property
    def code(self) -> str:
        return str(self.get("code", ""))

    @property
    def billed_with(self) -> str:
        return str(self.get("billed_with", ""))

    @property
    def modifier(self) -> str:
        return str(self.get("modifier", ""))

    def __str__(self) -> str:
        return f"{self.code} with {self.billed_with}: {self.modifier}"


def pair(code: str, billed_with: str, modifier: str) -> CodePair:
    return CodePair(code=code, billed_with=billed_with, modifier=modifier)


def as_pairs(raw) -> list:
    """Stored JSON as CodePair items (an item that is not an object is kept as it is, for the
    set-up to refuse in words)."""
    if not isinstance(raw, list):
        return raw
    return [CodePair(item) if isinstance(item, dict) and not isinstance(item, CodePair) else item for item in raw]


def split_modifiers(text) -> list[str]:
    """ "gp, 59" -> ["GP", "59"]: the every-line modifiers as typed, in order, each once."""
    return list(dict.fromkeys(str(text or "").upper().replace(",", " ").split()))


# Text, as the set-up page takes it --------------------------------------------------------------


class PairSyntaxError(ValueError):
    pass


def parse_pairs(text: str) -> list[CodePair]:
    """The set-up page's text, one pair a line ("97140 with 97530: 59"; "97140 97530 59" and
    "97140 with 97530: 59 on 97140" too), as pairs in upper case. Only the shape is read
    here; billing/setup.py checks the codes and the modifier. Raises PairSyntaxError naming
    the first line it can't read."""
    found = []
    for number, line in enumerate(str(text or "").splitlines(), start=1):
        tokens = [t.upper() for t in _TOKEN.findall(line)]
        tokens = [t for t in tokens if t not in _FILLER]
        if not tokens:
            continue
        if len(tokens) == 4 and tokens[3] == tokens[0]:  # "... : 59 on 97140"
            tokens = tokens[:3]
        if len(tokens) != 3:
            shown = " ".join(line.split())[:40]
            raise PairSyntaxError(
                f"Line {number} (“{shown}”): write one pair a line as the code that takes the modifier, "
                "“with”, the code billed with it, then the modifier, e.g. “97140 with 97530: 59”."
            )
        found.append(pair(*tokens))
    return found


def pairs_text(pairs: Iterable) -> str:
    """The pairs as the set-up page shows them, one a line."""
    return "\n".join(str(CodePair(p)) for p in pairs or ())


# The rule ---------------------------------------------------------------------------------------


def _usable(pairs: Iterable) -> list[CodePair]:
    return [CodePair(p) for p in pairs or () if isinstance(p, dict)]


def line_modifiers(lines: Sequence[tuple[object, str]], every_line: Sequence[str], pairs: Iterable) -> list[tuple]:
    """The modifiers of each line, in the lines' order. ``lines`` are (date of service, code);
    ``every_line`` the payer's every-line modifiers; ``pairs`` its code pairs (CodePair or
    dicts with code, billed_with and modifier). A pair applies on a date when both its codes
    are billed that date: its first code's lines get its modifier after the every-line
    ones, once, and no line gets more than four."""
    every = tuple(dict.fromkeys(m for m in every_line if m))
    usable = _usable(pairs)
    codes_on: dict[object, set[str]] = defaultdict(set)
    for day, code in lines:
        codes_on[day].add(code)
    out = []
    for day, code in lines:
        modifiers = list(every)
        for p in usable:
            if p.code == code and p.billed_with in codes_on[day] and p.modifier not in modifiers:
                modifiers.append(p.modifier)
        out.append(tuple(modifiers[:MAX_PER_LINE]))
    return out


def most_on_a_line(every_line: Sequence[str], pairs: Iterable) -> dict[str, tuple]:
    """For each code that takes a pair's modifier: every modifier one of its lines could carry
    (all its pairs' other codes billed the same date), the every-line ones first."""
    every = tuple(dict.fromkeys(m for m in every_line if m))
    most: dict[str, list[str]] = {}
    for p in _usable(pairs):
        modifiers = most.setdefault(p.code, list(every))
        if p.modifier not in modifiers:
            modifiers.append(p.modifier)
    return {code: tuple(modifiers) for code, modifiers in most.items()}
