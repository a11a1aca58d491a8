"""The practice's scheduling set-up: locations and their opening hours, rooms, services,
practitioners' working hours, dated exceptions, time off, and the booking policy.

Same pattern as every other write: check_*() authorizes (scheduling_setup.manage: the
owner) and validates, raising ValidationError in words for a clinic (a dict of field ->
message when one field is at fault); do_*() writes inside a transaction and appends the
audit event in the same transaction. Reads (get_*, list_*) need scheduling_setup.view,
which every role holds. None of this is patient data, so reads are not audited.

check_save_*() takes the fields to change (all of them for a new record); it merges them
over the record's current values and validates the whole, so a partial update (PATCH) is
checked exactly like a full one.

Weekly patterns are local times at the location; time off is a pair of aware instants.
"""

import datetime
import difflib
import itertools
import zoneinfo
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404

from effleura.core import audit, clock, values, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction, Role
from effleura.core.models import Practice
from effleura.core.phones import clean_phone
from effleura.core.resources import changed_fields, delete_record, get_record, save_record
from effleura.core.values import as_uuid, merge_fields, parse_amount, parse_time
from effleura.scheduling.choices import PlaceOfService, Weekday
from effleura.scheduling.models import (
    LONGEST_CHANGEOVER_MINUTES,
    LONGEST_VISIT_MINUTES,
    Appointment,
    Closure,
    Location,
    OpeningHours,
    Room,
    SchedulingPolicy,
    Series,
    Service,
    WaitlistEntry,
    WorkingHours,
)

CLOSURES_SHOWN = 50  # upcoming closures and yearly holidays on the set-up page
VIEW = "scheduling_setup.view"
MANAGE = "scheduling_setup.manage"
PRACTITIONER_ROLES = (Role.THERAPIST, Role.OWNER)

LONGEST_VISIT = LONGEST_VISIT_MINUTES  # a full working day (models.py: the database holds to it)
DURATION_STEP = 5
MAX_CHANGEOVER = LONGEST_CHANGEOVER_MINUTES
MAX_PRICE = Decimal("9999999.99")  # the column holds 9 digits, 2 after the point


def _largest_price() -> Decimal:
    """The largest service price: what the column holds, or the practice's largest amount if smaller."""
    return min(MAX_PRICE, Practice.current().largest_amount)


WEEKDAY_KEYS = [day.name.lower() for day in Weekday]  # "monday" … "sunday": error keys for a week

User = get_user_model()


# Shared helpers -----------------------------------------------------------------------------------


def get_by_public_id(model, public_id, what: str, *, select=()):
    return get_record(model, public_id, what, select=select)


def clean_text(value, field: str, errors: dict, limit: int) -> str:
    """One line of text (names, addresses) of at most ``limit`` characters, the column's
    length; a NUL character or a longer value is refused under ``field`` in ``errors``."""
    return values.clean_text(value, field, errors, limit=limit, one_line=True)


def clean_weekday(value, field: str, errors: dict) -> int | None:
    try:
        day = None if isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        day = None
    if day not in Weekday.values:
        errors.setdefault(field, "Choose a weekday (0 = Monday … 6 = Sunday).")
        return None
    return day


def hhmm(value: datetime.time | None) -> str:
    return "" if value is None else f"{value:%H:%M}"


def day_name(weekday: int) -> str:
    return Weekday(weekday).label


def save_and_audit(
    actor, model, instance, clean: dict, record_type: str, *, note: str = "", then=None, expected_version=None
):
    """Create or update the record, locked and audited (core.resources.save_record); an
    update from a page or API read of an older version than ``expected_version`` is refused."""
    return save_record(
        actor, model, instance, clean, record_type, note=note, then=then, expected_version=expected_version
    )


def delete_and_audit(actor, instance, record_type: str, *, first=None, expected_version=None) -> None:
    delete_record(actor, instance, record_type, first=first, expected_version=expected_version)


def practitioners_qs():
    """Who may give services and have working hours: active therapists and the owner."""
    return User.objects.filter(is_active=True, role__in=PRACTITIONER_ROLES).order_by("last_name", "first_name")


