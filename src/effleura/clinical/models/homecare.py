from django.conf import settings
from django.db import models
from django.utils import timezone

from effleura.clinical.models.episodes import Episode
from effleura.core.models import PublicIdModel, Versioned


class HomeCarePlan(PublicIdModel, Versioned):
    """A patient's home-care programme for an episode, assembled from the self-care library."""

    episode = models.OneToOneField(Episode, on_delete=models.PROTECT, related_name="home_care")
    introduction = models.TextField(blank=True, help_text="A short personal note at the top of the handout.")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return "home-care plan"


class HomeCareItem(models.Model):
    """One item of the plan: a self-care library entry with this patient's dosage."""

    plan = models.ForeignKey(HomeCarePlan, on_delete=models.CASCADE, related_name="items")
    item = models.CharField(max_length=60, help_text="A self-care library key.")
    dosage = models.CharField(max_length=200, blank=True, help_text="Overrides the library's dosage.")
    notes = models.CharField(max_length=300, blank=True)
    # Why the item was given although the client's health history questions it (an area to
    # avoid, a condition that rules it out): the therapist's words, as a note's overrides.
    override_reason = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["plan", "position", "id"]

    def __str__(self) -> str:
        return self.item
