"""The treatment-plan pages: writing and changing a plan (screening warnings to confirm,
errors beside their fields), the diagnosis search, live warnings, goal status, and the
plans of an episode with the replaced ones readable."""

import pytest
from django.urls import reverse

from effleura.clinical import plans
from effleura.clinical.choices import PlanStatus

from .test_plans import plan_data


def form_data(**fields) -> dict:
    data = {
        "diagnosis_codes": "M54.50, M62.830",
        "techniques": ["swedish", "myofascial_release"],
        "modalities": ["heat"],
        "pressure_min": "light",
        "pressure_max": "moderate",
        "sessions_per_week": "2",
        "weeks": "4",
        "session_minutes": "60",
        "goals-TOTAL_FORMS": "3",
        "goals-INITIAL_FORMS": "0",
        "goals-0-description": "Pain from 7 to 3",
        "goals-0-measure": "nprs",
        "goals-0-baseline": "7",
        "goals-0-target": "3",
        "goals-0-status": "not_started",
    }
    data.update(fields)
    return data


@pytest.fixture
def client(client_for, therapist):
    return client_for(therapist)


def test_writing_a_plan_in_the_browser(client, episode):
    url = reverse("clinical:plan_new", args=[episode.public_id])
    assert client.get(url).status_code == 200
    answer = client.post(url, form_data())
    assert answer.status_code == 302
    plan = plans.current_plan(episode)
    assert plan.diagnosis_codes == ["M54.50", "M62.830"]
    assert plan.visits == 8
    assert [g.measure for g in plan.goals.all()] == ["nprs"]  # empty rows are skipped


def test_errors_show_beside_their_fields_and_goal_rows(client, episode):
    url = reverse("clinical:plan_new", args=[episode.public_id])
    answer = client.post(
        url,
        form_data(
            diagnosis_codes="M54.5",
            pressure_min="deep",
            **{"goals-0-baseline": "2", "goals-1-description": "Neck", "goals-1-measure": "rom:neck:spin"},
        ),
    )
    assert answer.status_code == 200
    form, goal_forms = answer.context["form"], answer.context["goal_forms"]
    assert "M54.5 is not a valid ICD-10-CM code" in form.errors["diagnosis_codes"][0]
    assert "pressure_max" in form.errors
    assert "must be below the baseline" in goal_forms[0].errors["target"][0]
    assert "not a range of motion" in goal_forms[1].errors["measure"][0]
    assert plans.current_plan(episode) is None


def test_screening_warnings_are_shown_and_confirmed_not_refused(client, patient_with_history, open_episode):
    episode = open_episode(patient_with_history)
    url = reverse("clinical:plan_new", args=[episode.public_id])
    data = form_data(techniques=["swedish", "deep_tissue"])
    first = client.post(url, data)
    assert first.status_code == 200
    html = first.content.decode()
    assert 'id="confirm-warnings"' in html
    assert "Deep tissue massage" in html and "Caution" in html
    assert plans.current_plan(episode) is None
    confirmed = client.post(url, {**data, "confirm_warnings": "1"})
    assert confirmed.status_code == 302
    assert plans.current_plan(episode).techniques == ["swedish", "deep_tissue"]


def test_changing_the_plan_starts_from_the_plan_in_force_and_keeps_the_old(client, episode, therapist):
    old = plans.do_create_plan(therapist, episode, plans.check_create_plan(therapist, episode, plan_data()))
    url = reverse("clinical:plan_new", args=[episode.public_id])
    page = client.get(url)
    assert page.context["form"].initial["diagnosis_codes"] == "M54.50"
    assert page.context["goal_forms"].initial[0]["measure"] == "nprs"
    assert client.post(url, form_data(weeks="6")).status_code == 302
    old.refresh_from_db()
    assert old.status == PlanStatus.SUPERSEDED
    listing = client.get(reverse("clinical:episode_plans", args=[episode.public_id])).content.decode()
    assert reverse("clinical:plan", args=[old.public_id]) in listing
    assert "12 visits" in listing
    old_page = client.get(reverse("clinical:plan", args=[old.public_id])).content.decode()
    assert "Replaced by a newer plan" in old_page and "Replaced by the" in old_page


def test_the_diagnosis_search_finds_codes_by_words(client):
    html = client.get(reverse("clinical:diagnosis_search"), {"q": "low back"}).content.decode()
    assert 'data-add-code="M54.50"' in html
    assert "M54.5<" not in html and 'data-add-code="M54.5"' not in html  # a retired code is never offered


def test_live_screening_warnings_for_the_ticked_techniques(client, patient_with_history, open_episode):
    episode = open_episode(patient_with_history)
    url = reverse("clinical:plan_screening", args=[episode.public_id])
    html = client.get(url, {"techniques": ["swedish", "friction", "made_up"]}).content.decode()
    assert "Friction" in html and "Caution" in html
    assert "No screening warning" in client.get(url, {"techniques": ["swedish"]}).content.decode()


def test_setting_a_goal_status_in_the_browser(client, episode, therapist):
    plan = plans.do_create_plan(therapist, episode, plans.check_create_plan(therapist, episode, plan_data()))
    goal = plan.goals.get()
    answer = client.post(reverse("clinical:goal_status", args=[goal.public_id]), {"status": "in_progress"})
    assert answer.status_code == 302
    assert answer["Location"].endswith(f"#goal-{goal.public_id}")
    goal.refresh_from_db()
    assert goal.status == "in_progress"
    wrong = client.post(
        reverse("clinical:goal_status", args=[goal.public_id]), {"status": "done", "next": "https://evil.example/"}
    )
    assert wrong.status_code == 302 and "evil" not in wrong["Location"]
    goal.refresh_from_db()
    assert goal.status == "in_progress"
