"""Care-team access (issue 12 item 11; docs/security.md "Care-team access", docs/roles.md).

With the practice setting on (Practice.care_team_only), a therapist sees only the patients
on their care team: those they registered, have an appointment with (not cancelled), or are
the therapist of an episode of care for. Anyone else's chart, and every record of that
patient, page or API, needs a "break-glass" reason first: it grants this session access to
that patient for EFFLEURA_BREAK_GLASS_MINUTES, is kept (with the reason) in a BreakGlass
record, audited by that record's id, and shown on the owner's home page.

Enforced in ONE place: core/access.py's authorize() and allowed(), which every access_*
and check_* function for patient data goes through, call ``require_care_team()``. Owners,
front desk and billing are never limited. API token requests have no session, so a break-
glass grant (made in the browser) never covers them: they get 403 with the reason.
"""

import contextvars
import datetime
import hashlib

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from effleura.core import audit, clock
from effleura.core.choices import AuditAction, AuditOutcome, Role
from effleura.core.extension_points import care_team
from effleura.core.models import AuditEvent, BreakGlass

MIN_REASON = 15

# Per request (core.middleware.ApiTokenMiddleware): which session a grant belongs to (a
# hash of the session key; empty for API tokens and commands), and a memo of the answers.
scope: contextvars.ContextVar[str] = contextvars.ContextVar("care_team_scope", default="")
memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("care_team_memo", default=None)


class BreakGlassRequired(PermissionDenied):
    """The patient is not on the therapist's care team: state a reason first."""

    def __init__(self, patient_id):
        self.patient_id = patient_id
        super().__init__(
            "This patient is not on your care team. To proceed, open their chart in the browser "
            "and state why you need it (emergency access); it is audited and shown to the owner."
        )


def session_scope(session_key: str | None) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()[:40] if session_key else ""


def is_limited(user) -> bool:
    """Whether the setting is on and ``user`` is a therapist (the only role it limits)."""
    if getattr(user, "role", "") != Role.THERAPIST:
        return False
    return clock.practice_care_team_only()


def team_subqueries(user) -> list:
    """Querysets of the public ids of the patients on ``user``'s care team."""
    registered = AuditEvent.objects.filter(
        action=AuditAction.CREATE, record_type="patient", actor_id=user.pk, outcome=AuditOutcome.ALLOWED
    ).values_list("patient_id", flat=True)
    return [registered, *care_team.collect(user)]


def team_filter(user, field: str = "public_id") -> Q:
    """A filter on patients (``field``: their public id) to ``user``'s care team."""
    q = Q(pk__in=[])
    for ids in team_subqueries(user):
        q |= Q(**{f"{field}__in": ids})
    return q


def only_team(user, rows, field: str = "patient__public_id"):
    """``rows`` (a queryset of patient records; ``field``: their patient's public id) kept to
    ``user``'s care team when the setting limits them, unchanged otherwise: every list or
    export of patients or their records a limited therapist can reach goes through it."""
    return rows.filter(team_filter(user, field)) if is_limited(user) else rows


def on_team(user, patient_id) -> bool:
    """Is the patient on ``user``'s care team? One query per provider at most."""
    return any(ids.filter(**{_id_field(ids): patient_id}).exists() for ids in team_subqueries(user))


def _id_field(ids) -> str:
    # values_list("patient__public_id") on another app's model, or AuditEvent's patient_id.
    return "patient_id" if ids.model is AuditEvent else "patient__public_id"


def granted(user, patient_id) -> BreakGlass | None:
    """This session's unexpired break-glass grant for the patient, if any."""
    current = scope.get()
    if not current:
        return None
    return BreakGlass.objects.filter(
        user=user, patient_id=patient_id, scope=current, expires_at__gt=timezone.now()
    ).first()


def may_see(user, patient_id) -> bool:
    """The answer require_care_team() acts on, memoized for the request."""
    if not is_limited(user):
        return True
    cache = memo.get()
    key = (user.pk, str(patient_id))
    if cache is not None and key in cache:
        return cache[key]
    answer = on_team(user, patient_id) or granted(user, patient_id) is not None
    if cache is not None:
        cache[key] = answer
    return answer


def require_care_team(user, rule, key: str, patient_id) -> None:
    """Raise BreakGlassRequired (audited as a refusal) when the setting limits ``user`` and
    the patient is neither on their care team nor granted to this session."""
    if patient_id is None or not rule.patient_data or may_see(user, patient_id):
        return
    audit.record(
        user,
        rule.action,
        rule.record_type,
        record_id=patient_id,
        patient_id=patient_id,
        outcome=AuditOutcome.DENIED,
        detail=f"not on care team: {key}",
    )
    raise BreakGlassRequired(patient_id)


def check_break_glass(user, reason: str) -> str:
    """May ``user`` break the glass, with this reason? Only a therapist the setting limits
    (PermissionDenied otherwise: the page sends anyone else straight on); the reason is
    required, at least MIN_REASON characters (ValidationError). Returns it, stripped."""
    if not is_limited(user) or not getattr(user, "is_active", False):
        raise PermissionDenied("Only a therapist limited to their care team needs emergency access.")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        words = f"Say why you need this chart, in at least {MIN_REASON} characters: it is kept and shown to the owner."
        raise ValidationError({"reason": words})
    return reason


def do_break_glass(user, patient_id, reason: str) -> BreakGlass:
    """Grant this session access to the patient for EFFLEURA_BREAK_GLASS_MINUTES; the reason
    is kept in the BreakGlass record, the audit event names that record (not the reason)."""
    now = timezone.now()
    with transaction.atomic():
        grant = BreakGlass.objects.create(
            user=user,
            patient_id=patient_id,
            reason=reason,
            scope=scope.get(),
            created_at=now,
            expires_at=now + datetime.timedelta(minutes=settings.EFFLEURA_BREAK_GLASS_MINUTES),
        )
        audit.record(
            user,
            AuditAction.CREATE,
            "break_glass",
            record_id=grant.public_id,
            patient_id=patient_id,
            detail=f"emergency access, reason of {len(reason)} characters",
        )
    cache = memo.get()
    if cache is not None:
        cache.pop((user.pk, str(patient_id)), None)
    return grant


def page_context(patient_id, back: str, *, reason: str = "", error: str = "") -> dict:
    """What core/break_glass.html shows: nothing of the patient but their id in the form."""
    return {
        "patient_id": patient_id,
        "next": back,
        "reason": reason,
        "error": error,
        "min_reason": MIN_REASON,
        "minutes": settings.EFFLEURA_BREAK_GLASS_MINUTES,
    }


def recent_break_glass(*, days: int = 7) -> list[BreakGlass]:
    """The last ``days`` days' emergency accesses, newest first (the owner's home)."""
    since = timezone.now() - datetime.timedelta(days=days)
    return list(BreakGlass.objects.filter(created_at__gte=since).select_related("user").order_by("-created_at")[:100])
