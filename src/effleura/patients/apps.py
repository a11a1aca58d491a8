from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PatientsConfig(AppConfig):
    name = "effleura.patients"
    label = "patients"
    verbose_name = "Patients: records, health history and consent"

    def ready(self):
        from effleura.patients.search_index import ensure_search_index

        # Not a record write: it puts back the search index's triggers after a migration
        # that rebuilt the patient table (SQLite drops a table's triggers with it).
        post_migrate.connect(
            lambda sender, using="default", **kw: ensure_search_index(using),
            sender=self,
            dispatch_uid="effleura.ensure_search_index",
            weak=False,
        )
