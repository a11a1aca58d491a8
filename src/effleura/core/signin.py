"""Signing in, step by step (docs/security.md).

The login page (core/views.py LoginView) checks the password; django-axes' backend
refuses a locked account before that (core/lockout.py). What follows a correct password
is decided here:

    after_password(request, user)  the next step: a second factor when the user has one
                                   or their role requires one, else complete()
    complete(request, user)        signs the user in and audits it (axes clears the
                                   account's failures)
    password_failed(request, name) audits a refused sign-in on the login page
    second_factor_failed(request, user)
                                   a wrong code or passkey counts toward the lockout
                                   exactly like a wrong password, and is audited
    is_locked(request, username)   whether the account (or the client address) is locked
    lock_for(request, username)    that lock (kind, until), or None

Failed sign-ins, lockouts and unlocks are audited with the account (``lockout.account_ref``):
its public id when the name is an account's, else a keyed hash of the name typed.
"""

from django.contrib.auth import authenticate, login
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import render, resolve_url
from django.urls import reverse

from effleura.core import audit, clock, lockout, mfa
from effleura.core.choices import AuditAction, AuditOutcome

FAILED = "failed sign-in"
FAILED_SECOND_FACTOR = "failed sign-in (second factor)"


def after_password(request, user, redirect_to: str = ""):
    """The password was right: go on to the next step. Returns the URL to send the
    browser to.

    A user with a second factor is not logged in yet: they wait in the session for the
    second-factor page (core/mfa.py). A user whose role the practice requires one for, with
    none set up, is logged in but held on the Profile page until they set one up."""
    if mfa.has_second_factor(user):
        mfa.start_pending(request, user, redirect_to)
        return reverse("core:second_factor")
    if mfa.role_requires(user):
        complete(request, user, redirect_to)
        request.session[mfa.ENROL_KEY] = True
        return reverse("core:profile") + "#two-factor"
    return complete(request, user, redirect_to)


def complete(request, user, redirect_to: str = "") -> str:
    """Signs ``user`` in on this request's session and audits it; returns where to go."""
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    mfa.mark_proved(request)
    mfa.reset_pauses(user)
    audit.record(user, AuditAction.LOGIN, "session")
    return redirect_to or resolve_url("core:home")


def check_password(request, user, password: str) -> bool:
    """Whether ``password`` is the signed-in ``user``'s current one, checked like a sign-in:
    through authenticate(), so django-axes refuses it while the account is locked and
    counts a wrong one toward the lockout (audited as a failed sign-in)."""
    if not password:
        return False
    if is_locked(request, user.get_username()):
        return False
    found = authenticate(request, username=user.get_username(), password=password)
    if found is not None and found.pk == user.pk:
        return True
    password_failed(request, user.get_username())
    return False


def password_failed(request, username: str) -> None:
    """Audit a refused sign-in (wrong password, or refused while locked) and a lockout it
    started. Call after the form's authenticate() ran."""
    _audit_failure(request, username or "", FAILED)


def second_factor_failed(request, user, what: str = "") -> None:
    """A wrong second factor (``what``: "totp code", "recovery code", "passkey"): counted
    by django-axes like a wrong password, and audited once, naming the person who passed
    the password step."""
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
    if getattr(request, "effleura_lock", None) is not None:
        mfa.reset_pauses(user)  # the lock is the pause now: after it, codes start afresh
    detail = f"{FAILED_SECOND_FACTOR[:-1]}: wrong {what})" if what else FAILED_SECOND_FACTOR
    _audit_failure(request, user.get_username(), detail, actor=user)


def _audit_failure(request, username: str, detail: str, actor=None) -> None:
    # A lock this failure began is audited where axes records it (core/lockout.py).
    counted = getattr(request, "axes_failures_since_start", None) is not None
    lock = getattr(request, "effleura_lock", None)
    if not counted and lock is not None:
        detail = f"refused: {lock.kind} locked"
    ref = lockout.account_ref(username)
    audit.record(actor, AuditAction.LOGIN, "session", record_id=ref, outcome=AuditOutcome.DENIED, detail=detail)


def lock_for(request, username: str) -> lockout.Lock | None:
    """The lock in force for a sign-in as ``username`` from this request's address."""
    return lockout.current_lock(username or None, client_address(request) or None)


def is_locked(request, username: str) -> bool:
    return lock_for(request, username) is not None


def lock_message(lock: lockout.Lock) -> str:
    """The plain words the login page shows for a lock, with its end in the practice's zone."""
    until = clock.local(lock.until)
    when = f"{until:%H:%M} {until:%Z} on {until.day} {until:%B}"
    if lock.kind == lockout.ACCOUNT:
        return (
            f"This account is locked after too many failed sign-ins, until {when}. "
            "No password works until then; the practice owner can unlock it sooner from the Staff page."
        )
    return (
        f"Too many failed sign-ins came from this network address: signing in from it is paused until {when}. "
        "The practice owner can lift the pause sooner from their home page (Recent lockouts)."
    )


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: a refused, locked sign-in on the login page gets that page
    saying so, with status 429, never axes' bare text. Another page that checks a password
    or second factor itself (the hand-over's end, the second-factor page) keeps its own
    answer: it asks ``is_locked()`` and says so in its own words."""
    if original_response is not None and getattr(request, "effleura_lock_shown", False):
        original_response.status_code = 429
        return original_response
    match = getattr(request, "resolver_match", None)
    if original_response is not None and (match is None or match.view_name != "core:login"):
        return original_response
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    lock = getattr(request, "effleura_lock", None) or lock_for(request, username)
    from django.contrib.auth.forms import AuthenticationForm

    context = {"form": AuthenticationForm(request), "lock_message": lock_message(lock) if lock else "", "next": ""}
    return render(request, "registration/login.html", context, status=429)


def client_address(request) -> str:
    """The address django-axes counts failures by: the one the audit trail records."""
    return request.META.get("REMOTE_ADDR", "")
