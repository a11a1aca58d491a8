"""The scheduling set-up as declared resources (core/resources.py): locations, rooms,
services, weekly working hours, dated exceptions, time off and closures. Each spec names the rules
(setup.py, hours.py), the API shapes (setup_schemas.py) and the pages (setup_forms.py);
from them come the API routes (api_setup.py), the pages (views/setup.py) and their
entries in the permission table: every role reads (scheduling_setup.view), only the
owner writes (scheduling_setup.manage).

Registered by SchedulingConfig.ready().
"""

import zoneinfo
from collections import defaultdict

from django.contrib import messages
from django.urls import reverse
from django.utils import timezone

from effleura.core import clock
from effleura.core.models import Practice
from effleura.core.resources import ActiveQuery, Api, Pages, Resource, register, rules_of
from effleura.core.values import format_amount
from effleura.scheduling import closures, hours, setup
from effleura.scheduling import setup_forms as forms
from effleura.scheduling import setup_schemas as schemas
from effleura.scheduling.models import Closure, Location, Room, ScheduleException, Service, TimeOff, WorkingHours

NAV = "schedule_setup"
VIEW, MANAGE = setup.VIEW, setup.MANAGE


def _to_setup(record, parent) -> tuple[str, str]:
    return reverse("scheduling:setup"), "Scheduling set-up"


def _to_person(record, person) -> tuple[str, str]:
    return reverse("scheduling:practitioner_hours", args=[person.public_id]), f"Working hours of {person.display_name}"


def _practitioner(actor, user_id):
    return setup.get_practitioner(actor, user_id, key=MANAGE)


def _pages(prefix: str, form, title_new: str, **more) -> Pages:
    return Pages(app="scheduling", nav=NAV, prefix=f"setup/{prefix}", form=form, title_new=title_new, **more)


def _person_pages(prefix: str, form, title_new: str, window: str, **more) -> Pages:
    """A page of a practitioner's hours: new ones are made from the person's page."""
    return _pages(
        prefix, form, title_new, parent=("setup/practitioners/", "user_id"), get_parent=_practitioner,
        parent_of=lambda row: row.practitioner, subtitle=lambda row, person: f"· {person.display_name}",
        window=lambda row, person, title: f"{window or title} · {person.display_name}", back=_to_person, **more,
    )  # fmt: skip


def zone_for(person) -> zoneinfo.ZoneInfo:
    """The zone a practitioner's time off is typed in: their first location's, else the
    first active location's, else the practice's."""
    row = person.working_hours.select_related("location").order_by("location__name").first()
    location = row.location if row else Location.objects.filter(is_active=True).first()
    return location.tz if location else clock.practice_zone()


# Locations ----------------------------------------------------------------------------------------


def _location_initial(location: Location) -> dict:
    initial = {f: getattr(location, f) for f in setup.LOCATION_FIELDS}
    by_day = defaultdict(list)
    for row in location.opening_hours.all():
        by_day[row.weekday].append((row.opens, row.closes))
    for day, key in enumerate(setup.WEEKDAY_KEYS):
        initial[key] = setup.format_day_hours(by_day[day])
    return initial


def _location_data(form, location, parent) -> dict:
    # Hours typed wrongly are marked beside their day; the other fields are still checked.
    data = {f: form.cleaned_data[f] for f in setup.LOCATION_FIELDS}
    week = form.week()
    return data if week is None else data | {"opening_hours": week}


def _after_location(request, saved, parent, created) -> str:
    # A new location opens its own page, where its rooms are added.
    return reverse("scheduling:location_edit", args=[saved.public_id]) if created else reverse("scheduling:setup")


