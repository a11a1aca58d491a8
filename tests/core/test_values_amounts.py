"""Reading money amounts (core/values.py parse_amount for forms, parse_api_amount for the API).

The defect behind these: "95,00" typed in Take a payment was read as 9,500.00. A form now
follows the practice's decimal separator, and any other use of the other mark is refused
in words."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from effleura.core.models import Practice
from effleura.core.values import (
    API_AMOUNT_MESSAGE,
    format_amount,
    parse_amount,
    parse_api_amount,
)

D = Decimal
POINT = Practice(name="Synthetic practice", decimal_separator=".", largest_amount=D("1000000.00"))
COMMA = Practice(name="Synthetic practice", decimal_separator=",", largest_amount=D("1000000.00"))


def read(value, practice=POINT, **options):
    errors: dict[str, str] = {}
    amount = parse_amount(value, "amount", errors, practice=practice, **options)
    if errors:
        raise ValidationError(errors)
    return amount


def refusal(value, practice=POINT, **options) -> str:
    with pytest.raises(ValidationError) as error:
        read(value, practice, **options)
    return error.value.message_dict["amount"][0]


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("95", "95.00"), ("95.00", "95.00"), ("95.5", "95.50"), ("$95.00", "95.00"), ("€ 95", "95.00"),
     ("£1,234.56", "1234.56"), ("USD 40", "40.00"), ("40 usd", "40.00"), ("1,000,000", "1000000.00"),
     (" 12.30 ", "12.30"), ("0", "0.00"), ("0.07", "0.07")],
)  # fmt: skip
def test_a_point_practice_reads_points_and_comma_groups(typed, amount):
    assert read(typed) == D(amount)


@pytest.mark.parametrize("typed", ["95,00", "95,5", "9,50", "1,2345", "12,34.00", "1,00,000", "1.234,56"])
def test_it_refuses_a_comma_that_is_not_a_thousands_group_in_a_point_practice(typed):
    assert refusal(typed) == "Use a point for cents, e.g. 95.00."


def test_95_comma_00_is_never_read_as_9500():
    assert refusal("95,00") == "Use a point for cents, e.g. 95.00."
    assert read("95,00", COMMA) == D("95.00")


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("95,00", "95.00"), ("95", "95.00"), ("1.234,56", "1234.56"), ("1 234,56", "1234.56"),
     ("1\u00a0234,5", "1234.50"), ("€ 1.000.000", "1000000.00")],
)  # fmt: skip
def test_a_comma_practice_mirrors_it(typed, amount):
    assert read(typed, COMMA) == D(amount)


@pytest.mark.parametrize("typed", ["95.00", "95.5", "1234.567", "1.23,00", "1 23,00"])
def test_a_comma_practice_refuses_a_point_for_cents(typed):
    assert refusal(typed, COMMA) == "Use a comma for cents, e.g. 95,00."


@pytest.mark.parametrize(
    ("typed", "message"),
    [("", "Enter the amount"), ("ten", "as a number"), ("1e30", "as a number"), ("nan", "as a number"),
     ("10.001", "whole cents"), ("-5", "cannot be negative"), ("1000000.01", "at most 1,000,000.00"),
     ("9" * 50, "as a number"), ("٩٥", "as a number")],
)  # fmt: skip
def test_it_refuses_what_is_not_an_amount_in_plain_words(typed, message):
    assert message in refusal(typed)


def test_payments_must_be_more_than_zero_and_fees_may_be_zero():
    assert "more than zero" in refusal("0", zero_allowed=False)
    assert "more than zero" in refusal("-3", zero_allowed=False)
    assert read("0", zero_allowed=True) == D("0.00")


def test_the_limit_is_the_practices_largest_amount_shown_with_its_separator():
    small = Practice(name="Synthetic practice", decimal_separator=",", largest_amount=D("5000.00"))
    assert refusal("5000,01", small) == "The amount can be at most 5.000,00; check it."
    assert read("5.000", small) == D("5000.00")


def test_code_and_the_api_pass_exact_decimals_and_whole_numbers_never_floats():
    assert read(D("95.1")) == D("95.10")
    assert read(95) == D("95.00")
    assert "as a number" in refusal(95.1)
    assert "at most 1,000,000.00" in refusal(D("1E+30"))


@pytest.mark.parametrize(("value", "amount"), [(D("95.1"), "95.1"), ("95.10", "95.10"), (95, "95"), ("0", "0")])
def test_the_api_takes_a_point_number_or_string(value, amount):
    errors: dict = {}
    assert parse_api_amount(value, "amount", errors) == D(amount) and not errors


@pytest.mark.parametrize("value", ["95,00", "$95", "1,000.00", "95.001", " 95", "1e30", 95.1, True, None, [], "-5"])
def test_the_api_refuses_anything_else(value):
    errors: dict = {}
    assert parse_api_amount(value, "amount", errors) is None
    assert errors == {"amount": API_AMOUNT_MESSAGE}


def test_format_amount_uses_the_separator():
    assert format_amount(D("1234567.5")) == "1,234,567.50"
    assert format_amount(D("1234567.5"), ",") == "1.234.567,50"


@given(text=st.text(max_size=60))
def test_the_form_reader_never_raises_anything_but_validation_error(text):
    for practice in (POINT, COMMA):
        try:
            amount = read(text, practice)
        except ValidationError as error:
            assert error.message_dict["amount"][0]
        else:
            assert amount is None or (amount == amount.quantize(D("0.01")) and D(0) <= amount <= D("1000000"))


@given(text=st.text(alphabet="0123456789.,$€£ -USDe", max_size=20))
def test_amount_like_text_is_read_or_refused_never_misread(text):
    for practice in (POINT, COMMA):
        try:
            amount = read(text, practice)
        except ValidationError:
            continue
        # What was read, written back with the practice's separator, reads the same.
        assert read(format_amount(amount, practice.decimal_separator), practice) == amount


@given(cents=st.integers(min_value=0, max_value=100_000_000))
def test_any_amount_formatted_with_the_separator_reads_back_to_the_cent(cents):
    amount = D(cents) / 100
    for practice in (POINT, COMMA):
        assert read(format_amount(amount, practice.decimal_separator), practice) == amount
        assert read(f"{amount:.2f}".replace(".", practice.decimal_separator), practice) == amount


@pytest.mark.parametrize(("typed", "practice", "hint"), [("1.000", POINT, "1,000"), ("1,000", COMMA, "1.000")])
def test_a_thousand_typed_the_other_way_is_refused_with_a_hint(typed, practice, hint):
    errors = {}
    assert parse_amount(typed, "amount", errors, practice=practice) is None
    assert "for a thousand type 1000 or " + hint in errors["amount"]
