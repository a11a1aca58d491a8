import datetime
import re

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from effleura.core.models import PublicIdModel, Versioned
from effleura.patients import history
from effleura.patients.choices import (
    ConsentKind,
    ContactMethod,
    PatientStatus,
    PressurePreference,
    SexAtBirth,
    SignerRelationship,
)


def digits_only(value: str) -> str:
    return re.sub(r"\D", "", value or "")


class ChartNumberSequence(models.Model):
    """The one row that hands out chart numbers, locked while a patient is created so
    two front desks registering patients at once never get the same number."""

    next_value = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"next chart number {self.next_value}"


class Patient(PublicIdModel, Versioned):
    """A person who receives care from the practice: their identity and how to reach them.

    Clinical content (health history, notes) lives in separate records with their own
    permissions; this record is what front desk and billing also see.
    """

    chart_number = models.CharField(max_length=20, unique=True, editable=False)
    legal_first_name = models.CharField("legal first name", max_length=100)
    legal_last_name = models.CharField("legal last name", max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True, help_text="What they like to be called.")
    pronouns = models.CharField(max_length=40, blank=True, help_text="e.g. she/her, he/him, they/them")
    date_of_birth = models.DateField()
    sex_at_birth = models.CharField(max_length=10, choices=SexAtBirth.choices, blank=True)
    gender_identity = models.CharField(max_length=60, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    phone_digits = models.CharField(max_length=40, blank=True, editable=False, db_index=True)
    email = models.EmailField(blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state / province", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=60, blank=True)
    preferred_contact = models.CharField(
        "preferred contact method", max_length=10, choices=ContactMethod.choices, default=ContactMethod.PHONE
    )
    emergency_contact_name = models.CharField(max_length=150, blank=True)
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)
    emergency_contact_phone = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True, help_text="Administrative notes; clinical notes go in the chart.")
    status = models.CharField(max_length=12, choices=PatientStatus.choices, default=PatientStatus.ACTIVE)
    status_since = models.DateField(default=datetime.date.today)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    is_demo = models.BooleanField(default=False, editable=False, help_text="Synthetic demo record.")

    class Meta:
        ordering = ["legal_last_name", "legal_first_name", "id"]
        indexes = [
            models.Index(fields=["legal_last_name", "legal_first_name"]),
            models.Index(fields=["date_of_birth"]),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.chart_number})"

    def save(self, *args, **kwargs):
        self.phone_digits = digits_only(self.phone)
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        first = self.preferred_name or self.legal_first_name
        return f"{first} {self.legal_last_name}"

    @property
    def legal_name(self) -> str:
        return f"{self.legal_first_name} {self.legal_last_name}"

    def age_on(self, day: datetime.date) -> int:
        before_birthday = (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day)
        return day.year - self.date_of_birth.year - before_birthday


class HealthHistory(PublicIdModel):
    """One version of a patient's intake health history. Never edited: every save is a
    new version, so the chart can show what changed and when, and by whom."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="health_histories")
    version = models.PositiveIntegerField()
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    presenting_complaint = models.TextField(blank=True)
    goals = models.TextField("goals for care", blank=True)
    pain_areas = models.JSONField(default=list, blank=True, help_text="BodyRegion keys")
    conditions = models.JSONField(default=list, blank=True, help_text="Condition keys")
    condition_notes = models.TextField(blank=True)
    # [{"name": str, "dose": str, "blood_thinner": bool}]
    medications = models.JSONField(default=list, blank=True)
    allergies = models.TextField(blank=True)
    allergic_to_oils_or_lotions = models.BooleanField(default=False)
    # [{"what": str, "date": "YYYY-MM-DD" or ""}]
    surgeries = models.JSONField(default=list, blank=True)
    pregnant = models.BooleanField(default=False)
    pregnancy_weeks = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(45)]
    )
    implanted_devices = models.JSONField(default=list, blank=True, help_text="ImplantedDevice keys")
    implanted_devices_notes = models.CharField(max_length=200, blank=True)
    recent_illness_or_fever = models.BooleanField(default=False)
    recent_illness_notes = models.CharField(max_length=200, blank=True)
    pressure_preference = models.CharField(max_length=10, choices=PressurePreference.choices, blank=True)
    areas_to_avoid = models.JSONField(default=list, blank=True, help_text="BodyRegion keys")
    areas_to_avoid_notes = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["patient", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "version"], name="health_history_one_version_number"),
        ]
        verbose_name_plural = "health histories"

    def __str__(self) -> str:
        return f"health history v{self.version}"

    @property
    def on_blood_thinner(self) -> bool:
        return any(m.get("blood_thinner") for m in self.medications)

    @property
    def screening_conditions(self) -> list[str]:
        """Ticked conditions plus those the answers imply today (patients/history.py)."""
        return history.screening_conditions(self, timezone.localdate())


class ConsentDocument(PublicIdModel):
    """A consent form of the practice (treatment consent, privacy notice, ...).

    Its wording lives in versions; a patient signs one version. Publishing a new version
    makes earlier signatures outdated for a required document.
    """

    kind = models.CharField(max_length=12, choices=ConsentKind.choices)
    title = models.CharField(max_length=150, unique=True)
    required = models.BooleanField(default=True, help_text="Every active patient must have signed the current version.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-required", "title"]

    def __str__(self) -> str:
        return self.title


class ConsentDocumentVersion(PublicIdModel):
    """One wording of a consent document. Never edited once published."""

    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    body = models.TextField(help_text="Nature of the treatment, benefits, risks, and the right to refuse.")
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["document", "-version"]
        constraints = [models.UniqueConstraint(fields=["document", "version"], name="consent_one_version_number")]

    def __str__(self) -> str:
        return f"{self.document.title} v{self.version}"


class PatientConsent(PublicIdModel):
    """A patient's consent to one version of a document: typed full name, a tick and the time.

    The typed name is the patient's own (legal or preferred name), or the name of the
    person who signs for them, with their relationship (parent, guardian, legal
    representative) kept in ``signed_by_*``. A version is signed once: while a consent
    stands (not withdrawn), no second one for the same version can exist. Withdrawing
    keeps the record and stamps who withdrew it, when and why; the patient may then sign
    again.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    document_version = models.ForeignKey(ConsentDocumentVersion, on_delete=models.PROTECT, related_name="+")
    typed_name = models.CharField(max_length=200)
    signed_by_name = models.CharField(
        max_length=200, blank=True, help_text="Who signed for the patient; empty when the patient signed."
    )
    signed_by_relationship = models.CharField(
        max_length=12, choices=SignerRelationship.choices, blank=True, help_text="Empty when the patient signed."
    )
    agreed = models.BooleanField()
    signed_at = models.DateTimeField(default=timezone.now)
    captured_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawal_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(agreed=True), name="consent_requires_agreement"),
            models.CheckConstraint(
                condition=models.Q(signed_by_name="", signed_by_relationship="")
                | (~models.Q(signed_by_name="") & ~models.Q(signed_by_relationship="")),
                name="consent_signer_named_with_relationship",
            ),
            models.UniqueConstraint(
                fields=["patient", "document_version"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="consent_one_standing_signature_per_version",
            ),
        ]

    def __str__(self) -> str:
        return f"consent to {self.document_version}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None

    @property
    def signed_for_patient(self) -> bool:
        """Signed by someone else for the patient (a parent, guardian, representative)."""
        return bool(self.signed_by_relationship)
