"""The JSON shapes of the scheduling set-up API (scheduling/resources.py serves them):
locations with their opening hours, rooms, services, weekly hours, dated exceptions and
time off, closures. Times of day are "HH:MM" in the location's local time; time off is a pair of
ISO 8601 instants with an offset. Ids are the records' UUIDs."""

import datetime
import re
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from effleura.core.api_schemas import AwareTime, BlankIsNone, Flag, InputSchema, IsoDate, StaffRef, WholeNumber, text
from effleura.core.resources import ActiveQuery, NamedRef, PageQuery, RecordOut, max_length
from effleura.scheduling import setup
from effleura.scheduling.choices import PlaceOfService
from effleura.scheduling.models import Closure, Location, Room, ScheduleException, Service, TimeOff

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


class PractitionerRef(StaffRef):
    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.display_name


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


class RoomBrief(NamedRef):
    is_active: bool


class LocationFields(InputSchema):
    name: text(max_length(Location, "name")) | None = None
    address_line1: text(max_length(Location, "address_line1")) | None = None
    city: text(max_length(Location, "city")) | None = None
    region: text(max_length(Location, "region")) | None = None
    postal_code: text(max_length(Location, "postal_code")) | None = None
    phone: text(max_length(Location, "phone")) | None = None
    time_zone: text(60) | None = Field(None, description="An IANA region/city name, e.g. America/Chicago.")
    place_of_service: Literal[tuple(PlaceOfService.values)] | None = Field(
        None, description="The CMS place-of-service code of its visits (claims' box 24B): 11 office, 21 inpatient …"
    )
    is_active: Flag | None = None
    opening_hours: list[OpeningHoursIn] | None = Field(
        None,
        max_length=70,
        description="The whole week, replacing what was there; several intervals make a split day. "
        "An empty list means always open.",
    )


class LocationCreate(LocationFields):
    name: text(max_length(Location, "name"))
    time_zone: text(60)


class LocationOut(RecordOut):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    name: str
    address_line1: str
    city: str
    region: str
    postal_code: str
    phone: str
    time_zone: str
    place_of_service: str
    is_active: bool
    opening_hours: list[OpeningHoursOut]
    rooms: list[RoomBrief]

    @staticmethod
    def resolve_opening_hours(obj) -> list:
        return list(obj.opening_hours.all())

    @staticmethod
    def resolve_rooms(obj) -> list:
        return list(obj.rooms.all())


def location_out(location: Location) -> Location:
    # Fresh from the database, with its week and rooms in two queries.
    return Location.objects.prefetch_related("opening_hours", "rooms").get(pk=location.pk)


# Rooms --------------------------------------------------------------------------------------------


class RoomFields(InputSchema):
    location: UUID | None = None
    name: text(max_length(Room, "name")) | None = None
    is_active: Flag | None = None


class RoomCreate(RoomFields):
    location: UUID
    name: text(max_length(Room, "name"))


class RoomOut(NamedRef):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    location: NamedRef
    is_active: bool


class RoomQuery(ActiveQuery):
    location: UUID | None = None


# Services -----------------------------------------------------------------------------------------


class ServiceFields(InputSchema):
    name: text(max_length(Service, "name")) | None = None
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
    name: text(max_length(Service, "name"))
    durations: list[WholeNumber] = Field(min_length=1, max_length=20)
    default_price: Money


class ServiceOut(RecordOut):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
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
    def resolve_practitioners(obj) -> list:
        return list(obj.practitioners.all())


class ServiceQuery(ActiveQuery):
    practitioner: UUID | None = Field(None, description="Only services this person gives.")


def service_out(service: Service) -> Service:
    return Service.objects.prefetch_related("practitioners").get(pk=service.pk)


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


class WorkingHoursOut(RecordOut):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    practitioner: PractitionerRef
    location: NamedRef
    weekday: int
    start: str
    end: str
    valid_from: datetime.date | None
    valid_until: datetime.date | None

    @staticmethod
    def resolve_start(obj) -> str:
        return _hhmm(obj.start)

    @staticmethod
    def resolve_end(obj) -> str:
        return _hhmm(obj.end)


class HoursQuery(PageQuery):
    practitioner: UUID | None = None
    location: UUID | None = None


# Dated exceptions ---------------------------------------------------------------------------------


class ExceptionFields(InputSchema):
    practitioner: UUID | None = None
    location: UUID | None = None
    date: IsoDate | None = None
    start: TimeOfDay | None = Field(None, description="With end: the hours that day. Both null: not working.")
    end: TimeOfDay | None = None
    reason: text(max_length(ScheduleException, "reason")) | None = None


class ExceptionCreate(ExceptionFields):
    practitioner: UUID
    location: UUID
    date: IsoDate


class ExceptionOut(RecordOut):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    practitioner: PractitionerRef
    location: NamedRef
    date: datetime.date
    start: str | None
    end: str | None
    off: bool = Field(description="True when the practitioner doesn't work there that day.")
    reason: str

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


# Time off -----------------------------------------------------------------------------------------


class TimeOffFields(InputSchema):
    practitioner: UUID | None = None
    start: AwareTime | None = Field(None, description="ISO 8601 with an offset, e.g. 2025-03-01T09:00:00-06:00.")
    end: AwareTime | None = None
    reason: text(max_length(TimeOff, "reason")) | None = None


class TimeOffCreate(TimeOffFields):
    practitioner: UUID
    start: AwareTime
    end: AwareTime


class TimeOffOut(RecordOut):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    practitioner: PractitionerRef
    start: datetime.datetime
    end: datetime.datetime
    reason: str


class TimeOffQuery(PageQuery):
    practitioner: UUID | None = None
    start: AwareTime | None = Field(None, description="Time off ending after this instant.")
    end: AwareTime | None = Field(None, description="Time off starting before this instant.")


# Closures -----------------------------------------------------------------------------------------


class ClosureFields(InputSchema):
    location: UUID | None = Field(None, description="The location closed; null: every location (the practice).")
    first_day: IsoDate | None = Field(None, description="The first day closed, local to each location.")
    last_day: IsoDate | None = Field(None, description="The last day closed (inclusive); null: one day.")
    reason: text(max_length(Closure, "reason")) | None = None
    every_year: Flag | None = Field(None, description="True: the same dates every year from first_day's year on.")


class ClosureCreate(ClosureFields):
    first_day: IsoDate
    reason: text(max_length(Closure, "reason"))


class ClosureOut(RecordOut):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    location: NamedRef | None = Field(description="Null: the whole practice is closed.")
    first_day: datetime.date
    last_day: datetime.date
    reason: str
    every_year: bool


class ClosureQuery(PageQuery):
    location: UUID | None = Field(None, description="This location's closures and the practice's.")
    start: IsoDate | None = Field(None, description="Closures that may cover a day from this date on.")
    end: IsoDate | None = Field(None, description="Closures that may cover a day up to this date.")
