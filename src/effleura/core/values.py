"""Reading the values every form, API call, query string and file brings in: ids, text,
dates, times and money amounts. One reading for the whole system, so the same input is
accepted or refused in the same words wherever it is typed.

The ``parse_*`` and ``clean_*`` helpers write a plain-words message into ``errors[field]``
and return None (or the cleaned value) rather than raise, so a form reports every problem
at once; the caller raises ``ValidationError(errors)`` when it has looked at every field.
``as_uuid`` raises Http404 instead: a malformed id in a URL names nothing.
"""

import datetime
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.http import Http404

# Money: Decimal to the cent in columns of 12 digits (billing/models/money.py uses these).
CENT = Decimal("0.01")
MONEY_MAX_DIGITS = 12
# The largest amount a money column holds (12 digits, 2 after the point).
LARGEST_AMOUNT = Decimal(10 ** (MONEY_MAX_DIGITS - 2)) - CENT
NOT_A_NUMBER = "Enter the amount as a number, e.g. 40.00."


# Ids -------------------------------------------------------------------------------------------


def parse_uuid(value) -> uuid.UUID | None:
    """``value`` as a UUID, or None when it is empty or not a UUID (query strings, pickers)."""
    if isinstance(value, uuid.UUID):
        return value
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value).strip())
    except (TypeError, ValueError, AttributeError):
        return None


def as_uuid(value, what: str = "record") -> uuid.UUID:
    """``value`` as a UUID, or Http404 ("No such <what>."): a malformed id names nothing."""
    found = parse_uuid(value)
    if found is None:
        raise Http404(f"No such {what}.")
    return found


# Fields of a write ----------------------------------------------------------------------------


def reject_unknown(data: Mapping, allowed: Iterable[str]) -> None:
    """Raise ValidationError naming every key of ``data`` that is not in ``allowed``.

    API bodies and action calls go through this, so a misspelt field is refused instead of
    silently dropped."""
    unknown = set(data) - set(allowed)
    if unknown:
        names = ", ".join(sorted(str(name)[:40] for name in unknown))
        raise ValidationError(f"Unknown field(s): {names}.")


def merge_fields(instance, fields: Iterable[str], defaults: Mapping, data: Mapping) -> dict:
    """The record's current values (or ``defaults`` for a new one) with ``data`` laid over
    them: a partial update validates the whole record it will leave behind."""
    fields = list(fields)
    reject_unknown(data, fields)
    base = {f: getattr(instance, f) for f in fields} if instance is not None else dict(defaults)
    return {**base, **data}


# Text ------------------------------------------------------------------------------------------


def clean_text(
    value,
    field: str,
    errors: dict,
    *,
    limit: int,
    required: str = "",
    one_line: bool = False,
) -> str:
    """``value`` as stripped text of at most ``limit`` characters.

    ``required`` is the message for an empty value (empty: the value may be blank);
    ``one_line`` folds runs of white space (names, titles) into single spaces. A NUL
    character, which PostgreSQL cannot store, is refused in words."""
    text = "" if value is None else str(value)
    text = " ".join(text.split()) if one_line else text.strip()
    if "\x00" in text:
        errors.setdefault(field, "Remove the NUL character: text may not contain it.")
    elif required and not text:
        errors.setdefault(field, required)
    elif len(text) > limit:
        errors.setdefault(field, f"Keep this under {limit} characters.")
    return text


# Dates and times --------------------------------------------------------------------------------


def parse_date(
    value,
    field: str,
    errors: dict,
    *,
    required: bool = False,
    default: datetime.date | None = None,
    earliest: datetime.date | None = None,
    latest: datetime.date | None = None,
) -> datetime.date | None:
    """A date from a date object or ``YYYY-MM-DD``.

    Empty: ``default``, with a message when ``required``. Unreadable or outside
    ``earliest``..``latest``: a message and ``default``."""
    if value in (None, ""):
        if required:
            errors.setdefault(field, "Give a date, e.g. 2025-03-04.")
        return default
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    else:
        try:
            day = datetime.date.fromisoformat(str(value).strip())
        except ValueError:
            errors.setdefault(field, "Give the date as YYYY-MM-DD, e.g. 2025-03-04.")
            return default
    if earliest is not None and day < earliest:
        errors.setdefault(field, f"The date cannot be before {earliest:%-d %B %Y}.")
        return default
    if latest is not None and day > latest:
        errors.setdefault(field, f"The date cannot be after {latest:%-d %B %Y}.")
        return default
    return day


def parse_time(value, field: str, errors: dict, *, required: bool = True) -> datetime.time | None:
    """``09:00`` or a time -> a naive time to the minute; a wrong value adds a message."""
    if isinstance(value, datetime.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if value in (None, ""):
        if required:
            errors.setdefault(field, "Give a time, e.g. 09:00.")
        return None
    try:
        return datetime.time.fromisoformat(str(value).strip()).replace(second=0, microsecond=0, tzinfo=None)
    except ValueError:
        errors.setdefault(field, f"“{str(value)[:20]}” is not a time; write it as HH:MM, e.g. 09:00 or 17:30.")
        return None


# Money -----------------------------------------------------------------------------------------


def parse_amount(
    value,
    field: str,
    errors: dict,
    *,
    required: bool = True,
    zero_allowed: bool = True,
    maximum: Decimal = LARGEST_AMOUNT,
    empty_message: str = "Enter the amount, e.g. 40.00.",
) -> Decimal | None:
    """A money amount to the cent: a Decimal, a whole number or a string such as "95.00"
    (a thousands comma and a leading "$" are ignored). Never a float, which cannot hold most
    cent amounts exactly. Zero only if ``zero_allowed``; never negative; at most ``maximum``."""
    if value in (None, ""):
        if required:
            errors.setdefault(field, empty_message)
        return None
    if isinstance(value, bool | float):
        errors.setdefault(field, NOT_A_NUMBER)
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip().lstrip("$").replace(",", ""))
    except (InvalidOperation, ValueError):
        errors.setdefault(field, NOT_A_NUMBER)
        return None
    if not amount.is_finite():
        errors.setdefault(field, NOT_A_NUMBER)
    elif amount < 0 and zero_allowed:
        errors.setdefault(field, "An amount cannot be negative.")
    elif amount <= 0 and not zero_allowed:
        errors.setdefault(field, "The amount must be more than zero.")
    elif amount > maximum:
        errors.setdefault(field, f"The amount is larger than {maximum:,.2f}; check it.")
    elif amount != amount.quantize(CENT):
        errors.setdefault(field, "Give the amount in whole cents, e.g. 40.50.")
    else:
        return amount.quantize(CENT)
    return None


# Gathering ------------------------------------------------------------------------------------


def collect_errors(errors: dict, check, *args, field: str | None = None, **kwargs):
    """``check(*args, **kwargs)``, or None when it raised ValidationError: its messages go
    into ``errors`` (a field already there keeps its own message), so one refusal does not
    hide the next. A refusal naming no field goes under ``field``, or is raised as it is
    when ``field`` is None (it is about the whole record, not one of its fields)."""
    try:
        return check(*args, **kwargs)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, " ".join(messages))
        elif field is not None:
            errors.setdefault(field, " ".join(exc.messages))
        else:
            raise
        return None
