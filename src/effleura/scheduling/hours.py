"""Practitioners' hours: the weekly pattern at each location, dated exceptions to it, and
time off. Part of the scheduling set-up (see setup.py for the shared rules: the owner
writes, every role reads, check_*/do_* with the audit event in the write's transaction).

One person can't be in two places at once: weekly rows of one practitioner may not
overlap on the same weekday while their validity periods share a day, whatever the
location; exceptions may not overlap each other on a date, nor the weekly hours still in
force that day at another location; time off may not overlap other time off.
Appointments already booked are left alone when hours change: appointments_during()
tells the owner how many to move.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from effleura.core import clock
from effleura.core.access import authorize
from effleura.core.values import merge_fields, parse_date, parse_time
from effleura.scheduling.choices import HOLDS_TIME
from effleura.scheduling.models import Appointment, ScheduleException, TimeOff, WorkingHours
from effleura.scheduling.setup import (
    MANAGE,
    VIEW,
    clean_location,
    clean_practitioner,
    clean_text,
    clean_weekday,
    day_name,
    delete_and_audit,
    get_by_public_id,
    hhmm,
    lock_practitioner,
    save_and_audit,
)

# Reading ------------------------------------------------------------------------------------------


def list_working_hours(actor, *, practitioner=None, location=None):
    authorize(actor, VIEW)
    found = WorkingHours.objects.select_related("practitioner", "location")
    if practitioner is not None:
        found = found.filter(practitioner=practitioner)
    if location is not None:
        found = found.filter(location=location)
    return found


def get_working_hours(actor, hours_id, *, key: str = VIEW) -> WorkingHours:
    authorize(actor, key, record_id=hours_id)
    return get_by_public_id(WorkingHours, hours_id, "working hours", select=["practitioner", "location"])


def list_exceptions(actor, *, practitioner=None, start: datetime.date | None = None, end: datetime.date | None = None):
    authorize(actor, VIEW)
    found = ScheduleException.objects.select_related("practitioner", "location")
    if practitioner is not None:
        found = found.filter(practitioner=practitioner)
    if start is not None:
        found = found.filter(date__gte=start)
    if end is not None:
        found = found.filter(date__lte=end)
    return found


def get_exception(actor, exception_id, *, key: str = VIEW) -> ScheduleException:
    authorize(actor, key, record_id=exception_id)
    return get_by_public_id(ScheduleException, exception_id, "schedule exception", select=["practitioner", "location"])


def list_time_off(actor, *, practitioner=None, start=None, end=None):
    authorize(actor, VIEW)
    found = TimeOff.objects.select_related("practitioner")
    if practitioner is not None:
        found = found.filter(practitioner=practitioner)
    if start is not None:
        found = found.filter(end__gt=start)
    if end is not None:
        found = found.filter(start__lt=end)
    return found


def get_time_off(actor, time_off_id, *, key: str = VIEW) -> TimeOff:
    authorize(actor, key, record_id=time_off_id)
    return get_by_public_id(TimeOff, time_off_id, "time off", select=["practitioner"])


# Working hours ------------------------------------------------------------------------------------

HOURS_FIELDS = ["practitioner", "location", "weekday", "start", "end", "valid_from", "valid_until"]


def describe_period(valid_from, valid_until) -> str:
    if valid_from and valid_until:
        return f" ({valid_from:%Y-%m-%d} to {valid_until:%Y-%m-%d})"
    if valid_from:
        return f" (from {valid_from:%Y-%m-%d})"
    if valid_until:
        return f" (until {valid_until:%Y-%m-%d})"
    return ""


def describe_hours(row: WorkingHours) -> str:
    return (
        f"{day_name(row.weekday)}s {hhmm(row.start)}–{hhmm(row.end)} at {row.location.name}"
        f"{describe_period(row.valid_from, row.valid_until)}"
    )


def overlapping_hours(practitioner, weekday, start, end, valid_from, valid_until, *, exclude=None):
    """Weekly rows of ``practitioner`` that clash with the given one, at any location: same
    weekday, times overlapping (touching is fine), validity periods sharing a day."""
    found = WorkingHours.objects.filter(practitioner=practitioner, weekday=weekday, start__lt=end, end__gt=start)
    if valid_from is not None:
        found = found.filter(Q(valid_until__isnull=True) | Q(valid_until__gte=valid_from))
    if valid_until is not None:
        found = found.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=valid_until))
    if exclude is not None:
        found = found.exclude(pk=exclude.pk)
    return found.select_related("location")


def _hours_clash_message(clash: WorkingHours) -> str:
    return (
        f"This overlaps {describe_hours(clash)}. One person can’t work two places or two shifts at once: "
        "change the times or the dates it applies."
    )


def check_save_working_hours(actor, data: dict, hours: WorkingHours | None = None) -> dict:
    """May ``actor`` save these weekly hours (new, or a change to ``hours``: fields not given
    keep their value)? Needs scheduling_setup.manage. Validates the practitioner, location,
    weekday, times and dates (ValidationError with a dict of field -> message), then refuses
    hours overlapping the practitioner's other hours or a day's exception. Returns the clean
    fields for do_save_working_hours()."""
    authorize(actor, MANAGE, record_id=hours.public_id if hours else "")
    merged = merge_fields(hours, HOURS_FIELDS, dict.fromkeys(HOURS_FIELDS), data)
    errors: dict[str, str] = {}
    clean = {
        "practitioner": clean_practitioner(merged["practitioner"], "practitioner", errors),
        "location": clean_location(merged["location"], "location", errors, active=hours is None),
        "weekday": clean_weekday(merged["weekday"], "weekday", errors),
        "start": parse_time(merged["start"], "start", errors),
        "end": parse_time(merged["end"], "end", errors),
        "valid_from": parse_date(merged["valid_from"], "valid_from", errors, required=False),
        "valid_until": parse_date(merged["valid_until"], "valid_until", errors, required=False),
    }
    if clean["start"] and clean["end"] and clean["end"] <= clean["start"]:
        errors.setdefault("end", f"The end must be after the start ({hhmm(clean['start'])}).")
    if clean["valid_from"] and clean["valid_until"] and clean["valid_until"] < clean["valid_from"]:
        errors.setdefault("valid_until", "“Until” can’t be before “from”.")
    if errors:
        raise ValidationError(errors)
    _refuse_hours_clash(clean, hours)
    return clean


def _refuse_hours_clash(clean: dict, hours) -> None:
    c = clean
    clash = overlapping_hours(
        c["practitioner"], c["weekday"], c["start"], c["end"], c["valid_from"], c["valid_until"], exclude=hours
    ).first()
    if clash is not None:
        raise ValidationError(_hours_clash_message(clash))
    day = _exception_in_the_way(c)
    if day is not None:
        raise ValidationError(
            f"This overlaps {describe_exception(day)}, a day with different hours. One person can’t be in two "
            "places at once: change that day first, or give these hours dates that leave it out."
        )


def _exception_in_the_way(c: dict):
    """A coming day with different hours at another location that the new weekly row would
    overlap: same weekday, times overlapping, inside the row's period, and no exception at
    the row's own location that day (which would replace the row)."""
    found = ScheduleException.objects.filter(
        practitioner=c["practitioner"],
        date__iso_week_day=c["weekday"] + 1,
        date__gte=max(filter(None, [c["valid_from"], timezone.localdate()])),
        start__lt=c["end"],
        end__gt=c["start"],
    ).exclude(location=c["location"])
    if c["valid_until"] is not None:
        found = found.filter(date__lte=c["valid_until"])
    replaced_here = ScheduleException.objects.filter(
        practitioner=c["practitioner"], location=c["location"], date=OuterRef("date")
    )
    return found.filter(~Exists(replaced_here)).select_related("location").order_by("date").first()


