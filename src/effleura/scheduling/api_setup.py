"""The scheduling set-up part of the JSON API: locations (with opening hours), rooms,
services, practitioners' working hours, dated exceptions, time off and the booking policy.

Thin, like the pages: the schemas below parse, setup.py / hours.py authorize, validate and
write (with the audit event). Every role reads (scheduling_setup.view); only the owner
writes (scheduling_setup.manage); core/permissions.py URL_RULES gates each operation first.
Ids are the records' UUIDs. Times of day are "HH:MM" in the location's local time; time
off is a pair of ISO 8601 instants with an offset.
"""

import datetime
import re
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from django.conf import settings
from django.core.paginator import Paginator
from ninja import Query, Router, Schema, Status
from pydantic import AwareDatetime, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from effleura.core.api_schemas import (
    ERRORS,
    ERRORS_WITH_ID,
    BlankIsNone,
    Flag,
    InputSchema,
    IsoDate,
    Page,
    StaffRef,
    WholeNumber,
    text,
)
from effleura.scheduling import hours, setup
from effleura.scheduling.models import Location, Room, ScheduleException, Service, TimeOff

router = Router(tags=["scheduling set-up"])

MAX_PAGE_SIZE = 100
TIME_MESSAGE = "Give a time of day as HH:MM, e.g. 09:00 or 17:30."
PRICE_MESSAGE = 'Give the price as a string with the cents, e.g. "95.00", or a whole number.'
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def _time_of_day(value: Any) -> Any:
    if isinstance(value, datetime.time):
        return value
    if not isinstance(value, str) or not _HHMM.fullmatch(value):
        raise PydanticCustomError("time_format", TIME_MESSAGE)
    return datetime.time.fromisoformat(value)


def _money(value: Any) -> Any:
    # A float can't hold most cent amounts exactly (0.1 + 0.2); money comes as a string.
    if isinstance(value, bool | float):
        raise PydanticCustomError("money_format", PRICE_MESSAGE)
    if isinstance(value, int | Decimal):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,7}(\.\d{1,2})?", value.strip()):
        raise PydanticCustomError("money_format", PRICE_MESSAGE)
    return Decimal(value.strip())


TimeOfDay = Annotated[datetime.time, BeforeValidator(_time_of_day)]
Money = Annotated[Decimal, BeforeValidator(_money), Field(ge=0, max_digits=9, decimal_places=2)]
WeekdayNumber = Annotated[WholeNumber, Field(ge=0, le=6, description="0 = Monday … 6 = Sunday.")]


def _hhmm(value: datetime.time | None) -> str | None:
    return None if value is None else f"{value:%H:%M}"


