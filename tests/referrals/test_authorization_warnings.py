"""Authorization warnings where people look (issue 5 item 3): visits used from completed
appointments, the calendar badge, the chart include, the booking confirmation (page and
API), the "running out" report, with fixed query counts. Referrals are made with the ORM
here (R1's actions and fixtures are separate)."""

import datetime
import itertools
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse
from django.utils import timezone

from effleura import urls as root_urls
from effleura.core import extension_points
from effleura.core.models import AuditEvent
from effleura.referrals import authorization
from effleura.referrals import urls as referral_urls
from effleura.referrals.authorization_warnings import authorization_badges, authorizations_for, booking_warnings
from effleura.referrals.choices import AuthorizationState as S
from effleura.referrals.models import Referral, ReferringProvider
from effleura.referrals.views import authorizations as authorization_views
from effleura.scheduling import actions, badges, setup
from effleura.scheduling.booking import NeedsConfirmation
from effleura.scheduling.choices import AppointmentStatus, WaitlistStatus
from effleura.scheduling.models import Appointment, Series, WaitlistEntry

TZ = zoneinfo.ZoneInfo("America/Chicago")
DAY = datetime.timedelta(days=1)
MINUTE = datetime.timedelta(minutes=1)

# Until the lead adds referrals/views/authorizations.py to referrals/urls.py, mount it here.
_names = {p.name for p in referral_urls.urlpatterns}
_referrals = [*referral_urls.urlpatterns, *([] if "running_out" in _names else authorization_views.urlpatterns)]
urlpatterns = [p for p in root_urls.urlpatterns if str(p.pattern) != "referrals/"] + [
    path("referrals/", include((_referrals, "referrals")))
]
pytestmark = pytest.mark.urls(__name__)


# Fixtures (copied in spirit from tests/scheduling/conftest.py) ------------------------------


@pytest.fixture
def auth_location(owner):
    data = {
        "name": "Main Street",
        "address_line1": "12 Main Street",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "phone": "555-0100",
        "time_zone": "America/Chicago",
        "opening_hours": [{"weekday": d, "opens": "07:00", "closes": "21:00"} for d in range(7)],
    }
    return setup.do_save_location(owner, setup.check_save_location(owner, data))


@pytest.fixture
def auth_room(owner, auth_location):
    return setup.do_save_room(owner, setup.check_save_room(owner, {"location": auth_location, "name": "Room 1"}))


@pytest.fixture
def auth_service(owner, therapist):
    data = {
        "name": "Clinical massage",
        "durations": [60],
        "default_price": Decimal("95.00"),
        "currency": "USD",
        "changeover_minutes": 0,
        "practitioners": [therapist],
        "needs_room": True,
        "bookable_online": False,
    }
    return setup.do_save_service(owner, setup.check_save_service(owner, data))


@pytest.fixture
def auth_hours(owner, auth_location, therapist):
    from effleura.scheduling import hours as hours_actions

    for day in range(7):
        data = {"practitioner": therapist, "location": auth_location, "weekday": day, "start": "08:00", "end": "20:00"}
        hours_actions.do_save_working_hours(owner, hours_actions.check_save_working_hours(owner, data))


@pytest.fixture
def today():
    return datetime.datetime.now(TZ).date()


@pytest.fixture
def auth_provider(db):
    return ReferringProvider.objects.create(first_name="Ada", last_name="Osler", credentials="MD")


@pytest.fixture
def make_referral(db, owner, auth_provider, today):
    def make(patient, visits=8, valid_from=None, valid_until=None, **fields):
        valid_from = valid_from or today - 30 * DAY
        return Referral.objects.create(
            patient=patient,
            provider=auth_provider,
            referral_date=fields.pop("referral_date", valid_from),
            visits_authorized=visits,
            valid_from=valid_from,
            valid_until=valid_until or today + 60 * DAY,
            created_by=owner,
            **fields,
        )

    return make