def do_save_working_hours(
    actor, clean: dict, hours: WorkingHours | None = None, *, expected_version=None
) -> WorkingHours:
    """Precondition: check_save_working_hours(). The overlap check runs again under a lock
    on the practitioner, so two people saving at once can't create a clash between them;
    a version other than ``expected_version`` (the one the editor loaded) is refused."""
    with transaction.atomic():
        lock_practitioner(clean["practitioner"])
        _refuse_hours_clash(clean, hours)
        return save_and_audit(actor, WorkingHours, hours, clean, "working_hours", expected_version=expected_version)


def check_delete_working_hours(actor, hours: WorkingHours) -> None:
    """May ``actor`` delete ``hours``? Needs scheduling_setup.manage (PermissionDenied
    otherwise); nothing else blocks it: appointments already booked stay booked. Returns
    None; then call do_delete_working_hours()."""
    # Appointments already booked stay booked; only new bookings follow the new hours.
    authorize(actor, MANAGE, record_id=hours.public_id)


def do_delete_working_hours(actor, hours: WorkingHours, *, expected_version=None) -> None:
    """Delete ``hours`` once check_delete_working_hours() allowed it: locks the row, deletes it
    and audits it in one transaction (core.resources.delete_record); StaleVersion when saved
    since ``expected_version``. Returns None."""
    delete_and_audit(actor, hours, "working_hours", expected_version=expected_version)


