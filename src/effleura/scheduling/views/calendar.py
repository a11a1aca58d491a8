"""Scheduling pages: the calendar (day per location, week per practitioner, a therapist's
today list). The appointment pages (book, see, reschedule, cancel, change status) are in
views/appointments.py; both are routed here. URL names are listed in core/permissions.py
URL_RULES.

Thin: parse, access_*, render. The rules live in scheduling/actions.py (booking and
changes), calendars.py (free and working time) and booking.py (the conflict message);
views/grid.py lays the appointments out on the time grid.
"""

import datetime
import urllib.parse
from collections import Counter

from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone

from effleura.core.permissions import has_permission
from effleura.core.values import parse_date
from effleura.scheduling import access, actions, badges, closures, visit_rules
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Location
from effleura.scheduling.setup import list_locations, practitioners_qs
from effleura.scheduling.views import appointments, grid, grid_html
from effleura.scheduling.views.calendar_support import (
    ONE_DAY,
    day_span,
    home_tz,
    local_labels,
    next_actions,
    pick,
    today_in,
    url_with,
    working_time,
)

# The day view -----------------------------------------------------------------------------


def day(request):
    """One location, one day: a column per practitioner (or per room), a row every 15 minutes."""
    locations = list(list_locations(request.user, active_only=True))
    location = pick(locations, request.GET.get("location")) or (locations[0] if locations else None)
    by = "room" if request.GET.get("by") == "room" else "practitioner"
    tz = location.tz if location else home_tz(locations)
    the_day = parse_date(request.GET.get("date"), "date", {}, default=today_in(tz))
    context = {
        "nav": "calendar",
        "locations": locations,
        "location": location,
        "by": by,
        "day": the_day,
        "tz_name": location.time_zone if location else None,
        "statuses": AppointmentStatus.choices,
        "nav_links": _nav_links("scheduling:day", the_day, ONE_DAY, "day", location=location, by=by),
    }
    if location is None:
        return render(request, "scheduling/calendar_day.html", context)

    start, end = day_span(the_day, tz)
    context["closed"] = closures.closed_days(location, the_day, the_day).get(the_day, "")
    # The practitioners (for their columns) and the location's rooms are on the page
    # already: the list sets them on its visits instead of fetching them again.
    practitioners = list(practitioners_qs()) if by == "practitioner" else []
    have = {"practitioner": practitioners, "room": location.rooms.all()}
    shown = access.access_appointments(request.user, start=start, end=end, location=location, have=have)
    held = [a for a in shown if a.holds_time]
    context["cancelled"] = [a for a in shown if not a.holds_time]
    badges.apply(request.user, held)
    can_book = has_permission(request.user, "appointment.book")
    can_move = has_permission(request.user, "appointment.change")
    hours = grid.time_minutes(
        (h.opens, h.closes) for h in location.opening_hours.all() if h.weekday == the_day.weekday()
    )
    if by == "room":
        columns, placed = _room_columns(location, the_day, held)
    else:
        columns, placed = _practitioner_columns(location, the_day, held, start, end, practitioners)
    layout = grid.build(columns, placed, hours)
    for column in layout.columns:
        for block in column.blocks:
            block.draggable = can_move and visit_rules.reschedule_refusal(block.appointment.status) is None
    book_url = reverse("scheduling:book") if can_book else ""
    grid_html.render(layout, book_url=book_url, show="practitioner" if by == "room" else "room")
    context.update({"grid": layout, "book_url": book_url})
    return render(request, "scheduling/calendar_day.html", context)


