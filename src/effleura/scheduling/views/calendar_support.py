"""What the calendar pages share: badges on appointments, dates and times in a
location's zone, and where to go back to."""

import datetime
import urllib.parse

from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from effleura.core.permissions import has_permission
from effleura.core.values import parse_uuid
from effleura.scheduling import calendars
from effleura.scheduling.choices import STATUS_FLOW, AppointmentStatus

# The buttons that move an appointment on, in the order they are shown. Cancelling has
# its own page (it asks why).
STATUS_BUTTONS = {
    AppointmentStatus.CHECKED_IN: "Check in",
    AppointmentStatus.IN_SESSION: "Start session",
    AppointmentStatus.COMPLETED: "Complete",
    AppointmentStatus.NO_SHOW: "No-show",
    AppointmentStatus.INTERRUPTED: "Interrupted",
}
ONE_DAY = datetime.timedelta(days=1)


def safe_next(request, fallback: str) -> str:
    """Where to go after a change: ``next`` when it is a page of this site."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}):
        return wanted
    return fallback


def pick(rows, public_id):
    """The row whose public id is ``public_id`` (a string from the query), or None."""
    wanted = parse_uuid(public_id)
    return next((row for row in rows if row.public_id == wanted), None) if wanted else None


def home_tz(locations):
    """The zone "today" is read in when no location is chosen: the first location's."""
    return locations[0].tz if locations else timezone.get_current_timezone()


def today_in(tz) -> datetime.date:
    return timezone.now().astimezone(tz).date()


def day_span(day: datetime.date, tz, days: int = 1) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime.combine(day, datetime.time(0), tzinfo=tz)
    return start, datetime.datetime.combine(day + datetime.timedelta(days=days), datetime.time(0), tzinfo=tz)


def url_with(name: str, **params) -> str:
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{reverse(name)}?{query}" if query else reverse(name)


def working_time(location, practitioners, start, end) -> dict:
    """Each practitioner's working time at ``location`` between two instants (opening
    hours, exceptions and time off applied), as calendars.py builds it for the engine, so
    the shading on the grid is the time the engine offers."""
    data = calendars._load(location, practitioners, [], start, end, busy_end=start)
    return {p.pk: data.working_time(p.pk) for p in practitioners}


def next_actions(user, appointment) -> list[tuple[str, str]]:
    if not has_permission(user, "appointment.change"):
        return []
    following = STATUS_FLOW.get(AppointmentStatus(appointment.status), set())
    return [(value.value, label) for value, label in STATUS_BUTTONS.items() if value in following]


def local_labels(appointment) -> None:
    tz = appointment.location.tz
    appointment.local_start = appointment.start.astimezone(tz)
    appointment.local_end = appointment.end.astimezone(tz)
    appointment.start_label = f"{appointment.local_start:%H:%M}"
    appointment.end_label = f"{appointment.local_end:%H:%M}"


def status_label(value: str) -> str:
    return AppointmentStatus(value).label.lower() if value in AppointmentStatus.values else value


def describe_when(appointment) -> str:
    """ "Mon 2 Mar 2026, 09:00–10:00" in the appointment's location."""
    local_labels(appointment)
    s = appointment.local_start
    return f"{s:%a} {s.day} {s:%b %Y}, {appointment.start_label}–{appointment.end_label}"