@pytest.fixture
def visit(db, owner, therapist, auth_location, auth_service):
    """visit(patient, day, "HH:MM", status=completed) -> an appointment row at that local
    time (one hour). Without a time: the next free quarter hour from midnight, so rows never
    overlap (PostgreSQL's exclusion constraints)."""
    quarters = itertools.count()

    def make(patient, day, hhmm=None, status=AppointmentStatus.COMPLETED):
        if hhmm is None:
            start = datetime.datetime.combine(day, datetime.time(0), tzinfo=TZ) + 15 * next(quarters) * MINUTE
            minutes = 15
        else:
            start = datetime.datetime.combine(day, datetime.time.fromisoformat(hhmm), tzinfo=TZ)
            minutes = 60
        end = start + minutes * MINUTE
        return Appointment.objects.create(
            patient=patient,
            practitioner=therapist,
            service=auth_service,
            location=auth_location,
            duration_minutes=minutes,
            start=start,
            end=end,
            busy_until=end,
            status=status,
            created_by=owner,
        )

    return make


def used(patient, visit, day, n):
    for _ in range(n):
        visit(patient, day)


# Visits used --------------------------------------------------------------------------------


def test_visits_used_counts_completed_visits_by_local_date_within_the_window(make_patient, make_referral, visit, today):
    patient = make_patient()
    referral = make_referral(patient, valid_from=today - 10 * DAY, valid_until=today + 10 * DAY)
    visit(patient, today - 10 * DAY, "08:00")  # first day counts
    visit(patient, today + 10 * DAY, "23:30")  # last day, local evening (next day in UTC) counts
    visit(patient, today - 11 * DAY, "23:30")  # the day before: no
    visit(patient, today - 5 * DAY, "10:00", AppointmentStatus.CANCELLED)
    visit(patient, today - 4 * DAY, "10:00", AppointmentStatus.NO_SHOW)
    visit(patient, today + 2 * DAY, "10:00", AppointmentStatus.BOOKED)
    visit(make_patient(), today, "10:00")  # someone else's
    assert authorization.visits_used(referral) == 2


def test_statuses_for_many_patients_take_two_queries(make_patient, make_referral, visit, today):
    patients = [make_patient() for _ in range(6)]
    for n, patient in enumerate(patients):
        make_referral(patient, visits=8)
        used(patient, visit, today - DAY, n)
    make_referral(patients[0], visits=4, is_closed=True)  # closed: left out
    with CaptureQueriesContext(connection) as queries:
        found = authorization.statuses_for_patients([p.pk for p in patients], today)
    assert len(queries) == 2
    assert [found[p.pk][0][1].visits_left for p in patients] == [8, 7, 6, 5, 4, 3]
    assert found[patients[0].pk][0][1].state == S.ACTIVE and len(found[patients[0].pk]) == 1
    assert found[patients[5].pk][0][1].state == S.ACTIVE
    with CaptureQueriesContext(connection) as queries:
        assert authorization.statuses_for_patients([], today) == {}
    assert len(queries) == 0


# Calendar badge -----------------------------------------------------------------------------


@pytest.fixture
def badge_scene(make_patient, make_referral, visit, today):
    running, done, fine, none = (make_patient() for _ in range(4))
    make_referral(running, visits=8)
    used(running, visit, today - DAY, 6)
    make_referral(done, visits=2)
    used(done, visit, today - 2 * DAY, 2)
    make_referral(fine, visits=8)
    appointments = [
        visit(p, today + 3 * DAY, f"{10 + i}:00", AppointmentStatus.BOOKED)
        for i, p in enumerate((running, done, fine, none))
    ]
    return appointments


def _page(appointments):
    return list(
        Appointment.objects.filter(pk__in=[a.pk for a in appointments]).select_related("patient").order_by("start")
    )


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing"])
def test_the_auth_badge_shows_for_roles_with_referral_view(role, personas, badge_scene):
    page = _page(badge_scene)
    badges.apply(personas[role], page)
    auth = [[f for f in a.flags if f.label == "auth"] for a in page]
    assert [len(f) for f in auth] == [1, 1, 0, 0]
    assert auth[0][0].tone == "warn" and "2 visits left of 8" in auth[0][0].title
    assert auth[1][0].tone == "danger" and "all 2 visits used" in auth[1][0].title
    events = AuditEvent.objects.filter(record_type="referral", detail="calendar authorization badges")
    assert sorted(str(e.patient_id) for e in events) == sorted(str(a.patient.public_id) for a in page[:2])


