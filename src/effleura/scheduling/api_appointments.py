"""The appointments and series part of the JSON API.

Thin, like the views: parse (the schemas below), then scheduling.access to read and
scheduling.actions (check_*/do_*) to write; those authorize and audit. Errors become JSON
answers in effleura/api/api.py; a BookingConflict (someone or something is already booked
then) answers 409 with the conflicting time in its message.

Ids in URLs and bodies are the records' UUIDs (``public_id``). Times are ISO 8601 with
their offset; a time without one is refused (422), since "10:00" means nothing until we
know where. Answers give times in the location's zone.
"""

import datetime
import re
from typing import Annotated
from uuid import UUID

from django.core.exceptions import ValidationError
from ninja import Query, Router, Schema, Status
from pydantic import Field
from pydantic_core import PydanticCustomError

from effleura.core import clock
from effleura.core.api_schemas import (
    EARLIEST_YEAR,
    ERRORS,
    ERRORS_WITH_ID,
    LATEST_YEAR,
    TIME_RANGE_MESSAGE,
    AwareTime,
    ErrorOut,
    Flag,
    InputSchema,
    Page,
    StaffRef,
    WarningsOut,
    WholeNumber,
    aware_time,
    text,
)
from effleura.scheduling import access, actions
from effleura.scheduling import series as planning
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment, AppointmentChange, Series

router = Router(tags=["appointments"])

MAX_PAGE_SIZE = 500
MAX_MINUTES = 24 * 60
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


Minutes = Annotated[WholeNumber, Field(ge=1, le=MAX_MINUTES)]


# Answers ------------------------------------------------------------------------------------


def _local(moment: datetime.datetime | None, location) -> datetime.datetime | None:
    return None if moment is None else moment.astimezone(location.tz)


def _id(obj) -> UUID | None:
    return None if obj is None else obj.public_id


class AppointmentOut(Schema):
    id: UUID
    patient: UUID
    practitioner: UUID
    practitioner_name: str
    service: UUID
    service_name: str
    location: UUID
    location_name: str
    room: UUID | None = Field(description="Null for a service that needs no room.")
    room_name: str
    series: UUID | None
    duration: int = Field(description="Minutes.")
    start: datetime.datetime = Field(description="In the location's time zone.")
    end: datetime.datetime
    status: AppointmentStatus
    notes: str
    cancelled_at: datetime.datetime | None
    cancel_reason: str
    late_cancel: bool
    interrupted_reason: str
    minutes_delivered: int | None

    @staticmethod
    def resolve_id(obj: Appointment) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_patient(obj: Appointment) -> UUID:
        return obj.patient.public_id

    @staticmethod
    def resolve_practitioner(obj: Appointment) -> UUID:
        return obj.practitioner.public_id

    @staticmethod
    def resolve_practitioner_name(obj: Appointment) -> str:
        return obj.practitioner.display_name

    @staticmethod
    def resolve_service(obj: Appointment) -> UUID:
        return obj.service.public_id

    @staticmethod
    def resolve_service_name(obj: Appointment) -> str:
        return obj.service.name

    @staticmethod
    def resolve_location(obj: Appointment) -> UUID:
        return obj.location.public_id

    @staticmethod
    def resolve_location_name(obj: Appointment) -> str:
        return obj.location.name

    @staticmethod
    def resolve_room(obj: Appointment) -> UUID | None:
        return _id(obj.room)

    @staticmethod
    def resolve_room_name(obj: Appointment) -> str:
        return obj.room.name if obj.room is not None else ""

    @staticmethod
    def resolve_series(obj: Appointment) -> UUID | None:
        return _id(obj.series)

    @staticmethod
    def resolve_duration(obj: Appointment) -> int:
        return obj.duration_minutes

    @staticmethod
    def resolve_start(obj: Appointment) -> datetime.datetime:
        return _local(obj.start, obj.location)

    @staticmethod
    def resolve_end(obj: Appointment) -> datetime.datetime:
        return _local(obj.end, obj.location)

    @staticmethod
    def resolve_cancelled_at(obj: Appointment) -> datetime.datetime | None:
        return _local(obj.cancelled_at, obj.location)


