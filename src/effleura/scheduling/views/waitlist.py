"""Scheduling pages: the waitlist. URL names are listed in core/permissions.py URL_RULES.

The list (by location), putting a patient on the waitlist, and the matches for a slot a
cancellation freed, each with a button that books that patient into it. Thin: parse,
access_*/check_*, do_*, render (rules in scheduling/waitlist.py).
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from effleura.core.access import authorize
from effleura.core.forms import apply_errors
from effleura.patients import access as patient_access
from effleura.scheduling import access
from effleura.scheduling import waitlist as rules
from effleura.scheduling.booking import NeedsConfirmation
from effleura.scheduling.choices import Weekday
from effleura.scheduling.models import Location, Service
from effleura.scheduling.setup import practitioners_qs

# The form ---------------------------------------------------------------------------------


class WaitlistEntryForm(forms.Form):
    """One optional window a day (the API takes several a day)."""

    service = forms.ModelChoiceField(queryset=Service.objects.none(), empty_label=None)
    duration_minutes = forms.TypedChoiceField(label="Length (minutes)", coerce=int, required=False, choices=())
    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None)
    practitioner = forms.ModelChoiceField(
        queryset=practitioners_qs().none(), required=False, empty_label="No preference", label="Practitioner"
    )
    earliest = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Not before this day (optional)."
    )
    latest = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Not after this day (optional)."
    )
    notes = forms.CharField(
        required=False, max_length=rules.NOTES_LIMIT, help_text="Front-desk notes; nothing clinical."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(is_active=True)
        self.fields["location"].queryset = Location.objects.filter(is_active=True)
        self.fields["practitioner"].queryset = practitioners_qs()
        lengths = sorted({d for s in self.fields["service"].queryset for d in s.durations})
        self.fields["duration_minutes"].choices = [("", "The service's usual length")] + [(d, d) for d in lengths]
        for day in Weekday:
            for edge in ("start", "end"):
                self.fields[f"{day.name.lower()}_{edge}"] = forms.TimeField(
                    required=False,
                    label=f"{day.label} {'from' if edge == 'start' else 'until'}",
                    widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                )

    def day_rows(self):
        return [(day.label, self[f"{day.name.lower()}_start"], self[f"{day.name.lower()}_end"]) for day in Weekday]

    def windows(self) -> list[dict]:
        """The days filled in, as the rule's windows; half a day is passed on for the rule
        to refuse in words."""
        found = []
        for day in Weekday:
            start = self.cleaned_data.get(f"{day.name.lower()}_start")
            end = self.cleaned_data.get(f"{day.name.lower()}_end")
            if start or end:
                found.append(
                    {
                        "weekday": day.value,
                        "start": f"{start:%H:%M}" if start else "",
                        "end": f"{end:%H:%M}" if end else "",
                    }
                )
        return found


def _apply_with_windows(form, exc: ValidationError) -> list[str]:
    """Put an action's errors beside their fields; answer those about the windows (the
    day table is not one field, the template shows them above it)."""
    if not hasattr(exc, "error_dict") or "windows" not in exc.error_dict:
        apply_errors(form, exc)
        return []
    rest = {field: errors for field, errors in exc.error_dict.items() if field != "windows"}
    if rest:
        apply_errors(form, ValidationError(rest))
    return [message for error in exc.error_dict["windows"] for message in error.messages]


# Pages ------------------------------------------------------------------------------------


def waitlist(request):
    """Waiting entries, oldest first, for one location or all."""
    locations = list(Location.objects.filter(is_active=True))
    location = None
    wanted = request.GET.get("location", "")
    if wanted:
        location = next((loc for loc in locations if str(loc.public_id) == wanted), None)
    page = access.access_waitlist_page(request.user, request.GET.get("page"), location=location)
    rows = [(entry, rules.describe_windows(entry.windows)) for entry in page]
    q = request.GET.get("q", "").strip()
    found = patient_access.access_patient_search(request.user, q, limit=10) if q else None
    context = {
        "nav": "waitlist",
        "page": page,
        "rows": rows,
        "locations": locations,
        "location": location,
        "q": q,
        "found": found,
    }
    return render(request, "scheduling/waitlist.html", context)


def waitlist_add(request, patient_id):
    """Put a patient on the waitlist."""
    patient = patient_access.access_patient(request.user, patient_id, audit_it=request.method == "GET")
    authorize(request.user, "waitlist.view", patient_id=patient.public_id)
    form = WaitlistEntryForm(request.POST or None)
    windows_errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = {
            name: form.cleaned_data[name]
            for name in ("service", "location", "practitioner", "earliest", "latest", "notes")
        }
        data["duration_minutes"] = form.cleaned_data["duration_minutes"] or None
        data["windows"] = form.windows()
        try:
            clean = rules.check_add_waitlist_entry(request.user, patient, data)
        except ValidationError as exc:
            windows_errors = _apply_with_windows(form, exc)
        else:
            entry = rules.do_add_waitlist_entry(request.user, patient, clean)
            messages.success(
                request, f"{patient.display_name} is on the waitlist for {entry.service.name} at {entry.location.name}."
            )
            return redirect(f"{reverse('scheduling:waitlist')}?location={entry.location.public_id}")
    context = {"nav": "waitlist", "form": form, "patient": patient, "windows_errors": windows_errors}
    return render(request, "scheduling/waitlist_form.html", context)


@require_POST
def waitlist_remove(request, entry_id):
    entry = access.access_waitlist_entry(request.user, entry_id, key="waitlist.manage", audit_it=False)
    try:
        rules.check_remove_waitlist_entry(request.user, entry)
        rules.do_remove_waitlist_entry(request.user, entry)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{entry.patient.display_name} is off the waitlist.")
    return redirect(f"{reverse('scheduling:waitlist')}?location={entry.location.public_id}")


def waitlist_matches(request, appointment_id):
    """Who on the waitlist could take the time this cancelled appointment freed."""
    appointment = access.access_freed_appointment(request.user, appointment_id)
    return _matches_page(request, appointment)


def _matches_page(request, appointment, **extra):
    matches = access.access_waitlist_matches(request.user, appointment)
    context = {
        "nav": "waitlist",
        "freed": appointment,
        "freed_when": rules.local_when(appointment),
        "match_rows": [(entry, rules.describe_windows(entry.windows)) for entry in matches],
        **extra,
    }
    return render(request, "scheduling/waitlist_matches.html", context)


@require_POST
def waitlist_book(request, entry_id, appointment_id):
    """Book the entry's patient into the time the cancelled appointment freed: one click."""
    entry = access.access_waitlist_entry(request.user, entry_id, key="waitlist.manage", audit_it=False)
    freed = access.access_freed_appointment(request.user, appointment_id)
    try:
        rules.check_book_from_waitlist(request.user, entry)
        if entry not in rules.matches_for_appointment(freed):
            raise ValidationError("This time no longer suits this entry, or has been taken.")
        appointment = rules.do_book_from_waitlist(
            request.user,
            entry,
            freed.start,
            freed.practitioner,
            room=freed.room if entry.service.needs_room else None,
            confirm_warnings=request.POST.get("confirm_warnings") == "1",
        )
    except NeedsConfirmation as exc:
        # e.g. the referral has no visits left: the matches again, "Book anyway" on this entry.
        return _matches_page(request, freed, booking_warnings=exc.warnings, confirm_entry=entry.public_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("scheduling:waitlist_matches", appointment_id=freed.public_id)
    messages.success(
        request,
        f"{entry.patient.display_name} booked {rules.local_when(appointment)} with "
        f"{appointment.practitioner.display_name}, from the waitlist.",
    )
    return redirect("scheduling:appointment", appointment_id=appointment.public_id)


urlpatterns = [
    path("waitlist/", waitlist, name="waitlist"),
    path("waitlist/add/<uuid:patient_id>/", waitlist_add, name="waitlist_add"),
    path("waitlist/<uuid:entry_id>/remove/", waitlist_remove, name="waitlist_remove"),
    path("waitlist/matches/<uuid:appointment_id>/", waitlist_matches, name="waitlist_matches"),
    path("waitlist/<uuid:entry_id>/book/<uuid:appointment_id>/", waitlist_book, name="waitlist_book"),
]
