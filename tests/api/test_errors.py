"""Whatever a caller sends, the API answers JSON {detail, errors} with a 4xx status,
never a 500: wrong types, unknown fields, impossible dates, huge or NUL-laden text,
bodies that are not JSON. Also: CSRF for browser sessions, and the OpenAPI document."""

import json
import logging
import uuid

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from effleura.core.api_schemas import NUL_MESSAGE
from effleura.patients import actions
from effleura.patients.models import Patient

pytestmark = pytest.mark.django_db

TEXT_FIELDS = [
    "legal_first_name", "legal_last_name", "preferred_name", "pronouns", "gender_identity", "phone", "email",
    "address_line1", "address_line2", "city", "region", "postal_code", "country", "emergency_contact_name",
    "emergency_contact_relationship", "emergency_contact_phone", "notes",
]  # fmt: skip


@pytest.fixture
def client(api_as, owner):
    return api_as(owner)


def assert_error_shape(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    if "errors" in body:
        assert body["errors"] and all(isinstance(k, str) and isinstance(v, str) for k, v in body["errors"].items())
    return body


# Wrong values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"legal_first_name": 123}, "legal_first_name", "Give text (a JSON string)."),
        ({"legal_first_name": ["Ada"]}, "legal_first_name", "Give text (a JSON string)."),
        ({"notes": {"a": 1}}, "notes", "Give text (a JSON string)."),
        ({"date_of_birth": "2023-02-30"}, "date_of_birth", "Enter a real date as YYYY-MM-DD, e.g. 1980-04-23."),
        ({"date_of_birth": "1980/01/01"}, "date_of_birth", "Enter a real date as YYYY-MM-DD, e.g. 1980-04-23."),
        ({"date_of_birth": "19800101"}, "date_of_birth", "Enter a real date as YYYY-MM-DD, e.g. 1980-04-23."),
        ({"date_of_birth": 315532800}, "date_of_birth", "Enter a real date as YYYY-MM-DD, e.g. 1980-04-23."),
        ({"date_of_birth": "1980-01-01T00:00"}, "date_of_birth", "Enter a real date as YYYY-MM-DD, e.g. 1980-04-23."),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth", "The date of birth can’t be before 1900."),
        ({"allow_duplicate": "yes"}, "allow_duplicate", "Give true or false."),
        ({"status": "deceased"}, "status", "Choose one of: 'active', 'inactive' or 'discharged'."),
        ({"sex_at_birth": 1}, "sex_at_birth", None),
        ({"shoe_size": 42}, "shoe_size", "This field is not known."),
        ({"id": str(uuid.uuid4())}, "id", "This field is not known."),
        ({"chart_number": "EF99999"}, "chart_number", "This field is not known."),
        ({"legal_first_name": "x" * 101}, "legal_first_name", "Keep this under 100 characters."),
        ({"notes": "x" * 10_001}, "notes", "Keep this under 10000 characters."),
        ({"email": "x" * 1_000_000}, "email", "Keep this under 254 characters."),
    ],
)
def test_it_refuses_a_wrong_value_naming_the_field(changes, field, message, client, patient_body):
    body = assert_error_shape(client.send("POST", "/patients", patient_body(**changes)), 422)
    assert field in body["errors"]
    if message:
        assert body["errors"][field] == message
    assert not Patient.objects.exists()


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_it_refuses_a_nul_character_in_any_patient_text_field(field, client, patient_body, make_patient):
    created = client.send("POST", "/patients", patient_body(**{field: "Ad\x00a"}))
    assert assert_error_shape(created, 422)["errors"] == {field: NUL_MESSAGE}
    patient = make_patient()
    updated = client.send("PATCH", f"/patients/{patient.public_id}", {field: "\x00"})
    assert assert_error_shape(updated, 422)["errors"] == {field: NUL_MESSAGE}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"presenting_complaint": "neck\x00"}, "presenting_complaint"),
        ({"medications": [{"name": "a\x00"}]}, "medications.0.name"),
        ({"medications": [{"name": "a", "dose": "\x00"}]}, "medications.0.dose"),
        ({"surgeries": [{"what": "\x00"}]}, "surgeries.0.what"),
        ({"areas_to_avoid_notes": "\x00"}, "areas_to_avoid_notes"),
    ],
)
def test_it_refuses_a_nul_character_in_the_health_history(body, field, client, make_patient):
    patient = make_patient()
    response = client.send("POST", f"/patients/{patient.public_id}/health-history", body)
    assert assert_error_shape(response, 422)["errors"] == {field: NUL_MESSAGE}


def test_it_refuses_a_nul_character_in_a_search(client):
    response = client.send("GET", "/patients?q=Ad%00a")
    assert assert_error_shape(response, 422)["errors"] == {"q": NUL_MESSAGE}


def test_it_refuses_a_nul_character_in_an_unknown_field_name(client, patient_body):
    body = assert_error_shape(client.send("POST", "/patients", patient_body(**{"bad\x00key": 1})), 422)
    assert body["errors"] == {"bad\x00key": "This field is not known."}


