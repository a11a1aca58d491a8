from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "effleura.core"
    label = "core"
    verbose_name = "Core: people, roles and audit"
