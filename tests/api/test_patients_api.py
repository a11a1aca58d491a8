"""/api/v1/patients: who may list, read, create and change patients; paging, search,
validation and duplicates; and the audit trail every read and write leaves."""

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from effleura.core.actions import do_create_api_token, do_revoke_api_token
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.models import ApiToken, AuditEvent
from effleura.patients.models import Patient

pytestmark = pytest.mark.django_db

ALL_ROLES = ["owner", "therapist", "front_desk", "billing", "outsider"]
CAN_VIEW = {"owner", "therapist", "front_desk", "billing"}
CAN_WRITE = {"owner", "therapist", "front_desk"}


def _denied_events(user):
    return AuditEvent.objects.filter(actor_id=user.pk, outcome=AuditOutcome.DENIED)


# Who may do what -------------------------------------------------------------------


@pytest.mark.parametrize("persona", ALL_ROLES, indirect=True)
def test_it_lets_staff_list_patients_and_refuses_a_user_with_no_role(persona, api_as, make_patient):
    make_patient()
    response = api_as(persona).send("GET", "/patients")
    if persona.username in CAN_VIEW:
        assert response.status_code == 200
        assert response.json()["count"] == 1
    else:
        assert response.status_code == 403
        assert response.json() == {"detail": "Your role does not allow this."}


@pytest.mark.parametrize("persona", ALL_ROLES, indirect=True)
def test_it_lets_staff_read_a_patient_and_refuses_a_user_with_no_role(persona, api_as, make_patient):
    patient = make_patient()
    response = api_as(persona).send("GET", f"/patients/{patient.public_id}")
    if persona.username in CAN_VIEW:
        assert response.status_code == 200
        assert response.json()["id"] == str(patient.public_id)
    else:
        assert response.status_code == 403
        assert _denied_events(persona).filter(patient_id=patient.public_id).exists()


@pytest.mark.parametrize("persona", ALL_ROLES, indirect=True)
def test_it_lets_owner_therapist_and_front_desk_create_patients_and_refuses_the_others(persona, api_as, patient_body):
    response = api_as(persona).send("POST", "/patients", patient_body())
    if persona.username in CAN_WRITE:
        assert response.status_code == 201
        assert Patient.objects.filter(public_id=response.json()["id"]).exists()
    else:
        assert response.status_code == 403
        assert not Patient.objects.exists()
        assert _denied_events(persona).filter(action=AuditAction.CREATE, record_type="patient").exists()


@pytest.mark.parametrize("persona", ALL_ROLES, indirect=True)
def test_it_lets_owner_therapist_and_front_desk_update_patients_and_refuses_the_others(persona, api_as, make_patient):
    patient = make_patient(preferred_name="Before")
    response = api_as(persona).send("PATCH", f"/patients/{patient.public_id}", {"preferred_name": "After"})
    patient.refresh_from_db()
    if persona.username in CAN_WRITE:
        assert response.status_code == 200
        assert patient.preferred_name == "After"
    else:
        assert response.status_code == 403
        assert patient.preferred_name == "Before"
        assert _denied_events(persona).filter(patient_id=patient.public_id).exists()


# Signing in --------------------------------------------------------------------------


def _every_operation(patient_id):
    base = f"/patients/{patient_id}"
    return [
        ("GET", "/patients", None),
        ("POST", "/patients", {"legal_first_name": "A"}),
        ("GET", base, None),
        ("PATCH", base, {"preferred_name": "B"}),
        ("GET", f"{base}/health-history", None),
        ("POST", f"{base}/health-history", {}),
        ("GET", f"{base}/health-history/versions", None),
        ("GET", f"{base}/health-history/versions/1", None),
    ]


def test_it_refuses_anonymous_callers_on_every_operation_with_401(api_as, make_patient):
    patient = make_patient()
    client = api_as(None)
    for method, path, body in _every_operation(patient.public_id):
        response = client.send(method, path, body)
        assert response.status_code == 401, (method, path)
        assert "Bearer" in response.json()["detail"]


