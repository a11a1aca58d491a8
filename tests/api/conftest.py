"""Clients for the JSON API. The personas (owner, therapist, front_desk, billing,
outsider) and make_patient / add_history come from tests/conftest.py."""

import pytest
from django.test import Client

from effleura.core.actions import do_create_api_token

API = "/api/v1"


class ApiClient(Client):
    """A test Client that sends and reads JSON."""

    def send(self, method: str, path: str, body=None, **extra):
        if body is not None:
            extra.setdefault("content_type", "application/json")
            extra["data"] = body
        return getattr(self, method.lower())(API + path, **extra)


@pytest.fixture
def api_as(db):
    """api_as(user) -> a client sending ``user``'s new API token; api_as(None) -> anonymous."""

    def make(user=None) -> ApiClient:
        if user is None:
            return ApiClient()
        _token, raw = do_create_api_token(user, "tests")
        return ApiClient(HTTP_AUTHORIZATION=f"Bearer {raw}")

    return make


@pytest.fixture
def api_client(db):
    """api_client(**defaults) -> a client sending exactly the headers given, e.g.
    api_client(HTTP_AUTHORIZATION="Token abc")."""

    return ApiClient


@pytest.fixture
def persona(request):
    """The persona fixture named by the test's ``role`` parameter."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def patient_body():
    """patient_body(**fields) -> a valid POST /patients body (synthetic person)."""

    def make(**fields) -> dict:
        return {
            "legal_first_name": "Ada",
            "legal_last_name": "Fictional",
            "date_of_birth": "1979-06-14",
            "phone": "555-0100",
            **fields,
        }

    return make