def test_no_auth_badge_without_referral_view(outsider, badge_scene):
    page = _page(badge_scene)
    for a in page:
        a.flags = []
    authorization_badges(outsider, page)
    assert all(a.flags == [] for a in page)


def test_the_badge_provider_is_registered_and_its_queries_do_not_grow(
    front_desk, badge_scene, make_patient, make_referral, visit, today
):
    assert authorization_badges in extension_points.calendar_badges.providers
    page = _page(badge_scene)
    for a in page:
        a.flags = []
    with CaptureQueriesContext(connection) as small:
        authorization_badges(front_desk, page)
    more = []
    for i in range(6):
        p = make_patient()
        make_referral(p, visits=3)
        used(p, visit, today - DAY, 2)
        more.append(visit(p, today + 4 * DAY, f"{8 + i:02d}:00", AppointmentStatus.BOOKED))
    page = _page(badge_scene + more)
    for a in page:
        a.flags = []
    with CaptureQueriesContext(connection) as large:
        authorization_badges(front_desk, page)
    assert len(small) == len(large) == 3  # referrals, completed visits, one audit insert


def test_an_expired_current_referral_is_red_on_the_calendar(front_desk, make_patient, make_referral, visit, today):
    patient = make_patient()
    make_referral(patient, valid_from=today - 90 * DAY, valid_until=today - 3 * DAY)
    page = _page([visit(patient, today + DAY, "10:00", AppointmentStatus.BOOKED)])
    page[0].flags = []
    authorization_badges(front_desk, page)
    assert page[0].flags[0].tone == "danger" and "expired on" in page[0].flags[0].title


# Chart include ------------------------------------------------------------------------------


def test_the_chart_include_lists_authorizations_with_warnings(
    therapist, outsider, make_patient, make_referral, visit, today
):
    patient = make_patient()
    make_referral(patient, visits=12)
    used(patient, visit, today - DAY, 10)
    pairs = authorizations_for(therapist, patient)
    html = render_to_string("referrals/includes/authorizations.html", {"authorizations": pairs})
    assert "Referral authorizations" in html and "Ada Osler, MD" in html
    assert "2 visits left of 12" in html and "Running out" in html
    assert (
        AuditEvent.objects.filter(
            record_type="referral", patient_id=patient.public_id, detail="chart authorizations"
        ).count()
        == 1
    )
    assert authorizations_for(outsider, patient) == []
    assert render_to_string("referrals/includes/authorizations.html", {"authorizations": []}).strip() == ""


# Booking confirmation -----------------------------------------------------------------------


def test_the_ninth_booking_of_eight_warns_counting_booked_visits(make_patient, make_referral, visit, today):
    patient = make_patient()
    make_referral(patient, visits=8)
    used(patient, visit, today - DAY, 6)
    visit(patient, today + 4 * DAY, "10:00", AppointmentStatus.BOOKED)  # the 7th
    visit(patient, today + 5 * DAY, "10:00", AppointmentStatus.CHECKED_IN)  # the 8th
    visit(patient, today + 6 * DAY, "10:00", AppointmentStatus.CANCELLED)  # does not count
    start = datetime.datetime.combine(today + 7 * DAY, datetime.time(10), tzinfo=TZ)
    warnings = [w for found in extension_points.booking_warnings.collect(patient, start, tz=TZ) for w in found]
    assert len(warnings) == 1 and "No visits left" in warnings[0] and "8 of 8" in warnings[0]
    assert booking_warnings in extension_points.booking_warnings.providers


