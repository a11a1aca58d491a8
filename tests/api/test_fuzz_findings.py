"""What fuzzing the API found (tests/api/test_fuzz.py), each pinned by its own test: the
answers that were server errors or broke their own schema, now refusals in words."""

import datetime
import json
import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from effleura.api.api import BODY_ERRORS, api
from effleura.core.api_schemas import TIME_RANGE_MESSAGE
from effleura.core.values import parse_api_amount

pytestmark = pytest.mark.django_db

ROLES = ["owner", "therapist", "front_desk", "billing"]


def _post(client, path, body: str):
    return client.generic("POST", f"/api/v1{path}", body.encode(), content_type="application/json")


# A multipart body without its boundary (the referral scan upload) -----------------------------


def test_an_upload_without_a_multipart_boundary_is_a_400_in_words(api_as, front_desk):
    path = reverse("api:referral_original", args=[uuid.uuid4()])
    response = api_as(front_desk).generic("POST", path, b"--x\r\nnot a form", content_type="multipart/form-data")
    assert response.status_code == 400
    assert "boundary" in response.json()["detail"]


# Ids that are not UUIDs, on every address, as every role ---------------------------------------


def _addresses_with_ids():
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    for path, item in schema["paths"].items():
        if "{" in path:
            for method in item:
                yield method.upper(), re.sub(r"\{[a-z_]+\}", "not-a-uuid", path)


@pytest.mark.parametrize("role", ROLES)
def test_an_id_that_is_not_a_uuid_is_a_404_on_every_address_for_every_role(role, request, api_as):
    client = api_as(request.getfixturevalue(role))
    wrong = {}
    for method, path in _addresses_with_ids():
        response = client.generic(method, path, b"{}", content_type="application/json")
        # A technique is named by its knowledge-base key, not a UUID: an unknown one is a
        # 404 too, once the role and the body have passed.
        expected = {403, 404, 422} if "/technique-codes/" in path else {404}
        if response.status_code not in expected or not response["Content-Type"].startswith("application/json"):
            wrong[f"{method} {path}"] = response.status_code
    assert wrong == {}


# Amounts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [Decimal("1E+30"), Decimal("-1E+30"), 10**30, "99999999999999999999", Decimal("Infinity"), Decimal("NaN"),
     Decimal("-Infinity"), Decimal("sNaN")],
)  # fmt: skip
def test_the_api_amount_refuses_what_no_money_column_holds_in_words(value):
    errors = {}
    assert parse_api_amount(value, "amount", errors) is None
    assert errors["amount"] in (
        "The amount can be at most 1,000,000.00; check it.",
        'Give the amount as a number or a string with a point for the cents, e.g. 95.00 or "95.00".',
    )


def test_the_largest_amount_a_column_holds_still_reaches_the_action():
    errors = {}
    assert parse_api_amount(Decimal("9999999999.99"), "amount", errors) == Decimal("9999999999.99")
    assert errors == {}


@pytest.mark.parametrize("literal", ["1e30", "1E400", "-1e30", "NaN", "Infinity", "1e-400"])
def test_a_huge_or_impossible_amount_in_any_amount_field_is_a_422(api_as, owner, literal):
    client = api_as(owner)
    some = uuid.uuid4()
    answers = [
        _post(client, f"/billing/accounts/{some}/payments", f'{{"amount": {literal}, "method": "cash"}}'),
        _post(client, f"/billing/accounts/{some}/refunds", f'{{"amount": {literal}, "method": "cash", "reason": "x"}}'),
        _post(client, "/billing/fees", f'{{"code": "97124", "amount": {literal}}}'),
        _post(client, "/billing/package-plans", f'{{"name": "Synthetic", "sessions": 5, "price": {literal}}}'),
    ]
    for response in answers:
        assert response.status_code in (404, 422), response.content
        if response.status_code == 422:
            assert "amount" in response.content.decode() or "price" in response.json()["errors"]


# Times outside the years a practice's records span ---------------------------------------------


@pytest.mark.parametrize("start", ["0129-05-07T15:24:11+05:47", "9999-12-31T23:30:00-05:00", "1899-12-31T10:00:00Z"])
def test_a_time_in_year_129_or_9999_is_refused_in_words(api_as, owner, therapist, start):
    # Year 129 was answered with an offset of -07:52:58 (local mean time), which no ISO 8601
    # time can hold; near 9999 the offset overflows the calendar.
    client = api_as(owner)
    end = "2026-01-01T10:00:00Z"
    body = {"practitioner": str(therapist.public_id), "start": start, "end": end}
    time_off = _post(client, "/time-off", json.dumps(body))
    assert time_off.status_code == 422 and time_off.json()["errors"]["start"] == TIME_RANGE_MESSAGE
    some = str(uuid.uuid4())
    book = {"patient": some, "practitioner": some, "service": some, "location": some, "start": start}
    booking = _post(client, "/appointments", json.dumps(book))
    assert booking.status_code == 422 and booking.json()["errors"]["start"] == TIME_RANGE_MESSAGE


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_listing_appointments_for_a_day_out_of_range_is_a_422(api_as, owner, day):
    response = api_as(owner).get("/api/v1/appointments", {"start": day, "end": day})
    assert response.status_code == 422 and TIME_RANGE_MESSAGE in response.json()["errors"].values()


def test_times_within_the_range_are_still_taken(api_as, owner, therapist):
    start = datetime.datetime(2030, 3, 4, 9, tzinfo=datetime.UTC)
    body = {"practitioner": str(therapist.public_id), "start": start.isoformat(), "end": "2030-03-04T17:00:00Z"}
    response = _post(api_as(owner), "/time-off", json.dumps(body))
    assert response.status_code == 201, response.content


# What every operation taking a body may answer before it reads it ------------------------------


def test_every_operation_with_a_body_documents_400_413_and_415(api_client):
    schema = api_client().get("/api/v1/openapi.json").json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                assert {str(status) for status in BODY_ERRORS} <= set(operation["responses"]), (method, path)
