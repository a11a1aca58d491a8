from django.conf import settings
from django.db import models
from django.utils import timezone

from effleura.clinical.choices import AssessmentKind, RecordStatus
from effleura.clinical.models.episodes import Episode
from effleura.core.models import PublicIdModel, Versioned


class Assessment(PublicIdModel, Versioned):
    """An initial or repeat assessment. Structured findings are JSON lists whose keys come
    from the knowledge base (clinical/knowledge/assessment.yaml):

    posture:  [{"finding": key, "side": "left|right|both|", "note": str}]
    rom:      [{"joint": key, "movement": key, "side": "left|right|", "degrees": int, "pain": bool}]
    tone:     [{"region": BodyRegion or muscle key, "finding": key, "side": str, "note": str}]
    body_marks: [{"region": body-chart region key, "symbol": BodyMark, "intensity": 0-10}]
    special_tests: [{"test": key, "side": str, "result": "positive|negative", "note": str}]
    """

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="assessments")
    kind = models.CharField(max_length=10, choices=AssessmentKind.choices, default=AssessmentKind.INITIAL)
    assessed_on = models.DateField(default=timezone.localdate)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=8, choices=RecordStatus.choices, default=RecordStatus.DRAFT)
    posture = models.JSONField(default=list, blank=True)
    rom = models.JSONField(default=list, blank=True)
    tone = models.JSONField(default=list, blank=True)
    palpation = models.TextField(blank=True)
    body_marks = models.JSONField(default=list, blank=True)
    special_tests = models.JSONField(default=list, blank=True)
    functional_limitations = models.TextField(blank=True)
    clinical_impression = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-assessed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.assessed_on}"
