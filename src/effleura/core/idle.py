"""Automatic logoff (docs/security.md): a signed-in session ends after
EFFLEURA_IDLE_LOGOUT_MINUTES without a request, and EFFLEURA_SESSION_MINUTES after signing
in whatever the activity.

The session holds two stamps (seconds since the epoch): when the person signed in
(``SIGNED_IN_KEY``, set by ``on_sign_in`` for every login, whatever its path) and when
they were last active (``ACTIVE_KEY``). Every request counts as activity except the
page's background status poll (``core:session_status``) and the login page (a page
signing out goes there; it must not keep the session on). Both are told by the view the
path resolves to, so a deployment under a sub-path (SCRIPT_NAME) is no different.

To keep a page from costing a session write on every request, the activity stamp is
written at most once per ``RESOLUTION`` seconds, so it may lag the true last request by
up to that much. The server therefore ends a session ``RESOLUTION`` seconds after the
idle time measured from the stamp: never before the idle time, at most a minute after.
An open page (core/static/core/idle.js) ends it on the second: it warns a minute before,
offers "Stay signed in" (a POST to ``core:session_stay``, which always writes the stamp),
and at the end clears the screen and posts ``core:session_end``.
"""

import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from effleura.core import audit
from effleura.core.choices import AuditAction

SIGNED_IN_KEY = "effleura_signed_in_at"
ACTIVE_KEY = "effleura_active_at"
RESOLUTION = 60  # seconds: how stale the activity stamp may get before it is written again
WARN_SECONDS = 60  # the page warns this long before the end
IDLE = "idle"
MAXIMUM = "maximum"


def idle_limit() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.EFFLEURA_IDLE_LOGOUT_MINUTES)


def maximum() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)


def on_sign_in(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver (core/apps.py): the session starts now."""
    session = getattr(request, "session", None)
    if session is not None:
        now = timezone.now().timestamp()
        session[SIGNED_IN_KEY] = now
        session[ACTIVE_KEY] = now


def seconds_left(session, now: datetime.datetime) -> tuple[float, float]:
    """(seconds until the server ends the session for idleness, seconds until its
    maximum), from the session's stamps; a session without them counts from ``now``."""
    at = now.timestamp()
    signed_in = session.get(SIGNED_IN_KEY, at)
    active = session.get(ACTIVE_KEY, at)
    idle_left = active + idle_limit().total_seconds() + RESOLUTION - at
    maximum_left = signed_in + maximum().total_seconds() - at
    return idle_left, maximum_left


def ended(session, now: datetime.datetime) -> str | None:
    """Why the signed-in ``session`` is over at ``now`` (IDLE or MAXIMUM), or None."""
    idle_left, maximum_left = seconds_left(session, now)
    if maximum_left <= 0:
        return MAXIMUM
    if idle_left <= 0:
        return IDLE
    return None


def note_activity(session, now: datetime.datetime, *, force: bool = False) -> None:
    """A request was made: move the activity stamp, if it is RESOLUTION seconds old (or
    ``force``). A session signed in before this existed gets both stamps now."""
    at = now.timestamp()
    if SIGNED_IN_KEY not in session:
        session[SIGNED_IN_KEY] = at
    if force or at - session.get(ACTIVE_KEY, 0) >= RESOLUTION:
        session[ACTIVE_KEY] = at


def end(request, reason: str) -> None:
    """Ends the signed-in session of ``request`` for ``reason`` (IDLE or MAXIMUM); audited."""
    audit.record(request.user, AuditAction.LOGOUT, "session", detail=reason)
    logout(request)


def signed_out_message(reason: str) -> str:
    if reason == MAXIMUM:
        hours = settings.SESSION_COOKIE_AGE / 3600
        return f"You were signed out: a sign-in lasts at most {hours:g} hours. Log in again."
    minutes = settings.EFFLEURA_IDLE_LOGOUT_MINUTES
    return f"You were signed out after {minutes} minutes without activity, to keep records private. Log in again."


STATUS_VIEW = "core:session_status"
NOT_ACTIVITY = {STATUS_VIEW, "core:login"}


def view_name(request) -> str:
    """The name of the view ``request`` goes to ("" for none), from its path within the
    site (path_info), whatever the prefix the site is served under."""
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return ""


class IdleLogoutMiddleware:
    """Ends a browser session that was idle too long or has reached its maximum, before
    any view sees the request; otherwise notes the request as activity.

    The next page goes to the login page (a message says why), an htmx request gets
    ``HX-Redirect`` to it, an API call made with the session answers 401. Requests signed
    in with an API token have no session and are left alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if getattr(request, "api_token", None) is not None or SESSION_KEY not in request.session:
            return self.get_response(request)
        now = timezone.now()
        reason = ended(request.session, now)
        if reason is not None:
            return self._signed_out(request, reason)
        if view_name(request) not in NOT_ACTIVITY:  # the page's poll is not the person's activity
            note_activity(request.session, now)
        return self.get_response(request)

    def _signed_out(self, request, reason: str):
        end(request, reason)
        message = signed_out_message(reason)
        if view_name(request) == STATUS_VIEW:
            return JsonResponse({"signed_in": False})
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": message}, status=401)
        messages.info(request, message)
        login_url = reverse(settings.LOGIN_URL)
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=200)
            response["HX-Redirect"] = login_url
            return response
        if request.method == "GET":
            return redirect_to_login(request.get_full_path())
        return HttpResponseRedirect(login_url)  # what was posted is gone with the session