class AppointmentChangeOut(Schema):
    at: datetime.datetime
    actor: StaffRef | None
    kind: str
    from_start: datetime.datetime | None
    to_start: datetime.datetime | None
    from_status: str
    to_status: str
    detail: str
    undone: bool = Field(False, description="A later change of kind undo took this one back.")

    @staticmethod
    def resolve_undone(obj: AppointmentChange) -> bool:
        return bool(getattr(obj, "undone", False))

    @staticmethod
    def resolve_actor(obj: AppointmentChange) -> dict | None:
        return None if obj.actor is None else {"id": obj.actor.public_id, "name": obj.actor.display_name}


class HistoryOut(Schema):
    appointment: AppointmentOut
    changes: list[AppointmentChangeOut]


# Appointments -------------------------------------------------------------------------------


class AppointmentBookIn(InputSchema):
    patient: UUID
    practitioner: UUID
    service: UUID
    location: UUID
    room: UUID | None = Field(None, description="Left out: the location's first free room, if the service needs one.")
    duration: Minutes | None = Field(None, description="Minutes: one of the service's (its first if left out).")
    start: AwareTime = Field(description="ISO 8601 with its offset, e.g. 2025-03-04T10:00:00-06:00.")
    notes: text(actions.MAX_TEXT) = Field("", description="Front-desk notes; nothing clinical.")
    confirm_warnings: Flag = Field(
        False, description="Book despite the warnings (e.g. no referral visits left) a 409 answer listed."
    )


def _references(payload) -> dict:
    """The set-up objects a body names (field errors for unknown ids)."""
    found = {
        "practitioner": access.practitioner_by_id(payload.practitioner),
        "service": access.service_by_id(payload.service),
        "location": access.location_by_id(payload.location),
    }
    found["room"] = access.room_by_id(payload.room) if payload.room is not None else None
    return found


@router.post(
    "/appointments", response={201: AppointmentOut, 400: ErrorOut, 409: WarningsOut, **ERRORS}, url_name="appointments"
)
def book(request, payload: AppointmentBookIn):
    """Book a visit. 409 when the practitioner, the room or the patient is already booked
    then (changeover counted); the message gives that appointment's time. 409 with
    ``warnings`` when something needs confirming first (e.g. the referral has no visits
    left): send again with ``confirm_warnings`` true to book anyway."""
    patient = access.patient_for_booking(request.user, payload.patient)
    refs = _references(payload)
    plan = actions.check_book(
        request.user,
        patient,
        start=payload.start,
        duration=payload.duration,
        notes=payload.notes,
        confirm_warnings=payload.confirm_warnings,
        **refs,
    )
    return Status(201, actions.do_book(request.user, plan))


class ListQuery(Schema):
    start: text(40) = Field(description="YYYY-MM-DD (that day's start) or ISO 8601 with offset.")
    end: text(40) = Field(description="YYYY-MM-DD (that whole day included) or ISO 8601 with offset.")
    practitioner: UUID | None = None
    patient: UUID | None = None
    location: UUID | None = None
    include_cancelled: bool = True
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(100, ge=1, le=MAX_PAGE_SIZE)


def _bound(value: str, tz, field: str, *, end: bool) -> datetime.datetime:
    """A date (midnight in ``tz``; for ``end`` the next midnight: the day is included) or
    an ISO 8601 time with its offset."""
    if _ISO_DATE.fullmatch(value):
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            raise ValidationError({field: "Enter a real date as YYYY-MM-DD."}) from None
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise ValidationError({field: TIME_RANGE_MESSAGE})
        if end:
            day += datetime.timedelta(days=1)
        return datetime.datetime.combine(day, datetime.time(0), tzinfo=tz)
    try:
        return aware_time(value)
    except PydanticCustomError as exc:
        raise ValidationError({field: exc.message()}) from None


