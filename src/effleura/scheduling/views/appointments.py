"""Scheduling pages for one appointment: book it (typed, clicked on the calendar or picked
from a day's free times), see it with its history, reschedule, cancel, change its status.
Routed by views/calendar.py; URL names are listed in core/permissions.py URL_RULES.

Thin: parse, access_*/check_*, do_*, render (rules in scheduling/actions.py).
"""

import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from effleura.core import clock
from effleura.core.forms import apply_errors
from effleura.core.permissions import has_permission
from effleura.core.values import parse_date, parse_uuid
from effleura.patients import access as patient_access
from effleura.scheduling import access, actions, badges, calendars, visit_rules
from effleura.scheduling.access import access_waitlist_matches
from effleura.scheduling.booking import BookingConflict, NeedsConfirmation
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Location, SchedulingPolicy
from effleura.scheduling.setup import practitioners_qs
from effleura.scheduling.views.calendar_forms import (
    BookingForm,
    CancelForm,
    RescheduleForm,
    StatusForm,
    local_instant,
)
from effleura.scheduling.views.calendar_support import (
    day_span,
    describe_when,
    home_tz,
    next_actions,
    safe_next,
    status_label,
    today_in,
    url_with,
)

# Booking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotChoice:
    value: str  # "start ISO|practitioner id|room id": what a chosen radio posts
    label: str
    room_label: str = ""


def _slot_value(slot) -> str:
    room = slot.room.public_id if slot.room is not None else ""
    return f"{slot.start.isoformat()}|{slot.practitioner.public_id}|{room}"


def _parse_slot(value: str):
    """(start, practitioner public id, room public id or None) from a chosen slot, or None."""
    parts = (value or "").split("|")
    if len(parts) != 3:
        return None
    try:
        start = datetime.datetime.fromisoformat(parts[0])
    except ValueError:
        return None
    if timezone.is_naive(start):
        return None
    practitioner_id, room_id = parse_uuid(parts[1]), parse_uuid(parts[2]) if parts[2] else None
    if practitioner_id is None:
        return None
    return start, practitioner_id, room_id


def _slot_groups(service, location, the_day, *, practitioner=None, duration=None):
    """Free times on ``the_day`` grouped by practitioner: (groups, error message)."""
    if service is None or location is None:
        return None, "Choose a service and a location first."
    start, end = day_span(the_day, location.tz)
    try:
        # Staff see the times inside the minimum notice too (a same-hour cancellation to
        # fill); booking one asks them to confirm it (booking_actions.check_book).
        slots = calendars.available_slots(
            service, location, start, end, practitioner=practitioner, duration=duration, short_notice=True
        )
    except ValidationError as exc:
        return None, " ".join(exc.messages)
    groups: dict = {}
    for slot in slots:
        groups.setdefault(slot.practitioner, []).append(slot)
    found = []
    for practitioner, group in groups.items():
        rooms = {slot.room for slot in group}
        # Name the room on each time only when it varies; one room goes in the heading.
        label = practitioner.display_name
        if len(rooms) == 1 and None not in rooms:
            label += f" in {next(iter(rooms)).name}"
        choices = [
            SlotChoice(
                _slot_value(slot),
                f"{slot.start.astimezone(location.tz):%H:%M}",
                slot.room.name if len(rooms) > 1 and slot.room is not None else "",
            )
            for slot in group
        ]
        found.append((label, choices))
    return found, ""


def form_value(form, name):
    """A field's cleaned value, from the data of a bound form (even when the form as a whole
    is invalid) or from the initial values of an unbound one; None when it does not clean."""
    raw = form[name].value() if form.is_bound else form.initial.get(name)
    try:
        return form.fields[name].clean(raw)
    except ValidationError:
        return None


def _slot_context(request, form, default_day, source) -> dict:
    """The "find a free time" part: the day and, when asked, the free times."""
    service, location = form_value(form, "service"), form_value(form, "location")
    slot_day = parse_date(source.get("slot_day"), "slot_day", {}, default=default_day)
    context = {"slot_day": slot_day, "slot_groups": None, "slot_error": "", "slot_chosen": source.get("slot", "")}
    if source.get("find") or source.get("slot"):
        practitioner = form_value(form, "practitioner")
        groups, error = _slot_groups(
            service, location, slot_day, practitioner=practitioner, duration=form_value(form, "duration")
        )
        context.update({"slot_groups": groups, "slot_error": error, "slot_practitioner": practitioner})
    return context


