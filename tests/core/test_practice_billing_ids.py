"""The identifiers superbills and claims print: the practice's tax ID and group NPI (the
Practice page) and each practitioner's NPI (the staff form). A mistyped NPI is refused with a
plain message; a valid one is kept."""

import pytest
from django.urls import reverse

from effleura.core.models import Practice, User

VALID_NPI = "1234567893"  # CMS's published example: the check digit over the 80840 prefix holds
WRONG_CHECK_DIGIT = "1234567890"


SETTINGS = {
    "time_zone": "America/Chicago",
    "decimal_separator": ".",
    "largest_amount": "1000000.00",
    "start_window_minutes": "30",
    "phone_region": "US",
}


def _practice(**overrides):
    return {"name": "Riverside Clinical Massage", "tax_id": "12-3456789", "npi": VALID_NPI, **SETTINGS, **overrides}


def test_the_practice_page_asks_for_the_tax_id_and_npi(client_for, owner):
    page = client_for(owner).get(reverse("core:practice")).content.decode()
    assert 'name="tax_id"' in page and "Tax ID" in page
    assert 'name="npi"' in page and "NPI" in page


def test_the_owner_saves_the_tax_id_and_npi_and_the_page_shows_them(client_for, owner):
    client = client_for(owner)
    assert client.post(reverse("core:practice"), _practice()).status_code == 302
    practice = Practice.current()
    assert (practice.tax_id, practice.npi) == ("12-3456789", VALID_NPI)
    page = client.get(reverse("core:practice")).content.decode()
    assert 'value="12-3456789"' in page and f'value="{VALID_NPI}"' in page


@pytest.mark.parametrize("npi", [WRONG_CHECK_DIGIT, "12345", "abcdefghij"])
def test_it_refuses_a_practice_npi_that_fails_the_check(client_for, owner, npi):
    response = client_for(owner).post(reverse("core:practice"), _practice(npi=npi))
    assert response.status_code == 200
    text = response.content.decode()
    assert "not a valid NPI" in text
    assert Practice.current().npi != npi


def _staff(**overrides):
    return {
        "username": "npitherapist", "first_name": "Nova", "last_name": "Testpatient", "credentials": "LMT",
        "email": "nova@example.test", "role": "therapist", "is_active": "on", "password": "a-long-enough-passphrase-1",
        **overrides,
    }  # fmt: skip


def test_the_staff_form_keeps_a_valid_practitioner_npi(client_for, owner):
    client = client_for(owner)
    assert 'name="npi"' in client.get(reverse("core:staff_create")).content.decode()
    assert client.post(reverse("core:staff_create"), _staff(npi=VALID_NPI)).status_code == 302
    assert User.objects.get(username="npitherapist").npi == VALID_NPI


def test_the_staff_form_refuses_an_npi_with_a_wrong_check_digit(client_for, owner, therapist):
    client = client_for(owner)
    response = client.post(reverse("core:staff_create"), _staff(npi=WRONG_CHECK_DIGIT))
    assert response.status_code == 200
    assert "not a valid NPI" in response.content.decode()
    assert not User.objects.filter(username="npitherapist").exists()
    edit = client.post(
        reverse("core:staff_edit", args=[therapist.public_id]),
        _staff(username="therapist", npi=WRONG_CHECK_DIGIT, password=""),
    )
    assert "not a valid NPI" in edit.content.decode()
    therapist.refresh_from_db()
    assert therapist.npi != WRONG_CHECK_DIGIT


def test_the_owner_sets_the_practice_time_zone_separator_and_limits(client_for, owner):
    fields = _practice(time_zone="Europe/Berlin", decimal_separator=",", start_window_minutes="10", phone_region="de")
    assert client_for(owner).post(reverse("core:practice"), fields).status_code == 302
    practice = Practice.current()
    assert (practice.time_zone, practice.decimal_separator) == ("Europe/Berlin", ",")
    assert (practice.start_window_minutes, practice.phone_region) == (10, "DE")
    assert practice.zone.key == "Europe/Berlin"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("time_zone", "Mars/Olympus", "not a time zone we know"),
        ("phone_region", "XX", "not a country code for phone numbers"),
        ("largest_amount", "0.50", "greater than or equal to 1.00"),
    ],
)
def test_it_refuses_a_setting_it_cannot_use_and_keeps_the_saved_one(client_for, owner, field, value, message):
    client = client_for(owner)
    client.post(reverse("core:practice"), _practice())
    response = client.post(reverse("core:practice"), _practice(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Practice.current().time_zone == "America/Chicago"


def test_a_new_practice_starts_from_the_configured_zone(settings):
    settings.TIME_ZONE = "America/Denver"
    assert Practice(name="New").time_zone == "America/Denver"
