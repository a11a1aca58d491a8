from django.db import models


class ReportKind(models.TextChoices):
    PROGRESS = "progress", "Progress report"
    DISCHARGE = "discharge", "Discharge summary"


class ReportStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


class DeliveryMethod(models.TextChoices):
    EMAIL = "email", "Emailed"
    FAX = "fax", "Faxed"
    HAND = "hand", "Handed over"
    POST = "post", "Posted"


class AuthorizationState(models.TextChoices):
    """Where a referral's authorization stands (referrals/authorization.py)."""

    NOT_YET_VALID = "not_yet_valid", "Not valid yet"
    ACTIVE = "active", "Active"
    RUNNING_OUT = "running_out", "Running out"
    USED_UP = "used_up", "All visits used"
    EXPIRED = "expired", "Expired"


class ScanSuperseded(models.TextChoices):
    """Why a scanned original is an earlier version now (referrals.models.EarlierScan)."""

    REPLACED = "replaced", "Replaced by a newer scan"
    REMOVED = "removed", "Removed from the referral"
