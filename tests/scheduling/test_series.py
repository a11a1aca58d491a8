"""Treatment series: planning (scheduling/series.py, pure), proposing with alternatives,
booking all or nothing, and cancelling one or all remaining visits."""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from effleura.core.choices import Role
from effleura.core.models import AuditEvent
from effleura.scheduling import actions
from effleura.scheduling import series as planning
from effleura.scheduling.booking import BookingConflict
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment, Series, WorkingHours

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
WEEK = datetime.timedelta(days=7)


def local(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(CHICAGO)


# Planning (pure) ----------------------------------------------------------------------------


def test_twice_a_week_for_four_weeks_is_eight_visits_on_those_days():
    first = datetime.datetime(2030, 4, 2, 10, 0, tzinfo=CHICAGO)  # a Tuesday
    starts = planning.plan_starts(first, CHICAGO, 8, weekdays=[3, 1])
    assert [local(s).strftime("%a %d") for s in starts] == [
        "Tue 02", "Thu 04", "Tue 09", "Thu 11", "Tue 16", "Thu 18", "Tue 23", "Thu 25",
    ]  # fmt: skip
    assert {local(s).time() for s in starts} == {datetime.time(10, 0)}


def test_the_first_visit_is_the_first_chosen_weekday_on_or_after_the_start():
    first = datetime.datetime(2030, 4, 1, 9, 30, tzinfo=CHICAGO)  # a Monday
    starts = planning.plan_starts(first, CHICAGO, 2, weekdays=[4])
    assert [local(s).date() for s in starts] == [datetime.date(2030, 4, 5), datetime.date(2030, 4, 12)]


def test_every_k_days_keeps_the_local_time_across_daylight_saving():
    first = datetime.datetime(2030, 3, 5, 10, 0, tzinfo=CHICAGO)  # clocks go forward on 10 March
    starts = planning.plan_starts(first, CHICAGO, 3, every_days=7)
    assert [local(s).hour for s in starts] == [10, 10, 10]
    assert [s.hour for s in starts] == [16, 15, 15]  # UTC: the offset changed, the wall clock did not
    assert all(s.tzinfo is datetime.UTC for s in starts)


@pytest.mark.parametrize(
    ("visits", "every_days", "weekdays", "field"),
    [
        (0, 7, None, "visits"),
        (61, 7, None, "visits"),
        (4, None, None, "every_days"),
        (4, 7, [1], "weekdays"),
        (4, 0, None, "every_days"),
        (4, None, [7], "weekdays"),
    ],
)
def test_a_series_shape_that_makes_no_sense_is_refused(visits, every_days, weekdays, field):
    assert field in planning.pattern_errors(visits, every_days, weekdays)
    with pytest.raises(ValueError):
        planning.plan_starts(
            datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC),
            CHICAGO,
            visits,
            every_days=every_days,
            weekdays=weekdays,
        )


def test_alternatives_prefer_the_same_practitioner_near_the_time_and_offer_another():
    wanted = datetime.datetime(2030, 4, 2, 10, 0, tzinfo=datetime.UTC)

    def alt(hour, minute, who):
        start = wanted.replace(hour=hour, minute=minute)
        return planning.Alternative(start, start + datetime.timedelta(hours=1), who)

    slots = [alt(8, 0, "me"), alt(11, 0, "me"), alt(9, 0, "me"), alt(12, 0, "me"), alt(10, 0, "other")]
    chosen = planning.pick_alternatives(wanted, "me", slots)
    assert [(a.start.hour, a.practitioner) for a in chosen] == [(9, "me"), (10, "other"), (11, "me")]


def test_alternatives_leave_out_the_patients_other_appointments():
    wanted = datetime.datetime(2030, 4, 2, 10, 0, tzinfo=datetime.UTC)
    slot = planning.Alternative(wanted, wanted + datetime.timedelta(hours=1), "other")
    blocked = [(wanted + datetime.timedelta(minutes=30), wanted + datetime.timedelta(minutes=90))]
    assert planning.pick_alternatives(wanted, "me", [slot], blocked=blocked) == []


# Proposing and booking ------------------------------------------------------------------------


@pytest.fixture
def setting(front_desk, therapist, location, room, room2, service, hours, next_monday, at, make_patient):
    return {
        "actor": front_desk,
        "patient": make_patient(),
        "args": (therapist, service, location),
        "monday": lambda week, hhmm="10:00": at(next_monday + week * WEEK, hhmm),
    }


@pytest.fixture
def colleague(django_user_model, service, location):
    other = django_user_model.objects.create_user(username="colleague", role=Role.THERAPIST, first_name="Jordan")
    service.practitioners.add(other)
    WorkingHours.objects.bulk_create(
        WorkingHours(practitioner=other, location=location, weekday=d, start=datetime.time(9), end=datetime.time(17))
        for d in range(5)
    )
    return other


def occupy(setting, make_patient, when, practitioner=None):
    therapist, service, location = setting["args"]
    actor = setting["actor"]
    plan = actions.check_book(actor, make_patient(), practitioner or therapist, service, location, when)
    return actions.do_book(actor, plan)


