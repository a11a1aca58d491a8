"""Forms of the calendar pages: booking, rescheduling, cancelling, status changes and
series. They only parse what was typed; the rules (who may book what, when, and the
no-double-booking check) live in scheduling/actions.py and calendars.py.

Times are typed as wall-clock times at the chosen location (a ``datetime-local`` input)
and made aware in that location's zone by ``local_instant``, never in the server's.
"""

import datetime

from django import forms
from django.core.exceptions import ValidationError

from effleura.scheduling.choices import AppointmentStatus, Weekday
from effleura.scheduling.models import Location, Room, Service
from effleura.scheduling.setup import practitioners_qs

MAX_VISITS = 60


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class LocalDateTimeField(forms.Field):
    """A wall-clock date and time (naive). The view makes it aware in the location's zone."""

    widget = LocalDateTimeInput
    default_error_messages = {"invalid": "Give a date and a time, e.g. 2026-03-02 09:30."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.datetime):
            return value.replace(tzinfo=None)
        try:
            return datetime.datetime.fromisoformat(str(value).strip()).replace(tzinfo=None, second=0, microsecond=0)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


def local_instant(naive: datetime.datetime, location: Location) -> datetime.datetime:
    """``naive`` read as a wall-clock time at ``location`` (the first one when the clocks go back)."""
    return naive.replace(tzinfo=location.tz)


class PublicIdChoiceField(forms.ModelChoiceField):
    """Choose a row by its public id (UUID), never by its sequential key."""

    def __init__(self, queryset, **kwargs):
        super().__init__(queryset, to_field_name="public_id", **kwargs)


class PractitionerField(PublicIdChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class RoomField(PublicIdChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.location.name})"


def _durations():
    found = sorted(
        {
            int(d)
            for durations in Service.objects.filter(is_active=True).values_list("durations", flat=True)
            for d in durations
        }
    )
    return [("", "The service’s usual length"), *((str(d), f"{d} minutes") for d in found)]


class AppointmentFields(forms.Form):
    """Service, length, location, practitioner, room and start: shared by booking and series."""

    service = PublicIdChoiceField(Service.objects.filter(is_active=True), empty_label="Choose a service")
    duration = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, label="Length")
    location = PublicIdChoiceField(Location.objects.filter(is_active=True), empty_label=None)
    practitioner = PractitionerField(practitioners_qs(), empty_label="Choose a practitioner", required=False)
    room = RoomField(
        Room.objects.filter(is_active=True, location__is_active=True).select_related("location"),
        required=False,
        empty_label="Any free room (chosen for you)",
        help_text="Leave it to us unless the patient needs a particular room.",
    )
    start = LocalDateTimeField(required=False, label="Start", help_text="At the location, in its own time zone.")

    def __init__(self, *args, service: Service | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The lengths of the chosen service when we know it; every offered length otherwise
        # (the booking action refuses one the service is not given for, and says which are).
        if service is not None and service.durations:
            self.fields["duration"].choices = [(str(d), f"{d} minutes") for d in service.durations]
        else:
            self.fields["duration"].choices = _durations()


class BookingForm(AppointmentFields):
    notes = forms.CharField(
        required=False, max_length=300, label="Front-desk notes", help_text="No clinical details here."
    )


class RescheduleForm(forms.Form):
    start = LocalDateTimeField(required=False, label="New start", help_text="At the location, in its own time zone.")
    practitioner = PractitionerField(practitioners_qs(), required=False, empty_label="Keep the same practitioner")
    room = RoomField(
        Room.objects.filter(is_active=True, location__is_active=True).select_related("location"),
        required=False,
        empty_label="Keep the room if it is free, or any free room",
    )


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Reason for cancelling", help_text="No clinical details here.")


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=AppointmentStatus.choices)
    reason = forms.CharField(required=False, max_length=300, label="Why was it interrupted?")
    minutes_delivered = forms.IntegerField(required=False, min_value=0, max_value=1440, label="Minutes delivered")


class SeriesForm(AppointmentFields):
    visits = forms.IntegerField(min_value=1, max_value=MAX_VISITS, initial=8, label="Number of visits")
    repeat = forms.ChoiceField(
        choices=[("weekdays", "On chosen weekdays"), ("days", "Every few days")],
        initial="weekdays",
        widget=forms.RadioSelect,
        label="Repeat",
    )
    every_days = forms.IntegerField(required=False, min_value=1, max_value=90, label="Every … days")
    weekdays = forms.TypedMultipleChoiceField(
        choices=Weekday.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="On these weekdays",
    )

    def clean(self):
        data = super().clean()
        if data.get("repeat") == "days":
            data["weekdays"] = []
            if not data.get("every_days"):
                self.add_error("every_days", "Say how many days apart the visits are.")
        else:
            data["every_days"] = None
            if not data.get("weekdays"):
                self.add_error("weekdays", "Tick at least one weekday.")
        return data
