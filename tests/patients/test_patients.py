"""Registering a patient and editing their demographics, through the pages."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from effleura.core.choices import AuditAction, AuditOutcome
from effleura.patients import actions
from effleura.patients.models import Patient

from .helpers import audit_events, edit_form_data, page_text, patient_form_data

CREATE = reverse("patients:create")


def field_error(response, field: str) -> str:
    """The error text shown beside ``field`` (empty when there is none)."""
    found = re.findall(rf'<p class="error" id="id_{field}_error">(.*?)</p>', page_text(response))
    return " ".join(found)


def register(client, **overrides):
    return client.post(CREATE, patient_form_data(**overrides))


# Registration ---------------------------------------------------------------------------


def test_it_registers_a_patient_and_opens_their_chart(client_for, front_desk):
    client = client_for(front_desk)
    response = register(client)
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("patients:chart", args=[patient.public_id])
    assert patient.legal_name == "Ana Rivera"
    assert patient.date_of_birth == datetime.date(1980, 4, 23)
    assert patient.phone == "(555) 555-0134"
    assert patient.phone_digits == "5555550134"
    assert patient.status == "active"
    chart = client.get(response.url)
    assert f"Ana Rivera registered with chart number {patient.chart_number}." in page_text(chart)


def test_it_shows_the_registration_form_without_status_or_confirmation(client_for, front_desk):
    text = page_text(client_for(front_desk).get(CREATE))
    assert 'name="legal_first_name"' in text
    assert 'name="status"' not in text
    assert 'name="confirm_different_person"' not in text
    assert "duplicate-warning" not in text


def test_it_trims_what_was_typed(client_for, front_desk):
    register(client_for(front_desk), legal_first_name="  Ana ", legal_last_name=" Rivera  ")
    assert Patient.objects.get().legal_name == "Ana Rivera"


@pytest.mark.parametrize("field", ["legal_first_name", "legal_last_name", "date_of_birth"])
def test_it_refuses_a_registration_missing_a_required_field(client_for, front_desk, field):
    response = register(client_for(front_desk), **{field: ""})
    assert response.status_code == 200
    assert field_error(response, field) == "This field is required."
    assert not Patient.objects.exists()


def test_it_shows_every_missing_field_at_once(client_for, front_desk):
    response = register(client_for(front_desk), legal_first_name="", legal_last_name="", date_of_birth="")
    for field in ("legal_first_name", "legal_last_name", "date_of_birth"):
        assert field_error(response, field) == "This field is required."
    assert not Patient.objects.exists()


def test_it_refuses_a_date_of_birth_in_the_future(client_for, front_desk):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = register(client_for(front_desk), date_of_birth=tomorrow.isoformat())
    assert field_error(response, "date_of_birth") == "The date of birth can’t be in the future."
    assert not Patient.objects.exists()


def test_it_refuses_a_date_of_birth_before_1900(client_for, front_desk):
    response = register(client_for(front_desk), date_of_birth="1899-12-31")
    assert field_error(response, "date_of_birth") == "The date of birth can’t be before 1900."
    assert not Patient.objects.exists()


def test_it_accepts_a_birth_today_and_on_the_first_day_of_1900(client_for, front_desk):
    client = client_for(front_desk)
    register(client, date_of_birth=timezone.localdate().isoformat())
    register(client, legal_first_name="Old", date_of_birth="1900-01-01")
    assert Patient.objects.count() == 2


def test_it_refuses_a_date_of_birth_that_is_not_a_date(client_for, front_desk):
    response = register(client_for(front_desk), date_of_birth="23rd April")
    assert field_error(response, "date_of_birth") == "Enter a valid date."
    assert not Patient.objects.exists()


def test_it_keeps_what_was_typed_when_it_refuses(client_for, front_desk):
    response = register(client_for(front_desk), legal_last_name="", phone="555-0177")
    text = page_text(response)
    assert 'value="Ana"' in text
    assert 'value="555-0177"' in text


def test_it_asks_for_an_email_when_email_is_the_contact_method(client_for, front_desk):
    response = register(client_for(front_desk), email="", preferred_contact="email")
    assert field_error(response, "email") == "Add an email address, or choose another contact method."
    assert not Patient.objects.exists()


def test_it_warns_of_a_patient_with_the_same_name_and_birthday(client_for, front_desk, make_patient):
    existing = make_patient(legal_first_name="Ana", legal_last_name="Rivera", date_of_birth=datetime.date(1980, 4, 23))
    response = register(client_for(front_desk), legal_first_name="ANA", legal_last_name="rivera")
    text = page_text(response)
    assert response.status_code == 200
    assert 'id="duplicate-warning"' in text
    assert f"chart {existing.chart_number}, born 1980-04-23" in text
    assert reverse("patients:chart", args=[existing.public_id]) in text
    assert 'name="confirm_different_person"' in text
    assert 'name="saw_duplicates" value="1"' in text
    assert Patient.objects.count() == 1


def test_it_keeps_blocking_a_duplicate_until_the_box_is_ticked(client_for, front_desk, make_patient):
    make_patient(legal_first_name="Ana", legal_last_name="Rivera", date_of_birth=datetime.date(1980, 4, 23))
    response = register(client_for(front_desk), saw_duplicates="1")
    assert 'id="duplicate-warning"' in page_text(response)
    assert Patient.objects.count() == 1


def test_it_registers_a_different_person_with_the_same_name_once_confirmed(client_for, front_desk, make_patient):
    existing = make_patient(legal_first_name="Ana", legal_last_name="Rivera", date_of_birth=datetime.date(1980, 4, 23))
    client = client_for(front_desk)
    register(client)
    response = register(client, saw_duplicates="1", confirm_different_person="on")
    assert response.status_code == 302
    new = Patient.objects.exclude(pk=existing.pk).get()
    assert new.legal_name == "Ana Rivera"
    assert new.chart_number != existing.chart_number


def test_it_does_not_warn_for_the_same_name_with_another_birthday(client_for, front_desk, make_patient):
    make_patient(legal_first_name="Ana", legal_last_name="Rivera", date_of_birth=datetime.date(1981, 4, 23))
    response = register(client_for(front_desk))
    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_it_hands_out_unique_sequential_chart_numbers(client_for, front_desk):
    client = client_for(front_desk)
    for first in ("Ana", "Ben", "Cleo"):
        register(client, legal_first_name=first)
    numbers = list(Patient.objects.order_by("created_at", "id").values_list("chart_number", flat=True))
    assert len(set(numbers)) == 3
    assert all(re.fullmatch(r"EF\d{5}", n) for n in numbers)
    values = [int(n[2:]) for n in numbers]
    assert values == list(range(values[0], values[0] + 3))


def test_it_does_not_use_up_a_chart_number_on_a_refused_registration(client_for, front_desk):
    client = client_for(front_desk)
    register(client, legal_first_name="Ana")
    register(client, legal_first_name="Ben", date_of_birth="1899-01-01")
    register(client, legal_first_name="Cleo")
    first, second = Patient.objects.order_by("id").values_list("chart_number", flat=True)
    assert int(second[2:]) == int(first[2:]) + 1


def test_it_audits_the_registration(client_for, front_desk):
    register(client_for(front_desk))
    patient = Patient.objects.get()
    [event] = audit_events(action=AuditAction.CREATE, record_type="patient")
    assert event.outcome == AuditOutcome.ALLOWED
    assert event.actor_id == front_desk.pk
    assert event.actor_role == "front_desk"
    assert event.patient_id == patient.public_id
    assert event.record_id == str(patient.public_id)
    assert "Rivera" not in event.detail


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk"])
def test_it_lets_owner_therapist_and_front_desk_register(client_for, personas, role):
    response = register(client_for(personas[role]))
    assert response.status_code == 302
    assert Patient.objects.get().legal_name == "Ana Rivera"


@pytest.mark.parametrize("role", ["billing", "outsider"])
def test_it_refuses_registration_to_billing_and_no_role(client_for, personas, role):
    client = client_for(personas[role])
    form = client.get(CREATE)
    response = register(client)
    assert form.status_code == 403
    assert response.status_code == 403
    assert "Your role does not allow this page." in page_text(response)
    assert not Patient.objects.exists()
    denied = audit_events(outcome=AuditOutcome.DENIED, actor_id=personas[role].pk)
    assert [(e.action, e.record_type, e.detail) for e in denied] == [
        (AuditAction.CREATE, "patient", "GET patient.create"),
        (AuditAction.CREATE, "patient", "POST patient.create"),
    ]


def test_it_hides_the_add_button_from_billing(client_for, billing, therapist):
    assert reverse("patients:create") not in page_text(client_for(billing).get(reverse("patients:list")))
    assert reverse("patients:create") in page_text(client_for(therapist).get(reverse("patients:list")))


def test_it_refuses_registration_by_billing_in_the_action_too(billing):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        actions.check_create_patient(billing, patient_form_data())
    [event] = audit_events(outcome=AuditOutcome.DENIED)
    assert event.detail == "patient.create"


# Editing demographics -----------------------------------------------------------------------


@pytest.fixture
def ana(make_patient):
    return make_patient(
        legal_first_name="Ana",
        legal_last_name="Rivera",
        date_of_birth=datetime.date(1980, 4, 23),
        phone="555-0134",
    )


def edit(client, patient, **changes):
    return client.post(reverse("patients:edit", args=[patient.public_id]), edit_form_data(patient, **changes))


def test_it_shows_the_edit_form_filled_in_with_status(client_for, front_desk, ana):
    text = page_text(client_for(front_desk).get(reverse("patients:edit", args=[ana.public_id])))
    assert "Edit Ana Rivera" in text
    assert 'value="555-0134"' in text
    assert 'name="status"' in text


def test_it_saves_changed_demographics(client_for, front_desk, ana):
    client = client_for(front_desk)
    response = edit(client, ana, phone="(555) 867-5309", city="Springfield")
    assert response.status_code == 302
    assert response.url == reverse("patients:chart", args=[ana.public_id])
    ana.refresh_from_db()
    assert ana.phone == "(555) 867-5309"
    assert ana.phone_digits == "5558675309"
    assert ana.city == "Springfield"
    chart = page_text(client.get(response.url))
    assert "Saved." in chart
    assert "(555) 867-5309" in chart


def test_it_audits_the_names_of_changed_fields_but_never_their_values(client_for, front_desk, ana):
    edit(client_for(front_desk), ana, phone="(555) 867-5309", city="Springfield")
    [event] = audit_events(action=AuditAction.UPDATE, record_type="patient")
    assert event.detail == "changed: city, phone"
    assert event.patient_id == ana.public_id
    assert event.actor_id == front_desk.pk
    assert "867" not in event.detail
    assert "5309" not in event.detail
    assert "Springfield" not in event.detail


def test_it_audits_a_save_without_changes_as_no_change(client_for, front_desk, ana):
    edit(client_for(front_desk), ana)
    [event] = audit_events(action=AuditAction.UPDATE, record_type="patient")
    assert event.detail == "no change"


def test_it_stamps_the_day_the_status_changed(client_for, therapist, ana):
    Patient.objects.filter(pk=ana.pk).update(status_since=datetime.date(2020, 1, 1))
    ana.refresh_from_db()
    edit(client_for(therapist), ana, status="discharged")
    ana.refresh_from_db()
    assert ana.status == "discharged"
    assert ana.status_since == timezone.localdate()
    chart = page_text(client_for(therapist).get(reverse("patients:chart", args=[ana.public_id])))
    assert f"Discharged since {timezone.localdate():%Y-%m-%d}" in chart


def test_it_keeps_the_status_date_when_the_status_is_unchanged(client_for, therapist, ana):
    Patient.objects.filter(pk=ana.pk).update(status_since=datetime.date(2020, 1, 1))
    ana.refresh_from_db()
    edit(client_for(therapist), ana, phone="555-0100")
    ana.refresh_from_db()
    assert ana.status_since == datetime.date(2020, 1, 1)


def test_it_refuses_an_edit_with_a_bad_date_of_birth_and_saves_nothing(client_for, front_desk, ana):
    future = timezone.localdate() + datetime.timedelta(days=30)
    response = edit(client_for(front_desk), ana, date_of_birth=future.isoformat(), phone="555-0100")
    assert field_error(response, "date_of_birth") == "The date of birth can’t be in the future."
    ana.refresh_from_db()
    assert ana.phone == "555-0134"
    assert ana.date_of_birth == datetime.date(1980, 4, 23)
    assert audit_events(action=AuditAction.UPDATE, record_type="patient") == []


def test_it_keeps_the_stored_name_in_the_heading_when_an_edit_is_refused(client_for, front_desk, ana):
    future = timezone.localdate() + datetime.timedelta(days=30)
    response = edit(client_for(front_desk), ana, legal_first_name="Zed", date_of_birth=future.isoformat())
    text = page_text(response)
    assert "<h1>Edit Ana Rivera</h1>" in text
    assert 'value="Zed"' in text  # the form keeps what was typed


def test_it_refuses_email_contact_without_an_email_on_edit(client_for, front_desk, ana):
    response = edit(client_for(front_desk), ana, preferred_contact="email", email="")
    assert field_error(response, "email") == "Add an email address, or choose another contact method."
    ana.refresh_from_db()
    assert ana.preferred_contact == "phone"


def test_it_refuses_an_unknown_status(client_for, front_desk, ana):
    response = edit(client_for(front_desk), ana, status="deceased")
    assert "Select a valid choice." in field_error(response, "status")
    ana.refresh_from_db()
    assert ana.status == "active"


@pytest.mark.parametrize("role", ["billing", "outsider"])
def test_it_refuses_editing_to_billing_and_no_role(client_for, personas, ana, role):
    client = client_for(personas[role])
    form = client.get(reverse("patients:edit", args=[ana.public_id]))
    response = edit(client, ana, phone="555-0100")
    assert form.status_code == 403
    assert response.status_code == 403
    ana.refresh_from_db()
    assert ana.phone == "555-0134"
    denied = audit_events(outcome=AuditOutcome.DENIED, actor_id=personas[role].pk)
    assert [(e.action, e.patient_id) for e in denied] == [(AuditAction.UPDATE, ana.public_id)] * 2


def test_it_shows_billing_the_chart_without_an_edit_link(client_for, billing, ana):
    text = page_text(client_for(billing).get(reverse("patients:chart", args=[ana.public_id])))
    assert "Ana Rivera" in text
    assert reverse("patients:edit", args=[ana.public_id]) not in text


def test_it_answers_404_for_an_unknown_patient(client_for, front_desk):
    import uuid

    missing = uuid.uuid4()
    assert client_for(front_desk).get(reverse("patients:chart", args=[missing])).status_code == 404
    assert client_for(front_desk).get(reverse("patients:edit", args=[missing])).status_code == 404


# The list -------------------------------------------------------------------------------


def test_it_lists_patients_fifty_to_a_page(client_for, billing, make_patient):
    for _ in range(55):
        make_patient()
    client = client_for(billing)
    first = page_text(client.get(reverse("patients:list")))
    second = page_text(client.get(reverse("patients:list"), {"page": 2}))
    assert first.count("<tr><td><a href=") == 50
    assert second.count("<tr><td><a href=") == 5
    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in second


def test_it_filters_the_list_by_status(client_for, therapist, make_patient):
    make_patient(legal_first_name="Stillhere")
    gone = make_patient(legal_first_name="Goneaway")
    actions.do_update_patient(therapist, gone, {"status": "discharged"})
    text = page_text(client_for(therapist).get(reverse("patients:list"), {"status": "discharged"}))
    assert "Goneaway" in text
    assert "Stillhere" not in text


def test_it_audits_a_read_of_every_patient_on_the_list_page(client_for, billing, make_patient):
    shown = {make_patient().public_id for _ in range(3)}
    client_for(billing).get(reverse("patients:list"))
    events = audit_events(detail="patient list")
    assert {e.patient_id for e in events} == shown
    assert {(e.action, e.actor_id) for e in events} == {(AuditAction.READ, billing.pk)}
