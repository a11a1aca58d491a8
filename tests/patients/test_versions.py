"""No lost edits on a patient's details and health history (issue 11): a save made from a
page, or an API read, of an older version is refused, says what the other person changed,
and keeps the person's own input; the API answers 412. See core/versions.py."""

import re

import pytest
from django.urls import reverse
from race_helpers import racing_writes, token_client

from effleura.patients.models import HealthHistory, Patient

from .helpers import edit_form_data
from .test_health_history import history_form_data

pytestmark = pytest.mark.django_db


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    return found.group(1) if found else ""


def _loaded_form(client, patient) -> dict:
    """What a tab posts for the patient's details as it loaded them: every field and the version."""
    page = client.get(reverse("patients:edit", args=[patient.public_id])).content.decode()
    data = edit_form_data(patient)
    data["version"], data["loaded"] = _hidden(page, "version"), _hidden(page, "loaded")
    return data


@pytest.fixture
def patient(make_patient):
    return make_patient(legal_first_name="Ana", legal_last_name="Rivera", phone="(555) 555-0134")


# Patient details: the page ----------------------------------------------------------------------


def test_it_refuses_a_save_from_a_stale_tab_and_keeps_the_other_persons_phone(client_for, front_desk, owner, patient):
    tab_a, tab_b = client_for(front_desk), client_for(owner)
    form_a, form_b = _loaded_form(tab_a, patient), _loaded_form(tab_b, patient)
    edit = reverse("patients:edit", args=[patient.public_id])

    assert tab_a.post(edit, form_a | {"phone": "(555) 555-0199"}).status_code == 302
    refused = tab_b.post(edit, form_b | {"email": "ana.new@example.test"})

    assert refused.status_code == 409
    page = refused.content.decode()
    assert "saved this patient&#x27;s details" in page and "after you opened it" in page
    assert "(555) 555-0134" in page and "(555) 555-0199" in page  # what they changed, from and to
    assert 'value="ana.new@example.test"' in page  # the person's own input is kept
    patient.refresh_from_db()
    assert (patient.phone, patient.email, patient.version) == ("(555) 555-0199", "", 2)


def test_saving_again_after_the_conflict_applies_both_changes(client_for, front_desk, owner, patient):
    tab_a, tab_b = client_for(front_desk), client_for(owner)
    form_a, form_b = _loaded_form(tab_a, patient), _loaded_form(tab_b, patient)
    edit = reverse("patients:edit", args=[patient.public_id])
    tab_a.post(edit, form_a | {"phone": "(555) 555-0199"})
    page = tab_b.post(edit, form_b | {"email": "ana.new@example.test"}).content.decode()

    # The page was rebased: the untouched phone now shows the other person's number.
    assert re.search(r'name="phone" value="\(555\) 555-0199"', page)
    again = form_b | {
        "email": "ana.new@example.test",
        "phone": "(555) 555-0199",
        "version": _hidden(page, "version"),
        "loaded": _hidden(page, "loaded"),
    }
    assert tab_b.post(edit, again).status_code == 302
    patient.refresh_from_db()
    assert (patient.phone, patient.email, patient.version) == ("(555) 555-0199", "ana.new@example.test", 3)


def test_it_marks_a_field_both_people_changed_and_keeps_the_persons_own(client_for, front_desk, owner, patient):
    tab_a, tab_b = client_for(front_desk), client_for(owner)
    form_a, form_b = _loaded_form(tab_a, patient), _loaded_form(tab_b, patient)
    edit = reverse("patients:edit", args=[patient.public_id])
    tab_a.post(edit, form_a | {"phone": "(555) 555-0199"})
    page = tab_b.post(edit, form_b | {"phone": "(555) 555-0177"}).content.decode()
    assert "You changed this too" in page
    assert re.search(r'name="phone" value="\(555\) 555-0177"', page)


# Patient details: the API -----------------------------------------------------------------------


def test_the_api_sends_the_version_as_etag_and_refuses_a_stale_if_match(api_as, front_desk, patient):
    client = api_as(front_desk)
    read = client.send("GET", f"/patients/{patient.public_id}")
    assert read.json()["version"] == 1 and read["ETag"] == '"1"'

    first = client.send("PATCH", f"/patients/{patient.public_id}", {"phone": "555-0199"}, HTTP_IF_MATCH='"1"')
    assert first.status_code == 200 and first["ETag"] == '"2"'
    stale = client.send("PATCH", f"/patients/{patient.public_id}", {"email": "x@example.test"}, HTTP_IF_MATCH='"1"')

    assert stale.status_code == 412
    assert stale.json()["version"] == 2 and stale["ETag"] == '"2"'
    assert "Someone else saved" in stale.json()["detail"]
    patient.refresh_from_db()
    assert patient.email == "" and patient.version == 2


@pytest.mark.parametrize("if_match", ["2", '"x"', "W/2"])
def test_the_api_refuses_a_malformed_if_match_and_changes_nothing(api_as, front_desk, patient, if_match):
    answer = api_as(front_desk).send(
        "PATCH", f"/patients/{patient.public_id}", {"phone": "555-0199"}, HTTP_IF_MATCH=if_match
    )
    assert answer.status_code == 412
    assert "If-Match" in answer.json()["detail"]
    assert Patient.objects.get(pk=patient.pk).version == 1


@pytest.mark.parametrize("headers", [{}, {"HTTP_IF_MATCH": "*"}, {"HTTP_IF_MATCH": 'W/"1"'}])
def test_the_api_applies_a_write_without_if_match_with_a_star_or_a_weak_match(api_as, front_desk, patient, headers):
    answer = api_as(front_desk).send("PATCH", f"/patients/{patient.public_id}", {"phone": "555-0199"}, **headers)
    assert answer.status_code == 200 and answer.json()["version"] == 2


