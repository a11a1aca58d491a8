import hashlib
import secrets
import uuid
import zoneinfo
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from effleura.core.choices import AuditAction, AuditOutcome, Role


class PublicIdModel(models.Model):
    """A record that pages and the API name by an opaque UUID, never by its sequential key.

    Every model whose id appears in a URL or an API answer inherits from this (put it
    first where a Django base class is also a parent, as User does)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True


class Versioned(models.Model):
    """An editable record: its ``version`` counts its writes (1 when created), so a save
    made from a page or an API read of an older version is refused instead of silently
    overwriting the newer one. See core/versions.py."""

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


class User(PublicIdModel, AbstractUser):
    """A member of staff who signs in. Their role decides what they may see and do.

    A user with no role (a new or suspended account) may sign in but sees no records.
    """

    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    credentials = models.CharField(max_length=60, blank=True, help_text="Shown after the name, e.g. LMT, CMT.")
    npi = models.CharField(
        "NPI", max_length=10, blank=True, help_text="The practitioner's own NPI, for superbills and claims."
    )
    is_demo = models.BooleanField(default=False, help_text="Synthetic demo account.")

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        name = self.get_full_name() or self.username
        return f"{name}, {self.credentials}" if self.credentials else name


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Audit events are append-only: they cannot be changed.")

    def delete(self):
        raise PermissionError("Audit events are append-only: they cannot be deleted.")

    # bulk_update goes through update(); refuse it for the same reason.
    def bulk_update(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only: they cannot be changed.")


class AuditEvent(PublicIdModel):
    """One access to patient data or one security event: who, when, what, and the outcome.

    Append-only. The model refuses updates and deletes, and database triggers (see the
    migration) refuse them from any other client too. The actor and patient are kept as
    plain values, not foreign keys, so deleting a user or a record never rewrites history.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=20, blank=True)
    patient_id = models.UUIDField(null=True, blank=True, db_index=True)
    record_type = models.CharField(max_length=60)
    record_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    outcome = models.CharField(max_length=10, choices=AuditOutcome.choices)
    client_address = models.CharField(max_length=64, blank=True)
    # A short machine-made note (permission key, "search", "via API"); never patient data.
    detail = models.CharField(max_length=200, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["patient_id", "at"]), models.Index(fields=["actor_id", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.record_type}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit events are append-only: they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only: they cannot be deleted.")


class AuditSeal(models.Model):
    """One sealed block of the audit trail (core/seals.py, docs/audit.md).

    The block holds every event whose id is above the previous seal's ``last_event_id``
    and at most its own. ``hmac`` is HMAC-SHA256, keyed with settings.EFFLEURA_AUDIT_KEY,
    over this seal's header, a canonical serialization of every field of every event in
    the block, and the previous seal's ``hmac``: changing, removing or adding an event,
    or a seal, breaks it, and nobody without the key can make a new one that verifies.
    ``event_ids`` and ``digests`` (one short keyed digest per event, in id order) let
    verification name the events that changed. Append-only, like the events.
    """

    sequence = models.PositiveBigIntegerField(unique=True)
    # Version of the serialization (core/seals.py FORMAT), so it can evolve.
    format = models.PositiveSmallIntegerField(default=1)
    first_event_id = models.BigIntegerField()
    last_event_id = models.BigIntegerField()
    count = models.PositiveIntegerField()
    sealed_at = models.DateTimeField(default=timezone.now)
    # A fingerprint of the key that made the seal (never the key), so a wrong key is named as such.
    key_id = models.CharField(max_length=16)
    event_ids = models.TextField(help_text="The ids sealed, as ranges: 1-218,220-400.")
    digests = models.TextField(help_text="16 hex characters per event, in id order.")
    previous_hmac = models.CharField(max_length=64, blank=True)
    hmac = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]

    def __str__(self) -> str:
        return f"seal {self.sequence} (events {self.first_event_id}-{self.last_event_id})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit seals are append-only: they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit seals are append-only: they cannot be deleted.")


