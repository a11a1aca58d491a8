"""The audit trail's seals (core/seals.py, docs/decisions/0017), and triggers that close
the gaps left by 0002_audit_append_only.

SQLite: ``REPLACE INTO`` (and ``INSERT OR REPLACE``) deletes the row it conflicts with
without firing DELETE triggers (unless a connection turns on recursive_triggers, which
no other client has to), so a BEFORE INSERT trigger now refuses any insert whose id or
public id already exists. An upsert (``ON CONFLICT DO UPDATE``) meets the same trigger
first. PostgreSQL has no REPLACE; an upsert fires the UPDATE trigger and a reused id
meets the primary key.

The seal and verification tables get the same protection as the events: no UPDATE, no DELETE, no reuse.
Every audit row's id must be positive (a row with id -1 would otherwise escape the
sealer's ranges and, on SQLite, match the -1 that a BEFORE INSERT trigger sees as the id
of every row whose id SQLite picks, refusing every later insert).
"""

import django.utils.timezone
from django.db import migrations, models


def _sqlite_refusals(table: str, what: str, unique_check: str) -> list[str]:
    # Adding the id check below rebuilds core_auditevent on SQLite, which drops 0002's
    # triggers with the old table: every trigger is (re)created here, after the rebuild.
    # NEW.id is -1 in a BEFORE INSERT trigger when SQLite picks the id itself, hence "> 0".
    return [
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
           BEGIN SELECT RAISE(ABORT, '{what} are append-only: UPDATE refused'); END;""",
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
           BEGIN SELECT RAISE(ABORT, '{what} are append-only: DELETE refused'); END;""",
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_reuse BEFORE INSERT ON {table}
           WHEN (NEW.id > 0 AND EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id)) OR {unique_check}
           BEGIN SELECT RAISE(ABORT, '{what} are append-only: an insert reusing an id refused'); END;""",  # noqa: S608
    ]


SQLITE_TABLES = [
    ("core_auditevent", "audit events", "EXISTS (SELECT 1 FROM core_auditevent WHERE public_id = NEW.public_id)"),
    ("core_auditseal", "audit seals", "EXISTS (SELECT 1 FROM core_auditseal WHERE sequence = NEW.sequence)"),
    ("core_auditverification", "audit verifications", "0"),
]
SQLITE_FORWARD = [statement for table in SQLITE_TABLES for statement in _sqlite_refusals(*table)]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_reuse;",
    "DROP TRIGGER IF EXISTS core_auditseal_no_update;",
    "DROP TRIGGER IF EXISTS core_auditseal_no_delete;",
    "DROP TRIGGER IF EXISTS core_auditseal_no_reuse;",
    "DROP TRIGGER IF EXISTS core_auditverification_no_update;",
    "DROP TRIGGER IF EXISTS core_auditverification_no_delete;",
    "DROP TRIGGER IF EXISTS core_auditverification_no_reuse;",
]
# effleura_audit_append_only() comes from 0002.
PG_FORWARD = """
CREATE TRIGGER core_auditseal_no_update BEFORE UPDATE ON core_auditseal
    FOR EACH ROW EXECUTE FUNCTION effleura_audit_append_only();
CREATE TRIGGER core_auditseal_no_delete BEFORE DELETE ON core_auditseal
    FOR EACH ROW EXECUTE FUNCTION effleura_audit_append_only();
CREATE TRIGGER core_auditverification_no_update BEFORE UPDATE ON core_auditverification
    FOR EACH ROW EXECUTE FUNCTION effleura_audit_append_only();
CREATE TRIGGER core_auditverification_no_delete BEFORE DELETE ON core_auditverification
    FOR EACH ROW EXECUTE FUNCTION effleura_audit_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS core_auditseal_no_update ON core_auditseal;
DROP TRIGGER IF EXISTS core_auditseal_no_delete ON core_auditseal;
DROP TRIGGER IF EXISTS core_auditverification_no_update ON core_auditverification;
DROP TRIGGER IF EXISTS core_auditverification_no_delete ON core_auditverification;
"""


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_versions_records"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditSeal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sequence", models.PositiveBigIntegerField(unique=True)),
                ("format", models.PositiveSmallIntegerField(default=1)),
                ("first_event_id", models.BigIntegerField()),
                ("last_event_id", models.BigIntegerField()),
                ("count", models.PositiveIntegerField()),
                ("sealed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("key_id", models.CharField(max_length=16)),
                ("event_ids", models.TextField(help_text="The ids sealed, as ranges: 1-218,220-400.")),
                ("digests", models.TextField(help_text="16 hex characters per event, in id order.")),
                ("previous_hmac", models.CharField(blank=True, max_length=64)),
                ("hmac", models.CharField(max_length=64)),
            ],
            options={
                "ordering": ["sequence"],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(id__gt=0), name="core_auditseal_id_positive")
                ],
            },
        ),
        migrations.CreateModel(
            name="AuditSealState",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("pending_horizon", models.BigIntegerField(default=0)),
                ("pending_transactions", models.JSONField(default=list)),
                ("safe_horizon", models.BigIntegerField(default=0)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("tip_sequence", models.BigIntegerField(default=0)),
                ("tip_hmac", models.CharField(blank=True, max_length=64)),
                ("tip_last_event_id", models.BigIntegerField(default=0)),
                ("tip_mac", models.CharField(blank=True, max_length=64)),
                ("verification_tip", models.CharField(blank=True, max_length=64)),
                ("verification_tip_mac", models.CharField(blank=True, max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name="AuditVerification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ("by", models.CharField(help_text="The account, or 'worker', or the server's user.", max_length=150)),
                ("ok", models.BooleanField()),
                ("problems", models.PositiveIntegerField(default=0)),
                ("summary", models.CharField(blank=True, max_length=200)),
                ("sealed", models.PositiveBigIntegerField(default=0)),
                ("unsealed", models.PositiveBigIntegerField(default=0)),
                ("last_seal_sequence", models.PositiveBigIntegerField(blank=True, null=True)),
                ("last_seal_hmac", models.CharField(blank=True, max_length=64)),
                ("previous_mac", models.CharField(blank=True, max_length=64)),
                ("mac", models.CharField(blank=True, max_length=64)),
            ],
            options={
                "ordering": ["-at", "-id"],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(id__gt=0), name="core_auditverification_id_positive")
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.CheckConstraint(condition=models.Q(id__gt=0), name="core_auditevent_id_positive"),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
