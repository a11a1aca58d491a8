"""A practitioner's private calendar feed (RFC 5545), parsed back with icalendar."""

import datetime
import re

import icalendar
import pytest
from django.urls import reverse

from effleura.core.models import AuditEvent
from effleura.scheduling import actions
from effleura.scheduling import feed as feeds
from effleura.scheduling.models import CalendarFeed


@pytest.fixture
def booked(front_desk, therapist, service, location, room, hours, make_patient, next_monday, at):
    """Three visits with the therapist: one booked, one cancelled, one a month in the past."""
    amelia = make_patient(legal_first_name="Amelia", legal_last_name="Rossi", email="a@example.com")
    kate = make_patient(legal_first_name="Katherine", preferred_name="Kate", legal_last_name="O'Brien")
    first = actions.do_book(
        front_desk,
        actions.check_book(front_desk, amelia, therapist, service, location, at(next_monday, "10:00"), 60, room),
    )
    second = actions.do_book(
        front_desk,
        actions.check_book(front_desk, kate, therapist, service, location, at(next_monday, "14:00"), 30, room),
    )
    actions.do_cancel(front_desk, second, "Unwell")
    old_day = next_monday - datetime.timedelta(weeks=8)
    old_start = at(old_day, "10:00")
    actions.do_book(
        front_desk,
        actions.check_book(
            front_desk,
            amelia,
            therapist,
            service,
            location,
            old_start,
            60,
            room,
            now=old_start - datetime.timedelta(days=1),
        ),
    )
    return first, second


def _make_feed(client):
    page = client.post(reverse("scheduling:feed"))
    assert page.status_code == 200
    url = re.search(r'id="feed-url"[^>]*>([^<]+)<', page.content.decode()).group(1)
    return url.replace("http://testserver", "")


def test_a_therapist_makes_a_feed_and_a_calendar_app_reads_it(client_for, therapist, booked, client, db):
    first, second = booked
    url = _make_feed(client_for(therapist))
    assert url.startswith("/schedule/feed/effcal_") and url.endswith(".ics")
    response = client.get(url)  # a calendar app: not signed in
    assert response.status_code == 200 and response["Content-Type"] == "text/calendar; charset=utf-8"

    calendar = icalendar.Calendar.from_ical(response.content)
    assert str(calendar["version"]) == "2.0"
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {f"{first.public_id}@effleura", f"{second.public_id}@effleura"}  # the old visit is too old
    one = events[f"{first.public_id}@effleura"]
    assert str(one["summary"]) == "A.R. · Clinical massage"
    assert str(one["location"]) == "Main Street · Room 1"
    assert str(one["status"]) == "CONFIRMED"
    assert one.decoded("dtstart") == first.start and one.decoded("dtend") == first.end
    assert one.decoded("dtstart").utcoffset() == datetime.timedelta(0)  # in UTC
    two = events[f"{second.public_id}@effleura"]
    assert str(two["summary"]) == "K.O. · Clinical massage" and str(two["status"]) == "CANCELLED"


def test_the_feed_holds_initials_and_nothing_else_about_the_patient(client_for, therapist, booked, client):
    first, _second = booked
    text = client.get(_make_feed(client_for(therapist))).content.decode()
    for private in (
        "Amelia",
        "Rossi",
        "Kate",
        "Katherine",
        "O'Brien",
        "Unwell",
        first.patient.chart_number,
        "@example",
    ):
        assert private not in text
    calendar = icalendar.Calendar.from_ical(text)
    for event in calendar.walk("VEVENT"):
        assert set(event) <= {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "LOCATION", "STATUS", "TRANSP"}


def test_a_revoked_or_unknown_feed_is_404(client_for, therapist, booked, client):
    manage = client_for(therapist)
    url = _make_feed(manage)
    feed = CalendarFeed.objects.get()
    assert manage.post(reverse("scheduling:feed_revoke", args=[feed.public_id])).status_code == 302
    assert client.get(url).status_code == 404
    assert client.get("/schedule/feed/effcal_not-a-real-key.ics").status_code == 404


def test_a_new_feed_replaces_the_old_one(client_for, therapist, booked, client):
    manage = client_for(therapist)
    old, new = _make_feed(manage), _make_feed(manage)
    assert client.get(old).status_code == 404 and client.get(new).status_code == 200
    assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 1


def test_only_the_key_hash_is_stored_and_the_address_is_shown_once(client_for, therapist, db):
    manage = client_for(therapist)
    url = _make_feed(manage)
    key = url.rsplit("/", 1)[1].removesuffix(".ics")
    feed = CalendarFeed.objects.get()
    assert feed.key_hash != key and len(feed.key_hash) == 64 and key not in feed.hint
    assert key not in manage.get(reverse("scheduling:feed")).content.decode()


def test_a_feed_stops_when_its_owner_may_no_longer_have_one(client_for, therapist, booked, client):
    url = _make_feed(client_for(therapist))
    therapist.role = "front_desk"
    therapist.save()
    assert client.get(url).status_code == 404


def test_each_fetch_is_audited_once_as_the_practitioner(client_for, therapist, booked, client):
    url = _make_feed(client_for(therapist))
    before = AuditEvent.objects.count()
    client.get(url)
    event = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1
    assert (event.record_type, event.action, event.actor_username) == ("calendar_feed", "read", "therapist")
    assert event.patient_id is None


def test_the_feed_does_a_fixed_number_of_queries(
    client_for, therapist, booked, client, make_patient, front_desk, service, location, room, next_monday, at,
    django_assert_max_num_queries,
):  # fmt: skip
    url = _make_feed(client_for(therapist))
    with django_assert_max_num_queries(4) as few:
        client.get(url)
    day = next_monday + datetime.timedelta(days=1)
    for hhmm in ["09:00", "11:15", "12:30", "15:00"]:
        actions.do_book(
            front_desk,
            actions.check_book(front_desk, make_patient(), therapist, service, location, at(day, hhmm), 60, room),
        )
    with django_assert_max_num_queries(len(few)):
        assert client.get(url).status_code == 200


def test_front_desk_and_billing_have_no_feed(client_for, front_desk, billing):
    for user in (front_desk, billing):
        assert client_for(user).get(reverse("scheduling:feed")).status_code == 403
        assert client_for(user).post(reverse("scheduling:feed")).status_code == 403


def test_a_therapist_cannot_revoke_someone_elses_feed(client_for, therapist, owner):
    feed, _raw = feeds.do_create_feed(owner)
    response = client_for(therapist).post(reverse("scheduling:feed_revoke", args=[feed.public_id]))
    assert response.status_code == 403
    feed.refresh_from_db()
    assert feed.revoked_at is None


def test_initials_use_the_name_the_practice_calls_them_by():
    from types import SimpleNamespace

    person = SimpleNamespace(preferred_name="", legal_first_name="amelia", legal_last_name="rossi")
    assert feeds.initials(person) == "A.R."
    assert (
        feeds.initials(SimpleNamespace(preferred_name="Bob", legal_first_name="Robert", legal_last_name="Ng")) == "B.N."
    )
