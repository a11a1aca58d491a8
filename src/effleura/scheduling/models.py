"""Scheduling data: where (locations, rooms), who and when (working hours, exceptions,
time off), what (services), and the appointments themselves.

Times of day in weekly patterns are local to the location; appointment instants are
timezone-aware and stored in UTC. The no-double-booking rule is enforced in
scheduling/booking.py and, on PostgreSQL, by exclusion constraints (migration 0002).
"""

import datetime
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Func, Q, Value
from django.utils import timezone

from effleura.core.models import PublicIdModel, Versioned
from effleura.patients.models import Patient
from effleura.scheduling.choices import (
    AppointmentStatus,
    ChangeKind,
    NotificationKind,
    PlaceOfService,
    WaitlistStatus,
    Weekday,
)

# The longest a visit may hold its practitioner and room: a full working day of treatment
# plus the longest changeover. The database refuses anything longer (Appointment's
# constraint "appointment_held_at_most_12_hours"), so a query for the visits overlapping a
# window need look no further back than this before the window's start: see
# AppointmentQuerySet.overlapping() and docs/decisions/0025-calendar-overlaps-bounded-on-both-sides.md.
LONGEST_VISIT_MINUTES = 480
LONGEST_CHANGEOVER_MINUTES = 240
LONGEST_HELD = datetime.timedelta(minutes=LONGEST_VISIT_MINUTES + LONGEST_CHANGEOVER_MINUTES)
# How far back an overlap query reaches: a minute more than the rule, so that rounding in
# SQLite's date arithmetic (julianday, a float) can never hide a visit at the limit.
OVERLAP_REACH = LONGEST_HELD + datetime.timedelta(minutes=1)
HELD_TOO_LONG = (
    f"A visit holds its practitioner and room for at most {LONGEST_HELD.seconds // 3600} hours, "
    f"changeover included ({LONGEST_VISIT_MINUTES // 60} hours of visit "
    f"and {LONGEST_CHANGEOVER_MINUTES // 60} of changeover)."
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a time zone we know, e.g. America/Chicago.")


class Location(PublicIdModel, Versioned):
    """A place where the practice treats: an office, a clinic, a hospital ward."""

    name = models.CharField(max_length=120, unique=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state / province", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    time_zone = models.CharField(max_length=60, default="UTC", validators=[validate_time_zone])
    # Where its visits are given, as claims say it (CMS-1500 box 24B); a claim may change it.
    place_of_service = models.CharField(max_length=2, choices=PlaceOfService.choices, default=PlaceOfService.OFFICE)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class OpeningHours(models.Model):
    """When a location is open on a weekday (local time). Several rows make a split day."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["location", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=Q(closes__gt=F("opens")), name="opening_hours_closes_after_opens")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Room(PublicIdModel, Versioned):
    """A room or table at a location: one session at a time."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location", "name"]
        constraints = [models.UniqueConstraint(fields=["location", "name"], name="room_name_unique_per_location")]

    def __str__(self) -> str:
        return f"{self.name} ({self.location.name})"


class WorkingHours(PublicIdModel, Versioned):
    """A practitioner's weekly pattern at one location (local time), optionally for a
    dated period (valid_from / valid_until, both inclusive)."""

    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["practitioner", "location", "weekday", "start"]
        verbose_name_plural = "working hours"
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="working_hours_end_after_start")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class ScheduleException(PublicIdModel, Versioned):
    """A dated change to a practitioner's pattern: on ``date`` they work ``start``–``end``
    instead (at ``location``), or, with no times, not at all."""

    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    start = models.TimeField(null=True, blank=True)
    end = models.TimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date", "start"]
        indexes = [models.Index(fields=["practitioner", "date"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(start__isnull=True) & Q(end__isnull=True)) | Q(end__gt=F("start")),
                name="schedule_exception_times_make_sense",
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {'off' if self.start is None else f'{self.start:%H:%M}–{self.end:%H:%M}'}"


class TimeOff(PublicIdModel, Versioned):
    """A practitioner away between two instants (holiday, training, sick leave)."""

    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_off")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start"]
        verbose_name_plural = "time off"
        # Time off has no longest length (sick leave may last months), so its overlap
        # query is bounded by its end instead: only what ends after the window is read.
        indexes = [models.Index(fields=["practitioner", "end"])]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="time_off_end_after_start")]

    def __str__(self) -> str:
        return f"time off {self.start:%Y-%m-%d}"


