"""The dates money may carry: payments, refunds and claim events run from 1 January 2000
to tomorrow in the practice's time zone. Tomorrow, not today, so a payment taken just after
midnight somewhere ahead of the practice's zone is not refused; nothing earlier than 2000,
so a mistyped year (0173-09-04) is refused instead of kept."""

import datetime

from django.utils import timezone

from effleura.core.models import Practice
from effleura.core.values import parse_date

EARLIEST = datetime.date(2000, 1, 1)


def practice_today(practice: Practice | None = None) -> datetime.date:
    """Today in the practice's time zone (Practice.time_zone)."""
    return timezone.localdate(timezone=(practice or Practice.current()).zone)


def parse_ledger_date(value, field: str, errors: dict, *, what: str = "The date") -> datetime.date | None:
    """``value`` (a date or YYYY-MM-DD) from 1 January 2000 to tomorrow in the practice's zone;
    empty: today there. A message in ``errors[field]`` and None otherwise."""
    today = practice_today()
    latest = today + datetime.timedelta(days=1)
    day = parse_date(value, field, errors, default=today)
    if field in errors:
        return None
    if not EARLIEST <= day <= latest:
        errors[field] = f"{what} must be from {EARLIEST:%-d %B %Y} to tomorrow ({latest:%-d %B %Y})."
        return None
    return day