class AuditSealState(models.Model):
    """The sealer's one row: locked by the sealer (so two workers never seal at once) and,
    on PostgreSQL, the horizon below which every audit event has committed (core/seals.py)."""

    # PostgreSQL: the highest event id seen, and the transactions running when it was seen.
    # Once they have all ended, no event at or below that id can still appear.
    pending_horizon = models.BigIntegerField(default=0)
    pending_transactions = models.JSONField(default=list)
    safe_horizon = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"sealer state (safe up to event {self.safe_horizon})"


class AuditVerification(models.Model):
    """One run of `effleura audit verify` (or of the worker's daily check): who, when, and
    what it found. The owner's audit page shows the latest one."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    by = models.CharField(max_length=150, help_text="The account, or 'worker', or the server's user.")
    ok = models.BooleanField()
    problems = models.PositiveIntegerField(default=0)
    # The first problem in words (ids and counts only: verification never reads out an event).
    summary = models.CharField(max_length=200, blank=True)
    sealed = models.PositiveBigIntegerField(default=0)
    unsealed = models.PositiveBigIntegerField(default=0)
    last_seal_sequence = models.PositiveBigIntegerField(null=True, blank=True)
    last_seal_hmac = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'problems'}"


def hash_token(raw: str) -> str:
    # Tokens are 256-bit random strings, so a fast hash is enough: there is nothing to
    # brute-force, unlike a password.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(PublicIdModel):
    """A personal API token. Only its hash is stored; the token is shown once at creation."""

    PREFIX = "eff_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def new_raw_token(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)


def default_time_zone() -> str:
    return settings.TIME_ZONE


def default_phone_region() -> str:
    return settings.EFFLEURA_PHONE_REGION


def validate_time_zone_name(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a time zone we know. Use a region/city name, e.g. America/Chicago.")


def validate_phone_region(value: str) -> None:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(f"“{value}” is not a country code for phone numbers. Use two letters, e.g. US or CA.")


class Practice(Versioned):
    """The practice itself: its name and how to reach it, shown on every page and on
    letterheads, receipts and superbills, and the practice-wide settings (time zone,
    decimal separator, the largest amount, when a visit may start, phone numbers' country).
    One row; the owner edits it."""

    DECIMAL_POINT = "."
    DECIMAL_COMMA = ","
    DECIMAL_SEPARATORS = [(DECIMAL_POINT, "Point: 1,234.56"), (DECIMAL_COMMA, "Comma: 1.234,56")]

    name = models.CharField(max_length=150)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state / province", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=60, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    fax = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    tax_id = models.CharField(
        "tax ID", max_length=20, blank=True, help_text="EIN or SSN the practice bills under (superbills, claims)."
    )
    npi = models.CharField("NPI", max_length=10, blank=True, help_text="The practice's (group) NPI.")
    time_zone = models.CharField(
        max_length=60,
        default=default_time_zone,
        validators=[validate_time_zone_name],
        help_text="Times not tied to a location (signatures, the audit trail, reports) are shown in this zone, "
        "e.g. America/Chicago.",
    )
    decimal_separator = models.CharField(
        max_length=1,
        choices=DECIMAL_SEPARATORS,
        default=DECIMAL_POINT,
        help_text="How amounts are typed and shown in forms: 95.00 or 95,00.",
    )
    largest_amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("1000000.00"),
        validators=[MinValueValidator(Decimal("1.00"))],
        help_text="No single payment, charge or fee may be larger than this.",
    )
    start_window_minutes = models.PositiveSmallIntegerField(
        "start a visit from (minutes before)",
        default=30,
        validators=[MaxValueValidator(24 * 60)],
        help_text="A visit can be started this many minutes before its booked start, not earlier.",
    )
    phone_region = models.CharField(
        "country for phone numbers",
        max_length=2,
        default=default_phone_region,
        validators=[validate_phone_region],
        help_text="Phone numbers typed without a +country code are read as this country's, e.g. US.",
    )
    is_demo = models.BooleanField(default=False, editable=False, help_text="Holds the synthetic demo clinic.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self):
        return zoneinfo.ZoneInfo(self.time_zone)

    @classmethod
    def current(cls) -> "Practice":
        """The practice row, or an unsaved one named from EFFLEURA_PRACTICE_NAME before set-up."""
        return cls.objects.order_by("pk").first() or cls(name=settings.EFFLEURA_PRACTICE_NAME)
