"""Fixtures for the browser tests: a real Effleura server driven by Debian's Chromium.

Every test under tests/e2e/ is marked `e2e` here, so `make test` runs them in their own
pass (`pytest -m e2e`) after the database suites. Fixtures:

    site     (session)  gunicorn serving a fresh SQLite database with the demo data
    browser  (session)  headless Chromium (/usr/bin/chromium; never a downloaded build)
    page     (function) a new page in a fresh browser context; relative URLs resolve
                        against site.url; default timeout 10 s
    login    (function) login(page, username) signs in through the login form
    pick_regions (function) pick_regions(page, row, *names) ticks a note row's region chips

The server is another process with its own database: a test checks results through
the pages, or through `site.manage(...)`, which runs an `effleura` command against it.
Playwright's sync API keeps an event loop in this thread, so the Django ORM of the
test process itself refuses to run here (SynchronousOnlyOperation); use site.manage.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
TIMEOUT_MS = 10_000
SERVER_START_SECONDS = 60
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    # The machines have no outside network: stop Chromium from trying.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@dataclass
class Site:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    var_dir: Path
    env: dict[str, str] = field(repr=False)
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `effleura ARGS...` against this site's database; returns the result."""
        return _effleura(self.env, *args, check=check)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _effleura(env: dict[str, str], *args: str, check: bool = True):
    result = subprocess.run(
        [sys.executable, "-m", "effleura.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"`effleura {' '.join(args)}` failed (exit {result.returncode}):\n{result.stdout}{result.stderr}",
            pytrace=False,
        )
    return result


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own http://127.0.0.1)
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer (a redirect to the login page, a 404) means it is up
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Iterator[Site]:
    var_dir = tmp_path_factory.mktemp("e2e-site")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("EFFLEURA_")  # e.g. a PostgreSQL URL from the caller
    }
    env.update(
        DJANGO_SETTINGS_MODULE="effleura.settings",
        EFFLEURA_VAR_DIR=str(var_dir),
        EFFLEURA_DATABASE_URL=f"sqlite:///{var_dir / 'e2e.sqlite3'}",
        EFFLEURA_SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        EFFLEURA_DEBUG="false",
        EFFLEURA_TASK_BACKEND="django_tasks.backends.immediate.ImmediateBackend",
        EFFLEURA_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    _effleura(env, "migrate", "--noinput")
    _effleura(env, "collectstatic", "--noinput", "-v", "0")
    _effleura(env, "demo")

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    # WebAuthn refuses IP addresses: the passkey tests open http://localhost:<port>.
    env["EFFLEURA_WEBAUTHN_ORIGINS"] = f"http://localhost:{port}"
    log_path = var_dir / "server.log"
    site = Site(url=url, var_dir=var_dir, env=env, log_path=log_path)
    gunicorn = [sys.executable, "-m", "gunicorn", "effleura.wsgi:application"]
    with open(log_path, "wb") as log_file:
        site.process = subprocess.Popen(
            [*gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _answers(url + "/"):
            if site.process.poll() is not None:
                pytest.fail(
                    f"the e2e server exited with {site.process.returncode}:\n{site.log()}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the e2e server did not answer within {SERVER_START_SECONDS}s:\n{site.log()}",
                    pytrace=False,
                )
            time.sleep(0.1)
        yield site
    finally:
        site.process.terminate()
        try:
            site.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            site.process.kill()
            site.process.wait()
        # The server's audit details (demo data and every browser test) join the
        # session-wide check that none names a health detail (tests/audit_details.py).
        import audit_details

        audit_details.DETAILS.update(audit_details.details_in_sqlite(var_dir / "e2e.sqlite3"))


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        message = "Chromium not installed (apt-get install chromium)"
        if in_ci():
            pytest.fail(f"{message}; CI=true requires the browser tests.", pytrace=False)
        pytest.skip(message)

    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(base_url=site.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def login(site):
    """login(page, username, password=None): sign in through the login form.

    The password defaults to the demo data's DEMO_PASSWORD. Fails the test, naming the
    user, if the form is shown again (wrong password, unknown user)."""
    try:
        from effleura.demo.data import DEMO_PASSWORD
    except ImportError as exc:
        pytest.fail(
            "the login fixture needs DEMO_PASSWORD from effleura.demo.data "
            f"(the demo data's shared password), which could not be imported: {exc}",
            pytrace=False,
        )
    from django.conf import settings
    from django.shortcuts import resolve_url

    login_path = resolve_url(settings.LOGIN_URL)

    def _login(page, username: str, password: str | None = None):
        page.goto(login_path)
        page.locator("#id_username").fill(username)
        page.locator("#id_password").fill(DEMO_PASSWORD if password is None else password)
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()
        if page.url.split("?")[0].rstrip("/") == (site.url + login_path).rstrip("/"):
            pytest.fail(f"logging in as {username!r} failed: the login form came back")
        return page

    return _login


@pytest.fixture
def pick_regions():
    """pick_regions(page, row, *names): open the region picker of technique row ``row``
    (1-based, as its labels say) and tick each region's chip by its name ("Low back")."""

    def _pick(page, row: int, *names: str):
        summary = page.locator("details.region-picker > summary", has_text=f"Regions, row {row}:")
        picker = summary.locator("xpath=..")
        if picker.get_attribute("open") is None:
            summary.click()
        chips = picker.get_by_role("group", name=f"Regions, row {row}")
        for name in names:
            chips.get_by_role("checkbox", name=name, exact=True).check()
        return picker

    return _pick


@pytest.fixture
def register_patient():
    """register_patient(page, first, last, date_of_birth): register through the form and
    land on the new chart (the signed-in user must be allowed to register)."""
    import re

    from playwright.sync_api import expect

    def _register(page, first: str, last: str, date_of_birth: str):
        page.goto("/patients/new/")
        page.get_by_label("Legal first name").fill(first)
        page.get_by_label("Legal last name").fill(last)
        page.get_by_label(re.compile(r"^Date of birth")).fill(date_of_birth)
        page.get_by_role("button", name="Register patient").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"{first} {last}")
        return page

    return _register