def clean_practitioner(value, field: str, errors: dict):
    if value in (None, ""):
        errors.setdefault(field, "Choose a practitioner.")
        return None
    if isinstance(value, User):
        user = value
    else:
        try:
            user = User.objects.filter(public_id=as_uuid(value, "practitioner")).first()
        except Http404:
            user = None
    if user is None or not user.is_active or user.role not in PRACTITIONER_ROLES:
        errors.setdefault(field, "Choose an active therapist or the owner.")
        return None
    return user


def clean_location(value, field: str, errors: dict, *, active: bool = True) -> Location | None:
    if value in (None, ""):
        errors.setdefault(field, "Choose a location.")
        return None
    if isinstance(value, Location):
        loc = value
    else:
        try:
            loc = Location.objects.filter(public_id=as_uuid(value, "location")).first()
        except Http404:
            loc = None
    if loc is None:
        errors.setdefault(field, "Choose one of the practice’s locations.")
        return None
    if active and not loc.is_active:
        errors.setdefault(field, f"{loc.name} is inactive; reactivate it first.")
        return None
    return loc


def lock_practitioner(user) -> None:
    """Serialise writes to one person's hours, so two saves at once can't both pass the
    overlap check (SQLite already serialises writers: IMMEDIATE transactions)."""
    User.objects.select_for_update().filter(pk=user.pk).first()


def holds(model, instance_field: str, obj) -> bool:
    return model.objects.filter(**{instance_field: obj}).exists()


# Reading ------------------------------------------------------------------------------------------


def list_locations(actor, *, active_only: bool = False):
    authorize(actor, VIEW)
    found = Location.objects.prefetch_related("opening_hours", "rooms")
    return found.filter(is_active=True) if active_only else found


def get_location(actor, location_id, *, key: str = VIEW) -> Location:
    authorize(actor, key, record_id=location_id)
    return get_by_public_id(Location, location_id, "location")


def list_rooms(actor, *, location=None):
    authorize(actor, VIEW)
    found = Room.objects.select_related("location")
    return found.filter(location=location) if location is not None else found


def get_room(actor, room_id, *, key: str = VIEW) -> Room:
    authorize(actor, key, record_id=room_id)
    return get_by_public_id(Room, room_id, "room", select=["location"])


def list_services(actor, *, active_only: bool = False):
    authorize(actor, VIEW)
    found = Service.objects.prefetch_related("practitioners")
    return found.filter(is_active=True) if active_only else found


def get_service(actor, service_id, *, key: str = VIEW) -> Service:
    authorize(actor, key, record_id=service_id)
    found = Service.objects.filter(public_id=as_uuid(service_id, "service")).prefetch_related("practitioners").first()
    if found is None:
        raise Http404("No such service.")
    return found


def get_practitioner(actor, user_id, *, key: str = VIEW):
    """A member of staff whose hours may be kept (any user with a practitioner role, active or not)."""
    authorize(actor, key, record_id=user_id)
    user = User.objects.filter(public_id=as_uuid(user_id, "practitioner"), role__in=PRACTITIONER_ROLES).first()
    if user is None:
        raise Http404("No such practitioner.")
    return user


def get_policy(actor) -> SchedulingPolicy:
    authorize(actor, VIEW)
    return SchedulingPolicy.current()


# Time zones ---------------------------------------------------------------------------------------


def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def clean_time_zone(value) -> str:
    """A region's IANA name (America/Chicago), which follows its daylight-saving rules.

    Abbreviations and fixed offsets (EST, CST6CDT, Etc/GMT+5) are refused: "EST" is five
    hours behind UTC all year, so a New York clinic set to it would be an hour off all
    summer. UTC is allowed for a practice that really wants it.
    """
    text = str(value or "").strip().replace(" ", "_")
    if not text:
        raise ValidationError("Choose the location’s time zone, e.g. America/Chicago.")
    names = _zone_names()
    name = names.get(text.lower())
    if name in ("UTC", "Etc/UTC"):
        return "UTC"
    if name is None:
        close = difflib.get_close_matches(text, list(names.values()), n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]}?" if close and "/" in close[0] else ""
        raise ValidationError(
            f"“{text[:60]}” is not a time zone we know.{hint} Use a region and city, e.g. America/Chicago."
        )
    if "/" not in name or name.startswith("Etc/") or name.startswith("SystemV/"):
        raise ValidationError(
            f"“{name}” is a fixed offset or abbreviation that ignores daylight saving time. "
            "Choose the region and city instead, e.g. America/New_York."
        )
    return name