def _limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(settings.EFFLEURA_API_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


def _page(found, query: PageQuery) -> dict:
    page = Paginator(found, query.page_size).get_page(query.page)
    return {"items": list(page), "count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages}


class Ref(Schema):
    """A location or room as other records show it."""

    id: UUID
    name: str

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


class PractitionerRef(StaffRef):
    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.display_name


def _data(payload: InputSchema) -> dict:
    return payload.model_dump(exclude_unset=True)


# Locations ----------------------------------------------------------------------------------------


class OpeningHoursIn(InputSchema):
    weekday: WeekdayNumber
    opens: TimeOfDay
    closes: TimeOfDay


class OpeningHoursOut(Schema):
    weekday: int
    opens: str
    closes: str

    @staticmethod
    def resolve_opens(obj) -> str:
        return _hhmm(obj.opens)

    @staticmethod
    def resolve_closes(obj) -> str:
        return _hhmm(obj.closes)


class RoomBrief(Ref):
    is_active: bool


class LocationFields(InputSchema):
    name: text(_limit(Location, "name")) | None = None
    address_line1: text(_limit(Location, "address_line1")) | None = None
    city: text(_limit(Location, "city")) | None = None
    region: text(_limit(Location, "region")) | None = None
    postal_code: text(_limit(Location, "postal_code")) | None = None
    phone: text(_limit(Location, "phone")) | None = None
    time_zone: text(60) | None = Field(None, description="An IANA region/city name, e.g. America/Chicago.")
    is_active: Flag | None = None
    opening_hours: list[OpeningHoursIn] | None = Field(
        None,
        max_length=70,
        description="The whole week, replacing what was there; several intervals make a split day. "
        "An empty list means always open.",
    )


class LocationCreate(LocationFields):
    name: text(_limit(Location, "name"))
    time_zone: text(60)


class LocationOut(Schema):
    id: UUID
    name: str
    address_line1: str
    city: str
    region: str
    postal_code: str
    phone: str
    time_zone: str
    is_active: bool
    opening_hours: list[OpeningHoursOut]
    rooms: list[RoomBrief]

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_opening_hours(obj) -> list:
        return list(obj.opening_hours.all())

    @staticmethod
    def resolve_rooms(obj) -> list:
        return list(obj.rooms.all())


class ActiveQuery(PageQuery):
    active: bool | None = Field(None, description="true: only active ones; false: only inactive ones.")


def _location_out(location: Location) -> Location:
    # Fresh from the database, with its week and rooms in two queries.
    return Location.objects.prefetch_related("opening_hours", "rooms").get(pk=location.pk)


@router.get("/locations", response={200: Page[LocationOut], **ERRORS}, url_name="locations")
def list_locations(request, query: Query[ActiveQuery]):
    found = setup.list_locations(request.user)
    if query.active is not None:
        found = found.filter(is_active=query.active)
    return _page(found, query)


@router.post("/locations", response={201: LocationOut, **ERRORS}, url_name="locations")
def create_location(request, payload: LocationCreate):
    clean = setup.check_save_location(request.user, _data(payload))
    return Status(201, _location_out(setup.do_save_location(request.user, clean)))


@router.get("/locations/{uuid:location_id}", response={200: LocationOut, **ERRORS_WITH_ID}, url_name="location")
def get_location(request, location_id: UUID):
    return _location_out(setup.get_location(request.user, location_id))


@router.patch("/locations/{uuid:location_id}", response={200: LocationOut, **ERRORS_WITH_ID}, url_name="location")
def update_location(request, location_id: UUID, payload: LocationFields):
    """Change the fields sent; ``opening_hours``, when sent, replaces the whole week."""
    location = setup.get_location(request.user, location_id, key=setup.MANAGE)
    clean = setup.check_save_location(request.user, _data(payload), location)
    return _location_out(setup.do_save_location(request.user, clean, location))


@router.delete("/locations/{uuid:location_id}", response={204: None, **ERRORS_WITH_ID}, url_name="location")
def delete_location(request, location_id: UUID):
    """Only a location that was never booked; otherwise set ``is_active`` false (422 says so)."""
    location = setup.get_location(request.user, location_id, key=setup.MANAGE)
    setup.check_delete_location(request.user, location)
    setup.do_delete_location(request.user, location)
    return Status(204, None)


# Rooms --------------------------------------------------------------------------------------------


class RoomFields(InputSchema):
    location: UUID | None = None
    name: text(_limit(Room, "name")) | None = None
    is_active: Flag | None = None


class RoomCreate(RoomFields):
    location: UUID
    name: text(_limit(Room, "name"))


class RoomOut(Ref):
    location: Ref
    is_active: bool


class RoomQuery(ActiveQuery):
    location: UUID | None = None


@router.get("/rooms", response={200: Page[RoomOut], **ERRORS}, url_name="rooms")
def list_rooms(request, query: Query[RoomQuery]):
    found = setup.list_rooms(request.user)
    if query.location is not None:
        found = found.filter(location__public_id=query.location)
    if query.active is not None:
        found = found.filter(is_active=query.active)
    return _page(found, query)


@router.post("/rooms", response={201: RoomOut, **ERRORS}, url_name="rooms")
def create_room(request, payload: RoomCreate):
    clean = setup.check_save_room(request.user, _data(payload))
    return Status(201, setup.do_save_room(request.user, clean))


@router.get("/rooms/{uuid:room_id}", response={200: RoomOut, **ERRORS_WITH_ID}, url_name="room")
def get_room(request, room_id: UUID):
    return setup.get_room(request.user, room_id)


@router.patch("/rooms/{uuid:room_id}", response={200: RoomOut, **ERRORS_WITH_ID}, url_name="room")
def update_room(request, room_id: UUID, payload: RoomFields):
    room = setup.get_room(request.user, room_id, key=setup.MANAGE)
    clean = setup.check_save_room(request.user, _data(payload), room)
    return setup.do_save_room(request.user, clean, room)


@router.delete("/rooms/{uuid:room_id}", response={204: None, **ERRORS_WITH_ID}, url_name="room")
def delete_room(request, room_id: UUID):
    """Only a room that was never booked; otherwise set ``is_active`` false (422 says so)."""
    room = setup.get_room(request.user, room_id, key=setup.MANAGE)
    setup.check_delete_room(request.user, room)
    setup.do_delete_room(request.user, room)
    return Status(204, None)


# Services -----------------------------------------------------------------------------------------


class ServiceFields(InputSchema):
    name: text(_limit(Service, "name")) | None = None
    durations: list[WholeNumber] | None = Field(
        None,
        min_length=1,
        max_length=20,
        description="Minutes, distinct multiples of 5 up to 480, e.g. [60, 30, 90]; the first is the default.",
    )
    default_price: Money | None = Field(None, description='A decimal string, e.g. "95.00".')
    currency: text(3) | None = Field(None, description="ISO 4217 code, e.g. USD.")
    changeover_minutes: WholeNumber | None = Field(None, ge=0, le=setup.MAX_CHANGEOVER)
    practitioners: list[UUID] | None = Field(None, max_length=200, description="Who gives it (staff ids).")
    needs_room: Flag | None = None
    bookable_online: Flag | None = None
    is_active: Flag | None = None


class ServiceCreate(ServiceFields):
    name: text(_limit(Service, "name"))
    durations: list[WholeNumber] = Field(min_length=1, max_length=20)
    default_price: Money


class ServiceOut(Schema):
    id: UUID
    name: str
    durations: list[int]
    default_duration: int
    default_price: Decimal
    currency: str
    changeover_minutes: int
    practitioners: list[PractitionerRef]
    needs_room: bool
    bookable_online: bool
    is_active: bool

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_practitioners(obj) -> list:
        return list(obj.practitioners.all())


class ServiceQuery(ActiveQuery):
    practitioner: UUID | None = Field(None, description="Only services this person gives.")


def _service_out(service: Service) -> Service:
    return Service.objects.prefetch_related("practitioners").get(pk=service.pk)


@router.get("/services", response={200: Page[ServiceOut], **ERRORS}, url_name="services")
def list_services(request, query: Query[ServiceQuery]):
    found = setup.list_services(request.user)
    if query.active is not None:
        found = found.filter(is_active=query.active)
    if query.practitioner is not None:
        found = found.filter(practitioners__public_id=query.practitioner)
    return _page(found, query)


@router.post("/services", response={201: ServiceOut, **ERRORS}, url_name="services")
def create_service(request, payload: ServiceCreate):
    clean = setup.check_save_service(request.user, _data(payload))
    return Status(201, _service_out(setup.do_save_service(request.user, clean)))


@router.get("/services/{uuid:service_id}", response={200: ServiceOut, **ERRORS_WITH_ID}, url_name="service")
def get_service(request, service_id: UUID):
    return setup.get_service(request.user, service_id)


@router.patch("/services/{uuid:service_id}", response={200: ServiceOut, **ERRORS_WITH_ID}, url_name="service")
def update_service(request, service_id: UUID, payload: ServiceFields):
    """Change the fields sent; ``practitioners``, when sent, replaces the list."""
    service = setup.get_service(request.user, service_id, key=setup.MANAGE)
    clean = setup.check_save_service(request.user, _data(payload), service)
    return _service_out(setup.do_save_service(request.user, clean, service))


@router.delete("/services/{uuid:service_id}", response={204: None, **ERRORS_WITH_ID}, url_name="service")
def delete_service(request, service_id: UUID):
    """Only a service that was never booked; otherwise set ``is_active`` false (422 says so)."""
    service = setup.get_service(request.user, service_id, key=setup.MANAGE)
    setup.check_delete_service(request.user, service)
    setup.do_delete_service(request.user, service)
    return Status(204, None)


# Working hours ------------------------------------------------------------------------------------


class WorkingHoursFields(InputSchema):
    practitioner: UUID | None = None
    location: UUID | None = None
    weekday: WeekdayNumber | None = None
    start: TimeOfDay | None = None
    end: TimeOfDay | None = None
    valid_from: Annotated[IsoDate | None, BlankIsNone] = Field(None, description="Inclusive; null: no start.")
    valid_until: Annotated[IsoDate | None, BlankIsNone] = Field(None, description="Inclusive; null: no end.")


class WorkingHoursCreate(WorkingHoursFields):
    practitioner: UUID
    location: UUID
    weekday: WeekdayNumber
    start: TimeOfDay
    end: TimeOfDay


class WorkingHoursOut(Schema):
    id: UUID
    practitioner: PractitionerRef
    location: Ref
    weekday: int
    start: str
    end: str
    valid_from: datetime.date | None
    valid_until: datetime.date | None

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_start(obj) -> str:
        return _hhmm(obj.start)

    @staticmethod
    def resolve_end(obj) -> str:
        return _hhmm(obj.end)


class HoursQuery(PageQuery):
    practitioner: UUID | None = None
    location: UUID | None = None


@router.get("/working-hours", response={200: Page[WorkingHoursOut], **ERRORS}, url_name="working_hours")
def list_working_hours(request, query: Query[HoursQuery]):
    found = hours.list_working_hours(request.user)
    if query.practitioner is not None:
        found = found.filter(practitioner__public_id=query.practitioner)
    if query.location is not None:
        found = found.filter(location__public_id=query.location)
    return _page(found, query)


@router.post("/working-hours", response={201: WorkingHoursOut, **ERRORS}, url_name="working_hours")
def create_working_hours(request, payload: WorkingHoursCreate):
    """One weekly interval. Refused (422) when it overlaps another of the same person on
    that weekday in an overlapping period, at any location."""
    clean = hours.check_save_working_hours(request.user, _data(payload))
    return Status(201, hours.do_save_working_hours(request.user, clean))


@router.get(
    "/working-hours/{uuid:hours_id}", response={200: WorkingHoursOut, **ERRORS_WITH_ID}, url_name="working_hours_entry"
)
def get_working_hours(request, hours_id: UUID):
    return hours.get_working_hours(request.user, hours_id)


@router.patch(
    "/working-hours/{uuid:hours_id}", response={200: WorkingHoursOut, **ERRORS_WITH_ID}, url_name="working_hours_entry"
)
def update_working_hours(request, hours_id: UUID, payload: WorkingHoursFields):
    row = hours.get_working_hours(request.user, hours_id, key=setup.MANAGE)
    clean = hours.check_save_working_hours(request.user, _data(payload), row)
    return hours.do_save_working_hours(request.user, clean, row)


@router.delete("/working-hours/{uuid:hours_id}", response={204: None, **ERRORS_WITH_ID}, url_name="working_hours_entry")
def delete_working_hours(request, hours_id: UUID):
    """Appointments already booked stay booked."""
    row = hours.get_working_hours(request.user, hours_id, key=setup.MANAGE)
    hours.check_delete_working_hours(request.user, row)
    hours.do_delete_working_hours(request.user, row)
    return Status(204, None)


# Dated exceptions ---------------------------------------------------------------------------------


class ExceptionFields(InputSchema):
    practitioner: UUID | None = None
    location: UUID | None = None
    date: IsoDate | None = None
    start: TimeOfDay | None = Field(None, description="With end: the hours that day. Both null: not working.")
    end: TimeOfDay | None = None
    reason: text(_limit(ScheduleException, "reason")) | None = None


class ExceptionCreate(ExceptionFields):
    practitioner: UUID
    location: UUID
    date: IsoDate


class ExceptionOut(Schema):
    id: UUID
    practitioner: PractitionerRef
    location: Ref
    date: datetime.date
    start: str | None
    end: str | None
    off: bool = Field(description="True when the practitioner doesn't work there that day.")
    reason: str

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_start(obj) -> str | None:
        return _hhmm(obj.start)

    @staticmethod
    def resolve_end(obj) -> str | None:
        return _hhmm(obj.end)

    @staticmethod
    def resolve_off(obj) -> bool:
        return obj.start is None


class DatedQuery(PageQuery):
    practitioner: UUID | None = None
    start: IsoDate | None = Field(None, description="From this date (inclusive).")
    end: IsoDate | None = Field(None, description="Up to this date (inclusive).")


@router.get("/schedule-exceptions", response={200: Page[ExceptionOut], **ERRORS}, url_name="schedule_exceptions")
def list_exceptions(request, query: Query[DatedQuery]):
    found = hours.list_exceptions(request.user, start=query.start, end=query.end)
    if query.practitioner is not None:
        found = found.filter(practitioner__public_id=query.practitioner)
    return _page(found, query)


@router.post("/schedule-exceptions", response={201: ExceptionOut, **ERRORS}, url_name="schedule_exceptions")
def create_exception(request, payload: ExceptionCreate):
    """On ``date`` the practitioner works ``start``–``end`` at ``location`` instead of their
    weekly hours there, or, with neither, not at all."""
    clean = hours.check_save_exception(request.user, _data(payload))
    return Status(201, hours.do_save_exception(request.user, clean))


@router.get(
    "/schedule-exceptions/{uuid:exception_id}",
    response={200: ExceptionOut, **ERRORS_WITH_ID},
    url_name="schedule_exception",
)
def get_exception(request, exception_id: UUID):
    return hours.get_exception(request.user, exception_id)


@router.patch(
    "/schedule-exceptions/{uuid:exception_id}",
    response={200: ExceptionOut, **ERRORS_WITH_ID},
    url_name="schedule_exception",
)
def update_exception(request, exception_id: UUID, payload: ExceptionFields):
    row = hours.get_exception(request.user, exception_id, key=setup.MANAGE)
    clean = hours.check_save_exception(request.user, _data(payload), row)
    return hours.do_save_exception(request.user, clean, row)


@router.delete(
    "/schedule-exceptions/{uuid:exception_id}",
    response={204: None, **ERRORS_WITH_ID},
    url_name="schedule_exception",
)
def delete_exception(request, exception_id: UUID):
    row = hours.get_exception(request.user, exception_id, key=setup.MANAGE)
    hours.check_delete_exception(request.user, row)
    hours.do_delete_exception(request.user, row)
    return Status(204, None)


# Time off -----------------------------------------------------------------------------------------


class TimeOffFields(InputSchema):
    practitioner: UUID | None = None
    start: AwareDatetime | None = Field(None, description="ISO 8601 with an offset, e.g. 2025-03-01T09:00:00-06:00.")
    end: AwareDatetime | None = None
    reason: text(_limit(TimeOff, "reason")) | None = None


class TimeOffCreate(TimeOffFields):
    practitioner: UUID
    start: AwareDatetime
    end: AwareDatetime


class TimeOffOut(Schema):
    id: UUID
    practitioner: PractitionerRef
    start: datetime.datetime
    end: datetime.datetime
    reason: str

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


class TimeOffQuery(PageQuery):
    practitioner: UUID | None = None
    start: AwareDatetime | None = Field(None, description="Time off ending after this instant.")
    end: AwareDatetime | None = Field(None, description="Time off starting before this instant.")


@router.get("/time-off", response={200: Page[TimeOffOut], **ERRORS}, url_name="time_off_list")
def list_time_off(request, query: Query[TimeOffQuery]):
    found = hours.list_time_off(request.user, start=query.start, end=query.end)
    if query.practitioner is not None:
        found = found.filter(practitioner__public_id=query.practitioner)
    return _page(found, query)


@router.post("/time-off", response={201: TimeOffOut, **ERRORS}, url_name="time_off_list")
def create_time_off(request, payload: TimeOffCreate):
    """The practitioner can't be booked between ``start`` and ``end``. Appointments
    already booked then are not moved."""
    clean = hours.check_save_time_off(request.user, _data(payload))
    return Status(201, hours.do_save_time_off(request.user, clean))


@router.get("/time-off/{uuid:time_off_id}", response={200: TimeOffOut, **ERRORS_WITH_ID}, url_name="time_off")
def get_time_off(request, time_off_id: UUID):
    return hours.get_time_off(request.user, time_off_id)


@router.patch("/time-off/{uuid:time_off_id}", response={200: TimeOffOut, **ERRORS_WITH_ID}, url_name="time_off")
def update_time_off(request, time_off_id: UUID, payload: TimeOffFields):
    row = hours.get_time_off(request.user, time_off_id, key=setup.MANAGE)
    clean = hours.check_save_time_off(request.user, _data(payload), row)
    return hours.do_save_time_off(request.user, clean, row)


@router.delete("/time-off/{uuid:time_off_id}", response={204: None, **ERRORS_WITH_ID}, url_name="time_off")
def delete_time_off(request, time_off_id: UUID):
    row = hours.get_time_off(request.user, time_off_id, key=setup.MANAGE)
    hours.check_delete_time_off(request.user, row)
    hours.do_delete_time_off(request.user, row)
    return Status(204, None)


# The booking policy -------------------------------------------------------------------------------


class PolicyIn(InputSchema):
    late_cancel_hours: WholeNumber = Field(ge=0, le=720, description="A cancellation closer than this is late.")
    minimum_notice_minutes: WholeNumber = Field(ge=0, le=43_200, description="No booking closer to now than this.")
    slot_step_minutes: WholeNumber = Field(ge=5, le=120, description="Offer a start every … minutes.")
    reminder_hours_before: WholeNumber = Field(ge=1, le=336)
    send_confirmations: Flag
    send_reminders: Flag


class PolicyOut(Schema):
    late_cancel_hours: int
    minimum_notice_minutes: int
    slot_step_minutes: int
    reminder_hours_before: int
    send_confirmations: bool
    send_reminders: bool


@router.get("/scheduling-policy", response={200: PolicyOut, **ERRORS}, url_name="scheduling_policy")
def get_policy(request):
    return setup.get_policy(request.user)


@router.put("/scheduling-policy", response={200: PolicyOut, **ERRORS}, url_name="scheduling_policy")
def put_policy(request, payload: PolicyIn):
    """Replace the whole policy: every field is required."""
    clean = setup.check_save_policy(request.user, payload.model_dump())
    return setup.do_save_policy(request.user, clean)
