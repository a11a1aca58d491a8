from django.db import models


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    CHECKED_IN = "checked_in", "Checked in"
    IN_SESSION = "in_session", "In session"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"
    INTERRUPTED = "interrupted", "Interrupted"


# Every status but cancelled holds its time: a no-show or an interrupted session still
# used the room and the therapist. Only a cancellation frees the slot.
HOLDS_TIME = [s for s in AppointmentStatus.values if s != AppointmentStatus.CANCELLED]

# Which status may follow which. Completed, cancelled, no-show and interrupted are final;
# a status set by mistake is undone the same day (status_actions.check_undo_status, the
# rules in visit_rules.py), and the history keeps both the change and its undo.
STATUS_FLOW = {
    AppointmentStatus.BOOKED: {
        AppointmentStatus.CHECKED_IN,
        AppointmentStatus.IN_SESSION,
        AppointmentStatus.COMPLETED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.NO_SHOW,
    },
    AppointmentStatus.CHECKED_IN: {
        AppointmentStatus.IN_SESSION,
        AppointmentStatus.COMPLETED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.INTERRUPTED,
    },
    AppointmentStatus.IN_SESSION: {AppointmentStatus.COMPLETED, AppointmentStatus.INTERRUPTED},
    AppointmentStatus.COMPLETED: set(),
    AppointmentStatus.CANCELLED: set(),
    AppointmentStatus.NO_SHOW: set(),
    AppointmentStatus.INTERRUPTED: set(),
}


class ChangeKind(models.TextChoices):
    """What happened to an appointment, for its history."""

    CREATED = "created", "Booked"
    RESCHEDULED = "rescheduled", "Rescheduled"
    STATUS = "status", "Status changed"
    CANCELLED = "cancelled", "Cancelled"
    UNDO = "undo", "Undone"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    BOOKED = "booked", "Booked"
    REMOVED = "removed", "Removed"


class NotificationKind(models.TextChoices):
    CONFIRMATION = "confirmation", "Confirmation"
    REMINDER = "reminder", "Reminder"
    CANCELLATION = "cancellation", "Cancellation notice"
    MOVED = "moved", "Moved-visit notice"
    SERIES = "series", "Series confirmation"


class PlaceOfService(models.TextChoices):
    """Where a visit is given, as CMS place-of-service codes (the CMS-1500's box 24B): a
    location's default, which a claim may change for one visit."""

    OFFICE = "11", "11 · Office (clinic)"
    HOME = "12", "12 · Home"
    OFF_CAMPUS_OUTPATIENT = "19", "19 · Off-campus outpatient hospital"
    INPATIENT = "21", "21 · Inpatient hospital"
    ON_CAMPUS_OUTPATIENT = "22", "22 · On-campus outpatient hospital"
    SKILLED_NURSING = "31", "31 · Skilled nursing facility"
    NURSING = "32", "32 · Nursing facility"
    ASSISTED_LIVING = "13", "13 · Assisted living facility"
    OTHER = "99", "99 · Other place of service"