class Closure(PublicIdModel, Versioned):
    """Days a location, or with no location the whole practice, is closed: a holiday or a
    dated closure. ``first_day`` to ``last_day``, both inclusive, local to each location;
    ``every_year``: the same dates each year from ``first_day``'s year on (Christmas Day).
    Nobody can be booked then; visits already booked are left for the owner to move."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, null=True, blank=True, related_name="closures")
    first_day = models.DateField()
    last_day = models.DateField()
    reason = models.CharField(max_length=120, help_text="What patients and staff are told, e.g. Christmas Day.")
    every_year = models.BooleanField(default=False)

    class Meta:
        ordering = ["first_day", "pk"]
        indexes = [models.Index(fields=["last_day"])]
        constraints = [
            models.CheckConstraint(condition=Q(last_day__gte=F("first_day")), name="closure_ends_after_it_starts")
        ]

    def __str__(self) -> str:
        return f"closed {self.first_day:%Y-%m-%d}"


class Service(PublicIdModel, Versioned):
    """Something the practice books: a treatment type with its lengths and price."""

    name = models.CharField(max_length=120, unique=True)
    durations = models.JSONField(default=list, help_text="Minutes, e.g. [30, 60, 90]. The first is the default.")
    default_price = models.DecimalField(max_digits=9, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="USD")
    changeover_minutes = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(LONGEST_CHANGEOVER_MINUTES)],
        help_text="Time after each visit to turn the room around.",
    )
    practitioners = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="services", blank=True)
    needs_room = models.BooleanField(default=True)
    bookable_online = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def default_duration(self) -> int:
        return self.durations[0] if self.durations else 60


class SchedulingPolicy(Versioned):
    """The practice's booking rules. One row (SchedulingPolicy.current()). Version 1 is the
    defaults before anyone saved them; every save, the first included, counts one more."""

    late_cancel_hours = models.PositiveSmallIntegerField(
        default=24, help_text="A cancellation closer to the start than this is marked late."
    )
    minimum_notice_minutes = models.PositiveIntegerField(default=60, help_text="No booking closer to now than this.")
    slot_step_minutes = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(5), MaxValueValidator(120)], help_text="Offer a start every …"
    )
    reminder_hours_before = models.PositiveSmallIntegerField(default=24)
    send_confirmations = models.BooleanField(default=True)
    send_reminders = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "scheduling policy"

    def __str__(self) -> str:
        return "scheduling policy"

    @classmethod
    def current(cls) -> "SchedulingPolicy":
        return cls.objects.order_by("pk").first() or cls()


class Series(PublicIdModel):
    """A treatment series: N visits booked together (twice a week for four weeks, …)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="series")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    duration_minutes = models.PositiveSmallIntegerField()
    visits = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(60)])
    every_days = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Every K days, or …")
    weekdays = models.JSONField(default=list, blank=True, help_text="… on these weekdays (0 = Monday).")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "series"

    def __str__(self) -> str:
        return f"series of {self.visits}"


class HeldAtMost(Func):
    """``until - start`` is at most ``minutes``, in each database's own date arithmetic:
    an interval on PostgreSQL, julianday() on SQLite (a built-in, deterministic function,
    so the CHECK holds for any program that writes the file, not only Django). A boolean
    expression for a CheckConstraint; also evaluated by Model.full_clean()."""

    conditional = True
    output_field = models.BooleanField()

    def __init__(self, until, start, minutes):
        super().__init__(until, start, Value(int(minutes)))

    def as_sql(self, compiler, connection, **extra_context):  # PostgreSQL
        until, start, minutes = (compiler.compile(e) for e in self.get_source_expressions())
        return f"({until[0]} <= {start[0]} + make_interval(mins => {minutes[0]}))", [*until[1], *start[1], *minutes[1]]

    def as_sqlite(self, compiler, connection, **extra_context):
        until, start, minutes = (compiler.compile(e) for e in self.get_source_expressions())
        # Rounded to a thousandth of a minute: two julianday() floats differ by a hair.
        sql = f"(round((julianday({until[0]}) - julianday({start[0]})) * 1440, 3) <= {minutes[0]})"
        return sql, [*until[1], *start[1], *minutes[1]]


