"""Scheduling pages: the practice's set-up (locations, rooms, services, practitioners'
hours, the booking policy). URL names are listed in core/permissions.py URL_RULES: every
role may read (scheduling_setup.view), only the owner changes (scheduling_setup.manage).

Thin: parse a form, call setup.check_*/do_* (or hours.check_*/do_*), render."""

import zoneinfo
from collections import defaultdict

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from effleura.scheduling import hours as hours_rules
from effleura.scheduling import setup
from effleura.scheduling.choices import Weekday
from effleura.scheduling.models import Location

NAV = "schedule_setup"
DAY_SHORT = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
LIST_LIMIT = 100  # exceptions and time off shown on a practitioner's page


# Forms --------------------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class Checklist(forms.CheckboxSelectMultiple):
    template_name = "scheduling/setup_checklist.html"


class TimeZoneInput(forms.TextInput):
    """A text box with the known zones as suggestions (a datalist): typing "Chic" offers
    America/Chicago, and a wrong name gets a message from setup.clean_time_zone."""

    template_name = "scheduling/setup_time_zone_input.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, {**(attrs or {}), "list": "time-zones", "autocomplete": "off"})
        context["zones"] = sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/"))
        return context


def _optional(form_field):
    form_field.required = False
    return form_field


class LocationForm(forms.Form):
    name = forms.CharField(max_length=120)
    address_line1 = forms.CharField(max_length=200, required=False, label="Address")
    city = forms.CharField(max_length=100, required=False)
    region = forms.CharField(max_length=100, required=False, label="State / province")
    postal_code = forms.CharField(max_length=20, required=False)
    phone = forms.CharField(max_length=40, required=False, widget=forms.TextInput(attrs={"type": "tel"}))
    time_zone = forms.CharField(
        max_length=60,
        widget=TimeZoneInput(),
        help_text="The region and city, e.g. America/Chicago: daylight saving time follows it.",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active (open for booking)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day, key in zip(Weekday, setup.WEEKDAY_KEYS, strict=True):
            # The fieldset's legend and hint (setup_location_form.html) explain the format.
            self.fields[key] = forms.CharField(
                required=False, label=day.label, widget=forms.TextInput(attrs={"placeholder": "closed"})
            )

    def week(self) -> list[dict] | None:
        """The opening hours typed, as setup.clean_week() takes them; adds errors beside the days."""
        intervals = []
        for day, key in enumerate(setup.WEEKDAY_KEYS):
            try:
                for opens, closes in setup.parse_day_hours(self.cleaned_data.get(key, "")):
                    intervals.append({"weekday": day, "opens": opens, "closes": closes})
            except ValidationError as exc:
                self.add_error(key, exc)
        return None if any(key in self.errors for key in setup.WEEKDAY_KEYS) else intervals


class RoomForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="e.g. Room 1, Table A. One session at a time.")
    is_active = forms.BooleanField(required=False, initial=True, label="Active (offered for booking)")


class ServiceForm(forms.Form):
    name = forms.CharField(max_length=120)
    durations = forms.CharField(
        label="Lengths (minutes)",
        help_text="One or more, separated by commas, e.g. 60, 30, 90. The first is the default.",
    )
    default_price = forms.DecimalField(min_value=0, max_digits=9, decimal_places=2, label="Default price")
    currency = forms.CharField(max_length=3, initial="USD", help_text="Three letters, e.g. USD.")
    changeover_minutes = forms.IntegerField(
        min_value=0,
        max_value=setup.MAX_CHANGEOVER,
        initial=0,
        label="Changeover (minutes)",
        help_text="Time after each visit to turn the room around; the practitioner and room stay busy.",
    )
    practitioners = forms.ModelMultipleChoiceField(
        queryset=setup.practitioners_qs(),
        to_field_name="public_id",
        required=False,
        widget=Checklist,
        label="Who gives it",
    )
    needs_room = forms.BooleanField(required=False, initial=True, label="Needs a room or table")
    bookable_online = forms.BooleanField(required=False, label="Clients may book it online")
    is_active = forms.BooleanField(required=False, initial=True, label="Active (can be booked)")


