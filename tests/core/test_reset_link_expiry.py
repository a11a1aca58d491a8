"""A password-reset link works for one hour (settings.PASSWORD_RESET_TIMEOUT), not three
days: an older one is refused with a page that says why and offers a new one."""

import datetime
from unittest import mock

from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


def link_made_ago(user, minutes: int) -> str:
    made = datetime.datetime.now() - datetime.timedelta(minutes=minutes)
    with mock.patch.object(PasswordResetTokenGenerator, "_now", return_value=made):
        token = default_token_generator.make_token(user)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("core:password_reset_confirm", kwargs={"uidb64": uid, "token": token})


def test_reset_links_last_one_hour(settings):
    assert settings.PASSWORD_RESET_TIMEOUT == 3600


def test_a_61_minute_old_reset_link_is_refused_with_a_clear_page(client, therapist):
    answer = client.get(link_made_ago(therapist, 61), follow=True)
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "This link no longer works" in html and "more than an hour old" in html
    assert reverse("core:password_reset") in html
    assert 'name="new_password1"' not in html


def test_a_59_minute_old_reset_link_still_works(client, therapist):
    answer = client.get(link_made_ago(therapist, 59), follow=True)
    assert 'name="new_password1"' in answer.content.decode()


def test_a_61_minute_old_link_cannot_set_a_password(client, therapist, password):
    page = client.get(link_made_ago(therapist, 61), follow=True)
    client.post(page.request["PATH_INFO"], {"new_password1": "a-new-pass-1234-x", "new_password2": "a-new-pass-1234-x"})
    therapist.refresh_from_db()
    assert therapist.check_password(password)
