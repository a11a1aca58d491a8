from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "effleura.clinical"
    label = "clinical"
    verbose_name = "Clinical record: screening, assessment, plans, notes, measures, home care"

    def ready(self) -> None:
        # Load and validate the knowledge base once, at start-up: a broken file raises
        # KnowledgeError (naming the file and the entry) and stops the start, rather than
        # failing later in front of a patient. settings.CLINICAL_KNOWLEDGE_DIR may point at a
        # practice's reviewed copy of clinical/knowledge/.
        from effleura.clinical import knowledge

        knowledge.reload(knowledge.configured_dir())

        from effleura.clinical.calendar_badges import note_badges, screening_badges
        from effleura.core import extension_points

        extension_points.calendar_badges.register(screening_badges)
        extension_points.calendar_badges.register(note_badges)

        # A visit with a signed note stays completed: its undo is refused.
        from effleura.clinical.notes import undo_guard

        extension_points.status_undo_guards.register(undo_guard)

        # A clinician's day on the home page: today's visits and their notes, notes left
        # unsigned, re-assessments due (clinical/home.py).
        from effleura.clinical.home import reassessments_due, todays_visits, unsigned_notes

        for section in (todays_visits, unsigned_notes, reassessments_due):
            extension_points.home_sections.register(section)

        # Refusals at an episode's, assessment's, plan's, goal's, measure's or note's URL are audited
        # against the patient.
        from effleura.clinical.models import Assessment, Episode, Goal, OutcomeMeasurement, SessionNote, TreatmentPlan
        from effleura.core.extension_points import register_patient_url

        register_patient_url("episode_id", Episode)
        # The therapist of an episode of care is on the patient's care team (core/careteam.py).
        extension_points.care_team.register(care_team_patients)
        register_patient_url("assessment_id", Assessment, "episode__patient__public_id")
        register_patient_url("note_id", SessionNote, "episode__patient__public_id")
        register_patient_url("plan_id", TreatmentPlan, "episode__patient__public_id")
        register_patient_url("goal_id", Goal, "plan__episode__patient__public_id")
        register_patient_url("measurement_id", OutcomeMeasurement, "episode__patient__public_id")


def care_team_patients(user):
    """core/careteam.py: the patients ``user`` is the therapist of an episode of care for."""
    from effleura.clinical.models import Episode

    return Episode.objects.filter(therapist=user).values_list("patient__public_id", flat=True)
