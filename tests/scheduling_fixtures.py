"""Shared scheduling fixtures, loaded for the whole suite by tests/conftest.py
(pytest_plugins): scheduling, clinical and referrals tests all book visits.

One location with two rooms, one service, the therapist's weekly hours, and helpers for
dates and times in the location's zone. Everything is made
by the owner through the set-up actions (scheduling/setup.py, hours.py), so the fixtures
obey the same rules as the pages and the API. Those actions write audit events
(record types location, room, service, working_hours): filter by record type when a test
counts audit events.

Other test modules use these by name; keep the names and values stable.
"""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.test import Client

from effleura.scheduling import hours as hours_actions
from effleura.scheduling import setup

TZ_NAME = "America/Chicago"
MON_TO_FRI = range(0, 5)
MON_TO_SAT = range(0, 6)


@pytest.fixture
def location(owner):
    """ "Main Street", America/Chicago, open Monday to Saturday 08:00–20:00."""
    data = {
        "name": "Main Street",
        "address_line1": "12 Main Street",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "phone": "555-0100",
        "time_zone": TZ_NAME,
        "opening_hours": [{"weekday": day, "opens": "08:00", "closes": "20:00"} for day in MON_TO_SAT],
    }
    return setup.do_save_location(owner, setup.check_save_location(owner, data))


@pytest.fixture
def room(owner, location):
    return setup.do_save_room(owner, setup.check_save_room(owner, {"location": location, "name": "Room 1"}))


@pytest.fixture
def room2(owner, location):
    return setup.do_save_room(owner, setup.check_save_room(owner, {"location": location, "name": "Room 2"}))


@pytest.fixture
def service(owner, therapist):
    """Clinical massage: 60 (default) or 30 minutes, $95.00, 15 minutes changeover, needs a room."""
    data = {
        "name": "Clinical massage",
        "durations": [60, 30],
        "default_price": Decimal("95.00"),
        "currency": "USD",
        "changeover_minutes": 15,
        "practitioners": [therapist],
        "needs_room": True,
        "bookable_online": False,
    }
    return setup.do_save_service(owner, setup.check_save_service(owner, data))


@pytest.fixture
def hours(owner, location, therapist):
    """The therapist works Monday to Friday 09:00–17:00 at the location (no end date):
    a list of five WorkingHours rows, Monday first."""
    rows = []
    for day in MON_TO_FRI:
        data = {"practitioner": therapist, "location": location, "weekday": day, "start": "09:00", "end": "17:00"}
        rows.append(hours_actions.do_save_working_hours(owner, hours_actions.check_save_working_hours(owner, data)))
    return rows


@pytest.fixture
def next_monday(location) -> datetime.date:
    """The next Monday at least three days ahead of today in the location's zone (never today,
    so minimum-notice rules never bite)."""
    today = datetime.datetime.now(zoneinfo.ZoneInfo(location.time_zone)).date()
    day = today + datetime.timedelta(days=3)
    return day + datetime.timedelta(days=(7 - day.weekday()) % 7)


@pytest.fixture
def at(location):
    """at(day, "HH:MM") -> an aware datetime at that local time in the location's zone."""
    tz = zoneinfo.ZoneInfo(location.time_zone)

    def make(day: datetime.date, hhmm: str) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time.fromisoformat(hhmm), tzinfo=tz)

    return make


@pytest.fixture
def book(front_desk, therapist, service, location, room, hours, make_patient, next_monday, at):
    """book(hhmm="10:00", day=next_monday, **fields) -> an appointment booked by the front
    desk through the real action (scheduling.actions.do_book): by default a new patient
    with the therapist, Clinical massage (60 minutes) at Main Street in the first free room.
    ``fields`` may name patient, practitioner, service, location, duration, room, notes,
    actor."""
    from effleura.scheduling import actions

    def make(hhmm: str = "10:00", day=None, **fields):
        actor = fields.pop("actor", front_desk)
        args = {
            "patient": fields.pop("patient", None) or make_patient(),
            "practitioner": fields.pop("practitioner", therapist),
            "service": fields.pop("service", service),
            "location": fields.pop("location", location),
            "start": at(day or next_monday, hhmm),
        }
        return actions.do_book(actor, actions.check_book(actor, **args, **fields))

    return make


class ApiClient(Client):
    """A test Client that sends and reads JSON under /api/v1."""

    def send(self, method: str, path: str, body=None, **extra):
        if body is not None:
            extra.setdefault("content_type", "application/json")
            extra["data"] = body
        return getattr(self, method.lower())("/api/v1" + path, **extra)


@pytest.fixture
def api_as(db):
    """api_as(user) -> a JSON client sending ``user``'s new API token; api_as(None) -> anonymous."""
    from effleura.core.actions import do_create_api_token

    def make(user=None) -> ApiClient:
        if user is None:
            return ApiClient()
        _token, raw = do_create_api_token(user, "tests")
        return ApiClient(HTTP_AUTHORIZATION=f"Bearer {raw}")

    return make
