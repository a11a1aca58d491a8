"""The waitlist part of the JSON API: list, add, read and remove entries; the entries
that fit a cancelled appointment's time; book an entry.

Thin, like the pages: the rules, reads and writes are in scheduling/waitlist.py. Ids are
the records' UUIDs. A booking that clashes raises BookingConflict, which the API answers
with 409 and the conflicting time in the message.
"""

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404
from ninja import Query, Router, Schema, Status
from pydantic import Field

from effleura.core.api_schemas import (
    ERRORS,
    ERRORS_WITH_ID,
    AwareTime,
    ErrorOut,
    Flag,
    InputSchema,
    IsoDate,
    Page,
    StaffRef,
    WarningsOut,
    text,
)
from effleura.core.values import collect_errors
from effleura.patients import access as patient_access
from effleura.scheduling import access
from effleura.scheduling import waitlist as rules
from effleura.scheduling.choices import WaitlistStatus
from effleura.scheduling.models import Location, Room, Service, WaitlistEntry
from effleura.scheduling.setup import PRACTITIONER_ROLES

router = Router(tags=["waitlist"])
User = get_user_model()

MAX_PAGE_SIZE = 100


# Schemas ------------------------------------------------------------------------------------


class Window(Schema):
    weekday: Annotated[int, Field(ge=0, le=6, strict=True, description="0 = Monday … 6 = Sunday.")]
    start: Annotated[text(5), Field(description="HH:MM, local time at the location.", examples=["09:00"])]
    end: Annotated[text(5), Field(description="HH:MM, after start.", examples=["12:00"])]


class WaitlistEntryIn(InputSchema):
    patient: UUID
    service: UUID
    location: UUID
    practitioner: UUID | None = Field(None, description="A preferred practitioner; null for anyone.")
    duration: Annotated[int, Field(strict=True, gt=0)] | None = Field(
        None, description="Minutes: one of the service's lengths; its first when left out."
    )
    windows: list[Window] = Field(..., max_length=rules.MAX_WINDOWS, description="At least one.")
    earliest: IsoDate | None = None
    latest: IsoDate | None = None
    notes: text(rules.NOTES_LIMIT) = ""


class Ref(Schema):
    id: UUID
    name: str


class WaitlistPatientRef(Schema):
    id: UUID
    chart_number: str
    name: str


class WaitlistEntryOut(Schema):
    id: UUID
    patient: WaitlistPatientRef
    service: Ref
    location: Ref
    practitioner: StaffRef | None
    duration: int
    windows: list[Window]
    earliest: date | None
    latest: date | None
    notes: str
    status: WaitlistStatus
    appointment: UUID | None = Field(description="The appointment it was booked into.")
    created_at: datetime

    @staticmethod
    def resolve_id(entry: WaitlistEntry) -> UUID:
        return entry.public_id

    @staticmethod
    def resolve_patient(entry: WaitlistEntry) -> dict:
        p = entry.patient
        return {"id": p.public_id, "chart_number": p.chart_number, "name": p.display_name}

    @staticmethod
    def resolve_service(entry: WaitlistEntry) -> dict:
        return {"id": entry.service.public_id, "name": entry.service.name}

    @staticmethod
    def resolve_location(entry: WaitlistEntry) -> dict:
        return {"id": entry.location.public_id, "name": entry.location.name}

    @staticmethod
    def resolve_practitioner(entry: WaitlistEntry) -> dict | None:
        who = entry.practitioner
        return {"id": who.public_id, "name": who.display_name} if who is not None else None

    @staticmethod
    def resolve_duration(entry: WaitlistEntry) -> int:
        return entry.duration_minutes

    @staticmethod
    def resolve_appointment(entry: WaitlistEntry) -> UUID | None:
        return entry.appointment.public_id if entry.appointment_id else None


