"""Writing the audit trail.

Every read, create, update, delete, print and export of patient data calls ``record``
(from access_* and do_* functions, and from the permission middleware for refusals).
The client address comes from a context variable that the middleware sets per
request, so rules and actions need no request object; commands set "cli".
"""

import contextvars
import hashlib
import hmac
import uuid

from django.conf import settings

from effleura.core.choices import AuditOutcome
from effleura.core.models import AuditEvent

client_address: contextvars.ContextVar[str] = contextvars.ContextVar("client_address", default="")


def keyed_name(text: str) -> str:
    """A short keyed hash (HMAC-SHA256 with settings.EFFLEURA_AUDIT_KEY, 20 hex digits) of a
    name someone typed, so the same mistyped name always gives the same value while the
    trail never holds the text itself (people type passwords into the name field)."""
    digest = hmac.new(settings.EFFLEURA_AUDIT_KEY.encode(), text.encode(), hashlib.sha256)
    return digest.hexdigest()[:20]


def record(
    actor,
    action: str,
    record_type: str,
    *,
    record_id: object = "",
    patient_id: uuid.UUID | str | None = None,
    outcome: str = AuditOutcome.ALLOWED,
    detail: str = "",
) -> AuditEvent:
    """Append one audit event. Call inside the transaction of the write it describes."""
    return AuditEvent.objects.create(**_fields(actor, action, record_type, record_id, patient_id, outcome, detail))


def record_many(actor, action: str, record_type: str, patient_ids, *, detail: str = "") -> None:
    """One event per patient shown in a list, in a single query."""
    AuditEvent.objects.bulk_create(
        AuditEvent(**_fields(actor, action, record_type, pid, pid, AuditOutcome.ALLOWED, detail)) for pid in patient_ids
    )


def _fields(actor, action, record_type, record_id, patient_id, outcome, detail) -> dict:
    authenticated = getattr(actor, "is_authenticated", False)
    return {
        "actor_id": actor.pk if authenticated else None,
        "actor_username": actor.get_username() if authenticated else "",
        "actor_role": getattr(actor, "role", "") if authenticated else "",
        "patient_id": patient_id,
        "record_type": record_type,
        "record_id": str(record_id or "")[:64],
        "action": action,
        "outcome": outcome,
        "client_address": client_address.get()[:64],
        "detail": detail[:200],
    }
