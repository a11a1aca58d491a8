"""Two-factor sign-in pages (core/mfa.py): the second-factor step of signing in, the
Profile page's enrolment forms, the owner's reset, and the passkey ceremonies of
django-otp-webauthn, narrowed to our sign-in flow. Thin: parse, check, act, render."""

import base64
import json

import segno
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn import views as webauthn_views
from django_otp_webauthn.models import WebAuthnCredential

from effleura.core import access, clock, mfa, signin
from effleura.core.forms import ApiTokenForm
from effleura.core.models import Practice

LOCKED = "This account is locked after too many failed sign-ins. Try again later, or ask the practice owner."
EXPIRED = "Your sign-in was not finished in time. Log in again."


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}),
    )


class TotpCodeForm(CodeForm):
    code = forms.CharField(
        label="6-digit code from your authenticator app",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class RecoveryCodeForm(CodeForm):
    code = forms.CharField(
        label="Recovery code",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}),
    )


class ProveItIsYouForm(forms.Form):
    password = forms.CharField(
        label="Current password",
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="or a code from your app",
        required=False,
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ProveItIsYouPasswordForm(forms.Form):
    password = forms.CharField(
        label="Current password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


PROVE_FIRST = "Type your current password first: changing your two-factor sign-in needs it."


# Signing in: the second step ---------------------------------------------------------


def second_factor(request):
    """After a right password: a code from the app, a recovery code, or a passkey."""
    found = mfa.pending(request)
    if found is None:
        messages.error(request, EXPIRED)
        return redirect("core:login")
    user, next_url = found
    if signin.is_locked(request, user.get_username()):
        mfa.clear_pending(request)
        messages.error(request, LOCKED)
        return redirect("core:login")
    totp_form, recovery_form = TotpCodeForm(prefix="totp"), RecoveryCodeForm(prefix="recovery")
    kind = request.POST.get("kind") if request.method == "POST" else None
    status = 200
    if kind in ("totp", "recovery"):
        if kind == "totp":
            form = totp_form = TotpCodeForm(request.POST, prefix="totp")
        else:
            form = recovery_form = RecoveryCodeForm(request.POST, prefix="recovery")
        if form.is_valid():
            code = form.cleaned_data["code"]
            device = mfa.verify_totp(user, code) if kind == "totp" else mfa.verify_recovery_code(user, code)
            if mfa.is_throttled(device):
                form.add_error("code", _wait_message(device))
                status = 429
            elif device is not None:
                mfa.clear_pending(request)
                url = signin.complete(request, user, next_url)
                mfa.mark_verified(request, device)
                if kind == "recovery":
                    _recovery_code_used(request, user)
                return redirect(url)
            else:
                signin.second_factor_failed(request, user, "totp code" if kind == "totp" else "recovery code")
                if signin.is_locked(request, user.get_username()):
                    mfa.clear_pending(request)
                    messages.error(request, LOCKED)
                    return redirect("core:login")
                form.add_error("code", "That code is not right. Check it and try again.")
                status = 400
    context = {
        "totp_form": totp_form,
        "recovery_form": recovery_form,
        "has_totp": mfa.totp_device(user) is not None,
        "has_passkey": mfa.passkeys(user).exists(),
        "has_recovery": mfa.recovery_codes_left(user) > 0,
        "next": next_url,
    }
    return render(request, "registration/second_factor.html", context, status=status)


def _wait_message(wait) -> str:
    until = clock.local(wait.until) if wait.until else None
    if until is None:
        return "Several wrong codes in a row: wait a little, then try again."
    return f"Several wrong codes in a row: try again after {until:%H:%M:%S} {until:%Z}."


def _recovery_code_used(request, user) -> None:
    left = mfa.recovery_codes_left(user)
    messages.warning(
        request,
        f"You signed in with a recovery code; it cannot be used again. {left} recovery code"
        f"{'' if left == 1 else 's'} left. If your authenticator is lost, set up a new one and make new "
        "recovery codes on your Profile page.",
    )


# Profile: enrolment ----------------------------------------------------------------------


def second_factor_context(request) -> dict:
    """What the Profile page's two-factor section shows."""
    user = request.user
    totp = mfa.totp_device(user)
    pending_totp = mfa.unconfirmed_totp(user) if totp is None else None
    user_passkeys = list(mfa.passkeys(user))
    # Read once and left for the context processor, which would read it anyway.
    practice = request.practice = getattr(request, "practice", None) or Practice.current()
    context = {
        "mfa_totp": totp,
        "mfa_pending_totp": pending_totp,
        "mfa_passkeys": user_passkeys,
        "mfa_recovery_left": mfa.recovery_codes_left(user),
        "mfa_required": mfa.role_requires(user, practice),
        "mfa_must_enrol": bool(request.session.get(mfa.ENROL_KEY)),
        "mfa_has_factor": totp is not None or bool(user_passkeys),
        "totp_confirm_form": TotpCodeForm(prefix="confirm"),
        "totp_remove_form": ProveItIsYouForm(prefix="remove"),
        "mfa_proved": mfa.recently_proved(request),
        "mfa_prove_form": ProveItIsYouPasswordForm(prefix="prove"),
        "mfa_proved_minutes": mfa.PROVED_SECONDS // 60,
    }
    if pending_totp is not None:
        context["mfa_qr_svg"] = segno.make(pending_totp.config_url, error="m").svg_inline(
            scale=4, title="QR code for your authenticator app"
        )
        context["mfa_secret"] = base64.b32encode(pending_totp.bin_key).decode()
    return context


def _render_profile(request, status: int = 200, **extra):
    context = {
        "form": ApiTokenForm(),
        "tokens": request.user.api_tokens.all(),
        "new_token": None,
        **second_factor_context(request),
        **extra,
    }
    return render(request, "core/profile.html", context, status=status)


def _back_to_profile():
    return redirect(reverse("core:profile") + "#two-factor")


def _not_proved(request):
    """A redirect back to the Profile page saying to type the password, when this session
    has not proved it is the person recently (mfa.recently_proved); else None."""
    if mfa.recently_proved(request):
        return None
    messages.error(request, PROVE_FIRST)
    return _back_to_profile()


@require_POST
def prove_it_is_you(request):
    """The current password, before adding or replacing a second factor: checked like a
    sign-in (a wrong one counts toward the lockout; refused while locked)."""
    form = ProveItIsYouPasswordForm(request.POST, prefix="prove")
    if form.is_valid() and signin.check_password(request, request.user, form.cleaned_data["password"]):
        mfa.mark_proved(request)
        messages.success(
            request, f"Thank you: for {mfa.PROVED_SECONDS // 60} minutes you can change your two-factor sign-in."
        )
        return _back_to_profile()
    if signin.is_locked(request, request.user.get_username()):
        messages.error(request, LOCKED)
        return _back_to_profile()
    if form.is_valid():
        form.add_error("password", "That is not your current password.")
    return _render_profile(request, status=400, mfa_prove_form=form)


@require_POST
def totp_start(request):
    if refused := _not_proved(request):
        return refused
    try:
        mfa.do_start_totp(request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return _back_to_profile()


@require_POST
def totp_confirm(request):
    if refused := _not_proved(request):
        return refused
    form = TotpCodeForm(request.POST, prefix="confirm")
    if form.is_valid():
        try:
            device = mfa.check_confirm_totp(request.user, form.cleaned_data["code"])
        except ValidationError as exc:
            form.add_error("code", exc)
        else:
            codes = mfa.do_confirm_totp(request.user, device)
            mfa.mark_verified(request, device)
            messages.success(request, "Your authenticator app is set up: signing in will ask for a code from it.")
            return _render_profile(request, new_recovery_codes=codes)
    return _render_profile(request, status=400, totp_confirm_form=form)


@require_POST
def totp_remove(request):
    form = ProveItIsYouForm(request.POST, prefix="remove")
    form.is_valid()
    data = form.cleaned_data
    try:
        password_ok = signin.check_password(request, request.user, data.get("password", ""))
        device = mfa.check_remove_totp(request.user, password_ok=password_ok, code=data.get("code", ""))
    except ValidationError as exc:
        form.add_error(None, exc)
        return _render_profile(request, status=400, totp_remove_form=form)
    mfa.do_remove_totp(request.user, device)
    messages.success(request, "The authenticator app was removed.")
    return _back_to_profile()


@require_POST
def recovery_codes(request):
    if refused := _not_proved(request):
        return refused
    try:
        mfa.check_make_recovery_codes(request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return _back_to_profile()
    codes = mfa.do_make_recovery_codes(request.user)
    return _render_profile(request, new_recovery_codes=codes)


@require_POST
def passkey_rename(request, passkey_id):
    try:
        passkey, name = mfa.check_rename_passkey(request.user, passkey_id, request.POST.get("name", ""))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return _back_to_profile()
    mfa.do_rename_passkey(request.user, passkey, name)
    messages.success(request, f"Passkey renamed “{name}”.")
    return _back_to_profile()


@require_POST
def passkey_remove(request, passkey_id):
    try:
        password_ok = signin.check_password(request, request.user, request.POST.get("password", ""))
        passkey = mfa.check_remove_passkey(request.user, passkey_id, password_ok=password_ok)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return _back_to_profile()
    mfa.do_remove_passkey(request.user, passkey)
    messages.success(request, f"Passkey “{passkey.name}” removed.")
    return _back_to_profile()


# Staff: the owner's reset -------------------------------------------------------------


@require_POST
def reset_second_factor(request, user_id):
    member = access.access_staff_member(request.user, user_id)
    try:
        mfa.check_reset_second_factor(request.user, member)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        mfa.do_reset_second_factor(request.user, member)
        messages.success(
            request,
            f"{member.display_name}'s two-factor sign-in was reset: they sign in with their password and set up "
            "a new authenticator app or passkey.",
        )
    return redirect("core:staff_edit", user_id=member.public_id)


# Passkeys (django-otp-webauthn's ceremonies) ---------------------------------------------


class AccountLocked(webauthn_errors.OTPWebAuthnApiError):
    status_code = 403
    default_detail = LOCKED
    default_code = "account_locked"


class SignInExpired(webauthn_errors.OTPWebAuthnApiError):
    status_code = 403
    default_detail = EXPIRED
    default_code = "sign_in_expired"


STATE_KEY = "otp_webauthn_authentication_state"  # django-otp-webauthn's session key
STATE_USER = "effleura_pending_user"  # who the ceremony was begun for (None: passwordless)


def _pending_user(request):
    found = mfa.pending(request)
    return found[0] if found else None


class NotProved(webauthn_errors.OTPWebAuthnApiError):
    status_code = 403
    default_detail = PROVE_FIRST
    default_code = "password_needed"


class _ProvedToRegister:
    def check_can_register(self):
        """Adding a passkey needs a recent proof (mfa.recently_proved): else whoever finds
        a signed-in screen could add a permanent passwordless way in."""
        if self.request.method == "POST" and not mfa.recently_proved(self.request):
            raise NotProved()  # (another method gets its plain 405)
        super().check_can_register()


class PasskeyRegistrationBegin(_ProvedToRegister, webauthn_views.BeginCredentialRegistrationView):
    pass


class PasskeyRegistrationComplete(_ProvedToRegister, webauthn_views.CompleteCredentialRegistrationView):
    """Registers the passkey, names it, audits it and, for someone held until they set up
    a second factor, lets them on."""

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        passkey = WebAuthnCredential.objects.get(pk=json.loads(response.content)["id"], user=self.request.user)
        count = mfa.passkeys(self.request.user).count()
        WebAuthnCredential.objects.filter(pk=passkey.pk).update(name=f"Passkey {count}")
        mfa.audit_passkey_added(self.request.user, passkey)
        self.request.session.pop(mfa.ENROL_KEY, None)
        return response


class PasskeyAuthenticationBegin(webauthn_views.BeginCredentialAuthenticationView):
    """The second step of a sign-in (the waiting user's passkeys) or, with nobody waiting,
    a passwordless sign-in with a discoverable passkey."""

    def get_user(self):
        return _pending_user(self.request)

    def check_can_authenticate(self):
        """Refuses a waiting sign-in whose account is locked (AccountLocked, 403), then
        django-otp-webauthn's own checks (an active user; passwordless allowed)."""
        user = self.get_user()
        if user is not None and signin.is_locked(self.request, user.get_username()):
            raise AccountLocked()
        super().check_can_authenticate()

    def post(self, *args, **kwargs):
        """Begins the ceremony and keeps in its state whom for: a second step (no user
        verification asked, the password was the first factor) may only finish the same
        waiting sign-in (PasskeyAuthenticationComplete.get_state)."""
        response = super().post(*args, **kwargs)
        state = self.request.session.get(STATE_KEY)
        if isinstance(state, dict):
            user = self.get_user()
            state[STATE_USER] = user.pk if user is not None else None
            self.request.session[STATE_KEY] = state
        return response


class PasskeyAuthenticationComplete(webauthn_views.CompleteCredentialAuthenticationView):
    """Signs in through core/signin.py (audited, axes' count reset): the passkey is the
    second factor of the waiting sign-in or, alone, both factors."""

    redirect_to = ""

    def get_user(self):
        return _pending_user(self.request)

    def get_state(self):
        """The ceremony's state (used once), refused unless it finishes what was begun: a
        second step only for the same sign-in still waiting (not expired, same person),
        and with nobody waiting only a ceremony that required user verification (a
        passkey alone is both factors only with its PIN or biometrics)."""
        state = super().get_state()
        begun_for = state.get(STATE_USER)
        user = self.get_user()
        if begun_for is not None:
            if user is None or user.pk != begun_for:
                raise SignInExpired()
        elif user is not None or not state.get("require_user_verification", True):
            raise SignInExpired()
        return state

    def post(self, *args, **kwargs):
        user = self.get_user()
        try:
            return super().post(*args, **kwargs)
        except AccountLocked:
            raise  # a passkey refused because of the lock is not a wrong one
        except webauthn_errors.OTPWebAuthnApiError:
            if user is not None:
                signin.second_factor_failed(self.request, user, "passkey")
                if signin.is_locked(self.request, user.get_username()):
                    mfa.clear_pending(self.request)
            raise

    def complete_auth(self, device):
        user = device.user
        if signin.is_locked(self.request, user.get_username()):
            raise AccountLocked()
        found = mfa.pending(self.request)
        next_url = found[1] if found else self.get_redirect_url()
        mfa.clear_pending(self.request)
        self.redirect_to = signin.complete(self.request, user, next_url)
        mfa.mark_verified(self.request, device)
        return user

    def get_success_url(self):
        return self.redirect_to or super().get_success_url()