LOCATIONS = Resource(
    name="location", label="location", model=Location, view_key=VIEW, manage_key=MANAGE,
    **rules_of(setup, "location", "locations"),
    api=Api(
        path="/locations", names=("locations", "location"), query=ActiveQuery, filters={"active": "is_active"},
        out=schemas.LocationOut, create=schemas.LocationCreate, patch=schemas.LocationFields,
        refresh=schemas.location_out,
        docs={
            "update": "Change the fields sent; ``opening_hours``, when sent, replaces the whole week.",
            "delete": "Only a location that was never booked; otherwise set ``is_active`` false (422 says so).",
        },
    ),
    pages=_pages(
        "locations/", forms.LocationForm, "New location", template="scheduling/setup_location_form.html",
        title=lambda r: r.name, back=_to_setup, initial=_location_initial,
        new_initial=lambda request: {"time_zone": clock.practice_zone().key, "is_active": True},
        data=_location_data, saved=lambda loc, created: f"{loc.name} saved.", after_save=_after_location,
        delete_label="Delete this location",
        delete_hint="Only a location that was never booked can be deleted; otherwise untick “Active”.",
        deleted=lambda loc: f"{loc.name} deleted.",
        extra_context=lambda loc, parent: {"rooms": loc.rooms.all() if loc else []},
    ),
)  # fmt: skip


# Rooms --------------------------------------------------------------------------------------------

ROOMS = Resource(
    name="room", label="room", model=Room, view_key=VIEW, manage_key=MANAGE,
    **rules_of(setup, "room", "rooms"),
    api=Api(
        path="/rooms", names=("rooms", "room"), query=schemas.RoomQuery,
        filters={"location": "location__public_id", "active": "is_active"},
        out=schemas.RoomOut, create=schemas.RoomCreate, patch=schemas.RoomFields,
        docs={"delete": "Only a room that was never booked; otherwise set ``is_active`` false (422 says so)."},
    ),
    pages=_pages(
        "rooms/", forms.RoomForm, "New room", parent=("setup/locations/", "location_id"),
        get_parent=lambda actor, location_id: setup.get_location(actor, location_id, key=MANAGE),
        parent_of=lambda room: room.location,
        title=lambda r: r.name, subtitle=lambda room, location: f"at {location.name}",
        window=lambda room, location, title: f"{title} · {location.name}",
        back=lambda room, location: (reverse("scheduling:location_edit", args=[location.public_id]), location.name),
        new_initial=lambda request: {"is_active": True},
        data=lambda form, room, location: {**form.cleaned_data, "location": location},
        saved=lambda room, created: f"{room.name} saved.",
        delete_label="Delete this room", delete_hint="A room that was ever booked stays: untick “Active” instead.",
        deleted=lambda room: f"{room.name} deleted.",
    ),
)  # fmt: skip


# Services -----------------------------------------------------------------------------------------


def _service_initial(service: Service) -> dict:
    initial = {f: getattr(service, f) for f in setup.SERVICE_FIELDS if f != "practitioners"}
    initial["durations"] = ", ".join(str(m) for m in service.durations)
    initial["default_price"] = format_amount(service.default_price, Practice.current().decimal_separator)
    initial["practitioners"] = [u.public_id for u in service.practitioners.all()]
    return initial


def _service_data(form, service, parent) -> dict:
    return {**form.cleaned_data, "practitioners": list(form.cleaned_data["practitioners"])}


SERVICES = Resource(
    name="service", label="service", model=Service, view_key=VIEW, manage_key=MANAGE,
    **rules_of(setup, "service", "services"),
    api=Api(
        path="/services", names=("services", "service"), query=schemas.ServiceQuery,
        filters={"active": "is_active", "practitioner": "practitioners__public_id"},
        out=schemas.ServiceOut, create=schemas.ServiceCreate, patch=schemas.ServiceFields,
        refresh=schemas.service_out,
        docs={
            "update": "Change the fields sent; ``practitioners``, when sent, replaces the list.",
            "delete": "Only a service that was never booked; otherwise set ``is_active`` false (422 says so).",
        },
    ),
    pages=_pages(
        "services/", forms.ServiceForm, "New service", title=lambda s: s.name, back=_to_setup, initial=_service_initial,
        new_initial=lambda request: {"currency": "USD", "changeover_minutes": 0, "needs_room": True, "is_active": True},
        data=_service_data,
        saved=lambda service, created: f"{service.name} saved.",
        delete_label="Delete this service",
        delete_hint="A service that was ever booked stays: untick “Active” instead.",
        deleted=lambda service: f"{service.name} deleted.",
    ),
)  # fmt: skip


