"""The calendar's overlap queries bounded on both sides (docs/decisions/0025).

The database now refuses an appointment that holds its practitioner and room for more
than 12 hours (visit and changeover), the longest the booking rules have always allowed
(a service lasts at most 480 minutes, its changeover at most 240). Before adding the
CHECK, the migration looks for stored appointments that break it (written by hand or by
an import): if there are any it stops, changing nothing, and names how many and the
first few ids, since shortening a visit is not a migration's decision. Plain
ALTER TABLE ... ADD CONSTRAINT (PostgreSQL) or a table rebuild (SQLite): both read every
row once, a few seconds for a million appointments.

Two indexes for the working-time load (scheduling/calendars.py): time off by
(practitioner, end), read from the window on (time off has no longest length), and
schedule exceptions by (practitioner, date).
"""

from django.conf import settings
from django.core.management.base import CommandError
from django.db import migrations, models
from django.db.models import F

import effleura.scheduling.models

# Fixed here, not imported: a migration must do the same thing whatever the code is later.
HELD_MINUTES = 720


def refuse_longer_visits(apps, schema_editor):
    import datetime

    appointment = apps.get_model("scheduling", "Appointment")
    longer = appointment.objects.using(schema_editor.connection.alias).filter(
        busy_until__gt=F("start") + datetime.timedelta(minutes=HELD_MINUTES)
    )
    count = longer.count()
    if count:
        ids = ", ".join(str(i) for i in longer.order_by("start").values_list("public_id", flat=True)[:5])
        raise CommandError(
            f"{count} stored appointment(s) hold their practitioner and room for more than "
            f"{HELD_MINUTES // 60} hours (start to end of changeover), which Effleura now refuses; "
            f"first ids: {ids}. Correct their end and busy_until (or split them into several visits), "
            "then run migrate again. Nothing was changed."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0003_consent_signer_once"),
        ("scheduling", "0005_booking_policy_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(refuse_longer_visits, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="appointment",
            constraint=models.CheckConstraint(
                condition=effleura.scheduling.models.HeldAtMost(models.F("busy_until"), models.F("start"), 720),
                name="appointment_held_at_most_12_hours",
                violation_error_message=(
                    "A visit holds its practitioner and room for at most 12 hours, changeover included "
                    "(8 hours of visit and 4 of changeover)."
                ),
            ),
        ),
        migrations.AddIndex(
            model_name="scheduleexception",
            index=models.Index(fields=["practitioner", "date"], name="scheduling__practit_bed5ac_idx"),
        ),
        migrations.AddIndex(
            model_name="timeoff",
            index=models.Index(fields=["practitioner", "end"], name="scheduling__practit_a5021b_idx"),
        ),
    ]
