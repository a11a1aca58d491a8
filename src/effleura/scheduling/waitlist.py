"""The waitlist: patients waiting for an earlier or better slot, the times that suit them,
and the rule that says who fits a slot a cancellation has freed.

Three parts:

* The rule (pure): ``matching_entries(slot, entries)`` takes a ``FreedSlot`` and entries
  (WaitlistEntry rows or anything with the same attributes) and answers the waiting ones
  that fit, oldest first. No database, no request.
* Reading: ``matches_for_appointment`` finds the entries that fit a cancelled
  appointment's time (a few queries, whatever the size of the waitlist);
  ``access_waitlist*`` (scheduling/access.py) authorize and audit for the pages and the API.
* Writing: check_*/do_* add and remove entries, and book an entry into a slot through
  the same booking action as every other booking (scheduling.actions.do_book).

A window is ``{"weekday": 0-6, "start": "HH:MM", "end": "HH:MM"}`` in the location's local
time (0 = Monday). A slot fits a window when the whole visit, at the entry's duration,
lies inside it on that weekday.
"""

import datetime
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from effleura.core import audit
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.values import clean_text, reject_unknown
from effleura.scheduling import actions as booking_actions
from effleura.scheduling import closures
from effleura.scheduling.choices import HOLDS_TIME, AppointmentStatus, WaitlistStatus, Weekday
from effleura.scheduling.models import Appointment, Location, Service, WaitlistEntry

MAX_WINDOWS = 21  # three a day is plenty; the bound keeps one entry from holding thousands
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


# The rule (pure) --------------------------------------------------------------------------


@dataclass(frozen=True)
class FreedSlot:
    """Time a cancellation (or anything else) has freed: who, where, what, when."""

    start: datetime.datetime  # aware
    end: datetime.datetime  # aware; end - start is the longest visit that fits
    practitioner_id: int
    location_id: int
    service_id: int
    tz: zoneinfo.ZoneInfo
    room_id: int | None = None

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


def _time(text: str) -> datetime.time:
    return datetime.time.fromisoformat(text)


def in_a_window(windows: Iterable[dict], start: datetime.datetime, end: datetime.datetime, tz) -> bool:
    """Whether the visit ``start``–``end`` lies wholly inside one window, in local time ``tz``."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if local_end.date() != local_start.date():
        return False  # a visit that runs past midnight fits no window
    for window in windows:
        if window["weekday"] != local_start.weekday():
            continue
        if _time(window["start"]) <= local_start.time() and local_end.time() <= _time(window["end"]):
            return True
    return False


def entry_fits(slot: FreedSlot, entry) -> bool:
    """Whether a waiting ``entry`` could take ``slot``: same place and service, their
    practitioner (or no preference), a duration that fits, inside a window and the dates."""
    if entry.status != WaitlistStatus.WAITING:
        return False
    if entry.location_id != slot.location_id or entry.service_id != slot.service_id:
        return False
    if entry.practitioner_id is not None and entry.practitioner_id != slot.practitioner_id:
        return False
    if entry.duration_minutes > slot.duration_minutes:
        return False
    day = slot.start.astimezone(slot.tz).date()
    if entry.earliest is not None and day < entry.earliest:
        return False
    if entry.latest is not None and day > entry.latest:
        return False
    end = slot.start + datetime.timedelta(minutes=entry.duration_minutes)
    return in_a_window(entry.windows, slot.start, end, slot.tz)


def matching_entries(slot: FreedSlot, entries: Iterable) -> list:
    """The entries that fit ``slot``, oldest first (first come, first offered)."""
    fitting = [entry for entry in entries if entry_fits(slot, entry)]
    return sorted(fitting, key=lambda entry: (entry.created_at, entry.pk or 0))


def clean_windows(raw) -> list[dict]:
    """Validate windows as a person types them; raise ValidationError({"windows": ...})."""
    if not isinstance(raw, list | tuple) or not raw:
        raise ValidationError({"windows": "Give at least one time that suits the patient."})
    if len(raw) > MAX_WINDOWS:
        raise ValidationError({"windows": f"Give at most {MAX_WINDOWS} times."})
    clean, problems = [], []
    for n, window in enumerate(raw, start=1):
        if not isinstance(window, dict) or set(window) != {"weekday", "start", "end"}:
            problems.append(f"Time {n}: give a weekday, a start and an end.")
            continue
        weekday, start, end = window["weekday"], window["start"], window["end"]
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            problems.append(f"Time {n}: the weekday is a number from 0 (Monday) to 6 (Sunday).")
            continue
        if not (isinstance(start, str) and _HHMM.fullmatch(start) and isinstance(end, str) and _HHMM.fullmatch(end)):
            problems.append(f"Time {n}: write times as HH:MM, e.g. 09:30.")
            continue
        if start >= end:
            problems.append(f"Time {n}: the end ({end}) must be after the start ({start}).")
            continue
        item = {"weekday": weekday, "start": start, "end": end}
        if item not in clean:
            clean.append(item)
    if problems:
        raise ValidationError({"windows": " ".join(problems)})
    return sorted(clean, key=lambda w: (w["weekday"], w["start"], w["end"]))


def describe_windows(windows: Iterable[dict]) -> str:
    """ "Mon 09:00–12:00, Thu 14:00–18:00" for lists and pages."""
    return ", ".join(f"{Weekday(w['weekday']).label[:3]} {w['start']}–{w['end']}" for w in windows)


# Reading ----------------------------------------------------------------------------------


def freed_slot(appointment: Appointment) -> FreedSlot:
    return FreedSlot(
        start=appointment.start,
        end=appointment.end,
        practitioner_id=appointment.practitioner_id,
        location_id=appointment.location_id,
        service_id=appointment.service_id,
        tz=appointment.location.tz,
        room_id=appointment.room_id,
    )


def _slot_still_free(appointment: Appointment) -> bool:
    """Whether nobody has taken the cancelled appointment's time since (practitioner, room)."""
    overlapping = (
        Appointment.objects.overlapping(appointment.start, appointment.busy_until, until="busy_until")
        .filter(status__in=HOLDS_TIME)
        .exclude(pk=appointment.pk)
    )
    who = Q(practitioner_id=appointment.practitioner_id)
    if appointment.room_id is not None:
        who |= Q(room_id=appointment.room_id)
    return not overlapping.filter(who).exists()


