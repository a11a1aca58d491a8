"""The only way a view, API call or task fetches appointments and series. Each function
asks the permission table (core.access.authorize, which audits a refusal) and audits the
permitted read with the patient's id.

Lists take a date range and do a bounded number of queries whatever the number of
appointments: the list (each visit's own rows, patient and series, joined in), one query
per kind of row many visits share (practitioners, services, locations, rooms:
fetched by id, one instance per row) and one insert of audit events, one per patient
shown.

The look-ups at the end turn the ids a client sends (UUID public_id) into set-up objects
(practitioner, service, location, room) for the booking actions; a wrong id is a field
error (ValidationError), not a 404, since it is the request's content that is wrong.
"""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from effleura.core import audit, careteam
from effleura.core.access import access_one, allowed, authorize
from effleura.core.choices import AuditAction
from effleura.core.models import hash_token
from effleura.core.permissions import has_permission
from effleura.core.values import as_uuid, parse_uuid
from effleura.patients.models import Patient
from effleura.scheduling import feed, waitlist
from effleura.scheduling.choices import HOLDS_TIME, WaitlistStatus
from effleura.scheduling.models import (
    Appointment,
    AppointmentChange,
    CalendarFeed,
    Location,
    Room,
    Series,
    Service,
    WaitlistEntry,
)

MAX_RANGE_DAYS = 62
# A calendar list never returns more than this, whatever the range (a busy 30-practitioner
# clinic books about 250 visits a day; a week view of one location stays well under it).
MAX_LIST = 2000

_RELATED = ("patient", "practitioner", "service", "location", "room", "series")


def appointments():
    """Appointments with everything a calendar shows joined in (one query)."""
    return Appointment.objects.select_related(*_RELATED)


def access_appointment(user, appointment_id, *, key: str = "schedule.view", audit_it: bool = True) -> Appointment:
    """The appointment ``appointment_id`` (its public_id) if ``user`` may use it under
    ``key`` (default: read). Pass ``audit_it=False`` when an action that audits follows.
    A refusal is audited with the patient's id when the appointment exists."""
    appointment_id = as_uuid(appointment_id, "appointment")
    appointment = appointments().filter(public_id=appointment_id).first()
    patient_id = appointment.patient.public_id if appointment is not None else None
    authorize(user, key, patient_id=patient_id, record_id=appointment_id)
    if appointment is None:
        raise Http404("No such appointment.")
    if audit_it:
        allowed(user, key, patient_id=patient_id, record_id=appointment_id)
    return appointment


def access_appointment_history(user, appointment_id) -> tuple[Appointment, list[AppointmentChange]]:
    """The appointment and every change to it, oldest first, each with ``undone`` (a later
    "undo" line takes it back). Three queries."""
    appointment = access_appointment(user, appointment_id, audit_it=False)
    changes = list(AppointmentChange.objects.filter(appointment=appointment).select_related("actor"))
    taken_back = {c.undoes_id for c in changes if c.undoes_id}
    for change in changes:
        change.undone = change.pk in taken_back
    patient_id = appointment.patient.public_id
    allowed(user, "schedule.view", patient_id=patient_id, record_id=appointment.public_id, detail="history")
    return appointment, changes


def check_range(start: datetime.datetime, end: datetime.datetime) -> None:
    """A list's range: aware, in order, at most MAX_RANGE_DAYS long."""
    if start is None or end is None:
        raise ValidationError({"start": "Give the start and end of the range."})
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationError({"start": "Give the range with its UTC offset, e.g. 2025-03-04T00:00:00-06:00."})
    if end <= start:
        raise ValidationError({"end": "The end of the range must come after its start."})
    if end - start > datetime.timedelta(days=MAX_RANGE_DAYS):
        raise ValidationError({"end": f"Ask for at most {MAX_RANGE_DAYS} days at a time."})


# The rows a day's appointments share (a few practitioners, services, locations and rooms
# for hundreds of visits): fetched once each by id (_complete), one instance per row,
# instead of joined in as a new instance on every appointment.
_SHARED = ("practitioner", "service", "location", "room")


# What no calendar, list or badge reads of a patient: left out of the list's join.
_PATIENT_UNUSED = (
    "pronouns", "sex_at_birth", "gender_identity", "phone", "phone_digits", "email", "address_line1",
    "address_line2", "city", "region", "postal_code", "country", "preferred_contact", "emergency_contact_name",
    "emergency_contact_relationship", "emergency_contact_phone", "notes", "status_since", "created_at", "updated_at",
)  # fmt: skip


def _in_range(start, end, *, location=None, practitioner=None, patient=None, holding_only: bool = False, join=_RELATED):
    check_range(start, end)
    found = Appointment.objects.select_related(*join).overlapping(start, end)
    if "patient" in join:
        found = found.defer(*(f"patient__{name}" for name in _PATIENT_UNUSED))
    if location is not None:
        found = found.filter(location=location)
    if practitioner is not None:
        found = found.filter(practitioner=practitioner)
    if patient is not None:
        found = found.filter(patient=patient)
    if holding_only:
        found = found.filter(status__in=HOLDS_TIME)
    return found.order_by("start", "pk")


