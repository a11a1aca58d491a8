"""The calendar stays flat as the history grows (issue 13, docs/decisions/0025).

Every overlap query is bounded on both sides: it reads the window and the longest a
visit can hold its practitioner and room before it (models.OVERLAP_REACH), which the
database enforces (constraint appointment_held_at_most_12_hours). So the day, week and
today pages and the API's appointments by date make the same queries, and show the same
visits, with 5 or 200 old appointments behind them; a long visit that began before the
window is still found; and a visit held longer than the rule is refused.
"""

import datetime
import html

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from effleura.patients import actions as patient_actions
from effleura.scheduling import access, booking, calendars, setup
from effleura.scheduling.choices import HOLDS_TIME, AppointmentStatus
from effleura.scheduling.models import HELD_TOO_LONG, LONGEST_HELD, Appointment

# Pinned counts, the same whatever the history (each test runs at two sizes).
# Day: session and user; locations, opening hours, rooms; the practitioners; the
# appointments, the services they share (the page holds their practitioners and rooms) and
# their audit insert; the consent badges (documents, versions, consents, audit); the
# practitioners' working time (working hours, exceptions, time off, opening hours,
# closures); the day's closure banner; the practice row; the referral badges (open referrals).
DAY_QUERIES = 21
# Week: the same, the practitioners read before the locations; the practitioner is known,
# the page holds the locations and their rooms; no closure banner.
WEEK_QUERIES = 20
# Today, for the therapist: session and user; practitioners; locations; the appointments,
# the rows they share (services and rooms; the page holds the locations) and their audit; the consent badges
# (documents, versions, consents, audit); the screening badges (current health histories);
# the note badges (clinical/calendar_badges.py: the visits' notes); the referral badges;
# the start window and the layout's practice row.
TODAY_QUERIES = 17
# API: the token and its last use; the location; count, page, the rows the page shares
# (practitioners, services, rooms), audit.
API_QUERIES = 9


