"""Patients' insurance policies and the claims sent to their payers."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from effleura.billing.choices import ClaimStatus, IllnessQualifier, Priority, Relationship
from effleura.billing.models.catalog import Payer
from effleura.billing.models.money import currency_field, money_field
from effleura.core.models import PublicIdModel, Versioned
from effleura.patients.models import Patient


class Policy(PublicIdModel, Versioned):
    """A patient's insurance with one payer: the card's member and group numbers, who the
    subscriber is, and whether it pays first, second or third."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="policies")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="policies")
    member_id = models.CharField("member ID", max_length=40)
    group_number = models.CharField(max_length=40, blank=True)
    plan_name = models.CharField(max_length=100, blank=True)
    relationship = models.CharField(
        "patient's relationship to the subscriber",
        max_length=8,
        choices=Relationship.choices,
        default=Relationship.SELF,
    )
    # The subscriber (the insured, CMS-1500 boxes 4, 7, 11): the patient when relationship is self.
    subscriber_first_name = models.CharField(max_length=100, blank=True)
    subscriber_last_name = models.CharField(max_length=100, blank=True)
    subscriber_date_of_birth = models.DateField(null=True, blank=True)
    subscriber_address_line1 = models.CharField(max_length=200, blank=True)
    subscriber_city = models.CharField(max_length=100, blank=True)
    subscriber_region = models.CharField(max_length=100, blank=True)
    subscriber_postal_code = models.CharField(max_length=20, blank=True)
    subscriber_phone = models.CharField(max_length=40, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.PRIMARY)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["patient", "priority", "id"]
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "priority"], condition=Q(is_active=True), name="policy_one_active_per_priority"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_until__gte=F("valid_from")),
                name="policy_valid_until_after_from",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payer_id} {self.get_priority_display()}"


class Claim(PublicIdModel, Versioned):
    """A claim to a payer for one visit's charge under one of the patient's policies
    (CMS-1500 02/12). Status moves draft → submitted → paid or denied (with the reason) →
    resubmitted → paid or denied; every move is kept as a ClaimEvent. The condition facts
    (boxes 10a–c, 14) are edited before submitting, with the version checked."""

    charge = models.ForeignKey("billing.Charge", on_delete=models.PROTECT, related_name="claims")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="claims")
    status = models.CharField(max_length=12, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT)
    billed_amount = money_field()
    paid_amount = money_field(null=True, blank=True)
    currency = currency_field()
    payer_claim_number = models.CharField(max_length=40, blank=True, help_text="The payer's reference, once known.")
    denial_reason = models.TextField(blank=True)
    submitted_on = models.DateField(null=True, blank=True)
    resubmissions = models.PositiveSmallIntegerField(default=0)
    # Box 10: is the patient's condition related to employment (10a), an auto accident
    # (10b, with the state it happened in) or another accident (10c)?
    employment_related = models.BooleanField(default=False)
    auto_accident = models.BooleanField(default=False)
    accident_state = models.CharField(max_length=2, blank=True)
    other_accident = models.BooleanField(default=False)
    # Box 14: the date of the current illness or injury, and what that date is.
    illness_date = models.DateField(null=True, blank=True)
    illness_qualifier = models.CharField(max_length=3, choices=IllnessQualifier.choices, blank=True)
    # Box 24B on every line: where the visit was given (a CMS place-of-service code), the
    # location's default when the claim is made; changed here for one visit (a home visit).
    place_of_service = models.CharField(max_length=2, default="11")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(billed_amount__gte=0), name="claim_billed_not_negative"),
            models.CheckConstraint(
                condition=Q(paid_amount__isnull=True) | Q(paid_amount__gte=0), name="claim_paid_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(status=ClaimStatus.DENIED) | ~Q(denial_reason=""), name="claim_denied_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"claim {self.public_id}"


class ClaimEvent(models.Model):
    """One move of a claim's status, who made it and why."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=12, choices=ClaimStatus.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.status} {self.at:%Y-%m-%d}"