@router.get("/appointments", response={200: Page[AppointmentOut], **ERRORS}, url_name="appointments")
def list_appointments(request, filters: Query[ListQuery]):
    """Appointments overlapping a range of at most 62 days, by practitioner, patient or
    location, a page at a time (by start). Dates are read in the location's zone (the
    practice's default zone without a location)."""
    location = access.location_by_id(filters.location) if filters.location else None
    practitioner = access.practitioner_by_id(filters.practitioner) if filters.practitioner else None
    patient = (
        access.patient_for_booking(request.user, filters.patient, key="schedule.view") if filters.patient else None
    )
    tz = location.tz if location is not None else clock.practice_zone()
    start = _bound(filters.start, tz, "start", end=False)
    end = _bound(filters.end, tz, "end", end=True)
    page = access.access_appointment_page(
        request.user,
        start,
        end,
        page_number=filters.page,
        per_page=filters.page_size,
        location=location,
        practitioner=practitioner,
        patient=patient,
        holding_only=not filters.include_cancelled,
    )
    return {"items": list(page), "count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages}


@router.get(
    "/appointments/{uuid:appointment_id}", response={200: AppointmentOut, **ERRORS_WITH_ID}, url_name="appointment"
)
def get_appointment(request, appointment_id: UUID):
    return access.access_appointment(request.user, appointment_id)


class RescheduleIn(InputSchema):
    """What changes; what is left out stays. Without a room, the current one is kept when free."""

    start: AwareTime | None = None
    practitioner: UUID | None = None
    room: UUID | None = None
    duration: Minutes | None = None
    confirm_warnings: Flag = Field(
        False, description="Move despite the warnings (e.g. sooner than the minimum notice) a 409 answer listed."
    )


@router.post(
    "/appointments/{uuid:appointment_id}/reschedule",
    response={200: AppointmentOut, 400: ErrorOut, 409: WarningsOut, **ERRORS_WITH_ID},
    url_name="appointment_reschedule",
)
def reschedule(request, appointment_id: UUID, payload: RescheduleIn):
    """Move a booked appointment: a new start, practitioner, room or duration. 409 when the
    new time is taken. 409 with ``warnings`` when something needs confirming first (the new
    start is sooner than the practice's minimum notice): send again with
    ``confirm_warnings`` true to move it anyway. A start already past is refused (422)."""
    appointment = access.access_appointment(request.user, appointment_id, key="appointment.change", audit_it=False)
    plan = actions.check_reschedule(
        request.user,
        appointment,
        start=payload.start,
        practitioner=access.practitioner_by_id(payload.practitioner) if payload.practitioner else None,
        room=access.room_by_id(payload.room) if payload.room else None,
        duration=payload.duration,
        confirm_warnings=payload.confirm_warnings,
    )
    return actions.do_reschedule(request.user, appointment, plan)


class CancelIn(InputSchema):
    reason: text(actions.MAX_TEXT) = Field(description="Why: kept in the appointment's history.")


@router.post(
    "/appointments/{uuid:appointment_id}/cancel",
    response={200: AppointmentOut, 400: ErrorOut, **ERRORS_WITH_ID},
    url_name="appointment_cancel",
)
def cancel(request, appointment_id: UUID, payload: CancelIn):
    """Cancel; ``late_cancel`` in the answer says whether it came later than the practice's
    policy allows."""
    appointment = access.access_appointment(request.user, appointment_id, key="appointment.change", audit_it=False)
    reason = actions.check_cancel(request.user, appointment, payload.reason)
    return actions.do_cancel(request.user, appointment, reason)


class StatusIn(InputSchema):
    status: AppointmentStatus
    reason: text(actions.MAX_TEXT) = Field("", description="For interrupted (and cancelled): why.")
    minutes_delivered: WholeNumber | None = Field(
        None, ge=0, le=MAX_MINUTES, description="For interrupted: minutes of treatment given, 0 to the duration."
    )


@router.post(
    "/appointments/{uuid:appointment_id}/status",
    response={200: AppointmentOut, 400: ErrorOut, **ERRORS_WITH_ID},
    url_name="appointment_status",
)
def set_status(request, appointment_id: UUID, payload: StatusIn):
    """Booked → checked in → in session → completed; or no-show, or interrupted (with a
    reason and the minutes delivered). ``cancelled`` with a reason cancels."""
    appointment = access.access_appointment(request.user, appointment_id, key="appointment.change", audit_it=False)
    if payload.status == AppointmentStatus.CANCELLED:
        reason = actions.check_cancel(request.user, appointment, payload.reason)
        return actions.do_cancel(request.user, appointment, reason)
    change = actions.check_set_status(
        request.user,
        appointment,
        payload.status,
        reason=payload.reason,
        minutes_delivered=payload.minutes_delivered,
    )
    return actions.do_set_status(request.user, appointment, change)


class UndoIn(InputSchema):
    status: AppointmentStatus = Field(
        description="The appointment's status as you see it (the status being undone); refused if it has changed."
    )


@router.post(
    "/appointments/{uuid:appointment_id}/undo",
    response={200: AppointmentOut, 400: ErrorOut, **ERRORS_WITH_ID},
    url_name="appointment_undo",
)
def undo_status(request, appointment_id: UUID, payload: UndoIn):
    """Undo the last status change or cancellation, made by mistake: the same day (the
    location's), by the person who made it or the owner. The history keeps the change and
    adds an "undo" line. Refused (400) for a completed visit whose note is signed, and
    for a cancelled one whose time has been booked since."""
    appointment = access.access_appointment(request.user, appointment_id, key="appointment.change", audit_it=False)
    checked = actions.check_undo_status(request.user, appointment, expected_status=payload.status)
    return actions.do_undo_status(request.user, appointment, checked)


@router.get(
    "/appointments/{uuid:appointment_id}/history",
    response={200: HistoryOut, **ERRORS_WITH_ID},
    url_name="appointment_history",
)
def history(request, appointment_id: UUID):
    """Every change to the appointment, oldest first: booked, moved, status, cancelled, undone."""
    appointment, changes = access.access_appointment_history(request.user, appointment_id)
    return {"appointment": appointment, "changes": changes}


# Series -------------------------------------------------------------------------------------


class SeriesPattern(InputSchema):
    patient: UUID
    practitioner: UUID
    service: UUID
    location: UUID
    room: UUID | None = None
    duration: Minutes | None = None
    every_days: WholeNumber | None = Field(
        None, ge=1, le=planning.MAX_EVERY_DAYS, description="A visit every so many days, or …"
    )
    weekdays: list[Annotated[WholeNumber, Field(ge=0, le=6)]] | None = Field(
        None, max_length=7, description="… on these weekdays (0 = Monday), e.g. [1, 3] for Tuesday and Thursday."
    )


class ProposeIn(SeriesPattern):
    start: AwareTime = Field(description="The first visit's start; the others keep its local time.")
    visits: WholeNumber = Field(ge=1, le=planning.MAX_VISITS, description="How many visits, e.g. 8.")


class SeriesSlotOut(Schema):
    start: datetime.datetime
    end: datetime.datetime
    practitioner: UUID
    room: UUID | None


class SeriesProposedVisitOut(Schema):
    number: int
    start: datetime.datetime
    end: datetime.datetime
    practitioner: UUID
    room: UUID | None
    status: str = Field(description="ok, or conflict (see problem and alternatives).")
    problem: str
    alternatives: list[SeriesSlotOut]


def _slot(item, tz) -> dict:
    return {
        "start": item.start.astimezone(tz),
        "end": item.end.astimezone(tz),
        "practitioner": item.practitioner.public_id,
        "room": _id(item.room),
    }


@router.post(
    "/series/propose", response={200: list[SeriesProposedVisitOut], 400: ErrorOut, **ERRORS}, url_name="series_propose"
)
def propose(request, payload: ProposeIn):
    """Plan a series and check each visit, saving nothing: each visit is ok, or a conflict
    with the problem and up to three alternatives that day."""
    patient = access.patient_for_booking(request.user, payload.patient)
    refs = _references(payload)
    proposals = actions.propose_series(
        request.user,
        patient,
        refs["practitioner"],
        refs["service"],
        refs["location"],
        payload.start,
        payload.visits,
        every_days=payload.every_days,
        weekdays=payload.weekdays,
        duration=payload.duration,
        room=refs["room"],
    )
    tz = refs["location"].tz
    return [
        {
            **_slot(p, tz),
            "number": p.number,
            "status": p.status,
            "problem": p.problem,
            "alternatives": [_slot(a, tz) for a in p.alternatives],
        }
        for p in proposals
    ]


class SeriesVisitIn(InputSchema):
    start: AwareTime
    practitioner: UUID | None = Field(None, description="Another practitioner for this visit (an alternative).")
    room: UUID | None = None


class SeriesBookIn(SeriesPattern):
    visits: list[SeriesVisitIn] = Field(min_length=1, max_length=planning.MAX_VISITS)
    notes: text(actions.MAX_TEXT) = ""
    confirm_warnings: Flag = Field(
        False, description="Book despite the warnings (e.g. no referral visits left) a 409 answer listed."
    )


class SeriesOut(Schema):
    id: UUID
    patient: UUID
    practitioner: UUID
    service: UUID
    location: UUID
    duration: int
    visits: int
    every_days: int | None
    weekdays: list[int]
    created_at: datetime.datetime
    appointments: list[AppointmentOut]


def _series_out(series: Series, visits: list[Appointment]) -> dict:
    return {
        "id": series.public_id,
        "patient": series.patient.public_id,
        "practitioner": series.practitioner.public_id,
        "service": series.service.public_id,
        "location": series.location.public_id,
        "duration": series.duration_minutes,
        "visits": series.visits,
        "every_days": series.every_days,
        "weekdays": series.weekdays,
        "created_at": series.created_at,
        "appointments": visits,
    }


@router.post("/series", response={201: SeriesOut, 400: ErrorOut, 409: WarningsOut, **ERRORS}, url_name="series_book")
def book_series(request, payload: SeriesBookIn):
    """Book the chosen visits together, all or none: 409 naming the first visit whose time
    is taken, and nothing saved. 409 with ``warnings`` when visits need confirming first
    (e.g. the referral has no visits left for them): send again with ``confirm_warnings``
    true to book anyway."""
    patient = access.patient_for_booking(request.user, payload.patient)
    refs = _references(payload)
    visits = [
        planning.Visit(
            v.start,
            access.practitioner_by_id(v.practitioner, f"visits.{n}.practitioner") if v.practitioner else None,
            access.room_by_id(v.room, f"visits.{n}.room") if v.room else None,
        )
        for n, v in enumerate(payload.visits)
    ]
    series = actions.do_book_series(
        request.user,
        patient,
        refs["practitioner"],
        refs["service"],
        refs["location"],
        visits,
        duration=payload.duration,
        room=refs["room"],
        every_days=payload.every_days,
        weekdays=payload.weekdays,
        notes=payload.notes,
        confirm_warnings=payload.confirm_warnings,
    )
    series, appointments = access.access_series(request.user, series.public_id, key="appointment.book", audit_it=False)
    return Status(201, _series_out(series, appointments))


@router.get("/series/{uuid:series_id}", response={200: SeriesOut, **ERRORS_WITH_ID}, url_name="series")
def get_series(request, series_id: UUID):
    series, appointments = access.access_series(request.user, series_id)
    return _series_out(series, appointments)


@router.post(
    "/series/{uuid:series_id}/cancel-remaining",
    response={200: SeriesOut, 400: ErrorOut, **ERRORS_WITH_ID},
    url_name="series_cancel_remaining",
)
def cancel_remaining(request, series_id: UUID, payload: CancelIn):
    """Cancel every visit of the series still ahead; past visits stay as they are."""
    series, _visits = access.access_series(request.user, series_id, key="appointment.change", audit_it=False)
    reason = actions.check_cancel_series_remaining(request.user, series, payload.reason)
    actions.do_cancel_series_remaining(request.user, series, reason)
    series, appointments = access.access_series(request.user, series_id, key="appointment.change", audit_it=False)
    return _series_out(series, appointments)
