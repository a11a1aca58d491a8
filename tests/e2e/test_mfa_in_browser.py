"""Two-factor sign-in in a real browser: setting up an authenticator app and signing in
with its code (computed here from the key the page shows), a recovery code used and the
owner's reset when everything is lost, and passkeys through Chromium's virtual
authenticator (registered, used as the second factor, and alone). WebAuthn refuses IP
addresses, so the passkey test opens http://localhost:<port>."""

import base64
import re

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from effleura.demo.data import DEMO_PASSWORD

PASSWORD = "mfa-browser-passphrase-42"


@pytest.fixture
def make_user(site):
    """make_user(username, role) -> username: a new account of its own, so enrolling a
    second factor never changes a demo login other browser tests use."""

    def make(username: str, role: str = "therapist") -> str:
        code = (
            "from effleura.core.models import User; "
            f"User.objects.create_user(username={username!r}, password={PASSWORD!r}, role={role!r}, "
            f"first_name={username.title()!r}, last_name='Tester')"
        )
        site.manage("shell", "-c", code)
        return username

    return make


def code_from(secret: str, *, ahead: int = 0) -> str:
    """The code an authenticator app shows for ``secret`` (base32), ``ahead`` steps on."""
    key = base64.b32decode(secret)
    return f"{totp(key, t0=-30 * ahead):06d}"


def password_step(page, username: str, password: str = PASSWORD, base: str = ""):
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Log in").click()


def log_out(page):
    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/"))


def enrol_app(page) -> tuple[str, list[str]]:
    """On the Profile page: set up the authenticator app; returns its key and the
    recovery codes shown."""
    page.goto("/profile/")
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("6-digit code from your authenticator app").fill(code_from(secret))
    page.get_by_role("button", name="Confirm the authenticator app").click()
    expect(page.get_by_text("Your recovery codes")).to_be_visible()
    codes = [c.strip() for c in page.locator(".recovery-codes code").all_inner_texts()]
    assert len(codes) == 10
    return secret, codes


def test_an_authenticator_app_is_set_up_and_asked_for_at_sign_in(page, make_user):
    username = make_user("mfa_app")
    password_step(page, username)
    expect(page).to_have_url(re.compile(r"/$"))
    secret, _codes = enrol_app(page)
    log_out(page)

    password_step(page, username)
    expect(page).to_have_url(re.compile(r"/login/second-factor/$"))
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    # Not signed in yet: another page sends back to the login.
    page.goto("/patients/")
    expect(page).to_have_url(re.compile(r"/login/"))
    password_step(page, username)
    page.get_by_label("6-digit code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#id_totp-code_error")).to_have_text(re.compile("That code is not right"))
    page.wait_for_timeout(1100)  # django-otp's pause after a wrong code: 1 s
    # The code used to confirm the app cannot serve again: the app's next code does.
    page.get_by_label("6-digit code from your authenticator app").fill(code_from(secret, ahead=1))
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("banner").get_by_role("button", name="Log out")).to_be_visible()


def test_a_recovery_code_signs_in_once_and_the_owner_resets_a_lost_factor(page, make_user, login):
    username = make_user("mfa_lost")
    password_step(page, username)
    _secret, codes = enrol_app(page)
    log_out(page)

    password_step(page, username)
    page.get_by_text("Lost your authenticator? Use a recovery code").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Use recovery code").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_text("9 recovery codes left")).to_be_visible()
    log_out(page)

    # The same code a second time: refused.
    password_step(page, username)
    page.get_by_text("Lost your authenticator? Use a recovery code").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Use recovery code").click()
    expect(page.locator("#id_recovery-code_error")).to_have_text(re.compile("That code is not right"))

    # Everything lost: the owner resets it from the Staff page.
    login(page, "owner", DEMO_PASSWORD)
    page.goto("/staff/")
    page.get_by_role("link", name=re.compile("Mfa_Lost")).first.click()
    page.get_by_role("button", name="Reset two-factor sign-in").click()
    expect(page.get_by_text("two-factor sign-in was reset")).to_be_visible()
    log_out(page)

    password_step(page, username)
    expect(page).to_have_url(re.compile(r"/$"))


def test_a_passkey_is_registered_then_used_as_the_second_factor_and_alone(page, site, make_user):
    username = make_user("mfa_passkey")
    port = site.url.rsplit(":", 1)[1]
    base = f"http://localhost:{port}"
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )

    password_step(page, username, base=base)
    expect(page).to_have_url(re.compile(r"localhost:\d+/$"))
    page.goto(f"{base}/profile/")
    page.get_by_role("button", name="Add a passkey").click()
    # The page loads again and lists the new passkey.
    expect(page.get_by_role("cell", name="Passkey 1", exact=True)).to_be_visible()
    page.get_by_label("New name for Passkey 1").fill("Virtual key")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("cell", name="Virtual key", exact=True)).to_be_visible()
    log_out(page)

    # The second factor after the password.
    password_step(page, username, base=base)
    expect(page).to_have_url(re.compile(r"/login/second-factor/$"))
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(re.compile(r"localhost:\d+/$"))
    expect(page.get_by_role("banner").get_by_role("button", name="Log out")).to_be_visible()
    log_out(page)

    # Alone: a discoverable passkey with the device's own check is both factors.
    page.goto(f"{base}/login/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(re.compile(r"localhost:\d+/$"))
    expect(page.get_by_role("banner").get_by_role("link", name=re.compile("Mfa_Passkey"))).to_be_visible()


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("width", [390, 768])
def test_the_two_factor_pages_fit_a_phone_and_a_tablet(page, site, make_user, width):
    page.set_viewport_size({"width": width, "height": 900})
    username = make_user(f"mfa_fit{width}")
    password_step(page, username)
    expect(page).to_have_url(re.compile(r"/$"))
    site.manage(
        "shell",
        "-c",
        "from django_otp_webauthn.models import WebAuthnCredential; from effleura.core.models import User; "
        f"WebAuthnCredential.objects.create(user=User.objects.get(username={username!r}), "
        f"name='A passkey with a long name for a small screen', credential_id=b'fit{width}', public_key=b'k')",
    )
    page.goto("/profile/")
    expect(page.get_by_role("cell", name="A passkey with a long name for a small screen", exact=True)).to_be_visible()
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.locator(".qr svg")).to_be_visible()
    assert horizontal_overflow(page) <= 0
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("6-digit code from your authenticator app").fill(code_from(secret))
    page.get_by_role("button", name="Confirm the authenticator app").click()
    expect(page.locator(".recovery-codes code")).to_have_count(10)
    assert horizontal_overflow(page) <= 0
    log_out(page)
    password_step(page, username)
    expect(page).to_have_url(re.compile(r"/login/second-factor/$"))
    expect(page.get_by_role("button", name="Use a passkey")).to_be_visible()
    assert horizontal_overflow(page) <= 0