def test_it_shortens_a_huge_unknown_field_name_in_the_answer(client, patient_body):
    body = assert_error_shape(client.send("POST", "/patients", patient_body(**{"k" * 5000: 1})), 422)
    assert [len(name) for name in body["errors"]] == [100]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page_size=101", "page_size"),
        ("page_size=0", "page_size"),
        ("page=99999999999999999999999999", "page"),
        ("status=gone", "status"),
        (f"q={'x' * 201}", "q"),
    ],
)
def test_it_refuses_bad_list_parameters(query, field, client):
    body = assert_error_shape(client.send("GET", f"/patients?{query}"), 422)
    assert field in body["errors"]


def test_it_summarises_a_single_field_error_in_the_detail(client, patient_body):
    body = client.send("POST", "/patients", patient_body(date_of_birth="2023-02-30")).json()
    assert body["detail"] == "date_of_birth: Enter a real date as YYYY-MM-DD, e.g. 1980-04-23."


def test_it_lists_the_fields_at_fault_when_several_are(client):
    body = client.send("POST", "/patients", {"legal_first_name": 1}).json()
    assert body["detail"].startswith("These fields need attention:")
    assert set(body["errors"]) == {"legal_first_name", "legal_last_name", "date_of_birth"}


# Bodies that are not what they should be --------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"{not json", 400),
        (b'{"legal_first_name": "Ada",}', 400),
        (b"\xff\xfe\x00garbage", 400),
        (b"[" * 100_000, 400),
        (b"null", 422),
        (b"[]", 422),
        (b"42", 422),
        (b'"Ada"', 422),
        (b"", 422),
    ],
)
def test_it_refuses_a_body_that_is_not_a_json_object(raw, status, client, make_patient):
    patient = make_patient()
    for method, path in [
        ("post", "/api/v1/patients"),
        ("patch", f"/api/v1/patients/{patient.public_id}"),
        ("post", f"/api/v1/patients/{patient.public_id}/health-history"),
    ]:
        if raw == b"" and method == "patch":
            continue  # an empty PATCH body is an empty update; see the next test
        response = getattr(client, method)(path, data=raw, content_type="application/json")
        assert_error_shape(response, status)


def test_it_asks_for_a_json_object_when_the_body_is_empty(client):
    body = client.post("/api/v1/patients", data=b"", content_type="application/json").json()
    assert body["errors"] == {"body": "Send a JSON object in the request body."}


def test_it_says_when_the_body_is_not_valid_json(client):
    body = client.post("/api/v1/patients", data=b"{", content_type="application/json").json()
    assert body == {"detail": "The request body is not valid JSON."}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x"],
)
def test_it_refuses_a_body_that_is_not_sent_as_json(content_type, client, patient_body):
    response = client.post("/api/v1/patients", data=json.dumps(patient_body()), content_type=content_type)
    body = assert_error_shape(response, 415)
    assert "application/json" in body["detail"]
    assert not Patient.objects.exists()


def test_it_accepts_json_with_a_charset_or_a_json_suffix(client, patient_body):
    data = json.dumps(patient_body())
    assert client.post("/api/v1/patients", data=data, content_type="application/json; charset=utf-8").status_code == 201
    data = json.dumps(patient_body(allow_duplicate=True))
    assert client.post("/api/v1/patients", data=data, content_type="application/merge-patch+json").status_code == 201


def test_it_refuses_a_body_that_is_too_large(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/api/v1/patients", data=b" " * 2000, content_type="application/json")
    assert_error_shape(response, 413)


def test_it_answers_json_for_a_method_an_address_does_not_serve(client, make_patient):
    patient = make_patient()
    response = client.delete(f"/api/v1/patients/{patient.public_id}")
    body = assert_error_shape(response, 405)
    assert "DELETE" in body["detail"]
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "PATCH"}
    assert Patient.objects.filter(pk=patient.pk).exists()


# Addresses that do not exist ----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/patients/not-a-uuid",
        "/patients/123",
        "/patients/%00",
        "/patients/00000000-0000-0000-0000-00000000000g/health-history",
        "/nothing-here",
    ],
)
def test_it_answers_404_for_an_address_that_does_not_exist(path, client, front_desk, api_as):
    assert client.send("GET", path).status_code == 404
    # Even for a role the address would refuse: a bad id never reaches the audit trail.
    assert api_as(front_desk).send("GET", path).status_code == 404


def test_it_answers_json_for_an_address_that_does_not_exist(client):
    assert_error_shape(client.send("GET", "/patients/not-a-uuid"), 404)


# Unexpected failures --------------------------------------------------------------------


def test_it_answers_json_500_without_the_error_text_when_something_breaks(client, monkeypatch, caplog):
    secret = "Secret Patientname DOB 1980-01-01"

    def broken(*args, **kwargs):
        raise RuntimeError(secret)

    monkeypatch.setattr("effleura.patients.access.access_patient_page", broken)
    with caplog.at_level(logging.ERROR, logger="effleura.api.api"):
        response = client.send("GET", "/patients")
    body = assert_error_shape(response, 500)
    assert "Secret" not in body["detail"]
    assert "RuntimeError" in caplog.text and "Secret Patientname" not in caplog.text


