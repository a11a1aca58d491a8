from django.conf import settings
from django.db import models
from django.utils import timezone

from effleura.clinical.choices import DischargeReason, EpisodeStatus
from effleura.core.models import PublicIdModel
from effleura.patients.models import Patient


class Episode(PublicIdModel):
    """An episode of care: one course of treatment for one problem, from the first
    assessment to discharge. Plans, notes and measures belong to an episode."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="episodes")
    title = models.CharField(max_length=150, help_text="The problem in a few words, e.g. 'Low back pain after a fall'.")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=EpisodeStatus.choices, default=EpisodeStatus.OPEN)
    opened_on = models.DateField(default=timezone.localdate)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-opened_on", "-id"]

    def __str__(self) -> str:
        return self.title


class Discharge(PublicIdModel):
    """The end of an episode: why, and what came of it (first versus last measures, goals)."""

    episode = models.OneToOneField(Episode, on_delete=models.PROTECT, related_name="discharge")
    discharged_on = models.DateField(default=timezone.localdate)
    reason = models.CharField(max_length=24, choices=DischargeReason.choices)
    summary = models.TextField(blank=True, help_text="The therapist's words.")
    # Computed at discharge and frozen: [{"measure", "first", "last", "change", "mcid_reached", "direction"}]
    outcomes = models.JSONField(default=list, blank=True)
    # [{"goal", "status"}] as they stood at discharge
    goals = models.JSONField(default=list, blank=True)
    cancelled_appointments = models.PositiveSmallIntegerField(default=0)
    discharged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"discharge {self.discharged_on}"
