"""Packages: N prepaid sessions sold together, used up one visit at a time before they expire."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from effleura.billing.choices import PackageStatus
from effleura.billing.models.money import currency_field, money_field
from effleura.core.models import PublicIdModel, Versioned
from effleura.patients.models import Patient


class PackagePlan(PublicIdModel, Versioned):
    """What the practice sells, e.g. "10 × 60-minute clinical massage, valid a year"."""

    name = models.CharField(max_length=120)
    sessions = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(100)])
    price = money_field()
    currency = currency_field()
    valid_days = models.PositiveSmallIntegerField(
        default=365, validators=[MinValueValidator(1), MaxValueValidator(1830)], help_text="Days from purchase."
    )
    service = models.ForeignKey(
        "scheduling.Service",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Only visits for this service use it; any service when blank.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="package_plan_price_not_negative"),
            models.CheckConstraint(condition=Q(sessions__gte=1), name="package_plan_sessions_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Package(PublicIdModel):
    """A package a patient bought: how many sessions, what was paid, when it expires. What
    is left is sessions less its uses (billing/packages.py)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="packages")
    plan = models.ForeignKey(PackagePlan, on_delete=models.PROTECT, null=True, blank=True, related_name="packages")
    name = models.CharField(max_length=120)
    service = models.ForeignKey("scheduling.Service", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    sessions = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(100)])
    price = money_field()
    currency = currency_field()
    purchased_on = models.DateField(default=timezone.localdate)
    expires_on = models.DateField()
    status = models.CharField(max_length=10, choices=PackageStatus.choices, default=PackageStatus.ACTIVE)
    cancel_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-purchased_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="package_price_not_negative"),
            models.CheckConstraint(condition=Q(sessions__gte=1), name="package_sessions_positive"),
            models.CheckConstraint(
                condition=Q(expires_on__gte=F("purchased_on")), name="package_expires_after_purchase"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PackageUse(models.Model):
    """One session of a package, used by one visit's charge."""

    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="uses")
    charge = models.OneToOneField("billing.Charge", on_delete=models.PROTECT, related_name="package_use")
    used_on = models.DateField()
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["used_on", "id"]

    def __str__(self) -> str:
        return f"use {self.used_on}"
