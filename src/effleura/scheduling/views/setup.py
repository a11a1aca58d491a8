"""Scheduling pages: the practice's set-up (locations, rooms, services, practitioners'
hours, the booking policy). Every role may read (scheduling_setup.view), only the owner
changes (scheduling_setup.manage).

The new/edit/delete pages of each resource come from its spec (scheduling/resources.py,
which also puts their URL names in the permission table); the overview, the booking
policy, a practitioner's hours and the several-days-at-once new hours are written here.
Thin: parse a form, call setup.check_*/do_* (or hours.check_*/do_*), render."""

from collections import defaultdict

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone

from effleura.core.forms import apply_errors, conflict_status
from effleura.core.resources import page_context, page_urlpatterns
from effleura.scheduling import hours as hours_rules
from effleura.scheduling import resources, setup
from effleura.scheduling.choices import Weekday
from effleura.scheduling.models import Location
from effleura.scheduling.resources import HOURS
from effleura.scheduling.setup_forms import HoursForm, PolicyForm

NAV = "schedule_setup"
DAY_SHORT = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
LIST_LIMIT = 100  # exceptions and time off shown on a practitioner's page


def _form_page(request, template: str, context: dict):
    return render(request, f"scheduling/{template}", {"nav": NAV, **context})


# The set-up index ---------------------------------------------------------------------------------


def summarize_hours(rows) -> list[str]:
    """Weekly rows -> short lines: "Mon–Fri 09:00–17:00 at Main Street"."""
    days: dict[tuple, list[int]] = defaultdict(list)
    for row in rows:
        days[(row.location.name, row.start, row.end, row.valid_from, row.valid_until)].append(row.weekday)
    lines = []
    for (where, start, end, valid_from, valid_until), weekdays in sorted(days.items(), key=lambda i: min(i[1])):
        when = hours_rules.describe_period(valid_from, valid_until)
        lines.append(f"{_day_span(sorted(weekdays))} {start:%H:%M}–{end:%H:%M} at {where}{when}")
    return lines


def _day_span(weekdays: list[int]) -> str:
    runs, run = [], [weekdays[0]]
    for day in weekdays[1:]:
        if day == run[-1] + 1:
            run.append(day)
        else:
            runs.append(run)
            run = [day]
    runs.append(run)
    parts = [DAY_SHORT[r[0]] if len(r) == 1 else f"{DAY_SHORT[r[0]]}–{DAY_SHORT[r[-1]]}" for r in runs]
    return ", ".join(parts)


def _week_lines(location: Location) -> list[tuple[str, str]]:
    by_day = defaultdict(list)
    for row in location.opening_hours.all():
        by_day[row.weekday].append((row.opens, row.closes))
    return [(day.label, setup.format_day_hours(by_day[day]) or "closed") for day in Weekday]


def index(request):
    context = setup.overview(request.user)
    for location in context["locations"]:
        location.week = _week_lines(location)
    for person in context["practitioners"]:
        person.summary = summarize_hours(person.hours_rows)
    return _form_page(request, "setup_index.html", context)


# The booking policy -------------------------------------------------------------------------------


def policy(request):
    current = setup.get_policy(request.user)
    form = PolicyForm(request.POST or None, initial={f: getattr(current, f) for f in setup.POLICY_FIELDS})
    form.load_version(current, setup.POLICY_FIELDS, what="booking policy")
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in setup.POLICY_FIELDS}
        try:
            clean = setup.check_save_policy(request.user, data)
            setup.do_save_policy(request.user, clean, expected_version=form.expected_version())
        except ValidationError as exc:  # a StaleVersion becomes the form's conflict notice
            apply_errors(form, exc)
        else:
            messages.success(request, "Booking policy saved.")
            return redirect("scheduling:setup")
    response = _form_page(request, "setup_policy_form.html", {"form": form})
    response.status_code = conflict_status(form)
    return response


# Practitioners' hours -----------------------------------------------------------------------------


def practitioner_hours(request, user_id):
    """A practitioner's "Working hours" page: a weekly grid per location, then upcoming
    exceptions and time off."""
    person = setup.get_practitioner(request.user, user_id)
    rows = list(hours_rules.list_working_hours(request.user, practitioner=person).order_by("location__name", "start"))
    grids: dict = {}
    for row in rows:
        grid = grids.setdefault(row.location_id, {"location": row.location, "days": [[] for _ in Weekday]})
        grid["days"][row.weekday].append(row)
    today = timezone.localdate()
    exceptions = list(hours_rules.list_exceptions(request.user, practitioner=person, start=today)[:LIST_LIMIT])
    time_off = list(hours_rules.list_time_off(request.user, practitioner=person, start=timezone.now())[:LIST_LIMIT])
    zone = resources.zone_for(person)
    context = {
        "person": person,
        "grids": [
            {"location": g["location"], "days": list(zip(Weekday.labels, g["days"], strict=True))}
            for g in grids.values()
        ],
        "exceptions": exceptions,
        "time_off": time_off,
        "zone": zone,
        "limit": LIST_LIMIT,
    }
    return _form_page(request, "setup_practitioner.html", context)


def hours_new(request, person):
    """New weekly hours on several weekdays at once: one record per day, all or none."""
    form = HoursForm(request.POST or None, many=True)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "weekdays"} | {"practitioner": person}
        try:
            # Check every day first, so a clash on Thursday saves nothing, not Mon–Wed.
            cleans = [
                hours_rules.check_save_working_hours(request.user, {**data, "weekday": day})
                for day in form.cleaned_data["weekdays"]
            ]
            for clean in cleans:
                hours_rules.do_save_working_hours(request.user, clean)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Working hours added for {person.display_name}.")
            return redirect("scheduling:practitioner_hours", user_id=person.public_id)
    return render(request, HOURS.pages.template, page_context(HOURS, form, None, person))


urlpatterns = [
    path("setup/", index, name="setup"),
    path("setup/policy/", policy, name="policy"),
    path("setup/practitioners/<uuid:user_id>/", practitioner_hours, name="practitioner_hours"),
    *page_urlpatterns(resources.LOCATIONS),
    *page_urlpatterns(resources.ROOMS),
    *page_urlpatterns(resources.SERVICES),
    *page_urlpatterns(HOURS, new_page=hours_new),
    *page_urlpatterns(resources.EXCEPTIONS),
    *page_urlpatterns(resources.TIME_OFF),
    *page_urlpatterns(resources.CLOSURES),
]
