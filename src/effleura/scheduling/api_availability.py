"""The availability part of the JSON API: ``GET /api/v1/availability``.

Thin: parse the query, find the service, location and practitioner by their UUIDs, and
ask scheduling/calendars.available_slots. Errors (ValidationError, Http404) become JSON
answers in effleura/api/api.py.
"""

import re
from datetime import date, datetime, time, timedelta
from uuid import UUID

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404
from ninja import Query, Router, Schema
from pydantic import Field

from effleura.core.access import authorize
from effleura.core.api_schemas import ERRORS_WITH_ID, text
from effleura.scheduling import calendars
from effleura.scheduling.models import Location, Service

router = Router(tags=["scheduling"])

MAX_DAYS = 62
MIN_YEAR, MAX_YEAR = 1900, 2999
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# "+02:00" sent unencoded in a query string arrives as " 02:00"; read it as meant.
_SPACED_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")
WHEN_HELP = (
    "A date (YYYY-MM-DD: whole days in the location's time zone) or a date and time with its "
    "offset (ISO 8601, e.g. 2025-06-10T09:00:00-05:00)."
)


class AvailabilityQuery(Schema):
    service: UUID = Field(description="The service's id.")
    location: UUID = Field(description="The location's id.")
    start: text(40) = Field(description=f"From: {WHEN_HELP}")
    end: text(40) = Field(description=f"Until: {WHEN_HELP} An end date is included.")
    practitioner: UUID | None = Field(None, description="Only this practitioner's slots.")
    duration: int | None = Field(
        None, ge=1, le=24 * 60, description="Minutes; one of the service's durations (default: its first)."
    )
    short_notice: bool = Field(
        False,
        description="true: also times sooner than the practice's minimum notice (staff filling a cancellation; "
        "booking one answers 409 until it is confirmed).",
    )


class AvailableSlotOut(Schema):
    start: datetime = Field(description="In the location's time zone, with its offset.")
    end: datetime
    practitioner: UUID
    room: UUID | None = Field(description="Null when the service needs no room.")


class AvailabilityOut(Schema):
    slots: list[AvailableSlotOut]


@router.get("/availability", response={200: AvailabilityOut, **ERRORS_WITH_ID}, url_name="availability")
def get_availability(request, query: Query[AvailabilityQuery]):
    """Bookable slots for a service at a location between ``start`` and ``end`` (at most
    62 days), by start time, each with a practitioner and the first free room."""
    authorize(request.user, "schedule.view")
    service = Service.objects.filter(public_id=query.service).first()
    if service is None:
        raise Http404("No service has this id.")
    location = Location.objects.filter(public_id=query.location).first()
    if location is None:
        raise Http404("No location has this id.")
    practitioner = None
    if query.practitioner is not None:
        practitioner = get_user_model().objects.filter(public_id=query.practitioner).first()
        if practitioner is None:
            raise Http404("No member of staff has this id.")
    start = _when(query.start, "start", location, end=False)
    end = _when(query.end, "end", location, end=True)
    if end <= start:
        raise ValidationError({"end": "The end must be after the start."})
    if end - start > timedelta(days=MAX_DAYS):
        raise ValidationError({"end": f"Ask for at most {MAX_DAYS} days at a time."})
    slots = calendars.available_slots(
        service, location, start, end, practitioner=practitioner, duration=query.duration,
        short_notice=query.short_notice,
    )  # fmt: skip
    tz = location.tz
    return {
        "slots": [
            {
                "start": s.start.astimezone(tz),
                "end": s.end.astimezone(tz),
                "practitioner": s.practitioner.public_id,
                "room": None if s.room is None else s.room.public_id,
            }
            for s in slots
        ]
    }


def _when(value: str, field: str, location, *, end: bool) -> datetime:
    """A date (local midnight; the day after for an end date) or an ISO datetime with offset."""
    value = value.strip()
    if _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValidationError({field: "Enter a real date as YYYY-MM-DD, e.g. 2025-06-10."}) from None
        _check_year(day.year, field)
        if end:
            day += timedelta(days=1)
        return datetime.combine(day, time(0), tzinfo=location.tz)
    value = _SPACED_OFFSET.sub(r"\1+\2", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError({field: f"Give {WHEN_HELP[0].lower()}{WHEN_HELP[1:]}"}) from None
    if parsed.tzinfo is None:
        raise ValidationError({field: "Give the time with its offset, e.g. 2025-06-10T09:00:00-05:00."})
    _check_year(parsed.year, field)
    return parsed


def _check_year(year: int, field: str) -> None:
    # Far-off years would overflow the date arithmetic; no clinic books them.
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError({field: f"Give a date between {MIN_YEAR} and {MAX_YEAR}."})
