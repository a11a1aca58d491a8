from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from effleura.clinical.choices import ClientPosition, Pressure, RecordStatus
from effleura.clinical.models.episodes import Episode
from effleura.core.models import PublicIdModel, Versioned


class SessionNote(PublicIdModel, Versioned):
    """The SOAP note of one session. A draft is edited only by its author; once signed it is
    locked, and later changes are addenda with their own author and time.

    ``overrides`` records each contraindication the therapist charted past, with the reason:
    [{"condition": key, "technique": key, "verdict": str, "reason": str, "by": user id, "at": iso}].
    Rules and writes live in clinical/notes.py.
    """

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="notes")
    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.PROTECT, null=True, blank=True, related_name="note"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    session_date = models.DateField(default=timezone.localdate)
    status = models.CharField(max_length=8, choices=RecordStatus.choices, default=RecordStatus.DRAFT)
    subjective = models.TextField("S: subjective", blank=True)
    pain_now = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(10)])
    objective = models.TextField("O: objective", blank=True)
    body_marks = models.JSONField(default=list, blank=True)
    assessment = models.TextField("A: assessment", blank=True)
    plan = models.TextField("P: plan", blank=True)
    home_care_given = models.TextField(blank=True)
    overrides = models.JSONField(default=list, blank=True)
    # Where the draft's first content came from, so a copied note is never mistaken for a
    # fresh one: {} (blank), {"kind": "template", "id": uuid, "label": name} or
    # {"kind": "carry_forward", "id": uuid of the earlier note, "label": its session date}.
    started_from = models.JSONField(default=dict, blank=True)
    # The editor's form as last typed when it did not pass the checks yet (a row without
    # its minutes, a reason still to write), so an interruption loses nothing:
    # {"at": iso, "form": {field name: [values]}}; {} when the note holds everything typed.
    # Kept on the server, never only in the browser; the next save that passes clears it.
    typed = models.JSONField(default=dict, blank=True)
    total_minutes = models.PositiveSmallIntegerField(default=0, help_text="Sum of the technique minutes.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-session_date", "-id"]

    def __str__(self) -> str:
        return f"session note {self.session_date}"

    @property
    def is_locked(self) -> bool:
        return self.status == RecordStatus.SIGNED


class TechniqueEntry(models.Model):
    """One technique or modality used in a session: how long, where, how firmly, how lying."""

    note = models.ForeignKey(SessionNote, on_delete=models.CASCADE, related_name="techniques")
    technique = models.CharField(max_length=40, help_text="A technique, stroke or modality key.")
    minutes = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(240)])
    regions = models.JSONField(default=list, blank=True, help_text="Body-chart region keys.")
    pressure = models.CharField(max_length=10, choices=Pressure.choices, blank=True)
    position = models.CharField(max_length=14, choices=ClientPosition.choices, blank=True)
    notes = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["note", "id"]

    def __str__(self) -> str:
        return f"{self.technique} {self.minutes} min"


class Addendum(PublicIdModel):
    """A later addition to a signed note: never an edit of it."""

    note = models.ForeignKey(SessionNote, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    text = models.TextField()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "addenda"

    def __str__(self) -> str:
        return f"addendum {self.at:%Y-%m-%d}"


class NoteTemplate(PublicIdModel, Versioned):
    """Starting text and techniques for a service's notes (e.g. 'Bedside 15 minutes')."""

    service = models.ForeignKey("scheduling.Service", on_delete=models.CASCADE, related_name="note_templates")
    name = models.CharField(max_length=120)
    subjective = models.TextField(blank=True)
    objective = models.TextField(blank=True)
    assessment = models.TextField(blank=True)
    plan = models.TextField(blank=True)
    # [{"technique": key, "minutes": int, "regions": [...], "pressure": key, "position": key}]
    techniques = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["service", "name"]
        constraints = [models.UniqueConstraint(fields=["service", "name"], name="note_template_name_per_service")]

    def __str__(self) -> str:
        return self.name
