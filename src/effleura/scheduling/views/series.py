"""Scheduling pages: treatment series. URL names are listed in core/permissions.py URL_RULES.

Book N visits every K days or on chosen weekdays: "Propose" checks every visit as a
booking would and shows each conflict with up to three alternatives to choose from;
"Book all" saves the whole series, or nothing (actions.do_book_series). The series page
lists the visits, each with its own cancel, and cancels all remaining at once. Thin:
parse, access_*/check_*, do_*, render.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from effleura.core.forms import apply_errors
from effleura.patients import access as patient_access
from effleura.scheduling import access, actions
from effleura.scheduling import proposals as proposal_table
from effleura.scheduling.booking import BookingConflict, NeedsConfirmation
from effleura.scheduling.choices import HOLDS_TIME, Weekday
from effleura.scheduling.models import Location
from effleura.scheduling.views.appointments import booking_initial, chosen_patient, form_value
from effleura.scheduling.views.calendar_forms import CancelForm, SeriesForm, local_instant


def series_new(request):
    """Choose the patient, what, where, who, the first start and the pattern; propose; book all."""
    locations = list(Location.objects.filter(is_active=True))
    source = request.POST if request.method == "POST" else request.GET
    patient = chosen_patient(request, source)
    q = source.get("q", "").strip()
    results = patient_access.access_patient_search(request.user, q) if q and patient is None else None
    if request.method == "POST":
        form = SeriesForm(request.POST)
    else:
        form = SeriesForm(initial=booking_initial(request, locations))
    service = form_value(form, "service")
    if service is not None:
        form = SeriesForm(form.data if form.is_bound else None, initial=form.initial, service=service)
    proposals, conflict, warnings = None, [], []
    if request.method == "POST" and form.is_valid():
        args = _series_args(form, patient)
        if args is not None:
            try:
                if request.POST.get("action") == "book":
                    series = _book(request, form, args)
                    if series is not None:
                        return redirect("scheduling:series", series_id=series.public_id)
                proposals = _propose(request.user, form, args)
            except BookingConflict as exc:
                conflict = exc.messages
                proposals = _propose(request.user, form, args)
            except NeedsConfirmation as exc:
                warnings = exc.warnings  # e.g. visits past the referral's: "Book anyway"
                proposals = _propose(request.user, form, args)
            except ValidationError as exc:
                apply_errors(form, exc)
    rows = None
    if proposals is not None:
        chosen = proposal_table.chosen_values(request.POST, len(proposals)) if request.POST.get("action") else {}
        rows = proposal_table.proposal_rows(
            proposals, form.cleaned_data["location"].tz, form.cleaned_data["practitioner"], chosen
        )
    context = {
        "nav": "calendar",
        "form": form,
        "patient": patient,
        "q": q,
        "results": results,
        "chosen": source.get("patient", ""),
        "search_url": reverse("scheduling:book_patients"),
        "rows": rows,
        "conflicts": proposal_table.conflicts(rows),
        "conflict": conflict,
        "booking_warnings": warnings,
        "leave_out": proposal_table.LEAVE_OUT,
    }
    return render(request, "scheduling/series_form.html", context, status=409 if conflict else 200)


def _series_args(form, patient) -> dict | None:
    cleaned = form.cleaned_data
    if patient is None:
        form.add_error(None, "Choose the patient: search by name, chart number, phone or date of birth.")
    if cleaned.get("practitioner") is None:
        form.add_error("practitioner", "Choose the practitioner for the series.")
    if cleaned.get("start") is None:
        form.add_error("start", "Give the first visit’s start.")
    if form.errors:
        return None
    return {
        "patient": patient,
        "practitioner": cleaned["practitioner"],
        "service": cleaned["service"],
        "location": cleaned["location"],
        "every_days": cleaned.get("every_days"),
        "weekdays": cleaned.get("weekdays") or None,
        "duration": cleaned.get("duration"),
        "room": cleaned.get("room"),
    }


def _propose(user, form, args):
    cleaned = form.cleaned_data
    first_start = local_instant(cleaned["start"], cleaned["location"])
    return actions.propose_series(
        user,
        args["patient"],
        args["practitioner"],
        args["service"],
        args["location"],
        first_start,
        cleaned["visits"],
        every_days=args["every_days"],
        weekdays=args["weekdays"],
        duration=args["duration"],
        room=args["room"],
    )


def _book(request, form, args):
    """Book the visits as chosen on the proposal (a free time, an alternative, or left out)."""
    try:
        visits = proposal_table.chosen_visits(request.POST, form.cleaned_data["visits"])
    except ValidationError as exc:
        form.add_error(None, exc)
        return None
    series = actions.do_book_series(
        request.user,
        args["patient"],
        args["practitioner"],
        args["service"],
        args["location"],
        visits,
        duration=args["duration"],
        room=args["room"],
        every_days=args["every_days"],
        weekdays=args["weekdays"],
        confirm_warnings=request.POST.get("confirm_warnings") == "1",
    )
    who, whom = args["patient"].display_name, args["practitioner"].display_name
    messages.success(request, f"Booked {len(visits)} visits for {who} with {whom}.")
    return series


def series_detail(request, series_id):
    """The visits of a series, each with its status, and cancelling one or all remaining."""
    series, visits = access.access_series(request.user, series_id)
    tz = series.location.tz
    now = timezone.now()
    for visit in visits:
        local, end = visit.start.astimezone(tz), visit.end.astimezone(tz)
        visit.when = f"{local:%a} {local.day} {local:%b %Y, %H:%M}–{end:%H:%M}"
        visit.cancellable = visit.status in HOLDS_TIME and visit.status == "booked" and visit.start > now
    remaining = sum(1 for v in visits if v.cancellable)
    pattern = (
        f"every {series.every_days} days"
        if series.every_days
        else "on " + ", ".join(_weekday_names(series.weekdays))
        if series.weekdays
        else "on chosen dates"
    )
    context = {
        "nav": "calendar",
        "series": series,
        "visits": visits,
        "remaining": remaining,
        "pattern": pattern,
        "form": CancelForm(),
        "next": request.get_full_path(),
    }
    return render(request, "scheduling/series.html", context)


def _weekday_names(weekdays) -> list[str]:

    return [Weekday(d).label for d in sorted(weekdays)]


@require_POST
def series_cancel(request, series_id):
    """Cancel every visit still ahead."""
    series, _visits = access.access_series(request.user, series_id, key="appointment.change", audit_it=False)
    form = CancelForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Say why the remaining visits are cancelled.")
        reason = actions.check_cancel_series_remaining(request.user, series, form.cleaned_data["reason"])
        cancelled = actions.do_cancel_series_remaining(request.user, series, reason)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        count = len(cancelled)
        plural = "" if count == 1 else "s"
        messages.success(request, f"Cancelled {count} remaining visit{plural}." if count else "Nothing left to cancel.")
    return redirect("scheduling:series", series_id=series.public_id)


urlpatterns = [
    path("series/new/", series_new, name="series_new"),
    path("series/<uuid:series_id>/", series_detail, name="series"),
    path("series/<uuid:series_id>/cancel/", series_cancel, name="series_cancel"),
]
