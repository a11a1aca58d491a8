"""Two-factor sign-in (core/mfa.py, core/mfa_views.py): an authenticator app (TOTP), recovery
codes, the practice's rule that some roles must use a second factor, the waiting sign-in's
expiry, and every enrolment page's refusals. Passkeys are driven in a real browser
(tests/e2e/test_mfa_in_browser.py); here only what needs no authenticator."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from effleura.core import mfa, signin
from effleura.core.choices import AuditAction, AuditOutcome, Role
from effleura.core.models import ApiToken, AuditEvent, Practice, hash_token

PASSWORD = "correct-horse-battery-9"  # the personas' password (tests/conftest.py)
PRACTICE = {
    "name": "Riverside Clinical Massage",
    "time_zone": "America/Chicago",
    "decimal_separator": ".",
    "largest_amount": "1000000.00",
    "start_window_minutes": "30",
    "phone_region": "US",
}

LOGIN = reverse("core:login")
SECOND = reverse("core:second_factor")


@pytest.fixture(autouse=True)
def _no_pause_between_codes(settings):
    # django-otp pauses a device after a wrong code (1 s, 2 s ...); the tests type fast.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    settings.AXES_FAILURE_LIMIT = 5


def code_for(device: TOTPDevice) -> str:
    """The code the person's app shows now (django-otp's own TOTP)."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def enrol_totp(user) -> TOTPDevice:
    device = mfa.do_start_totp(user)
    mfa.do_confirm_totp(user, mfa.check_confirm_totp(user, code_for(device)))
    device.refresh_from_db()
    # The code just used to confirm may not serve the sign-in that follows in the same step.
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    return device


def password_step(client, user, next_url=""):
    data = {"username": user.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN, data)


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def proved(client):
    """The person types their current password on the Profile page (needed to add or
    replace a second factor when the sign-in is older than mfa.PROVED_SECONDS)."""
    client.post(reverse("core:mfa_prove"), {"prove-password": PASSWORD})
    return client


def require_roles(*roles):
    practice = Practice.current()
    practice.mfa_required_roles = list(roles)
    practice.save()


# Signing in ------------------------------------------------------------------------


def test_without_a_second_factor_the_password_signs_in(therapist):
    client = Client()
    response = password_step(client, therapist)
    assert response.status_code == 302 and response["Location"] == reverse("core:home")
    assert signed_in(client)


def test_with_an_authenticator_app_the_password_alone_does_not_sign_in(therapist):
    enrol_totp(therapist)
    client = Client()
    response = password_step(client, therapist)
    assert response["Location"] == SECOND
    assert not signed_in(client)
    assert client.get(reverse("patients:list"))["Location"].startswith(LOGIN)
    page = client.get(SECOND).content.decode()
    assert "authenticator app" in page and "recovery code" in page


def test_the_right_code_completes_the_sign_in_and_marks_the_session_verified(therapist):
    device = enrol_totp(therapist)
    client = Client()
    password_step(client, therapist, next_url="/patients/")
    response = client.post(SECOND, {"kind": "totp", "totp-code": code_for(device)})
    assert response.status_code == 302 and response["Location"] == "/patients/"
    assert signed_in(client)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert mfa.PENDING_KEY not in client.session
    assert AuditEvent.objects.filter(actor_id=therapist.pk, action=AuditAction.LOGIN, outcome="allowed").exists()


def test_the_same_code_is_refused_a_second_time(therapist):
    device = enrol_totp(therapist)
    code = code_for(device)
    first = Client()
    password_step(first, therapist)
    assert first.post(SECOND, {"kind": "totp", "totp-code": code}).status_code == 302
    replay = Client()
    password_step(replay, therapist)
    response = replay.post(SECOND, {"kind": "totp", "totp-code": code})
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert not signed_in(replay)


