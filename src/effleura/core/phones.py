"""Phone and fax numbers: read with Google's libphonenumber rules (the ``phonenumbers``
package) and stored in one format, so the same number is always written the same way.

A number typed without a ``+country`` code is read as a number of the practice's country
(``Practice.phone_region``, "US" by default). It is stored in the national format when it
belongs to that country ("(503) 555-0100") and in the international format otherwise
("+44 20 7946 0958"); an extension is kept ("(503) 555-0100 ext. 12").

We refuse numbers that cannot be dialled (too short or too long for the country) and
accept every *possible* number rather than only the numbers phonenumbers knows to be
assigned (``is_possible_number``, not ``is_valid_number``): numbering plans change faster
than the library, and the demo clinic's fictional 555-01xx numbers must be accepted. A
local number typed without its area code (555-0140) is possible too, and kept as typed.
"""

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

NOT_A_PHONE = "This is not a phone number we can call: check the digits (e.g. (503) 555-0100)"
# Longer than any real number with an extension; keeps the parser from chewing on essays.
LONGEST_INPUT = 40


def practice_region() -> str:
    """The practice's country for phone numbers (two letters, e.g. "US")."""
    from effleura.core.models import Practice

    return Practice.current().phone_region or "US"


def parse_phone(value: str, region: str) -> phonenumbers.PhoneNumber | None:
    """``value`` as a dialable number, or None when it is not one."""
    try:
        number = phonenumbers.parse(value, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def format_phone(number: phonenumbers.PhoneNumber, region: str) -> str:
    """The one stored form: national inside ``region``, international outside it."""
    same_country = phonenumbers.region_code_for_number(number) == region or (
        number.country_code == phonenumbers.country_code_for_region(region)
    )
    return phonenumbers.format_number(
        number, PhoneNumberFormat.NATIONAL if same_country else PhoneNumberFormat.INTERNATIONAL
    )


def clean_phone(value, field: str, errors: dict, *, region: str | None = None) -> str:
    """``value`` as a stored phone number ("" when blank), or the raw text with a message in
    ``errors[field]`` when it is not a number we can call. ``region`` defaults to the
    practice's country; the caller raises ``ValidationError(errors)`` after every field."""
    text = "" if value is None else " ".join(str(value).split())
    if not text:
        return ""
    if len(text) > LONGEST_INPUT:
        errors.setdefault(field, NOT_A_PHONE)
        return text
    region = (region or practice_region()).upper()
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        errors.setdefault(field, NOT_A_PHONE)
        return text
    if not phonenumbers.is_possible_number(number):
        errors.setdefault(field, NOT_A_PHONE)
        return text
    return format_phone(number, region)


def display_phone(value, region: str | None = None) -> str:
    """A stored number as a reader in the practice's country would write it; text that is
    not a number (an old record) is shown as it was typed."""
    text = "" if value is None else str(value).strip()
    if not text or len(text) > LONGEST_INPUT:
        return text
    region = (region or practice_region()).upper()
    number = parse_phone(text, region)
    return format_phone(number, region) if number is not None else text


def dial_uri(value, region: str | None = None) -> str:
    """A ``tel:`` link target (E.164 with the extension) or "" when ``value`` is no number."""
    text = "" if value is None else str(value).strip()
    if not text or len(text) > LONGEST_INPUT:
        return ""
    number = parse_phone(text, (region or practice_region()).upper())
    return phonenumbers.format_number(number, PhoneNumberFormat.RFC3966) if number is not None else ""