def test_it_refuses_a_revoked_token_on_every_operation(owner, make_patient, api_client):
    patient = make_patient()
    token, raw = do_create_api_token(owner, "old script")
    do_revoke_api_token(owner, token)
    client = api_client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    for method, path, body in _every_operation(patient.public_id):
        response = client.send(method, path, body)
        assert response.status_code == 401, (method, path)
        assert response.json()["detail"].startswith("This API token was revoked on "), (method, path)


def test_it_refuses_the_token_of_a_deactivated_user(api_as, therapist):
    client = api_as(therapist)
    therapist.is_active = False
    therapist.save()
    assert client.send("GET", "/patients").status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Token abc", "Bearer", "Bearer    ", "Basic b3duZXI6cGFzcw==", "Bearer not-a-real-token", "eff_abc"],
)
def test_it_refuses_a_malformed_or_unknown_authorization_header_with_401(header, api_client):
    response = api_client(HTTP_AUTHORIZATION=header).send("GET", "/patients")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_it_accepts_the_bearer_scheme_in_any_case_and_records_when_the_token_was_used(owner, api_client):
    token, raw = do_create_api_token(owner, "script")
    assert api_client(HTTP_AUTHORIZATION=f"bearer {raw}").send("GET", "/patients").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_it_accepts_a_signed_in_browser_session(client_for, therapist, make_patient):
    make_patient()
    response = client_for(therapist).get("/api/v1/patients")
    assert response.status_code == 200
    assert response.json()["count"] == 1


# Reading ----------------------------------------------------------------------------


def test_it_shows_the_uuid_as_id_and_never_the_database_key(api_as, owner, make_patient):
    patient = make_patient()
    body = api_as(owner).send("GET", f"/patients/{patient.public_id}").json()
    assert body["id"] == str(patient.public_id)
    assert "pk" not in body and "public_id" not in body
    assert body["chart_number"] == patient.chart_number
    assert body["date_of_birth"] == patient.date_of_birth.isoformat()


def test_it_audits_reading_a_patient_as_allowed(api_as, billing, make_patient):
    patient = make_patient()
    api_as(billing).send("GET", f"/patients/{patient.public_id}")
    event = AuditEvent.objects.get(actor_id=billing.pk, record_type="patient")
    assert (event.action, event.outcome, event.patient_id) == (
        AuditAction.READ,
        AuditOutcome.ALLOWED,
        patient.public_id,
    )


def test_it_audits_one_read_per_patient_in_a_list(api_as, front_desk, make_patient):
    shown = {make_patient().public_id for _ in range(3)}
    api_as(front_desk).send("GET", "/patients")
    events = AuditEvent.objects.filter(actor_id=front_desk.pk, action=AuditAction.READ, outcome=AuditOutcome.ALLOWED)
    assert {e.patient_id for e in events} == shown


def test_it_answers_404_for_a_patient_that_does_not_exist(api_as, owner):
    response = api_as(owner).send("GET", f"/patients/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such patient."}


# Paging and search ------------------------------------------------------------------


def test_it_pages_the_patient_list(api_as, owner, make_patient):
    for _ in range(7):
        make_patient()
    client = api_as(owner)
    first = client.send("GET", "/patients?page_size=3").json()
    last = client.send("GET", "/patients?page_size=3&page=3").json()
    assert (first["count"], first["page"], first["pages"], len(first["items"])) == (7, 1, 3, 3)
    assert (last["page"], len(last["items"])) == (3, 1)
    pages = [client.send("GET", f"/patients?page_size=3&page={n}").json() for n in (1, 2, 3)]
    everyone = {p["id"] for page in pages for p in page["items"]}
    assert len(everyone) == 7


def test_it_answers_the_last_page_for_a_page_past_the_end(api_as, owner, make_patient):
    make_patient()
    body = api_as(owner).send("GET", "/patients?page=50").json()
    assert (body["page"], len(body["items"])) == (1, 1)


def test_it_uses_the_default_page_size_of_the_settings(api_as, owner, make_patient, settings):
    for _ in range(3):
        make_patient()
    body = api_as(owner).send("GET", "/patients").json()
    assert len(body["items"]) == 3 and body["pages"] == 1


