from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "effleura.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling: locations, rooms, hours, services and appointments"
