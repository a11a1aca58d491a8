"""The appointments and series API (scheduling/api_appointments.py), through HTTP."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from effleura.core.choices import AuditOutcome, Role
from effleura.core.models import AuditEvent
from effleura.scheduling.models import Appointment, SchedulingPolicy, Series, WorkingHours


@pytest.fixture
def clinic(location, room, room2, service, hours, therapist, next_monday, at, make_patient):
    return {
        "location": location,
        "service": service,
        "therapist": therapist,
        "room": room,
        "room2": room2,
        "patient": make_patient(),
        "at": lambda hhmm, week=0: at(next_monday + datetime.timedelta(days=7 * week), hhmm),
        "day": next_monday,
    }


def body(clinic, hhmm="10:00", **extra) -> dict:
    return {
        "patient": str(clinic["patient"].public_id),
        "practitioner": str(clinic["therapist"].public_id),
        "service": str(clinic["service"].public_id),
        "location": str(clinic["location"].public_id),
        "start": clinic["at"](hhmm).isoformat(),
        **extra,
    }


@pytest.fixture
def desk(api_as, front_desk):
    return api_as(front_desk)


def book(desk, clinic, hhmm="10:00", **extra):
    response = desk.send("POST", "/appointments", body(clinic, hhmm, **extra))
    assert response.status_code == 201, response.json()
    return response.json()


# Booking ------------------------------------------------------------------------------------


def test_front_desk_books_and_gets_201_with_the_visit(desk, clinic):
    response = desk.send("POST", "/appointments", body(clinic))
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "booked"
    assert data["room"] == str(clinic["room"].public_id)
    assert data["patient"] == str(clinic["patient"].public_id)
    assert data["practitioner"] == str(clinic["therapist"].public_id)
    assert data["service"] == str(clinic["service"].public_id)
    assert data["location"] == str(clinic["location"].public_id)
    start = datetime.datetime.fromisoformat(data["start"])
    end = datetime.datetime.fromisoformat(data["end"])
    assert start == clinic["at"]("10:00") and end - start == datetime.timedelta(minutes=60)
    assert start.utcoffset() == clinic["at"]("10:00").utcoffset()  # shown in the location's zone
    assert Appointment.objects.get(public_id=data["id"]).created_by.role == Role.FRONT_DESK


def test_a_duration_and_a_room_may_be_chosen(desk, clinic):
    data = book(desk, clinic, duration=30, room=str(clinic["room2"].public_id))
    assert data["duration"] == 30 and data["room"] == str(clinic["room2"].public_id)


@pytest.mark.parametrize(
    "start",
    ["2030-03-04T10:00:00", "2030-03-04", 1900000000, "next tuesday", "2030-02-30T10:00:00+00:00"],
)
def test_a_start_without_an_offset_is_refused(desk, clinic, start):
    response = desk.send("POST", "/appointments", {**body(clinic), "start": start})
    assert response.status_code == 422
    assert "UTC offset" in response.json()["errors"]["start"]


def test_an_unknown_id_names_its_field(desk, clinic):
    response = desk.send("POST", "/appointments", body(clinic, practitioner="00000000-0000-0000-0000-000000000000"))
    assert response.status_code == 422
    assert response.json()["errors"] == {"practitioner": "No such practitioner."}


def test_an_unknown_field_is_refused(desk, clinic):
    response = desk.send("POST", "/appointments", body(clinic, colour="blue"))
    assert response.status_code == 422 and response.json()["errors"]["colour"] == "This field is not known."


def test_a_taken_time_answers_409_with_the_conflicting_time(desk, clinic, make_patient):
    book(desk, clinic)
    other = {"patient": str(make_patient().public_id)}
    response = desk.send("POST", "/appointments", body(clinic, "10:30", **other))
    assert response.status_code == 409
    day = clinic["day"]
    zone = f"{clinic['at']('11:00'):%Z}"  # Main Street's zone is not the practice's (UTC): named
    assert response.json()["detail"] == (
        f"Therapist Tester is already booked 10:00–11:00 {zone} ({day:%a} {day.day} {day:%b}) at Main Street."
    )


def test_a_time_outside_the_working_hours_answers_422(desk, clinic):
    response = desk.send("POST", "/appointments", body(clinic, "18:00"))
    assert response.status_code == 422 and "does not work" in response.json()["errors"]["start"]


@pytest.mark.parametrize("role", ["billing", "outsider"])
def test_billing_and_an_outsider_cannot_book(request, api_as, clinic, role):
    response = api_as(request.getfixturevalue(role)).send("POST", "/appointments", body(clinic))
    assert response.status_code == 403
    assert AuditEvent.objects.filter(outcome=AuditOutcome.DENIED).exists()
    assert not Appointment.objects.exists()


def test_an_anonymous_caller_is_asked_to_sign_in(api_as, clinic):
    assert api_as(None).send("POST", "/appointments", body(clinic)).status_code == 401


# Reading ------------------------------------------------------------------------------------


def test_the_list_needs_a_range_of_at_most_62_days(desk, clinic):
    assert desk.send("GET", "/appointments").status_code == 422
    response = desk.send("GET", "/appointments?start=2030-01-01&end=2030-04-01")
    assert response.status_code == 422 and "62 days" in response.json()["errors"]["end"]


def test_the_list_filters_by_practitioner_patient_and_location(
    desk, clinic, make_patient, django_assert_max_num_queries
):
    mine = book(desk, clinic, "10:00")
    book(desk, clinic, "12:00", patient=str(make_patient().public_id))
    day = clinic["day"].isoformat()
    base = f"/appointments?start={day}&end={day}&location={clinic['location'].public_id}"
    with django_assert_max_num_queries(12):
        response = desk.send("GET", base)
    assert response.status_code == 200 and response.json()["count"] == 2
    by_patient = desk.send("GET", f"{base}&patient={clinic['patient'].public_id}").json()
    assert [item["id"] for item in by_patient["items"]] == [mine["id"]]
    by_practitioner = desk.send("GET", f"{base}&practitioner={clinic['therapist'].public_id}").json()
    assert by_practitioner["count"] == 2
    assert AuditEvent.objects.filter(detail="appointment list", patient_id=clinic["patient"].public_id).exists()


def test_the_list_query_count_does_not_grow_with_the_appointments(desk, clinic, make_patient):
    day = clinic["day"].isoformat()
    url = f"/appointments?start={day}&end={day}"
    book(desk, clinic, "09:00")
    with CaptureQueriesContext(connection) as one:
        desk.send("GET", url)
    for hhmm in ("11:00", "13:00", "15:00"):
        book(desk, clinic, hhmm, patient=str(make_patient().public_id))
    with CaptureQueriesContext(connection) as four:
        assert desk.send("GET", url).json()["count"] == 4
    # Token and user, the count, the page (patient and series joined in), the rows it shares
    # (practitioners, services, locations, rooms: one query each), one audit insert.
    assert len(one) == len(four) <= 10


def test_one_appointment_and_its_history(desk, clinic, billing, api_as):
    data = book(desk, clinic)
    assert api_as(billing).send("GET", f"/appointments/{data['id']}").json()["id"] == data["id"]
    desk.send("POST", f"/appointments/{data['id']}/reschedule", {"start": clinic["at"]("11:00").isoformat()})
    desk.send("POST", f"/appointments/{data['id']}/cancel", {"reason": "Patient unwell"})
    history = desk.send("GET", f"/appointments/{data['id']}/history").json()
    assert [c["kind"] for c in history["changes"]] == ["created", "rescheduled", "cancelled"]
    assert history["changes"][1]["from_start"] is not None and history["changes"][0]["actor"]["name"]
    assert history["appointment"]["status"] == "cancelled"


def test_an_unknown_appointment_is_404(desk, clinic):
    assert desk.send("GET", "/appointments/00000000-0000-0000-0000-000000000000").status_code == 404


# Changing -----------------------------------------------------------------------------------


def test_a_reschedule_into_a_taken_time_answers_409(desk, clinic, make_patient):
    book(desk, clinic, "14:00", patient=str(make_patient().public_id))
    data = book(desk, clinic, "10:00")
    response = desk.send("POST", f"/appointments/{data['id']}/reschedule", {"start": clinic["at"]("14:30").isoformat()})
    assert response.status_code == 409 and "14:00–15:00" in response.json()["detail"]
    moved = desk.send("POST", f"/appointments/{data['id']}/reschedule", {"start": clinic["at"]("12:00").isoformat()})
    assert moved.status_code == 200 and moved.json()["start"].startswith(f"{clinic['day'].isoformat()}T12:00")


def short_notice() -> None:
    """Raise the minimum notice to 30 days: every time next Monday is then short notice."""
    SchedulingPolicy.objects.create(minimum_notice_minutes=43_200)


def test_a_reschedule_inside_the_minimum_notice_answers_409_with_warnings_until_confirmed(desk, clinic):
    data = book(desk, clinic, "10:00")
    short_notice()
    url = f"/appointments/{data['id']}/reschedule"
    move = {"start": clinic["at"]("14:00").isoformat()}
    asked = desk.send("POST", url, move)
    assert asked.status_code == 409, asked.json()
    answer = asked.json()
    assert len(answer["warnings"]) == 1
    assert "sooner than the 43,200 minutes' notice the practice asks for" in answer["warnings"][0]
    assert answer["detail"] == "Confirm before moving the visit: " + answer["warnings"][0]
    assert Appointment.objects.get(public_id=data["id"]).start == clinic["at"]("10:00")
    moved = desk.send("POST", url, {**move, "confirm_warnings": True})
    assert moved.status_code == 200, moved.json()
    assert moved.json()["start"].startswith(f"{clinic['day'].isoformat()}T14:00")
    kinds = [c["kind"] for c in desk.send("GET", f"/appointments/{data['id']}/history").json()["changes"]]
    assert kinds == ["created", "rescheduled"]


def test_a_confirmed_reschedule_is_still_refused_for_a_past_or_taken_time(desk, clinic, make_patient):
    book(desk, clinic, "14:00", patient=str(make_patient().public_id))
    data = book(desk, clinic, "10:00")
    short_notice()
    url = f"/appointments/{data['id']}/reschedule"
    past = desk.send("POST", url, {"start": clinic["at"]("10:00", week=-2).isoformat(), "confirm_warnings": True})
    assert past.status_code == 422 and "passed" in past.json()["errors"]["start"]
    taken = desk.send("POST", url, {"start": clinic["at"]("14:30").isoformat(), "confirm_warnings": True})
    assert taken.status_code == 409 and "14:00–15:00" in taken.json()["detail"]
    assert not taken.json().get("warnings")  # a clash is no warning to confirm away
    assert Appointment.objects.get(public_id=data["id"]).start == clinic["at"]("10:00")


@pytest.mark.parametrize("role", ["billing", "outsider"])
def test_billing_and_an_outsider_cannot_reschedule_even_confirming(request, desk, api_as, clinic, role):
    data = book(desk, clinic, "10:00")
    short_notice()
    response = api_as(request.getfixturevalue(role)).send(
        "POST",
        f"/appointments/{data['id']}/reschedule",
        {"start": clinic["at"]("14:00").isoformat(), "confirm_warnings": True},
    )
    assert response.status_code == 403, response.json()
    assert AuditEvent.objects.filter(outcome=AuditOutcome.DENIED).exists()
    assert Appointment.objects.get(public_id=data["id"]).start == clinic["at"]("10:00")


def test_cancel_needs_a_reason_and_reports_a_late_cancel(desk, clinic):
    data = book(desk, clinic)
    assert desk.send("POST", f"/appointments/{data['id']}/cancel", {}).status_code == 422
    response = desk.send("POST", f"/appointments/{data['id']}/cancel", {"reason": "Moved away"})
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["late_cancel"] is False
    assert response.json()["cancel_reason"] == "Moved away"


def starting_now(data: dict) -> None:
    """Move a visit booked through the API to start five minutes ago (written straight to
    the table: booking refuses the past), so it can be checked in and started."""
    start = timezone.now() - datetime.timedelta(minutes=5)
    visit = Appointment.objects.get(public_id=data["id"])
    Appointment.objects.filter(pk=visit.pk).update(
        start=start, end=start + (visit.end - visit.start), busy_until=start + (visit.busy_until - visit.start)
    )


def test_status_changes_follow_the_flow(desk, clinic, api_as, therapist):
    data = book(desk, clinic)
    starting_now(data)
    clinician = api_as(therapist)
    url = f"/appointments/{data['id']}/status"
    assert clinician.send("POST", url, {"status": "checked_in"}).json()["status"] == "checked_in"
    assert clinician.send("POST", url, {"status": "in_session"}).json()["status"] == "in_session"
    refused = clinician.send("POST", url, {"status": "booked"})
    assert refused.status_code == 422 and "cannot become booked" in refused.json()["errors"]["status"]
    half = clinician.send("POST", url, {"status": "interrupted"})
    assert half.status_code == 422
    done = clinician.send(
        "POST", url, {"status": "interrupted", "reason": "Patient to theatre", "minutes_delivered": 25}
    )
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["minutes_delivered"]) == ("interrupted", 25)


def test_status_cancelled_cancels_with_the_reason(desk, clinic):
    data = book(desk, clinic)
    response = desk.send("POST", f"/appointments/{data['id']}/status", {"status": "cancelled", "reason": "Snow"})
    assert response.status_code == 200 and response.json()["cancel_reason"] == "Snow"


def test_billing_cannot_change_an_appointment(desk, clinic, api_as, billing):
    data = book(desk, clinic)
    response = api_as(billing).send("POST", f"/appointments/{data['id']}/cancel", {"reason": "x"})
    assert response.status_code == 403


# Series -------------------------------------------------------------------------------------


@pytest.fixture
def colleague(django_user_model, clinic):
    other = django_user_model.objects.create_user(username="colleague", role=Role.THERAPIST, first_name="Jordan")
    clinic["service"].practitioners.add(other)
    WorkingHours.objects.bulk_create(
        WorkingHours(
            practitioner=other, location=clinic["location"], weekday=d, start=datetime.time(9), end=datetime.time(17)
        )
        for d in range(5)
    )
    return other


def series_body(clinic, **extra) -> dict:
    fields = body(clinic)
    fields.pop("start")
    return {**fields, **extra}


def test_a_series_is_proposed_booked_read_and_cancelled(desk, clinic, make_patient, colleague):
    blocker = body(clinic, patient=str(make_patient().public_id))
    blocker["start"] = clinic["at"]("10:00", week=2).isoformat()
    assert desk.send("POST", "/appointments", blocker).status_code == 201

    proposal = desk.send(
        "POST", "/series/propose", series_body(clinic, start=clinic["at"]("10:00").isoformat(), visits=4, every_days=7)
    )
    assert proposal.status_code == 200, proposal.json()
    visits = proposal.json()
    assert [v["status"] for v in visits] == ["ok", "ok", "conflict", "ok"]
    alternative = next(a for a in visits[2]["alternatives"] if a["practitioner"] == str(colleague.public_id))

    chosen = [{"start": v["start"]} for v in visits if v["status"] == "ok"]
    chosen.insert(2, {"start": alternative["start"], "practitioner": alternative["practitioner"]})
    booked = desk.send("POST", "/series", series_body(clinic, visits=chosen, every_days=7))
    assert booked.status_code == 201, booked.json()
    series = booked.json()
    assert len(series["appointments"]) == 4 and series["every_days"] == 7
    assert series["appointments"][2]["practitioner"] == str(colleague.public_id)

    assert desk.send("GET", f"/series/{series['id']}").json()["id"] == series["id"]
    cancelled = desk.send("POST", f"/series/{series['id']}/cancel-remaining", {"reason": "Goals met"})
    assert cancelled.status_code == 200
    assert {a["status"] for a in cancelled.json()["appointments"]} == {"cancelled"}


def test_a_series_with_a_taken_visit_answers_409_and_saves_nothing(desk, clinic, make_patient):
    blocker = body(clinic, patient=str(make_patient().public_id))
    blocker["start"] = clinic["at"]("10:00", week=4).isoformat()
    desk.send("POST", "/appointments", blocker)
    chosen = [{"start": clinic["at"]("10:00", week=w).isoformat()} for w in range(8)]
    response = desk.send("POST", "/series", series_body(clinic, visits=chosen, every_days=7))
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Visit 5 of 8: Therapist Tester is already booked 10:00–11:00")
    assert not Series.objects.exists() and Appointment.objects.count() == 1