def booking_initial(request, locations) -> dict:
    """Prefill from the query: ?location=&practitioner=&room=&start=&service=&duration=."""
    initial = {key: request.GET[key] for key in ("location", "practitioner", "room", "service") if request.GET.get(key)}
    if request.GET.get("duration", "").isdigit():
        initial["duration"] = request.GET["duration"]
    if request.GET.get("start"):
        initial["start"] = request.GET["start"]
    if "location" not in initial and locations:
        initial["location"] = locations[0].public_id
    return initial


def chosen_patient(request, source):
    """The patient already chosen (``patient`` in the query or the form), read under patient.view."""
    if source.get("change_patient"):
        return None
    patient_id = parse_uuid(source.get("patient"))
    if patient_id is None:
        return None
    try:
        return patient_access.access_patient(request.user, patient_id, audit_it=request.method == "GET")
    except Http404:
        return None


def book(request):
    """Book one appointment: a patient, a service and length, where, with whom, and when
    (typed, clicked on the calendar, or picked from the free times of a day)."""
    locations = list(Location.objects.filter(is_active=True))
    source = request.POST if request.method == "POST" else request.GET
    patient = chosen_patient(request, source)
    q = source.get("q", "").strip()
    results = patient_access.access_patient_search(request.user, q) if q and patient is None else None
    service = None
    if request.method == "POST":
        form = BookingForm(request.POST)
    else:
        initial = booking_initial(request, locations)
        form = BookingForm(initial=initial) if not request.GET.get("find") else BookingForm(request.GET)
    service = form_value(form, "service")
    if service is not None:
        form = BookingForm(form.data if form.is_bound else None, initial=form.initial, service=service)
    conflict, warnings = [], []
    if request.method == "POST" and form.is_valid():
        data = _booking_data(form, patient, request.POST.get("slot", ""))
        if data is not None:
            confirmed = request.POST.get("confirm_warnings") == "1"
            try:
                plan = actions.check_book(request.user, **data, confirm_warnings=confirmed)
                appointment = actions.do_book(request.user, plan)
            except BookingConflict as exc:
                conflict = exc.messages
            except NeedsConfirmation as exc:
                warnings = exc.warnings  # e.g. a referral with no visits left: "Book anyway"
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"Booked {appointment.patient.display_name} with {appointment.practitioner.display_name}: "
                    f"{appointment.service.name}, {describe_when(appointment)}.",
                )
                return redirect("scheduling:appointment", appointment_id=appointment.public_id)
    default_day = _default_slot_day(form, locations)
    context = {
        "nav": "calendar",
        "form": form,
        "patient": patient,
        "q": q,
        "results": results,
        "chosen": source.get("patient", ""),
        "search_url": reverse("scheduling:book_patients"),
        "conflict": conflict,
        "booking_warnings": warnings,
        "next": source.get("next", ""),
        "back_url": _back_to_day(form, default_day),
        **_slot_context(request, form, default_day, source),
    }
    return render(request, "scheduling/appointment_form.html", context, status=409 if conflict else 200)


def _back_to_day(form, the_day) -> str:
    location = form_value(form, "location")
    return url_with("scheduling:day", location=location.public_id if location else "", date=the_day.isoformat())


def _default_slot_day(form, locations) -> datetime.date:
    start = form_value(form, "start")
    if start is not None:
        return start.date()
    location = form_value(form, "location")
    return today_in(location.tz if location else home_tz(locations))


def _booking_data(form, patient, slot_value: str) -> dict | None:
    """check_book()'s arguments from the form (a picked free time wins over the typed
    start, practitioner and room), or None after putting what is missing on the form."""
    cleaned = form.cleaned_data
    location = cleaned["location"]
    practitioner, room, start = cleaned.get("practitioner"), cleaned.get("room"), cleaned.get("start")
    start = local_instant(start, location) if start is not None else None
    if slot_value:
        picked = _picked_slot(slot_value, location)
        if picked is None:
            form.add_error(None, "That free time is no longer on offer: show the free times again.")
            return None
        start, practitioner, room = picked
    if patient is None:
        form.add_error(None, "Choose the patient: search by name, chart number, phone or date of birth.")
    if practitioner is None:
        form.add_error("practitioner", "Choose a practitioner, or pick a free time.")
    if start is None:
        form.add_error("start", "Give the start, or pick a free time.")
    if patient is None or practitioner is None or start is None:
        return None
    return {
        "patient": patient,
        "practitioner": practitioner,
        "service": cleaned["service"],
        "location": location,
        "start": start,
        "duration": cleaned.get("duration"),
        "room": room,
        "notes": cleaned.get("notes", ""),
    }


def _picked_slot(value: str, location):
    """(start, practitioner, room) of a picked free time at ``location``, or None."""
    parsed = _parse_slot(value)
    if parsed is None:
        return None
    start, practitioner_id, room_id = parsed
    practitioner = practitioners_qs().filter(public_id=practitioner_id).first()
    room = location.rooms.filter(public_id=room_id, is_active=True).first() if room_id else None
    if practitioner is None or (room_id and room is None):
        return None
    return start, practitioner, room


