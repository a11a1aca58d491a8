"""API tokens expire (EFFLEURA_API_TOKEN_DAYS, 90 by default), can be read-only, and a
revoked or expired one answers 401 saying which, each use audited against the account
(issue 12, item 4)."""

import datetime
import io
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from effleura.core import clock
from effleura.core.actions import check_revoke_api_token, do_create_api_token, do_revoke_api_token
from effleura.core.choices import AuditOutcome
from effleura.core.models import ApiToken, AuditEvent

API = "/api/v1"
ZONE = "America/Los_Angeles"


def bearer(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def later(days: float) -> mock._patch:
    moment = timezone.now() + datetime.timedelta(days=days)
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_a_token_expires_90_days_after_it_is_made(therapist):
    token, _raw = do_create_api_token(therapist, "script")
    assert abs(token.expires_at - (token.created_at + datetime.timedelta(days=90))) < datetime.timedelta(seconds=5)


def test_the_expiry_comes_from_the_setting(therapist, settings):
    settings.EFFLEURA_API_TOKEN_DAYS = 7
    token, _raw = do_create_api_token(therapist, "script")
    assert abs(token.expires_at - token.created_at - datetime.timedelta(days=7)) < datetime.timedelta(seconds=5)


def test_a_token_works_until_it_expires_and_then_answers_401_with_the_date(therapist):
    clock.remember_practice_zone(ZONE)
    token, raw = do_create_api_token(therapist, "script")
    with later(89.9):
        assert bearer(raw).get(f"{API}/patients").status_code == 200
    with later(90.1):
        answer = bearer(raw).get(f"{API}/patients")
    assert answer.status_code == 401
    assert answer.json()["detail"].startswith(f"This API token expired on {clock.stamp(token.expires_at)}")
    assert "PST" in answer.json()["detail"] or "PDT" in answer.json()["detail"]  # the practice's zone
    event = AuditEvent.objects.get(record_type="api_token", outcome=AuditOutcome.DENIED)
    assert (event.actor_id, event.record_id, event.detail) == (therapist.pk, str(token.public_id), "expired token used")


def test_a_revoked_token_answers_401_saying_so_and_each_use_is_audited(therapist):
    token, raw = do_create_api_token(therapist, "script")
    do_revoke_api_token(therapist, check_revoke_api_token(therapist, token.public_id))
    for _ in range(2):
        answer = bearer(raw).get(f"{API}/patients")
        assert answer.status_code == 401
        assert answer.json()["detail"].startswith("This API token was revoked on ")
    events = AuditEvent.objects.filter(record_type="api_token", outcome=AuditOutcome.DENIED)
    assert events.count() == 2
    assert {(e.actor_id, e.actor_username, e.record_id, e.detail) for e in events} == {
        (therapist.pk, "therapist", str(token.public_id), "revoked token used")
    }


def test_an_unknown_token_answers_401_and_names_no_account(db):
    answer = bearer("eff_not-a-token").get(f"{API}/patients")
    assert answer.status_code == 401 and "not valid" in answer.json()["detail"]


def test_a_deactivated_accounts_token_answers_401(therapist):
    _token, raw = do_create_api_token(therapist, "script")
    therapist.is_active = False
    therapist.save()
    assert bearer(raw).get(f"{API}/patients").status_code == 401


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_a_read_only_token_may_read(therapist, method):
    _token, raw = do_create_api_token(therapist, "report", read_only=True)
    answer = bearer(raw).generic(method, f"{API}/patients")
    assert answer.status_code != 403 and answer.status_code != 401


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_a_read_only_token_may_not_write_and_is_told_so(therapist, method, patient_body):
    token, raw = do_create_api_token(therapist, "report", read_only=True)
    answer = bearer(raw).generic(method, f"{API}/patients", '{"legal_first_name": "Ada"}', "application/json")
    assert answer.status_code == 403
    assert "read-only" in answer.json()["detail"]
    event = AuditEvent.objects.get(record_type="api_token", outcome=AuditOutcome.DENIED)
    assert (event.actor_id, event.record_id) == (therapist.pk, str(token.public_id))
    assert method in event.detail


def test_a_full_token_still_writes(front_desk, patient_body):
    _token, raw = do_create_api_token(front_desk, "sync")
    answer = bearer(raw).post(f"{API}/patients", patient_body(), content_type="application/json")
    assert answer.status_code == 201


@pytest.fixture
def patient_body():
    def make():
        return {"legal_first_name": "Ada", "legal_last_name": "Fictional", "date_of_birth": "1979-06-14"}

    return make


# The profile page ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing", "outsider"])
def test_every_persona_makes_a_read_only_token_and_sees_when_it_expires(role, personas, client_for):
    clock.remember_practice_zone(ZONE)
    client = client_for(personas[role])
    response = client.post(reverse("core:profile"), {"name": "reports", "read_only": "on"})
    token = ApiToken.objects.get(user=personas[role])
    assert token.read_only
    shown = clock.local(token.expires_at)
    page = response.content.decode()
    assert f"It expires on {shown:%Y-%m-%d %H:%M %Z}" in page and "Read-only." in page
    listing = client.get(reverse("core:profile")).content.decode()
    assert f"{shown:%Y-%m-%d %H:%M}" in listing and "read-only" in listing


def test_the_profile_lists_expired_and_revoked_tokens_as_such(client_for, therapist, owner, settings):
    settings.EFFLEURA_API_TOKEN_DAYS = 1
    do_create_api_token(therapist, "old")
    new = {"username": "therapist", "role": "therapist", "is_active": "on", "password": "a-much-longer-passphrase-77"}
    client_for(owner).post(reverse("core:staff_edit", args=[therapist.public_id]), new)
    do_create_api_token(therapist, "stale")
    therapist.refresh_from_db()  # its new password: the session is signed with it
    with later(2):  # signed in then: the session is not idle
        response = client_for(therapist).get(reverse("core:profile"))
    page = response.content.decode()
    assert response.status_code == 200, response.get("Location")
    assert "revoked" in page and "(password reset by owner)" in page
    assert ">expired<" in page


def test_a_token_form_without_a_session_goes_to_login(client, db):
    response = client.post(reverse("core:profile"), {"name": "x", "read_only": "on"})
    assert response.status_code == 302 and reverse("core:login") in response["Location"]
    assert not ApiToken.objects.exists()


# The command line ---------------------------------------------------------------------------


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_makes_a_read_only_token_and_says_when_it_expires(therapist):
    clock.remember_practice_zone(ZONE)
    raw, err = run("create", "--user", "therapist", "--read-only")
    token = ApiToken.objects.get()
    assert token.read_only and f"read-only, expires {clock.stamp(token.expires_at)}" in err
    assert bearer(raw.strip()).post(f"{API}/patients", {}, content_type="application/json").status_code == 403
    listing, _ = run("list")
    assert f"expires {clock.stamp(token.expires_at)}" in listing and "active, read-only" in listing
