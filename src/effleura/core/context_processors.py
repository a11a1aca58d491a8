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
    practice = Practice.current()  # one query per page: name, and whether it is the demo
    return {
        "practice": practice,
        "practice_name": practice.name,
        "can": _Can(user) if user is not None else {},
        "demo_mode": practice.is_demo,
    }
