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
from django.db import connections, router
from django.utils import timezone

from effleura.core import ids
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
    """One event per patient shown in a list, all at the same instant, in one statement.

    A calendar day of 400 visits writes 400 events on every view, so this is written for
    speed (docs/decisions/0032): no model instance per event, the columns every event
    shares converted once, and on PostgreSQL one INSERT … SELECT FROM unnest() of three
    arrays (public ids, patients, record ids) instead of 4,800 placeholders that psycopg
    would parse on every call, each array sent as one literal string; on SQLite one
    prepared INSERT run for each row (executemany). Public ids are time-ordered (core.ids)
    like every audit event's."""
    patient_ids = list(patient_ids)
    if not patient_ids:
        return
    shared = _fields(actor, action, record_type, "", None, AuditOutcome.ALLOWED, detail)
    shared["at"] = timezone.now()
    del shared["patient_id"], shared["record_id"]
    meta = AuditEvent._meta
    connection = connections[router.db_for_write(AuditEvent)]
    constant = [(meta.get_field(name), value) for name, value in shared.items()]
    fixed = [f.get_db_prep_save(value, connection) for f, value in constant]
    own = [meta.get_field(name) for name in ("public_id", "patient_id", "record_id")]
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in [f for f, _ in constant] + own)
    table = quote(meta.db_table)
    public_ids = [ids.time_ordered_uuid() for _ in patient_ids]
    record_ids = [str(pid or "")[:64] for pid in patient_ids]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            shared_values = ", ".join(["%s"] * len(fixed))
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {shared_values}, u.public_id, u.patient_id, u.record_id "  # noqa: S608 (quoted names, placeholders)
                "FROM unnest(%s::uuid[], %s::uuid[], %s::varchar[]) AS u(public_id, patient_id, record_id)",
                [
                    *fixed,
                    _array_literal(u.hex for u in public_ids),
                    _array_literal(None if p is None else _uuid_or_none(p).hex for p in patient_ids),
                    _array_literal(record_ids),
                ],
            )
        else:
            prep = [f.get_db_prep_save for f in own[:2]]
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * (len(fixed) + len(own)))})",  # noqa: S608 (quoted names, placeholders)
                [
                    (*fixed, prep[0](public, connection), prep[1](pid, connection), record)
                    for public, pid, record in zip(public_ids, patient_ids, record_ids, strict=True)
                ],
            )


def _array_literal(values) -> str:
    """A PostgreSQL array literal ('{"a","b",NULL}') of text values and None. Sent as one
    string, so psycopg does not convert 400 values one by one (2 ms of a 5 ms insert)."""
    items = ("NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "{" + ",".join(items) + "}"


def _uuid_or_none(value) -> uuid.UUID | None:
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(str(value))


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
