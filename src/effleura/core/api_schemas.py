"""Schemas and field types shared by every router of the JSON API.

Input rules that hold for the whole API live here, once:

* Inputs refuse unknown fields (``InputSchema``), so a typo is an error, not a no-op.
* Text never contains a NUL character: PostgreSQL text columns refuse it, and a request
  must fail with 422 naming the field, never with a 500 from the database.
* Text has a length limit; dates are ``YYYY-MM-DD`` strings and real calendar days;
  booleans and whole numbers in a JSON body are JSON booleans and numbers, not "yes"/"3".

It lives in core and depends on nothing but pydantic and ninja, so every app's api_*.py
modules may use it without importing the api app above them.
"""

import datetime
import re
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt
from pydantic_core import PydanticCustomError

from effleura.core.values import parse_api_amount

# Free text with no column limit (notes, complaints) is still bounded in the API, so one
# request cannot store megabytes in a record.
LONG_TEXT = 10_000

NUL_MESSAGE = "Remove the NUL character (\\u0000): text may not contain it."
DATE_MESSAGE = "Enter a real date as YYYY-MM-DD, e.g. 1980-04-23."
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_character", NUL_MESSAGE)
    return value


def text(max_length: int = LONG_TEXT) -> Any:
    """A str type of at most ``max_length`` characters with no NUL."""
    return Annotated[str, Field(max_length=max_length), AfterValidator(refuse_nul)]


def _iso_date(value: Any) -> Any:
    # pydantic would also take 19800423, unix timestamps and "1980-04-23T00:00"; a
    # date of birth is a calendar day, written one way.
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("date_format", DATE_MESSAGE)
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:  # 2023-02-30
        raise PydanticCustomError("date_format", DATE_MESSAGE) from None


IsoDate = Annotated[datetime.date, BeforeValidator(_iso_date)]

# A moment in a request (a visit's start, time off): ISO 8601 text with its UTC offset,
# within the years a practice's records span. Before 1900 zones had offsets in seconds
# (local mean time) that no ISO 8601 answer can show, and near year 9999 an offset
# overflows the calendar: both are refused in words, never answered with a broken
# time or a 500.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
TIME_MESSAGE = "Give the time as ISO 8601 with its UTC offset, e.g. 2025-03-04T10:00:00-06:00."
TIME_RANGE_MESSAGE = f"Give a time between the years {EARLIEST_YEAR} and {LATEST_YEAR}."


def aware_time(value: Any) -> datetime.datetime:
    # Only text in ISO 8601 with an offset: pydantic would also take a bare number (a unix
    # timestamp) or a naive time, and a booking must not guess its zone.
    if isinstance(value, datetime.datetime):
        parsed = value
    elif isinstance(value, str) and "T" in value.upper():
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("datetime_format", TIME_MESSAGE) from None
    else:
        raise PydanticCustomError("datetime_format", TIME_MESSAGE)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PydanticCustomError("timezone_aware", TIME_MESSAGE)
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise PydanticCustomError("datetime_range", TIME_RANGE_MESSAGE)
    return parsed


AwareTime = Annotated[datetime.datetime, BeforeValidator(aware_time)]


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


# An optional choice or date that reads back as "" when unset: a client may send back
# what it read, so "" means "none" on the way in too.
BlankIsNone = BeforeValidator(_blank_is_none)
Flag = StrictBool
WholeNumber = StrictInt


def _amount(value: Any) -> Decimal:
    errors: dict[str, str] = {}
    amount = parse_api_amount(value, "amount", errors)
    if amount is None:
        raise PydanticCustomError("amount_format", errors["amount"])
    return amount


# Money in a request body: a JSON number (read from its literal text: the API's parser
# gives every JSON number with a point or an exponent as a Decimal, never a float) or a
# string such as "95.00". 95.1 and "95.10" are the same amount. The range (more than 0,
# at most the practice's largest amount) is the action's to check, in its own words.
Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    Field(description='An amount with a point for the cents: a number (95.1) or a string ("95.10").'),
]


class InputSchema(Schema):
    """Base of every request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    """Every error answer of the API."""

    detail: str = Field(description="A message for a person.")
    errors: dict[str, str] | None = Field(
        None, description="Field name (dotted for nested fields) -> what is wrong with it."
    )


class WarningsOut(ErrorOut):
    """A 409 that asks the person first (scheduling's NeedsConfirmation: a referral with no
    visits left, for one); sending the request again with ``confirm_warnings`` goes ahead."""

    warnings: list[str] = Field(default_factory=list, description="What needs confirming: send confirm_warnings.")


class StaffRef(Schema):
    """A member of staff as other records show them."""

    id: UUID
    name: str


T = TypeVar("T")


class Page(Schema, Generic[T]):
    """One page of a list."""

    items: list[T]
    count: int = Field(description="How many items there are in all pages.")
    page: int = Field(description="This page's number, from 1.")
    pages: int = Field(description="How many pages there are.")


# The error answers any authenticated operation may give, for the OpenAPI document.
ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut}
ERRORS_WITH_ID = {**ERRORS, 404: ErrorOut}


class StaleOut(ErrorOut):
    """412: the If-Match version is not the record's (someone saved since), or is not a
    version at all. Nothing was changed; read the record again and retry."""

    version: int | None = Field(None, description="The record's current version (its ETag).")


# A write that takes If-Match (PATCH, PUT, DELETE, a new health-history version).
ERRORS_VERSIONED = {**ERRORS_WITH_ID, 412: StaleOut}
