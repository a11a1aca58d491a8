from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "effleura.core"
    label = "core"
    verbose_name = "Core: people, roles and audit"

    def ready(self):
        # Registers the worker's duties: sealing and verifying the audit trail.
        from effleura.core import seals  # noqa: F401
        from effleura.core.append_only import ensure_audit_triggers

        # Not a record write: it restores the audit table's protection after a schema change.
        post_migrate.connect(
            lambda sender, using="default", **kw: ensure_audit_triggers(using),
            sender=self,
            dispatch_uid="effleura.ensure_audit_triggers",
            weak=False,
        )
