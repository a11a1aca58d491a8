from django.conf import settings

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
    from effleura.core.models import User

    user = getattr(request, "user", None)
    return {
        "practice_name": settings.EFFLEURA_PRACTICE_NAME,
        "can": _Can(user) if user is not None else {},
        "demo_mode": User.objects.filter(is_demo=True).exists() if user is not None else False,
    }
