from django.conf import settings
from django.db import models
from django.utils import timezone

from effleura.clinical.models.episodes import Episode
from effleura.core.models import PublicIdModel


class OutcomeMeasurement(PublicIdModel):
    """One completed outcome measure (NPRS, ODI, NDI, QuickDASH, LEFS, PSFS): the answers as
    given (None for an unanswered item) and the score clinical/scoring.py computed from them."""

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="measurements")
    measure = models.CharField(max_length=20)
    answers = models.JSONField()
    # PSFS: the activities the patient named, in the order of the answers.
    labels = models.JSONField(default=list, blank=True)
    score = models.FloatField()
    unit = models.CharField(max_length=20)
    band = models.CharField(max_length=40, blank=True)
    taken_on = models.DateField(default=timezone.localdate)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.ForeignKey("clinical.SessionNote", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["taken_on", "id"]
        indexes = [models.Index(fields=["episode", "measure", "taken_on"])]

    def __str__(self) -> str:
        return f"{self.measure} {self.score:g} on {self.taken_on}"
