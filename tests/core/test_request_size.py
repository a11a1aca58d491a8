"""The largest request the practice accepts (EFFLEURA_MAX_UPLOAD_MB, core/request_size.py):
refused with 413 and a plain message before its body is read, on the pages and the API."""

import io
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import WSGIRequest
from django.test import Client, RequestFactory

from effleura.core import request_size
from effleura.core.request_size import CappedStream, RequestSizeMiddleware

MB = 1024 * 1024
# Nothing of a refused body may be read; a few bytes of slack would still tell.
SMALL = 1024


class Tripwire(io.RawIOBase):
    """A request body of ``size`` bytes that records how much of it was read and fails
    the test as soon as more than ``allowed`` bytes are asked for."""

    def __init__(self, size: int, allowed: int = SMALL):
        self.size, self.allowed, self.taken = size, allowed, 0

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.size - self.taken if n is None or n < 0 else min(n, self.size - self.taken)
        assert self.taken + n <= self.allowed, f"read {self.taken + n} bytes of a body that should stay unread"
        self.taken += n
        return b"x" * n

    def readline(self, n=-1):
        return self.read(n if n is not None and n >= 0 else SMALL)


def _send_300_mb(client, path, content_type="multipart/form-data; boundary=b"):
    body = Tripwire(300 * MB)
    response = client.generic(
        "POST", path, b"", content_type=content_type, CONTENT_LENGTH=str(300 * MB), **{"wsgi.input": body}
    )
    return response, body


@pytest.mark.django_db
def test_a_300_mb_upload_to_the_api_is_refused_unread(api_as, owner):
    client = api_as(owner)
    response, body = _send_300_mb(client, "/api/v1/referrals/8d7c9b5e-0f1a-4d2b-9c3e-5a6b7c8d9e0f/original")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": request_size.too_large_message()}
    assert "25 MB" in response.json()["detail"]
    assert body.taken == 0


@pytest.mark.django_db
def test_a_300_mb_upload_to_a_page_is_refused_unread_with_a_page_saying_why(client_for, owner):
    response, body = _send_300_mb(client_for(owner), "/referrals/8d7c9b5e-0f1a-4d2b-9c3e-5a6b7c8d9e0f/original/")
    assert response.status_code == 413
    page = response.content.decode()
    assert "Too large" in page and "larger than 25 MB" in page and "Nothing was saved" in page
    assert body.taken == 0


@pytest.mark.django_db
def test_even_signed_out_a_huge_body_is_refused_before_anything_reads_it():
    # Before sign-in, CSRF or the permission gate: none of them reads it either.
    response, body = _send_300_mb(Client(), "/login/", "application/x-www-form-urlencoded")
    assert response.status_code == 413 and body.taken == 0


@pytest.mark.django_db
def test_the_limit_follows_the_setting(api_as, owner, settings):
    settings.EFFLEURA_MAX_UPLOAD_BYTES = 1 * MB
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1 * MB
    client = api_as(owner)
    over = client.generic("POST", "/api/v1/patients", b"", content_type="multipart/form-data; boundary=b",
                          CONTENT_LENGTH=str(MB + 1), **{"wsgi.input": Tripwire(MB + 1)})  # fmt: skip
    assert over.status_code == 413 and "larger than 1 MB" in over.json()["detail"]


@pytest.mark.django_db
def test_a_json_body_over_the_in_memory_limit_is_refused_from_its_length(api_as, owner, settings):
    # Not a file: held to DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), still before it is read.
    body = Tripwire(3 * MB)
    response = api_as(owner).generic(
        "POST", "/api/v1/patients", b"", content_type="application/json",
        CONTENT_LENGTH=str(3 * MB), **{"wsgi.input": body},
    )  # fmt: skip
    assert response.status_code == 413
    assert response.json()["detail"] == request_size.too_large_message(
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE, upload=False
    )
    assert "2.5 MB" in response.json()["detail"] and body.taken == 0


@pytest.mark.django_db
def test_a_body_within_the_limits_is_read_as_usual(api_as, owner):
    body = {"legal_first_name": "Ada", "legal_last_name": "Fictional", "date_of_birth": "1979-06-14"}
    response = api_as(owner).post("/api/v1/patients", body, content_type="application/json")
    assert response.status_code == 201, response.content


def _chunked_request(stream, *, terminated=True, path="/api/v1/patients"):
    """The WSGIRequest a server makes of a chunked body: no Content-Length, the decoded
    body in wsgi.input; ``terminated``: the server says that stream ends with the body
    (gunicorn does)."""
    environ = RequestFactory()._base_environ(
        PATH_INFO=path, REQUEST_METHOD="POST", CONTENT_TYPE="application/json", HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": stream, "wsgi.input_terminated": terminated},
    )  # fmt: skip
    environ.pop("CONTENT_LENGTH", None)
    return WSGIRequest(environ)


def test_a_chunked_body_is_read_no_further_than_the_limit(settings):
    settings.EFFLEURA_MAX_UPLOAD_BYTES = 64 * 1024
    stream = Tripwire(300 * MB, allowed=64 * 1024 + 1)
    reached = []

    def view(request):
        reached.append(True)
        return request.body

    with pytest.raises(RequestDataTooBig) as refused:
        RequestSizeMiddleware(view)(_chunked_request(stream))
    assert reached == [True]
    assert stream.taken == 64 * 1024 + 1  # one byte past the limit tells it is over
    assert "larger than 64 KB" in str(refused.value)


