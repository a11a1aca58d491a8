"""The episodes, plans, goals, schedule-this-plan, discharge and screening API
(clinical/api_episodes.py), through the same permission table and audit trail."""

import pytest

from effleura.clinical.models import Episode
from effleura.core.models import AuditEvent

from .test_plans import plan_data


def plan_body(**fields) -> dict:
    body = plan_data(**fields)
    body["goals"] = [dict(g) for g in body["goals"]]
    return body


@pytest.fixture
def api(api_as, therapist):
    return api_as(therapist)


def test_a_course_of_care_through_the_api(api, patient_with_history, therapist):
    pid = patient_with_history.public_id
    opened = api.send("POST", f"/patients/{pid}/episodes", {"title": "Neck pain (synthetic)"})
    assert opened.status_code == 201, opened.json()
    episode = opened.json()
    assert episode["therapist"]["id"] == str(therapist.public_id) and episode["status"] == "open"
    eid = episode["id"]
    assert [e["id"] for e in api.send("GET", f"/patients/{pid}/episodes").json()] == [eid]
    assert api.send("GET", f"/episodes/{eid}").json()["title"] == "Neck pain (synthetic)"

    first = api.send("POST", f"/episodes/{eid}/plans", plan_body(techniques=["swedish", "deep_tissue"]))
    assert first.status_code == 201, first.json()
    plan = first.json()
    assert plan["visits"] == 8 and plan["status"] == "active"
    assert [(w["technique"], w["verdict"]) for w in plan["warnings"]] == [("deep_tissue", "caution")]
    assert plan["warnings"][0]["flags"][0]["condition"] == "anticoagulant"
    assert plan["goals"][0]["measure_label"] == "Numeric Pain Rating Scale"

    second = api.send("POST", f"/episodes/{eid}/plans", plan_body(weeks=6)).json()
    assert api.send("GET", f"/episodes/{eid}/plans/current").json()["id"] == second["id"]
    listed = api.send("GET", f"/episodes/{eid}/plans").json()
    assert [(p["id"], p["status"]) for p in listed] == [(second["id"], "active"), (plan["id"], "superseded")]
    assert api.send("GET", f"/plans/{plan['id']}").json()["status"] == "superseded"

    goal = second["goals"][0]["id"]
    updated = api.send("PATCH", f"/goals/{goal}", {"status": "met"})
    assert updated.status_code == 200 and updated.json()["status"] == "met"
    old_goal = plan["goals"][0]["id"]
    assert api.send("PATCH", f"/goals/{old_goal}", {"status": "met"}).status_code == 422

    closed = api.send("POST", f"/episodes/{eid}/discharge", {"reason": "goals_met", "summary": "Pain resolved."})
    assert closed.status_code == 201, closed.json()
    assert closed.json()["goals_met"] == 1 and closed.json()["cancelled_appointments"] == 0
    assert api.send("GET", f"/episodes/{eid}/discharge").json()["reason"] == "goals_met"
    again = api.send("POST", f"/episodes/{eid}/discharge", {"reason": "plateau"})
    assert again.status_code == 422 and "already been discharged" in again.json()["detail"]
    assert api.send("GET", f"/episodes/{eid}").json()["discharge"]["reason"] == "goals_met"
    assert api.send("POST", f"/episodes/{eid}/plans", plan_body()).status_code == 422


def test_the_screening_flags_of_the_current_history(api, patient_with_history, make_patient):
    answer = api.send("GET", f"/patients/{patient_with_history.public_id}/screening").json()
    assert answer["health_history_version"] == 1
    assert answer["summary"] == "1 precaution"
    flag = answer["flags"][0]
    assert (flag["condition"], flag["severity"]) == ("anticoagulant", "precaution")
    assert set(flag["affects"]) == {"deep_tissue", "trigger_point", "friction"}
    assert flag["source"]
    none = api.send("GET", f"/patients/{make_patient().public_id}/screening").json()
    assert none["health_history_version"] is None and none["flags"] == []


def test_validation_messages_name_the_field(api, episode):
    eid = episode.public_id
    goals = [{"description": "Pain", "measure": "nprs", "baseline": 3, "target": 7}]
    answer = api.send("POST", f"/episodes/{eid}/plans", plan_body(diagnosis_codes=["M54.5"], goals=goals))
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert "M54.5 is not a valid ICD-10-CM code" in errors["diagnosis_codes"]
    assert "must be below the baseline" in errors["goals.0.target"]
    unknown = api.send("POST", f"/episodes/{eid}/plans", {**plan_body(), "visits": 8})
    assert unknown.status_code == 422 and unknown.json()["errors"]["visits"] == "This field is not known."
    bad_pressure = api.send("POST", f"/episodes/{eid}/plans", plan_body(pressure_min="deep", pressure_max="light"))
    assert bad_pressure.json()["errors"]["pressure_max"] == "The deepest pressure cannot be lighter than the lightest."
    no_title = api.send("POST", f"/patients/{episode.patient.public_id}/episodes", {"title": ""})
    assert no_title.status_code == 422 and "title" in no_title.json()["errors"]