# Health history ---------------------------------------------------------------------------------


def _history_page(client, patient) -> str:
    return client.get(reverse("patients:history_new", args=[patient.public_id])).content.decode()


def test_it_refuses_a_history_based_on_an_older_version_and_keeps_the_added_condition(
    client_for, therapist, owner, patient, add_history
):
    add_history(patient, conditions=[])
    tab_a, tab_b = client_for(therapist), client_for(owner)
    based_a, based_b = (
        _hidden(_history_page(tab_a, patient), "based_on"),
        _hidden(_history_page(tab_b, patient), "based_on"),
    )
    assert based_a == based_b == "1"
    new = reverse("patients:history_new", args=[patient.public_id])

    assert tab_a.post(new, history_form_data(conditions=["varicose_veins"], based_on=based_a)).status_code == 302
    refused = tab_b.post(new, history_form_data(allergies="Nuts", based_on=based_b))

    assert refused.status_code == 409
    page = refused.content.decode()
    assert "saved this health history" in page and "Varicose veins" in page
    assert "Nuts" in page  # the person's own input is kept
    assert re.search(r'value="varicose_veins"[^>]*checked', page)  # rebased: the added condition is ticked
    current = HealthHistory.objects.filter(patient=patient).order_by("-version").first()
    assert current.version == 2 and current.conditions == ["varicose_veins"] and current.allergies == ""


def test_saving_the_rebased_history_keeps_both_peoples_answers(client_for, therapist, owner, patient, add_history):
    add_history(patient, conditions=[])
    tab_a, tab_b = client_for(therapist), client_for(owner)
    new = reverse("patients:history_new", args=[patient.public_id])
    tab_a.post(new, history_form_data(conditions=["varicose_veins"], based_on="1"))
    page = tab_b.post(new, history_form_data(allergies="Nuts", based_on="1")).content.decode()
    assert _hidden(page, "based_on") == "2"
    again = tab_b.post(new, history_form_data(conditions=["varicose_veins"], allergies="Nuts", based_on="2"))
    assert again.status_code == 302
    saved = HealthHistory.objects.get(patient=patient, version=3)
    assert saved.conditions == ["varicose_veins"] and saved.allergies == "Nuts"


def test_the_api_refuses_a_history_based_on_an_older_version(api_as, therapist, patient, add_history):
    add_history(patient)
    client = api_as(therapist)
    read = client.send("GET", f"/patients/{patient.public_id}/health-history")
    assert read["ETag"] == '"1"'
    body = {"presenting_complaint": "Low back pain"}
    first = client.send("POST", f"/patients/{patient.public_id}/health-history", body, HTTP_IF_MATCH='"1"')
    assert first.status_code == 201 and first["ETag"] == '"2"'
    stale = client.send("POST", f"/patients/{patient.public_id}/health-history", body, HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412 and stale.json()["version"] == 2
    assert HealthHistory.objects.filter(patient=patient).count() == 2


def test_the_api_takes_zero_as_the_base_of_a_first_history(api_as, therapist, patient):
    client = api_as(therapist)
    body = {"presenting_complaint": "Neck"}
    assert (
        client.send("POST", f"/patients/{patient.public_id}/health-history", body, HTTP_IF_MATCH='"0"').status_code
        == 201
    )
    second = client.send("POST", f"/patients/{patient.public_id}/health-history", body, HTTP_IF_MATCH='"0"')
    assert second.status_code == 412


# Two clients at once (PostgreSQL: they meet at the row lock) -----------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clients_racing_on_a_patients_details_one_wins(front_desk, owner, make_patient):
    patient = make_patient(legal_first_name="Race", legal_last_name="Synthetic")
    clients = [token_client(front_desk), token_client(owner)]
    codes = racing_writes(clients, "PATCH", f"/patients/{patient.public_id}", {"phone": "555-0101"}, '"1"')
    assert sorted(codes) == [200, 412]
    assert Patient.objects.get(pk=patient.pk).version == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clients_racing_on_a_new_health_history_version_one_wins(therapist, owner, make_patient, add_history):
    patient = make_patient(legal_first_name="Race", legal_last_name="Synthetic")
    add_history(patient)
    clients = [token_client(therapist), token_client(owner)]
    path = f"/patients/{patient.public_id}/health-history"
    codes = racing_writes(clients, "POST", path, {"presenting_complaint": "Neck"}, '"1"')
    assert sorted(codes) == [201, 412]
    assert HealthHistory.objects.filter(patient=patient).count() == 2


def test_a_medication_a_colleague_added_stays_when_the_stale_tab_saves_again(
    client_for, therapist, owner, patient, add_history
):
    add_history(patient)
    tab_a, tab_b = client_for(therapist), client_for(owner)
    new = reverse("patients:history_new", args=[patient.public_id])
    warfarin = {"name": "Warfarin", "dose": "5 mg", "blood_thinner": "on"}
    assert tab_a.post(new, history_form_data(meds=[warfarin], based_on="1")).status_code == 302

    page = tab_b.post(new, history_form_data(allergies="Nuts", based_on="1")).content.decode()
    assert re.search(r'name="med-0-name"[^>]*value="Warfarin"', page)  # the rows came up to date
    again = tab_b.post(new, history_form_data(meds=[warfarin], allergies="Nuts", based_on="2"))
    assert again.status_code == 302
    saved = HealthHistory.objects.get(patient=patient, version=3)
    assert [m["name"] for m in saved.medications] == ["Warfarin"] and saved.allergies == "Nuts"
