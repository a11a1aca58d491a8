"""Fixtures shared by the clinical tests: synthetic patients with a health history, an
open episode of care, and (for "schedule this plan", discharge and session notes) a
minimal practice set-up: one location, a room, a service the therapist gives and the
therapist's weekly hours, made through the real set-up actions as in
tests/scheduling/conftest.py. Everything goes through the real actions."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.test import Client

TZ_NAME = "America/Chicago"


@pytest.fixture
def patient_with_history(db, make_patient, add_history):
    """A synthetic patient whose current health history ticks "anticoagulant"
    (screening: precaution, no deep or forceful work)."""
    patient = make_patient()
    add_history(patient, conditions=["anticoagulant"], presenting_complaint="Stiff neck (synthetic)")
    return patient


@pytest.fixture
def patient_with_dvt(db, make_patient, add_history):
    """A synthetic patient whose current health history ticks "dvt" (screening: absolute,
    no massage today)."""
    patient = make_patient()
    add_history(patient, conditions=["dvt"])
    return patient


@pytest.fixture
def open_episode(db, therapist):
    """open_episode(patient, title=..., therapist=..., actor=...) -> an open episode made
    through clinical.episodes."""
    from effleura.clinical import episodes

    def make(patient, title="Low back pain (synthetic)", therapist=therapist, actor=therapist, **fields):
        clean = episodes.check_open_episode(actor, patient, {"title": title, "therapist": therapist, **fields})
        return episodes.do_open_episode(actor, patient, clean)

    return make


@pytest.fixture
def episode(db, make_patient, open_episode):
    """An open episode of care for a synthetic patient, with the therapist persona."""
    return open_episode(make_patient())


# Practice set-up (copied in miniature from tests/scheduling/conftest.py) -----------------


@pytest.fixture
def location(owner):
    """ "Main Street", America/Chicago, open Monday to Saturday 08:00–20:00."""
    from effleura.scheduling import setup

    data = {
        "name": "Main Street",
        "address_line1": "12 Main Street",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "phone": "555-0100",
        "time_zone": TZ_NAME,
        "opening_hours": [{"weekday": day, "opens": "08:00", "closes": "20:00"} for day in range(6)],
    }
    return setup.do_save_location(owner, setup.check_save_location(owner, data))


@pytest.fixture
def room(owner, location):
    from effleura.scheduling import setup

    return setup.do_save_room(owner, setup.check_save_room(owner, {"location": location, "name": "Room 1"}))


@pytest.fixture
def service(owner, therapist):
    """Clinical massage: 60 (default) or 30 minutes, $95.00, 15 minutes changeover, needs a room."""
    from effleura.scheduling import setup

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
    """The therapist works Monday to Friday 09:00–17:00 at the location."""
    from effleura.scheduling import hours as hours_actions

    rows = []
    for day in range(5):
        data = {"practitioner": therapist, "location": location, "weekday": day, "start": "09:00", "end": "17:00"}
        rows.append(hours_actions.do_save_working_hours(owner, hours_actions.check_save_working_hours(owner, data)))
    return rows


@pytest.fixture
def practice(location, room, service, hours):
    """The whole set-up at once: (location, room, service)."""
    return location, room, service


@pytest.fixture
def next_monday(location) -> datetime.date:
    """The next Monday at least three days ahead of today in the location's zone."""
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
    """book(hhmm="10:00", day=next_monday, **fields) -> an appointment booked through
    scheduling.actions.do_book (default: a new patient with the therapist, 60 minutes)."""
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
        return actions.do_book(actor, **args, **fields)

    return make


# The JSON API -------------------------------------------------------------------------


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
