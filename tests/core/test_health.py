"""`/healthz` for load balancers (core/health.py, docs/deployment.md): 200 while the
database answers, 503 when it does not; no session, no cookie, no audit, no sign-in, no
host check, no HTTPS redirect, and nothing in the answer but "ok"."""

import json
import os
import socket
import subprocess
import sys

import pytest

from effleura.core.models import AuditEvent


@pytest.mark.django_db
def test_a_load_balancer_gets_ok_from_one_query_with_no_session_and_no_audit(client, django_assert_num_queries):
    before = AuditEvent.objects.count()
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert not response.cookies  # no session, no CSRF cookie
    assert "Vary" not in response  # the session was never looked at
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_it_answers_by_ip_address_over_plain_http_in_https_mode(client, settings):
    """A load balancer probes each server at its own address, over plain HTTP, with no
    sign-in: the page it would get anywhere else is a 400 (unknown host) or a redirect."""
    settings.ALLOWED_HOSTS = ["clinic.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="10.0.0.5:8000").status_code == 200
    assert client.get("/login/", HTTP_HOST="10.0.0.5:8000").status_code == 400
    assert client.get("/login/", HTTP_HOST="clinic.example.org").status_code == 301


@pytest.mark.django_db
def test_a_head_probe_gets_the_status_alone_and_a_post_is_refused(client):
    head = client.head("/healthz")
    assert head.status_code == 200
    assert head.content == b""
    post = client.post("/healthz")
    assert post.status_code == 405
    assert post["Allow"] == "GET, HEAD"


@pytest.mark.django_db
def test_only_its_own_path_is_the_health_check(client):
    assert client.get("/healthz?probe=1").content == b"ok\n"  # a query string does not matter
    assert client.get("/healthz/").status_code == 404


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens


_PROBE = (
    "import json, django; django.setup(); from django.test import Client; "
    "r = Client().get('/healthz'); print(json.dumps([r.status_code, r.content.decode()]))"
)


def test_it_answers_503_and_names_nothing_when_the_database_does_not_answer(tmp_path):
    port = _closed_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EFFLEURA_")}
    env.update(
        DJANGO_SETTINGS_MODULE="effleura.settings",
        EFFLEURA_VAR_DIR=str(tmp_path),
        EFFLEURA_DATABASE_URL=f"postgresql://effleura_app:s3cret@127.0.0.1:{port}/clinicdb?connect_timeout=5",
    )
    result = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    assert (status, body) == (503, "database unavailable\n")
    # The log says what kind of failure, never the address, the user or the password.
    assert "OperationalError" in result.stderr
    assert "s3cret" not in result.stderr and "clinicdb" not in result.stderr and str(port) not in result.stderr
