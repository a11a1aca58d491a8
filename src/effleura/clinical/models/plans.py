from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from effleura.clinical.choices import GoalDirection, GoalStatus, PlanStatus, Pressure
from effleura.clinical.models.episodes import Episode
from effleura.core.models import PublicIdModel, Versioned


class TreatmentPlan(PublicIdModel, Versioned):
    """What the therapist intends for an episode: diagnosis, techniques, dose, schedule.

    A changed plan is a new row (the old one becomes superseded), so notes and reports
    can always say which plan was in force. Its ``version`` numbers the plans of the
    episode, as a health history's does: 1 for the first, one more than the plan it
    replaces for each later one (a plan's content is never edited in place).
    """

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="plans")
    status = models.CharField(max_length=12, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    diagnosis_codes = models.JSONField(default=list, help_text="ICD-10-CM codes, e.g. ['M54.50'].")
    techniques = models.JSONField(default=list, blank=True, help_text="Technique and stroke keys.")
    modalities = models.JSONField(default=list, blank=True, help_text="Adjunct modality keys.")
    pressure_min = models.CharField(max_length=10, choices=Pressure.choices, default=Pressure.LIGHT)
    pressure_max = models.CharField(max_length=10, choices=Pressure.choices, default=Pressure.MODERATE)
    sessions_per_week = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(7)])
    weeks = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(52)])
    session_minutes = models.PositiveSmallIntegerField(validators=[MinValueValidator(5), MaxValueValidator(180)])
    home_care_summary = models.TextField(blank=True)
    reassess_on = models.DateField(null=True, blank=True)
    # The series booked by "Schedule this plan" (clinical/plans.py); discharge cancels
    # what is left of it.
    series = models.ForeignKey("scheduling.Series", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"plan of {self.created_at:%Y-%m-%d}"

    @property
    def visits(self) -> int:
        """Twice a week for four weeks = 8 visits."""
        return self.sessions_per_week * self.weeks


class Goal(PublicIdModel, Versioned):
    """A measurable goal of a plan: pain from 7 to 3, ODI under 20 %, rotation to 70°.

    ``measure`` names what is measured: an outcome-measure key (nprs, odi, ...), or
    "rom:<joint>:<movement>[:<side>]" for a range of motion, or empty for a goal judged
    by the therapist.
    """

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="goals")
    description = models.CharField(max_length=200)
    measure = models.CharField(max_length=60, blank=True)
    baseline = models.FloatField(null=True, blank=True)
    target = models.FloatField(null=True, blank=True)
    direction = models.CharField(max_length=10, choices=GoalDirection.choices, default=GoalDirection.DECREASE)
    target_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=14, choices=GoalStatus.choices, default=GoalStatus.NOT_STARTED)

    class Meta:
        ordering = ["plan", "id"]

    def __str__(self) -> str:
        return self.description
