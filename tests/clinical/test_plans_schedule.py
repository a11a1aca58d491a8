""" "Schedule this plan": the plan's visits (sessions a week × weeks) proposed and booked
as one series through the scheduling engine, all or nothing, and linked to the plan."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from effleura.clinical import plan_scheduling, plans
from effleura.clinical.models import TreatmentPlan
from effleura.core.models import AuditEvent
from effleura.scheduling.booking import BookingConflict
from effleura.scheduling.models import Appointment, Series

from .test_plans import plan_data

TUESDAY, THURSDAY = 1, 3


@pytest.fixture
def plan(episode, therapist, practice):
    """Twice a week for four weeks, 60 minutes: 8 visits."""
    return plans.do_create_plan(therapist, episode, plans.check_create_plan(therapist, episode, plan_data()))


@pytest.fixture
def wanted(therapist, practice, next_monday, at):
    """wanted(**changes) -> a ScheduleRequest: Tuesdays and Thursdays at 10:00 from next week."""
    location, _room, service = practice

    def make(**changes):
        fields = {
            "practitioner": therapist,
            "service": service,
            "location": location,
            "first_start": at(next_monday, "10:00"),
            "weekdays": (TUESDAY, THURSDAY),
            **changes,
        }
        return plan_scheduling.ScheduleRequest(**fields)

    return make


def test_it_books_the_plans_eight_visits_on_tuesdays_and_thursdays(plan, therapist, wanted, next_monday):
    request = plan_scheduling.check_schedule_plan(therapist, plan, wanted())
    proposals = plan_scheduling.propose_plan_series(therapist, plan, request)
    assert [p.status for p in proposals] == ["ok"] * 8
    series = plan_scheduling.do_schedule_plan(therapist, plan, request, [p.start for p in proposals])
    plan.refresh_from_db()
    assert plan.series == series
    visits = list(Appointment.objects.filter(series=series).order_by("start"))
    assert len(visits) == 8
    assert {v.start.astimezone(v.location.tz).weekday() for v in visits} == {TUESDAY, THURSDAY}
    assert visits[0].start.astimezone(visits[0].location.tz).date() == next_monday + datetime.timedelta(days=1)
    assert all(v.duration_minutes == 60 and v.patient == plan.episode.patient for v in visits)
    event = AuditEvent.objects.get(record_type="treatment_plan", record_id=str(plan.public_id), action="update")
    assert f"series {series.public_id} of 8 visits" in event.detail


def test_every_so_many_days_is_accepted_too(plan, therapist, wanted):
    request = plan_scheduling.check_schedule_plan(therapist, plan, wanted(weekdays=None, every_days=3))
    proposals = plan_scheduling.propose_plan_series(therapist, plan, request)
    assert len(proposals) == 8


def test_the_weekdays_must_number_the_plans_sessions_a_week(plan, therapist, wanted):
    with pytest.raises(ValidationError) as exc:
        plan_scheduling.check_schedule_plan(therapist, plan, wanted(weekdays=(TUESDAY,)))
    assert exc.value.message_dict["weekdays"] == ["The plan says 2 sessions a week: tick 2 weekdays."]


def test_a_conflict_shows_alternatives_and_booking_it_saves_nothing(
    plan, therapist, wanted, book, next_monday, make_patient
):
    # Another patient already has the therapist on the second Tuesday at 10:00 (visit 3).
    second_tuesday = next_monday + datetime.timedelta(days=8)
    book("10:00", day=second_tuesday, patient=make_patient())
    request = plan_scheduling.check_schedule_plan(therapist, plan, wanted())
    proposals = plan_scheduling.propose_plan_series(therapist, plan, request)
    conflicts = [p for p in proposals if p.status != "ok"]
    assert [p.number for p in conflicts] == [3]
    assert conflicts[0].alternatives  # other free times that day
    series_before = Series.objects.count()
    with pytest.raises(BookingConflict) as exc:
        plan_scheduling.do_schedule_plan(therapist, plan, request, [p.start for p in proposals])
    assert "Visit 3 of 8" in exc.value.messages[0]
    assert Series.objects.count() == series_before
    assert TreatmentPlan.objects.get(pk=plan.pk).series is None
    # Choosing the alternative books all eight.
    starts = [p.start if p.status == "ok" else p.alternatives[0].start for p in proposals]
    series = plan_scheduling.do_schedule_plan(therapist, plan, request, starts)
    assert series.appointments.count() == 8


def test_a_plan_with_visits_still_ahead_is_not_scheduled_twice(plan, therapist, wanted):
    request = plan_scheduling.check_schedule_plan(therapist, plan, wanted())
    plan_scheduling.do_schedule_plan(
        therapist, plan, request, [p.start for p in plan_scheduling.propose_plan_series(therapist, plan, request)]
    )
    plan.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        plan_scheduling.check_schedule_plan(therapist, plan, wanted())
    assert "already scheduled: 8 visits still booked" in exc.value.messages[0]


def test_the_service_must_be_given_for_the_plans_session_length(episode, therapist, wanted):
    plan = plans.do_create_plan(
        therapist, episode, plans.check_create_plan(therapist, episode, plan_data(session_minutes=45))
    )
    request = plan_scheduling.check_schedule_plan(therapist, plan, wanted())
    with pytest.raises(ValidationError) as exc:
        plan_scheduling.propose_plan_series(therapist, plan, request)
    assert "duration" in exc.value.message_dict


def test_a_replaced_plan_is_not_scheduled(plan, episode, therapist, wanted):
    plans.do_create_plan(therapist, episode, plans.check_create_plan(therapist, episode, plan_data()))
    plan.refresh_from_db()
    with pytest.raises(ValidationError, match="replaced by a newer one"):
        plan_scheduling.check_schedule_plan(therapist, plan, wanted())


def test_a_plan_of_more_than_sixty_visits_cannot_be_one_series(episode, therapist, wanted):
    plan = plans.do_create_plan(
        therapist, episode, plans.check_create_plan(therapist, episode, plan_data(sessions_per_week=3, weeks=21))
    )
    with pytest.raises(ValidationError) as exc:
        plan_scheduling.check_schedule_plan(therapist, plan, wanted(weekdays=(0, 2, 4)))
    assert "63 visits" in exc.value.message_dict["visits"][0]


def test_schedule_this_plan_in_the_browser(client_for, therapist, plan, practice, next_monday):
    location, _room, service = practice
    client = client_for(therapist)
    url = reverse("clinical:plan_schedule", args=[plan.public_id])
    assert client.get(url).status_code == 200
    form = {
        "service": str(service.public_id),
        "location": str(location.public_id),
        "practitioner": str(therapist.public_id),
        "start": f"{next_monday.isoformat()}T10:00",
        "repeat": "weekdays",
        "weekdays": [str(TUESDAY), str(THURSDAY)],
    }
    proposed = client.post(url, {**form, "action": "propose"})
    assert proposed.status_code == 200
    html = proposed.content.decode()
    assert html.count('<span class="badge ok">available</span>') == 8
    chosen = {f"visit_{row['number']}": row["value"] for row in proposed.context["rows"]}
    booked = client.post(url, {**form, **chosen, "action": "book"})
    assert booked.status_code == 302
    assert booked["Location"] == reverse("clinical:episode", args=[plan.episode.public_id])
    plan.refresh_from_db()
    assert plan.series.appointments.count() == 8
    page = client.get(booked["Location"]).content.decode()
    assert reverse("scheduling:series", args=[plan.series.public_id]) in page


def test_the_browser_refuses_a_wrong_number_of_weekdays(client_for, therapist, plan, practice, next_monday):
    location, _room, service = practice
    answer = client_for(therapist).post(
        reverse("clinical:plan_schedule", args=[plan.public_id]),
        {
            "service": str(service.public_id),
            "location": str(location.public_id),
            "practitioner": str(therapist.public_id),
            "start": f"{next_monday.isoformat()}T10:00",
            "repeat": "weekdays",
            "weekdays": ["1"],
            "action": "propose",
        },
    )
    assert answer.status_code == 200
    assert "The plan says 2 sessions a week: tick 2 weekdays." in answer.content.decode()
    assert Series.objects.count() == 0
