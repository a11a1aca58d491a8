"""A clinician's home (clinical/home.py, referrals/home.py through core's home_sections):
today's visits with each note's state and a "Write note" button, notes unsigned after 24
hours, re-assessments due; the Today page's note buttons; the chart's next visits; the
week view and note templates in the navigation. The home page once listed none of it."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from effleura.clinical import notes
from effleura.clinical.models import SessionNote, TreatmentPlan
from effleura.core import clock
from effleura.core.models import AuditEvent
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment

from . import test_plans

make_plan = test_plans.make_plan  # the fixture: a plan through clinical.plans

NOON = datetime.time(12, 0)


@pytest.fixture
def colleague(django_user_model):
    return django_user_model.objects.create_user(
        username="colleague", password="x-Synthetic-2026", role="therapist", first_name="Colin", last_name="Tester"
    )


@pytest.fixture
def today_at(practice):
    """today_at("HH:MM") -> that time today in the location's zone (the tests run at noon)."""
    location = practice[0]

    def make(hhmm):
        day = timezone.now().astimezone(location.tz).date()
        return datetime.datetime.combine(day, datetime.time.fromisoformat(hhmm), tzinfo=location.tz)

    return make


@pytest.fixture
def visit(owner, therapist, practice, today_at, make_patient):
    """visit("HH:MM", patient=None, practitioner=therapist, status=booked) -> an appointment today."""
    location, room, service = practice

    def make(hhmm, patient=None, practitioner=therapist, status=AppointmentStatus.BOOKED, room=room, minutes=60):
        start = today_at(hhmm)
        end = start + datetime.timedelta(minutes=minutes)
        return Appointment.objects.create(
            patient=patient or make_patient(), practitioner=practitioner, service=service, location=location,
            room=room, duration_minutes=minutes, start=start, end=end, busy_until=end, created_by=owner,
            status=status,
        )  # fmt: skip

    return make


def _start_note(author, appointment, open_episode):
    episode = open_episode(appointment.patient, therapist=author, actor=author)
    return notes.do_start_note(author, notes.check_start_note(author, appointment=appointment, episode=episode))


def _sign(author, note):
    note = SessionNote.objects.get(pk=note.pk)
    data = {"techniques": [{"technique": "swedish", "minutes": 30}], "subjective": "Synthetic visit."}
    note = notes.do_update_note(author, note, notes.check_update_note(author, note, data))
    note = SessionNote.objects.get(pk=note.pk)
    return notes.do_sign_note(author, note, notes.check_sign_note(author, note))


@pytest.fixture(autouse=True)
def _at_noon(practice):
    """Every test here runs at noon in the location's zone, so "today" holds all its visits."""
    tz = practice[0].tz
    day = timezone.now().astimezone(tz).date()
    with time_machine.travel(datetime.datetime.combine(day, NOON, tzinfo=tz), tick=False):
        yield


def _section(response, template):
    found = [s for s in response.context["sections"] if s.template == template]
    return found[0].data if found else None


# Today's visits --------------------------------------------------------------------------------


def test_a_therapists_home_lists_their_visits_today_with_each_notes_state(
    therapist, colleague, visit, open_episode, client_for, room2
):
    written = visit("08:00")
    _sign(therapist, _start_note(therapist, written, open_episode))
    drafting = visit("09:30")
    draft = _start_note(therapist, drafting, open_episode)
    waiting = visit("14:00")
    missed = visit("16:00", status=AppointmentStatus.NO_SHOW)
    visit("17:00", status=AppointmentStatus.CANCELLED)
    visit("10:00", practitioner=colleague, room=room2)  # someone else's
    response = client_for(therapist).get(reverse("core:home"))
    day = _section(response, "clinical/home/todays_visits.html")
    assert [(v.appointment, v.note_state, v.needs_note) for v in day["visits"]] == [
        (written, "signed", True),
        (drafting, "draft", True),
        (waiting, "none", True),
        (missed, "none", False),
    ]
    assert day["unsigned"] == 2
    page = response.content.decode()
    assert "Your visits today" in page and "2 notes still to sign" in page
    assert f"{reverse('clinical:note_new')}?appointment={waiting.public_id}" in page and "Write note" in page
    assert reverse("clinical:note_edit", args=[draft.public_id]) in page
    assert "No note needed" in page


def test_the_owners_home_shows_the_whole_practices_day(owner, therapist, colleague, visit, client_for, room2):
    mine = visit("09:00")
    theirs = visit("09:00", practitioner=colleague, room=room2)
    response = client_for(owner).get(reverse("core:home"))
    day = _section(response, "clinical/home/todays_visits.html")
    assert {v.appointment for v in day["visits"]} == {mine, theirs}
    page = response.content.decode()
    assert "Today’s visits in the practice" in page and "with Colin Tester" in page


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_other_roles_have_no_clinical_day_on_their_home(role, personas, visit, client_for):
    visit("09:00")
    response = client_for(personas[role]).get(reverse("core:home"))
    assert response.status_code == 200
    assert response.context["sections"] == []
    assert "Your visits today" not in response.content.decode()


