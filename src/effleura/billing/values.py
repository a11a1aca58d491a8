"""Reading the two kinds of value every billing form and API call takes: money amounts and
dates. One reading for the whole app, so a fee, a payment, a refund and a claim's paid
amount accept the same input and refuse it in the same words.

Both write a plain-words message into ``errors[field]`` and return None rather than raise,
so a form reports every problem at once.
"""

import datetime
from decimal import Decimal, InvalidOperation

from effleura.billing.models.money import CENT, MAX_DIGITS

# The largest amount a money column holds (12 digits, 2 after the point).
LARGEST = Decimal(10 ** (MAX_DIGITS - 2)) - CENT
NOT_A_NUMBER = "Enter the amount as a number, e.g. 40.00."


def parse_amount(
    value,
    field: str,
    errors: dict,
    *,
    required: bool = True,
    zero_allowed: bool = True,
    maximum: Decimal = LARGEST,
    empty_message: str = "Enter the amount, e.g. 40.00.",
) -> Decimal | None:
    """A money amount to the cent: a Decimal, a whole number or a string such as "95.00"
    (a thousands comma and a leading "$" are ignored). Never a float, which cannot hold most
    cent amounts exactly. Zero only if ``zero_allowed``; never negative; at most ``maximum``."""
    if value in (None, ""):
        if required:
            errors[field] = empty_message
        return None
    if isinstance(value, bool | float):
        errors[field] = NOT_A_NUMBER
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip().lstrip("$").replace(",", ""))
    except (InvalidOperation, ValueError):
        errors[field] = NOT_A_NUMBER
        return None
    if not amount.is_finite():
        errors[field] = NOT_A_NUMBER
    elif amount < 0 and zero_allowed:
        errors[field] = "An amount cannot be negative."
    elif amount <= 0 and not zero_allowed:
        errors[field] = "The amount must be more than zero."
    elif amount != amount.quantize(CENT):
        errors[field] = "Give the amount in whole cents, e.g. 40.50."
    elif amount > maximum:
        errors[field] = f"The amount is larger than {maximum:,.2f}; check it."
    else:
        return amount.quantize(CENT)
    return None


def parse_date(value, field: str, errors: dict, default=None) -> datetime.date | None:
    """A date (a date object or YYYY-MM-DD); ``default`` when empty or unreadable."""
    if value in (None, ""):
        return default
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = "Give the date as a date, e.g. 2025-03-04."
        return default