def test_the_eighth_booking_of_eight_does_not_warn(make_patient, make_referral, visit, today):
    patient = make_patient()
    make_referral(patient, visits=8)
    used(patient, visit, today - DAY, 6)
    visit(patient, today + 5 * DAY, "10:00", AppointmentStatus.BOOKED)
    start = datetime.datetime.combine(today + 7 * DAY, datetime.time(10), tzinfo=TZ)
    assert booking_warnings(patient, start, tz=TZ) == []
    assert booking_warnings(make_patient(), start, tz=TZ) == []  # no referral: nothing to say


def test_booking_after_the_most_recent_referral_expired_warns(make_patient, make_referral, today):
    patient = make_patient()
    make_referral(patient, valid_from=today - 60 * DAY, valid_until=today + 3 * DAY)
    inside = datetime.datetime.combine(today + 3 * DAY, datetime.time(19), tzinfo=TZ)
    after = datetime.datetime.combine(today + 4 * DAY, datetime.time(10), tzinfo=TZ)
    assert booking_warnings(patient, inside, tz=TZ) == []
    (warning,) = booking_warnings(patient, after, tz=TZ)
    assert "after the referral from Ada Osler, MD expired on" in warning


@pytest.fixture
def full_referral(make_patient, make_referral, visit, today, auth_hours, auth_room):
    patient = make_patient()
    make_referral(patient, visits=3)
    used(patient, visit, today - DAY, 3)
    return patient


def _form(patient, therapist, service, location, start, **extra):
    return {
        "patient": patient.public_id,
        "service": service.public_id,
        "duration": "60",
        "location": location.public_id,
        "practitioner": therapist.public_id,
        "room": "",
        "start": start,
        "notes": "",
        **extra,
    }


