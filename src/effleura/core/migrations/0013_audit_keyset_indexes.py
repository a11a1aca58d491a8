"""The audit trail's indexes for keyset reading (docs/decisions/0027).

Every read of the trail walks an index in (at, id) order and stops after a page, so the
plain indexes on at, actor_id and patient_id and the (patient_id, at) / (actor_id, at)
pairs give way to (…, at, id) ones, and the rare rows some readers look for get small
partial indexes. Fewer full indexes than before, so each audit insert is cheaper.

The single-column indexes are dropped by name (found by introspection) rather than by
AlterField, which on SQLite would copy the whole table. Plain CREATE INDEX: on PostgreSQL
it works on a large existing table inside the migration's transaction, holding back new
audit events (so every request that reads patient data) while it runs: under three
minutes in all at ten million events (docs/performance.md).
"""

import django.utils.timezone
from django.db import migrations, models

SINGLE = ("at", "actor_id", "patient_id")


def _drop_single_column_indexes(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "core_auditevent")
    for name, info in sorted(constraints.items()):
        plain = info["index"] and not info["unique"] and not info["primary_key"]
        if plain and len(info["columns"]) == 1 and info["columns"][0] in SINGLE:
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def _put_single_column_indexes_back(apps, schema_editor):
    model = apps.get_model("core", "AuditEvent")
    for column in SINGLE:
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[model._meta.get_field(column)]))


class Migration(migrations.Migration):
    dependencies = [("core", "0012_deploy_superuser_is_owner")]

    operations = [
        migrations.RemoveIndex(model_name="auditevent", name="core_audite_patient_89bc7c_idx"),
        migrations.RemoveIndex(model_name="auditevent", name="core_audite_actor_i_6b0cd5_idx"),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(_drop_single_column_indexes, _put_single_column_indexes_back),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent", name="at", field=models.DateTimeField(default=django.utils.timezone.now)
                ),
                migrations.AlterField(
                    model_name="auditevent", name="actor_id", field=models.BigIntegerField(blank=True, null=True)
                ),
                migrations.AlterField(
                    model_name="auditevent", name="patient_id", field=models.UUIDField(blank=True, null=True)
                ),
            ],
        ),
        migrations.AddIndex(model_name="auditevent", index=models.Index(fields=["at", "id"], name="core_audit_at_id")),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["patient_id", "at", "id"], name="core_audit_patient_at_id"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["actor_id", "at", "id"], name="core_audit_actor_at_id"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("outcome", "denied")), fields=["at", "id"], name="core_audit_denied_at_id"
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("outcome", "denied")),
                fields=["actor_id", "at", "id"],
                name="core_audit_denied_actor",
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("action", "lockout")), fields=["at", "id"], name="core_audit_lockout_at_id"
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("action", "unlock")), fields=["at", "id"], name="core_audit_unlock_at_id"
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("action", "update")),
                fields=["record_id", "at", "id"],
                name="core_audit_update_record",
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("action", "create")),
                fields=["record_id", "at", "id"],
                name="core_audit_create_record",
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("record_type", "password_reset")),
                fields=["at", "id"],
                name="core_audit_reset_at_id",
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("action", "create"), ("record_type", "patient")),
                fields=["actor_id"],
                name="core_audit_registered_by",
            ),
        ),
    ]
