"""Request plumbing: API token sign-in, the client address for the audit trail, the
practice's time zone, the URL permission gate that makes core/permissions.py the single
source of truth, the hand-over lock (core/handover.py), the hold on a session that must
set up two-factor sign-in first (core/mfa.py), and the browser protections that go on
every response (docs/security.md, "Browser protections")."""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from effleura.core import audit, careteam, clock, handover, permissions
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.extension_points import patient_urls
from effleura.core.models import ApiToken, Practice, hash_token

log = logging.getLogger(__name__)


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def _api_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


class BrowserProtectionMiddleware:
    """Headers every answer of the application carries (static files, served by WhiteNoise
    before this runs, are public and keep their long cache).

    ``Cache-Control: private, no-store`` on every response: a page, an API answer, a CSV
    export, a PDF or a calendar feed may all carry patient data, and one rule for all of
    them cannot be forgotten by the next view (a shared computer's cache, a proxy, the back
    button after a hand-over). A view that already said no-store keeps its own words.
    ``Permissions-Policy`` switches off the browser features no page uses
    (settings.PERMISSIONS_POLICY).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.permissions_policy = ", ".join(
            f"{feature}={allow}" for feature, allow in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request):
        response = self.get_response(request)
        if "no-store" not in response.get("Cache-Control", ""):
            patch_cache_control(response, private=True, no_store=True)
        if self.permissions_policy:
            response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        return response


class ApiTokenMiddleware:
    """Signs in an API caller from ``Authorization: Bearer <token>``.

    Only on /api/ paths, and a token request never carries a session, so CSRF does not
    apply to it (the request cannot come from a browser's ambient cookies).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        audit.client_address.set(request.META.get("REMOTE_ADDR", ""))
        if is_api(request):
            header = request.headers.get("Authorization", "")
            if header:
                scheme, _, raw = header.partition(" ")
                if scheme.lower() != "bearer" or not raw.strip():
                    return _api_error(401, "Send your API token as 'Authorization: Bearer <token>'.")
                token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw.strip())).first()
                if token is None:
                    return _api_error(401, "This API token is not valid. Create one on your profile page.")
                refusal = _token_refusal(token)
                if refusal:
                    # A revoked or expired token still in use: a leaked one, or a forgotten
                    # script. Either way the owner of the account should be able to see it.
                    audit.record(
                        token.user,
                        AuditAction.LOGIN,
                        "api_token",
                        record_id=token.public_id,
                        outcome=AuditOutcome.DENIED,
                        detail=refusal[0],
                    )
                    return _api_error(401, refusal[1])
                if not token.allows(request.method):
                    audit.record(
                        token.user,
                        AuditAction.LOGIN,
                        "api_token",
                        record_id=token.public_id,
                        outcome=AuditOutcome.DENIED,
                        detail=f"read-only token used for {request.method}"[:200],
                    )
                    return _api_error(
                        403, "This API token is read-only: it may only read (GET, HEAD, OPTIONS), not change anything."
                    )
                ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
                request.user = token.user
                request._dont_enforce_csrf_checks = True
                request.api_token = token
        # Care-team grants belong to a browser session, never to a token (core/careteam.py).
        session = getattr(request, "session", None)
        key = session.session_key if session is not None and not hasattr(request, "api_token") else None
        scope = careteam.scope.set(careteam.session_scope(key))
        memo = careteam.memo.set({})
        try:
            return self.get_response(request)
        finally:
            careteam.scope.reset(scope)
            careteam.memo.reset(memo)


def _token_refusal(token: ApiToken) -> tuple[str, str] | None:
    """Why ``token`` may not sign in: (audit detail, the answer's message), or None."""
    if token.revoked_at is not None:
        why = f" ({token.revoked_reason})" if token.revoked_reason else ""
        return (
            "revoked token used",
            f"This API token was revoked on {clock.stamp(token.revoked_at)}{why}. "
            "Create a new one on your profile page.",
        )
    if token.is_expired:
        return (
            "expired token used",
            f"This API token expired on {clock.stamp(token.expires_at)}. Create a new one on your profile page.",
        )
    if not token.user.is_active:
        return ("token of a deactivated account used", "This API token's account is deactivated.")
    return None