class AppointmentQuerySet(models.QuerySet):
    def overlapping(self, start: datetime.datetime, end: datetime.datetime, *, until: str = "end"):
        """Appointments whose ``[start, until)`` (``until``: "end", or "busy_until" to count
        the changeover) shares a moment with ``[start, end)``.

        Bounded on both sides, so an index on (location | practitioner | room | patient,
        start) reads only the window and the OVERLAP_REACH before it, however long the
        history: a visit that overlaps the window cannot have started earlier than that,
        since the database refuses one held longer than LONGEST_HELD."""
        return self.filter(start__lt=end, start__gt=start - OVERLAP_REACH, **{f"{until}__gt": start})


class Appointment(PublicIdModel):
    """A booked visit: who, with whom, what, where and when, and what became of it.

    ``busy_until`` is ``end`` plus the service's changeover: the practitioner and the room
    are busy until then; the patient only until ``end``.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments")
    duration_minutes = models.PositiveSmallIntegerField()
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField()
    busy_until = models.DateTimeField()
    status = models.CharField(max_length=12, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    series = models.ForeignKey(Series, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments")
    notes = models.CharField(max_length=300, blank=True, help_text="Front-desk notes; no clinical details.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancel_reason = models.CharField(max_length=300, blank=True)
    late_cancel = models.BooleanField(default=False)
    interrupted_reason = models.CharField(max_length=300, blank=True)
    minutes_delivered = models.PositiveSmallIntegerField(null=True, blank=True)
    # When the session began: set when it is started (or completed or interrupted straight
    # away), cleared when that is undone. A note can be signed from then on.
    session_started_at = models.DateTimeField(null=True, blank=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["practitioner", "start"]),
            models.Index(fields=["location", "start"]),
            models.Index(fields=["patient", "start"]),
            models.Index(fields=["room", "start"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="appointment_end_after_start"),
            models.CheckConstraint(condition=Q(busy_until__gte=F("end")), name="appointment_busy_until_after_end"),
            models.CheckConstraint(
                condition=HeldAtMost(F("busy_until"), F("start"), int(LONGEST_HELD.total_seconds() // 60)),
                name="appointment_held_at_most_12_hours",
                violation_error_message=HELD_TOO_LONG,
            ),
        ]

    def __str__(self) -> str:
        return f"appointment {self.start:%Y-%m-%d %H:%M}"

    @property
    def holds_time(self) -> bool:
        return self.status != AppointmentStatus.CANCELLED


class AppointmentChange(models.Model):
    """One line of an appointment's history: what changed, when and by whom. Lines are
    never changed nor deleted: an undo is a line of its own (kind "undo") that names the
    line it takes back in ``undoes``."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    kind = models.CharField(max_length=12, choices=ChangeKind.choices)
    from_start = models.DateTimeField(null=True, blank=True)
    to_start = models.DateTimeField(null=True, blank=True)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    undoes = models.OneToOneField("self", on_delete=models.RESTRICT, null=True, blank=True, related_name="undone_by")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"


class WaitlistEntry(PublicIdModel):
    """A patient waiting for an earlier or better slot, with the times that suit them.

    ``windows`` is a list of {"weekday": 0-6, "start": "HH:MM", "end": "HH:MM"} in the
    location's local time.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="waitlist_entries")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    duration_minutes = models.PositiveSmallIntegerField()
    windows = models.JSONField(default=list)
    earliest = models.DateField(null=True, blank=True)
    latest = models.DateField(null=True, blank=True)
    notes = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING)
    appointment = models.ForeignKey(Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "waitlist entries"

    def __str__(self) -> str:
        return "waitlist entry"


class CalendarFeed(PublicIdModel):
    """A practitioner's private iCalendar subscription. Only the token's hash is kept."""

    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"calendar feed {self.hint}…"


class Notification(models.Model):
    """An email sent (or queued) about an appointment: what, to whom, when. Never its body."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    to = models.EmailField()
    due_at = models.DateTimeField()
    # A moved-visit notice: where the visit was before (the email says "from … to …").
    moved_from = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "kind", "due_at"], name="notification_once_per_kind_and_time"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.appointment_id}"