def book_slots(request):
    """The free times of one day for the booking form (htmx)."""
    form = BookingForm(request.GET)
    location = form_value(form, "location")
    default_day = today_in(location.tz) if location else clock.today()
    context = _slot_context(request, form, default_day, {**request.GET.dict(), "find": "1"})
    return render(request, "scheduling/includes/slot_choices.html", context)


def book_patients(request):
    """Patients matching the search on the booking form, as radio buttons (htmx)."""
    q = request.GET.get("q", "").strip()
    results = patient_access.access_patient_search(request.user, q) if q else None
    return render(request, "scheduling/includes/patient_choices.html", {"results": results, "q": q, "chosen": ""})


# One appointment --------------------------------------------------------------------------------


def appointment(request, appointment_id):
    """Details, status, history and what can be done next."""
    appt, history = access.access_appointment_history(request.user, appointment_id)
    badges.apply(request.user, [appt])
    when = describe_when(appt)
    last = max(history, key=lambda c: c.pk) if history else None  # the newest written: what Undo takes back
    next_actions(request.user, appt, window=actions.start_window(), change=last, with_undo=True)
    for change in history:
        change.from_label = status_label(change.from_status)
        change.to_label = status_label(change.to_status)
    matches = []
    if appt.status == AppointmentStatus.CANCELLED and has_permission(request.user, "waitlist.view"):
        matches = access_waitlist_matches(request.user, appt)
    context = {
        "nav": "calendar",
        "appointment": appt,
        "when": when,
        "history": history,
        "matches": matches,
        "next": request.get_full_path(),
        "day_url": url_with(
            "scheduling:day", location=appt.location.public_id, date=appt.local_start.date().isoformat()
        ),
        "options": appt.options,
        "last_change": last,
    }
    return render(request, "scheduling/appointment.html", context)


def reschedule(request, appointment_id):
    """Move an appointment: pick a free time of a day, type a time, or drop it on the calendar.
    A new time sooner than the minimum notice is moved only once "Move anyway" is ticked."""
    appt = access.access_appointment(request.user, appointment_id, key="appointment.change", audit_it=False)
    when = describe_when(appt)
    source = request.POST if request.method == "POST" else request.GET
    if request.method == "POST":
        form = RescheduleForm(request.POST)
    else:
        form = RescheduleForm(
            initial={k: request.GET[k] for k in ("start", "practitioner", "room") if k in request.GET}
        )
    conflict, warnings, warned = [], [], ""
    if request.method == "POST" and form.is_valid():
        data = _reschedule_data(appt, form.cleaned_data, request.POST)
        if data is None:
            form.add_error(None, "Pick a free time or give a new start.")
        else:
            # "Move anyway" confirms the move it was shown for: the same start and practitioner.
            warned = _warned_move(data)
            confirmed = request.POST.get("confirm_warnings") == "1" and request.POST.get("warned") == warned
            try:
                plan = actions.check_reschedule(request.user, appt, **data, confirm_warnings=confirmed)
                moved = actions.do_reschedule(request.user, appt, plan)
            except BookingConflict as exc:
                conflict = exc.messages
            except NeedsConfirmation as exc:
                warnings = exc.warnings  # e.g. sooner than the minimum notice: "Move anyway"
                if request.POST.get("dropped"):
                    form = _dropped_form(request.POST, data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"Moved to {describe_when(moved)} with {moved.practitioner.display_name}.")
                return redirect(
                    safe_next(request, reverse("scheduling:appointment", kwargs={"appointment_id": appt.public_id}))
                )
        if conflict and request.POST.get("dropped"):
            messages.error(request, " ".join(conflict))
            return redirect(safe_next(request, reverse("scheduling:appointment", args=[appt.public_id])))
    slot_day = parse_date(source.get("slot_day"), "slot_day", {}, default=appt.local_start.date())
    context = {
        "nav": "calendar",
        "appointment": appt,
        "when": when,
        "form": form,
        "conflict": conflict,
        "move_warnings": warnings,
        "warned": warned,
        "next": source.get("next", ""),
        "slot_day": slot_day,
        "slot_groups": None,
        "slot_chosen": source.get("slot", ""),
    }
    htmx = bool(request.headers.get("HX-Request"))
    if source.get("find") or source.get("slot") or htmx:
        practitioner = form_value(form, "practitioner")
        if practitioner is None and not source.get("any_practitioner"):
            practitioner = appt.practitioner
        groups, error = _slot_groups(
            appt.service, appt.location, slot_day, practitioner=practitioner, duration=appt.duration_minutes
        )
        context.update({"slot_groups": groups, "slot_error": error, "slot_practitioner": practitioner})
    template = "scheduling/includes/slot_choices.html" if htmx else "scheduling/appointment_reschedule.html"
    return render(request, template, context, status=409 if conflict else 200)


