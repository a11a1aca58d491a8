"""Keeping the audit tables' append-only triggers in place (see migrations
core/0002_audit_append_only and core/0007_audit_seals, docs/decisions/0003 and 0017).

After every `migrate` (and every `flush`, which Django follows with the same signal)
ensure_audit_triggers() re-creates any trigger that is missing. On SQLite a table
rebuild by a future migration, or a test harness that removed them to empty the
tables, would otherwise leave the trail unprotected. PostgreSQL keeps its triggers
through TRUNCATE, so there is nothing to restore there.

Each table refuses UPDATE, DELETE, and any INSERT that reuses an existing id (or public
id, or seal number): REPLACE INTO deletes the row it replaces without firing DELETE
triggers, so only a BEFORE INSERT trigger stops it, for every client and whatever its
PRAGMA recursive_triggers says.
"""

from django.db import connections


def _refusals(table: str, what: str, unique_check: str) -> dict[str, str]:
    return {
        f"{table}_no_update": (
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{what} are append-only: UPDATE refused'); END;"
        ),
        f"{table}_no_delete": (
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{what} are append-only: DELETE refused'); END;"
        ),
        f"{table}_no_reuse": (
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_reuse BEFORE INSERT ON {table} "  # noqa: S608 (constants)
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {unique_check}) "
            f"BEGIN SELECT RAISE(ABORT, '{what} are append-only: an insert reusing an id refused'); END;"
        ),
    }


# table -> {trigger name: CREATE statement}
SQLITE_TRIGGERS: dict[str, dict[str, str]] = {
    "core_auditevent": _refusals("core_auditevent", "audit events", "id = NEW.id OR public_id = NEW.public_id"),
    "core_auditseal": _refusals("core_auditseal", "audit seals", "id = NEW.id OR sequence = NEW.sequence"),
}


def ensure_audit_triggers(using: str = "default", **kwargs) -> None:
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table, triggers in SQLITE_TRIGGERS.items():
            if table in tables:
                for statement in triggers.values():
                    cursor.execute(statement)


def drop_sqlite_audit_triggers(using: str = "default") -> None:
    """Only for the test harness, right before it empties every table; the post_migrate
    signal that follows the flush puts the triggers back."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for triggers in SQLITE_TRIGGERS.values():
            for name in triggers:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
