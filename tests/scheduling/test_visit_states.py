"""Guarded visit states (issue 11): the start window, undoing a status change made by
mistake, and pages that offer only what the checks accept (scheduling/visit_rules.py,
status_actions.py)."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from effleura.core.models import AuditEvent, Practice
from effleura.scheduling import actions, visit_rules
from effleura.scheduling.choices import AppointmentStatus, ChangeKind
from effleura.scheduling.models import Appointment, AppointmentChange

Status = AppointmentStatus
LA = zoneinfo.ZoneInfo("America/Los_Angeles")
MIN = datetime.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def late_morning_at_the_location():
    """The visits here start minutes or hours from now, on the location's (Chicago's) today:
    run at 11:00 there, so "in ten minutes" is never tomorrow whenever the suite runs."""
    chicago = zoneinfo.ZoneInfo("America/Chicago")
    today = timezone.now().astimezone(chicago).date()
    with time_machine.travel(datetime.datetime.combine(today, datetime.time(11), tzinfo=chicago), tick=True):
        yield


def refusal(current, wanted, start, now, window=30, tz=LA):
    return visit_rules.status_refusal(current, wanted, start=start, now=now, tz=tz, window_minutes=window)


# The rules ----------------------------------------------------------------------------------


def test_it_refuses_to_start_a_visit_hours_early_and_says_from_when():
    start = datetime.datetime(2026, 12, 1, 17, 15, tzinfo=LA)
    assert refusal(Status.BOOKED, Status.IN_SESSION, start, start - 3 * 60 * MIN) == (
        "You can start this visit from 16:45."
    )
    assert refusal(Status.BOOKED, Status.IN_SESSION, start, start - 30 * MIN) is None


def test_the_start_window_names_the_day_when_it_is_not_today():
    start = datetime.datetime(2026, 12, 7, 9, 0, tzinfo=LA)
    assert refusal(Status.CHECKED_IN, Status.COMPLETED, start, start - 3 * 24 * 60 * MIN) == (
        "You can start this visit from 08:30 on Mon 7 Dec."
    )


def test_the_window_follows_the_practice_setting():
    start = datetime.datetime(2026, 12, 1, 17, 15, tzinfo=LA)
    assert refusal(Status.BOOKED, Status.IN_SESSION, start, start - 20 * MIN, window=10) == (
        "You can start this visit from 17:05."
    )


@given(offset=st.integers(min_value=-24 * 60, max_value=24 * 60), window=st.integers(min_value=0, max_value=240))
def test_a_visit_can_be_started_exactly_from_its_window(offset, window):
    start = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
    now = start + offset * MIN
    allowed = refusal(Status.BOOKED, Status.IN_SESSION, start, now, window=window) is None
    assert allowed == (offset >= -window)


def test_a_started_session_may_end_at_any_time():
    start = datetime.datetime(2026, 12, 1, 17, 15, tzinfo=LA)
    assert refusal(Status.IN_SESSION, Status.COMPLETED, start, start - 60 * MIN) is None


def test_an_in_session_visit_says_to_undo_before_cancelling_or_moving():
    assert visit_rules.cancel_refusal(Status.IN_SESSION) == (
        "The session has started: undo “Start session” first, then cancel."
    )
    assert "undo “Start session” first" in visit_rules.reschedule_refusal(Status.IN_SESSION)
    assert visit_rules.cancel_refusal(Status.BOOKED) is None


# Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def visit(location, room, service, hours, therapist, owner, make_patient):
    """visit(start, status="booked") -> an appointment written straight to the table (the
    booking rules refuse the past and today's near times)."""

    def make(start, status=Status.BOOKED, **fields):
        end = start + datetime.timedelta(minutes=60)
        return Appointment.objects.create(
            patient=fields.pop("patient", None) or make_patient(email="p@example.test"),
            practitioner=therapist,
            service=service,
            location=location,
            room=room,
            duration_minutes=60,
            start=start,
            end=end,
            busy_until=end + datetime.timedelta(minutes=service.changeover_minutes),
            status=status,
            created_by=owner,
            **fields,
        )

    return make


def soon():
    """Ten minutes from now, to the minute: inside the start window, before the start."""
    return (timezone.now() + 10 * MIN).replace(second=0, microsecond=0)


def move(actor, appointment, status, now=None, **extra):
    change = actions.check_set_status(actor, appointment, status, now=now, **extra)
    return actions.do_set_status(actor, appointment, change, now=now)


def undo(actor, appointment, now=None):
    checked = actions.check_undo_status(actor, appointment, expected_status=appointment.status, now=now)
    return actions.do_undo_status(actor, appointment, checked, now=now)


# Starting ------------------------------------------------------------------------------------


def test_start_session_records_when_the_session_began(therapist, visit):
    appointment = move(therapist, visit(soon()), Status.IN_SESSION)
    assert appointment.session_started_at is not None
    assert appointment.session_started_at < appointment.start


def test_starting_hours_early_is_refused_in_the_locations_time(therapist, visit, location):
    start = (timezone.now() + 5 * 60 * MIN).replace(second=0, microsecond=0)
    appointment = visit(start)
    with pytest.raises(ValidationError) as refused:
        actions.check_set_status(therapist, appointment, Status.IN_SESSION)
    opens = (start - 30 * MIN).astimezone(location.tz)
    assert refused.value.message_dict["status"][0].startswith(f"You can start this visit from {opens:%H:%M}")


def test_the_practice_start_window_is_used(therapist, visit):
    practice = Practice.current()
    practice.start_window_minutes = 5
    practice.save()
    with pytest.raises(ValidationError, match="You can start this visit from"):
        actions.check_set_status(therapist, visit(soon()), Status.IN_SESSION)


# Undo -----------------------------------------------------------------------------------------


def test_an_in_session_visit_returns_to_booked_and_can_then_be_cancelled(therapist, front_desk, visit):
    appointment = move(therapist, visit(soon()), Status.IN_SESSION)
    with pytest.raises(ValidationError, match="undo “Start session” first"):
        actions.check_cancel(front_desk, appointment, "Patient unwell")
    back = undo(therapist, appointment)
    assert (back.status, back.session_started_at) == (Status.BOOKED, None)
    cancelled = actions.do_cancel(front_desk, back, actions.check_cancel(front_desk, back, "Patient unwell"))
    assert cancelled.status == Status.CANCELLED


def test_an_in_session_visit_returns_to_booked_and_can_then_be_moved(therapist, front_desk, visit, next_monday, at):
    appointment = move(therapist, visit(soon()), Status.IN_SESSION)
    with pytest.raises(ValidationError, match="Only a booked appointment can be moved"):
        actions.check_reschedule(front_desk, appointment, start=at(next_monday, "11:00"))
    back = undo(therapist, appointment)
    plan = actions.check_reschedule(front_desk, back, start=at(next_monday, "11:00"))
    assert actions.do_reschedule(front_desk, back, plan).start == at(next_monday, "11:00")


def test_the_history_keeps_the_change_and_adds_an_undo_that_points_back(therapist, visit):
    appointment = visit(soon())
    appointment = move(therapist, appointment, Status.CHECKED_IN)
    appointment = move(therapist, appointment, Status.IN_SESSION)
    undo(therapist, appointment)
    lines = list(AppointmentChange.objects.filter(appointment=appointment).order_by("id"))
    assert [(c.kind, c.from_status, c.to_status) for c in lines] == [
        (ChangeKind.STATUS, "booked", "checked_in"),
        (ChangeKind.STATUS, "checked_in", "in_session"),
        (ChangeKind.UNDO, "in_session", "checked_in"),
    ]
    assert lines[-1].undoes == lines[1] and lines[-1].actor == therapist
    assert Appointment.objects.get(pk=appointment.pk).status == Status.CHECKED_IN
    event = AuditEvent.objects.filter(record_type="appointment", detail="status undone: in_session → checked_in")
    assert event.get().patient_id == appointment.patient.public_id


def test_an_undo_is_not_undone_again(therapist, visit):
    appointment = undo(therapist, move(therapist, visit(soon()), Status.IN_SESSION))
    with pytest.raises(ValidationError, match="The last change was an undo: make the change again instead"):
        actions.check_undo_status(therapist, appointment)


def test_only_the_person_who_made_the_change_or_the_owner_may_undo_it(therapist, front_desk, owner, visit):
    appointment = move(therapist, visit(soon()), Status.IN_SESSION)
    with pytest.raises(ValidationError, match="Only the person who made this change, or the owner, can undo it"):
        actions.check_undo_status(front_desk, appointment)
    assert undo(owner, appointment).status == Status.BOOKED


def test_a_change_is_undone_only_on_the_day_it_was_made(therapist, visit, location):
    start = timezone.now() - 3 * 24 * 60 * MIN
    appointment = move(therapist, visit(start), Status.NO_SHOW, now=start + 20 * MIN)
    with pytest.raises(ValidationError, match="A change can only be undone on the day it was made"):
        actions.check_undo_status(therapist, appointment)
    same_day = start + 60 * MIN
    if same_day.astimezone(location.tz).date() == (start + 20 * MIN).astimezone(location.tz).date():
        assert actions.check_undo_status(therapist, appointment, now=same_day).restore == Status.BOOKED


def test_billing_may_not_undo(billing, therapist, visit):
    appointment = move(therapist, visit(soon()), Status.IN_SESSION)
    with pytest.raises(Exception) as refused:
        actions.check_undo_status(billing, appointment)
    assert refused.type.__name__ == "PermissionDenied"


def test_an_undo_of_what_someone_changed_meanwhile_is_refused(therapist, visit):
    appointment = move(therapist, visit(soon()), Status.CHECKED_IN)
    with pytest.raises(ValidationError, match="changed meanwhile"):
        actions.check_undo_status(therapist, appointment, expected_status=Status.IN_SESSION)
    checked = actions.check_undo_status(therapist, appointment)
    move(therapist, appointment, Status.IN_SESSION)  # someone moved it on after the check
    with pytest.raises(ValidationError, match="changed meanwhile"):
        actions.do_undo_status(therapist, appointment, checked)
    assert Appointment.objects.get(pk=appointment.pk).status == Status.IN_SESSION


def test_a_mistaken_no_show_is_undone(front_desk, visit):
    start = timezone.now() - 20 * MIN
    appointment = move(front_desk, visit(start), Status.NO_SHOW)
    assert undo(front_desk, appointment).status == Status.BOOKED


def test_a_mistaken_interruption_goes_back_to_the_session(therapist, visit):
    appointment = move(therapist, visit(soon()), Status.IN_SESSION)
    appointment = move(therapist, appointment, Status.INTERRUPTED, reason="Paged", minutes_delivered=0)
    back = undo(therapist, appointment)
    assert (back.status, back.minutes_delivered, back.interrupted_reason) == (Status.IN_SESSION, None, "")
    assert back.session_started_at is not None  # the session still began when it was started


def test_a_mistaken_cancellation_is_undone_and_confirmed_again(front_desk, visit):
    appointment = visit(soon() + 3 * 60 * MIN)
    cancelled = actions.do_cancel(front_desk, appointment, actions.check_cancel(front_desk, appointment, "Wrong one"))
    back = undo(front_desk, cancelled)
    assert (back.status, back.cancelled_at, back.cancel_reason, back.late_cancel) == (Status.BOOKED, None, "", False)
    kinds = list(back.notifications.values_list("kind", flat=True))
    assert "confirmation" in kinds and "cancellation" not in kinds  # the unsent notice was dropped


def test_a_cancellation_is_not_undone_when_the_time_was_booked_since(front_desk, visit, make_patient):
    start = soon() + 3 * 60 * MIN
    appointment = visit(start)
    cancelled = actions.do_cancel(front_desk, appointment, actions.check_cancel(front_desk, appointment, "Wrong"))
    visit(start, patient=make_patient())  # the freed time is taken
    checked = actions.check_undo_status(front_desk, cancelled)
    with pytest.raises(ValidationError, match="booked for someone else since it was cancelled"):
        actions.do_undo_status(front_desk, cancelled, checked)
    assert Appointment.objects.get(pk=cancelled.pk).status == Status.CANCELLED


# One answer for pages and checks ---------------------------------------------------------------

# Minutes from the booked start at which each case is asked: hours before, before the
# window, inside it, after the start, after the end, the next day.
OFFSETS = [-5 * 60, -45, -10, 10, 90, 26 * 60]


def accepted(actor, appointment, action, now, new_start) -> bool:
    """Whether the check behind ``action`` accepts it at ``now``."""
    try:
        if action == visit_rules.CANCEL:
            actions.check_cancel(actor, appointment, "Synthetic reason")
        elif action == visit_rules.RESCHEDULE:
            actions.check_reschedule(actor, appointment, start=new_start)
        elif action == visit_rules.UNDO:
            actions.check_undo_status(actor, appointment, now=now)
        elif action == Status.INTERRUPTED:
            actions.check_set_status(actor, appointment, action, reason="Paged", minutes_delivered=0, now=now)
        else:
            actions.check_set_status(actor, appointment, action, now=now)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("offset", OFFSETS)
@pytest.mark.parametrize("status", [s for s in Status.values])
def test_the_actions_offered_are_exactly_those_the_checks_accept(therapist, visit, next_monday, at, status, offset):
    start = at(next_monday, "10:00")
    appointment = visit(start, status=status)
    now = start + offset * MIN
    options = actions.actions_now(therapist, appointment, now=now, with_undo=True)
    assert [o.action for o in options] == list(visit_rules.ALL_ACTIONS)
    for option in options:
        assert option.allowed == accepted(therapist, appointment, option.action, now, at(next_monday, "14:00")), option
        assert option.allowed or option.reason  # a refusal always says why


@pytest.mark.parametrize(
    "path", [[Status.CHECKED_IN], [Status.IN_SESSION], [Status.IN_SESSION, Status.COMPLETED], [Status.NO_SHOW]]
)
def test_the_undo_offered_is_exactly_the_one_the_check_accepts(therapist, front_desk, owner, visit, path):
    start = soon() if Status.NO_SHOW not in path else timezone.now() - 20 * MIN
    appointment = visit(start)
    for status in path:
        appointment = move(therapist, appointment, status)
    for actor in (therapist, front_desk, owner):
        option = actions.actions_now(actor, appointment, with_undo=True)[-1]
        assert option.action == visit_rules.UNDO
        assert option.allowed == accepted(actor, appointment, visit_rules.UNDO, None, None)
        assert option.allowed == (actor != front_desk)


def test_a_role_that_may_not_change_appointments_is_offered_nothing(billing, visit):
    assert actions.actions_now(billing, visit(soon()), with_undo=True) == []


# The pages ------------------------------------------------------------------------------------


def page_of(client, appointment) -> str:
    return client.get(reverse("scheduling:appointment", args=[appointment.public_id])).content.decode()


def test_the_appointment_page_offers_undo_and_not_cancel_for_a_started_session(client_for, therapist, visit):
    appointment = move(therapist, visit(soon()), Status.IN_SESSION)
    client = client_for(therapist)
    page = page_of(client, appointment)
    assert reverse("scheduling:undo", args=[appointment.public_id]) in page
    assert reverse("scheduling:cancel", args=[appointment.public_id]) not in page
    assert reverse("scheduling:reschedule", args=[appointment.public_id]) not in page
    assert "undo “Start session” first, then cancel." in page  # why, in plain words
    response = client.post(
        reverse("scheduling:undo", args=[appointment.public_id]), {"status": "in_session"}, follow=True
    )
    assert "visit is booked again" in response.content.decode()
    page = page_of(client, appointment)
    assert reverse("scheduling:cancel", args=[appointment.public_id]) in page
    assert ">Undone</strong>" in page and 'class="badge">undone</span>' in page


def test_the_appointment_page_hides_undo_from_someone_else(client_for, therapist, front_desk, visit):
    appointment = move(therapist, visit(soon()), Status.IN_SESSION)
    page = page_of(client_for(front_desk), appointment)
    assert reverse("scheduling:undo", args=[appointment.public_id]) not in page
    assert page.count("Only the person who made this change, or the owner, can undo it.") == 1  # by the history


def test_the_today_list_offers_no_start_before_the_window_and_says_when(client_for, therapist, visit, location):
    start = (timezone.now() + 3 * 60 * MIN).replace(second=0, microsecond=0)
    if start.astimezone(location.tz).date() != timezone.now().astimezone(location.tz).date():
        pytest.skip("Three hours from now is tomorrow in the location's zone.")
    visit(start)
    page = client_for(therapist).get(reverse("scheduling:today")).content.decode()
    opens = (start - 30 * MIN).astimezone(location.tz)
    assert ">Check in</button>" in page and ">Start session</button>" not in page
    assert f"You can start this visit from {opens:%H:%M}." in page
    assert "once the start time has passed" not in page  # a no-show before the start goes without saying


def test_the_cancel_page_says_why_instead_of_asking_for_a_reason(client_for, therapist, visit):
    appointment = move(therapist, visit(soon()), Status.IN_SESSION)
    page = client_for(therapist).get(reverse("scheduling:cancel", args=[appointment.public_id])).content.decode()
    assert "undo “Start session” first, then cancel." in page and 'name="reason"' not in page


def test_undo_through_the_api(api_as, therapist, visit):
    appointment = move(therapist, visit(soon()), Status.IN_SESSION)
    client = api_as(therapist)
    url = f"/appointments/{appointment.public_id}/undo"
    stale = client.send("POST", url, {"status": "completed"})
    assert stale.status_code == 422 and "changed meanwhile" in stale.json()["errors"]["status"]
    done = client.send("POST", url, {"status": "in_session"})
    assert done.status_code == 200 and done.json()["status"] == "booked"
    again = client.send("POST", url, {"status": "booked"})
    assert again.status_code == 422 and "make the change again" in again.json()["errors"]["status"]
    history = client.send("GET", f"/appointments/{appointment.public_id}/history").json()["changes"]
    assert [(c["kind"], c["undone"]) for c in history][-2:] == [("status", True), ("undo", False)]