def test_a_chunked_body_within_the_limit_reads_whole(settings):
    settings.EFFLEURA_MAX_UPLOAD_BYTES = 64 * 1024
    request = _chunked_request(io.BytesIO(b'{"a": 1}'))
    assert RequestSizeMiddleware(lambda r: r.body)(request) == b'{"a": 1}'


def test_without_the_servers_word_that_it_ends_a_body_of_no_length_is_empty(settings):
    # Django's own rule (a missing Content-Length reads as 0): nothing is read at all.
    stream = Tripwire(300 * MB, allowed=0)
    request = _chunked_request(stream, terminated=False)
    assert RequestSizeMiddleware(lambda r: r.body)(request) == b""
    assert stream.taken == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn_site(tmp_path):
    """gunicorn serving the application, with a 1 MB upload limit: its base URL's port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EFFLEURA_")}
    env.update(EFFLEURA_VAR_DIR=str(tmp_path), EFFLEURA_MAX_UPLOAD_MB="1", DJANGO_SETTINGS_MODULE="effleura.settings",
               EFFLEURA_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")  # fmt: skip
    # Its own database; the static files this test run already collected.
    subprocess.run([sys.executable, "-m", "effleura.cli", "migrate", "--noinput", "-v", "0"], env=env, check=True,
                   timeout=300)  # fmt: skip
    (tmp_path / "static").rmdir()
    (tmp_path / "static").symlink_to(django_settings.STATIC_ROOT)
    port = _free_port()
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "effleura.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "60"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()


def test_gunicorn_passes_a_chunked_body_on_and_it_is_refused_413_unread(gunicorn_site, tmp_path):
    # A real server, a real chunked request: a 50 MB form body to the login page, sent
    # while the answer is read. The 413 arrives while most of the body is still unsent.
    total, piece = 50 * MB, 64 * 1024
    conn = socket.create_connection(("127.0.0.1", gunicorn_site), timeout=30)
    token = "a" * 32
    conn.sendall(
        b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        + f"Cookie: csrftoken={token}\r\nX-CSRFToken: {token}\r\n\r\n".encode()
    )
    sent = [0]
    answered = threading.Event()

    def send():
        chunk = f"{piece:x}\r\n".encode() + b"a" * piece + b"\r\n"
        try:
            while sent[0] < total and not answered.is_set():
                conn.sendall(chunk)
                sent[0] += piece
            conn.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed: the rest is never read

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            data = conn.recv(65536)
            if not data:
                break
            answer += data
    finally:
        answered.set()
        sent_when_answered = sent[0]
        conn.close()
        sender.join(timeout=30)
    status = answer.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 413"), (tmp_path / "server.log").read_text()[-3000:]
    headers = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert b"content-security-policy" in headers and b"no-store" in headers
    assert sent_when_answered < total // 2, sent_when_answered


def test_the_capped_stream_reads_lines_and_chunks_up_to_the_limit():
    stream = CappedStream(io.BytesIO(b"ab\ncd\n" + b"e" * 100), limit=10)
    assert stream.readline() == b"ab\n"
    assert stream.read(3) == b"cd\n"
    with pytest.raises(RequestDataTooBig):
        stream.read()


@pytest.mark.django_db
def test_a_multipart_form_over_the_in_memory_limit_answers_413_not_400(client_for, owner, settings):
    # Django finds this while parsing (a form field, not a file, too big to hold): the
    # pages' bad-request answer turns it into the same 413 page.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client_for(owner).post("/login/", {"username": "x" * 5000, "password": "y"})
    assert response.status_code == 413
    assert "the most a form or API request may hold" in response.content.decode()


def test_the_limit_is_read_from_the_environment(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EFFLEURA_")}
    clean.update({"EFFLEURA_VAR_DIR": str(tmp_path), "EFFLEURA_MAX_UPLOAD_MB": "7"})
    code = "from django.conf import settings as s; print(s.EFFLEURA_MAX_UPLOAD_BYTES, s.DATA_UPLOAD_MAX_MEMORY_SIZE)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='effleura.settings'; {code}"],
        env=clean, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.stdout.split() == [str(7 * MB), str(2_621_440)], result.stderr
    clean["EFFLEURA_MAX_UPLOAD_MB"] = "0"
    refused = subprocess.run([sys.executable, "-m", "effleura.cli", "check"], env=clean, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
    assert refused.returncode == 2 and "EFFLEURA_MAX_UPLOAD_MB must be at least 1" in refused.stderr


@pytest.mark.django_db
def test_a_413_carries_the_content_security_policy_and_no_store(client_for, owner):
    # RequestSizeMiddleware sits after the CSP and browser-protection middleware, so its
    # own answer gets their headers too; still nothing of the body is read.
    response, body = _send_300_mb(client_for(owner), "/referrals/8d7c9b5e-0f1a-4d2b-9c3e-5a6b7c8d9e0f/original/")
    assert response.status_code == 413 and body.taken == 0
    assert "default-src" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]
    api, body = _send_300_mb(Client(), "/api/v1/patients", "application/json")
    assert api.status_code == 413 and body.taken == 0
    assert "no-store" in api["Cache-Control"]