def _room_columns(location, the_day, held):
    """A column per active room (and "No room" when a visit has none), and who goes where."""
    tz, base = location.tz, {"location": location.public_id}
    columns = [
        grid.Column(
            f"r:{r.public_id}", r.name, the_day, tz, query=urllib.parse.urlencode({**base, "room": r.public_id})
        )
        for r in location.rooms.all()
        if r.is_active
    ]
    placed: dict = {}
    for a in held:
        placed.setdefault(f"r:{a.room.public_id}" if a.room else "r:", []).append(a)
    known = {c.key for c in columns}
    for a in held:  # a room since retired still shows what was booked in it
        if a.room is not None and f"r:{a.room.public_id}" not in known:
            known.add(f"r:{a.room.public_id}")
            columns.append(grid.Column(f"r:{a.room.public_id}", a.room.name, the_day, tz))
    if "r:" in placed:
        columns.append(grid.Column("r:", "No room", the_day, tz, query=urllib.parse.urlencode(base)))
    return columns, placed


def _practitioner_columns(location, the_day, held, start, end, practitioners):
    """A column per practitioner (of ``practitioners``, the active ones) who works at
    ``location`` that day or has a visit there, shaded outside their working time; and who
    goes where."""
    tz = location.tz
    practitioners = list(practitioners)
    listed = {p.pk for p in practitioners}
    for a in held:  # someone who has since left still shows what they had booked
        if a.practitioner_id not in listed:
            listed.add(a.practitioner_id)
            practitioners.append(a.practitioner)
    working = working_time(location, practitioners, start, end)
    booked = {a.practitioner_id for a in held}
    week_path = reverse("scheduling:week")  # once, not once a column (url_with would)
    columns = []
    for p in practitioners:
        minutes = grid.minutes_on(working[p.pk], the_day, tz)
        if not minutes and p.pk not in booked:
            continue  # not working here that day, nothing booked: no column
        query = urllib.parse.urlencode({"location": location.public_id, "practitioner": p.public_id})
        week_url = f"{week_path}?" + urllib.parse.urlencode(
            {"practitioner": p.public_id, "date": the_day.isoformat(), "location": location.public_id}
        )
        columns.append(
            grid.Column(f"p:{p.public_id}", p.display_name, the_day, tz, working=minutes, query=query, href=week_url)
        )
    placed: dict = {}
    for a in held:
        placed.setdefault(f"p:{a.practitioner.public_id}", []).append(a)
    return columns, placed


def _nav_links(name, the_day, step, unit, **params):
    def link(value):
        return url_with(name, date=value.isoformat(), **{k: getattr(v, "public_id", v) for k, v in params.items()})

    return {
        "previous": (f"Previous {unit}", link(the_day - step)),
        "today": ("Today" if unit == "day" else "This week", link(today_in(_tz_of(params)))),
        "next": (f"Next {unit}", link(the_day + step)),
    }


def _tz_of(params):
    location = params.get("location")
    return location.tz if isinstance(location, Location) else timezone.get_current_timezone()


def _default_practitioner(request, practitioners):
    """The signed-in practitioner; for anyone else the first who gives a service (one query)."""
    if request.user in practitioners:
        return request.user
    giving = practitioners_qs().filter(services__is_active=True).first()
    return giving or (practitioners[0] if practitioners else None)


# The week view ----------------------------------------------------------------------------


