"""Browser protections (issue 12 item 7, docs/security.md "Browser protections"): a strict
Content-Security-Policy, Permissions-Policy, Referrer-Policy, Cross-Origin-Opener-Policy,
nosniff, ``no-store`` on every answer that may carry patient data, and ``__Host-`` cookies
in HTTPS mode. The browser side (no page breaks the policy) is tests/e2e/test_csp.py; the
templates' side is tests/core/test_template_scan.py."""

import os
import subprocess
import sys

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from effleura.core.actions import do_create_api_token
from effleura.core.middleware import BrowserProtectionMiddleware
from effleura.scheduling.feed import do_create_feed

STRICT_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "connect-src": ["'self'"],
}


def policy_of(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_no_store(response):
    words = {w.strip() for w in response["Cache-Control"].split(",")}
    assert "no-store" in words, response["Cache-Control"]


def test_a_signed_in_page_carries_the_strict_policy(client_for, therapist):
    response = client_for(therapist).get(reverse("core:home"))
    assert response.status_code == 200
    assert policy_of(response) == STRICT_POLICY


def test_the_policy_allows_nothing_inline_and_no_eval(client, db):
    header = client.get(reverse("core:login"))["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    assert "nonce-" not in header  # nothing inline is left that would need one


@pytest.mark.parametrize("path", ["core:login", "/no-such-page/", "api:openapi-json"])
def test_every_answer_carries_the_browser_headers_signed_in_or_not(client, db, path):
    response = client.get(path if path.startswith("/") else reverse(path))
    assert policy_of(response) == STRICT_POLICY
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_it_switches_off_the_browser_features_no_page_uses(client, db):
    policy = client.get(reverse("core:login"))["Permissions-Policy"]
    features = dict(part.strip().split("=", 1) for part in policy.split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()", feature
    # Passkeys are coming (docs/decisions/0015): WebAuthn stays allowed on our own pages.
    assert features["publickey-credentials-get"] == "(self)"
    assert features["publickey-credentials-create"] == "(self)"
    # FLoC's interest-cohort is gone from browsers; Chromium warns about unknown features.
    assert "interest-cohort" not in features


def test_a_signed_in_page_is_never_stored(client_for, front_desk):
    response = client_for(front_desk).get(reverse("patients:list"))
    assert response.status_code == 200
    assert_no_store(response)
    assert "private" in response["Cache-Control"]


def test_an_api_answer_to_a_token_caller_is_never_stored(front_desk, make_patient):
    make_patient()
    _token, raw = do_create_api_token(front_desk, "tests")
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/patients")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert_no_store(response)


def test_a_csv_export_is_never_stored(client_for, owner, front_desk):
    response = client_for(owner).get(reverse("core:audit_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert_no_store(response)
    response = client_for(front_desk).get(reverse("referrals:running_out") + "?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert_no_store(response)


def test_a_pdf_is_never_stored(client_for, front_desk):
    response = client_for(front_desk).get(reverse("referrals:permission_form"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert_no_store(response)


def test_a_calendar_feed_is_never_stored_though_its_caller_has_no_session(client, therapist):
    _feed, raw = do_create_feed(therapist)
    response = client.get(reverse("scheduling:feed_ics", kwargs={"key": raw}))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert_no_store(response)


def test_a_page_without_a_sign_in_is_not_stored_either(client, db):
    # Public pages carry no patient data, but one rule for every answer leaves nothing to forget.
    assert_no_store(client.get(reverse("core:login")))


def test_it_overrides_a_view_that_asked_for_public_caching(rf: RequestFactory):
    public = HttpResponse(headers={"Cache-Control": "public, max-age=600"})
    middleware = BrowserProtectionMiddleware(lambda request: public)
    words = {w.strip() for w in middleware(rf.get("/"))["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= words
    assert "public" not in words


def test_it_keeps_a_views_own_no_store(rf: RequestFactory):
    middleware = BrowserProtectionMiddleware(lambda request: HttpResponse(headers={"Cache-Control": "no-store"}))
    assert middleware(rf.get("/"))["Cache-Control"] == "no-store"


def _settings_with(**environ) -> dict[str, str]:
    """Cookie settings as a fresh process reads them from ``environ``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EFFLEURA_")}
    clean.update(environ, DJANGO_SETTINGS_MODULE="effleura.settings")
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_PATH, s.CSRF_COOKIE_PATH, s.SESSION_COOKIE_DOMAIN, s.CSRF_COOKIE_DOMAIN)"
    )
    result = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    keys = ("session", "csrf", "session_secure", "csrf_secure")
    keys += ("session_path", "csrf_path", "session_domain", "csrf_domain")
    return dict(zip(keys, result.stdout.split(), strict=True))


def test_https_mode_uses_host_prefixed_secure_cookies(tmp_path):
    cookies = _settings_with(EFFLEURA_VAR_DIR=str(tmp_path), EFFLEURA_HTTPS="true")
    # The browser keeps a __Host- cookie only when it is Secure, for "/" and has no Domain.
    assert cookies == {
        "session": "__Host-sessionid",
        "csrf": "__Host-csrftoken",
        "session_secure": "True",
        "csrf_secure": "True",
        "session_path": "/",
        "csrf_path": "/",
        "session_domain": "None",
        "csrf_domain": "None",
    }


def test_plain_http_keeps_the_usual_cookie_names(tmp_path):
    # A __Host- cookie over http would be dropped by the browser: nobody could sign in.
    cookies = _settings_with(EFFLEURA_VAR_DIR=str(tmp_path), EFFLEURA_HTTPS="false")
    assert (cookies["session"], cookies["csrf"]) == ("sessionid", "csrftoken")


@pytest.fixture
def https_cookies(settings):
    settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME = "__Host-sessionid", "__Host-csrftoken"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True


def test_an_https_sign_in_sets_host_prefixed_cookies_and_checks_csrf_with_them(https_cookies, therapist, password):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("core:login"), secure=True)
    token = client.cookies["__Host-csrftoken"].value
    response = client.post(
        reverse("core:login"),
        {"username": therapist.username, "password": password, "csrfmiddlewaretoken": token},
        secure=True,
        HTTP_REFERER="https://testserver/login/",  # over HTTPS, Django checks it too
    )
    assert response.status_code == 302
    for name in ("__Host-sessionid", "__Host-csrftoken"):
        cookie = client.cookies[name]
        assert cookie["secure"] and cookie["path"] == "/" and not cookie["domain"], name
    assert client.get(reverse("core:home"), secure=True).status_code == 200


def test_the_api_names_the_host_prefixed_csrf_cookie_it_wants(https_cookies, client_for, front_desk):
    client = Client(enforce_csrf_checks=True)
    client.force_login(front_desk)
    response = client.post("/api/v1/patients", data={}, content_type="application/json", secure=True)
    assert response.status_code == 403
    assert "__Host-csrftoken" in response.json()["detail"]