def _reschedule_data(appt, cleaned: dict, post) -> dict | None:
    """check_reschedule()'s arguments: a picked free time wins over a typed start; a drop
    on the calendar names its column (a practitioner, a room or a day)."""
    practitioner, room, start = cleaned.get("practitioner"), cleaned.get("room"), cleaned.get("start")
    if post.get("slot"):
        picked = _picked_slot(post["slot"], appt.location)
        if picked is None:
            return None
        start, practitioner, room = picked
    elif start is not None:
        start = local_instant(start, appt.location)
        column = post.get("column", "")
        if column.startswith("p:"):
            practitioner = practitioners_qs().filter(public_id=parse_uuid(column[2:])).first() or practitioner
        elif column.startswith("r:") and column[2:]:
            room = appt.location.rooms.filter(public_id=parse_uuid(column[2:]), is_active=True).first() or room
    elif practitioner is None and room is None:
        return None
    return {"start": start, "practitioner": practitioner, "room": room}


def _warned_move(data: dict) -> str:
    """The move a warning is shown for, as the page carries it back with "Move anyway"."""
    who = data["practitioner"].public_id if data["practitioner"] is not None else ""
    return f"{data['start'].isoformat() if data['start'] else ''}|{who}"


def _dropped_form(post, data: dict) -> RescheduleForm:
    """A drop on the calendar that needs confirming, as the form it stands for: the new
    start with the column's practitioner or room filled in, so that "Move anyway" moves
    the visit exactly where it was dropped."""
    fields = {"start": post.get("start", "")}
    if data["practitioner"] is not None:
        fields["practitioner"] = data["practitioner"].public_id
    if data["room"] is not None:
        fields["room"] = data["room"].public_id
    form = RescheduleForm(fields)
    form.is_valid()
    return form


def cancel(request, appointment_id):
    """Cancel with a reason; says when it is a late cancellation under the practice's policy."""
    appt = access.access_appointment(request.user, appointment_id, key="appointment.change", audit_it=False)
    when = describe_when(appt)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reason = actions.check_cancel(request.user, appt, form.cleaned_data["reason"])
            cancelled = actions.do_cancel(request.user, appt, reason)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            late = " It was a late cancellation." if cancelled.late_cancel else ""
            messages.success(request, f"Cancelled {cancelled.patient.display_name}’s appointment, {when}.{late}")
            return redirect(safe_next(request, reverse("scheduling:appointment", args=[appt.public_id])))
    policy = SchedulingPolicy.current()
    late = actions.is_late_cancel(appt.start, timezone.now(), policy)
    context = {
        "nav": "calendar",
        "appointment": appt,
        "when": when,
        "form": form,
        "late": late,
        "policy": policy,
        # Said before the form, so nobody types a reason for a cancellation that is refused.
        "refused": visit_rules.cancel_refusal(appt.status) if request.method == "GET" else "",
        "next": request.POST.get("next") or request.GET.get("next", ""),
    }
    return render(request, "scheduling/appointment_cancel.html", context)


@require_POST
def undo(request, appointment_id):
    """Undo the last status change or cancellation (made by mistake, the same day)."""
    appt = access.access_appointment(request.user, appointment_id, key="appointment.change", audit_it=False)
    fallback = reverse("scheduling:appointment", args=[appt.public_id])
    try:
        checked = actions.check_undo_status(request.user, appt, expected_status=request.POST.get("status", ""))
        undone = actions.do_undo_status(request.user, appt, checked)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        status = undone.get_status_display().lower()
        messages.success(request, f"Undone: {undone.patient.display_name}’s visit is {status} again.")
    return redirect(safe_next(request, fallback))


@require_POST
def status(request, appointment_id):
    """Check in, start, complete, no-show, or interrupted (with a reason and the minutes given)."""
    appt = access.access_appointment(request.user, appointment_id, key="appointment.change", audit_it=False)
    fallback = reverse("scheduling:appointment", args=[appt.public_id])
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a status.")
        return redirect(safe_next(request, fallback))
    data = form.cleaned_data
    try:
        change = actions.check_set_status(
            request.user, appt, data["status"], reason=data["reason"], minutes_delivered=data["minutes_delivered"]
        )
        changed = actions.do_set_status(request.user, appt, change)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{changed.patient.display_name}: {changed.get_status_display().lower()}.")
    return redirect(safe_next(request, fallback))
