"""National Provider Identifier (NPI) check.

An NPI is 10 digits; the 10th is a Luhn check digit computed over the prefix 80840
(the health-industry card issuer prefix) followed by the first 9 digits (PRODUCT.md,
"Standards we speak"). This checks the form only: it does not ask the NPPES registry
whether the number was issued.
"""

PREFIX = "80840"


def check_digit(first_nine: str) -> int:
    """The Luhn check digit for "80840" + ``first_nine`` (9 digits)."""
    digits = [int(c) for c in PREFIX + first_nine]
    total = 0
    # From the right, every other digit starting with the rightmost is doubled
    # (the check digit, not yet present, would sit to its right).
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def is_valid_npi(value: str) -> bool:
    """True when ``value`` is exactly 10 ASCII digits and its last is the check digit."""
    if not isinstance(value, str) or len(value) != 10 or not all("0" <= c <= "9" for c in value):
        return False
    return check_digit(value[:9]) == int(value[9])