def test_a_wrong_code_is_refused_audited_and_counted_toward_the_lockout(therapist):
    device = enrol_totp(therapist)
    client = Client()
    password_step(client, therapist)
    response = client.post(SECOND, {"kind": "totp", "totp-code": "000000"})
    assert response.status_code == 400 and not signed_in(client)
    denied = AuditEvent.objects.filter(actor_id=therapist.pk, record_type="session", outcome=AuditOutcome.DENIED)
    assert [e.detail for e in denied] == ["failed sign-in (second factor: wrong totp code)"]
    for failure in (2, 3, 4):
        response = client.post(SECOND, {"kind": "totp", "totp-code": "000000"})
        assert response.status_code == 400, failure
        assert not signin.is_locked(response.wsgi_request, therapist.username), failure
    # The fifth failure locks (the lockout page belongs to core/signin.py): the waiting
    # sign-in is forgotten.
    response = client.post(SECOND, {"kind": "totp", "totp-code": "000000"})
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert signin.is_locked(response.wsgi_request, therapist.username)
    assert mfa.PENDING_KEY not in client.session and not signed_in(client)
    # The right password and the right code do not get in while the account is locked.
    again = Client()
    password_step(again, therapist)
    again.post(SECOND, {"kind": "totp", "totp-code": code_for(device)})
    assert not signed_in(again)


def test_the_waiting_sign_in_expires(therapist, monkeypatch):
    device = enrol_totp(therapist)
    client = Client()
    password_step(client, therapist)
    started = mfa._now()
    monkeypatch.setattr(mfa, "_now", lambda: started + mfa.PENDING_SECONDS + 1)
    response = client.post(SECOND, {"kind": "totp", "totp-code": code_for(device)}, follow=True)
    assert response.redirect_chain[0][0] == LOGIN
    assert "not finished in time" in response.content.decode()
    assert not signed_in(client) and mfa.PENDING_KEY not in client.session


def test_the_second_factor_page_without_a_password_step_sends_to_the_login(db):
    response = Client().get(SECOND)
    assert response["Location"] == LOGIN


def test_a_deactivated_account_cannot_finish_its_waiting_sign_in(therapist):
    device = enrol_totp(therapist)
    client = Client()
    password_step(client, therapist)
    therapist.is_active = False
    therapist.save()
    response = client.post(SECOND, {"kind": "totp", "totp-code": code_for(device)})
    assert response["Location"] == LOGIN and not signed_in(client)


# Recovery codes ----------------------------------------------------------------------


def test_a_recovery_code_signs_in_once_and_the_page_says_how_many_remain(therapist):
    enrol_totp(therapist)
    codes = mfa.do_make_recovery_codes(therapist)
    assert len(codes) == mfa.RECOVERY_CODE_COUNT == 10
    client = Client()
    password_step(client, therapist)
    response = client.post(SECOND, {"kind": "recovery", "recovery-code": codes[0].upper()}, follow=True)
    assert signed_in(client)
    assert "9 recovery codes left" in response.content.decode()
    assert mfa.recovery_codes_left(therapist) == 9
    assert AuditEvent.objects.filter(actor_id=therapist.pk, detail="recovery code used").count() == 1
    again = Client()
    password_step(again, therapist)
    refused = again.post(SECOND, {"kind": "recovery", "recovery-code": codes[0]})
    assert refused.status_code == 400 and not signed_in(again)


def test_recovery_codes_are_stored_hashed_and_new_ones_replace_the_old(therapist):
    enrol_totp(therapist)
    old = mfa.do_make_recovery_codes(therapist)
    stored = set(StaticToken.objects.filter(device__user=therapist).values_list("token", flat=True))
    assert not stored & {c for c in old} and not stored & {c.replace("-", "") for c in old}
    new = mfa.do_make_recovery_codes(therapist)
    assert mfa.recovery_codes_left(therapist) == 10
    client = Client()
    password_step(client, therapist)
    assert client.post(SECOND, {"kind": "recovery", "recovery-code": old[0]}).status_code == 400
    assert client.post(SECOND, {"kind": "recovery", "recovery-code": new[0]}).status_code == 302


def test_confirming_the_app_shows_ten_recovery_codes_once(client_for, therapist):
    client = proved(client_for(therapist))
    client.post(reverse("core:mfa_totp_start"))
    device = TOTPDevice.objects.get(user=therapist)
    page = client.get(reverse("core:profile")).content.decode()
    assert "<svg" in page and mfa.totp_device(therapist) is None  # not counted before a code
    import base64

    assert base64.b32encode(device.bin_key).decode() in page
    response = client.post(reverse("core:mfa_totp_confirm"), {"confirm-code": code_for(device)})
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<li><code>") == 10
    assert mfa.totp_device(therapist) is not None
    assert client.get(reverse("core:profile")).content.decode().count("<li><code>") == 0
    assert "10 unused recovery codes left" in client.get(reverse("core:profile")).content.decode()


