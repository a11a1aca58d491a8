from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "effleura.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling: locations, rooms, hours, services and appointments"

    def ready(self) -> None:
        from effleura.core import extension_points
        from effleura.core.extension_points import register_patient_url
        from effleura.scheduling import badges, resources
        from effleura.scheduling.models import Appointment, Series, WaitlistEntry

        extension_points.calendar_badges.register(badges.consent_badges)
        from effleura.scheduling.chart import next_visits_section

        extension_points.chart_sections.register(next_visits_section)  # the chart's next visits
        resources.register_all()  # the set-up resources' URL names join the permission table
        # Refusals at an appointment's, series' or waitlist entry's URL are audited against
        # the patient, so they show in that patient's access report.
        register_patient_url("appointment_id", Appointment)
        register_patient_url("series_id", Series)
        register_patient_url("entry_id", WaitlistEntry)
        # A practitioner with an appointment (not cancelled) is on the patient's care team.
        extension_points.care_team.register(care_team_patients)


def care_team_patients(user):
    """core/careteam.py: the patients ``user`` has an appointment with, not cancelled."""
    from effleura.scheduling.choices import AppointmentStatus
    from effleura.scheduling.models import Appointment

    return (
        Appointment.objects.filter(practitioner=user)
        .exclude(status=AppointmentStatus.CANCELLED)
        .values_list("patient__public_id", flat=True)
    )