# Locations and opening hours ----------------------------------------------------------------------

LOCATION_FIELDS = [
    "name", "address_line1", "city", "region", "postal_code", "phone", "time_zone", "place_of_service", "is_active",
]  # fmt: skip
LOCATION_DEFAULTS = {f: "" for f in LOCATION_FIELDS} | {
    "time_zone": "",
    "is_active": True,
    "place_of_service": PlaceOfService.OFFICE,
}


def parse_day_hours(text: str) -> list[tuple[datetime.time, datetime.time]]:
    """'08:00-12:00, 13:00-18:00' -> [(08:00, 12:00), (13:00, 18:00)]; empty -> closed.
    Raises ValidationError with a message for a person."""
    intervals = []
    for part in str(text or "").replace(";", ",").split(","):
        part = part.strip().replace("–", "-").replace("—", "-")
        if not part:
            continue
        opens, sep, closes = part.partition("-")
        errors: dict = {}
        start = parse_time(opens.strip(), "x", errors) if sep else None
        end = parse_time(closes.strip(), "x", errors) if sep else None
        if not sep or errors:
            raise ValidationError(f"“{part[:40]}” is not a time range; write it as 09:00-17:00.")
        intervals.append((start, end))
    return intervals


def format_day_hours(intervals) -> str:
    """The inverse of parse_day_hours: [(08:00, 12:00)] -> '08:00-12:00'."""
    return ", ".join(f"{hhmm(a)}-{hhmm(b)}" for a, b in intervals)


def clean_week(intervals) -> list[dict]:
    """Validate a week of intervals [{"weekday", "opens", "closes"}]: closes after opens and
    no two overlapping on one day (touching is fine). Errors are keyed by weekday name."""
    errors: dict[str, str] = {}
    clean = []
    for item in intervals or []:
        if not isinstance(item, dict) or set(item) - {"weekday", "opens", "closes"}:
            raise ValidationError({"opening_hours": "Give each interval as weekday, opens and closes."})
        day = clean_weekday(item.get("weekday"), "opening_hours", errors)
        if day is None:
            continue
        key = WEEKDAY_KEYS[day]
        opens = parse_time(item.get("opens"), key, errors)
        closes = parse_time(item.get("closes"), key, errors)
        if opens is None or closes is None:
            continue
        if closes <= opens:
            errors.setdefault(key, f"{day_name(day)}: closing time {hhmm(closes)} must be after {hhmm(opens)}.")
            continue
        clean.append({"weekday": day, "opens": opens, "closes": closes})
    clean.sort(key=lambda i: (i["weekday"], i["opens"]))
    for prev, cur in itertools.pairwise(clean):
        if prev["weekday"] == cur["weekday"] and cur["opens"] < prev["closes"]:
            errors.setdefault(
                WEEKDAY_KEYS[cur["weekday"]],
                f"{day_name(cur['weekday'])}: {hhmm(prev['opens'])}–{hhmm(prev['closes'])} and "
                f"{hhmm(cur['opens'])}–{hhmm(cur['closes'])} overlap.",
            )
    if errors:
        raise ValidationError(errors)
    return clean