def text_of(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def clinic(location, room, room2, service, hours, therapist, owner):
    """Main Street, its rooms, the service, the therapist's hours and a required consent
    document (so the consent badges do their queries)."""
    patient_actions.do_create_consent_document(
        owner, title="Consent to treatment", kind="treatment", required=True, body="I agree to massage. " * 3
    )
    return location


@pytest.fixture
def write(clinic, therapist, room, service, owner):
    """write(start, patient, minutes=60, changeover=15, status=...) -> an appointment
    written straight to the table (past and long visits the actions would refuse now)."""

    def make(start, patient, *, minutes=60, changeover=15, status=AppointmentStatus.COMPLETED, room_=room):
        end = start + datetime.timedelta(minutes=minutes)
        return Appointment.objects.create(
            patient=patient,
            practitioner=therapist,
            service=service,
            location=clinic,
            room=room_,
            duration_minutes=minutes,
            start=start,
            end=end,
            busy_until=end + datetime.timedelta(minutes=changeover),
            status=status,
            created_by=owner,
        )

    return make


@pytest.fixture
def history(write, make_patient, at):
    """history(day, n) -> n completed visits on the n days before ``day`` (10:00), shared by
    five patients: the years a practice keeps."""

    def make(day, n):
        patients = [make_patient() for _ in range(5)]
        for k in range(n):
            write(at(day - datetime.timedelta(days=k + 1), "10:00"), patients[k % 5])

    return make


@pytest.fixture
def the_day(write, make_patient, at):
    """the_day(day) -> three visits on ``day`` (09:00, 11:00, 14:00), booked."""

    def make(day):
        times = ("09:00", "11:00", "14:00")
        return [write(at(day, hhmm), make_patient(), status=AppointmentStatus.BOOKED) for hhmm in times]

    return make


def shown_visits(page: str) -> int:
    return page.count('<a class="cal-appt')


# Fixed query counts at two history sizes --------------------------------------------------


@pytest.mark.parametrize("old", [5, 200])
def test_the_day_view_makes_the_same_queries_with_forty_times_the_history(
    client_for, front_desk, clinic, next_monday, history, the_day, django_assert_num_queries, old
):
    history(next_monday, old)
    today = the_day(next_monday)
    client = client_for(front_desk)
    url = f"{reverse('scheduling:day')}?location={clinic.public_id}&date={next_monday.isoformat()}"
    with django_assert_num_queries(DAY_QUERIES):
        page = text_of(client.get(url))
    assert shown_visits(page) == 3
    assert all(a.patient.display_name in page for a in today)
    assert page.count(">consent<") == 3


@pytest.mark.parametrize("old", [5, 200])
def test_the_week_view_makes_the_same_queries_with_forty_times_the_history(
    client_for, front_desk, clinic, therapist, next_monday, history, the_day, django_assert_num_queries, old
):
    history(next_monday, old)
    the_day(next_monday)
    client = client_for(front_desk)
    url = f"{reverse('scheduling:week')}?practitioner={therapist.public_id}&date={next_monday.isoformat()}"
    with django_assert_num_queries(WEEK_QUERIES):
        page = text_of(client.get(url))
    assert shown_visits(page) == 3


@pytest.mark.parametrize("old", [5, 200])
def test_the_today_list_makes_the_same_queries_with_forty_times_the_history(
    client_for, therapist, clinic, history, the_day, django_assert_num_queries, old
):
    today = timezone.now().astimezone(clinic.tz).date()
    history(today, old)
    visits = the_day(today)
    client = client_for(therapist)
    with django_assert_num_queries(TODAY_QUERIES):
        page = text_of(client.get(reverse("scheduling:today")))
    assert page.count('class="card today-item') == 3
    assert all(a.patient.display_name in page for a in visits)


@pytest.mark.parametrize("old", [5, 200])
def test_the_api_lists_a_day_with_the_same_queries_with_forty_times_the_history(
    api_as, front_desk, clinic, next_monday, history, the_day, django_assert_num_queries, old
):
    history(next_monday, old)
    visits = the_day(next_monday)
    client = api_as(front_desk)
    day = next_monday.isoformat()
    with django_assert_num_queries(API_QUERIES):
        response = client.get(f"/api/v1/appointments?location={clinic.public_id}&start={day}&end={day}")
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [str(a.public_id) for a in visits]


@pytest.mark.parametrize("old", [5, 200])
def test_the_slot_search_makes_the_same_queries_with_forty_times_the_history(
    clinic, service, next_monday, history, the_day, django_assert_num_queries, old
):
    history(next_monday, old)
    the_day(next_monday)
    start, end = (
        calendars._at(next_monday, datetime.time(0), clinic.tz),
        calendars._at(next_monday + datetime.timedelta(days=1), datetime.time(0), clinic.tz),
    )
    # Practitioners, rooms, policy; working hours, exceptions, time off, opening hours,
    # closures, busy time.
    with django_assert_num_queries(9):
        slots = calendars.available_slots(service, clinic, start, end)
    # 09:00–17:00 less the three visits (09:00, 11:00, 14:00) and their changeover.
    free = {s.start.astimezone(clinic.tz).strftime("%H:%M") for s in slots}
    assert {"12:15", "12:45", "15:15"} <= free
    assert not {"09:00", "10:15", "13:00", "14:00"} & free


# The lower bound finds every visit that overlaps -------------------------------------------


def test_a_long_visit_that_began_the_evening_before_still_shows_on_the_day(
    front_desk, clinic, write, make_patient, next_monday, at
):
    midnight = at(next_monday, "00:00")
    # Eight hours from 16:01 the day before: it ends at 00:01, so it is on the day.
    long = write(midnight - datetime.timedelta(minutes=479), make_patient(), minutes=480, changeover=0, room_=None)
    # Ended at midnight exactly: not on the day (ranges are half-open). Cancelled, so it
    # may overlap the long one (the database refuses two that hold the same time).
    ended = midnight - datetime.timedelta(hours=3)
    write(ended, make_patient(), minutes=180, changeover=0, room_=None, status=AppointmentStatus.CANCELLED)
    shown = access.access_appointments(front_desk, midnight, midnight + datetime.timedelta(days=1), location=clinic)
    assert [a.pk for a in shown] == [long.pk]


def test_a_visit_held_twelve_hours_still_blocks_the_first_minute_of_the_next_day(
    clinic, therapist, write, make_patient, next_monday, at
):
    midnight = at(next_monday, "00:00")
    # The longest a visit may hold its practitioner: from 12:01 the day before to 00:01.
    long = write(midnight - LONGEST_HELD + datetime.timedelta(minutes=1), make_patient(), minutes=480, changeover=240)
    day = calendars._load(clinic, [therapist], [], midnight, midnight + datetime.timedelta(days=1), busy_end=midnight)
    assert [(iv.start, iv.end) for iv in day.busy[therapist.pk]] == [(long.start, long.busy_until)]
    conflict = booking.find_conflict(
        practitioner_id=therapist.pk,
        room_id=None,
        patient_id=make_patient().pk,
        start=midnight,
        end=midnight + datetime.timedelta(minutes=30),
        busy_until=midnight + datetime.timedelta(minutes=30),
    )
    assert conflict == (booking.PRACTITIONER, long)


WINDOW_START = datetime.datetime(2026, 3, 4, 8, 0, tzinfo=datetime.UTC)
WINDOW = datetime.timedelta(hours=10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    visits=st.lists(
        st.tuples(
            # start, in 5-minute steps from the window's (from before the longest reach)
            st.integers(-(LONGEST_HELD // datetime.timedelta(minutes=5)) - 6, 130),
            st.integers(1, setup.LONGEST_VISIT // setup.DURATION_STEP),  # duration, 5-minute steps
            st.integers(0, setup.MAX_CHANGEOVER // 15),  # changeover, 15-minute steps
            st.sampled_from([AppointmentStatus.COMPLETED, AppointmentStatus.CANCELLED]),
        ),
        max_size=6,
    )
)
def test_the_bounded_overlap_query_finds_exactly_what_a_scan_of_the_table_finds(
    front_desk, clinic, therapist, write, make_patient, visits
):
    Appointment.objects.all().delete()
    patient = make_patient()
    end = WINDOW_START + WINDOW
    held = []  # what the database already holds for the therapist: it refuses an overlap
    for step, duration, changeover, status in visits:
        start = WINDOW_START + datetime.timedelta(minutes=5 * step)
        until = start + datetime.timedelta(minutes=5 * duration + 15 * changeover)
        if status in HOLDS_TIME:
            if any(s < until and start < e for s, e in held):
                status = AppointmentStatus.CANCELLED
            else:
                held.append((start, until))
        write(start, patient, minutes=5 * duration, changeover=15 * changeover, status=status, room_=None)
    every = list(Appointment.objects.all())
    shown = access.access_appointments(front_desk, WINDOW_START, end, location=clinic)
    expected = sorted((a for a in every if a.start < end and a.end > WINDOW_START), key=lambda a: (a.start, a.pk))
    assert [a.pk for a in shown] == [a.pk for a in expected]
    busy = calendars._load(clinic, [therapist], [], WINDOW_START, end, busy_end=end).busy[therapist.pk]
    held = sorted(
        (a.start, a.busy_until)
        for a in every
        if a.status in HOLDS_TIME and a.start < end and a.busy_until > WINDOW_START
    )
    assert sorted((iv.start, iv.end) for iv in busy) == held


# The longest visit: a rule the database keeps ---------------------------------------------


def test_the_database_refuses_a_visit_held_longer_than_twelve_hours(write, make_patient, next_monday, at):
    start = at(next_monday, "06:00")
    with pytest.raises(IntegrityError, match="appointment_held_at_most_12_hours"), transaction.atomic():
        write(start, make_patient(), minutes=480, changeover=241)
    at_the_limit = write(start, make_patient(), minutes=480, changeover=240)
    assert at_the_limit.busy_until - at_the_limit.start == LONGEST_HELD


def test_a_visit_held_too_long_is_refused_in_plain_words(write, make_patient, next_monday, at):
    visit = write(at(next_monday, "06:00"), make_patient(), minutes=480, changeover=240)
    visit.busy_until += datetime.timedelta(minutes=1)
    with pytest.raises(ValidationError) as refused:
        visit.full_clean()
    assert HELD_TOO_LONG in refused.value.messages
    assert HELD_TOO_LONG == (
        "A visit holds its practitioner and room for at most 12 hours, changeover included "
        "(8 hours of visit and 4 of changeover)."
    )


def test_a_service_cannot_be_set_up_to_last_longer_than_the_rule_allows(owner, therapist):
    data = {"name": "Marathon", "durations": [485], "changeover_minutes": 0, "practitioners": [therapist]}
    with pytest.raises(ValidationError) as too_long:
        setup.check_save_service(owner, data)
    assert "each length is a multiple of 5 minutes from 5 to 480" in str(too_long.value)
    data = {"name": "Marathon", "durations": [480], "changeover_minutes": 245, "practitioners": [therapist]}
    with pytest.raises(ValidationError) as too_slow:
        setup.check_save_service(owner, data)
    assert "from 0 to 240" in str(too_slow.value)
