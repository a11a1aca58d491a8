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
