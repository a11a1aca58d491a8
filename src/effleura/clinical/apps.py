from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "effleura.clinical"
    label = "clinical"
    verbose_name = "Clinical record: screening, assessment, plans, notes, measures, home care"
