"""What the client's current health history says for treating them today: the latest
version and the screening it implies (conditions, flags, areas to avoid).

Shared by session notes (clinical/notes.py) and home care (clinical/homecare.py), and
below clinical/access.py, which re-exports current_history: it imports no other module of
the app that reads records, so any of them may import it. Call only once the patient's
clinical record was accessed (audited)."""

from effleura.clinical import screening
from effleura.clinical.note_rules import Screening
from effleura.patients.models import HealthHistory, Patient


def current_history(patient: Patient) -> HealthHistory | None:
    """The patient's current health-history version: one query."""
    return HealthHistory.objects.filter(patient=patient).order_by("-version").first()


def screening_for(patient: Patient) -> Screening:
    """The screening flags and areas to avoid of the patient's current health history: one query."""
    history = current_history(patient)
    conditions = list(history.screening_conditions) if history is not None else []
    avoid = list(history.areas_to_avoid) if history is not None else []
    return Screening(history, conditions, screening.screen(conditions), avoid)
