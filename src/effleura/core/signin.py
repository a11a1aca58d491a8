"""Signing in, step by step (docs/security.md).

The login page (core/views.py LoginView) checks the password; django-axes' backend
refuses a locked account before that. What follows a correct password is decided here:

    after_password(request, user)  the next step: a second factor when the user has one
                                   or their role requires one, else complete()
    complete(request, user)        signs the user in and audits it
    second_factor_failed(request, user)
                                   a wrong code or passkey counts toward the lockout
                                   exactly like a wrong password
    is_locked(request, username)   whether the account is locked out now
"""

from django.contrib.auth import login
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import resolve_url
from django.urls import reverse

from effleura.core import audit, mfa
from effleura.core.choices import AuditAction


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
    audit.record(user, AuditAction.LOGIN, "session")
    return redirect_to or resolve_url("core:home")


def second_factor_failed(request, user) -> None:
    """A wrong second factor: counted by django-axes like a wrong password."""
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)


def is_locked(request, username: str) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_locked(request, credentials={"username": username})


def client_address(request) -> str:
    """The address django-axes counts failures by: the one the audit trail records."""
    return request.META.get("REMOTE_ADDR", "")