class PracticeZoneMiddleware:
    """Activates the practice's time zone (Practice.time_zone) for the request, so every
    date and time not tied to a location is shown in it (core/clock.py).

    The zone comes from core.clock's per-process cache. When it has expired, the practice
    row is read once and left on ``request.practice`` for the context processor, which
    would read it anyway: a page does no more queries than before.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = clock.cached_practice_zone()
        if zone is None:
            practice = Practice.current()
            request.practice = practice
            zone = clock.remember_practice_zone(practice.time_zone, care_team_only=practice.care_team_only)
        with timezone.override(zone):
            return self.get_response(request)


class PermissionMiddleware:
    """Refuses any request whose URL the permission table does not allow for the user.

    Runs after URL resolution (process_view), before the view. A refused attempt at a
    patient's URL is written to the audit trail as denied.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or match.view_name.startswith("djdt"):
            return None
        key = permissions.url_permission(match.view_name, request.method)
        if key is None:
            # Fail closed: a URL someone forgot to put in the table is nobody's.
            log.error("URL %s has no entry in core/permissions.py URL_RULES", match.view_name)
            return self._refuse(request, None, view_kwargs)
        if key == permissions.PUBLIC:
            return None
        if not request.user.is_authenticated:
            if is_api(request):
                return _api_error(401, "Sign in first: send 'Authorization: Bearer <token>'.")
            return redirect_to_login(request.get_full_path())
        if permissions.has_permission(request.user, key):
            return None
        return self._refuse(request, key, view_kwargs)

    def _refuse(self, request, key, view_kwargs):
        # Every refusal is recorded, patient data or not: a pattern of refused attempts at
        # the staff or audit pages is as telling as one at a chart. Apps further down the
        # chain say who the patient behind their URLs is (core/extension_points.py).
        patient_id = view_kwargs.get("patient_id") or patient_urls.first(view_kwargs)
        rule = permissions.RULES.get(key) if key else None
        audit.record(
            request.user,
            rule.action if rule else "read",
            rule.record_type if rule else "unknown",
            record_id=view_kwargs.get("record_id", patient_id or ""),
            patient_id=patient_id,
            outcome=AuditOutcome.DENIED,
            detail=f"{request.method} {key or 'unlisted URL'}",
        )
        if is_api(request):
            return _api_error(403, "Your role does not allow this.")
        raise PermissionDenied("Your role does not allow this page.")


class HandoverMiddleware:
    """Keeps a session in hand-over mode (core/handover.py) on the patient's screens.

    Before the view: a URL the hand-over does not allow goes to "Give the device back to
    staff" (an API call made with the session answers 403). After it: a redirect out of
    the allowed screens (a view's "saved, back to the chart") goes to the hand-over's
    landing page instead. (The back button cannot show a staff page from the browser's
    cache once the device is handed over: every page is ``no-store``, see
    BrowserProtectionMiddleware.) The request carries ``request.handover`` (the state, or
    None) for the templates.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        state = None if getattr(request, "api_token", None) else handover.current(request)
        if state is not None and (not request.user.is_authenticated or request.user.pk != state.get("user")):
            request.session.pop(handover.SESSION_KEY, None)  # another sign-in: the lock was not theirs
            state = None
        request.handover = state
        response = self.get_response(request)
        if state is not None and response.status_code in (301, 302, 303, 307, 308):
            response = self._keep_inside(request, response)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        state = getattr(request, "handover", None)
        match = request.resolver_match
        if state is None or match is None or getattr(request, "api_token", None):
            return None
        if handover.allows(state, match.view_name, view_kwargs):
            return None
        if is_api(request):
            return _api_error(403, "This device is in hand-over mode; staff must take it back first.")
        return redirect(handover.END_URL_NAME)

    def _keep_inside(self, request, response):
        state = handover.current(request)
        if state is None:  # the view ended the hand-over
            return response
        target = urlsplit(response["Location"])
        try:
            match = resolve(target.path)
        except Resolver404:
            match = None
        if match is None or not handover.allows(state, match.view_name, match.kwargs):
            response["Location"] = state["landing"]
        return response


# Where someone who must set up a second factor may go meanwhile (core/mfa.py ENROL_KEY).
ENROLMENT_URLS = {
    "core:profile": ("GET", "HEAD"),
    "core:mfa_prove": ("POST",),
    "core:mfa_totp_start": ("POST",),
    "core:mfa_totp_confirm": ("POST",),
    "otp_webauthn:credential-registration-begin": ("POST",),
    "otp_webauthn:credential-registration-complete": ("POST",),
    "otp_webauthn:js-i18n-catalog": ("GET", "HEAD"),
    "core:logout": ("POST",),
    # Idle logoff (core/idle.py): the page's poll, "Stay signed in" and the page's own end
    # of an idle session must work for a held session too.
    "core:session_status": ("GET", "HEAD"),
    "core:session_stay": ("POST",),
    "core:session_end": ("POST",),
}


class SecondFactorEnrolmentMiddleware:
    """Holds a session whose role must use two-factor sign-in, signed in without one, on
    the Profile page until an authenticator app or a passkey is set up (core/mfa.py). The
    flag lives in the session, so this costs no query; API tokens are their own factor."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from effleura.core import mfa

        match = request.resolver_match
        if getattr(request, "api_token", None) or match is None or not request.session.get(mfa.ENROL_KEY):
            return None
        if request.method in ENROLMENT_URLS.get(match.view_name, ()):
            return None
        if is_api(request):
            return _api_error(403, "Set up two-factor sign-in on your Profile page first.")
        return redirect(reverse("core:profile") + "#two-factor")