def test_it_filters_the_list_by_status(api_as, owner, make_patient):
    make_patient()
    discharged = make_patient(status="discharged")
    body = api_as(owner).send("GET", "/patients?status=discharged").json()
    assert [p["id"] for p in body["items"]] == [str(discharged.public_id)]


def test_it_searches_by_name_and_audits_the_results(api_as, front_desk, make_patient):
    wanted = make_patient(legal_first_name="Imogen", legal_last_name="Quill")
    make_patient(legal_first_name="Other")
    body = api_as(front_desk).send("GET", "/patients?q=quill").json()
    assert [p["id"] for p in body["items"]] == [str(wanted.public_id)]
    assert (body["count"], body["page"], body["pages"]) == (1, 1, 1)
    event = AuditEvent.objects.get(actor_id=front_desk.pk, detail="search result")
    assert event.patient_id == wanted.public_id


def test_it_limits_a_search_to_page_size_results(api_as, owner, make_patient):
    for _ in range(4):
        make_patient(legal_last_name="Samename")
    body = api_as(owner).send("GET", "/patients?q=Samename&page_size=2").json()
    assert len(body["items"]) == 2


def test_it_lists_all_patients_when_the_search_is_blank(api_as, owner, make_patient):
    make_patient()
    assert api_as(owner).send("GET", "/patients?q=%20%20").json()["count"] == 1


def test_it_lists_a_page_in_the_same_number_of_queries_whatever_the_number_of_patients(api_as, owner, make_patient):
    client = api_as(owner)
    make_patient()
    with CaptureQueriesContext(connection) as few:
        assert client.send("GET", "/patients").status_code == 200
    for _ in range(20):
        make_patient()
    with CaptureQueriesContext(connection) as many:
        assert client.send("GET", "/patients").status_code == 200
    # token look-up, token last-used stamp, count, the page, one bulk audit insert
    assert len(few) == len(many) == 5


# Creating ---------------------------------------------------------------------------


def test_it_creates_a_patient_with_a_chart_number_and_audits_it(api_as, front_desk, patient_body):
    response = api_as(front_desk).send("POST", "/patients", patient_body(pronouns="she/her", sex_at_birth="female"))
    assert response.status_code == 201
    body = response.json()
    patient = Patient.objects.get(public_id=body["id"])
    assert body["chart_number"] == patient.chart_number and patient.chart_number.startswith("EF")
    assert (patient.legal_first_name, patient.pronouns, patient.sex_at_birth) == ("Ada", "she/her", "female")
    assert patient.date_of_birth == datetime.date(1979, 6, 14)
    assert AuditEvent.objects.filter(
        actor_id=front_desk.pk, action=AuditAction.CREATE, patient_id=patient.public_id
    ).exists()


def test_it_trims_spaces_around_names(api_as, owner, patient_body):
    body = api_as(owner).send("POST", "/patients", patient_body(legal_first_name="  Ada  ")).json()
    assert body["legal_first_name"] == "Ada"


def test_it_refuses_a_patient_without_the_required_fields_naming_each(api_as, owner):
    response = api_as(owner).send("POST", "/patients", {"phone": "555"})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"legal_first_name", "legal_last_name", "date_of_birth"}
    assert response.json()["errors"]["legal_first_name"] == "This is required."


def test_it_refuses_blank_required_names(api_as, owner, patient_body):
    response = api_as(owner).send("POST", "/patients", patient_body(legal_last_name="   "))
    assert response.status_code == 422
    assert response.json()["errors"] == {"legal_last_name": "This is required."}


def test_it_refuses_a_date_of_birth_in_the_future(api_as, owner, patient_body):
    tomorrow = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
    response = api_as(owner).send("POST", "/patients", patient_body(date_of_birth=tomorrow))
    assert response.status_code == 422
    assert "future" in response.json()["errors"]["date_of_birth"]


def test_it_refuses_email_as_contact_method_without_an_email(api_as, owner, patient_body):
    response = api_as(owner).send("POST", "/patients", patient_body(preferred_contact="email"))
    assert response.status_code == 422
    assert response.json()["errors"] == {"email": "Add an email address, or choose another contact method."}


