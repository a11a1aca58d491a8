"""Two-factor sign-in (docs/security.md, section mfa; docs/decisions/0015).

A person's second factors are django-otp devices:

* an authenticator app (TOTP, ``otp_totp.TOTPDevice``): counts once confirmed with a code;
* passkeys (``django_otp_webauthn.WebAuthnCredential``): as a second factor after the
  password, or alone (a discoverable passkey with user verification is both factors);
* recovery codes (``otp_static.StaticDevice``): ten single-use codes for a lost
  authenticator. otp_static keeps its tokens as typed, so we store a SHA-256 of each code
  instead (80 random bits per code: the hash cannot be walked back).

Signing in (core/signin.py ``after_password``): a user with a factor, or whose role the
practice requires one for (``Practice.mfa_required_roles``), is not logged in after the
password. The user's id waits in the session under PENDING_KEY for PENDING_SECONDS while
the second-factor page asks for a code or a passkey. A required role with nothing enrolled
signs in but is held on the Profile page (ENROL_KEY, core.middleware.
SecondFactorEnrolmentMiddleware) until a factor is set up.

Every change here is audited by kind only ("totp enrolled", "passkey removed"); a code
never goes into the audit trail or a log.
"""

import base64
import hashlib
import secrets
import time

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from effleura.core import audit, permissions
from effleura.core.choices import AuditAction, Role
from effleura.core.models import Practice

PENDING_KEY = "effleura.mfa.pending"
PROVED_KEY = "effleura.mfa.proved_at"
# Changing one's second factors needs a proof that it is the person, not whoever sits at
# their unattended screen: a sign-in, second factor or password this recent.
PROVED_SECONDS = 5 * 60
ENROL_KEY = "effleura.mfa.enrol"
# Long enough to open an authenticator app; short enough that a password typed on a
# shared screen and walked away from cannot be finished later by someone else.
PENDING_SECONDS = 5 * 60
RECOVERY_CODE_COUNT = 10
RECORD = "second_factor"


def _now() -> float:
    return time.time()


# What a person has ---------------------------------------------------------------


def totp_device(user) -> TOTPDevice | None:
    """The user's confirmed authenticator app, if any (one per person)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def passkeys(user):
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at")


def has_second_factor(user) -> bool:
    """An authenticator app or a passkey; recovery codes alone do not count (they only
    stand in for a lost one)."""
    return totp_device(user) is not None or passkeys(user).exists()


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_DEVICE).count()


def role_requires(user, practice: Practice | None = None) -> bool:
    """Whether the practice requires a second factor of ``user``'s role."""
    if not user.role:
        return False
    practice = practice or Practice.current()
    return user.role in (practice.mfa_required_roles or [])


def clean_required_roles(value) -> list[str]:
    """The roles typed on the Practice page, checked: a list of Role values, in Role order."""
    if value in (None, ""):
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError("Choose the roles from the list.")
    unknown = [v for v in value if v not in Role.values]
    if unknown:
        raise ValidationError("Choose the roles from the list.")
    return [role for role in Role.values if role in value]


# The pending sign-in ---------------------------------------------------------------


def start_pending(request, user, redirect_to: str) -> None:
    """The password was right: keep who is signing in (not logged in yet)."""
    request.session[PENDING_KEY] = {"user": user.pk, "at": _now(), "next": redirect_to}


def pending(request) -> tuple[object, str] | None:
    """(user, where to go next) of the sign-in waiting for its second factor, or None
    when there is none, it expired (and is then forgotten) or the account was deactivated."""
    state = request.session.get(PENDING_KEY)
    if not state:
        return None
    if _now() - state.get("at", 0) > PENDING_SECONDS:
        clear_pending(request)
        return None
    user = get_user_model().objects.filter(pk=state.get("user"), is_active=True).first()
    if user is None:
        clear_pending(request)
        return None
    return user, state.get("next", "")


def clear_pending(request) -> None:
    request.session.pop(PENDING_KEY, None)


def mark_verified(request, device) -> None:
    """After signin.complete(): this session passed its second factor with ``device``."""
    otp_login(request, device)
    request.session.pop(ENROL_KEY, None)
    mark_proved(request)


def mark_proved(request) -> None:
    """The person just proved it is them (a sign-in, a second factor, their password)."""
    request.session[PROVED_KEY] = _now()


def recently_proved(request) -> bool:
    """Whether this session proved it is the person less than PROVED_SECONDS ago: needed
    to add or replace a second factor or recovery codes (core/mfa_views.py)."""
    return 0 <= _now() - request.session.get(PROVED_KEY, 0) < PROVED_SECONDS


# Checking a code ----------------------------------------------------------------------


