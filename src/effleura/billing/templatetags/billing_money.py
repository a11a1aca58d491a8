"""{{ amount|money:practice }}: an amount as the practice writes it (1,234.56 or 1.234,56).

Billing pages show amounts, and fill form fields with them, with the practice's decimal
separator (Practice.decimal_separator), so a value shown in a form reads back as the same
amount when it is posted (core.values.parse_amount). ``practice`` is the Practice every
page has in its context (core's context processor): no query of its own.
"""

from decimal import Decimal, InvalidOperation

from django import template

from effleura.core.values import POINT, format_amount

register = template.Library()


@register.filter
def money(value, practice=None) -> str:
    if value is None or value == "":
        return ""
    separator = practice if isinstance(practice, str) else getattr(practice, "decimal_separator", POINT)
    try:
        return format_amount(Decimal(value), separator or POINT)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
