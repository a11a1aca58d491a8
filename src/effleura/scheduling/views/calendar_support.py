"""What the calendar pages share: badges on appointments, dates and times in a
location's zone, and where to go back to."""

import datetime
import urllib.parse

from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from effleura.core.values import parse_uuid
from effleura.scheduling import actions, calendars, visit_rules
from effleura.scheduling.choices import AppointmentStatus

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
    return calendars.working_time(location, practitioners, start, end)


def next_actions(user, appointment, *, window: int, now=None, change=False, with_undo: bool = False) -> None:
    """Put on ``appointment`` what the page may offer, as status_actions.actions_now()
    answers (the rules the checks apply): ``options`` (action -> Option), ``next_actions``
    (the allowed status buttons: (status, label) pairs), and ``hints`` (why the next steps
    are not possible yet, in plain words, each said once; Undo's is said beside the history
    line it would take back)."""
    options = actions.actions_now(user, appointment, now=now, window=window, change=change, with_undo=with_undo)
    appointment.options = {o.action: o for o in options}
    appointment.next_actions = [
        (o.action, o.label) for o in options if o.allowed and o.action in visit_rules.STATUS_ACTIONS
    ]
    hints = []
    for o in options:
        if not o.allowed and o.hint and o.action != visit_rules.UNDO and o.reason not in hints:
            hints.append(o.reason)
    appointment.hints = hints


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