def check_save_location(actor, data: dict, location: Location | None = None) -> dict:
    """Validate a new location (``location`` None) or changes to one. ``data`` may carry
    ``opening_hours``: the whole week as [{"weekday", "opens", "closes"}], replacing it."""
    authorize(actor, MANAGE, record_id=location.public_id if location else "")
    data = dict(data)
    week = data.pop("opening_hours", None)
    merged = merge_fields(location, LOCATION_FIELDS, LOCATION_DEFAULTS, data)
    errors: dict[str, str] = {}
    clean = {
        f: clean_text(merged[f], f, errors, Location._meta.get_field(f).max_length)
        for f in LOCATION_FIELDS
        if f not in ("is_active", "place_of_service")
    }
    clean["is_active"] = bool(merged["is_active"])
    place = str(merged["place_of_service"] or PlaceOfService.OFFICE).strip()
    if place not in PlaceOfService.values:
        errors["place_of_service"] = "Choose a place of service: 11 office, 12 home, 21 or 22 hospital …"
    clean["place_of_service"] = place
    if "phone" not in errors:
        clean["phone"] = clean_phone(clean["phone"], "phone", errors)
    if not clean["name"]:
        errors["name"] = "Give the location a name, e.g. Main Street."
    elif (
        "name" not in errors
        and Location.objects.filter(name__iexact=clean["name"]).exclude(pk=getattr(location, "pk", None)).exists()
    ):
        errors["name"] = f"There is already a location called {clean['name']}."
    try:
        clean["time_zone"] = clean_time_zone(merged["time_zone"])
    except ValidationError as exc:
        errors["time_zone"] = exc.messages[0]
    if week is not None:
        try:
            clean["opening_hours"] = clean_week(week)
        except ValidationError as exc:
            errors.update({k: " ".join(v) for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    return clean


def do_save_location(actor, clean: dict, location: Location | None = None, *, expected_version=None) -> Location:
    """Create a location (``location`` None) or update ``location`` from ``clean``, the dict
    check_save_location() returned (call it first). Locks, saves and audits in one
    transaction (core.resources.save_record), replacing the opening hours when ``clean``
    gives them; a name taken meanwhile raises ValidationError on ``name``, a version other
    than ``expected_version`` (the one the editor loaded) StaleVersion. Returns it."""
    clean = dict(clean)
    week = clean.pop("opening_hours", None)

    def set_week(saved: Location) -> None:
        if week is not None:
            saved.opening_hours.all().delete()
            OpeningHours.objects.bulk_create(OpeningHours(location=saved, **item) for item in week)

    note = "opening hours set" if week is not None else ""
    unique = {"name": f"There is already a location called {clean.get('name', '')}."}
    return save_record(
        actor, Location, location, clean, "location", note=note, then=set_week, unique_message=unique,
        expected_version=expected_version,
    )  # fmt: skip


def check_delete_location(actor, location: Location) -> None:
    """A location that was ever booked stays (its appointments need it): deactivate it."""
    authorize(actor, MANAGE, record_id=location.public_id)
    if holds(Appointment, "location", location) or holds(Series, "location", location):
        raise ValidationError(
            f"{location.name} has appointments, so it can’t be deleted. Mark it inactive instead: "
            "it stays in the history and nothing new can be booked there."
        )
    if holds(WaitlistEntry, "location", location):
        raise ValidationError(
            f"Patients on the waitlist are waiting for {location.name}. Remove them from the waitlist, "
            "or mark the location inactive instead."
        )


def do_delete_location(actor, location: Location, *, expected_version=None) -> None:
    """Delete ``location`` and its rooms once check_delete_location() allowed it (nothing was
    booked there). Locks the row, deletes the rooms then the location and audits it in one
    transaction (core.resources.delete_record); refused (StaleVersion) when the location was
    saved since ``expected_version``. Returns None."""
    # Rooms are protected; none was booked (checked above).
    delete_record(
        actor, location, "location", first=lambda: location.rooms.all().delete(), expected_version=expected_version
    )


# Rooms --------------------------------------------------------------------------------------------

ROOM_FIELDS = ["location", "name", "is_active"]


def check_save_room(actor, data: dict, room: Room | None = None) -> dict:
    """May ``actor`` save this room (new, or a change to ``room``: fields not given keep their
    value)? Needs scheduling_setup.manage. Requires a location and a name unique within it,
    and refuses moving a room with appointments to another location (ValidationError with a
    dict of field -> message). Returns the clean fields for do_save_room()."""
    authorize(actor, MANAGE, record_id=room.public_id if room else "")
    merged = merge_fields(room, ROOM_FIELDS, {"location": None, "name": "", "is_active": True}, data)
    errors: dict[str, str] = {}
    clean = {
        "location": clean_location(merged["location"], "location", errors, active=room is None),
        "name": clean_text(merged["name"], "name", errors, Room._meta.get_field("name").max_length),
        "is_active": bool(merged["is_active"]),
    }
    moved = room is not None and clean["location"] is not None and clean["location"].pk != room.location_id
    if moved and holds(Appointment, "room", room):
        errors["location"] = "This room has appointments, so it can’t move to another location."
    if not clean["name"]:
        errors["name"] = "Give the room a name, e.g. Room 1 or Table A."
    elif clean["location"] is not None:
        same = Room.objects.filter(location=clean["location"], name__iexact=clean["name"])
        if same.exclude(pk=getattr(room, "pk", None)).exists():
            errors["name"] = f"{clean['location'].name} already has a room called {clean['name']}."
    if errors:
        raise ValidationError(errors)
    return clean


def do_save_room(actor, clean: dict, room: Room | None = None, *, expected_version=None) -> Room:
    """Create a room (``room`` None) or update ``room`` from ``clean``, the dict
    check_save_room() returned (call it first). Locks, saves and audits in one transaction
    (core.resources.save_record); a name taken meanwhile raises ValidationError on ``name``,
    a version other than ``expected_version`` StaleVersion. Returns the saved room."""
    where = clean["location"].name if clean.get("location") else "The location"
    unique = {"name": f"{where} already has a room called {clean.get('name', '')}."}
    return save_record(actor, Room, room, clean, "room", unique_message=unique, expected_version=expected_version)


def check_delete_room(actor, room: Room) -> None:
    """May ``actor`` delete ``room``? Needs scheduling_setup.manage (PermissionDenied
    otherwise); raises ValidationError when the room has appointments (mark it inactive
    instead). Returns None; then call do_delete_room()."""
    authorize(actor, MANAGE, record_id=room.public_id)
    if holds(Appointment, "room", room):
        raise ValidationError(
            f"{room.name} has appointments, so it can’t be deleted. Mark it inactive instead: "
            "it stays in the history and is no longer offered for booking."
        )


def do_delete_room(actor, room: Room, *, expected_version=None) -> None:
    """Delete ``room`` once check_delete_room() allowed it: locks the row, deletes it and audits
    it in one transaction (core.resources.delete_record); StaleVersion when saved since
    ``expected_version``. Returns None."""
    delete_record(actor, room, "room", expected_version=expected_version)


# Services -----------------------------------------------------------------------------------------

SERVICE_FIELDS = [
    "name", "durations", "default_price", "currency", "changeover_minutes", "practitioners",
    "needs_room", "bookable_online", "is_active",
]  # fmt: skip
SERVICE_DEFAULTS = {
    "name": "", "durations": [], "default_price": Decimal("0.00"), "currency": "USD", "changeover_minutes": 0,
    "practitioners": [], "needs_room": True, "bookable_online": False, "is_active": True,
}  # fmt: skip


def clean_durations(value) -> list[int]:
    """Minutes a service can last: distinct, each a multiple of 5 from 5 to 480; the first
    is the default. Accepts a list or '60, 30, 90'."""
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").replace(" ", ",").split(",") if v]
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError("Give at least one length in minutes, e.g. 60 or 30, 60, 90.")
    minutes = []
    for item in value:
        item = float(item) if isinstance(item, Decimal) else item  # a JSON number from the API
        try:
            if isinstance(item, bool) or (isinstance(item, float) and not item.is_integer()):
                raise ValueError
            n = int(item)
        except (TypeError, ValueError):
            raise ValidationError(f"“{str(item)[:20]}” is not a number of minutes.") from None
        if not DURATION_STEP <= n <= LONGEST_VISIT or n % DURATION_STEP:
            raise ValidationError(
                f"{n} minutes won’t do: each length is a multiple of {DURATION_STEP} minutes "
                f"from {DURATION_STEP} to {LONGEST_VISIT}."
            )
        if n in minutes:
            raise ValidationError(f"{n} minutes is listed twice.")
        minutes.append(n)
    return minutes


def _price(value, errors: dict) -> Decimal | None:
    # The one reader of amounts (core.values.parse_amount): typed text by the practice's
    # decimal separator; 0 for a free visit; at most what the column holds and the practice allows.
    if isinstance(value, str) and not value.strip():
        value = None
    return parse_amount(
        value, "default_price", errors, maximum=_largest_price(),
        empty_message="Give the price, e.g. 95.00 (0 for a free visit).",
    )  # fmt: skip


def check_save_service(actor, data: dict, service: Service | None = None) -> dict:
    """May ``actor`` save this service (new, or a change to ``service``: fields not given keep
    their value)? Needs scheduling_setup.manage. Validates a unique name, the durations,
    price, three-letter currency, changeover minutes and the practitioners (ValidationError
    with a dict of field -> message). Returns the clean fields for do_save_service()."""
    authorize(actor, MANAGE, record_id=service.public_id if service else "")
    data = dict(data)
    if "practitioners" in data:
        people = data.pop("practitioners")
    else:
        people = list(service.practitioners.all()) if service is not None else []
    merged = merge_fields(service, [f for f in SERVICE_FIELDS if f != "practitioners"], SERVICE_DEFAULTS, data)
    errors: dict[str, str] = {}
    clean: dict = {"name": clean_text(merged["name"], "name", errors, Service._meta.get_field("name").max_length)}
    if not clean["name"]:
        errors["name"] = "Give the service a name, e.g. Clinical massage."
    elif (
        "name" not in errors
        and Service.objects.filter(name__iexact=clean["name"]).exclude(pk=getattr(service, "pk", None)).exists()
    ):
        errors["name"] = f"There is already a service called {clean['name']}."
    try:
        clean["durations"] = clean_durations(merged["durations"])
    except ValidationError as exc:
        errors["durations"] = exc.messages[0]
    clean["default_price"] = _price(merged["default_price"], errors)
    currency = str(merged["currency"] or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        errors["currency"] = "Give the currency as a three-letter code, e.g. USD, CAD or EUR."
    clean["currency"] = currency
    try:
        changeover = merged["changeover_minutes"]
        if isinstance(changeover, bool) or changeover in (None, ""):
            raise ValueError
        clean["changeover_minutes"] = int(changeover)
        if not 0 <= clean["changeover_minutes"] <= MAX_CHANGEOVER:
            raise ValueError
    except (TypeError, ValueError):
        errors["changeover_minutes"] = f"Give the changeover in minutes, from 0 to {MAX_CHANGEOVER}."
    people = people or []
    if not isinstance(people, list | tuple):
        errors["practitioners"] = "Give the practitioners as a list."
        people = []
    chosen = []
    for person in people:
        user = clean_practitioner(person, "practitioners", errors)
        if user is not None and user not in chosen:
            chosen.append(user)
    clean["practitioners"] = chosen
    for flag in ("needs_room", "bookable_online", "is_active"):
        clean[flag] = bool(merged[flag])
    if errors:
        raise ValidationError(errors)
    return clean


def do_save_service(actor, clean: dict, service: Service | None = None, *, expected_version=None) -> Service:
    """Create a service (``service`` None) or update ``service`` from ``clean``, the dict
    check_save_service() returned (call it first). Locks, saves, sets its practitioners and
    audits in one transaction (core.resources.save_record); a name taken meanwhile raises
    ValidationError on ``name``, a version other than ``expected_version`` StaleVersion.
    Returns the saved service."""
    clean = dict(clean)
    people = clean.pop("practitioners")
    before = {u.pk for u in service.practitioners.all()} if service is not None else set()
    changed = service is not None and before != {u.pk for u in people}
    return save_record(
        actor, Service, service, clean, "service", note="practitioners" if changed else "",
        then=lambda saved: saved.practitioners.set(people),
        unique_message={"name": f"There is already a service called {clean.get('name', '')}."},
        expected_version=expected_version,
    )  # fmt: skip


def check_delete_service(actor, service: Service) -> None:
    """May ``actor`` delete ``service``? Needs scheduling_setup.manage (PermissionDenied
    otherwise); raises ValidationError when appointments, series or waitlist entries name it
    (mark it inactive instead). Returns None; then call do_delete_service()."""
    authorize(actor, MANAGE, record_id=service.public_id)
    if any(holds(model, "service", service) for model in (Appointment, Series, WaitlistEntry)):
        raise ValidationError(
            f"{service.name} has appointments or waitlist entries, so it can’t be deleted. Mark it inactive "
            "instead: it stays in the history and can no longer be booked."
        )


def do_delete_service(actor, service: Service, *, expected_version=None) -> None:
    """Delete ``service`` once check_delete_service() allowed it: locks the row, deletes it and
    audits it in one transaction (core.resources.delete_record); StaleVersion when saved
    since ``expected_version``. Returns None."""
    delete_record(actor, service, "service", expected_version=expected_version)


# The booking policy -------------------------------------------------------------------------------

# field: (lowest, highest, what a person reads when it is out of range)
POLICY_LIMITS = {
    "late_cancel_hours": (0, 720, "Give the late-cancellation window in hours, from 0 to 720 (30 days)."),
    "minimum_notice_minutes": (0, 43_200, "Give the minimum notice in minutes, from 0 to 43,200 (30 days)."),
    "slot_step_minutes": (5, 120, "Offer a start every 5 to 120 minutes."),
    "reminder_hours_before": (1, 336, "Send reminders 1 to 336 hours (14 days) before."),
}
POLICY_FLAGS = ["send_confirmations", "send_reminders"]
POLICY_FIELDS = [*POLICY_LIMITS, *POLICY_FLAGS]


def check_save_policy(actor, data: dict) -> dict:
    """May ``actor`` change the scheduling policy (fields not given keep their value)? Needs
    scheduling_setup.manage. Each number must be a whole number within POLICY_LIMITS; the
    flags are taken as booleans (ValidationError with a dict of field -> message). Returns
    the clean fields for do_save_policy()."""
    authorize(actor, MANAGE)
    merged = merge_fields(SchedulingPolicy.current(), POLICY_FIELDS, {}, data)
    errors: dict[str, str] = {}
    clean: dict = {}
    for name, (low, high, message) in POLICY_LIMITS.items():
        value = merged[name]
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            errors[name] = message
            continue
        number = value
        if not low <= number <= high:
            errors[name] = message
        clean[name] = number
    for name in POLICY_FLAGS:
        clean[name] = bool(merged[name])
    if errors:
        raise ValidationError(errors)
    return clean


def do_save_policy(actor, clean: dict, *, expected_version=None) -> SchedulingPolicy:
    """Save ``clean``, the dict check_save_policy() returned (call it first), on the one policy
    row (created if there is none). In one transaction: locks the row, refuses
    (StaleVersion) when it was saved since ``expected_version`` (the defaults are version
    1), saves one version more and audits the changed fields. Returns the policy."""
    with transaction.atomic():
        policy = SchedulingPolicy.objects.select_for_update().order_by("pk").first() or SchedulingPolicy()
        versions.check_version(policy, expected_version, "booking policy")
        detail = changed_fields(policy, clean) if policy.pk else "created"
        for name, value in clean.items():
            setattr(policy, name, value)
        versions.bump(policy)
        policy.save()
        audit.record(actor, AuditAction.UPDATE, "scheduling_policy", record_id=policy.pk, detail=detail[:200])
    return policy


# The set-up overview ------------------------------------------------------------------------------


def overview(actor) -> dict:
    """Everything the set-up index shows, in a fixed number of queries whatever its size."""
    authorize(actor, VIEW)
    hours = list(
        WorkingHours.objects.select_related("location").order_by("practitioner_id", "location__name", "weekday")
    )
    by_person: dict[int, list] = {}
    for row in hours:
        by_person.setdefault(row.practitioner_id, []).append(row)
    people = list(practitioners_qs().annotate(services_count=Count("services")))
    for person in people:
        person.hours_rows = by_person.get(person.pk, [])
    return {
        "locations": list(list_locations(actor)),
        "services": list(list_services(actor)),
        "practitioners": people,
        "policy": SchedulingPolicy.current(),
        "closures": list(
            Closure.objects.select_related("location")
            .filter(Q(every_year=True) | Q(last_day__gte=clock.today()))
            .order_by("location__name", "first_day", "pk")[:CLOSURES_SHOWN]
        ),
    }
