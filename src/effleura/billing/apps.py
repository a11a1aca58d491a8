from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BillingConfig(AppConfig):
    name = "effleura.billing"
    label = "billing"
    verbose_name = "Billing: codes, fees, charges, invoices, payments, packages, insurance and claims"

    def ready(self) -> None:
        # A broken bundled catalog stops the start with a message naming the entry.
        from effleura.billing.catalog import bundled_codes, seed_catalog

        bundled_codes()
        # Not a record write: it gives a new (or flushed) database the bundled code catalog.
        post_migrate.connect(
            lambda sender, using="default", **kw: seed_catalog(using),
            sender=self,
            dispatch_uid="effleura.billing.seed_catalog",
            weak=False,
        )

        from effleura.billing import hooks, resources

        hooks.register_all()
        resources.register_all()  # the set-up resources' URL names join the permission table