def matches_for_appointment(appointment: Appointment, *, now: datetime.datetime | None = None) -> list[WaitlistEntry]:
    """The waiting entries that could take a cancelled appointment's time, oldest first.

    Empty when the appointment is not cancelled, has started, its time has been taken
    again, or the day has since become a closure. Leaves out the patient who cancelled and
    patients already busy then. At most five queries (four with the location loaded),
    whatever the waitlist's size. Neither
    authorizes nor audits: pages and the API call ``access_waitlist_matches``.
    """
    now = now or timezone.now()
    if appointment.status != AppointmentStatus.CANCELLED or appointment.start <= now:
        return []
    if not _slot_still_free(appointment):
        return []
    slot = freed_slot(appointment)
    first_day, last_day = slot.start.astimezone(slot.tz).date(), slot.end.astimezone(slot.tz).date()
    if closures.closed_days(appointment.location, first_day, last_day):
        return []  # booked before the location closed that day: nobody can take it now
    candidates = (
        WaitlistEntry.objects.filter(
            status=WaitlistStatus.WAITING,
            location_id=slot.location_id,
            service_id=slot.service_id,
            duration_minutes__lte=slot.duration_minutes,
        )
        .filter(Q(practitioner__isnull=True) | Q(practitioner_id=slot.practitioner_id))
        .exclude(patient_id=appointment.patient_id)
        .select_related("patient", "practitioner", "service", "location")
    )
    fitting = matching_entries(slot, candidates)
    if not fitting:
        return []
    # A patient already booked at that time (with anyone) cannot take it.
    busy = (
        Appointment.objects.overlapping(slot.start, slot.end)
        .filter(patient_id__in={e.patient_id for e in fitting}, status__in=HOLDS_TIME)
        .values_list("patient_id", "start", "end")
    )
    busy_by_patient: dict[int, list] = {}
    for patient_id, start, end in busy:
        busy_by_patient.setdefault(patient_id, []).append((start, end))

    def free(entry) -> bool:
        end = slot.start + datetime.timedelta(minutes=entry.duration_minutes)
        return not any(s < end and e > slot.start for s, e in busy_by_patient.get(entry.patient_id, []))

    return [entry for entry in fitting if free(entry)]


def local_when(appointment: Appointment) -> str:
    """ "Tue 3 Mar, 10:00–11:00" in the appointment's location's zone."""
    tz = appointment.location.tz
    start, end = appointment.start.astimezone(tz), appointment.end.astimezone(tz)
    return f"{start:%a} {start.day} {start:%b}, {start:%H:%M}–{end:%H:%M}"


# Writing ----------------------------------------------------------------------------------

NOTES_LIMIT = WaitlistEntry._meta.get_field("notes").max_length
ENTRY_FIELDS = {"service", "location", "practitioner", "duration_minutes", "windows", "earliest", "latest", "notes"}