# Practitioners' weekly hours, dated exceptions, time off --------------------------------------------

HOURS = Resource(
    name="hours", label="working hours", model=WorkingHours, view_key=VIEW, manage_key=MANAGE,
    **rules_of(hours, "working_hours", "working_hours"),
    api=Api(
        path="/working-hours", names=("working_hours", "working_hours_entry"), words=("working_hours", "working_hours"),
        query=schemas.HoursQuery,
        filters={"practitioner": "practitioner__public_id", "location": "location__public_id"},
        out=schemas.WorkingHoursOut, create=schemas.WorkingHoursCreate, patch=schemas.WorkingHoursFields,
        docs={
            "create": "One weekly interval. Refused (422) when it overlaps another of the same person on "
            "that weekday in an overlapping period, at any location.",
            "delete": "Appointments already booked stay booked.",
        },
    ),
    pages=_person_pages(
        "hours/", forms.HoursForm, "Add weekly hours", "Weekly hours", title_edit="Change weekly hours",
        form_kwargs=lambda row: {"many": row is None},
        hint="Local time at the location. One person can’t work two places at once: hours that overlap other hours "
        "on the same day are refused. Appointments already booked don’t move.",
        initial=lambda row: {f: getattr(row, f) for f in hours.HOURS_FIELDS} | {"location": row.location.public_id},
        saved=lambda row, created: "Working hours saved. Appointments already booked are unchanged.",
        delete_label="Remove these hours",
        deleted=lambda row: f"Removed {hours.describe_hours(row)}. Appointments already booked are unchanged.",
    ),
)  # fmt: skip


def _exception_initial(row: ScheduleException) -> dict:
    return {f: getattr(row, f) for f in hours.EXCEPTION_FIELDS} | {
        "location": row.location.public_id,
        "off": row.start is None,
    }


def _exception_data(form, row, person) -> dict | None:
    data = {k: v for k, v in form.cleaned_data.items() if k != "off"} | {"practitioner": person}
    if form.cleaned_data["off"]:
        data |= {"start": None, "end": None}
    elif data["start"] is None and data["end"] is None:
        form.add_error("start", "Give the hours worked that day, or tick “Not working this day”.")
        return None
    return data


EXCEPTIONS = Resource(
    name="exception", label="schedule exception", model=ScheduleException, view_key=VIEW, manage_key=MANAGE,
    **rules_of(hours, "exception", "exceptions"),
    api=Api(
        path="/schedule-exceptions", names=("schedule_exceptions", "schedule_exception"),
        query=schemas.DatedQuery, filters={"practitioner": "practitioner__public_id"}, list_kwargs=("start", "end"),
        out=schemas.ExceptionOut, create=schemas.ExceptionCreate, patch=schemas.ExceptionFields,
        docs={
            "create": "On ``date`` the practitioner works ``start``–``end`` at ``location`` instead of their "
            "weekly hours there, or, with neither, not at all.",
        },
    ),
    pages=_person_pages(
        "exceptions/", forms.ExceptionForm, "Change one day", "", title_edit="Change one day",
        hint="On this date the hours below replace the usual weekly hours at this location, or tick “Not working "
        "this day”. Visits already booked that day don’t move: check the calendar.",
        initial=_exception_initial, data=_exception_data,
        saved=lambda row, created: "Exception saved. Check the calendar for visits booked that day.",
        delete_label="Remove this exception",
        deleted=lambda row: f"Removed the exception for {hours.describe_exception(row)}.",
    ),
)  # fmt: skip


def _time_off_initial(row: TimeOff) -> dict:
    zone = zone_for(row.practitioner)
    # Naive local times: the form would otherwise show aware ones in the server's zone.
    local = {name: getattr(row, name).astimezone(zone).replace(tzinfo=None) for name in ("start", "end")}
    return {**local, "reason": row.reason}


def _time_off_data(form, row, person) -> dict:
    zone = zone_for(person)
    data = dict(form.cleaned_data, practitioner=person)
    for name in ("start", "end"):  # typed in the practitioner's zone, whatever the server's
        data[name] = timezone.make_naive(data[name]).replace(tzinfo=zone)
    return data


