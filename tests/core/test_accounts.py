"""Signing in and out, passwords, and personal API tokens on the profile page."""

import pytest
from django.core import mail
from django.urls import reverse

from effleura.core.models import ApiToken, AuditEvent, hash_token


def test_it_signs_in_with_the_right_password_and_lands_on_home(client, therapist, password):
    response = client.post(reverse("core:login"), {"username": "therapist", "password": password})
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")


def test_it_refuses_a_wrong_password_with_a_plain_message(client, therapist):
    response = client.post(reverse("core:login"), {"username": "therapist", "password": "nope"})
    assert response.status_code == 200
    assert "don’t match an active account" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logging_out_needs_a_post(client_for, therapist):
    client = client_for(therapist)
    assert client.get(reverse("core:logout")).status_code == 405
    assert client.post(reverse("core:logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_it_changes_the_password(client_for, therapist, password):
    client = client_for(therapist)
    new = "a-much-longer-passphrase-77"
    response = client.post(
        reverse("core:password_change"),
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    therapist.refresh_from_db()
    assert therapist.check_password(new)


def test_it_refuses_a_short_new_password(client_for, therapist, password):
    response = client_for(therapist).post(
        reverse("core:password_change"),
        {"old_password": password, "new_password1": "short", "new_password2": "short"},
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()


def test_a_password_reset_mails_a_working_link(client, therapist):
    response = client.post(reverse("core:password_reset"), {"email": therapist.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(line for line in body.splitlines() if "/password/reset/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path, follow=True)
    assert "Choose a new password" in page.content.decode()


def test_a_password_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(client, db):
    response = client.post(reverse("core:password_reset"), {"email": "nobody@example.test"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_it_creates_a_token_shows_it_once_and_stores_only_its_hash(client_for, therapist):
    client = client_for(therapist)
    response = client.post(reverse("core:profile"), {"name": "reporting script"})
    raw = response.context["new_token"]
    assert raw.startswith("eff_")
    token = ApiToken.objects.get(user=therapist)
    assert token.key_hash == hash_token(raw)
    assert raw not in {token.key_hash, token.hint, token.name}
    assert raw not in client.get(reverse("core:profile")).content.decode()


def test_it_asks_for_a_token_name(client_for, therapist):
    response = client_for(therapist).post(reverse("core:profile"), {"name": "  "})
    assert "This field is required" in response.content.decode() or "Give the token a name" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_it_revokes_a_token(client_for, therapist):
    client = client_for(therapist)
    client.post(reverse("core:profile"), {"name": "old script"})
    token = ApiToken.objects.get()
    client.post(reverse("core:token_revoke", args=[token.public_id]))
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(record_type="api_token", detail="token revoked").exists()


def test_it_refuses_to_revoke_someone_elses_token(client_for, therapist, front_desk):
    client_for(therapist).post(reverse("core:profile"), {"name": "mine"})
    token = ApiToken.objects.get()
    response = client_for(front_desk).post(reverse("core:token_revoke", args=[token.public_id]))
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing", "outsider"])
def test_every_signed_in_user_has_a_profile_and_a_home(role, personas, client_for):
    client = client_for(personas[role])
    assert client.get(reverse("core:profile")).status_code == 200
    home = client.get(reverse("core:home"))
    assert home.status_code == 200
    if role == "outsider":
        assert "no role yet" in home.content.decode()