def check_add_waitlist_entry(actor, patient, data: dict) -> dict:
    """Validate a new entry for ``patient``. ``data`` holds model objects for ``service``,
    ``location`` and ``practitioner`` (or None), ``duration_minutes``, ``windows``,
    ``earliest``/``latest`` (dates or None) and ``notes``. Returns the clean fields."""
    authorize(actor, "waitlist.manage", patient_id=patient.public_id)
    reject_unknown(data, ENTRY_FIELDS)
    errors: dict[str, str] = {}
    service: Service | None = data.get("service")
    location: Location | None = data.get("location")
    practitioner = data.get("practitioner")
    if service is None or not service.is_active:
        errors["service"] = "Choose a service the practice offers."
    if location is None or not location.is_active:
        errors["location"] = "Choose one of the practice's locations."
    duration = data.get("duration_minutes")
    if service is not None and not errors.get("service"):
        if duration in (None, ""):
            duration = service.default_duration
        if duration not in service.durations:
            offered = ", ".join(str(d) for d in service.durations)
            errors["duration_minutes"] = f"{service.name} is booked for {offered} minutes."
        if practitioner is not None and not service.practitioners.filter(pk=practitioner.pk).exists():
            errors["practitioner"] = f"{practitioner.display_name} does not give {service.name}."
    if practitioner is not None and not practitioner.is_active:
        errors["practitioner"] = "Choose someone who still works here, or no preference."
    try:
        windows = clean_windows(data.get("windows"))
    except ValidationError as exc:
        errors.update({k: " ".join(v) for k, v in exc.message_dict.items()})
        windows = []
    earliest, latest = data.get("earliest"), data.get("latest")
    if earliest and latest and latest < earliest:
        errors["latest"] = "The latest date must be on or after the earliest date."
    elif latest and location is not None and latest < timezone.now().astimezone(location.tz).date():
        errors["latest"] = "The latest date has already passed."
    notes = clean_text(data.get("notes"), "notes", errors, limit=NOTES_LIMIT)
    if errors:
        raise ValidationError(errors)
    return {
        "service": service,
        "location": location,
        "practitioner": practitioner,
        "duration_minutes": duration,
        "windows": windows,
        "earliest": earliest,
        "latest": latest,
        "notes": notes,
    }


def do_add_waitlist_entry(actor, patient, clean: dict) -> WaitlistEntry:
    """Put ``patient`` on the waitlist with check_add_waitlist_entry()'s output."""
    with transaction.atomic():
        entry = WaitlistEntry.objects.create(patient=patient, created_by=actor, **clean)
        audit.record(
            actor, AuditAction.CREATE, "waitlist_entry", record_id=entry.public_id, patient_id=patient.public_id
        )
    return entry


def check_remove_waitlist_entry(actor, entry: WaitlistEntry) -> None:
    """May ``actor`` take ``entry`` off the waitlist? Needs waitlist.manage (PermissionDenied
    otherwise); raises ValidationError when the entry is no longer waiting. Returns None;
    then call do_remove_waitlist_entry()."""
    authorize(actor, "waitlist.manage", patient_id=entry.patient.public_id, record_id=entry.public_id)
    if entry.status != WaitlistStatus.WAITING:
        raise ValidationError("This entry is no longer waiting.")


def do_remove_waitlist_entry(actor, entry: WaitlistEntry) -> WaitlistEntry:
    """Take an entry off the waitlist (kept, marked removed, for the record)."""
    with transaction.atomic():
        changed = WaitlistEntry.objects.filter(pk=entry.pk, status=WaitlistStatus.WAITING).update(
            status=WaitlistStatus.REMOVED
        )
        if not changed:
            raise ValidationError("This entry is no longer waiting.")
        audit.record(
            actor,
            AuditAction.UPDATE,
            "waitlist_entry",
            record_id=entry.public_id,
            patient_id=entry.patient.public_id,
            detail="removed from waitlist",
        )
    entry.status = WaitlistStatus.REMOVED
    return entry


def check_book_from_waitlist(actor, entry: WaitlistEntry) -> None:
    """The actor may manage the waitlist and book; the entry is still waiting. The slot
    itself is checked by the booking action."""
    authorize(actor, "waitlist.manage", patient_id=entry.patient.public_id, record_id=entry.public_id)
    authorize(actor, "appointment.book", patient_id=entry.patient.public_id)
    if entry.status != WaitlistStatus.WAITING:
        raise ValidationError("This entry is no longer waiting: it was booked or removed.")


def do_book_from_waitlist(
    actor, entry: WaitlistEntry, start: datetime.datetime, practitioner, room=None, *, confirm_warnings=False
):
    """Book ``entry``'s patient at ``start`` with ``practitioner`` (and ``room``) for the
    entry's service, location and duration, and mark the entry booked, together or not
    at all. Raises BookingConflict (a ValidationError) when the time is taken, and
    NeedsConfirmation when a booking warning applies and ``confirm_warnings`` is false
    (actions.check_book())."""

    with transaction.atomic():
        locked = WaitlistEntry.objects.select_for_update().filter(pk=entry.pk).first()
        if locked is None or locked.status != WaitlistStatus.WAITING:
            raise ValidationError("This entry is no longer waiting: it was booked or removed.")
        plan = booking_actions.check_book(
            actor,
            patient=entry.patient,
            practitioner=practitioner,
            service=entry.service,
            location=entry.location,
            room=room,
            start=start,
            duration_minutes=entry.duration_minutes,
            confirm_warnings=confirm_warnings,
        )
        appointment = booking_actions.do_book(actor, plan)
        WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistStatus.BOOKED, appointment=appointment)
        audit.record(
            actor,
            AuditAction.UPDATE,
            "waitlist_entry",
            record_id=entry.public_id,
            patient_id=entry.patient.public_id,
            detail="booked from waitlist",
        )
    entry.status, entry.appointment = WaitlistStatus.BOOKED, appointment
    return appointment
