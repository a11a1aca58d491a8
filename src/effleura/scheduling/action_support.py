"""What the scheduling actions (booking_actions, status_actions, series_actions) share:
the length of their free-text fields, how they name staff, raise field errors, and lock
an appointment's row."""

from django.core.exceptions import ValidationError

from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment

MAX_TEXT = 300  # notes, cancel reason, interruption reason (the columns' length)

Status = AppointmentStatus


def person(user) -> str:
    """A member of staff as a message names them (never a patient)."""
    return user.get_full_name() or user.get_username()


def raise_errors(errors: dict) -> None:
    """Raise ValidationError(errors) when there are any."""
    if errors:
        raise ValidationError(errors)


def locked_appointment(pk) -> Appointment:
    """The appointment, its row locked until the transaction ends (PostgreSQL; SQLite's
    write lock covers it), with what an answer shows joined in. Precondition: the caller
    holds a transaction.atomic()."""
    related = ("patient", "practitioner", "service", "location", "room", "series")
    return Appointment.objects.select_for_update(of=("self",)).select_related(*related).get(pk=pk)
