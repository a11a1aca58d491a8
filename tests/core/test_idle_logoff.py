"""Automatic logoff on the server (core/idle.py): a session ends after
EFFLEURA_IDLE_LOGOUT_MINUTES without a request and EFFLEURA_SESSION_MINUTES after signing
in, whatever the activity. Tested by moving the clock (django.utils.timezone.now), never by
sleeping (issue 12, item 3)."""

import datetime
import re
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from effleura.core import idle
from effleura.core.actions import do_create_api_token
from effleura.core.models import AuditEvent

HOME = reverse("core:home")
LOGIN = reverse("core:login")
STATUS = reverse("core:session_status")
STAY = reverse("core:session_stay")
END = reverse("core:session_end")


class Clock:
    """The server's clock, moved by hand: ``clock.move(minutes=14)``."""

    def __init__(self):
        self.now = timezone.now()

    def move(self, **delta) -> None:
        self.now += datetime.timedelta(**delta)


@pytest.fixture
def clock():
    moved = Clock()
    with mock.patch("django.utils.timezone.now", side_effect=lambda: moved.now):
        yield moved


def logoffs():
    return list(AuditEvent.objects.filter(record_type="session", action="logout").values_list("detail", flat=True))


def test_an_idle_session_lasts_the_idle_time(clock, client_for, therapist):
    client = client_for(therapist)
    clock.move(minutes=14, seconds=59)
    assert client.get(HOME).status_code == 200


def test_an_idle_session_ends_within_a_minute_after_the_idle_time(clock, client_for, therapist):
    client = client_for(therapist)
    clock.move(minutes=15, seconds=idle.RESOLUTION)
    response = client.get(HOME)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "You were signed out after 15 minutes without activity, to keep records private. Log in again."
    ]
    assert logoffs() == ["idle"]
    event = AuditEvent.objects.get(action="logout")
    assert event.actor_id == therapist.pk
    # The session is gone: the next request goes to the login page too, and nothing more is audited.
    assert client.get(HOME)["Location"].startswith(LOGIN)
    assert logoffs() == ["idle"]


