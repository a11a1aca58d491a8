"""Audit events get time-ordered public ids (UUID version 7, docs/decisions/0032).

Only the model's Python default changes, so the database is left alone: on SQLite an
AlterField would rebuild the table, copying every event and dropping the append-only
triggers with the old table."""

from django.db import migrations, models

import effleura.core.ids


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0013_audit_keyset_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="public_id",
                    field=models.UUIDField(default=effleura.core.ids.time_ordered_uuid, editable=False, unique=True),
                ),
            ],
            database_operations=[],
        ),
    ]
