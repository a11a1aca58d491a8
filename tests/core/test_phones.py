"""Phone numbers: one reading, one stored format (core/phones.py)."""

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from effleura.core.models import Practice
from effleura.core.phones import NOT_A_PHONE, clean_phone, display_phone, format_phone


def clean(value, region="US"):
    errors = {}
    return clean_phone(value, "phone", errors, region=region), errors


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("503 555 0100", "(503) 555-0100"),
        ("(503) 555-0100", "(503) 555-0100"),
        ("503.555.0100", "(503) 555-0100"),
        ("+1 503 555 0100", "(503) 555-0100"),
        ("1-503-555-0100", "(503) 555-0100"),
        ("503-555-0100 x12", "(503) 555-0100 ext. 12"),
        ("+44 20 7946 0958", "+44 20 7946 0958"),
        ("011 44 20 7946 0958", "+44 20 7946 0958"),  # dialled from the US,
    ],
)
def test_it_stores_a_number_in_one_format(typed, stored):
    assert clean(typed) == (stored, {})


def test_it_keeps_blank_blank():
    assert clean("   ") == ("", {})
    assert clean(None) == ("", {})


@pytest.mark.parametrize("typed", ["12", "call me", "503 555 0100 0100 0100", "+999 123", "x" * 300])
def test_it_refuses_a_number_nobody_can_call(typed):
    value, errors = clean(typed)
    assert errors == {"phone": NOT_A_PHONE}
    assert value  # the typed text comes back so the form can show it again


def test_it_accepts_the_demo_clinics_fictional_and_local_numbers():
    assert clean("(503) 555-0100") == ("(503) 555-0100", {})
    assert clean("(555) 555-0134") == ("(555) 555-0134", {})  # possible, though no such area code
    assert clean("555-0140") == ("555-0140", {})  # a local number, without its area code


def test_it_reads_a_number_in_another_country_when_asked():
    assert clean("020 7946 0958", region="GB") == ("020 7946 0958", {})
    assert clean("+1 503 555 0100", region="GB") == ("+1 503-555-0100", {})


@pytest.mark.django_db
def test_it_reads_numbers_in_the_practice_country_by_default():
    Practice.objects.create(name="Clinic", phone_region="GB")
    errors = {}
    assert clean_phone("020 7946 0958", "phone", errors) == "020 7946 0958"
    assert clean_phone("(503) 555-0100 ", "fax", errors, region="US") == "(503) 555-0100"
    assert errors == {}
    assert display_phone("+1 503-555-0100") == "+1 503-555-0100"


def test_it_shows_old_free_text_as_it_was_typed():
    assert display_phone("ask at reception", "US") == "ask at reception"
    assert display_phone("5035550100", "US") == "(503) 555-0100"


REGIONS = sorted(r for r in ("US", "CA", "GB", "DE", "FR", "AU", "NZ", "IE", "NL", "BE", "CH", "JP", "BR", "MX", "IN"))


@settings(max_examples=200, deadline=None)
@given(
    region=st.sampled_from(REGIONS),
    home=st.sampled_from(REGIONS),
    kind=st.sampled_from(
        [
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
            phonenumbers.PhoneNumberType.TOLL_FREE,
        ]
    ),
    extension=st.one_of(st.none(), st.integers(min_value=1, max_value=99999).map(str)),
)
def test_formatting_a_valid_number_and_reading_it_again_gives_the_same_number(region, home, kind, extension):
    number = phonenumbers.example_number_for_type(region, kind)
    if number is None:
        return
    if extension:
        number.extension = extension
    stored = format_phone(number, home)
    errors = {}
    again = clean_phone(stored, "phone", errors, region=home)
    assert errors == {}
    assert again == stored  # one format: cleaning the stored text changes nothing
    reread = phonenumbers.parse(again, home)
    assert reread.country_code == number.country_code
    assert reread.national_number == number.national_number
    assert (reread.extension or None) == (number.extension or None)
