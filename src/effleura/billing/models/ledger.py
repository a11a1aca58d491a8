"""The ledger: a charge per visit (from its signed note), invoices, payments and how
payments are applied to invoices.

Balances are read, never stored (billing/balances.py): an invoice's paid amount is the sum
of its allocations; a patient's credit is what they paid less refunds less what was
applied to invoices. So invoiced = paid + outstanding holds by construction and the tests
prove it.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from effleura.billing.choices import ChargeStatus, InvoiceKind, InvoiceStatus, PaymentKind, PaymentMethod, UnitMethod
from effleura.billing.models.catalog import Payer, ProcedureCode
from effleura.billing.models.insurance import Policy
from effleura.billing.models.money import currency_field, money_field
from effleura.core.models import PublicIdModel, Versioned
from effleura.patients.models import Patient


class Charge(PublicIdModel):
    """What one visit costs: made when its session note is signed, one line per procedure
    code with its minutes and units (by the payer's unit method) and its price from the
    fee schedule. Billing staff or the therapist may adjust it, with a reason, until it is
    invoiced; every adjustment is kept (ChargeAdjustment)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="charges")
    note = models.OneToOneField(
        "clinical.SessionNote", on_delete=models.PROTECT, null=True, blank=True, related_name="charge"
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, null=True, blank=True, related_name="charges"
    )
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="charges")
    service = models.ForeignKey("scheduling.Service", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    location = models.ForeignKey(
        "scheduling.Location", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    date_of_service = models.DateField()
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, null=True, blank=True, related_name="charges")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, null=True, blank=True, related_name="charges")
    unit_method = models.CharField(max_length=10, choices=UnitMethod.choices, default=UnitMethod.CMS)
    # ICD-10-CM codes in pointer order (A, B, C, ...; at most 12 on a CMS-1500).
    diagnosis_codes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=ChargeStatus.choices, default=ChargeStatus.OPEN)
    total = money_field(default=0)
    currency = currency_field()
    notes = models.CharField(max_length=200, blank=True, help_text="e.g. a technique with no code.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    void_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-date_of_service", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="charge_total_not_negative"),
            models.CheckConstraint(
                condition=~Q(status=ChargeStatus.VOID) | ~Q(void_reason=""), name="charge_void_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["date_of_service"]),
            models.Index(fields=["practitioner", "date_of_service"]),
            # Visits not invoiced yet (the desk's count, the charges list): the open ones only.
            models.Index(fields=["date_of_service", "id"], name="charge_open", condition=Q(status=ChargeStatus.OPEN)),
        ]

    def __str__(self) -> str:
        return f"charge {self.date_of_service}"


class ChargeLine(models.Model):
    """One procedure code on a charge: the minutes behind it, the units the rule gave
    (``computed_units``), the units billed (``units``, different after an adjustment), the
    price per unit and the amount."""

    charge = models.ForeignKey(Charge, on_delete=models.CASCADE, related_name="lines")
    code = models.ForeignKey(ProcedureCode, on_delete=models.PROTECT, related_name="+")
    minutes = models.PositiveSmallIntegerField(default=0)
    computed_units = models.PositiveSmallIntegerField(default=0)
    units = models.PositiveSmallIntegerField(validators=[MaxValueValidator(99)])
    unit_price = money_field()
    amount = money_field()
    # Letters A–L into the charge's diagnosis_codes (CMS-1500 box 24E), e.g. "AB".
    diagnosis_pointer = models.CharField(max_length=4, blank=True)
    techniques = models.JSONField(default=list, blank=True, help_text="The technique keys billed as this code.")

    class Meta:
        ordering = ["charge", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="charge_line_price_not_negative"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="charge_line_amount_not_negative"),
            models.UniqueConstraint(fields=["charge", "code"], name="charge_line_code_once"),
        ]

    def __str__(self) -> str:
        return f"{self.code_id} × {self.units}"


class ChargeAdjustment(models.Model):
    """A change to a charge's lines, with who, when and why, and the lines before and after."""

    charge = models.ForeignKey(Charge, on_delete=models.CASCADE, related_name="adjustments")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    before = models.JSONField(default=list)
    after = models.JSONField(default=list)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="charge_adjustment_has_reason")]

    def __str__(self) -> str:
        return f"adjustment {self.at:%Y-%m-%d}"