def test_it_refuses_email_as_contact_method_with_a_blank_email(api_as, owner, patient_body):
    response = api_as(owner).send("POST", "/patients", patient_body(preferred_contact="email", email=""))
    assert response.status_code == 422
    assert response.json()["errors"] == {"email": "Add an email address, or choose another contact method."}


def test_it_refuses_a_choice_that_does_not_exist(api_as, owner, patient_body):
    response = api_as(owner).send("POST", "/patients", patient_body(preferred_contact="pigeon"))
    assert response.status_code == 422
    assert response.json()["errors"]["preferred_contact"].startswith("Choose one of:")


def test_it_answers_409_with_the_possible_duplicates(api_as, owner, patient_body, make_patient):
    existing = make_patient(
        legal_first_name="Ada", legal_last_name="Fictional", date_of_birth=datetime.date(1979, 6, 14)
    )
    response = api_as(owner).send("POST", "/patients", patient_body(legal_first_name="ada"))
    assert response.status_code == 409
    body = response.json()
    assert existing.chart_number in body["detail"]
    assert body["duplicates"] == [{"id": str(existing.public_id), "chart_number": existing.chart_number}]
    assert Patient.objects.count() == 1


def test_it_creates_a_second_patient_of_the_same_name_when_told_they_are_different(
    api_as, owner, patient_body, make_patient
):
    make_patient(legal_first_name="Ada", legal_last_name="Fictional", date_of_birth=datetime.date(1979, 6, 14))
    response = api_as(owner).send("POST", "/patients", patient_body(allow_duplicate=True))
    assert response.status_code == 201
    assert Patient.objects.count() == 2


# Updating ---------------------------------------------------------------------------


def test_it_changes_only_the_fields_sent(api_as, therapist, make_patient):
    patient = make_patient(phone="555-0199", city="Springfield")
    response = api_as(therapist).send("PATCH", f"/patients/{patient.public_id}", {"city": "Shelbyville"})
    assert response.status_code == 200
    patient.refresh_from_db()
    assert (patient.city, patient.phone) == ("Shelbyville", "555-0199")
    event = AuditEvent.objects.get(actor_id=therapist.pk, action=AuditAction.UPDATE)
    assert event.detail == "changed: city"  # field names only, never the values


def test_it_clears_a_text_field_sent_as_null(api_as, owner, make_patient):
    patient = make_patient(city="Springfield")
    api_as(owner).send("PATCH", f"/patients/{patient.public_id}", {"city": None})
    patient.refresh_from_db()
    assert patient.city == ""


def test_it_refuses_to_clear_a_required_field(api_as, owner, make_patient):
    patient = make_patient()
    response = api_as(owner).send("PATCH", f"/patients/{patient.public_id}", {"date_of_birth": None})
    assert response.status_code == 422
    assert response.json()["errors"] == {"date_of_birth": "This is required."}


def test_it_restamps_the_status_date_when_the_status_changes(api_as, owner, make_patient):
    patient = make_patient()
    Patient.objects.filter(pk=patient.pk).update(status_since=datetime.date(2020, 1, 1))
    body = api_as(owner).send("PATCH", f"/patients/{patient.public_id}", {"status": "discharged"}).json()
    assert body["status"] == "discharged"
    assert body["status_since"] != "2020-01-01"


def test_it_changes_nothing_when_an_update_is_not_valid(api_as, owner, make_patient):
    patient = make_patient(city="Springfield")
    response = api_as(owner).send("PATCH", f"/patients/{patient.public_id}", {"city": "X", "email": "not-an-email"})
    assert response.status_code == 422
    patient.refresh_from_db()
    assert patient.city == "Springfield"


def test_it_answers_404_when_updating_a_patient_that_does_not_exist(api_as, owner):
    response = api_as(owner).send("PATCH", f"/patients/{uuid.uuid4()}", {"city": "X"})
    assert response.status_code == 404
    assert response.json() == {"detail": "No such patient."}


def test_it_accepts_an_empty_update(api_as, owner, make_patient):
    patient = make_patient()
    response = api_as(owner).send("PATCH", f"/patients/{patient.public_id}", {})
    assert response.status_code == 200
    assert AuditEvent.objects.get(actor_id=owner.pk, action=AuditAction.UPDATE).detail == "no change"
