from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "effleura.api"
    label = "api"
    verbose_name = "JSON API"