class Invoice(PublicIdModel, Versioned):
    """A bill to the patient: for one visit, a period's visits, or a package sale. Its lines
    are copied from the charges when it is issued, so the invoice never changes after; it
    is voided (with a reason) rather than edited."""

    number = models.CharField(max_length=20, unique=True, help_text="e.g. 2026-00042, in order of issue.")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(max_length=8, choices=InvoiceKind.choices, default=InvoiceKind.VISIT)
    status = models.CharField(max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    issued_on = models.DateField(default=timezone.localdate)
    due_on = models.DateField(null=True, blank=True)
    total = money_field(default=0)
    currency = currency_field()
    notes = models.TextField(blank=True)
    void_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # A hint for finding what is owed without reading every invoice ever issued, never a
    # balance (decision 0028): True once live allocations cover the total (payments.py
    # _allocate), False again when a payment on it is voided. Pages still compute what is
    # owed from the allocations (billing/balances.py), so a row left False (the default, in
    # the database too, so a bulk load that names no value leaves it) is only looked at,
    # never shown wrong.
    settled = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="invoice_total_not_negative"),
            models.CheckConstraint(
                condition=Q(period_start__isnull=True)
                | Q(period_end__isnull=True)
                | Q(period_end__gte=F("period_start")),
                name="invoice_period_in_order",
            ),
            models.CheckConstraint(
                condition=~Q(status=InvoiceStatus.VOID) | ~Q(void_reason=""), name="invoice_void_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["issued_on"]),
            # The billing desk's outstanding invoices, oldest first: only issued invoices not
            # known to be paid, however many years of paid ones lie behind them.
            models.Index(
                fields=["issued_on", "id"],
                name="invoice_maybe_owing",
                condition=Q(status=InvoiceStatus.ISSUED, settled=False),
            ),
        ]

    def __str__(self) -> str:
        return f"invoice {self.number}"


class InvoiceLine(models.Model):
    """A line of an invoice, copied when it is issued: a procedure code of a visit's charge,
    or a package sold."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice_lines")
    package = models.ForeignKey(
        "billing.Package", on_delete=models.PROTECT, null=True, blank=True, related_name="invoice_lines"
    )
    date_of_service = models.DateField(null=True, blank=True)
    code = models.CharField(max_length=5, blank=True)
    description = models.CharField(max_length=200)
    units = models.PositiveSmallIntegerField(default=1)
    amount = money_field()

    class Meta:
        ordering = ["invoice", "date_of_service", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="invoice_line_amount_not_negative")]

    def __str__(self) -> str:
        return self.description


class Payment(PublicIdModel):
    """Money in (a payment) or out (a refund), from or to the patient, or from a payer for a
    claim. No card processing: the desk records what the terminal took."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="payments")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, null=True, blank=True, related_name="payments")
    kind = models.CharField(max_length=8, choices=PaymentKind.choices, default=PaymentKind.PAYMENT)
    method = models.CharField(max_length=8, choices=PaymentMethod.choices)
    amount = money_field(help_text="Always positive; a refund is money out.")
    currency = currency_field()
    received_on = models.DateField(default=timezone.localdate)
    reference = models.CharField(max_length=60, blank=True, help_text="Cheque number, card slip, transfer reference.")
    note = models.CharField(max_length=200, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # A payment entered in error is voided, never deleted: it stays in the ledger with who
    # voided it, when and why, and balances, the desk and reports leave it out (LIVE).
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.CharField(max_length=200, blank=True)

    # The payments that count: not void. Allocations of a void payment count for nothing.
    LIVE = Q(voided_at__isnull=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True, voided_by__isnull=True, void_reason="")
                | (Q(voided_at__isnull=False, voided_by__isnull=False) & ~Q(void_reason="")),
                name="payment_void_who_when_why",
            ),
        ]
        indexes = [models.Index(fields=["received_on"])]

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"


class PaymentAllocation(models.Model):
    """Part of a payment applied to an invoice. What is not applied is the patient's credit."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = money_field()
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} to {self.invoice_id}"