class Wait:
    """The device is throttled after wrong codes (django-otp's pause, doubling with each
    wrong code): the code was not checked; ``until`` is when the next one will be."""

    def __init__(self, until):
        self.until = until


def _wait(device) -> Wait | None:
    allowed, data = device.verify_is_allowed()
    if allowed:
        return None
    return Wait((data or {}).get("locked_until"))


def reset_pauses(user) -> None:
    """Forget django-otp's pause after wrong codes on all of ``user``'s devices: after a
    sign-in, and when a lock begins (the lock is the pause; after it the count starts again)."""
    for model in (TOTPDevice, StaticDevice):
        model.objects.filter(user=user).exclude(throttling_failure_count=0).update(
            throttling_failure_count=0, throttling_failure_timestamp=None
        )


def verify_totp(user, code: str):
    """The confirmed TOTP device when ``code`` is its current code (each code works once:
    django-otp remembers the last time step used), a Wait when django-otp's throttle asks
    for a pause after wrong codes, else None."""
    device = totp_device(user)
    code = "".join((code or "").split())
    if device is None:
        return None
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if wait := _wait(device):
            return wait
        return device if code.isdigit() and device.verify_token(code) else None


RECOVERY_DEVICE = "recovery codes"


def _normalize_code(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def hash_recovery_code(code: str) -> str:
    """What is stored for a recovery code: 16 characters of its SHA-256 (otp_static's
    column holds 16)."""
    digest = hashlib.sha256(_normalize_code(code).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:16]


def verify_recovery_code(user, code: str):
    """The recovery-code device when ``code`` is one of the user's unused codes (it is used
    up now), a Wait when throttled, else None."""
    device = StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE, confirmed=True).first()
    if device is None or not _normalize_code(code):
        return None
    with transaction.atomic():
        device = StaticDevice.objects.select_for_update().get(pk=device.pk)
        if wait := _wait(device):
            return wait
        if device.verify_token(hash_recovery_code(code)):
            audit.record(user, AuditAction.UPDATE, RECORD, record_id=device.persistent_id, detail="recovery code used")
            return device
    return None


def is_throttled(result) -> bool:
    return isinstance(result, Wait)


# Enrolment (one's own) -----------------------------------------------------------------


def new_recovery_code() -> str:
    """16 letters and digits (80 random bits), shown in groups of four."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def check_make_recovery_codes(user) -> None:
    """Recovery codes need a factor they stand in for (an app or a passkey); raises
    ValidationError otherwise. Then call do_make_recovery_codes()."""
    if not has_second_factor(user):
        raise ValidationError("Set up an authenticator app or a passkey first: recovery codes stand in for one.")


def do_make_recovery_codes(user) -> list[str]:
    """Replace the user's recovery codes with RECOVERY_CODE_COUNT new ones; returns them
    (shown once: only their hashes are kept)."""
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE, confirmed=True)
        StaticToken.objects.bulk_create(StaticToken(device=device, token=hash_recovery_code(c)) for c in codes)
        audit.record(user, AuditAction.CREATE, RECORD, record_id=device.persistent_id, detail="recovery codes made")
    return codes


def do_start_totp(user) -> TOTPDevice:
    """A new, unconfirmed authenticator-app secret for ``user`` (replacing an unconfirmed
    one). It counts only once confirm_totp() saw a right code from it."""
    if totp_device(user) is not None:
        raise ValidationError("You already use an authenticator app. Remove it first to set up another.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def unconfirmed_totp(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).first()


def check_confirm_totp(user, code: str) -> TOTPDevice:
    """The unconfirmed device when ``code`` is its current code; ValidationError otherwise."""
    device = unconfirmed_totp(user)
    if device is None:
        raise ValidationError("Start again: press “Set up an authenticator app”.")
    code = "".join((code or "").split())
    if not (code.isdigit() and len(code) == device.digits):
        raise ValidationError(f"Type the {device.digits}-digit code your app shows.")
    if not device.verify_token(code):
        raise ValidationError("That code is not the one your app shows now. Check the app's clock and try again.")
    return device


def do_confirm_totp(user, device: TOTPDevice) -> list[str] | None:
    """The device counts from now; returns new recovery codes when the user had none."""
    with transaction.atomic():
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        audit.record(user, AuditAction.CREATE, RECORD, record_id=device.persistent_id, detail="totp enrolled")
        codes = do_make_recovery_codes(user) if not recovery_codes_left(user) else None
    device.confirmed = True
    return codes


def _check_keeps_required_factor(user, removing: str) -> None:
    """Refuses to remove the last factor of someone whose role requires one."""
    if removing == "totp":
        others = passkeys(user).exists()
    else:
        others = totp_device(user) is not None or passkeys(user).count() > 1
    if role_requires(user) and not others:
        raise ValidationError(
            "Your role must use two-factor sign-in: add another authenticator app or passkey before removing this one."
        )


def check_remove_totp(user, *, password_ok: bool = False, code: str = "") -> TOTPDevice:
    """The user's authenticator app, when the current password (``password_ok``: checked by
    signin.check_password, which counts a wrong one) or a current code proves it is them;
    ValidationError otherwise (and when the role requires a factor this is the last)."""
    device = totp_device(user)
    if device is None:
        raise ValidationError("You have no authenticator app set up.")
    if not (password_ok or (bool(code) and isinstance(verify_totp(user, code), TOTPDevice))):
        raise ValidationError("Type your current password or a code from your app to remove it.")
    _check_keeps_required_factor(user, "totp")
    return device


def _forget_recovery_codes_if_alone(user) -> None:
    if not has_second_factor(user):
        StaticDevice.objects.filter(user=user).delete()


def do_remove_totp(user, device: TOTPDevice) -> None:
    """Delete ``device`` (from check_remove_totp(); call it first) and, when no factor is
    left, the recovery codes; audited "totp removed"."""
    with transaction.atomic():
        TOTPDevice.objects.filter(pk=device.pk).delete()
        _forget_recovery_codes_if_alone(user)
        audit.record(user, AuditAction.DELETE, RECORD, record_id=device.persistent_id, detail="totp removed")


def _own_passkey(user, passkey_id: str) -> WebAuthnCredential:
    passkey = WebAuthnCredential.objects.filter(credential_id_sha256=passkey_id).first()
    if passkey is None or passkey.user_id != user.pk:
        raise ValidationError("That passkey does not exist.")
    return passkey


def check_rename_passkey(user, passkey_id: str, name: str) -> tuple[WebAuthnCredential, str]:
    """The user's own passkey (by its credential hash) and the stripped new name (1 to 64
    characters); ValidationError otherwise, also for someone else's passkey."""
    passkey = _own_passkey(user, passkey_id)
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the passkey a name you will recognise, e.g. “Work laptop”.")
    if len(name) > 64:
        raise ValidationError("Keep the name to 64 characters.")
    return passkey, name