def test_a_proposal_marks_the_conflicting_visit_and_offers_alternatives(setting, make_patient, colleague):
    occupy(setting, make_patient, setting["monday"](2))
    proposals = actions.propose_series(
        setting["actor"], setting["patient"], *setting["args"], setting["monday"](0), 4, every_days=7
    )
    assert [p.status for p in proposals] == ["ok", "ok", "conflict", "ok"]
    conflict = proposals[2]
    assert "Therapist Tester is already booked 10:00–11:00" in conflict.problem
    assert 1 <= len(conflict.alternatives) <= 3
    assert any(a.practitioner == colleague and a.start == setting["monday"](2) for a in conflict.alternatives)
    assert all(a.start.astimezone(CHICAGO).date() == setting["monday"](2).date() for a in conflict.alternatives)
    assert not Series.objects.exists() and Appointment.objects.count() == 1  # nothing saved


def test_a_series_is_booked_whole(setting, therapist):
    starts = [setting["monday"](w) for w in range(4)]
    series = actions.do_book_series(setting["actor"], setting["patient"], *setting["args"], starts, every_days=7)
    visits = list(series.appointments.order_by("start"))
    assert [v.start for v in visits] == starts
    assert {v.practitioner for v in visits} == {therapist} and series.visits == 4 and series.every_days == 7
    assert all(v.status == AppointmentStatus.BOOKED for v in visits)
    assert AuditEvent.objects.filter(record_id=str(series.public_id), detail="series of 4 booked").exists()
    assert AuditEvent.objects.filter(detail="booked in a series", patient_id=setting["patient"].public_id).count() == 4


def test_a_conflict_in_visit_five_saves_nothing(setting, make_patient):
    occupy(setting, make_patient, setting["monday"](4))
    before = (Appointment.objects.count(), AuditEvent.objects.count())
    starts = [setting["monday"](w) for w in range(8)]
    with pytest.raises(BookingConflict) as caught:
        actions.do_book_series(setting["actor"], setting["patient"], *setting["args"], starts, every_days=7)
    assert caught.value.messages[0].startswith("Visit 5 of 8: Therapist Tester is already booked 10:00–11:00")
    assert not Series.objects.exists()
    assert (Appointment.objects.count(), AuditEvent.objects.count()) == before


def test_a_visit_outside_working_hours_saves_nothing_either(setting):
    starts = [setting["monday"](0), setting["monday"](1, "19:00")]
    with pytest.raises(ValidationError, match=r"Visit 2 of 2: .*does not work"):
        actions.do_book_series(setting["actor"], setting["patient"], *setting["args"], starts)
    assert not Appointment.objects.exists() and not Series.objects.exists()


def test_an_alternative_with_another_practitioner_can_be_chosen(setting, make_patient, colleague):
    occupy(setting, make_patient, setting["monday"](1))
    visits = [setting["monday"](0), planning.Visit(setting["monday"](1), practitioner=colleague)]
    series = actions.do_book_series(setting["actor"], setting["patient"], *setting["args"], visits)
    assert [v.practitioner for v in series.appointments.order_by("start")][1] == colleague


def test_billing_cannot_book_a_series(setting, billing):
    with pytest.raises(PermissionDenied):
        actions.do_book_series(billing, setting["patient"], *setting["args"], [setting["monday"](0)])


def test_one_visit_can_be_cancelled_alone(setting):
    starts = [setting["monday"](w) for w in range(3)]
    series = actions.do_book_series(setting["actor"], setting["patient"], *setting["args"], starts, every_days=7)
    second = series.appointments.order_by("start")[1]
    actions.do_cancel(setting["actor"], second, "away that week")
    assert [a.status for a in series.appointments.order_by("start")] == ["booked", "cancelled", "booked"]


def test_cancel_remaining_leaves_the_visits_already_past(setting):
    starts = [setting["monday"](w) for w in range(4)]
    actor = setting["actor"]
    series = actions.do_book_series(actor, setting["patient"], *setting["args"], starts, every_days=7)
    first = series.appointments.order_by("start")[0]
    at = first.start
    done = actions.do_set_status(
        actor, first, actions.check_set_status(actor, first, AppointmentStatus.COMPLETED, now=at), now=at
    )
    reason = actions.check_cancel_series_remaining(actor, series, "Treatment goals met")
    cancelled = actions.do_cancel_series_remaining(actor, series, reason, now=starts[1] + datetime.timedelta(hours=1))
    assert len(cancelled) == 2
    statuses = [a.status for a in series.appointments.order_by("start")]
    assert statuses == [done.status, "booked", "cancelled", "cancelled"]
    assert all(a.cancel_reason == "Treatment goals met" for a in cancelled)


def test_cancel_remaining_needs_a_reason(setting):
    series = actions.do_book_series(setting["actor"], setting["patient"], *setting["args"], [setting["monday"](0)])
    with pytest.raises(ValidationError):
        actions.check_cancel_series_remaining(setting["actor"], series, "")
