"""A plan checks itself against the patient's screening (clinical/plans.py,
clinical/plan_warnings.html): its pressure range against the precautions that limit
pressure (blood thinners, osteoporosis, cancer treatment, neuropathy, high blood pressure),
and one warning per screening rule naming every planned technique it concerns. "Up to
deep" for a patient on warfarin once raised no warning, and one surgery rule was repeated
for each of six techniques."""

import pytest
from django.urls import reverse

from effleura.clinical import knowledge, plans
from effleura.clinical.choices import PRESSURE_ORDER

from .test_plans import plan_data
from .test_plans_pages import form_data

LIMITED_TO_MODERATE = ["anticoagulant", "osteoporosis_severe", "cancer_treatment", "diabetic_neuropathy"]


@pytest.mark.parametrize("condition", LIMITED_TO_MODERATE)
@pytest.mark.parametrize("pressure", list(PRESSURE_ORDER))
def test_a_pressure_above_what_a_precaution_allows_is_warned(condition, pressure):
    warnings = plans.pressure_warnings([condition], pressure)
    above = PRESSURE_ORDER.index(pressure) > PRESSURE_ORDER.index("moderate")
    assert bool(warnings) is above
    if above:
        (w,) = warnings
        assert (w.technique, w.verdict) == (plans.PRESSURE, "caution")
        assert w.label == f"Pressure up to {pressure}"
        assert [f.condition for f in w.flags] == [condition]


def test_one_pressure_warning_names_every_rule_that_limits_it():
    (w,) = plans.pressure_warnings(["anticoagulant", "osteoporosis_severe", "pregnancy"], "deep")
    assert {f.condition for f in w.flags} == {"anticoagulant", "osteoporosis_severe"}


def test_a_condition_that_does_not_limit_pressure_raises_no_pressure_warning():
    assert plans.pressure_warnings(["pregnancy", "recent_surgery"], "deep") == []
    assert plans.pressure_warnings([], "deep") == []


def test_only_precautions_limit_pressure_in_the_knowledge_base():
    limits = [(c.key, r.severity, r.max_pressure) for c in knowledge.conditions() for r in c.rules if r.max_pressure]
    assert {key for key, _s, _p in limits} >= set(LIMITED_TO_MODERATE)
    assert all(severity == "precaution" and pressure in PRESSURE_ORDER for _k, severity, pressure in limits)


def test_saving_a_plan_up_to_deep_for_a_patient_on_blood_thinners_asks_first(
    client_for, therapist, patient_with_history, open_episode
):
    episode = open_episode(patient_with_history)  # on anticoagulants
    clean = plans.check_create_plan(therapist, episode, plan_data(techniques=["swedish"], pressure_max="deep"))
    assert [w.technique for w in clean["warnings"]] == [plans.PRESSURE]
    url = reverse("clinical:plan_new", args=[episode.public_id])
    data = form_data(techniques=["swedish"], pressure_max="deep")
    first = client_for(therapist).post(url, data)
    assert first.status_code == 200 and plans.current_plan(episode) is None
    page = first.content.decode()
    assert 'id="confirm-warnings"' in page and "Pressure up to deep" in page and "light to moderate pressure" in page
    assert client_for(therapist).post(url, {**data, "confirm_warnings": "1"}).status_code == 302


def test_the_live_check_follows_the_pressure_chosen(client_for, therapist, patient_with_history, open_episode):
    episode = open_episode(patient_with_history)
    url = reverse("clinical:plan_screening", args=[episode.public_id])
    client = client_for(therapist)
    assert (
        "Pressure up to firm" in client.get(url, {"techniques": ["swedish"], "pressure_max": "firm"}).content.decode()
    )
    calm = client.get(url, {"techniques": ["swedish"], "pressure_max": "moderate"}).content.decode()
    assert "No screening warning" in calm


def test_one_rule_over_six_techniques_is_said_once_naming_them_all(
    client_for, therapist, make_patient, add_history, open_episode
):
    patient = make_patient()
    add_history(patient, conditions=["recent_surgery"])
    episode = open_episode(patient)
    six = ["swedish", "deep_tissue", "myofascial_release", "trigger_point", "friction", "lymphatic_drainage"]
    six = [k for k in six if k in set(knowledge.technique_keys())]
    page = (
        client_for(therapist)
        .get(reverse("clinical:plan_screening", args=[episode.public_id]), {"techniques": six})
        .content.decode()
    )
    assert page.count("no deep pressure over the site") == 1
    assert "Screening raises 1 rule about this plan" in page
    for key in six:
        assert knowledge.label(key) in page.split("Concerns:", 1)[1]