def _listed(start, end, *, location, practitioner, patient, holding_only):
    """A list's appointments and what _complete sets on each afterwards. The location or
    practitioner asked for is the same row on every appointment: it is not fetched at all
    but set on each. The other shared rows are fetched once each, so a busy day of 400
    visits makes a few dozen model instances for them, not 1,600."""
    known = _known(location=location, practitioner=practitioner)
    found = _in_range(
        start,
        end,
        location=location,
        practitioner=practitioner,
        patient=patient,
        holding_only=holding_only,
        join=[name for name in _RELATED if name not in known and name not in _SHARED],
    )
    return found, known, [name for name in _SHARED if name not in known]


def _known(**rows) -> dict:
    """The rows a list was asked for by, that every appointment in it shares: set on each,
    never fetched. A lazy request.user is set as the user it stands for."""
    known = {}
    for name, row in rows.items():
        while isinstance(row, SimpleLazyObject):  # django-otp wraps auth's lazy user in its own
            row.pk  # noqa: B018 (evaluates the lazy object)
            row = row._wrapped
        if hasattr(type(row), "_meta"):
            known[name] = row
    return known


def _complete(found: list, known: dict, share, have: dict | None = None) -> list:
    """Set on each appointment the rows many share (``share``: one query per kind, by id,
    none for a kind no appointment has) and the ``known`` ones. ``have`` (kind -> rows)
    holds rows the caller fetched already, such as the day view's practitioners and the
    location's rooms: only ids not among them are fetched. What prefetch_related did,
    without its per-instance bookkeeping: 3 ms of a 400-visit day."""
    have = have or {}
    for name in share:
        field = Appointment._meta.get_field(name)
        ids = {getattr(a, field.attname) for a in found} - {None}
        rows = {row.pk: row for row in have.get(name, ()) if row.pk in ids}
        missing = ids - rows.keys()
        if missing:  # as a related access reads
            rows.update(field.related_model._base_manager.in_bulk(missing))
        for appointment in found:
            field.set_cached_value(appointment, rows.get(getattr(appointment, field.attname)))
    for appointment in found:
        for name, row in known.items():
            setattr(appointment, name, row)
    return found


def _audit_shown(user, shown, detail: str) -> None:
    patient_ids = list(dict.fromkeys(a.patient.public_id for a in shown))
    audit.record_many(user, AuditAction.READ, "appointment", patient_ids, detail=detail)


def access_appointments(
    user,
    start: datetime.datetime,
    end: datetime.datetime,
    *,
    location: Location | None = None,
    practitioner=None,
    patient: Patient | None = None,
    holding_only: bool = False,
    limit: int = MAX_LIST,
    have: dict | None = None,
) -> list[Appointment]:
    """Appointments overlapping [start, end) (at most ``limit``), for a calendar: by
    location, practitioner or patient. ``holding_only`` leaves out cancelled ones. At most
    six queries whatever the number of appointments: the list, one per kind of shared row
    (practitioners, services, locations, rooms) and the audit insert. ``have`` (kind ->
    rows, e.g. {"practitioner": [...], "room": [...]}) are rows the page holds already:
    a kind they cover fully needs no query."""
    authorize(user, "schedule.view", patient_id=patient.public_id if patient is not None else None)
    found, known, share = _listed(
        start, end, location=location, practitioner=practitioner, patient=patient, holding_only=holding_only
    )
    found = _complete(list(found[:limit]), known, share, have)
    _audit_shown(user, found, "calendar")
    return found


def access_appointment_page(
    user,
    start: datetime.datetime,
    end: datetime.datetime,
    *,
    page_number=1,
    per_page: int = 100,
    location: Location | None = None,
    practitioner=None,
    patient: Patient | None = None,
    holding_only: bool = False,
):
    """One page of the appointments overlapping [start, end). At most seven queries
    whatever the page's size: the count, the page, one per kind of shared row (as
    access_appointments) and the audit insert."""
    authorize(user, "schedule.view", patient_id=patient.public_id if patient is not None else None)
    found, known, share = _listed(
        start, end, location=location, practitioner=practitioner, patient=patient, holding_only=holding_only
    )
    page = Paginator(found, per_page).get_page(page_number)
    page.object_list = _complete(list(page.object_list), known, share)
    _audit_shown(user, page.object_list, "appointment list")
    return page


def access_series(user, series_id, *, key: str = "schedule.view", audit_it: bool = True) -> tuple[Series, list]:
    """The series ``series_id`` and its appointments (oldest first). Two queries."""
    series_id = as_uuid(series_id, "series")
    series = (
        Series.objects.select_related("patient", "practitioner", "service", "location")
        .filter(public_id=series_id)
        .first()
    )
    patient_id = series.patient.public_id if series is not None else None
    authorize(user, key, patient_id=patient_id, record_id=series_id)
    if series is None:
        raise Http404("No such series.")
    visits = list(appointments().filter(series=series).order_by("start", "pk"))
    if audit_it:
        allowed(user, key, patient_id=patient_id, record_id=series_id, detail="series")
    return series, visits


# Look-ups for the booking actions ----------------------------------------------------------


