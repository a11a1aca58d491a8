from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "effleura.core"
    label = "core"
    verbose_name = "Core: people, roles and audit"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in
        from django.db import models
        from django.db.backends.signals import connection_created

        # The worker's duties: sealing and verifying the audit trail (seals), taking back
        # the jobs of dead workers and pruning finished jobs (leases).
        from effleura.core import (
            idle,
            leases,  # noqa: F401
            seals,  # noqa: F401
        )
        from effleura.core.append_only import ensure_audit_triggers
        from effleura.core.lookups import IdsIn
        from effleura.core.pg_loaders import use_c_timestamp_loader

        # Not a record write: field__ids_in, __in for long lists of ids (decision 0034).
        models.ForeignKey.register_lookup(IdsIn)
        models.IntegerField.register_lookup(IdsIn)

        # Not a record write: PostgreSQL timestamps load through psycopg's C loader (0033).
        connection_created.connect(use_c_timestamp_loader, dispatch_uid="effleura.pg_loaders")

        # Not a record write: every sign-in, whatever its path, starts the session's clocks.
        user_logged_in.connect(idle.on_sign_in, dispatch_uid="effleura.idle.on_sign_in")

        # Not a record write: it restores the audit table's protection after a schema change.
        post_migrate.connect(
            lambda sender, using="default", **kw: ensure_audit_triggers(using),
            sender=self,
            dispatch_uid="effleura.ensure_audit_triggers",
            weak=False,
        )
