"""Reading the values every form, API call, query string and file brings in: ids, text,
dates, times and money amounts. One reading for the whole system, so the same input is
accepted or refused in the same words wherever it is typed.

The ``parse_*`` and ``clean_*`` helpers write a plain-words message into ``errors[field]``
and return None (or the cleaned value) rather than raise, so a form reports every problem
at once; the caller raises ``ValidationError(errors)`` when it has looked at every field.
``as_uuid`` raises Http404 instead: a malformed id in a URL names nothing.
"""

import datetime
import re
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal

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

# How amounts are typed. The practice chooses its decimal separator (Practice.decimal_separator);
# the other mark groups thousands, in groups of exactly three. A "," practice also takes a
# space (or a no-break space) between groups. Anything else with the other mark in it is
# refused in words, so "95,00" in a "." practice is never read as 9,500.
POINT, COMMA = ".", ","
_SIGNS = ("$", "€", "£")
_GROUPS = {POINT: "[,]", COMMA: "[. \u00a0\u202f]"}
WRONG_SEPARATOR = {POINT: "Use a point for cents, e.g. 95.00.", COMMA: "Use a comma for cents, e.g. 95,00."}
_API_AMOUNT = re.compile(r"\d+(\.\d{1,2})?", re.ASCII)
API_AMOUNT_MESSAGE = 'Give the amount as a number or a string with a point for the cents, e.g. 95.00 or "95.00".'


def _amount_grammar(separator: str) -> re.Pattern:
    group, decimal = _GROUPS[separator], re.escape(separator)
    return re.compile(rf"(?P<int>\d+|\d{{1,3}}(?:{group}\d{{3}})+)(?:{decimal}(?P<frac>\d+))?", re.ASCII)


_GRAMMARS = {POINT: _amount_grammar(POINT), COMMA: _amount_grammar(COMMA)}


def _practice():
    from effleura.core.models import Practice  # here: core.models needs nothing from this module

    return Practice.current()


def format_amount(amount: Decimal, separator: str = POINT) -> str:
    """``amount`` to the cent with its thousands grouped: 1,234.56, or 1.234,56 in a "," practice."""
    text = f"{Decimal(amount).quantize(CENT):,.2f}"
    if separator == COMMA:
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def _strip_sign(text: str, currency: str) -> str:
    text = text.strip()
    for sign in (*_SIGNS, currency.upper()):
        if sign and text.upper().startswith(sign):
            return text[len(sign) :].strip()
        if sign and text.upper().endswith(sign):
            return text[: -len(sign)].strip()
    return text


def _read_typed(text: str, separator: str, currency: str, field: str, errors: dict) -> Decimal | None:
    """An amount as a person types it in a form of a ``separator`` practice, or None (with a message)."""
    body = text.strip()
    minus = body.startswith("-")
    body = (
        _strip_sign(body.removeprefix("-"), currency).removeprefix("-").strip()
        if minus
        else _strip_sign(body, currency)
    )
    if not minus and body.startswith("-"):  # "$-5"
        minus, body = True, body[1:].strip()
    found = _GRAMMARS[separator].fullmatch(body)
    if found is None:
        other = COMMA if separator == POINT else POINT
        if other in body or (separator == COMMA and " " in body):
            errors.setdefault(field, WRONG_SEPARATOR[separator])
        else:
            errors.setdefault(field, NOT_A_NUMBER if separator == POINT else NOT_A_NUMBER.replace("40.00", "40,00"))
        return None
    digits = re.sub(r"\D", "", found["int"])
    frac = found["frac"] or ""
    if len(frac) == 3:
        # "1.000" in a point practice is most likely one thousand typed the other way.
        errors.setdefault(field, "Three digits after the point: for a thousand type 1000 or 1,000; "
                          "for whole cents, two digits, e.g. 40.50." if separator == POINT
                          else "Three digits after the comma: for a thousand type 1000 or 1.000; "
                          "for whole cents, two digits, e.g. 40,50.")  # fmt: skip
        return None
    if len(frac) > 2:
        errors.setdefault(field, "Give the amount in whole cents, e.g. 40.50." if separator == POINT
                          else "Give the amount in whole cents, e.g. 40,50.")  # fmt: skip
        return None
    amount = Decimal(f"{digits}.{frac or '0'}")
    return -amount if minus else amount


