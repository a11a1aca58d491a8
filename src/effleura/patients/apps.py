from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "effleura.patients"
    label = "patients"
    verbose_name = "Patients: records, health history and consent"
