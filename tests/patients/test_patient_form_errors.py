"""The patient form shows every problem in one pass, with a summary on top, and stores
phone numbers in one format (core/phones.py)."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from effleura.core.api_schemas import LONG_TEXT
from effleura.core.phones import NOT_A_PHONE
from effleura.patients import actions
from effleura.patients.models import Patient

from .helpers import edit_form_data, page_text, patient_form_data

CREATE = reverse("patients:create")


def field_error(text: str, field: str) -> str:
    return " ".join(re.findall(rf'<p class="error" id="id_{field}_error">(.*?)</p>', text))


def test_it_shows_every_bad_field_at_once_with_a_summary(client_for, front_desk):
    data = patient_form_data(
        legal_last_name="",  # refused by the form
        date_of_birth="23rd April",  # refused by the form
        phone="12",  # refused by the action
        emergency_contact_phone="call me",  # refused by the action
        email="",
        preferred_contact="email",  # refused by the action
    )
    text = page_text(client_for(front_desk).post(CREATE, data))
    assert field_error(text, "legal_last_name") == "This field is required."
    assert field_error(text, "date_of_birth") == "Enter a valid date."
    assert field_error(text, "phone") == NOT_A_PHONE
    assert field_error(text, "emergency_contact_phone") == NOT_A_PHONE
    assert field_error(text, "email") == "Add an email address, or choose another contact method."
    assert "5 problems need fixing before this can be saved" in text
    for field in ("legal_last_name", "date_of_birth", "phone", "emergency_contact_phone", "email"):
        assert f'<a href="#id_{field}">' in text
    assert not Patient.objects.exists()


def test_it_stores_the_phone_numbers_in_one_format(client_for, front_desk):
    data = patient_form_data(phone="503.555.0134 x7", emergency_contact_phone="+44 20 7946 0958")
    assert client_for(front_desk).post(CREATE, data).status_code == 302
    patient = Patient.objects.get()
    assert patient.phone == "(503) 555-0134 ext. 7"
    assert patient.emergency_contact_phone == "+44 20 7946 0958"
    assert patient.phone_digits.startswith("5035550134")  # search by digits still finds it


@pytest.mark.django_db
def test_an_edit_lists_the_forms_problems_and_the_actions_together(client_for, front_desk):
    client = client_for(front_desk)
    client.post(CREATE, patient_form_data())
    patient = Patient.objects.get()
    data = edit_form_data(patient, legal_first_name="", phone="999", date_of_birth="2999-01-01")
    text = page_text(client.post(reverse("patients:edit", args=[patient.public_id]), data))
    assert "3 problems need fixing before this can be saved" in text
    assert field_error(text, "legal_first_name") == "This field is required."
    assert field_error(text, "phone") == NOT_A_PHONE
    assert field_error(text, "date_of_birth") == "The date of birth can’t be in the future."
    patient.refresh_from_db()
    assert patient.phone == "(555) 555-0134"


def test_the_notes_count_the_characters_left(client_for, front_desk):
    text = page_text(client_for(front_desk).get(CREATE))
    limit = actions.TEXT_LIMITS["notes"]
    assert f'data-counter-for="id_notes" data-limit="{limit}"' in text
    assert f"{limit} characters left" in text
    assert f'maxlength="{limit}"' in text


def test_the_server_refuses_notes_over_the_counters_limit_in_the_same_words(front_desk):
    limit = actions.TEXT_LIMITS["notes"]
    with pytest.raises(ValidationError) as refused:
        actions.check_create_patient(front_desk, patient_form_data(notes="x" * (limit + 1)))
    assert refused.value.message_dict == {"notes": [f"Keep this under {limit} characters."]}


def test_a_health_history_note_over_its_limit_is_refused_not_cut_short():
    with pytest.raises(ValidationError) as refused:
        actions.clean_health_history(
            {"recent_illness_notes": "x" * (actions.NOTE_MAX + 1), "allergies": "y" * (LONG_TEXT + 1)},
            datetime.date(2026, 1, 1),
        )
    assert refused.value.message_dict == {
        "recent_illness_notes": [f"Keep this under {actions.NOTE_MAX} characters."],
        "allergies": [f"Keep this under {LONG_TEXT} characters."],
    }


def test_the_api_lists_every_field_error_in_its_422(api_as, owner):
    body = {"legal_first_name": " ", "legal_last_name": "Rivera", "phone": "12", "email": "nope"}
    answer = api_as(owner).send("POST", "/patients", body | {"date_of_birth": "1850-01-01"})
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert errors["phone"] == NOT_A_PHONE
    assert set(errors) == {"legal_first_name", "phone", "email", "date_of_birth"}


def test_the_chart_shows_an_old_number_in_the_stored_format_with_a_link_to_call(client_for, front_desk):
    client = client_for(front_desk)
    client.post(CREATE, patient_form_data())
    patient = Patient.objects.get()
    Patient.objects.filter(pk=patient.pk).update(phone="5035550134")  # typed before numbers were read
    text = page_text(client.get(reverse("patients:chart", args=[patient.public_id])))
    assert '<a href="tel:+1-503-555-0134">(503) 555-0134</a>' in text
