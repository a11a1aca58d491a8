from django.db import models
from django.utils import timezone


class ScaleBuild(models.Model):
    """The large synthetic practice of `effleura demo --scale N` (demo/scale.py): for how
    many patients it was built and which of its steps are done. Each step writes its rows
    and its name here in one transaction, so a build that failed resumes at the step that
    failed when run again with the same N."""

    n = models.PositiveIntegerField()
    seed = models.PositiveIntegerField()
    steps = models.JSONField(default=list)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"synthetic benchmark practice of {self.n} patients"
