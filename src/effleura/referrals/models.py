"""Referring providers, referrals (prescriptions) with their authorization, and the
reports that go back to the referring provider."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from effleura.core.models import PublicIdModel, Versioned
from effleura.patients.models import Patient
from effleura.referrals.choices import DeliveryMethod, ReportKind, ReportStatus, ScanSuperseded


class ReferringProvider(PublicIdModel, Versioned):
    """A physician or other prescriber who refers patients and receives reports."""

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    credentials = models.CharField(max_length=60, blank=True, help_text="e.g. MD, DO, NP, PA-C, DC")
    practice_name = models.CharField(max_length=150, blank=True)
    npi = models.CharField("NPI", max_length=10, blank=True, help_text="10 digits, checked with its check digit.")
    phone = models.CharField(max_length=40, blank=True)
    fax = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state / province", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    is_active = models.BooleanField(default=True)
    is_demo = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["npi"], condition=~Q(npi=""), name="referring_provider_npi_unique"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}"
        return f"{name}, {self.credentials}" if self.credentials else name


class Referral(PublicIdModel, Versioned):
    """A referral or prescription for massage: diagnosis, what is asked for, how many visits
    are authorized and until when, the prescriber's precautions, and the scanned original.

    Visits used are the patient's completed appointments from valid_from to valid_until
    (referrals/authorization.py)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals")
    provider = models.ForeignKey(ReferringProvider, on_delete=models.PROTECT, related_name="referrals")
    episode = models.ForeignKey(
        "clinical.Episode", on_delete=models.SET_NULL, null=True, blank=True, related_name="referrals"
    )
    referral_date = models.DateField(help_text="The date the prescriber signed it.")
    diagnosis_codes = models.JSONField(default=list)
    reason = models.TextField(blank=True)
    sessions_per_week = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(7)]
    )
    weeks = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(104)]
    )
    visits_authorized = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(500)])
    valid_from = models.DateField()
    valid_until = models.DateField()
    authorization_number = models.CharField(max_length=60, blank=True, help_text="The insurer's, if any.")
    precautions = models.TextField(blank=True, help_text="The prescriber's precautions, in their words.")
    # The scanned original: stored under MEDIA_ROOT (outside the web root), served only by
    # referrals' own view after the permission check, and audited.
    original = models.FileField(upload_to="referrals/%Y/%m/", blank=True)
    original_name = models.CharField(max_length=200, blank=True)
    original_type = models.CharField(max_length=60, blank=True)
    original_size = models.PositiveIntegerField(null=True, blank=True)
    is_closed = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-referral_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")), name="referral_valid_until_after_from"
            ),
        ]

    def __str__(self) -> str:
        return f"referral of {self.referral_date}"


class EarlierScan(PublicIdModel):
    """A scanned original that was replaced or removed. Uploads are kept, never deleted:
    the file stays in storage and this row keeps what the referral showed of it, so the
    earlier versions of a referral's scan can still be read (by those who may see the
    referral, audited). Never edited; written only by referrals/referral_actions.py."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="earlier_scans")
    file = models.FileField(upload_to="referrals/%Y/%m/")
    name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=60, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True)
    why = models.CharField(max_length=8, choices=ScanSuperseded.choices)
    superseded_at = models.DateTimeField(default=timezone.now)
    superseded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-superseded_at", "-id"]

    def __str__(self) -> str:
        return f"earlier scan of {self.superseded_at:%Y-%m-%d}"


class Report(PublicIdModel, Versioned):
    """A progress report or discharge summary for the referring provider.

    ``content`` holds the sections generated from the plan, notes and measures for the
    period (visits, techniques, measures with MCID status, goals); the therapist edits the
    narrative fields and signs. A signed report is frozen and rendered to PDF as signed.
    """

    kind = models.CharField(max_length=10, choices=ReportKind.choices, default=ReportKind.PROGRESS)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, null=True, blank=True, related_name="reports")
    episode = models.ForeignKey("clinical.Episode", on_delete=models.PROTECT, related_name="reports")
    period_start = models.DateField()
    period_end = models.DateField()
    content = models.JSONField(default=dict)
    summary = models.TextField(blank=True)
    recommendations = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="report_period_in_order"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start}–{self.period_end}"


class ReportDelivery(models.Model):
    """How a signed report reached the provider: emailed (with the PDF), faxed, handed over."""

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="deliveries")
    method = models.CharField(max_length=8, choices=DeliveryMethod.choices)
    to = models.CharField(max_length=200, help_text="Email address, fax number or person.")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When the email left (email only).")
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.method} {self.at:%Y-%m-%d}"
