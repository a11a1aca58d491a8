from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "effleura.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling: locations, rooms, hours, services and appointments"

    def ready(self) -> None:
        from effleura.core import extension_points
        from effleura.scheduling import badges, resources

        extension_points.calendar_badges.register(badges.consent_badges)
        resources.register_all()  # the set-up resources' URL names join the permission table
