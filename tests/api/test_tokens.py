"""`effleura token create|list|revoke`: tokens for scripts, shown once, audited."""

import io
import subprocess
import sys
import uuid

import pytest
from django.core.management import CommandError, call_command

from effleura.core.models import ApiToken, AuditEvent, hash_token

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_a_new_token_once_and_the_token_signs_in(therapist, api_client):
    out, err = run("create", "--user", "therapist", "--name", "Booking sync")
    raw = out.strip()
    assert raw.startswith(ApiToken.PREFIX) and "\n" not in raw
    assert "shown only once" in err
    token = ApiToken.objects.get(user=therapist)
    assert token.name == "Booking sync"
    # Only the hash is kept; the hint lets a person recognise it.
    assert token.key_hash == hash_token(raw) and raw not in (token.key_hash, token.hint)
    response = api_client(HTTP_AUTHORIZATION=f"Bearer {raw}").send("GET", "/patients")
    assert response.status_code == 200


def test_it_names_a_token_from_the_command_line_by_default(owner):
    run("create", "--user", "owner")
    assert ApiToken.objects.get(user=owner).name == "command line"


def test_it_audits_a_created_token_as_coming_from_the_command_line(owner):
    run("create", "--user", "owner")
    event = AuditEvent.objects.get(record_type="api_token")
    assert (event.actor_id, event.client_address, event.detail) == (owner.pk, "cli", "token created")


def test_it_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run("create", "--user", "nobody")
    assert not ApiToken.objects.exists()


def test_it_refuses_an_inactive_user(therapist):
    therapist.is_active = False
    therapist.save()
    with pytest.raises(CommandError, match="not active"):
        run("create", "--user", "therapist")


def test_it_refuses_a_blank_name(owner):
    with pytest.raises(CommandError, match="name"):
        run("create", "--user", "owner", "--name", "   ")


def test_it_warns_that_a_user_with_no_role_reaches_no_records(outsider):
    _out, err = run("create", "--user", "outsider")
    assert "no role" in err
    assert ApiToken.objects.filter(user=outsider).exists()


def test_it_requires_a_subcommand(db):
    with pytest.raises(CommandError):
        run()


def test_it_lists_tokens_by_hint_never_by_the_token(owner, therapist):
    raw = run("create", "--user", "owner", "--name", "Mine")[0].strip()
    run("create", "--user", "therapist", "--name", "Theirs")
    out, _ = run("list")
    assert raw not in out
    assert raw[:8] in out and "Mine" in out and "Theirs" in out
    only_owner, _ = run("list", "--user", "owner")
    assert "Mine" in only_owner and "Theirs" not in only_owner


def test_it_revokes_a_token_so_it_no_longer_signs_in(owner, api_client):
    raw = run("create", "--user", "owner")[0].strip()
    token = ApiToken.objects.get(user=owner)
    out, _ = run("revoke", str(token.public_id))
    assert "Revoked" in out
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_client(HTTP_AUTHORIZATION=f"Bearer {raw}").send("GET", "/patients").status_code == 401
    event = AuditEvent.objects.get(record_type="api_token", detail="token revoked")
    assert (event.actor_id, event.client_address, event.record_id) == (None, "cli", str(token.public_id))
    assert "revoked" in run("list")[0]


def test_it_refuses_to_revoke_a_token_twice(owner):
    run("create", "--user", "owner")
    token_id = str(ApiToken.objects.get().public_id)
    run("revoke", token_id)
    with pytest.raises(CommandError, match="already revoked"):
        run("revoke", token_id)


@pytest.mark.parametrize("token_id", ["not-an-id", str(uuid.UUID(int=7))])
def test_it_refuses_to_revoke_a_token_that_does_not_exist(token_id, db):
    with pytest.raises(CommandError):
        run("revoke", token_id)


def test_the_effleura_console_script_offers_the_token_command():
    result = subprocess.run(
        [sys.executable, "-m", "effleura.cli", "token", "create", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--user" in result.stdout and "--name" in result.stdout