def _within(amount: Decimal, field: str, errors: dict, *, zero_allowed: bool, maximum: Decimal, separator: str):
    if not amount.is_finite():
        errors.setdefault(field, NOT_A_NUMBER)
    elif amount < 0 and zero_allowed:
        errors.setdefault(field, "An amount cannot be negative.")
    elif amount <= 0 and not zero_allowed:
        errors.setdefault(field, "The amount must be more than zero.")
    elif amount > maximum:
        errors.setdefault(field, f"The amount can be at most {format_amount(maximum, separator)}; check it.")
    elif amount != amount.quantize(CENT):
        errors.setdefault(field, "Give the amount in whole cents, e.g. 40.50.")
    else:
        return amount.quantize(CENT)
    return None


def parse_amount(
    value,
    field: str,
    errors: dict,
    *,
    required: bool = True,
    zero_allowed: bool = True,
    maximum: Decimal | None = None,
    empty_message: str = "Enter the amount, e.g. 40.00.",
    practice=None,
) -> Decimal | None:
    """A money amount to the cent, from a form or from code: the one reader of amounts.

    Text is read as a person types it in the practice's forms (``Practice.decimal_separator``):
    an optional currency sign ($, €, £ or the practice's currency code), digits, optional
    groups of exactly three digits, and one or two decimals; any other use of the other mark
    is refused ("Use a point for cents, e.g. 95.00"). A Decimal or a whole number (what the
    API's ``Amount`` type and code pass on) is taken as it is. Never a float, which cannot
    hold most cent amounts exactly. Zero only if ``zero_allowed``; never negative; at most
    ``maximum`` (default ``Practice.largest_amount``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.setdefault(field, empty_message)
        return None
    if isinstance(value, bool | float):
        errors.setdefault(field, NOT_A_NUMBER)
        return None
    if maximum is None or isinstance(value, str):
        practice = practice or _practice()
    limit = min(maximum if maximum is not None else practice.largest_amount, LARGEST_AMOUNT)
    separator = POINT
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        from django.conf import settings

        separator = practice.decimal_separator if practice.decimal_separator in _GRAMMARS else POINT
        if len(value) > 40:
            errors.setdefault(field, NOT_A_NUMBER)
            return None
        amount = _read_typed(value, separator, settings.EFFLEURA_CURRENCY, field, errors)
        if amount is None:
            return None
    else:
        errors.setdefault(field, NOT_A_NUMBER)
        return None
    return _within(amount, field, errors, zero_allowed=zero_allowed, maximum=limit, separator=separator)


def parse_api_amount(value, field: str, errors: dict) -> Decimal | None:
    """An amount as the JSON API takes it, always with a point: a JSON number (the API's body
    parser reads it from its literal text into a Decimal, never through a float) or a string
    matching ``^\\d+(\\.\\d{1,2})?$``. Returns the exact Decimal or None with a message.

    Infinity, NaN and anything larger than a money column holds (1e30) are refused here,
    so no amount the API lets through can overflow a column or a calculation, in the
    words the actions use ("The amount can be at most 1,000,000.00"). Within that, the
    action's parse_amount checks its own bounds (more than zero, the practice's largest)."""
    if isinstance(value, bool | float):
        errors.setdefault(field, API_AMOUNT_MESSAGE)
        return None
    if isinstance(value, str) and len(value) <= 40 and _API_AMOUNT.fullmatch(value):
        value = Decimal(value)
    if isinstance(value, int):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        errors.setdefault(field, API_AMOUNT_MESSAGE)
        return None
    if abs(value) > LARGEST_AMOUNT:
        largest = min(_practice().largest_amount, LARGEST_AMOUNT)
        errors.setdefault(field, f"The amount can be at most {format_amount(largest)}; check it.")
        return None
    return value


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
