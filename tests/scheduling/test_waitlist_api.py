"""The waitlist through the JSON API: list, add, read, remove, matches and booking."""

import datetime

import pytest
from django.test import Client

from effleura.core.actions import do_create_api_token
from effleura.core.models import AuditEvent
from effleura.scheduling import actions
from effleura.scheduling.choices import WaitlistStatus
from effleura.scheduling.models import WaitlistEntry

BASE = "/api/v1/waitlist"
MORNINGS = [{"weekday": d, "start": "09:00", "end": "12:00"} for d in range(5)]


@pytest.fixture
def api(db):
    """api(user) -> a client that sends ``user``'s new API token."""

    def make(user):
        _token, raw = do_create_api_token(user, "tests")
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    return make


@pytest.fixture
def body(make_patient, service, location):
    def make(**over):
        return {
            "patient": str(make_patient().public_id),
            "service": str(service.public_id),
            "location": str(location.public_id),
            "windows": MORNINGS,
        } | over

    return make


@pytest.fixture
def cancelled(location, room, service, hours, therapist, front_desk, make_patient, next_monday, at):
    appointment = actions.do_book(
        front_desk,
        actions.check_book(
            front_desk, make_patient(), therapist, service, location, at(next_monday, "10:00"), 60, room
        ),
    )
    return actions.do_cancel(front_desk, appointment, "Called to cancel.")


def _post(client, url, data):
    return client.post(url, data, content_type="application/json")


def test_add_list_read_and_remove_an_entry(api, front_desk, body, therapist):
    client = api(front_desk)
    created = _post(client, BASE, body(practitioner=str(therapist.public_id), duration=30, notes="Short notice ok"))
    assert created.status_code == 201, created.json()
    entry = created.json()
    assert entry["status"] == "waiting" and entry["duration"] == 30 and entry["windows"] == MORNINGS
    assert entry["practitioner"]["id"] == str(therapist.public_id) and entry["appointment"] is None

    listed = client.get(BASE).json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == entry["id"]
    assert client.get(f"{BASE}/{entry['id']}").json()["notes"] == "Short notice ok"

    assert client.delete(f"{BASE}/{entry['id']}").status_code == 204
    assert client.get(BASE).json()["count"] == 0
    assert client.get(f"{BASE}/{entry['id']}").json()["status"] == "removed"
    assert client.delete(f"{BASE}/{entry['id']}").status_code == 422


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"windows": []}, "windows"),
        ({"windows": [{"weekday": 8, "start": "09:00", "end": "12:00"}]}, "windows.0.weekday"),
        ({"windows": [{"weekday": 1, "start": "12:00", "end": "09:00"}]}, "windows"),
        ({"windows": [{"weekday": 1, "start": "9am", "end": "12:00"}]}, "windows"),
        ({"duration": 45}, "duration_minutes"),
        ({"service": "00000000-0000-0000-0000-000000000000"}, "service"),
        ({"patient": "00000000-0000-0000-0000-000000000000"}, "patient"),
        ({"latest": "2020-01-01"}, "latest"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_bad_entry_answers_422_naming_the_field(api, front_desk, body, over, field):
    response = _post(api(front_desk), BASE, body(**over))
    assert response.status_code == 422, response.json()
    assert field in response.json()["errors"]
    assert not WaitlistEntry.objects.exists()


def test_billing_may_not_use_the_waitlist(api, billing, body):
    client = api(billing)
    assert client.get(BASE).status_code == 403
    assert _post(client, BASE, body()).status_code == 403


def test_matches_and_booking_through_the_api(api, front_desk, body, cancelled, therapist):
    client = api(front_desk)
    entry_id = _post(client, BASE, body()).json()["id"]
    _post(client, BASE, body(windows=[{"weekday": 5, "start": "09:00", "end": "12:00"}]))  # Saturdays: no match
    found = client.get(f"{BASE}/matches", {"appointment": str(cancelled.public_id)})
    assert found.status_code == 200 and [e["id"] for e in found.json()] == [entry_id]

    booked = _post(
        client,
        f"{BASE}/{entry_id}/book",
        {"start": cancelled.start.isoformat(), "practitioner": str(therapist.public_id)},
    )
    assert booked.status_code == 201, booked.json()
    answer = booked.json()
    assert answer["status"] == "booked" and answer["room"] == str(cancelled.room.public_id)
    assert datetime.datetime.fromisoformat(answer["start"]) == cancelled.start
    assert client.get(f"{BASE}/{entry_id}").json()["appointment"] == answer["id"]
    entry = WaitlistEntry.objects.get(public_id=entry_id)
    assert entry.status == WaitlistStatus.BOOKED and str(entry.appointment.public_id) == answer["id"]
    assert AuditEvent.objects.filter(detail="booked from waitlist").exists()


def test_booking_needs_a_practitioner_when_the_entry_has_no_preference(api, front_desk, body, cancelled):
    client = api(front_desk)
    entry_id = _post(client, BASE, body()).json()["id"]
    response = _post(client, f"{BASE}/{entry_id}/book", {"start": cancelled.start.isoformat()})
    assert response.status_code == 422 and "practitioner" in response.json()["errors"]


def test_booking_a_taken_time_answers_409_with_the_time(
    api, front_desk, body, cancelled, therapist, make_patient, service, location, room
):
    client = api(front_desk)
    entry_id = _post(client, BASE, body(practitioner=str(therapist.public_id))).json()["id"]
    actions.do_book(
        front_desk,
        actions.check_book(front_desk, make_patient(), therapist, service, location, cancelled.start, 60, room),
    )
    response = _post(client, f"{BASE}/{entry_id}/book", {"start": cancelled.start.isoformat()})
    assert response.status_code == 409, response.json()
    assert "already booked 10:00–11:00" in response.json()["detail"]
    assert WaitlistEntry.objects.get(public_id=entry_id).status == WaitlistStatus.WAITING


def test_a_start_without_an_offset_is_refused(api, front_desk, body, therapist):
    client = api(front_desk)
    entry_id = _post(client, BASE, body(practitioner=str(therapist.public_id))).json()["id"]
    response = _post(client, f"{BASE}/{entry_id}/book", {"start": "2030-03-04T10:00:00"})
    assert response.status_code == 422 and "start" in response.json()["errors"]


def test_a_bad_entry_answers_one_422_naming_every_bad_field(api, front_desk, body):
    over = {"location": "00000000-0000-0000-0000-000000000000", "duration": 45}
    over |= {"windows": [{"weekday": 1, "start": "12:00", "end": "09:00"}]}
    response = _post(api(front_desk), BASE, body(**over))
    assert response.status_code == 422, response.json()
    errors = response.json()["errors"]
    assert errors["location"] == "No such location."  # the unknown id, in its own words
    assert set(errors) == {"location", "windows", "duration_minutes"}
    assert not WaitlistEntry.objects.exists()