# The practice's rule -------------------------------------------------------------------


def test_a_required_role_without_a_factor_is_held_on_the_profile_page_until_enrolled(therapist, billing):
    require_roles(Role.THERAPIST)
    client = Client()
    response = password_step(client, therapist)
    assert response["Location"] == reverse("core:profile") + "#two-factor"
    assert signed_in(client)
    assert client.get(reverse("patients:list"))["Location"] == reverse("core:profile") + "#two-factor"
    assert client.post(reverse("core:profile"), {"name": "a token"}).status_code == 302
    assert not ApiToken.objects.filter(user=therapist).exists()
    assert "Your role must use two-factor sign-in" in client.get(reverse("core:profile")).content.decode()
    client.post(reverse("core:mfa_totp_start"))
    device = TOTPDevice.objects.get(user=therapist)
    client.post(reverse("core:mfa_totp_confirm"), {"confirm-code": code_for(device)})
    assert client.get(reverse("patients:list")).status_code == 200
    # Another role is not held.
    other = Client()
    password_step(other, billing)
    assert other.get(reverse("core:home")).status_code == 200


def test_a_held_session_may_sign_out(therapist):
    require_roles(Role.THERAPIST)
    client = Client()
    password_step(client, therapist)
    assert client.post(reverse("core:logout"))["Location"] == LOGIN
    assert not signed_in(client)


def test_a_required_role_with_a_factor_goes_to_the_second_step(therapist):
    enrol_totp(therapist)
    require_roles(Role.THERAPIST)
    assert password_step(Client(), therapist)["Location"] == SECOND


def test_a_required_role_cannot_remove_its_last_factor(client_for, therapist):
    enrol_totp(therapist)
    require_roles(Role.THERAPIST)
    response = client_for(therapist).post(reverse("core:mfa_totp_remove"), {"remove-password": PASSWORD})
    assert response.status_code == 400 and "add another authenticator app or passkey" in response.content.decode()
    assert mfa.totp_device(therapist) is not None