def week(request):
    """One practitioner, Monday to Sunday, at every location; shaded by their working time
    at one location (?location=, else where most of the week's visits are)."""
    practitioners = list(practitioners_qs())
    locations = list(list_locations(request.user, active_only=True))
    practitioner = pick(practitioners, request.GET.get("practitioner")) or _default_practitioner(request, practitioners)
    location = pick(locations, request.GET.get("location"))
    tz = location.tz if location else home_tz(locations)
    the_day = parse_date(request.GET.get("date"), "date", {}, default=today_in(tz))
    monday = the_day - datetime.timedelta(days=the_day.weekday())
    start, end = day_span(monday, tz, days=7)
    held = []
    if practitioner is not None:
        have = {"location": locations, "room": [room for loc in locations for room in loc.rooms.all()]}
        shown = access.access_appointments(request.user, start=start, end=end, practitioner=practitioner, have=have)
        held = [a for a in shown if a.holds_time]
    if location is None and locations:
        busiest = Counter(a.location_id for a in held).most_common(1)
        location = next((loc for loc in locations if busiest and loc.pk == busiest[0][0]), locations[0])
    context = {
        "nav": "week",
        "practitioners": practitioners,
        "practitioner": practitioner,
        "location": location,
        "week_locations": locations,
        "day": the_day,
        "monday": monday,
        "statuses": AppointmentStatus.choices,
        "nav_links": _nav_links(
            "scheduling:week", monday, datetime.timedelta(days=7), "week", practitioner=practitioner, location=location
        ),
        "locations": None,
    }
    if practitioner is None:
        return render(request, "scheduling/calendar_week.html", context)

    badges.apply(request.user, held)
    working = working_time(location, [practitioner], start, end)[practitioner.pk] if location else []
    today = today_in(tz)
    where = location.public_id if location else ""
    query = urllib.parse.urlencode({"location": where, "practitioner": practitioner.public_id})
    columns, placed = [], {}
    for offset in range(7):
        day_ = monday + datetime.timedelta(days=offset)
        key = f"d:{day_.isoformat()}"
        columns.append(
            grid.Column(
                key,
                f"{day_:%a} {day_.day} {day_:%b}",
                day_,
                tz,
                working=grid.minutes_on(working, day_, tz),
                query=query,
                href=url_with("scheduling:day", date=day_.isoformat(), location=where),
                is_today=day_ == today,
            )
        )
        placed[key] = [a for a in held if a.start.astimezone(tz).date() == day_]
    hours = grid.time_minutes((h.opens, h.closes) for h in location.opening_hours.all()) if location else []
    layout = grid.build(columns, placed, hours)
    can_move = has_permission(request.user, "appointment.change")
    for column in layout.columns:
        for block in column.blocks:
            block.draggable = can_move and visit_rules.reschedule_refusal(block.appointment.status) is None
    book_url = reverse("scheduling:book") if has_permission(request.user, "appointment.book") else ""
    grid_html.render(layout, book_url=book_url, show="location")
    context.update(
        {
            "grid": layout,
            "book_url": book_url,
            "tz_names": sorted({location.time_zone} if location else set()),
        }
    )
    return render(request, "scheduling/calendar_week.html", context)


# A therapist's day ---------------------------------------------------------------------------


def today(request):
    """The appointments of one practitioner today (their own by default), with status buttons."""
    practitioners = list(practitioners_qs())
    practitioner = pick(practitioners, request.GET.get("practitioner")) or _default_practitioner(request, practitioners)
    locations = list(Location.objects.filter(is_active=True))
    tz = home_tz(locations)
    the_day = today_in(tz)
    appointments = []
    if practitioner is not None:
        start, end = day_span(the_day, tz)
        appointments = access.access_appointments(
            request.user, start=start, end=end, practitioner=practitioner, have={"location": locations}
        )
        badges.apply(request.user, appointments)
        window = actions.start_window()
        for a in appointments:
            local_labels(a)
            next_actions(request.user, a, window=window)
    context = {
        "nav": "today",
        "practitioner": practitioner,
        # Others choose whose day to see; a therapist sees their own without a chooser.
        "practitioners": practitioners if request.user not in practitioners or len(practitioners) > 1 else None,
        "day": the_day,
        "appointments": appointments,
        "next": request.get_full_path(),
    }
    return render(request, "scheduling/calendar_today.html", context)


urlpatterns = [
    path("", day, name="day"),
    path("week/", week, name="week"),
    path("today/", today, name="today"),
    path("book/", appointments.book, name="book"),
    path("book/free-times/", appointments.book_slots, name="book_slots"),
    path("book/patients/", appointments.book_patients, name="book_patients"),
    path("appointments/<uuid:appointment_id>/", appointments.appointment, name="appointment"),
    path("appointments/<uuid:appointment_id>/reschedule/", appointments.reschedule, name="reschedule"),
    path("appointments/<uuid:appointment_id>/cancel/", appointments.cancel, name="cancel"),
    path("appointments/<uuid:appointment_id>/status/", appointments.status, name="status"),
    path("appointments/<uuid:appointment_id>/undo/", appointments.undo, name="undo"),
]
