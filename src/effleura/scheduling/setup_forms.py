"""The forms of the scheduling set-up pages (scheduling/resources.py draws the pages from
them): locations and their week, rooms, services, the booking policy, weekly hours,
dated exceptions, time off and closures. They only parse what was typed; setup.py and hours.py
validate."""

import zoneinfo

from django import forms
from django.core.exceptions import ValidationError

from effleura.core.forms import VersionedForm
from effleura.scheduling import setup
from effleura.scheduling.choices import PlaceOfService, Weekday
from effleura.scheduling.models import Location


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
    place_of_service = forms.ChoiceField(
        choices=PlaceOfService.choices,
        initial=PlaceOfService.OFFICE,
        required=False,
        label="Place of service on claims",
        help_text="Box 24B of the CMS-1500: 11 for a clinic, 21 or 22 for hospital wards. A claim can change it.",
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
    # Text, read by core.values.parse_amount in setup.py (the practice's decimal separator).
    default_price = forms.CharField(max_length=20, label="Default price", help_text="e.g. 95.00; 0 for a free visit.")
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


class PolicyForm(VersionedForm, forms.Form):
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


class ClosureForm(forms.Form):
    # Every location, inactive ones too: a closure of a location since deactivated must not
    # turn into a closure of the whole practice (the empty choice) when it is edited.
    location = forms.ModelChoiceField(
        queryset=Location.objects.order_by("-is_active", "name"),
        to_field_name="public_id",
        required=False,
        empty_label="Every location (the whole practice)",
    )
    first_day = forms.DateField(widget=DateInput(), label="Closed from")
    last_day = forms.DateField(
        widget=DateInput(), required=False, label="Until (inclusive)", help_text="Leave empty for one day."
    )
    reason = forms.CharField(max_length=120, help_text="e.g. Christmas Day. Staff see it when a booking is refused.")
    every_year = forms.BooleanField(required=False, label="Every year on these dates (a public holiday)")
