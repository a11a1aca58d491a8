"""The audit trail's seals (core/seals.py, docs/decisions/0017), and triggers that close
the gaps left by 0002_audit_append_only.

SQLite: ``REPLACE INTO`` (and ``INSERT OR REPLACE``) deletes the row it conflicts with
without firing DELETE triggers (unless a connection turns on recursive_triggers, which
no other client has to), so a BEFORE INSERT trigger now refuses any insert whose id or
public id already exists. An upsert (``ON CONFLICT DO UPDATE``) meets the same trigger
first. PostgreSQL has no REPLACE; an upsert fires the UPDATE trigger and a reused id
meets the primary key.

The seal table gets the same protection as the events: no UPDATE, no DELETE, no reuse.
"""

import django.utils.timezone
from django.db import migrations, models

SQLITE_FORWARD = [
    """CREATE TRIGGER IF NOT EXISTS core_auditevent_no_reuse BEFORE INSERT ON core_auditevent
       WHEN EXISTS (SELECT 1 FROM core_auditevent WHERE id = NEW.id OR public_id = NEW.public_id)
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only: an insert reusing an id refused'); END;""",
    """CREATE TRIGGER IF NOT EXISTS core_auditseal_no_update BEFORE UPDATE ON core_auditseal
       BEGIN SELECT RAISE(ABORT, 'audit seals are append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER IF NOT EXISTS core_auditseal_no_delete BEFORE DELETE ON core_auditseal
       BEGIN SELECT RAISE(ABORT, 'audit seals are append-only: DELETE refused'); END;""",
    """CREATE TRIGGER IF NOT EXISTS core_auditseal_no_reuse BEFORE INSERT ON core_auditseal
       WHEN EXISTS (SELECT 1 FROM core_auditseal WHERE id = NEW.id OR sequence = NEW.sequence)
       BEGIN SELECT RAISE(ABORT, 'audit seals are append-only: an insert reusing an id refused'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_reuse;",
    "DROP TRIGGER IF EXISTS core_auditseal_no_update;",
    "DROP TRIGGER IF EXISTS core_auditseal_no_delete;",
    "DROP TRIGGER IF EXISTS core_auditseal_no_reuse;",
]
# effleura_audit_append_only() comes from 0002.
PG_FORWARD = """
CREATE TRIGGER core_auditseal_no_update BEFORE UPDATE ON core_auditseal
    FOR EACH ROW EXECUTE FUNCTION effleura_audit_append_only();
CREATE TRIGGER core_auditseal_no_delete BEFORE DELETE ON core_auditseal
    FOR EACH ROW EXECUTE FUNCTION effleura_audit_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS core_auditseal_no_update ON core_auditseal;
DROP TRIGGER IF EXISTS core_auditseal_no_delete ON core_auditseal;
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
            ],
            options={
                "ordering": ["-at", "-id"],
            },
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