# CSRF for browser sessions -------------------------------------------------------------


def _browser(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_it_refuses_a_browser_session_write_without_the_csrf_token(front_desk, patient_body, make_patient):
    client = _browser(front_desk)
    response = client.post("/api/v1/patients", data=patient_body(), content_type="application/json")
    body = assert_error_shape(response, 403)
    assert "CSRF" in body["detail"]
    patient = make_patient()
    path = f"/api/v1/patients/{patient.public_id}"
    response = client.patch(path, data={"city": "X"}, content_type="application/json")
    assert_error_shape(response, 403)
    assert Patient.objects.count() == 1


def test_it_accepts_a_browser_session_write_with_the_csrf_token(front_desk, patient_body):
    client = _browser(front_desk)
    assert client.get("/api/v1/patients").status_code == 200  # reads need no token
    client.get("/")  # a page sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/patients", data=patient_body(), content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201, response.content


def test_it_needs_no_csrf_token_from_a_token_caller(api_as, front_desk, patient_body):
    client = api_as(front_desk)
    client.handler.enforce_csrf_checks = True
    response = client.send("POST", "/patients", patient_body())
    assert response.status_code == 201


# The OpenAPI document ------------------------------------------------------------------


def test_it_publishes_a_valid_openapi_document_listing_every_operation(api_client):
    response = api_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert {
        ("/api/v1/patients", "get"),
        ("/api/v1/patients", "post"),
        ("/api/v1/patients/{patient_id}", "get"),
        ("/api/v1/patients/{patient_id}", "patch"),
        ("/api/v1/patients/{patient_id}/health-history", "get"),
        ("/api/v1/patients/{patient_id}/health-history", "post"),
        ("/api/v1/patients/{patient_id}/health-history/versions", "get"),
        ("/api/v1/patients/{patient_id}/health-history/versions/{version}", "get"),
    } <= operations
    # Every method the permission table grants on an API URL is a documented operation,
    # and nothing else is: the table and the schema describe the same API.
    from effleura.core.permissions import URL_RULES

    undocumented = {"api:api-root", "api:openapi-json", "api:openapi-view"}
    granted = sum(
        len(rule) if isinstance(rule, dict) else 1
        for name, rule in URL_RULES.items()
        if name.startswith("api:") and name not in undocumented
    )
    assert len(operations) == granted
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert {"401", "403", "422"} <= set(operation["responses"]), (path, method)
            assert {"BearerToken", "BrowserSession"} == {k for s in operation["security"] for k in s}
    assert schema["components"]["securitySchemes"]["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["BearerToken"]["description"],
    }
    _assert_refs_resolve(schema, schema)


def test_it_documents_the_patient_fields_the_actions_accept(api_client):
    schema = api_client().get("/api/v1/openapi.json").json()
    create = schema["components"]["schemas"]["PatientCreate"]
    assert set(create["properties"]) == set(actions.PATIENT_FIELDS) | {"allow_duplicate"}
    assert set(create["required"]) == actions.REQUIRED_PATIENT_FIELDS
    history = schema["components"]["schemas"]["HealthHistoryIn"]
    assert set(history["properties"]) == set(actions.HISTORY_FIELDS)


def test_it_serves_the_interactive_documentation(api_client):
    assert api_client().get("/api/v1/docs").status_code == 200


def _assert_refs_resolve(node, schema):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref:
            target = schema
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
        for value in node.values():
            _assert_refs_resolve(value, schema)
    elif isinstance(node, list):
        for value in node:
            _assert_refs_resolve(value, schema)


# Anything at all ---------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
field_names = st.sampled_from([*actions.PATIENT_FIELDS, "allow_duplicate", "id", "pk", ""]) | st.text(max_size=8)
value_for_field = json_values | st.sampled_from(["1980-02-29", "1981-02-29", "", "\x00", "active", "email", "x" * 300])
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=st.dictionaries(field_names, value_for_field, max_size=6))
def test_it_never_fails_on_any_patient_body(body, client, patient_body, make_patient):
    created = client.send("POST", "/patients", patient_body(**body))
    assert created.status_code in (201, 409, 422), created.content
    patient = make_patient()
    updated = client.send("PATCH", f"/patients/{patient.public_id}", body)
    assert updated.status_code in (200, 422), updated.content


history_names = st.sampled_from([*actions.HISTORY_FIELDS, "version"]) | st.text(max_size=8)


@FUZZ
@given(body=st.dictionaries(history_names, json_values, max_size=6))
def test_it_never_fails_on_any_health_history_body(body, client, make_patient):
    patient = make_patient()
    response = client.send("POST", f"/patients/{patient.public_id}/health-history", body)
    assert response.status_code in (201, 422), response.content


@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_it_never_fails_on_any_bytes_as_a_body(raw, client):
    response = client.post("/api/v1/patients", data=raw, content_type="application/json")
    assert response.status_code in (201, 400, 409, 422), response.content
