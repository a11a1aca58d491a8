"""GET /api/v1/availability: slots as JSON, with dates or datetimes, and readable refusals."""

import datetime
import uuid

import pytest
from django.urls import reverse

from effleura.scheduling.models import Room, Service

URL = "/api/v1/availability"


@pytest.fixture
def ask(client_for, front_desk):
    """ask(**params) -> (status, json) of GET /api/v1/availability as the front desk."""
    client = client_for(front_desk)

    def get(**params):
        response = client.get(URL, {k: str(v) for k, v in params.items() if v is not None})
        return response.status_code, response.json()

    return get


def test_the_url_is_named_for_the_permission_table():
    assert reverse("api:availability") == URL


def test_a_day_of_slots_with_uuids_and_local_times(ask, service, location, room, hours, therapist, next_monday, at):
    status, body = ask(service=service.public_id, location=location.public_id, start=next_monday, end=next_monday)
    assert status == 200
    slots = body["slots"]
    assert len(slots) == 29
    first = slots[0]
    assert first["practitioner"] == str(therapist.public_id)
    assert first["room"] == str(room.public_id)
    start = datetime.datetime.fromisoformat(first["start"])
    assert start.utcoffset() == at(next_monday, "09:00").utcoffset()  # Chicago's, not UTC
    assert first["start"].startswith(f"{next_monday}T09:00:00")
    assert datetime.datetime.fromisoformat(first["end"]) - start == datetime.timedelta(minutes=60)
    assert set(first) == {"start", "end", "practitioner", "room"}


def test_an_end_date_is_included(ask, service, location, room, hours, next_monday):
    status, body = ask(
        service=service.public_id,
        location=location.public_id,
        start=next_monday,
        end=next_monday + datetime.timedelta(days=1),
    )
    assert status == 200 and len(body["slots"]) == 2 * 29


def test_datetimes_with_an_offset(ask, service, location, room, hours, next_monday, at):
    start = at(next_monday, "10:00").isoformat()
    end = at(next_monday, "11:00").isoformat()
    status, body = ask(service=service.public_id, location=location.public_id, start=start, end=end, duration=30)
    assert status == 200
    assert [s["start"][11:16] for s in body["slots"]] == ["10:00", "10:15", "10:30", "10:45"]


def test_a_plus_sign_lost_in_the_query_string_is_read_as_meant(ask, service, location, room, hours, next_monday, at):
    start = at(next_monday, "16:00").astimezone(datetime.timezone(datetime.timedelta(hours=1)))
    spaced = start.isoformat().replace("+", " ")  # what "+01:00" unencoded in a URL becomes
    status, body = ask(service=service.public_id, location=location.public_id, start=spaced, end=next_monday)
    assert status == 200 and body["slots"][0]["start"][11:16] == "16:00"


def test_one_practitioner_only(ask, client_for, service, location, room, hours, therapist, owner, next_monday):
    status, body = ask(
        service=service.public_id,
        location=location.public_id,
        start=next_monday,
        end=next_monday,
        practitioner=therapist.public_id,
    )
    assert status == 200 and len(body["slots"]) == 29
    status, body = ask(
        service=service.public_id,
        location=location.public_id,
        start=next_monday,
        end=next_monday,
        practitioner=owner.public_id,
    )
    assert status == 422
    assert body["errors"] == {"practitioner": "Owner Tester does not give Clinical massage."}


def test_a_service_without_a_room_answers_null_rooms(ask, location, hours, therapist, next_monday):
    phone = Service.objects.create(name="Phone consult", durations=[30], needs_room=False)
    phone.practitioners.set([therapist])
    status, body = ask(service=phone.public_id, location=location.public_id, start=next_monday, end=next_monday)
    assert status == 200 and body["slots"] and all(s["room"] is None for s in body["slots"])