# Dated exceptions ---------------------------------------------------------------------------------

EXCEPTION_FIELDS = ["practitioner", "location", "date", "start", "end", "reason"]


def describe_exception(row: ScheduleException) -> str:
    when = "off" if row.start is None else f"{hhmm(row.start)}–{hhmm(row.end)}"
    return f"{row.date:%a %d %b %Y} at {row.location.name}: {when}"


def check_save_exception(actor, data: dict, exception: ScheduleException | None = None) -> dict:
    """A dated change to someone's pattern at one location: on ``date`` they work
    ``start``–``end`` there instead of their weekly hours, or (no times) not at all.
    Several exceptions on one date make a split day; none may overlap another, nor the
    weekly hours that still apply that day at another location."""
    authorize(actor, MANAGE, record_id=exception.public_id if exception else "")
    merged = merge_fields(exception, EXCEPTION_FIELDS, dict.fromkeys(EXCEPTION_FIELDS, None) | {"reason": ""}, data)
    errors: dict[str, str] = {}
    clean = {
        "practitioner": clean_practitioner(merged["practitioner"], "practitioner", errors),
        "location": clean_location(merged["location"], "location", errors, active=exception is None),
        "date": parse_date(merged["date"], "date", errors, required=True),
        "reason": clean_text(
            merged["reason"], "reason", errors, ScheduleException._meta.get_field("reason").max_length
        ),
        "start": None,
        "end": None,
    }
    given = [merged["start"] not in (None, ""), merged["end"] not in (None, "")]
    if any(given) and not all(given):
        errors["start" if not given[0] else "end"] = "Give both a start and an end, or neither for a day off."
    elif all(given):
        clean["start"] = parse_time(merged["start"], "start", errors)
        clean["end"] = parse_time(merged["end"], "end", errors)
        if clean["start"] and clean["end"] and clean["end"] <= clean["start"]:
            errors.setdefault("end", f"The end must be after the start ({hhmm(clean['start'])}).")
    if errors:
        raise ValidationError(errors)
    _refuse_exception_clash(clean, exception)
    return clean


def _refuse_exception_clash(clean: dict, exception) -> None:
    same_day = ScheduleException.objects.filter(practitioner=clean["practitioner"], date=clean["date"])
    if exception is not None:
        same_day = same_day.exclude(pk=exception.pk)
    same_day = list(same_day.select_related("location"))
    off = clean["start"] is None
    for other in same_day:
        at_same_place = other.location_id == clean["location"].pk
        if at_same_place and (off or other.start is None):
            raise ValidationError(
                f"There is already an exception for {describe_exception(other)}. Change or delete it instead."
            )
        if not off and other.start is not None and other.start < clean["end"] and clean["start"] < other.end:
            raise ValidationError(f"This overlaps {describe_exception(other)}. One person can’t be in two places.")
    if off:
        return
    # The weekly hours still in force that day at other locations (those without their
    # own exception that day) must not overlap either.
    replaced = {other.location_id for other in same_day} | {clean["location"].pk}
    clash = (
        overlapping_hours(
            clean["practitioner"], clean["date"].weekday(), clean["start"], clean["end"], clean["date"], clean["date"]
        )
        .exclude(location_id__in=replaced)
        .first()
    )
    if clash is not None:
        raise ValidationError(
            f"This overlaps {describe_hours(clash)}. Add an exception there too (different hours or off) first."
        )


def do_save_exception(
    actor, clean: dict, exception: ScheduleException | None = None, *, expected_version=None
) -> ScheduleException:
    """Precondition: check_save_exception(); the clash check runs again under the lock, and
    a version other than ``expected_version`` is refused (StaleVersion)."""
    with transaction.atomic():
        lock_practitioner(clean["practitioner"])
        _refuse_exception_clash(clean, exception)
        return save_and_audit(
            actor, ScheduleException, exception, clean, "schedule_exception", expected_version=expected_version
        )


def check_delete_exception(actor, exception: ScheduleException) -> None:
    """May ``actor`` delete ``exception`` (a day with different hours)? Needs
    scheduling_setup.manage (PermissionDenied otherwise); nothing else blocks it. Returns
    None; then call do_delete_exception()."""
    authorize(actor, MANAGE, record_id=exception.public_id)


