"""Discharge (clinical/discharge.py): the reason and summary, outcomes frozen as first
against last measure with the MCID (PRODUCT.md's scoring table), goals as they stood, the
remaining series cancelled, refused twice, audited; and the pages."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from effleura.clinical import discharge, measures, plan_scheduling, plans
from effleura.clinical.choices import EpisodeStatus, GoalStatus, PlanStatus
from effleura.clinical.models import Discharge, Episode
from effleura.core.models import AuditEvent
from effleura.scheduling.choices import AppointmentStatus

from .test_plans import plan_data

TODAY = timezone.localdate


@pytest.fixture
def course(make_patient, open_episode, therapist):
    """An episode opened six weeks ago with a plan (pain 7 -> 3, ODI 40 -> 20) and measures:
    NPRS 7, 5, 3 and ODI 80 %, 60 % (every section answered 4, then 3)."""
    episode = open_episode(make_patient(), opened_on=TODAY() - datetime.timedelta(days=42))
    goals = [
        {"description": "Pain from 7 to 3", "measure": "nprs", "baseline": 7, "target": 3},
        {"description": "ODI under 20", "measure": "odi", "baseline": 40, "target": 20},
    ]
    plans.do_create_plan(therapist, episode, plans.check_create_plan(therapist, episode, plan_data(goals=goals)))

    def record(measure, answers, days_ago):
        data = {"measure": measure, "answers": answers, "taken_on": TODAY() - datetime.timedelta(days=days_ago)}
        measures.do_record_measure(therapist, episode, measures.check_record_measure(therapist, episode, data))

    record("nprs", [7], 40)
    record("odi", [4] * 10, 40)  # 40 of 50 = 80 %
    record("nprs", [5], 20)
    record("nprs", [3], 2)
    record("odi", [3] * 10, 2)  # 30 of 50 = 60 %
    return episode


def discharge_now(actor, episode, **data):
    return discharge.do_discharge(
        actor, episode, discharge.check_discharge(actor, episode, {"reason": "goals_met", **data})
    )


def test_outcomes_are_first_against_last_with_the_mcid(course, therapist):
    record = discharge_now(therapist, course, summary="Pain resolved; independent with home stretches.")
    by_measure = {row["measure"]: row for row in record.outcomes}
    nprs = by_measure["nprs"]
    assert (nprs["first"], nprs["last"], nprs["change"], nprs["count"]) == (7, 3, -4, 3)
    assert nprs["direction"] == "better" and nprs["mcid_reached"] is True
    odi = by_measure["odi"]
    assert (odi["first"], odi["last"], odi["change"]) == (80, 60, -20)
    assert odi["mcid_reached"] is True  # 20 points >= the ODI's 10
    assert [row["measure"] for row in record.outcomes] == ["nprs", "odi"]


def test_a_change_below_the_mcid_is_not_clinically_important():
    class M:
        def __init__(self, score, day, pk):
            self.measure, self.score, self.unit, self.band = "lefs", score, "/80", ""
            self.taken_on, self.created_at, self.pk = day, day, pk

    day = datetime.date(2025, 3, 1)
    rows = discharge.outcomes([M(48, day + datetime.timedelta(days=30), 2), M(40, day, 1)])
    assert rows[0]["change"] == 8 and rows[0]["direction"] == "better"  # LEFS rises as function improves
    assert rows[0]["mcid_reached"] is False  # the LEFS needs 9 points


def test_a_measure_taken_once_has_no_change(episode, therapist):
    data = {"measure": "nprs", "answers": [6]}
    measures.do_record_measure(therapist, episode, measures.check_record_measure(therapist, episode, data))
    record = discharge_now(therapist, episode)
    assert record.outcomes[0]["count"] == 1 and record.outcomes[0]["change"] is None


def test_goals_are_frozen_as_they_stood(course, therapist):
    goal = plans.current_plan(course).goals.get(measure="nprs")
    plans.do_update_goal(therapist, goal, GoalStatus.MET)
    record = discharge_now(therapist, course)
    assert [(g["goal"], g["status"]) for g in record.goals] == [
        ("Pain from 7 to 3", "met"),
        ("ODI under 20", "not_started"),
    ]
    # A later change to the goal rows does not rewrite the discharge.
    goal.refresh_from_db()
    assert Discharge.objects.get(pk=record.pk).goals[0]["status"] == "met"


def test_discharge_closes_the_episode_and_its_plan(course, therapist):
    discharge_now(therapist, course)
    course.refresh_from_db()
    assert course.status == EpisodeStatus.DISCHARGED
    assert plans.current_plan(course) is None
    assert course.plans.get().status == PlanStatus.CLOSED


def test_it_refuses_discharging_twice(course, therapist, owner):
    discharge_now(therapist, course)
    with pytest.raises(ValidationError, match="already been discharged"):
        discharge.check_discharge(owner, course, {"reason": "plateau"})
    # The action itself refuses too (a second request that raced the first).
    stale = Episode.objects.get(pk=course.pk)
    stale.status = EpisodeStatus.OPEN
    with pytest.raises(ValidationError, match="already been discharged"):
        discharge.do_discharge(owner, stale, discharge.CleanDischarge("plateau", "", TODAY()))
    assert Discharge.objects.filter(episode=course).count() == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reason": "bored"}, "reason", "Choose why the episode ends"),
        ({"reason": ""}, "reason", "Choose why the episode ends"),
        ({"reason": "other"}, "summary", "Say in the summary why"),
        ({"reason": "plateau", "discharged_on": "2099-01-01"}, "discharged_on", "cannot be in the future"),
        ({"reason": "plateau", "discharged_on": "2000-01-01"}, "discharged_on", "before the episode started"),
    ],
)
def test_discharge_input_is_checked(course, therapist, data, field, message):
    with pytest.raises(ValidationError) as exc:
        discharge.check_discharge(therapist, course, data)
    assert message in exc.value.message_dict[field][0]


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_only_clinicians_discharge(request, course, role):
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        discharge.check_discharge(user, course, {"reason": "goals_met"})
    assert AuditEvent.objects.filter(actor_username=user.username, outcome="denied").exists()


def test_discharge_is_audited(course, therapist):
    discharge_now(therapist, course)
    event = AuditEvent.objects.get(record_type="episode", record_id=str(course.public_id), action="update")
    assert event.patient_id == course.patient.public_id
    assert event.detail.startswith("discharged; goals met 0/2")
    assert "goals_met" not in event.detail


# The remaining series ---------------------------------------------------------------------------


@pytest.fixture
def scheduled(episode, therapist, practice, next_monday, at):
    """The episode's plan booked as 8 visits on Tuesdays and Thursdays from next week."""
    location, _room, service = practice
    plan = plans.do_create_plan(therapist, episode, plans.check_create_plan(therapist, episode, plan_data()))
    wanted = plan_scheduling.check_schedule_plan(
        therapist,
        plan,
        plan_scheduling.ScheduleRequest(therapist, service, location, at(next_monday, "10:00"), weekdays=(1, 3)),
    )
    starts = [p.start for p in plan_scheduling.propose_plan_series(therapist, plan, wanted)]
    plan_scheduling.do_schedule_plan(therapist, plan, wanted, starts)
    plan.refresh_from_db()
    return plan


