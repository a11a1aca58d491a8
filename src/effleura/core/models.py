import datetime
import hashlib
import secrets
import uuid
import zoneinfo
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from effleura.core.choices import AuditAction, AuditOutcome, Role
from effleura.core.ids import time_ordered_uuid


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


class StaffManager(UserManager):
    """Django's user manager, whose ``create_superuser`` (``effleura createsuperuser``)
    makes an **owner**: what an account may do is its role, and a superuser without one
    could sign in but not open the Staff page to give itself a role (there is no Django
    admin, decision 0011). Created through core.actions.do_save_staff, so it is audited
    like the demo's first owner: no actor, client address "cli"."""

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        from effleura.core import actions, audit  # they import this module

        fields = {
            "username": self.model.normalize_username(username),
            "email": self.normalize_email(email),
            "role": Role.OWNER,
            "is_staff": True,
            "is_superuser": True,
            "is_active": True,
            **extra_fields,
        }
        token = audit.client_address.set("cli")  # only the createsuperuser command calls this
        try:
            return actions.do_save_staff(AnonymousUser(), user=None, fields=fields, password=password)
        finally:
            audit.client_address.reset(token)


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

    objects = StaffManager()

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

    # Time-ordered (UUID version 7): new events' ids fall together in the unique index.
    public_id = models.UUIDField(default=time_ordered_uuid, unique=True, editable=False)
    at = models.DateTimeField(default=timezone.now)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=20, blank=True)
    patient_id = models.UUIDField(null=True, blank=True)
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
        # Each read of the trail walks one of these in (at, id) order and stops after a page
        # (docs/decisions/0027): the whole trail, one patient (the access report), one
        # member of staff; the partial ones hold only the rare rows their reader wants
        # (refusals, lockouts, unlocks, changes, reset requests, registrations), so the
        # read events that make up the trail pay for three indexes besides the keys.
        indexes = [
            models.Index(fields=["at", "id"], name="core_audit_at_id"),
            models.Index(fields=["patient_id", "at", "id"], name="core_audit_patient_at_id"),
            models.Index(fields=["actor_id", "at", "id"], name="core_audit_actor_at_id"),
            models.Index(fields=["at", "id"], condition=models.Q(outcome="denied"), name="core_audit_denied_at_id"),
            models.Index(
                fields=["actor_id", "at", "id"], condition=models.Q(outcome="denied"), name="core_audit_denied_actor"
            ),
            models.Index(fields=["at", "id"], condition=models.Q(action="lockout"), name="core_audit_lockout_at_id"),
            models.Index(fields=["at", "id"], condition=models.Q(action="unlock"), name="core_audit_unlock_at_id"),
            # One per action: SQLite uses a partial index only for a condition the query
            # states as such, and "action IN (?, ?)" with parameters is not one.
            models.Index(
                fields=["record_id", "at", "id"], condition=models.Q(action="update"), name="core_audit_update_record"
            ),
            models.Index(
                fields=["record_id", "at", "id"], condition=models.Q(action="create"), name="core_audit_create_record"
            ),
            models.Index(
                fields=["at", "id"], condition=models.Q(record_type="password_reset"), name="core_audit_reset_at_id"
            ),
            models.Index(
                fields=["actor_id"],
                condition=models.Q(action="create", record_type="patient"),
                name="core_audit_registered_by",
            ),
        ]
        # Ids are positive, so the sealer's ranges and the append-only triggers (which on
        # SQLite see -1 as the id of a row whose id SQLite picks) cover every row.
        constraints = [models.CheckConstraint(condition=models.Q(id__gt=0), name="core_auditevent_id_positive")]

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
        constraints = [models.CheckConstraint(condition=models.Q(id__gt=0), name="core_auditseal_id_positive")]

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
    # The chain's tip: the newest seal the sealer made, under an HMAC (EFFLEURA_AUDIT_KEY).
    # The sealer refuses to seal when the newest seal is not this one (seals removed so
    # that rewritten events get sealed again), and verify() reports it.
    tip_sequence = models.BigIntegerField(default=0)
    tip_hmac = models.CharField(max_length=64, blank=True)
    tip_last_event_id = models.BigIntegerField(default=0)
    tip_mac = models.CharField(max_length=64, blank=True)
    # The newest verification record's mac, under its own HMAC (so a removed newest
    # record shows; verify() never re-keys the seal tip above).
    verification_tip = models.CharField(max_length=64, blank=True)
    verification_tip_mac = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"sealer state (safe up to event {self.safe_horizon})"


