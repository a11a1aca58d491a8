"""Treatment plans and goals (clinical/plans.py): the rules first, from PRODUCT.md and the
issue (ICD-10-CM codes, measurable goals, pressure range, frequency × duration = visits,
screening warns but does not block), then superseding and goal status."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from effleura.clinical import plans
from effleura.clinical.choices import GoalStatus, PlanStatus
from effleura.clinical.models import Goal, TreatmentPlan
from effleura.core.models import AuditEvent


def plan_data(**fields) -> dict:
    """Twice a week for four weeks, 60 minutes; pain (NPRS) from 7 to 3."""
    return {
        "diagnosis_codes": ["M54.50"],
        "techniques": ["swedish", "myofascial_release"],
        "modalities": ["heat"],
        "pressure_min": "light",
        "pressure_max": "moderate",
        "sessions_per_week": 2,
        "weeks": 4,
        "session_minutes": 60,
        "home_care_summary": "Cat-cow stretch twice daily.",
        "goals": [{"description": "Pain from 7 to 3 when sitting", "measure": "nprs", "baseline": 7, "target": 3}],
        **fields,
    }


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


@pytest.fixture
def make_plan(therapist):
    def make(episode, actor=therapist, **fields):
        clean = plans.check_create_plan(actor, episode, plan_data(**fields))
        return plans.do_create_plan(actor, episode, clean)

    return make


# Rules -----------------------------------------------------------------------------------------


def test_twice_a_week_for_four_weeks_is_eight_visits(episode, make_plan):
    plan = make_plan(episode)
    assert plan.visits == 8
    assert plan.status == PlanStatus.ACTIVE
    assert [g.description for g in plan.goals.all()] == ["Pain from 7 to 3 when sitting"]


def test_it_refuses_the_retired_code_m54_5_and_says_why(episode, therapist):
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(diagnosis_codes=["M54.5"]))
    assert "M54.5 is not a valid ICD-10-CM code" in errors_of(exc)["diagnosis_codes"][0]


def test_it_refuses_a_malformed_code(episode, therapist):
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(diagnosis_codes=["back pain"]))
    assert "is not an ICD-10-CM code" in errors_of(exc)["diagnosis_codes"][0]


def test_codes_are_upper_cased_and_deduplicated(episode, therapist):
    clean = plans.check_create_plan(therapist, episode, plan_data(diagnosis_codes="m54.50, M54.50; s16.1xxa"))
    assert clean["diagnosis_codes"] == ["M54.50", "S16.1XXA"]


def test_it_needs_a_diagnosis_code(episode, therapist):
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(diagnosis_codes=[]))
    assert "at least one ICD-10-CM" in errors_of(exc)["diagnosis_codes"][0]


def test_it_refuses_unknown_technique_keys_and_modalities_among_techniques(episode, therapist):
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(techniques=["reiki", "heat"], modalities=["swedish"]))
    errors = errors_of(exc)
    assert "reiki" in errors["techniques"][0] and "heat" in errors["techniques"][0]
    assert "swedish" in errors["modalities"][0]


def test_strokes_count_as_planned_techniques(episode, therapist):
    clean = plans.check_create_plan(therapist, episode, plan_data(techniques=["effleurage", "kneading"]))
    assert clean["techniques"] == ["effleurage", "kneading"]


def test_it_needs_a_planned_technique(episode, therapist):
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(techniques=[]))
    assert "techniques" in errors_of(exc)


def test_the_lightest_pressure_cannot_be_firmer_than_the_deepest(episode, therapist):
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(pressure_min="deep", pressure_max="moderate"))
    assert errors_of(exc)["pressure_max"] == ["The deepest pressure cannot be lighter than the lightest."]


def test_a_single_pressure_is_a_range_of_one(episode, therapist):
    clean = plans.check_create_plan(therapist, episode, plan_data(pressure_min="firm", pressure_max="firm"))
    assert (clean["pressure_min"], clean["pressure_max"]) == ("firm", "firm")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sessions_per_week", 0, "from 1 to 7"),
        ("sessions_per_week", 8, "from 1 to 7"),
        ("weeks", 53, "from 1 to 52"),
        ("session_minutes", 4, "from 5 to 180"),
        ("session_minutes", "sixty", "from 5 to 180"),
        ("weeks", None, "Give the number of weeks"),
    ],
)
def test_frequency_and_duration_are_bounded(episode, therapist, field, value, message):
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(**{field: value}))
    assert message in errors_of(exc)[field][0]


def test_it_needs_at_least_one_goal(episode, therapist):
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(goals=[]))
    assert "at least one measurable goal" in errors_of(exc)["goals"][0]


def test_at_least_one_goal_must_be_measurable(episode, therapist):
    goals = [{"description": "Feel better"}, {"description": "Sleep through the night"}]
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(goals=goals))
    assert "At least one goal must be measurable" in errors_of(exc)["goals"][0]


def test_a_judged_goal_may_sit_beside_a_measured_one(episode, therapist):
    goals = [
        {"description": "Sleep through the night"},
        {"description": "ODI under 20", "measure": "odi", "target": 20},
    ]
    clean = plans.check_create_plan(therapist, episode, plan_data(goals=goals))
    assert [g["measure"] for g in clean["goals"]] == ["", "odi"]


def test_a_measured_goal_needs_a_target(episode, therapist):
    goals = [{"description": "Less disability", "measure": "odi", "baseline": 42}]
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(goals=goals))
    assert errors_of(exc)["goals.0.target"] == ["Give the target for Oswestry Disability Index."]


def test_a_goal_target_must_lie_in_the_measure_range(episode, therapist):
    goals = [{"description": "Pain", "measure": "nprs", "baseline": 12, "target": 3}]
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(goals=goals))
    assert "runs from 0 to 10" in errors_of(exc)["goals.0.baseline"][0]


def test_the_measure_decides_the_direction_lefs_rises_as_function_improves(episode, therapist):
    goals = [{"description": "Walk further", "measure": "lefs", "baseline": 40, "target": 60}]
    clean = plans.check_create_plan(therapist, episode, plan_data(goals=goals))
    assert clean["goals"][0]["direction"] == "increase"
    goals[0]["direction"] = "decrease"
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(goals=goals))
    assert "higher is better" in errors_of(exc)["goals.0.direction"][0]


def test_a_pain_target_must_be_below_its_baseline(episode, therapist):
    goals = [{"description": "Pain", "measure": "nprs", "baseline": 3, "target": 7}]
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(goals=goals))
    assert "must be below the baseline (3)" in errors_of(exc)["goals.0.target"][0]


def test_a_range_of_motion_goal_names_a_known_movement_and_its_side(episode, therapist):
    goal = {"description": "Turn the head to check traffic", "baseline": 45, "target": 70}
    clean = plans.check_create_plan(
        therapist, episode, plan_data(goals=[{**goal, "measure": "rom:cervical_spine:rotation:left"}])
    )
    assert clean["goals"][0]["direction"] == "increase"
    assert plans.measure_label("rom:cervical_spine:rotation:left") == "Neck rotation (left), degrees"
    for measure, message in [
        ("rom:cervical_spine:rotation", "Say which side"),
        ("rom:knee:teleport:left", "not a range of motion the knowledge base knows"),
        ("rom:cervical_spine:flexion:left", "has no side"),
        ("pain", "Name an outcome measure"),
    ]:
        with pytest.raises(ValidationError) as exc:
            plans.check_create_plan(therapist, episode, plan_data(goals=[{**goal, "measure": measure}]))
        assert message in errors_of(exc)["goals.0.measure"][0], measure


def test_a_target_date_before_the_episode_is_refused(episode, therapist):
    day = episode.opened_on - datetime.timedelta(days=1)
    goals = [{"description": "Pain", "measure": "nprs", "target": 3, "target_date": day.isoformat()}]
    with pytest.raises(ValidationError) as exc:
        plans.check_create_plan(therapist, episode, plan_data(goals=goals, reassess_on=day))
    errors = errors_of(exc)
    assert "goals.0.target_date" in errors and "reassess_on" in errors


def test_unknown_fields_are_refused(episode, therapist):
    with pytest.raises(ValidationError, match="Unknown field"):
        plans.check_create_plan(therapist, episode, plan_data(visits=8))


# Screening warns, it does not block --------------------------------------------------------------


def test_planned_deep_work_on_blood_thinners_is_saved_with_a_caution(patient_with_history, open_episode, therapist):
    episode = open_episode(patient_with_history)
    clean = plans.check_create_plan(therapist, episode, plan_data(techniques=["swedish", "deep_tissue", "friction"]))
    verdicts = {w.technique: w.verdict for w in clean["warnings"]}
    assert verdicts == {"deep_tissue": "caution", "friction": "caution"}
    assert all(f.condition == "anticoagulant" for w in clean["warnings"] for f in w.flags)
    plan = plans.do_create_plan(therapist, episode, clean)
    assert plan.techniques == ["swedish", "deep_tissue", "friction"]
    event = AuditEvent.objects.get(record_type="treatment_plan", record_id=str(plan.public_id))
    assert "2 screening warning(s)" in event.detail
    assert "deep_tissue" not in event.detail and "anticoagulant" not in event.detail


def test_contraindicated_techniques_come_first(make_patient, add_history, open_episode, therapist):
    patient = make_patient()
    add_history(patient, conditions=["dvt", "anticoagulant"])
    episode = open_episode(patient)
    clean = plans.check_create_plan(
        therapist, episode, plan_data(techniques=["deep_tissue", "lymphatic_drainage"], modalities=["electrotherapy"])
    )
    assert [w.verdict for w in clean["warnings"]] == ["contraindicated"] * 3


def test_no_history_means_no_warnings(episode, therapist):
    clean = plans.check_create_plan(therapist, episode, plan_data(techniques=["deep_tissue"]))
    assert clean["warnings"] == []


# Superseding --------------------------------------------------------------------------------------


def test_a_new_plan_supersedes_the_old_which_stays_readable(episode, make_plan):
    first = make_plan(episode)
    second = make_plan(episode, weeks=6)
    first.refresh_from_db()
    assert first.status == PlanStatus.SUPERSEDED
    assert second.status == PlanStatus.ACTIVE
    assert plans.current_plan(episode) == second
    assert first.goals.count() == 1  # the old plan keeps its own goals
    assert TreatmentPlan.objects.filter(episode=episode, status=PlanStatus.ACTIVE).count() == 1
    event = AuditEvent.objects.get(record_type="treatment_plan", record_id=str(second.public_id))
    assert f"supersedes {first.public_id}" in event.detail


def test_a_new_plan_starts_from_a_copy_of_the_plan_in_force(episode, make_plan):
    plan = make_plan(episode)
    initial = plans.plan_initial(plan)
    assert initial["diagnosis_codes"] == ["M54.50"]
    assert initial["goals"][0]["measure"] == "nprs"


def test_no_plan_for_a_discharged_episode(episode, therapist):
    from effleura.clinical import discharge

    discharge.do_discharge(therapist, episode, discharge.check_discharge(therapist, episode, {"reason": "goals_met"}))
    with pytest.raises(ValidationError, match="discharged"):
        plans.check_create_plan(therapist, episode, plan_data())


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_only_clinicians_write_plans(request, episode, role):
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        plans.check_create_plan(user, episode, plan_data())
    assert AuditEvent.objects.filter(actor_username=user.username, outcome="denied", detail="clinical.write").exists()


# Goals --------------------------------------------------------------------------------------------


def test_goal_status_changes_are_audited(episode, make_plan, owner):
    goal = make_plan(episode).goals.get()
    plans.do_update_goal(owner, goal, plans.check_update_goal(owner, goal, GoalStatus.MET))
    assert Goal.objects.get(pk=goal.pk).status == GoalStatus.MET
    event = AuditEvent.objects.get(record_type="goal", record_id=str(goal.public_id))
    assert event.detail == "goal status: not_started → met"
    assert event.patient_id == episode.patient.public_id


def test_goals_of_a_replaced_plan_stand_as_they_were(episode, make_plan, therapist):
    goal = make_plan(episode).goals.get()
    make_plan(episode)
    goal.refresh_from_db()
    goal.plan.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        plans.check_update_goal(therapist, goal, GoalStatus.MET)
    assert "plan that was replaced" in errors_of(exc)["status"][0]


def test_an_unknown_goal_status_is_refused(episode, make_plan, therapist):
    goal = make_plan(episode).goals.get()
    with pytest.raises(ValidationError) as exc:
        plans.check_update_goal(therapist, goal, "achieved")
    assert "Choose one of" in errors_of(exc)["status"][0]