def test_schedule_this_plan_through_the_api(api, episode, therapist, practice, next_monday, at):
    location, _room, service = practice
    plan = api.send("POST", f"/episodes/{episode.public_id}/plans", plan_body()).json()
    body = {
        "service": str(service.public_id),
        "location": str(location.public_id),
        "start": at(next_monday, "10:00").isoformat(),
        "weekdays": [1, 3],
    }
    proposed = api.send("POST", f"/plans/{plan['id']}/schedule/propose", body)
    assert proposed.status_code == 200, proposed.json()
    assert [v["status"] for v in proposed.json()] == ["ok"] * 8
    wrong = api.send("POST", f"/plans/{plan['id']}/schedule/propose", {**body, "weekdays": [1]})
    assert wrong.status_code == 422 and "tick 2 weekdays" in wrong.json()["errors"]["weekdays"]
    booked = api.send("POST", f"/plans/{plan['id']}/schedule", body)
    assert booked.status_code == 201, booked.json()
    assert booked.json()["visits"] == 8
    assert api.send("GET", f"/plans/{plan['id']}").json()["series"] == booked.json()["series"]
    twice = api.send("POST", f"/plans/{plan['id']}/schedule", body)
    assert twice.status_code == 422
    closed = api.send("POST", f"/episodes/{episode.public_id}/discharge", {"reason": "patient_choice"}).json()
    assert closed["cancelled_appointments"] == 8


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_non_clinicians_are_refused_and_audited(request, api_as, episode, therapist, role):
    user = request.getfixturevalue(role)
    client = api_as(user)
    plan = api_as(therapist).send("POST", f"/episodes/{episode.public_id}/plans", plan_body()).json()
    pid, eid = episode.patient.public_id, episode.public_id
    calls = [
        ("GET", f"/patients/{pid}/screening", None),
        ("GET", f"/patients/{pid}/episodes", None),
        ("POST", f"/patients/{pid}/episodes", {"title": "Neck"}),
        ("GET", f"/episodes/{eid}", None),
        ("GET", f"/episodes/{eid}/plans", None),
        ("POST", f"/episodes/{eid}/plans", plan_body()),
        ("GET", f"/episodes/{eid}/plans/current", None),
        ("GET", f"/plans/{plan['id']}", None),
        ("PATCH", f"/goals/{plan['goals'][0]['id']}", {"status": "met"}),
        ("POST", f"/plans/{plan['id']}/schedule/propose", {}),
        ("POST", f"/plans/{plan['id']}/schedule", {}),
        ("POST", f"/episodes/{eid}/discharge", {"reason": "goals_met"}),
        ("GET", f"/episodes/{eid}/discharge", None),
    ]
    for method, path, body in calls:
        before = AuditEvent.objects.filter(actor_username=user.username, outcome="denied").count()
        answer = client.send(method, path, body)
        assert answer.status_code == 403, (path, answer.status_code)
        assert "Low back" not in answer.content.decode() and "M54" not in answer.content.decode()
        assert AuditEvent.objects.filter(actor_username=user.username, outcome="denied").count() == before + 1, path
    assert Episode.objects.get(pk=episode.pk).status == "open"


def test_unknown_ids_are_404(api):
    missing = "0b5a7c4e-1111-4222-8333-444455556666"
    for path in (f"/episodes/{missing}", f"/plans/{missing}", f"/patients/{missing}/screening"):
        assert api.send("GET", path).status_code == 404
    assert api.send("PATCH", f"/goals/{missing}", {"status": "met"}).status_code == 404


def test_anonymous_callers_are_401(api_as, episode):
    assert api_as(None).send("GET", f"/episodes/{episode.public_id}").status_code == 401


def test_the_episode_and_plan_lists_do_a_fixed_number_of_queries_and_are_audited(
    api, patient_with_history, django_assert_max_num_queries
):
    pid = patient_with_history.public_id
    eid = api.send("POST", f"/patients/{pid}/episodes", {"title": "Neck pain (synthetic)"}).json()["id"]
    api.send("POST", f"/episodes/{eid}/plans", plan_body())
    with django_assert_max_num_queries(20) as one:
        assert len(api.send("GET", f"/patients/{pid}/episodes").json()) == 1
    with django_assert_max_num_queries(20) as one_plan:
        assert len(api.send("GET", f"/episodes/{eid}/plans").json()) == 1
    few, few_plans = len(one.captured_queries), len(one_plan.captured_queries)
    assert few and few_plans
    for n in range(3):
        other = api.send("POST", f"/patients/{pid}/episodes", {"title": f"Episode {n} (synthetic)"}).json()["id"]
        api.send("POST", f"/episodes/{other}/plans", plan_body())
        api.send("POST", f"/episodes/{eid}/plans", plan_body(weeks=4 + n))
    with django_assert_max_num_queries(few):
        assert len(api.send("GET", f"/patients/{pid}/episodes").json()) == 4
    with django_assert_max_num_queries(few_plans):
        assert len(api.send("GET", f"/episodes/{eid}/plans").json()) == 4
    reads = AuditEvent.objects.filter(patient_id=pid, record_type="clinical_record", action="read")
    assert reads.count() >= 4