def test_api_tokens_are_their_own_factor(therapist):
    enrol_totp(therapist)
    require_roles(Role.THERAPIST)
    raw = ApiToken.new_raw_token()
    ApiToken.objects.create(user=therapist, name="script", key_hash=hash_token(raw), hint=raw[:8])
    response = Client().get("/api/v1/patients", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200


def test_the_owner_sets_the_required_roles_on_the_practice_page(client_for, owner):
    client = client_for(owner)
    assert "Roles that must use two-factor sign-in" in client.get(reverse("core:practice")).content.decode()
    response = client.post(reverse("core:practice"), {**PRACTICE, "mfa_required_roles": ["therapist", "owner"]})
    assert response.status_code == 302
    assert Practice.current().mfa_required_roles == ["owner", "therapist"]
    refused = client.post(reverse("core:practice"), {**PRACTICE, "mfa_required_roles": ["superuser"]})
    assert refused.status_code == 200 and Practice.current().mfa_required_roles == ["owner", "therapist"]


@pytest.mark.parametrize("persona", ["therapist", "front_desk", "billing", "outsider"])
def test_only_the_owner_sets_the_required_roles(client_for, personas, persona):
    response = client_for(personas[persona]).post(reverse("core:practice"), {**PRACTICE, "mfa_required_roles": []})
    assert response.status_code == 403


def test_the_check_refuses_a_role_that_does_not_exist(owner):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        mfa.clean_required_roles(["owner", "root"])
    assert mfa.clean_required_roles(["therapist", "owner"]) == ["owner", "therapist"]


# Enrolment refusals ----------------------------------------------------------------------

MFA_POSTS = [
    ("core:mfa_totp_start", ()),
    ("core:mfa_totp_confirm", ()),
    ("core:mfa_totp_remove", ()),
    ("core:mfa_recovery_codes", ()),
    ("core:mfa_passkey_rename", ("a" * 64,)),
    ("core:mfa_passkey_remove", ("a" * 64,)),
]


@pytest.mark.parametrize(("name", "args"), MFA_POSTS)
def test_signed_out_visitors_are_sent_to_log_in(db, name, args):
    response = Client().post(reverse(name, args=args))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


@pytest.mark.parametrize("persona", ["owner", "therapist", "front_desk", "billing", "outsider"])
def test_every_persona_enrols_its_own_app_and_a_wrong_code_is_refused(client_for, personas, persona):
    user = personas[persona]
    client = proved(client_for(user))
    assert client.post(reverse("core:mfa_totp_start")).status_code == 302
    refused = client.post(reverse("core:mfa_totp_confirm"), {"confirm-code": "123"})
    assert refused.status_code == 400 and "6-digit code" in refused.content.decode()
    assert mfa.totp_device(user) is None
    device = TOTPDevice.objects.get(user=user)
    assert client.post(reverse("core:mfa_totp_confirm"), {"confirm-code": code_for(device)}).status_code == 200
    assert mfa.totp_device(user) is not None
    again = client.post(reverse("core:mfa_totp_start"), follow=True)
    assert "already use an authenticator app" in again.content.decode()
    kinds = set(AuditEvent.objects.filter(actor_id=user.pk, record_type=mfa.RECORD).values_list("detail", flat=True))
    assert kinds == {"totp enrolled", "recovery codes made"}


def test_removing_the_app_needs_the_password_or_a_code(client_for, therapist):
    device = enrol_totp(therapist)
    client = client_for(therapist)
    for data in ({}, {"remove-password": "wrong-password"}, {"remove-code": "000000"}):
        response = client.post(reverse("core:mfa_totp_remove"), data)
        assert response.status_code == 400 and "current password or a code" in response.content.decode()
        assert mfa.totp_device(therapist) is not None
    assert client.post(reverse("core:mfa_totp_remove"), {"remove-code": code_for(device)}).status_code == 302
    assert mfa.totp_device(therapist) is None
    assert mfa.recovery_codes_left(therapist) == 0  # recovery codes go with the last factor
    assert AuditEvent.objects.filter(actor_id=therapist.pk, detail="totp removed").exists()


def test_removing_the_app_with_the_password(client_for, therapist):
    enrol_totp(therapist)
    client = client_for(therapist)
    assert client.post(reverse("core:mfa_totp_remove"), {"remove-password": PASSWORD}).status_code == 302
    assert mfa.totp_device(therapist) is None
    assert password_step(Client(), therapist)["Location"] == reverse("core:home")


def test_recovery_codes_need_a_factor_first(client_for, therapist):
    response = proved(client_for(therapist)).post(reverse("core:mfa_recovery_codes"), follow=True)
    assert "Set up an authenticator app or a passkey first" in response.content.decode()
    assert mfa.recovery_codes_left(therapist) == 0


def test_a_passkey_that_is_not_ones_own_cannot_be_renamed_or_removed(client_for, therapist, front_desk):
    from django_otp_webauthn.models import WebAuthnCredential

    passkey = WebAuthnCredential.objects.create(
        user=front_desk, name="Desk laptop", credential_id=b"credential-1", public_key=b"key", sign_count=0
    )
    client = client_for(therapist)
    renamed = client.post(
        reverse("core:mfa_passkey_rename", args=[passkey.credential_id_sha256]), {"name": "Mine"}, follow=True
    )
    removed = client.post(
        reverse("core:mfa_passkey_remove", args=[passkey.credential_id_sha256]), {"password": PASSWORD}, follow=True
    )
    assert "That passkey does not exist" in renamed.content.decode()
    assert "That passkey does not exist" in removed.content.decode()
    passkey.refresh_from_db()
    assert passkey.name == "Desk laptop"
    assert not AuditEvent.objects.filter(record_type=mfa.RECORD).exists()


def test_the_owner_of_a_passkey_renames_it_and_removes_it_with_the_password(client_for, therapist):
    from django_otp_webauthn.models import WebAuthnCredential

    passkey = WebAuthnCredential.objects.create(
        user=therapist, name="Passkey 1", credential_id=b"credential-2", public_key=b"key", sign_count=0
    )
    client = client_for(therapist)
    url = reverse("core:mfa_passkey_rename", args=[passkey.credential_id_sha256])
    assert "Give the passkey a name" in client.post(url, {"name": "  "}, follow=True).content.decode()
    client.post(url, {"name": "Work laptop"})
    passkey.refresh_from_db()
    assert passkey.name == "Work laptop"
    remove = reverse("core:mfa_passkey_remove", args=[passkey.credential_id_sha256])
    assert "current password" in client.post(remove, {"password": "wrong"}, follow=True).content.decode()
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    client.post(remove, {"password": PASSWORD})
    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    kinds = AuditEvent.objects.filter(actor_id=therapist.pk, record_type=mfa.RECORD).values_list("detail", flat=True)
    assert sorted(kinds) == ["passkey removed", "passkey renamed"]


def test_a_user_with_a_passkey_is_asked_for_it_after_the_password(therapist):
    from django_otp_webauthn.models import WebAuthnCredential

    WebAuthnCredential.objects.create(user=therapist, name="P", credential_id=b"credential-3", public_key=b"k")
    client = Client()
    assert password_step(client, therapist)["Location"] == SECOND
    page = client.get(SECOND).content.decode()
    assert 'id="passkey-verification-available-template"' in page and "<script>" not in page
    begin = client.post(reverse("otp_webauthn:credential-authentication-begin"))
    assert begin.status_code == 200 and begin.json()["allowCredentials"]


# The owner's reset ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["therapist", "front_desk", "billing", "outsider"])
def test_only_the_owner_resets_someone_elses_second_factor(client_for, personas, persona, owner):
    enrol_totp(owner)
    response = client_for(personas[persona]).post(reverse("core:mfa_reset", args=[owner.public_id]))
    assert response.status_code == 403
    assert mfa.totp_device(owner) is not None


def test_the_owner_resets_a_lost_second_factor_and_it_is_audited(client_for, owner, therapist):
    enrol_totp(therapist)
    mfa.do_make_recovery_codes(therapist)
    client = client_for(owner)
    page = client.get(reverse("core:staff_edit", args=[therapist.public_id])).content.decode()
    assert "Reset two-factor sign-in" in page
    response = client.post(reverse("core:mfa_reset", args=[therapist.public_id]), follow=True)
    assert "two-factor sign-in was reset" in response.content.decode()
    assert not mfa.has_second_factor(therapist) and mfa.recovery_codes_left(therapist) == 0
    event = AuditEvent.objects.get(actor_id=owner.pk, detail="second factor reset")
    assert event.record_id == str(therapist.public_id)
    assert password_step(Client(), therapist)["Location"] == reverse("core:home")


def test_an_owner_cannot_reset_their_own_second_factor(client_for, owner):
    enrol_totp(owner)
    response = client_for(owner).post(reverse("core:mfa_reset", args=[owner.public_id]))
    assert response.status_code == 403
    assert mfa.totp_device(owner) is not None


def test_resetting_someone_without_a_second_factor_is_refused(client_for, owner, therapist):
    response = client_for(owner).post(reverse("core:mfa_reset", args=[therapist.public_id]), follow=True)
    assert "has no two-factor sign-in to reset" in response.content.decode()
    assert not AuditEvent.objects.filter(detail="second factor reset").exists()


def test_no_code_goes_into_the_audit_trail(therapist):
    device = enrol_totp(therapist)
    codes = mfa.do_make_recovery_codes(therapist)
    client = Client()
    password_step(client, therapist)
    client.post(SECOND, {"kind": "recovery", "recovery-code": codes[1]})
    details = " ".join(AuditEvent.objects.values_list("detail", flat=True))
    assert codes[1] not in details and device.key not in details


# Passkey ceremonies: the refusals that need no authenticator --------------------------------


def test_adding_a_passkey_needs_a_session_verified_by_the_existing_factor(client_for, therapist):
    enrol_totp(therapist)
    response = proved(client_for(therapist)).post(reverse("otp_webauthn:credential-registration-begin"))
    assert response.status_code == 403  # django-otp-webauthn: verify with the app first
    assert response.json()["code"] != "password_needed"


def test_adding_a_passkey_is_refused_to_a_signed_out_visitor(db):
    response = Client().post(reverse("otp_webauthn:credential-registration-begin"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_with_nobody_waiting_a_passkey_sign_in_asks_for_a_discoverable_passkey(db):
    response = Client().post(reverse("otp_webauthn:credential-authentication-begin"))
    assert response.status_code == 200
    options = response.json()
    assert options.get("allowCredentials", []) == [] and options["userVerification"] == "required"


def test_a_locked_account_cannot_start_a_passkey_second_step(therapist, monkeypatch):
    from django_otp_webauthn.models import WebAuthnCredential

    WebAuthnCredential.objects.create(user=therapist, name="P", credential_id=b"credential-4", public_key=b"k")
    client = Client()
    password_step(client, therapist)
    monkeypatch.setattr(signin, "is_locked", lambda request, username: username == therapist.username)
    response = client.post(reverse("otp_webauthn:credential-authentication-begin"))
    assert response.status_code == 403 and "locked" in response.json()["detail"]


def test_a_made_up_passkey_answer_is_refused_and_counted(therapist):
    from django_otp_webauthn.models import WebAuthnCredential

    WebAuthnCredential.objects.create(user=therapist, name="P", credential_id=b"credential-5", public_key=b"k")
    client = Client()
    password_step(client, therapist)
    client.post(reverse("otp_webauthn:credential-authentication-begin"))
    response = client.post(
        reverse("otp_webauthn:credential-authentication-complete"), {"id": "nonsense"}, content_type="application/json"
    )
    assert response.status_code >= 400 and not signed_in(client)
    wrong_passkey = "failed sign-in (second factor: wrong passkey)"
    assert AuditEvent.objects.filter(actor_id=therapist.pk, detail=wrong_passkey, outcome="denied").exists()


# A held session and idle logoff (core/idle.py) -----------------------------------------------


def test_a_held_session_may_poll_stay_and_end_its_idle_time(therapist):
    require_roles(Role.THERAPIST)
    client = Client()
    password_step(client, therapist)
    status = client.get(reverse("core:session_status"))
    assert status.status_code == 200 and status.json()["signed_in"] is True
    stay = client.post(reverse("core:session_stay"), HTTP_ACCEPT="application/json")
    assert stay.status_code == 200 and stay.json()["signed_in"] is True
    end = client.post(reverse("core:session_end"), {"reason": "idle"})
    assert end.status_code == 200 and end.json() == {"signed_in": False}
    assert not signed_in(client)
    assert AuditEvent.objects.filter(actor_id=therapist.pk, action=AuditAction.LOGOUT, detail="idle").exists()


def _accept_any_passkey_answer(monkeypatch, passkey):
    """Stands in for an authenticator's valid signature made without user verification:
    django-otp-webauthn's check answers with the passkey, as it would for a real one."""
    from django_otp_webauthn.helpers import WebAuthnHelper

    def authenticate_complete(self, user, state, data):
        if user is not None and passkey.user_id != user.pk:
            raise AssertionError("the library's user check would refuse this")
        return passkey

    monkeypatch.setattr(WebAuthnHelper, "authenticate_complete", authenticate_complete)


def test_a_second_step_passkey_ceremony_cannot_finish_after_the_sign_in_expired(therapist, monkeypatch):
    from django_otp_webauthn.models import WebAuthnCredential

    passkey = WebAuthnCredential.objects.create(
        user=therapist, name="P", credential_id=b"credential-6", public_key=b"k", confirmed=True
    )
    _accept_any_passkey_answer(monkeypatch, passkey)
    client = Client()
    password_step(client, therapist)
    begun = client.post(reverse("otp_webauthn:credential-authentication-begin")).json()
    assert begun["userVerification"] != "required"  # the password was the first factor
    started = mfa._now()
    monkeypatch.setattr(mfa, "_now", lambda: started + mfa.PENDING_SECONDS + 1)
    response = client.post(
        reverse("otp_webauthn:credential-authentication-complete"), {"id": "x"}, content_type="application/json"
    )
    assert response.status_code == 403 and response.json()["code"] == "sign_in_expired"
    assert not signed_in(client)


def test_a_second_step_passkey_ceremony_finishes_only_the_sign_in_it_began(therapist, front_desk, monkeypatch):
    from django_otp_webauthn.models import WebAuthnCredential

    WebAuthnCredential.objects.create(user=therapist, name="P", credential_id=b"credential-7", public_key=b"k")
    theirs = WebAuthnCredential.objects.create(
        user=front_desk, name="Q", credential_id=b"credential-8", public_key=b"k", confirmed=True
    )
    _accept_any_passkey_answer(monkeypatch, theirs)
    client = Client()
    password_step(client, therapist)
    client.post(reverse("otp_webauthn:credential-authentication-begin"))
    session = client.session
    del session[mfa.PENDING_KEY]  # the waiting sign-in is gone (expired, or signed out)
    session.save()
    response = client.post(
        reverse("otp_webauthn:credential-authentication-complete"), {"id": "x"}, content_type="application/json"
    )
    assert response.status_code == 403 and not signed_in(client)


def test_a_passkey_alone_signs_in_when_user_verification_was_required(therapist, monkeypatch):
    from django_otp_webauthn.models import WebAuthnCredential

    passkey = WebAuthnCredential.objects.create(
        user=therapist, name="P", credential_id=b"credential-9", public_key=b"k", confirmed=True
    )
    _accept_any_passkey_answer(monkeypatch, passkey)
    client = Client()
    assert client.post(reverse("otp_webauthn:credential-authentication-begin")).json()["userVerification"] == "required"
    response = client.post(
        reverse("otp_webauthn:credential-authentication-complete"), {"id": "x"}, content_type="application/json"
    )
    assert response.status_code == 200 and signed_in(client)


# Changing one's second factors needs a recent proof -------------------------------------------


def test_adding_a_second_factor_needs_the_password_when_the_sign_in_is_not_recent(client_for, therapist):
    client = client_for(therapist)  # signed in, but not through a sign-in just now
    page = client.post(reverse("core:mfa_totp_start"), follow=True).content.decode()
    assert "Type your current password first" in page and not TOTPDevice.objects.filter(user=therapist).exists()
    begin = client.post(reverse("otp_webauthn:credential-registration-begin"))
    assert begin.status_code == 403 and begin.json()["code"] == "password_needed"
    complete = client.post(
        reverse("otp_webauthn:credential-registration-complete"), {}, content_type="application/json"
    )
    assert complete.status_code == 403 and complete.json()["code"] == "password_needed"
    refused = client.post(reverse("core:mfa_prove"), {"prove-password": "wrong-password"})
    assert refused.status_code == 400 and "not your current password" in refused.content.decode()
    assert client.post(reverse("core:mfa_totp_start")).status_code == 302
    assert not TOTPDevice.objects.filter(user=therapist).exists()
    proved(client)
    client.post(reverse("core:mfa_totp_start"))
    assert TOTPDevice.objects.filter(user=therapist, confirmed=False).exists()


def test_the_proof_lasts_five_minutes(client_for, therapist, monkeypatch):
    enrol_totp(therapist)
    client = proved(client_for(therapist))
    started = mfa._now()
    monkeypatch.setattr(mfa, "_now", lambda: started + mfa.PROVED_SECONDS + 1)
    page = client.post(reverse("core:mfa_recovery_codes"), follow=True).content.decode()
    assert "Type your current password first" in page and "<li><code>" not in page


def test_a_sign_in_just_now_is_proof_enough(therapist):
    client = Client()
    password_step(client, therapist)
    client.post(reverse("core:mfa_totp_start"))
    assert TOTPDevice.objects.filter(user=therapist, confirmed=False).exists()


def test_wrong_passwords_on_the_profile_page_count_toward_the_lockout(client_for, therapist):
    client = client_for(therapist)
    for _ in range(5):
        client.post(reverse("core:mfa_prove"), {"prove-password": "wrong-password"})
    assert signin.is_locked(client.get(reverse("core:profile")).wsgi_request, therapist.username)
    # Locked: not even the right password proves it now.
    page = client.post(reverse("core:mfa_prove"), {"prove-password": PASSWORD}, follow=True).content.decode()
    assert "locked" in page and not mfa.recently_proved(client.get(reverse("core:profile")).wsgi_request)


def test_wrong_passwords_removing_a_factor_count_toward_the_lockout(client_for, therapist):
    from django_otp_webauthn.models import WebAuthnCredential

    enrol_totp(therapist)
    passkey = WebAuthnCredential.objects.create(
        user=therapist, name="P", credential_id=b"credential-10", public_key=b"k", confirmed=True
    )
    client = client_for(therapist)
    for _ in range(3):
        client.post(reverse("core:mfa_totp_remove"), {"remove-password": "wrong-password"})
    remove = reverse("core:mfa_passkey_remove", args=[passkey.credential_id_sha256])
    for _ in range(2):
        client.post(remove, {"password": "wrong-password"})
    assert signin.is_locked(client.get(reverse("core:profile")).wsgi_request, therapist.username)
    client.post(remove, {"password": PASSWORD})
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()


def test_axes_keeps_no_typed_code_or_csrf_token_of_a_failed_attempt(therapist):
    from axes.models import AccessAttempt, AccessFailureLog

    enrol_totp(therapist)
    mfa.do_make_recovery_codes(therapist)
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)
    csrf = client.cookies["csrftoken"].value
    client.post(LOGIN, {"username": therapist.username, "password": PASSWORD, "csrfmiddlewaretoken": csrf})
    typed = "zzzz-yyyy-xxxx-wwww"
    client.post(SECOND, {"kind": "recovery", "recovery-code": typed, "csrfmiddlewaretoken": csrf})
    client.post(SECOND, {"kind": "totp", "totp-code": "123456", "csrfmiddlewaretoken": csrf})
    stored = " ".join(
        str(v) for model in (AccessAttempt, AccessFailureLog) for row in model.objects.values() for v in row.values()
    )
    assert AccessAttempt.objects.exists() or AccessFailureLog.objects.exists()
    assert typed not in stored and "123456" not in stored and csrf not in stored


def test_a_right_passkey_during_a_lock_is_refused_without_counting_as_wrong(therapist, monkeypatch):
    from django_otp_webauthn.models import WebAuthnCredential

    passkey = WebAuthnCredential.objects.create(
        user=therapist, name="P", credential_id=b"credential-11", public_key=b"k", confirmed=True
    )
    _accept_any_passkey_answer(monkeypatch, passkey)
    client = Client()
    password_step(client, therapist)
    client.post(reverse("otp_webauthn:credential-authentication-begin"))
    for _ in range(5):
        client.post(SECOND, {"kind": "recovery", "recovery-code": "not-a-code"})
    lockouts = AuditEvent.objects.filter(action=AuditAction.LOCKOUT).count()
    assert lockouts == 1
    # The waiting sign-in went with the lock; a passkey ceremony begun before it is refused.
    session = client.session
    session[mfa.PENDING_KEY] = {"user": therapist.pk, "at": mfa._now(), "next": ""}
    session.save()
    response = client.post(
        reverse("otp_webauthn:credential-authentication-complete"), {"id": "x"}, content_type="application/json"
    )
    assert response.status_code == 403 and response.json()["code"] == "account_locked" and not signed_in(client)
    wrong_passkey = "failed sign-in (second factor: wrong passkey)"
    assert not AuditEvent.objects.filter(detail=wrong_passkey).exists()
    assert AuditEvent.objects.filter(action=AuditAction.LOCKOUT).count() == 1


def test_a_failure_during_a_lock_does_not_audit_another_lockout(therapist):
    client = Client()
    password_step(client, therapist)
    request = client.get(reverse("core:login")).wsgi_request
    for _ in range(7):
        signin.second_factor_failed(request, therapist, "totp code")
        for name in ("axes_failures_since_start", "effleura_lock"):
            if hasattr(request, name):
                delattr(request, name)
    assert AuditEvent.objects.filter(action=AuditAction.LOCKOUT).count() == 1


def test_the_pause_after_wrong_codes_shows_when_to_try_again_in_the_practice_zone(therapist, settings):
    import datetime

    from effleura.core import clock

    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    device = enrol_totp(therapist)
    client = Client()
    password_step(client, therapist)
    client.post(SECOND, {"kind": "totp", "totp-code": "000000"})
    client.post(SECOND, {"kind": "totp", "totp-code": "000000"})  # paused: not checked
    response = client.post(SECOND, {"kind": "totp", "totp-code": code_for(device)})
    assert response.status_code == 429 and not signed_in(client)
    device.refresh_from_db()
    until = clock.local(device.throttling_failure_timestamp + datetime.timedelta(seconds=60))
    assert f"try again after {until:%H:%M:%S} {until:%Z}" in response.content.decode()


def test_a_sign_in_and_a_lock_reset_the_pause(therapist, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    device = enrol_totp(therapist)
    codes = mfa.do_make_recovery_codes(therapist)
    client = Client()
    password_step(client, therapist)
    client.post(SECOND, {"kind": "totp", "totp-code": "000000"})
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    assert client.post(SECOND, {"kind": "recovery", "recovery-code": codes[0]}).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0
    # A lock: the pause is forgotten with the failure that began it.
    other = Client()
    password_step(other, therapist)
    other.post(SECOND, {"kind": "totp", "totp-code": "000000"})
    for _ in range(4):
        other.post(SECOND, {"kind": "recovery", "recovery-code": "not-a-code"})
    assert signin.is_locked(other.get(LOGIN).wsgi_request, therapist.username)
    device.refresh_from_db()
    assert device.throttling_failure_count == 0
