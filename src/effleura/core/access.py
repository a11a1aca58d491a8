"""The shared step of every access_* and check_* function: ask the permission table,
and write the refusal to the audit trail before raising."""

from django.core.exceptions import PermissionDenied

from effleura.core import audit, permissions
from effleura.core.choices import AuditOutcome


def authorize(user, key: str, *, patient_id=None, record_id: object = "") -> permissions.Rule:
    """Return the rule for ``key`` if ``user`` holds it; otherwise audit the denial and raise."""
    rule = permissions.RULES[key]
    if not permissions.has_permission(user, key):
        audit.record(
            user,
            rule.action,
            rule.record_type,
            record_id=record_id,
            patient_id=patient_id,
            outcome=AuditOutcome.DENIED,
            detail=key,
        )
        raise PermissionDenied("Your role does not allow this.")
    return rule


def allowed(user, key: str, *, patient_id=None, record_id: object = "", detail: str = "") -> None:
    """Audit a permitted use of ``key`` (call after the object was found)."""
    rule = permissions.RULES[key]
    audit.record(user, rule.action, rule.record_type, record_id=record_id, patient_id=patient_id, detail=detail or key)