class AuditVerification(models.Model):
    """One run of `effleura audit verify` (or of the worker's daily check): who, when, and
    what it found. The owner's audit page shows the latest one. Append-only and keyed."""

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
    # HMAC (EFFLEURA_AUDIT_KEY) over the fields above and the previous record's mac: a
    # forged, altered or removed record shows (core/seals.py). Append-only, like the seals.
    previous_mac = models.CharField(max_length=64, blank=True)
    mac = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(id__gt=0), name="core_auditverification_id_positive")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'problems'}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit verifications are append-only: they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit verifications are append-only: they cannot be deleted.")


def hash_token(raw: str) -> str:
    # Tokens are 256-bit random strings, so a fast hash is enough: there is nothing to
    # brute-force, unlike a password.
    return hashlib.sha256(raw.encode()).hexdigest()


def default_token_expiry():
    return timezone.now() + datetime.timedelta(days=settings.EFFLEURA_API_TOKEN_DAYS)


class ApiToken(PublicIdModel):
    """A personal API token. Only its hash is stored; the token is shown once at creation.

    It works until ``expires_at`` (EFFLEURA_API_TOKEN_DAYS after it was made) unless revoked
    first: by hand, or when its owner's password is reset or the account is deactivated
    (``revoked_reason`` says which). A ``read_only`` token may only read (GET, HEAD, OPTIONS).
    """

    PREFIX = "eff_"
    READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=40, blank=True, help_text="Why it was revoked, e.g. password reset.")
    expires_at = models.DateTimeField(default=default_token_expiry)
    read_only = models.BooleanField(default=False, help_text="May only read (GET), never change anything.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    def allows(self, method: str) -> bool:
        """May this token make a request with this HTTP method?"""
        return not self.read_only or method.upper() in self.READ_METHODS

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
    care_team_only = models.BooleanField(
        "limit therapists to their care team",
        default=False,
        help_text="A therapist then sees only the patients they registered, have an appointment with or an "
        "episode of care for; anyone else's chart needs a stated reason (emergency access), audited and shown "
        "to the owner. Owners, front desk and billing are not limited.",
    )
    # Which roles must sign in with a second factor (core/mfa.py): a list of Role values.
    mfa_required_roles = models.JSONField(
        "roles that must use two-factor sign-in",
        default=list,
        blank=True,
        help_text="People in these roles sign in with a code from an authenticator app or a passkey as well as "
        "their password; those without one set it up at their next sign-in.",
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


class BreakGlass(PublicIdModel):
    """A therapist limited to their care team opened another patient's chart ("break the
    glass", core/careteam.py): who, which patient, why, and until when this session may.
    The reason is kept here, never in the audit trail (whose event names this record)."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    # A plain value, as in AuditEvent: core knows no patient model.
    patient_id = models.UUIDField(db_index=True)
    reason = models.TextField()
    # A hash of the session's key: the grant holds for that session only.
    scope = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.user} → {self.patient_id}"


class JobLease(models.Model):
    """The lease of a background job a worker is running: renewed every third of
    EFFLEURA_TASK_LEASE_SECONDS while the job runs, deleted when it ends. A RUNNING job
    whose lease (or, before the first renewal, its start) is older than the lease is
    taken back by the "take back the jobs of dead workers" duty (core/leases.py).

    Keyed by the job's id in django-tasks-db's table; held by one claim of it: the worker
    and the attempt (the claim's place in the job's worker_ids). A worker renews and
    removes only its own claim's lease, so one that comes back after its job was taken
    back cannot touch the new owner's. renewed_at is the database's time, not the
    worker's. No arguments, no personal data."""

    task_id = models.UUIDField(primary_key=True)
    worker_id = models.CharField(max_length=64)
    attempt = models.PositiveIntegerField(default=1)
    renewed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"lease of job {self.task_id}"


class SentEmail(models.Model):
    """The email job ``task_id`` is sending (``state`` "sending") or has sent ("sent") its
    message. A run claims the row before it sends (a unique insert, committed on its
    own); a second run of the same job (after its worker died or was taken back, or a
    retry) finds it and does not send (core/tasks.py). No address, no subject: only the
    job's id (as django-tasks gives it: a UUID in its dashed form for the database
    queue) and when."""

    SENDING = "sending"
    SENT = "sent"

    task_id = models.CharField(max_length=64, primary_key=True)
    sent_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=8, choices=[(SENDING, SENDING), (SENT, SENT)], default=SENT)

    def __str__(self) -> str:
        return f"email of job {self.task_id} sent"