def _find(model, value, field: str, what: str, **extra):
    key = parse_uuid(value)
    if key is None:
        raise ValidationError({field: f"Give the {what}'s id (a UUID)."})
    found = model.objects.filter(public_id=key, **extra).first()
    if found is None:
        raise ValidationError({field: f"No such {what}."})
    return found


def patient_for_booking(user, patient_id, *, key: str = "appointment.book", field: str = "patient") -> Patient:
    """The patient named in a request body, if ``user`` holds ``key`` (the action that
    follows audits the use; a refusal is audited here)."""
    if not has_permission(user, key):
        authorize(user, key, record_id=patient_id)  # audits the refusal and raises
    patient = _find(Patient, patient_id, field, "patient")
    authorize(user, key, patient_id=patient.public_id, record_id=patient.public_id)
    return patient


def practitioner_by_id(value, field: str = "practitioner"):
    return _find(get_user_model(), value, field, "practitioner")


def service_by_id(value, field: str = "service") -> Service:
    return _find(Service, value, field, "service")


def location_by_id(value, field: str = "location") -> Location:
    return _find(Location, value, field, "location")


def room_by_id(value, field: str = "room") -> Room:
    return _find(Room, value, field, "room")


# The waitlist (scheduling/waitlist.py holds its rule and writes) ----------------------------


def access_waitlist_matches(user, appointment: Appointment) -> list[WaitlistEntry]:
    """``matches_for_appointment`` for ``user``: needs waitlist.view; audits each patient shown."""
    authorize(user, "waitlist.view", record_id=appointment.public_id)
    found = waitlist.matches_for_appointment(appointment)
    if careteam.is_limited(user):  # core/careteam.py: only their care team's patients
        found = [e for e in found if careteam.may_see(user, e.patient.public_id)]
    audit.record_many(
        user, AuditAction.READ, "waitlist_entry", [e.patient.public_id for e in found], detail="waitlist matches"
    )
    return found


def access_freed_appointment(user, appointment_id) -> Appointment:
    """The appointment whose time is offered to the waitlist (usually a cancelled one):
    needs waitlist.view, and is read (and audited) like any appointment."""
    authorize(user, "waitlist.view", record_id=appointment_id)
    return access_appointment(user, appointment_id)


def access_waitlist_page(user, page_number, *, location: Location | None = None, per_page: int = 50):
    """One page of waiting entries (oldest first), optionally at one location; three queries."""
    authorize(user, "waitlist.view")
    entries = WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING).select_related(
        "patient", "practitioner", "service", "location"
    )
    if location is not None:
        entries = entries.filter(location=location)
    entries = careteam.only_team(user, entries)  # core/careteam.py
    page = Paginator(entries.order_by("created_at", "id"), per_page).get_page(page_number)
    audit.record_many(user, AuditAction.READ, "waitlist_entry", [e.patient.public_id for e in page], detail="waitlist")
    return page


def access_waitlist_entry(user, entry_id, *, key: str = "waitlist.view", audit_it: bool = True) -> WaitlistEntry:
    """The entry ``entry_id`` if ``user`` may use it under ``key`` (default: read)."""
    rows = WaitlistEntry.objects.select_related("patient", "practitioner", "service", "location", "appointment")
    return access_one(user, key, rows, entry_id, "waitlist entry", patient_of=lambda e: e.patient, audit_it=audit_it)


# A practitioner's calendar feed (scheduling/feed.py builds it; the key authenticates) --------


def access_feed(raw_key: str, *, now: datetime.datetime | None = None) -> bytes:
    """The calendar behind ``raw_key``. Unknown, revoked, or belonging to someone who may no
    longer have a feed: Http404, so a guess learns nothing. Four queries, whatever the size."""
    now = now or timezone.now()
    found = (
        CalendarFeed.objects.select_related("practitioner")
        .filter(key_hash=hash_token(raw_key), revoked_at__isnull=True)
        .first()
    )
    if found is None or not has_permission(found.practitioner, "calendar_feed.manage"):
        raise Http404("No such calendar.")
    practitioner = found.practitioner
    body = feed.build_calendar(practitioner, feed.feed_appointments(practitioner, now), now=now)
    # One event per fetch, not one per patient: a calendar app polls every hour or so and
    # the feed shows initials only. The event says whose calendar was read, and from where.
    audit.record(practitioner, AuditAction.READ, "calendar_feed", record_id=found.public_id, detail="feed fetched")
    return body


NEXT_VISITS = 5


def access_next_visits(user, patient: Patient, *, limit: int = NEXT_VISITS) -> list[Appointment] | None:
    """The patient's next visits from now (not cancelled), soonest first, for the chart's
    overview; None when the user's role may not see the schedule. One query and the audit
    insert."""
    if not has_permission(user, "schedule.view"):
        return None
    allowed(user, "schedule.view", patient_id=patient.public_id, detail="next visits")
    return list(
        Appointment.objects.filter(patient=patient, start__gte=timezone.now(), status__in=HOLDS_TIME)
        .select_related("practitioner", "service", "location")
        .order_by("start", "id")[:limit]
    )