def test_discharge_cancels_the_remaining_visits_and_counts_them(scheduled, therapist):
    visits = list(scheduled.series.appointments.order_by("start"))
    # Pretend we are between visit 3 and visit 4: three behind us, five ahead.
    now = visits[2].start + datetime.timedelta(hours=2)
    record = discharge.do_discharge(
        therapist,
        scheduled.episode,
        discharge.check_discharge(therapist, scheduled.episode, {"reason": "goals_met"}),
        now=now,
    )
    assert record.cancelled_appointments == 5
    statuses = [a.status for a in scheduled.series.appointments.order_by("start")]
    assert statuses == [AppointmentStatus.BOOKED] * 3 + [AppointmentStatus.CANCELLED] * 5
    cancelled = scheduled.series.appointments.filter(status=AppointmentStatus.CANCELLED).first()
    assert cancelled.cancel_reason == discharge.CANCEL_REASON  # no clinical detail for the front desk


def test_discharge_also_cancels_the_series_of_a_replaced_plan(scheduled, therapist):
    episode = scheduled.episode
    plans.do_create_plan(therapist, episode, plans.check_create_plan(therapist, episode, plan_data(weeks=6)))
    record = discharge_now(therapist, episode)
    assert record.cancelled_appointments == 8


def test_discharge_in_the_browser(client_for, therapist, scheduled):
    episode = scheduled.episode
    client = client_for(therapist)
    url = reverse("clinical:discharge", args=[episode.public_id])
    form = client.get(url)
    assert form.status_code == 200
    assert "8 visits of this episode" in form.content.decode()
    refused = client.post(url, {"reason": "other", "summary": ""})
    assert "Say in the summary why the episode ends." in refused.content.decode()
    done = client.post(url, {"reason": "plateau", "summary": "Progress levelled off; referred back to the GP."})
    assert done.status_code == 302 and done["Location"] == url
    summary = client.get(url).content.decode()
    assert "Discharge summary" in summary and "Progress has plateaued" in summary
    assert "Progress levelled off" in summary
    assert client.post(url, {"reason": "plateau"}).status_code == 200  # the form again, with the refusal
    assert Discharge.objects.filter(episode=episode).count() == 1