def test_the_booking_page_asks_to_book_anyway_and_saves_nothing_before(
    client_for, front_desk, therapist, auth_service, auth_location, full_referral, today
):
    client = client_for(front_desk)
    start = f"{(today + 5 * DAY).isoformat()}T10:00"
    data = _form(full_referral, therapist, auth_service, auth_location, start)
    before = Appointment.objects.count()
    response = client.post(reverse("scheduling:book"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "No visits left on the referral from Ada Osler, MD" in page and "Book anyway" in page
    assert Appointment.objects.count() == before
    response = client.post(reverse("scheduling:book"), {**data, "confirm_warnings": "1"})
    assert response.status_code == 302
    assert Appointment.objects.count() == before + 1


def test_the_api_answers_409_with_warnings_until_confirmed(
    api_as_auth, front_desk, therapist, auth_service, auth_location, full_referral, today
):
    api = api_as_auth(front_desk)
    start = datetime.datetime.combine(today + 5 * DAY, datetime.time(10), tzinfo=TZ)
    body = {
        "patient": str(full_referral.public_id),
        "practitioner": str(therapist.public_id),
        "service": str(auth_service.public_id),
        "location": str(auth_location.public_id),
        "start": start.isoformat(),
    }
    before = Appointment.objects.count()
    response = api.post("/api/v1/appointments", body, content_type="application/json")
    assert response.status_code == 409, response.json()
    data = response.json()
    assert data["warnings"] and "No visits left" in data["warnings"][0] and "No visits left" in data["detail"]
    assert Appointment.objects.count() == before
    response = api.post("/api/v1/appointments", {**body, "confirm_warnings": True}, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert Appointment.objects.count() == before + 1


def test_check_book_itself_refuses_a_booking_past_the_authorized_visits_until_confirmed(
    front_desk, therapist, auth_service, auth_location, full_referral, today
):
    start = datetime.datetime.combine(today + 5 * DAY, datetime.time(10), tzinfo=TZ)
    args = (front_desk, full_referral, therapist, auth_service, auth_location, start)
    with pytest.raises(NeedsConfirmation) as refused:
        actions.check_book(*args)
    assert len(refused.value.warnings) == 1 and "No visits left" in refused.value.warnings[0]
    assert refused.value.messages == ["Confirm before booking: " + refused.value.warnings[0]]
    assert isinstance(refused.value, ValidationError)  # a transport that knows nothing of it still refuses
    before = Appointment.objects.count()
    appointment = actions.do_book(front_desk, actions.check_book(*args, confirm_warnings=True))
    assert appointment.patient == full_referral and Appointment.objects.count() == before + 1


def test_booking_from_the_waitlist_past_the_authorized_visits_needs_confirming_too(
    front_desk, therapist, auth_service, auth_location, full_referral, today
):
    from effleura.scheduling import waitlist

    entry = WaitlistEntry.objects.create(
        patient=full_referral,
        service=auth_service,
        location=auth_location,
        duration_minutes=60,
        created_by=front_desk,
    )
    start = datetime.datetime.combine(today + 5 * DAY, datetime.time(10), tzinfo=TZ)
    with pytest.raises(NeedsConfirmation):
        waitlist.do_book_from_waitlist(front_desk, entry, start, therapist)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING
    appointment = waitlist.do_book_from_waitlist(front_desk, entry, start, therapist, confirm_warnings=True)
    assert appointment.patient == full_referral


def test_a_series_counts_its_own_visits_and_lists_every_warning_before_saving_anything(
    front_desk, therapist, auth_service, auth_location, make_patient, make_referral, visit, today, auth_hours, auth_room
):
    patient = make_patient()
    make_referral(patient, visits=3)
    used(patient, visit, today - DAY, 2)  # one visit left
    starts = [datetime.datetime.combine(today + n * DAY, datetime.time(10), tzinfo=TZ) for n in (5, 6, 7)]
    args = (front_desk, patient, therapist, auth_service, auth_location, starts)
    before = (Appointment.objects.count(), Series.objects.count())
    with pytest.raises(NeedsConfirmation) as refused:
        actions.do_book_series(*args)
    assert [w.split(":")[0] for w in refused.value.warnings] == ["Visit 2 of 3", "Visit 3 of 3"]
    assert all("No visits left" in w for w in refused.value.warnings)
    assert (Appointment.objects.count(), Series.objects.count()) == before
    series = actions.do_book_series(*args, confirm_warnings=True)
    assert series.appointments.count() == 3


def test_the_series_page_asks_to_book_anyway_and_the_api_answers_409_until_confirmed(
    client_for, api_as_auth, front_desk, therapist, auth_service, auth_location, full_referral, today
):
    first = datetime.datetime.combine(today + 5 * DAY, datetime.time(10), tzinfo=TZ)
    visits = [first, first + 7 * DAY]
    data = {
        "patient": full_referral.public_id,
        "service": auth_service.public_id,
        "duration": "60",
        "location": auth_location.public_id,
        "practitioner": therapist.public_id,
        "room": "",
        "start": first.strftime("%Y-%m-%dT%H:%M"),
        "visits": "2",
        "repeat": "days",
        "every_days": "7",
        "action": "book",
        **{f"visit_{n}": f"{v.isoformat()}|" for n, v in enumerate(visits, 1)},
    }
    client = client_for(front_desk)
    response = client.post(reverse("scheduling:series_new"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Visit 1 of 2: No visits left" in page and "Book anyway" in page
    assert not Series.objects.exists()
    response = client.post(reverse("scheduling:series_new"), {**data, "confirm_warnings": "1"})
    assert response.status_code == 302
    assert Series.objects.count() == 1
    body = {
        "patient": str(full_referral.public_id),
        "practitioner": str(therapist.public_id),
        "service": str(auth_service.public_id),
        "location": str(auth_location.public_id),
        "every_days": 7,
        "visits": [{"start": (v + DAY).isoformat()} for v in visits],
    }
    api = api_as_auth(front_desk)
    response = api.post("/api/v1/series", body, content_type="application/json")
    assert response.status_code == 409, response.json()
    assert len(response.json()["warnings"]) == 2 and "No visits left" in response.json()["detail"]
    assert Series.objects.count() == 1
    response = api.post("/api/v1/series", {**body, "confirm_warnings": True}, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert Series.objects.count() == 2


@pytest.fixture
def freed_for_full_referral(
    front_desk, therapist, auth_service, auth_location, auth_room, full_referral, make_patient, today
):
    """(entry, freed): the full referral's patient waiting for any time, and someone else's
    cancelled visit in five days at 10:00 that suits them."""
    start = datetime.datetime.combine(today + 5 * DAY, datetime.time(10), tzinfo=TZ)
    other = actions.do_book(
        front_desk, actions.check_book(front_desk, make_patient(), therapist, auth_service, auth_location, start)
    )
    freed = actions.do_cancel(front_desk, other, "Called to cancel.")
    entry = WaitlistEntry.objects.create(
        patient=full_referral,
        service=auth_service,
        location=auth_location,
        duration_minutes=60,
        windows=[{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)],
        created_by=front_desk,
    )
    return entry, freed


def test_the_waitlist_page_asks_to_book_anyway_and_saves_nothing_before(
    client_for, front_desk, freed_for_full_referral
):
    entry, freed = freed_for_full_referral
    client = client_for(front_desk)
    url = reverse("scheduling:waitlist_book", args=[entry.public_id, freed.public_id])
    before = Appointment.objects.count()
    response = client.post(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "No visits left on the referral from Ada Osler, MD" in page and "Book anyway" in page
    assert 'name="confirm_warnings"' in page and url in page
    assert Appointment.objects.count() == before
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING
    response = client.post(url, {"confirm_warnings": "1"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED and entry.appointment.start == freed.start
    assert Appointment.objects.count() == before + 1


def test_the_waitlist_api_answers_409_with_warnings_until_confirmed(
    api_as_auth, front_desk, therapist, freed_for_full_referral
):
    entry, freed = freed_for_full_referral
    api = api_as_auth(front_desk)
    url = f"/api/v1/waitlist/{entry.public_id}/book"
    body = {"start": freed.start.isoformat(), "practitioner": str(therapist.public_id)}
    before = Appointment.objects.count()
    response = api.post(url, body, content_type="application/json")
    assert response.status_code == 409, response.json()
    data = response.json()
    assert data["warnings"] and "No visits left" in data["warnings"][0] and "No visits left" in data["detail"]
    assert Appointment.objects.count() == before
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.WAITING
    response = api.post(url, {**body, "confirm_warnings": True}, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.BOOKED
    assert Appointment.objects.count() == before + 1


@pytest.fixture
def full_referral_plan(therapist, full_referral):
    """A plan of two weekly visits (one a week for two weeks) for the full referral's patient."""
    from effleura.clinical import episodes, plans

    clean = episodes.check_open_episode(
        therapist, full_referral, {"title": "Neck pain (synthetic)", "therapist": therapist}
    )
    episode = episodes.do_open_episode(therapist, full_referral, clean)
    data = {
        "diagnosis_codes": ["M54.2"],
        "techniques": ["swedish"],
        "modalities": [],
        "pressure_min": "light",
        "pressure_max": "moderate",
        "sessions_per_week": 1,
        "weeks": 2,
        "session_minutes": 60,
        "goals": [{"description": "Pain from 6 to 2", "measure": "nprs", "baseline": 6, "target": 2}],
    }
    return plans.do_create_plan(therapist, episode, plans.check_create_plan(therapist, episode, data))


def test_the_plan_schedule_page_asks_to_book_anyway_and_saves_nothing_before(
    client_for, therapist, auth_service, auth_location, full_referral_plan, today
):
    plan = full_referral_plan
    first = datetime.datetime.combine(today + 5 * DAY, datetime.time(10), tzinfo=TZ)
    data = {
        "service": str(auth_service.public_id),
        "location": str(auth_location.public_id),
        "practitioner": str(therapist.public_id),
        "room": "",
        "start": first.strftime("%Y-%m-%dT%H:%M"),
        "repeat": "days",
        "every_days": "7",
        "action": "book",
        **{f"visit_{n}": f"{(first + (n - 1) * 7 * DAY).isoformat()}|" for n in (1, 2)},
    }
    client = client_for(therapist)
    url = reverse("clinical:plan_schedule", args=[plan.public_id])
    response = client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Visit 1 of 2: No visits left" in page and "Visit 2 of 2: No visits left" in page
    assert "Book anyway" in page and 'name="confirm_warnings"' in page
    assert not Series.objects.exists()
    response = client.post(url, {**data, "confirm_warnings": "1"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.series is not None and plan.series.appointments.count() == 2


def test_the_plan_schedule_api_answers_409_with_warnings_until_confirmed(
    api_as_auth, therapist, auth_service, auth_location, full_referral_plan, today
):
    plan = full_referral_plan
    first = datetime.datetime.combine(today + 5 * DAY, datetime.time(10), tzinfo=TZ)
    body = {
        "service": str(auth_service.public_id),
        "location": str(auth_location.public_id),
        "start": first.isoformat(),
        "every_days": 7,
    }
    api = api_as_auth(therapist)
    url = f"/api/v1/plans/{plan.public_id}/schedule"
    response = api.post(url, body, content_type="application/json")
    assert response.status_code == 409, response.json()
    data = response.json()
    assert len(data["warnings"]) == 2 and "No visits left" in data["detail"]
    assert not Series.objects.exists()
    response = api.post(url, {**body, "confirm_warnings": True}, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert response.json()["visits"] == 2 and Series.objects.count() == 1


@pytest.fixture
def api_as_auth(db):
    from effleura.core.actions import do_create_api_token

    def make(user):
        _token, raw = do_create_api_token(user, "tests")
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    return make


# Running-out report -------------------------------------------------------------------------


@pytest.fixture
def report_scene(make_patient, make_referral, visit, today):
    p = {
        name: make_patient(legal_first_name=name)
        for name in ("Runner", "Spent", "Lapsed", "Longgone", "Fresh", "Closed")
    }
    make_referral(p["Runner"], visits=8)
    used(p["Runner"], visit, today - DAY, 7)
    make_referral(p["Spent"], visits=2)
    used(p["Spent"], visit, today - DAY, 2)
    make_referral(p["Lapsed"], valid_from=today - 90 * DAY, valid_until=today - 10 * DAY)
    make_referral(p["Longgone"], valid_from=today - 200 * DAY, valid_until=today - 40 * DAY)
    make_referral(p["Fresh"], visits=8)
    make_referral(p["Closed"], visits=1, is_closed=True)
    used(p["Closed"], visit, today - DAY, 1)
    return p


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing"])
def test_the_running_out_report_lists_what_needs_a_renewal(role, personas, client_for, report_scene):
    response = client_for(personas[role]).get(reverse("referrals:running_out"))
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("Runner", "Spent", "Lapsed"):
        assert name in page
        assert reverse("patients:chart", kwargs={"patient_id": report_scene[name].public_id}) in page
    for name in ("Longgone", "Fresh", "Closed"):
        assert name not in page
    assert page.index("Lapsed") < page.index("Spent") < page.index("Runner")
    assert "1 visit left of 8" in page
    assert AuditEvent.objects.filter(record_type="referral", detail="referrals running out").count() == 3


def test_the_running_out_report_as_csv_and_refused_without_the_permission(
    client_for, front_desk, outsider, report_scene
):
    response = client_for(front_desk).get(reverse("referrals:running_out"), {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("patient,provider,state") and len(lines) == 4
    assert client_for(outsider).get(reverse("referrals:running_out")).status_code == 403


def test_the_running_out_report_queries_do_not_grow(
    client_for, front_desk, report_scene, make_patient, make_referral, visit, today
):
    client = client_for(front_desk)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("referrals:running_out"))
    for _ in range(5):
        p = make_patient()
        make_referral(p, visits=3)
        used(p, visit, today - DAY, 2)
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("referrals:running_out"))
    assert response.content.decode().count("1 visit left of 3") == 5
    assert len(small) == len(large)


def test_the_url_rule_is_in_the_permission_table():
    from effleura.core.permissions import url_permission

    assert url_permission("referrals:running_out", "GET") == "referral.view"
    assert timezone.is_aware(timezone.now())
