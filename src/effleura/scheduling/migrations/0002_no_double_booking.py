"""The database's own refusal of a double booking (docs/decisions/0005-no-double-booking.md).

PostgreSQL: three exclusion constraints. Among appointments that hold time (status is
not cancelled), no two for the same practitioner, or the same room, may have overlapping
[start, busy_until) ranges (changeover counted), and no two for the same patient
overlapping [start, end). Half-open ranges ('[)'), so back-to-back visits are fine. GiST
needs the btree_gist extension to compare the ids with =; it is a trusted extension
(PostgreSQL 13+), so the database owner may create it without being a superuser.

SQLite has no exclusion constraints: there the booking actions check inside a
write-locked transaction (scheduling/actions.py). Nothing to do here.
"""

from django.db import migrations

CONSTRAINTS = [
    ("appointment_no_practitioner_overlap", "practitioner_id WITH =, tstzrange(start, busy_until, '[)') WITH &&"),
    ("appointment_no_room_overlap", "room_id WITH =, tstzrange(start, busy_until, '[)') WITH &&"),
    ("appointment_no_patient_overlap", "patient_id WITH =, tstzrange(start, \"end\", '[)') WITH &&"),
]
TABLE = "scheduling_appointment"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for name, columns in CONSTRAINTS:
        # A NULL room_id never equals anything, so visits without a room never clash on it.
        schema_editor.execute(
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} EXCLUDE USING gist ({columns}) WHERE (status <> 'cancelled')"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _columns in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {name}")
    # The extension stays: other objects may have come to use it.


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
