"""Turning what someone types in the patient search box into a query.

Each word must match: a date matches the date of birth (2026-03-01; 03/01/2026 and
03-01-2026 are month first, US style; 1.3.2026 is day first, European style); three or more digits match the
phone number or the chart number; a word of three or more characters matches any part of
a name or of the chart number; a shorter word matches the beginning of one (a trigram index
cannot find one or two characters inside a word: docs/decisions/0026).
"""

import datetime
import re
from dataclasses import dataclass, field

from django.db.models import Q

from effleura.core.text import printable

_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%d.%m.%Y")
MAX_TERMS = 6
# A word this long or longer matches anywhere in a name; a shorter one, at its start.
TRIGRAM = 3


@dataclass
class Terms:
    words: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    dates: list[datetime.date] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.words or self.numbers or self.dates)


def parse(text: str) -> Terms:
    terms = Terms()
    for token in printable(text).split()[:MAX_TERMS]:
        token = token.strip(",;")
        if not token:
            continue
        date = _as_date(token)
        if date is not None:
            terms.dates.append(date)
        elif re.fullmatch(r"[\d()+\-. ]+", token):
            digits = re.sub(r"\D", "", token)
            if len(digits) >= 3:
                terms.numbers.append(digits)
        else:
            terms.words.append(token[:100])
    return terms


def _as_date(token: str) -> datetime.date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(token, fmt).date()
        except ValueError:
            continue
    return None


NAME_FIELDS = ("legal_first_name", "legal_last_name", "preferred_name", "chart_number")


def to_q(terms: Terms) -> Q:
    """The rule, as one filter. On PostgreSQL each lookup compiles to an expression the
    trigram indexes of migration patients/0004 cover; on SQLite search_index.narrow()
    adds the FTS5 filter in front of it."""
    q = Q()
    for word in terms.words:
        lookup = "icontains" if len(word) >= TRIGRAM else "istartswith"
        word_q = Q()
        for name in NAME_FIELDS:
            word_q |= Q(**{f"{name}__{lookup}": word})
        q &= word_q
    for digits in terms.numbers:
        # icontains, not contains: the same answer for digits, and one index on PostgreSQL.
        q &= Q(phone_digits__contains=digits) | Q(chart_number__icontains=digits)
    for date in terms.dates:
        q &= Q(date_of_birth=date)
    return q