def _after_time_off(request, saved, person, created) -> str:
    booked = hours.appointments_during(person, saved.start, saved.end)
    if booked:
        messages.warning(
            request,
            f"{booked} booked appointment{'s' if booked != 1 else ''} fall in this time off: "
            "reschedule or cancel them in the calendar.",
        )
    return reverse("scheduling:practitioner_hours", args=[person.public_id])


TIME_OFF = Resource(
    name="time_off", label="time off", model=TimeOff, view_key=VIEW, manage_key=MANAGE,
    **rules_of(hours, "time_off", "time_off"),
    api=Api(
        path="/time-off", names=("time_off_list", "time_off"), words=("time_off", "time_off"),
        query=schemas.TimeOffQuery, filters={"practitioner": "practitioner__public_id"}, list_kwargs=("start", "end"),
        out=schemas.TimeOffOut, create=schemas.TimeOffCreate, patch=schemas.TimeOffFields,
        docs={
            "create": "The practitioner can't be booked between ``start`` and ``end``. Appointments "
            "already booked then are not moved.",
        },
    ),
    pages=_person_pages(
        "time-off/", forms.TimeOffForm, "Add time off", "Time off", title_edit="Change time off",
        hint=lambda row, person: f"Times in {zone_for(person).key}. No one can book {person.display_name} in this "
        "time; visits already booked are counted for you to move.",
        initial=_time_off_initial, data=_time_off_data, after_save=_after_time_off,
        saved=lambda row, created: "Time off saved.",
        delete_label="Remove this time off", deleted=lambda row: "Time off removed.",
    ),
)  # fmt: skip


# Closures: holidays and dated closures of a location or the whole practice ---------------------


def _closure_initial(row: Closure) -> dict:
    return {f: getattr(row, f) for f in closures.FIELDS} | {
        "location": row.location.public_id if row.location_id else None
    }


def _after_closure(request, saved, parent, created) -> str:
    booked = closures.visits_on_closed_days(saved, now=timezone.now())
    if booked:
        messages.warning(
            request,
            f"{booked} booked visit{'s' if booked != 1 else ''} fall{'s' if booked == 1 else ''} on these days: "
            "move or cancel them in the calendar (the day's page marks it closed).",
        )
    return reverse("scheduling:setup")


CLOSURES = Resource(
    name="closure", label="closure", model=Closure, view_key=VIEW, manage_key=MANAGE,
    **rules_of(closures, "closure", "closures"),
    api=Api(
        path="/closures", names=("closures", "closure"), query=schemas.ClosureQuery,
        list_kwargs=("location", "start", "end"),
        out=schemas.ClosureOut, create=schemas.ClosureCreate, patch=schemas.ClosureFields,
        docs={
            "create": "Nobody can be booked at ``location`` (null: every location) from ``first_day`` to "
            "``last_day``, both inclusive, local dates; ``every_year`` repeats the dates each year. "
            "Visits already booked then are not moved.",
        },
    ),
    pages=_pages(
        "closures/", forms.ClosureForm, "Add a closure", title=lambda row: row.reason, back=_to_setup,
        subtitle=lambda row, parent: closures.describe(row) if row else "",
        hint="Holidays and other days the practice or one location is shut. Nobody can be booked then, and a series "
        "offers other days instead. Visits already booked don’t move: you are told how many to move.",
        initial=_closure_initial,
        data=lambda form, row, parent: {**form.cleaned_data, "location": form.cleaned_data["location"] or None},
        saved=lambda row, created: f"Closure saved: {closures.describe(row)}.", after_save=_after_closure,
        delete_label="Remove this closure", delete_hint="The days open for booking again at once.",
        deleted=lambda row: f"Removed the closure {closures.describe(row)}.",
    ),
)  # fmt: skip


RESOURCES = (LOCATIONS, ROOMS, SERVICES, HOURS, EXCEPTIONS, TIME_OFF, CLOSURES)


def register_all() -> None:
    register(*RESOURCES)
