from django.db import models


class UnitMethod(models.TextChoices):
    """How a payer counts timed units (billing/units.py)."""

    CMS = "cms", "CMS 8-minute rule (total timed minutes)"
    PER_CODE = "per_code", "Each code counted alone"


class PlanType(models.TextChoices):
    """The kind of insurance a payer offers (CMS-1500 box 1)."""

    MEDICARE = "medicare", "Medicare"
    MEDICAID = "medicaid", "Medicaid"
    TRICARE = "tricare", "TRICARE"
    CHAMPVA = "champva", "CHAMPVA"
    GROUP = "group", "Group health plan"
    FECA = "feca", "FECA / Black lung"
    OTHER = "other", "Other"


class Relationship(models.TextChoices):
    """The patient's relationship to the policy's subscriber (CMS-1500 box 6)."""

    SELF = "self", "Self"
    SPOUSE = "spouse", "Spouse"
    CHILD = "child", "Child"
    OTHER = "other", "Other"


class Priority(models.TextChoices):
    PRIMARY = "primary", "Primary"
    SECONDARY = "secondary", "Secondary"
    TERTIARY = "tertiary", "Tertiary"


class ChargeStatus(models.TextChoices):
    """A visit's charge: open until it is invoiced (or covered by a package), or void."""

    OPEN = "open", "Not invoiced yet"
    INVOICED = "invoiced", "Invoiced"
    PACKAGE = "package", "Covered by a package"
    VOID = "void", "Void"


class InvoiceKind(models.TextChoices):
    VISIT = "visit", "One visit"
    PERIOD = "period", "A period"
    PACKAGE = "package", "Package sale"


class InvoiceStatus(models.TextChoices):
    """Stored state; "paid" and "partly paid" are read from the payments (billing/balances.py)."""

    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    VOID = "void", "Void"


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    CHEQUE = "cheque", "Cheque"
    TRANSFER = "transfer", "Bank transfer"


class PaymentKind(models.TextChoices):
    PAYMENT = "payment", "Payment"
    REFUND = "refund", "Refund"


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    PAID = "paid", "Paid"
    DENIED = "denied", "Denied"
    RESUBMITTED = "resubmitted", "Resubmitted"


class PackageStatus(models.TextChoices):
    """Stored state of a package; "used up" and "expired" are read from uses and dates."""

    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"


class IllnessQualifier(models.TextChoices):
    """CMS-1500 box 14's qualifier: what the date of the current illness or injury is."""

    ONSET = "431", "Onset of current symptoms or illness (or the injury)"
    LMP = "484", "Last menstrual period"
