"""The billing desk without reading all history (decision 0028): Invoice.settled, a hint set
when an invoice is paid in full, and partial indexes on the invoices that may still be owed
and on the visits not invoiced yet. Existing invoices paid in full are marked here."""

from django.db import migrations, models
from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce


def mark_paid_invoices(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    PaymentAllocation = apps.get_model("billing", "PaymentAllocation")
    money = DecimalField(max_digits=14, decimal_places=2)
    paid = (
        PaymentAllocation.objects.filter(invoice=OuterRef("pk"), payment__voided_at__isnull=True)
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    Invoice.objects.filter(status="issued").annotate(
        paid=Coalesce(Subquery(paid, output_field=money), Value(0), output_field=money)
    ).filter(total__lte=F("paid")).update(settled=True)


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_versions_records")]

    operations = [
        migrations.AddField(
            model_name="invoice", name="settled", field=models.BooleanField(db_default=False, default=False)
        ),
        migrations.RunPython(mark_paid_invoices, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="charge",
            index=models.Index(condition=Q(status="open"), fields=["date_of_service", "id"], name="charge_open"),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                condition=Q(settled=False, status="issued"), fields=["issued_on", "id"], name="invoice_maybe_owing"
            ),
        ),
    ]