class PolicyForm(forms.Form):
    late_cancel_hours = forms.IntegerField(
        min_value=0, max_value=720, label="Late cancellation (hours)",
        help_text="A cancellation closer to the start than this is marked late.",
    )  # fmt: skip
    minimum_notice_minutes = forms.IntegerField(
        min_value=0, max_value=43_200, label="Minimum notice (minutes)",
        help_text="No booking closer to now than this.",
    )  # fmt: skip
    slot_step_minutes = forms.IntegerField(
        min_value=5, max_value=120, label="Offer a start every (minutes)", help_text="From 5 to 120, e.g. 15."
    )
    reminder_hours_before = forms.IntegerField(min_value=1, max_value=336, label="Send reminders (hours before)")
    send_confirmations = forms.BooleanField(required=False, label="Email a confirmation when a visit is booked")
    send_reminders = forms.BooleanField(required=False, label="Email a reminder before each visit")


def _location_choice(**kwargs):
    return forms.ModelChoiceField(queryset=Location.objects.filter(is_active=True), to_field_name="public_id", **kwargs)


class HoursForm(forms.Form):
    """One weekly row. New rows may cover several weekdays at once (weekdays)."""

    location = _location_choice()
    weekday = forms.TypedChoiceField(choices=Weekday.choices, coerce=int)
    weekdays = forms.TypedMultipleChoiceField(choices=Weekday.choices, coerce=int, widget=Checklist, label="Days")
    start = forms.TimeField(widget=TimeInput())
    end = forms.TimeField(widget=TimeInput())
    valid_from = forms.DateField(required=False, widget=DateInput(), label="From (optional)")
    valid_until = forms.DateField(
        required=False, widget=DateInput(), label="Until (optional)", help_text="Both inclusive; empty means open."
    )

    def __init__(self, *args, many: bool, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["weekday" if many else "weekdays"]


class ExceptionForm(forms.Form):
    location = _location_choice()
    date = forms.DateField(widget=DateInput())
    off = forms.BooleanField(required=False, label="Not working this day")
    start = _optional(forms.TimeField(widget=TimeInput(), help_text="Different hours that day, instead of the usual."))
    end = _optional(forms.TimeField(widget=TimeInput()))
    reason = forms.CharField(max_length=200, required=False)


class TimeOffForm(forms.Form):
    start = forms.DateTimeField(widget=DateTimeInput())
    end = forms.DateTimeField(widget=DateTimeInput())
    reason = forms.CharField(max_length=200, required=False, help_text="e.g. holiday, training. No health details.")


def _apply_errors(form, exc: ValidationError) -> None:
    """Put an action's ValidationError beside the fields it names (or on top)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


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


# Locations and rooms ------------------------------------------------------------------------------


def location_new(request):
    return _location_form(request, None)


def location_edit(request, location_id):
    return _location_form(request, setup.get_location(request.user, location_id, key=setup.MANAGE))


def _location_initial(location: Location) -> dict:
    initial = {f: getattr(location, f) for f in setup.LOCATION_FIELDS}
    by_day = defaultdict(list)
    for row in location.opening_hours.all():
        by_day[row.weekday].append((row.opens, row.closes))
    for day, key in enumerate(setup.WEEKDAY_KEYS):
        initial[key] = setup.format_day_hours(by_day[day])
    return initial


def _location_form(request, location):
    initial = _location_initial(location) if location else {"time_zone": settings.TIME_ZONE, "is_active": True}
    form = LocationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        week = form.week()
        if week is not None:
            data = {f: form.cleaned_data[f] for f in setup.LOCATION_FIELDS} | {"opening_hours": week}
            try:
                clean = setup.check_save_location(request.user, data, location)
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                saved = setup.do_save_location(request.user, clean, location)
                messages.success(request, f"{saved.name} saved.")
                if location is None:
                    return redirect("scheduling:location_edit", location_id=saved.public_id)
                return redirect("scheduling:setup")
    rooms = location.rooms.all() if location else []
    return _form_page(request, "setup_location_form.html", {"form": form, "location": location, "rooms": rooms})


@require_POST
def location_delete(request, location_id):
    location = setup.get_location(request.user, location_id, key=setup.MANAGE)
    try:
        setup.check_delete_location(request.user, location)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("scheduling:location_edit", location_id=location.public_id)
    setup.do_delete_location(request.user, location)
    messages.success(request, f"{location.name} deleted.")
    return redirect("scheduling:setup")


def room_new(request, location_id):
    location = setup.get_location(request.user, location_id, key=setup.MANAGE)
    return _room_form(request, location, None)


def room_edit(request, room_id):
    room = setup.get_room(request.user, room_id, key=setup.MANAGE)
    return _room_form(request, room.location, room)


def _room_form(request, location, room):
    initial = {"name": room.name, "is_active": room.is_active} if room else {"is_active": True}
    form = RoomForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            clean = setup.check_save_room(request.user, {**form.cleaned_data, "location": location}, room)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            saved = setup.do_save_room(request.user, clean, room)
            messages.success(request, f"{saved.name} saved.")
            return redirect("scheduling:location_edit", location_id=location.public_id)
    return _form_page(request, "setup_room_form.html", {"form": form, "location": location, "room": room})


@require_POST
def room_delete(request, room_id):
    room = setup.get_room(request.user, room_id, key=setup.MANAGE)
    try:
        setup.check_delete_room(request.user, room)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("scheduling:room_edit", room_id=room.public_id)
    setup.do_delete_room(request.user, room)
    messages.success(request, f"{room.name} deleted.")
    return redirect("scheduling:location_edit", location_id=room.location.public_id)


# Services -----------------------------------------------------------------------------------------


def service_new(request):
    return _service_form(request, None)


def service_edit(request, service_id):
    return _service_form(request, setup.get_service(request.user, service_id, key=setup.MANAGE))


def _service_form(request, service):
    if service is not None:
        initial = {f: getattr(service, f) for f in setup.SERVICE_FIELDS if f != "practitioners"}
        initial["durations"] = ", ".join(str(m) for m in service.durations)
        initial["practitioners"] = [u.public_id for u in service.practitioners.all()]
    else:
        initial = {"currency": "USD", "changeover_minutes": 0, "needs_room": True, "is_active": True}
    form = ServiceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data, "practitioners": list(form.cleaned_data["practitioners"])}
        try:
            clean = setup.check_save_service(request.user, data, service)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            saved = setup.do_save_service(request.user, clean, service)
            messages.success(request, f"{saved.name} saved.")
            return redirect("scheduling:setup")
    return _form_page(request, "setup_service_form.html", {"form": form, "service": service})


@require_POST
def service_delete(request, service_id):
    service = setup.get_service(request.user, service_id, key=setup.MANAGE)
    try:
        setup.check_delete_service(request.user, service)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("scheduling:service_edit", service_id=service.public_id)
    setup.do_delete_service(request.user, service)
    messages.success(request, f"{service.name} deleted.")
    return redirect("scheduling:setup")


# The booking policy -------------------------------------------------------------------------------


def policy(request):
    current = setup.get_policy(request.user)
    form = PolicyForm(request.POST or None, initial={f: getattr(current, f) for f in setup.POLICY_FIELDS})
    if request.method == "POST" and form.is_valid():
        try:
            clean = setup.check_save_policy(request.user, form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            setup.do_save_policy(request.user, clean)
            messages.success(request, "Booking policy saved.")
            return redirect("scheduling:setup")
    return _form_page(request, "setup_policy_form.html", {"form": form})


# Practitioners' hours -----------------------------------------------------------------------------


def _zone_for(person) -> zoneinfo.ZoneInfo:
    """The zone a practitioner's time off is typed in: their first location's, else the
    first active location's, else the server's."""
    row = person.working_hours.select_related("location").order_by("location__name").first()
    location = row.location if row else Location.objects.filter(is_active=True).first()
    return location.tz if location else zoneinfo.ZoneInfo(settings.TIME_ZONE)


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
    zone = _zone_for(person)
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


def hours_new(request, user_id):
    person = setup.get_practitioner(request.user, user_id, key=setup.MANAGE)
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
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Working hours added for {person.display_name}.")
            return redirect("scheduling:practitioner_hours", user_id=person.public_id)
    return _form_page(request, "setup_hours_form.html", {"form": form, "person": person})


def hours_edit(request, hours_id):
    row = hours_rules.get_working_hours(request.user, hours_id, key=setup.MANAGE)
    initial = {f: getattr(row, f) for f in hours_rules.HOURS_FIELDS} | {"location": row.location.public_id}
    form = HoursForm(request.POST or None, initial=initial, many=False)
    if request.method == "POST" and form.is_valid():
        try:
            clean = hours_rules.check_save_working_hours(request.user, form.cleaned_data, row)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            hours_rules.do_save_working_hours(request.user, clean, row)
            messages.success(request, "Working hours saved. Appointments already booked are unchanged.")
            return redirect("scheduling:practitioner_hours", user_id=row.practitioner.public_id)
    context = {"form": form, "person": row.practitioner, "row": row}
    return _form_page(request, "setup_hours_form.html", context)


@require_POST
def hours_delete(request, hours_id):
    row = hours_rules.get_working_hours(request.user, hours_id, key=setup.MANAGE)
    hours_rules.check_delete_working_hours(request.user, row)
    hours_rules.do_delete_working_hours(request.user, row)
    messages.success(request, f"Removed {hours_rules.describe_hours(row)}. Appointments already booked are unchanged.")
    return redirect("scheduling:practitioner_hours", user_id=row.practitioner.public_id)


def exception_new(request, user_id):
    person = setup.get_practitioner(request.user, user_id, key=setup.MANAGE)
    return _exception_form(request, person, None)


def exception_edit(request, exception_id):
    row = hours_rules.get_exception(request.user, exception_id, key=setup.MANAGE)
    return _exception_form(request, row.practitioner, row)


def _exception_form(request, person, row):
    if row is not None:
        initial = {f: getattr(row, f) for f in hours_rules.EXCEPTION_FIELDS} | {
            "location": row.location.public_id,
            "off": row.start is None,
        }
    else:
        initial = {}
    form = ExceptionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "off"} | {"practitioner": person}
        if form.cleaned_data["off"]:
            data |= {"start": None, "end": None}
        elif data["start"] is None and data["end"] is None:
            form.add_error("start", "Give the hours worked that day, or tick “Not working this day”.")
        if not form.errors:
            try:
                clean = hours_rules.check_save_exception(request.user, data, row)
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                hours_rules.do_save_exception(request.user, clean, row)
                messages.success(request, "Exception saved. Check the calendar for visits booked that day.")
                return redirect("scheduling:practitioner_hours", user_id=person.public_id)
    return _form_page(request, "setup_exception_form.html", {"form": form, "person": person, "row": row})


@require_POST
def exception_delete(request, exception_id):
    row = hours_rules.get_exception(request.user, exception_id, key=setup.MANAGE)
    hours_rules.check_delete_exception(request.user, row)
    hours_rules.do_delete_exception(request.user, row)
    messages.success(request, f"Removed the exception for {hours_rules.describe_exception(row)}.")
    return redirect("scheduling:practitioner_hours", user_id=row.practitioner.public_id)


def time_off_new(request, user_id):
    person = setup.get_practitioner(request.user, user_id, key=setup.MANAGE)
    return _time_off_form(request, person, None)


def time_off_edit(request, time_off_id):
    row = hours_rules.get_time_off(request.user, time_off_id, key=setup.MANAGE)
    return _time_off_form(request, row.practitioner, row)


def _time_off_form(request, person, row):
    zone = _zone_for(person)
    # Naive local times: the form would otherwise show aware ones in the server's zone.
    local = {name: getattr(row, name).astimezone(zone).replace(tzinfo=None) for name in ("start", "end")} if row else {}
    initial = {**local, "reason": row.reason} if row else {}
    form = TimeOffForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data, practitioner=person)
        for name in ("start", "end"):  # typed in the practitioner's zone, whatever the server's
            data[name] = timezone.make_naive(data[name]).replace(tzinfo=zone)
        try:
            clean = hours_rules.check_save_time_off(request.user, data, row)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            hours_rules.do_save_time_off(request.user, clean, row)
            booked = hours_rules.appointments_during(person, clean["start"], clean["end"])
            messages.success(request, "Time off saved.")
            if booked:
                messages.warning(
                    request,
                    f"{booked} booked appointment{'s' if booked != 1 else ''} fall in this time off: "
                    "reschedule or cancel them in the calendar.",
                )
            return redirect("scheduling:practitioner_hours", user_id=person.public_id)
    context = {"form": form, "person": person, "row": row, "zone": zone}
    return _form_page(request, "setup_time_off_form.html", context)


@require_POST
def time_off_delete(request, time_off_id):
    row = hours_rules.get_time_off(request.user, time_off_id, key=setup.MANAGE)
    hours_rules.check_delete_time_off(request.user, row)
    hours_rules.do_delete_time_off(request.user, row)
    messages.success(request, "Time off removed.")
    return redirect("scheduling:practitioner_hours", user_id=row.practitioner.public_id)


urlpatterns = [
    path("setup/", index, name="setup"),
    path("setup/policy/", policy, name="policy"),
    path("setup/locations/new/", location_new, name="location_new"),
    path("setup/locations/<uuid:location_id>/", location_edit, name="location_edit"),
    path("setup/locations/<uuid:location_id>/delete/", location_delete, name="location_delete"),
    path("setup/locations/<uuid:location_id>/rooms/new/", room_new, name="room_new"),
    path("setup/rooms/<uuid:room_id>/", room_edit, name="room_edit"),
    path("setup/rooms/<uuid:room_id>/delete/", room_delete, name="room_delete"),
    path("setup/services/new/", service_new, name="service_new"),
    path("setup/services/<uuid:service_id>/", service_edit, name="service_edit"),
    path("setup/services/<uuid:service_id>/delete/", service_delete, name="service_delete"),
    path("setup/practitioners/<uuid:user_id>/", practitioner_hours, name="practitioner_hours"),
    path("setup/practitioners/<uuid:user_id>/hours/new/", hours_new, name="hours_new"),
    path("setup/hours/<uuid:hours_id>/", hours_edit, name="hours_edit"),
    path("setup/hours/<uuid:hours_id>/delete/", hours_delete, name="hours_delete"),
    path("setup/practitioners/<uuid:user_id>/exceptions/new/", exception_new, name="exception_new"),
    path("setup/exceptions/<uuid:exception_id>/", exception_edit, name="exception_edit"),
    path("setup/exceptions/<uuid:exception_id>/delete/", exception_delete, name="exception_delete"),
    path("setup/practitioners/<uuid:user_id>/time-off/new/", time_off_new, name="time_off_new"),
    path("setup/time-off/<uuid:time_off_id>/", time_off_edit, name="time_off_edit"),
    path("setup/time-off/<uuid:time_off_id>/delete/", time_off_delete, name="time_off_delete"),
]