@pytest.mark.parametrize(
    ("change", "status", "field", "message"),
    [
        ({"service": uuid.uuid4()}, 404, None, "No service has this id."),
        ({"location": uuid.uuid4()}, 404, None, "No location has this id."),
        ({"practitioner": uuid.uuid4()}, 404, None, "No member of staff has this id."),
        ({"service": "not-a-uuid"}, 422, "service", "Give an id (a UUID)."),
        ({"duration": 45}, 422, "duration", "Clinical massage is booked for 60 or 30 minutes, not 45."),
        ({"duration": "long"}, 422, "duration", "Give a whole number."),
        ({"start": "2025-02-30"}, 422, "start", "Enter a real date as YYYY-MM-DD, e.g. 2025-06-10."),
        ({"start": "tomorrow"}, 422, "start", None),
        (
            {"start": "2025-06-10T09:00:00"},
            422,
            "start",
            "Give the time with its offset, e.g. 2025-06-10T09:00:00-05:00.",
        ),
        ({"start": "0001-01-01"}, 422, "start", "Give a date between 1900 and 2999."),
        ({"end": "9999-12-31"}, 422, "end", "Give a date between 1900 and 2999."),
        ({"end": "2000-01-01"}, 422, "end", "The end must be after the start."),
        ({"end": "2100-01-01"}, 422, "end", "Ask for at most 62 days at a time."),
        ({"start": None}, 422, "start", "This is required."),
    ],
)
def test_bad_questions_get_readable_answers(
    ask, service, location, room, hours, next_monday, change, status, field, message
):
    params = {"service": service.public_id, "location": location.public_id, "start": next_monday, "end": next_monday}
    params.update(change)
    got_status, body = ask(**params)
    assert got_status == status, body
    if field is not None:
        assert field in body["errors"], body
        if message is not None:
            assert body["errors"][field] == message
    elif message is not None:
        assert body["detail"] == message


def test_62_days_is_the_limit(ask, service, location, room, hours, next_monday):
    end = next_monday + datetime.timedelta(days=61)  # inclusive: 62 whole days
    status, _body = ask(service=service.public_id, location=location.public_id, start=next_monday, end=end)
    assert status == 200


def test_inactive_rooms_and_other_locations_rooms_are_never_offered(ask, service, location, room, hours, next_monday):
    Room.objects.filter(pk=room.pk).update(is_active=False)
    status, body = ask(service=service.public_id, location=location.public_id, start=next_monday, end=next_monday)
    assert status == 200 and body["slots"] == []


def test_every_role_may_look_and_strangers_may_not(
    client_for, personas, service, location, room, hours, next_monday, client
):
    params = {"service": service.public_id, "location": location.public_id, "start": next_monday, "end": next_monday}
    for name, user in personas.items():
        response = client_for(user).get(URL, params)
        assert response.status_code == (403 if name == "outsider" else 200), name
    assert client.get(URL, params).status_code == 401


def test_the_queries_do_not_grow_with_the_range(
    client_for, front_desk, service, location, room, hours, next_monday, django_assert_max_num_queries
):
    client = client_for(front_desk)
    params = {"service": service.public_id, "location": location.public_id, "start": next_monday}
    with django_assert_max_num_queries(20) as one_day:
        client.get(URL, {**params, "end": next_monday})
    with django_assert_max_num_queries(len(one_day.captured_queries)):
        client.get(URL, {**params, "end": next_monday + datetime.timedelta(days=30)})


def test_staff_may_ask_for_the_times_inside_the_minimum_notice(ask, service, location, room, hours, next_monday):
    from effleura.scheduling.models import SchedulingPolicy

    SchedulingPolicy.objects.create(minimum_notice_minutes=43_200)  # 30 days: next Monday is too soon
    query = {"service": service.public_id, "location": location.public_id, "start": next_monday, "end": next_monday}
    assert ask(**query)[1]["slots"] == []
    status, body = ask(**query, short_notice="true")
    assert status == 200 and len(body["slots"]) == 29