@pytest.mark.parametrize("every_seconds", [45, 200])
def test_a_session_with_a_request_every_little_while_stays_signed_in(
    clock, client_for, therapist, every_seconds, settings
):
    settings.EFFLEURA_IDLE_LOGOUT_MINUTES = 5
    client = client_for(therapist)
    for _ in range(2 * 3600 // every_seconds):  # two hours of work
        clock.move(seconds=every_seconds)
        assert client.get(HOME).status_code == 200
    assert logoffs() == []


def test_the_idle_time_comes_from_the_setting(clock, client_for, therapist, settings):
    settings.EFFLEURA_IDLE_LOGOUT_MINUTES = 5
    client = client_for(therapist)
    clock.move(minutes=6)
    assert client.get(HOME).status_code == 302


def test_the_pages_status_poll_is_not_activity(clock, client_for, therapist):
    client = client_for(therapist)
    for _ in range(15):
        clock.move(minutes=1)
        answer = client.get(STATUS).json()
        assert answer["signed_in"] is True
        assert answer["idle_seconds_left"] <= 15 * 60 + idle.RESOLUTION
    clock.move(minutes=1)
    assert client.get(STATUS).json() == {"signed_in": False}
    assert logoffs() == ["idle"]


def test_stay_signed_in_counts_as_activity(clock, client_for, therapist):
    client = client_for(therapist)
    clock.move(minutes=14)
    answer = client.post(STAY, HTTP_ACCEPT="application/json").json()
    assert answer["signed_in"] is True and answer["idle_seconds_left"] == 15 * 60 + idle.RESOLUTION
    clock.move(minutes=14)
    assert client.get(HOME).status_code == 200


def test_stay_signed_in_without_script_goes_back_to_the_page(client_for, therapist):
    response = client_for(therapist).post(STAY, {"next": reverse("core:profile")})
    assert response["Location"] == reverse("core:profile")
    elsewhere = client_for(therapist).post(STAY, {"next": "https://elsewhere.example/"})
    assert elsewhere["Location"] == HOME


def test_a_session_ends_at_its_maximum_however_active(clock, client_for, therapist):
    client = client_for(therapist)
    for _ in range(12 * 6 - 1):
        clock.move(minutes=10)
        assert client.get(HOME).status_code == 200
    clock.move(minutes=10)
    response = client.get(HOME)
    assert response["Location"].startswith(LOGIN)
    assert logoffs() == ["maximum"]
    assert "a sign-in lasts at most 12 hours" in str(next(iter(get_messages(response.wsgi_request))))


def test_the_maximum_comes_from_the_session_minutes_setting(clock, client_for, therapist, settings):
    settings.SESSION_COOKIE_AGE = 30 * 60  # EFFLEURA_SESSION_MINUTES=30
    client = client_for(therapist)
    for _ in range(3):
        clock.move(minutes=9)
        assert client.get(HOME).status_code == 200
    clock.move(minutes=3)
    assert client.get(HOME).status_code == 302
    assert logoffs() == ["maximum"]


def test_an_htmx_request_after_the_idle_time_is_sent_to_the_login_page(clock, client_for, therapist):
    client = client_for(therapist)
    clock.move(minutes=20)
    response = client.get(reverse("patients:search"), {"q": "ada"}, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == LOGIN
    assert response.content == b""


def test_an_api_call_with_an_idle_session_answers_401(clock, client_for, therapist):
    client = client_for(therapist)
    clock.move(minutes=20)
    response = client.get("/api/v1/patients")
    assert response.status_code == 401 and "without activity" in response.json()["detail"]


def test_a_post_after_the_idle_time_saves_nothing_and_goes_to_login(clock, client_for, owner):
    client = client_for(owner)
    clock.move(minutes=20)
    response = client.post(reverse("core:profile"), {"name": "late token"})
    assert response["Location"] == LOGIN
    assert not owner.api_tokens.exists()


def test_api_tokens_have_no_session_and_no_idle_time(clock, therapist):
    _token, raw = do_create_api_token(therapist, "script")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/patients").status_code == 200
    clock.move(hours=13)
    assert client.get("/api/v1/patients").status_code == 200


def test_signing_in_through_the_login_page_starts_both_clocks(clock, client, therapist, password):
    client.post(LOGIN, {"username": "therapist", "password": password})
    stamp = clock.now.timestamp()
    assert client.session[idle.SIGNED_IN_KEY] == stamp and client.session[idle.ACTIVE_KEY] == stamp


def test_a_page_within_the_resolution_writes_no_session(client_for, therapist, django_assert_max_num_queries):
    client = client_for(therapist)
    with django_assert_max_num_queries(50) as queries:
        client.get(HOME)
    assert not [q for q in queries.captured_queries if re.search(r'UPDATE "django_session"', q["sql"])]


# The page's end: the browser says the time ran out ------------------------------------------


@pytest.mark.parametrize("reason", ["idle", "maximum"])
def test_the_page_ends_the_session_and_it_is_audited(client_for, therapist, reason):
    client = client_for(therapist)
    assert client.post(END, {"logoff_reason": reason}).json() == {"signed_in": False}
    assert logoffs() == [reason]
    assert client.get(HOME)["Location"].startswith(LOGIN)


def test_an_unknown_reason_is_audited_as_idle(client_for, therapist):
    client_for(therapist).post(END, {"logoff_reason": "<script>"})
    assert logoffs() == ["idle"]


# Who may call what ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing", "outsider"])
def test_every_signed_in_persona_polls_stays_and_ends(role, personas, client_for):
    client = client_for(personas[role])
    assert client.get(STATUS).json()["signed_in"] is True
    assert client.post(STAY, HTTP_ACCEPT="application/json").json()["signed_in"] is True
    assert client.post(END).status_code == 200
    assert client.get(STATUS).json() == {"signed_in": False}


def test_a_signed_out_visitor_is_told_signed_out_and_cannot_stay_or_end(client, db):
    assert client.get(STATUS).json() == {"signed_in": False}
    assert client.post(STAY)["Location"].startswith(LOGIN)
    assert client.post(END)["Location"].startswith(LOGIN)
    assert logoffs() == []


@pytest.mark.parametrize(("url", "method"), [(STATUS, "post"), (STAY, "get"), (END, "get")])
def test_each_session_address_answers_only_its_method(client_for, therapist, url, method):
    assert getattr(client_for(therapist), method)(url).status_code == 405


# The page carries the warning, by data- attributes and a static script ----------------------


def test_every_page_of_a_signed_in_session_carries_the_warning_without_inline_script(clock, client_for, therapist):
    client = client_for(therapist)
    for _ in range(12):  # two hours of activity
        clock.move(minutes=10)
        client.get(HOME)
    page = client.get(HOME).content.decode()
    assert 'id="idle-logoff"' in page and 'data-idle-seconds="900"' in page
    assert 'data-maximum-seconds-left="36000"' in page  # 10 of the 12 hours left
    assert 'data-warn-seconds="60"' in page
    assert re.search(r'<script src="[^"]*core/idle\.js"', page)
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert "Stay signed in" in page


def test_the_login_page_carries_no_warning(client, db):
    assert 'id="idle-logoff"' not in client.get(LOGIN).content.decode()


def test_the_login_page_is_not_activity(clock, client_for, therapist):
    # A page that navigates to the login page as it signs out (another tab's logoff, the
    # page's own end) must not keep the session alive by doing so.
    client = client_for(therapist)
    for _ in range(15):
        clock.move(minutes=1)
        client.get(LOGIN)
    clock.move(minutes=1)
    assert client.get(HOME).status_code == 302
    assert logoffs() == ["idle"]


def test_under_a_sub_path_the_poll_is_still_not_activity(clock, client_for, therapist):
    # Deployed under /effleura (SCRIPT_NAME): reverse() gives /effleura/…, path_info does not.
    from django.urls import set_script_prefix

    client = client_for(therapist)
    set_script_prefix("/effleura/")
    try:
        for _ in range(15):
            clock.move(minutes=1)
            answer = client.get(STATUS, SCRIPT_NAME="/effleura")
            assert answer.json()["signed_in"] is True
        clock.move(minutes=1)
        assert client.get(STATUS, SCRIPT_NAME="/effleura").json() == {"signed_in": False}
    finally:
        set_script_prefix("/")
    assert logoffs() == ["idle"]