def do_delete_exception(actor, exception: ScheduleException, *, expected_version=None) -> None:
    """Delete ``exception`` once check_delete_exception() allowed it: locks the row, deletes it
    and audits it in one transaction (core.resources.delete_record); StaleVersion when saved
    since ``expected_version``. Returns None."""
    delete_and_audit(actor, exception, "schedule_exception", expected_version=expected_version)


# Time off -----------------------------------------------------------------------------------------

TIME_OFF_FIELDS = ["practitioner", "start", "end", "reason"]


def _instant(value, field: str, errors: dict) -> datetime.datetime | None:
    if value in (None, ""):
        errors.setdefault(field, "Give a date and time.")
        return None
    if not isinstance(value, datetime.datetime):
        try:
            value = datetime.datetime.fromisoformat(str(value))
        except ValueError:
            errors.setdefault(field, "Give a date and time with its offset, e.g. 2025-03-01T09:00:00-06:00.")
            return None
    if value.tzinfo is None or value.utcoffset() is None:
        errors.setdefault(field, "Give the time with its time zone or offset, e.g. 2025-03-01T09:00:00-06:00.")
        return None
    return value.astimezone(datetime.UTC)


def appointments_during(practitioner, start, end) -> int:
    """How many appointments still holding time fall (partly) in [start, end): the ones to move."""
    return Appointment.objects.overlapping(start, end).filter(practitioner=practitioner, status__in=HOLDS_TIME).count()


def check_save_time_off(actor, data: dict, time_off: TimeOff | None = None) -> dict:
    """May ``actor`` save this time off (new, or a change to ``time_off``: fields not given keep
    their value)? Needs scheduling_setup.manage. Validates the practitioner and the start
    and end instants (ValidationError with a dict of field -> message), then refuses an
    overlap with the practitioner's other time off. Returns the clean fields for
    do_save_time_off()."""
    authorize(actor, MANAGE, record_id=time_off.public_id if time_off else "")
    merged = merge_fields(time_off, TIME_OFF_FIELDS, dict.fromkeys(TIME_OFF_FIELDS, None) | {"reason": ""}, data)
    errors: dict[str, str] = {}
    clean = {
        "practitioner": clean_practitioner(merged["practitioner"], "practitioner", errors),
        "start": _instant(merged["start"], "start", errors),
        "end": _instant(merged["end"], "end", errors),
        "reason": clean_text(merged["reason"], "reason", errors, TimeOff._meta.get_field("reason").max_length),
    }
    if clean["start"] and clean["end"] and clean["end"] <= clean["start"]:
        errors.setdefault("end", "The end must be after the start.")
    if errors:
        raise ValidationError(errors)
    _refuse_time_off_clash(clean, time_off)
    return clean


def _refuse_time_off_clash(clean: dict, time_off) -> None:
    clash = TimeOff.objects.filter(practitioner=clean["practitioner"], start__lt=clean["end"], end__gt=clean["start"])
    if time_off is not None:
        clash = clash.exclude(pk=time_off.pk)
    clash = clash.first()
    if clash is not None:
        raise ValidationError(
            f"This overlaps time off already recorded ({clock.stamp(clash.start)} to {clock.stamp(clash.end)}). "
            "Change that one instead."
        )


def do_save_time_off(actor, clean: dict, time_off: TimeOff | None = None, *, expected_version=None) -> TimeOff:
    """Precondition: check_save_time_off(); the overlap check runs again under the lock, and
    a version other than ``expected_version`` is refused (StaleVersion)."""
    with transaction.atomic():
        lock_practitioner(clean["practitioner"])
        _refuse_time_off_clash(clean, time_off)
        return save_and_audit(actor, TimeOff, time_off, clean, "time_off", expected_version=expected_version)


def check_delete_time_off(actor, time_off: TimeOff) -> None:
    """May ``actor`` delete ``time_off``? Needs scheduling_setup.manage (PermissionDenied
    otherwise); nothing else blocks it. Returns None; then call do_delete_time_off()."""
    authorize(actor, MANAGE, record_id=time_off.public_id)


def do_delete_time_off(actor, time_off: TimeOff, *, expected_version=None) -> None:
    """Delete ``time_off`` once check_delete_time_off() allowed it: locks the row, deletes it
    and audits it in one transaction (core.resources.delete_record); StaleVersion when saved
    since ``expected_version``. Returns None."""
    delete_and_audit(actor, time_off, "time_off", expected_version=expected_version)
