"""The practice's procedure-code catalog, which technique maps to which code, payers and the
fee schedule."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from effleura.billing import modifiers
from effleura.billing.choices import PlanType, UnitMethod
from effleura.billing.models.money import currency_field, money_field
from effleura.core.models import PublicIdModel, Versioned


class ProcedureCode(PublicIdModel, Versioned):
    """A CPT or HCPCS code the practice bills: timed (15-minute units) or untimed (once per
    visit). Seeded from billing/knowledge/codes.yaml; the practice adds and retires codes."""

    code = models.CharField(max_length=5, unique=True)
    description = models.CharField(max_length=200)
    timed = models.BooleanField(help_text="Billed in 15-minute units (8-minute rule); untimed: once per visit.")
    is_active = models.BooleanField(default=True)
    is_bundled = models.BooleanField(default=False, editable=False, help_text="From Effleura's bundled catalog.")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class CodePairsField(models.JSONField):
    """A JSON list of code pairs ({"code", "billed_with", "modifier"}), read back as
    billing.modifiers.CodePair items, which print as the set-up page writes them."""

    def from_db_value(self, value, expression, connection):
        return modifiers.as_pairs(super().from_db_value(value, expression, connection))


class Payer(PublicIdModel, Versioned):
    """An insurer or other third party that pays for care, and how it counts units."""

    name = models.CharField(max_length=150)
    payer_id = models.CharField("payer ID", max_length=20, blank=True, help_text="The electronic payer ID, if any.")
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state / province", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    unit_method = models.CharField(max_length=10, choices=UnitMethod.choices, default=UnitMethod.CMS)
    plan_type = models.CharField(
        "insurance type", max_length=10, choices=PlanType.choices, default=PlanType.GROUP, help_text="CMS-1500 box 1."
    )
    # The modifiers this payer requires on every service line (box 24D), e.g. "GP": services
    # under a therapy plan of care. Up to four, space-separated.
    line_modifiers = models.CharField(max_length=11, blank=True)
    # The code pairs this payer bundles unless a distinct-service modifier is on one of them
    # (NCCI procedure-to-procedure edits): [{"code": "97140", "billed_with": "97530",
    # "modifier": "59"}]: 97140's line gets 59 when 97530 is billed the same date
    # (billing/modifiers.py). The practice enters what the payer publishes.
    pair_modifiers = CodePairsField("modifiers for code pairs", default=list, blank=True)
    is_active = models.BooleanField(default=True)
    is_demo = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["name"], name="payer_name_unique")]

    def __str__(self) -> str:
        return self.name


class TechniqueCode(models.Model):
    """Which code a technique or modality (a clinical/knowledge/techniques.yaml key) bills
    as. A row with a payer overrides the practice-wide row for that payer (Medicare wants
    G0283 where others take 97014)."""

    technique = models.CharField(max_length=40)
    payer = models.ForeignKey(Payer, on_delete=models.CASCADE, null=True, blank=True, related_name="code_mappings")
    code = models.ForeignKey(ProcedureCode, on_delete=models.PROTECT, related_name="technique_mappings")

    class Meta:
        ordering = ["technique", "payer__name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["technique"], condition=Q(payer__isnull=True), name="technique_code_unique"
            ),
            models.UniqueConstraint(
                fields=["technique", "payer"], condition=Q(payer__isnull=False), name="technique_code_payer_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.technique} → {self.code_id}"


class FeeScheduleEntry(PublicIdModel, Versioned):
    """A price: per unit of a code, or per visit of a service; the practice's standard price
    (no payer) or a payer's. A service's price may be for one visit length (``minutes``: a
    30-minute visit costs less than a 90-minute one) or, without minutes, for any length."""

    payer = models.ForeignKey(Payer, on_delete=models.CASCADE, null=True, blank=True, related_name="fees")
    code = models.ForeignKey(ProcedureCode, on_delete=models.CASCADE, null=True, blank=True, related_name="fees")
    service = models.ForeignKey(
        "scheduling.Service", on_delete=models.CASCADE, null=True, blank=True, related_name="fees"
    )
    minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For a service: the visit length this price is for; empty: any length."
    )
    amount = money_field(help_text="Per unit for a code; per visit for a service.")
    currency = currency_field()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["payer__name", "code__code", "service__name", "minutes", "id"]
        verbose_name_plural = "fee schedule entries"
        constraints = [
            models.CheckConstraint(
                condition=(Q(code__isnull=False) & Q(service__isnull=True))
                | (Q(code__isnull=True) & Q(service__isnull=False)),
                name="fee_code_or_service",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="fee_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(minutes__isnull=True) | (Q(service__isnull=False) & Q(minutes__gt=0)),
                name="fee_minutes_for_a_service",
            ),
            models.UniqueConstraint(
                fields=["code"], condition=Q(payer__isnull=True, code__isnull=False), name="fee_standard_code_unique"
            ),
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(payer__isnull=True, service__isnull=False, minutes__isnull=True),
                name="fee_standard_service_unique",
            ),
            models.UniqueConstraint(
                fields=["service", "minutes"],
                condition=Q(payer__isnull=True, minutes__isnull=False),
                name="fee_standard_service_length_unique",
            ),
            models.UniqueConstraint(
                fields=["payer", "code"],
                condition=Q(payer__isnull=False, code__isnull=False),
                name="fee_payer_code_unique",
            ),
            models.UniqueConstraint(
                fields=["payer", "service"],
                condition=Q(payer__isnull=False, service__isnull=False, minutes__isnull=True),
                name="fee_payer_service_unique",
            ),
            models.UniqueConstraint(
                fields=["payer", "service", "minutes"],
                condition=Q(payer__isnull=False, minutes__isnull=False),
                name="fee_payer_service_length_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code_id or self.service_id}: {self.amount} {self.currency}"
