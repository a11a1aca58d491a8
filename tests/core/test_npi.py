"""NPI check digit (PRODUCT.md: Luhn check digit over the prefix 80840)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from effleura.core.npi import is_valid_npi


def luhn_valid(number: str) -> bool:
    """The plain Luhn test, written independently: double every second digit from the right."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        total += digit
    return total % 10 == 0


@pytest.mark.parametrize("npi", ["1234567893", "1045678905", "1987654328", "1555555550", "1000000004"])
def test_known_valid_npis(npi):
    assert luhn_valid("80840" + npi)  # cross-check of the examples themselves
    assert is_valid_npi(npi)


@pytest.mark.parametrize("npi", ["1234567890", "1234567894", "1045678906", "1987654320"])
def test_wrong_check_digit(npi):
    assert not is_valid_npi(npi)


@pytest.mark.parametrize(
    "value",
    [
        "123456789",
        "12345678931",
        "",
        "12345678a3",
        "ABCDEFGHIJ",
        "123 456 7893",
        " 1234567893",
        "1234567893 ",
        "1234-567893",
        "１２３４５６７８９３",
        "12345678９3",
    ],
)
def test_not_ten_ascii_digits(value):
    assert not is_valid_npi(value)


def test_not_a_string():
    assert not is_valid_npi(1234567893)  # type: ignore[arg-type]
    assert not is_valid_npi(None)  # type: ignore[arg-type]


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_for_any_nine_digits(prefix):
    valid = [d for d in "0123456789" if is_valid_npi(prefix + d)]
    assert len(valid) == 1
    assert luhn_valid("80840" + prefix + valid[0])


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_agrees_with_plain_luhn_over_the_prefix(npi):
    assert is_valid_npi(npi) == luhn_valid("80840" + npi)
