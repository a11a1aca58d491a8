"""Keeping the audit table's append-only triggers in place (see migration
core/0002_audit_append_only and docs/decisions/0003).

After every `migrate` (and every `flush`, which Django follows with the same signal)
ensure_audit_triggers() re-creates any trigger that is missing. On SQLite a table
rebuild by a future migration, or a test harness that removed them to empty the
tables, would otherwise leave the trail unprotected. PostgreSQL keeps its triggers
through TRUNCATE, so there is nothing to restore there.
"""

from django.db import connections

SQLITE_TRIGGERS = {
    "core_auditevent_no_update": (
        "CREATE TRIGGER IF NOT EXISTS core_auditevent_no_update BEFORE UPDATE ON core_auditevent "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END;"
    ),
    "core_auditevent_no_delete": (
        "CREATE TRIGGER IF NOT EXISTS core_auditevent_no_delete BEFORE DELETE ON core_auditevent "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END;"
    ),
}


def ensure_audit_triggers(using: str = "default", **kwargs) -> None:
    connection = connections[using]
    if connection.vendor != "sqlite" or "core_auditevent" not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        for statement in SQLITE_TRIGGERS.values():
            cursor.execute(statement)


def drop_sqlite_audit_triggers(using: str = "default") -> None:
    """Only for the test harness, right before it empties every table; the post_migrate
    signal that follows the flush puts the triggers back."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
