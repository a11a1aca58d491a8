"""The clinical record, one module per concept. Import models from here."""

from effleura.clinical.models.assessment import Assessment
from effleura.clinical.models.episodes import Discharge, Episode
from effleura.clinical.models.homecare import HomeCareItem, HomeCarePlan
from effleura.clinical.models.measures import OutcomeMeasurement
from effleura.clinical.models.notes import Addendum, NoteTemplate, SessionNote, TechniqueEntry
from effleura.clinical.models.plans import Goal, TreatmentPlan

__all__ = [
    "Addendum",
    "Assessment",
    "Discharge",
    "Episode",
    "Goal",
    "HomeCareItem",
    "HomeCarePlan",
    "NoteTemplate",
    "OutcomeMeasurement",
    "SessionNote",
    "TechniqueEntry",
    "TreatmentPlan",
]