class WaitlistQuery(Schema):
    location: UUID | None = None
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(settings.EFFLEURA_API_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class MatchesQuery(Schema):
    appointment: UUID = Field(description="A cancelled appointment: who could take its time?")


class WaitlistBookIn(InputSchema):
    start: AwareTime = Field(description="ISO 8601 with its offset, e.g. 2026-03-03T10:00:00-08:00.")
    practitioner: UUID | None = Field(None, description="Defaults to the entry's preferred practitioner.")
    room: UUID | None = Field(None, description="Left out: the first free room, when the service needs one.")
    confirm_warnings: Flag = Field(
        False, description="Book despite the warnings (e.g. no referral visits left) a 409 answer listed."
    )


class BookedOut(Schema):
    id: UUID
    start: datetime
    end: datetime
    status: str
    room: UUID | None

    @staticmethod
    def resolve_id(appointment) -> UUID:
        return appointment.public_id

    @staticmethod
    def resolve_room(appointment) -> UUID | None:
        return appointment.room.public_id if appointment.room_id else None


# Helpers ------------------------------------------------------------------------------------


def _by_public_id(model, public_id, field: str, errors: dict, message: str, **filters):
    if public_id is None:
        return None
    found = model.objects.filter(public_id=public_id, **filters).first()
    if found is None:
        errors[field] = message
    return found


# Operations ---------------------------------------------------------------------------------


@router.get("/waitlist", response={200: Page[WaitlistEntryOut], **ERRORS}, url_name="waitlist_entries")
def list_entries(request, filters: Query[WaitlistQuery]):
    """Waiting entries, oldest first; ``location`` narrows them to one place."""
    location = None
    if filters.location is not None:
        location = Location.objects.filter(public_id=filters.location).first()
        if location is None:
            raise ValidationError({"location": "No such location."})
    page = access.access_waitlist_page(request.user, filters.page, location=location, per_page=filters.page_size)
    return {"items": list(page), "count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages}


@router.post("/waitlist", response={201: WaitlistEntryOut, 400: ErrorOut, **ERRORS}, url_name="waitlist_entries")
def add_entry(request, payload: WaitlistEntryIn):
    """Put a patient on the waitlist with the times that suit them."""
    try:
        patient = patient_access.access_patient(request.user, payload.patient, key="waitlist.manage", audit_it=False)
    except Http404:
        raise ValidationError({"patient": "No such patient."}) from None
    errors: dict[str, str] = {}
    data = {
        "service": _by_public_id(Service, payload.service, "service", errors, "No such service."),
        "location": _by_public_id(Location, payload.location, "location", errors, "No such location."),
        "practitioner": _by_public_id(
            User, payload.practitioner, "practitioner", errors, "No such practitioner.", role__in=PRACTITIONER_ROLES
        ),
        "duration_minutes": payload.duration,
        "windows": [w.model_dump() for w in payload.windows],
        "earliest": payload.earliest,
        "latest": payload.latest,
        "notes": payload.notes,
    }
    # An unknown id is named in its own words; the entry's other fields are checked too.
    clean = collect_errors(errors, rules.check_add_waitlist_entry, request.user, patient, data)
    if errors:
        raise ValidationError(errors)
    return Status(201, rules.do_add_waitlist_entry(request.user, patient, clean))


@router.get("/waitlist/matches", response={200: list[WaitlistEntryOut], **ERRORS_WITH_ID}, url_name="waitlist_matches")
def matches(request, filters: Query[MatchesQuery]):
    """The waiting entries that fit the time a cancelled appointment freed, oldest first
    (empty when it is not cancelled, has started, or its time is taken again)."""
    appointment = access.access_freed_appointment(request.user, filters.appointment)
    return access.access_waitlist_matches(request.user, appointment)


@router.get("/waitlist/{uuid:entry_id}", response={200: WaitlistEntryOut, **ERRORS_WITH_ID}, url_name="waitlist_entry")
def get_entry(request, entry_id: UUID):
    return access.access_waitlist_entry(request.user, entry_id)


@router.delete("/waitlist/{uuid:entry_id}", response={204: None, **ERRORS_WITH_ID}, url_name="waitlist_entry")
def remove_entry(request, entry_id: UUID):
    """Take an entry off the waitlist (kept as removed, for the record)."""
    entry = access.access_waitlist_entry(request.user, entry_id, key="waitlist.manage", audit_it=False)
    rules.check_remove_waitlist_entry(request.user, entry)
    rules.do_remove_waitlist_entry(request.user, entry)
    return Status(204, None)


@router.post(
    "/waitlist/{uuid:entry_id}/book",
    response={201: BookedOut, 409: WarningsOut, **ERRORS_WITH_ID},
    url_name="waitlist_book",
)
def book_entry(request, entry_id: UUID, payload: WaitlistBookIn):
    """Book the entry's patient at ``start`` (its service, location and length) and mark
    the entry booked, together. A clash answers 409 with the conflicting time; 409 with
    ``warnings`` when something needs confirming first (e.g. the referral has no visits
    left): send again with ``confirm_warnings`` true to book anyway."""
    entry = access.access_waitlist_entry(request.user, entry_id, key="waitlist.manage", audit_it=False)
    rules.check_book_from_waitlist(request.user, entry)
    errors: dict[str, str] = {}
    practitioner = entry.practitioner
    if payload.practitioner is not None:
        practitioner = _by_public_id(
            User, payload.practitioner, "practitioner", errors, "No such practitioner.", role__in=PRACTITIONER_ROLES
        )
    elif practitioner is None:
        errors["practitioner"] = "The entry has no preferred practitioner: choose one."
    room = _by_public_id(
        Room, payload.room, "room", errors, f"No such room at {entry.location.name}.", location=entry.location
    )
    if errors:
        raise ValidationError(errors)
    appointment = rules.do_book_from_waitlist(
        request.user, entry, payload.start, practitioner, room=room, confirm_warnings=payload.confirm_warnings
    )
    return Status(201, appointment)
