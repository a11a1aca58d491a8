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

        from effleura.clinical.calendar_badges import screening_badges
        from effleura.scheduling import badges

        badges.register(screening_badges)

        # Refusals at an episode's, assessment's or note's URL are audited against the patient.
        from effleura.clinical.models import Assessment, Episode, SessionNote, TreatmentPlan
        from effleura.core.middleware import PATIENT_RESOLVERS

        def resolver(model, path):
            return lambda value: model.objects.filter(public_id=value).values_list(path, flat=True).first()

        PATIENT_RESOLVERS["episode_id"] = resolver(Episode, "patient__public_id")
        PATIENT_RESOLVERS["assessment_id"] = resolver(Assessment, "episode__patient__public_id")
        PATIENT_RESOLVERS["note_id"] = resolver(SessionNote, "episode__patient__public_id")
        PATIENT_RESOLVERS["plan_id"] = resolver(TreatmentPlan, "episode__patient__public_id")