def test_the_home_page_makes_the_same_queries_with_four_times_the_visits(
    therapist, visit, open_episode, client_for, django_assert_num_queries
):
    for hour in (8, 9, 10):
        _start_note(therapist, visit(f"{hour:02d}:00"), open_episode)
    client = client_for(therapist)
    client.get(reverse("core:home"))
    # The session and the user; today's visits: the list, services, locations, rooms, the
    # audit insert, their notes; the counts of unsigned notes and of re-assessments due;
    # reports due (one query); authorizations running out; the practice's name.
    with django_assert_num_queries(QUERIES) as few:
        client.get(reverse("core:home"))
    for hour in range(11, 20):
        _start_note(therapist, visit(f"{hour:02d}:00"), open_episode)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(reverse("core:home"))


QUERIES = 13


# Unsigned notes and re-assessments ------------------------------------------------------------


def test_notes_unsigned_after_a_day_are_listed_to_their_author_and_the_owner(
    owner, therapist, colleague, make_patient, open_episode, client_for
):
    def draft(author, days_ago):
        episode = open_episode(make_patient(), therapist=author, actor=author)
        note = notes.do_start_note(author, notes.check_start_note(author, appointment=None, episode=episode))
        SessionNote.objects.filter(pk=note.pk).update(created_at=timezone.now() - datetime.timedelta(days=days_ago))
        return note

    old_mine, fresh_mine, old_theirs = draft(therapist, 2), draft(therapist, 0.5), draft(colleague, 3)
    mine = _section(client_for(therapist).get(reverse("core:home")), "clinical/home/unsigned_notes.html")
    assert [n.pk for n in mine["notes"]] == [old_mine.pk]
    everyone = _section(client_for(owner).get(reverse("core:home")), "clinical/home/unsigned_notes.html")
    assert {n.pk for n in everyone["notes"]} == {old_mine.pk, old_theirs.pk}
    assert fresh_mine.pk not in {n.pk for n in everyone["notes"]}
    shown = AuditEvent.objects.filter(detail="home: unsigned notes", actor_username="therapist")
    assert list(shown.values_list("patient_id", flat=True)) == [old_mine.episode.patient.public_id]


def test_no_card_when_nothing_is_left_unsigned(therapist, client_for):
    response = client_for(therapist).get(reverse("core:home"))
    assert _section(response, "clinical/home/unsigned_notes.html") is None
    assert "Notes unsigned after 24 hours" not in response.content.decode()


def test_re_assessments_past_due_or_within_a_week_are_listed(
    therapist, make_patient, open_episode, make_plan, client_for
):
    today = clock.today()
    overdue = make_plan(open_episode(make_patient()), reassess_on=today)
    # Set four weeks ago, and now two days past (a plan cannot be made with a past date).
    TreatmentPlan.objects.filter(pk=overdue.pk).update(reassess_on=today - datetime.timedelta(days=2))
    soon = make_plan(open_episode(make_patient()), reassess_on=today + datetime.timedelta(days=5))
    make_plan(open_episode(make_patient()), reassess_on=today + datetime.timedelta(days=30))
    make_plan(open_episode(make_patient()))  # no date set
    response = client_for(therapist).get(reverse("core:home"))
    due = _section(response, "clinical/home/reassessments.html")
    assert [p.pk for p in due["plans"]] == [overdue.pk, soon.pk]
    page = response.content.decode()
    assert "overdue since" in page
    assert reverse("clinical:assessment_new", args=[overdue.episode.public_id]) in page


# The Today page, the chart, the navigation ---------------------------------------------------


def test_the_today_page_shows_each_notes_state_and_a_note_button(therapist, visit, open_episode, client_for):
    signed = visit("08:00")
    _sign(therapist, _start_note(therapist, signed, open_episode))
    begun = visit("11:00")
    later = visit("15:00")
    response = client_for(therapist).get(reverse("scheduling:today"))
    by_id = {a.pk: a for a in response.context["appointments"]}
    assert [f.label for f in by_id[signed.pk].flags if "note" in f.label] == ["note signed"]
    assert [f.label for f in by_id[begun.pk].flags if "note" in f.label] == ["no note"]
    assert [f.label for f in by_id[later.pk].flags if "note" in f.label] == []  # not begun yet
    page = response.content.decode()
    assert "Open the note" in page and page.count(">Write note<") == 2


def test_front_desk_sees_no_note_state_or_button_on_the_today_page(front_desk, therapist, visit, client_for):
    visit("08:00")
    response = client_for(front_desk).get(reverse("scheduling:today") + f"?practitioner={therapist.public_id}")
    page = response.content.decode()
    assert "Write note" not in page and "no note" not in page


def test_the_chart_overview_lists_the_next_visits(
    front_desk, therapist, visit, make_patient, client_for, at, next_monday, book
):
    patient = make_patient()
    visit("08:00", patient=patient)  # already over
    upcoming = book(patient=patient, day=next_monday)
    response = client_for(front_desk).get(reverse("patients:chart", args=[patient.public_id]))
    section = next(
        s for s in response.context["sections"] if s.template == "scheduling/includes/chart_next_visits.html"
    )
    assert section.data["visits"] == [upcoming]
    assert "Next visits" in response.content.decode()


def test_the_week_view_and_note_templates_are_in_the_navigation(therapist, front_desk, client_for):
    page = client_for(therapist).get(reverse("core:home")).content.decode()
    assert f'href="{reverse("scheduling:week")}"' in page and f'href="{reverse("clinical:note_templates")}"' in page
    desk = client_for(front_desk).get(reverse("core:home")).content.decode()
    assert f'href="{reverse("scheduling:week")}"' in desk and "Note templates" not in desk
