from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PatientsConfig(AppConfig):
    name = "effleura.patients"
    label = "patients"
    verbose_name = "Patients: records, health history and consent"

    def ready(self):
        from effleura.core import extension_points
        from effleura.patients.access import find_patients, patient_labels
        from effleura.patients.search_index import ensure_search_index

        # The audit trail names the patients its entries are about (core/views.py).
        extension_points.patient_labels.register(patient_labels)
        extension_points.patient_finder.register(find_patients)

        # Not a record write: it puts back the search index's triggers after a migration
        # that rebuilt the patient table (SQLite drops a table's triggers with it).
        post_migrate.connect(
            lambda sender, using="default", **kw: ensure_search_index(using),
            sender=self,
            dispatch_uid="effleura.ensure_search_index",
            weak=False,
        )
