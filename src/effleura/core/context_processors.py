from effleura.core.models import Practice
from effleura.core.permissions import has_permission


class _Can:
    """Lets templates ask ``{% if can.patient_create %}`` against the permission table."""

    def __init__(self, user):
        self.user = user

    def __getitem__(self, name: str) -> bool:
        # "health_history_view" -> "health_history.view": the verb never has an underscore.
        thing, _, verb = name.rpartition("_")
        return has_permission(self.user, f"{thing}.{verb}")


def effleura(request):
    user = getattr(request, "user", None)
    # One query per page: name, and whether it is the demo. PracticeZoneMiddleware leaves
    # the row here when it had to read it for the zone, so that costs no second query.
    practice = getattr(request, "practice", None) or Practice.current()
    return {
        "practice": practice,
        "practice_name": practice.name,
        "can": _Can(user) if user is not None else {},
        "demo_mode": practice.is_demo,
    }