def do_rename_passkey(user, passkey: WebAuthnCredential, name: str) -> None:
    """Store ``name`` from check_rename_passkey() (call it first); audited "passkey renamed"."""
    with transaction.atomic():
        WebAuthnCredential.objects.filter(pk=passkey.pk).update(name=name)
        audit.record(user, AuditAction.UPDATE, RECORD, record_id=passkey.persistent_id, detail="passkey renamed")


def check_remove_passkey(user, passkey_id: str, *, password_ok: bool = False) -> WebAuthnCredential:
    """The user's own passkey when their current password was typed (``password_ok``, from
    signin.check_password) and, for a role that requires a factor, another factor is left;
    ValidationError otherwise."""
    passkey = _own_passkey(user, passkey_id)
    if not password_ok:
        raise ValidationError("Type your current password to remove a passkey.")
    _check_keeps_required_factor(user, "passkey")
    return passkey


def do_remove_passkey(user, passkey: WebAuthnCredential) -> None:
    """Delete ``passkey`` (from check_remove_passkey(); call it first) and, when no factor
    is left, the recovery codes; audited "passkey removed"."""
    with transaction.atomic():
        WebAuthnCredential.objects.filter(pk=passkey.pk).delete()
        _forget_recovery_codes_if_alone(user)
        audit.record(user, AuditAction.DELETE, RECORD, record_id=passkey.persistent_id, detail="passkey removed")


def audit_passkey_added(user, passkey: WebAuthnCredential) -> None:
    audit.record(user, AuditAction.CREATE, RECORD, record_id=passkey.persistent_id, detail="passkey added")


# The owner's reset (all is lost) ----------------------------------------------------


def check_reset_second_factor(actor, member) -> None:
    """Owners only (staff.manage; PermissionDenied otherwise), and not for themselves: an
    owner who lost everything asks another owner, or uses a recovery code."""
    permissions.require(actor, "staff.manage")
    if member.pk == actor.pk:
        raise PermissionDenied("Another owner must reset your own two-factor sign-in.")
    if not has_second_factor(member) and not StaticDevice.objects.filter(user=member).exists():
        raise ValidationError(f"{member.display_name} has no two-factor sign-in to reset.")


def do_reset_second_factor(actor, member) -> None:
    """Remove every second factor of ``member``: their next sign-in is with the password
    alone (or, when their role requires one, straight to setting a new one up)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=member).delete()
        StaticDevice.objects.filter(user=member).delete()
        WebAuthnCredential.objects.filter(user=member).delete()
        audit.record(actor, AuditAction.DELETE, RECORD, record_id=member.public_id, detail="second factor reset")
