"""The clinical record pages: the chart's Clinical tab (screening flags, episodes, plans and
goals), opening an episode, the episode page; refusals for every non-clinical role; pinned
query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from effleura.clinical import plans
from effleura.core.models import AuditEvent

from .test_plans import plan_data


@pytest.fixture
def planned(patient_with_history, open_episode, therapist):
    """An open episode of the patient on blood thinners, with a plan of two goals."""
    episode = open_episode(patient_with_history, title="Neck pain (synthetic)")
    goals = [
        {"description": "Pain from 7 to 3", "measure": "nprs", "baseline": 7, "target": 3},
        {"description": "Turn the head to drive", "measure": "rom:cervical_spine:rotation:left", "target": 70},
    ]
    clean = plans.check_create_plan(therapist, episode, plan_data(goals=goals, techniques=["swedish", "deep_tissue"]))
    plans.do_create_plan(therapist, episode, clean)
    return episode


def test_the_clinical_tab_shows_flags_episodes_plan_and_goals(client_for, therapist, planned):
    patient = planned.patient
    page = client_for(therapist).get(reverse("clinical:patient", args=[patient.public_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "On blood thinners or a bleeding disorder" in html
    assert "no deep or forceful work" in html  # the flag's action
    assert "Werner R." in html  # its source, under "Source"
    assert "Neck pain (synthetic)" in html
    assert "Pain from 7 to 3" in html and "Neck rotation (left), degrees" in html
    assert "M54.50" in html
    assert reverse("clinical:episode_new", args=[patient.public_id]) in html
    # The sections other pages own are linked when they exist.
    assert reverse("clinical:episode_notes", args=[planned.public_id]) in html


def test_a_patient_without_history_is_told_to_take_one(client_for, therapist, make_patient):
    patient = make_patient()
    html = client_for(therapist).get(reverse("clinical:patient", args=[patient.public_id])).content.decode()
    assert 'id="no-history"' in html
    assert 'id="no-open-episode"' in html


def test_the_episode_page_shows_the_plan_with_screening_warnings(client_for, therapist, planned):
    html = client_for(therapist).get(reverse("clinical:episode", args=[planned.public_id])).content.decode()
    assert "Deep tissue massage" in html
    assert "Caution" in html  # deep tissue on blood thinners
    assert "8 visits" in html
    assert reverse("clinical:plan_schedule", args=[plans.current_plan(planned).public_id]) in html
    assert reverse("clinical:discharge", args=[planned.public_id]) in html


def test_opening_an_episode_in_the_browser(client_for, therapist, make_patient):
    patient = make_patient()
    client = client_for(therapist)
    url = reverse("clinical:episode_new", args=[patient.public_id])
    form = client.get(url)
    assert form.status_code == 200
    refused = client.post(url, {"title": "", "therapist": str(therapist.public_id)})
    assert refused.status_code == 200
    assert "This field is required." in refused.content.decode()
    done = client.post(url, {"title": "Sciatica (synthetic)", "therapist": str(therapist.public_id)})
    episode = patient.episodes.get()
    assert done.status_code == 302
    assert done["Location"] == reverse("clinical:episode", args=[episode.public_id])


NON_CLINICAL = ["front_desk", "billing", "outsider"]


@pytest.mark.parametrize("role", NON_CLINICAL)
def test_non_clinicians_never_see_the_clinical_record(request, client_for, planned, role):
    user = request.getfixturevalue(role)
    client = client_for(user)
    plan = plans.current_plan(planned)
    goal = plan.goals.first()
    pages = [
        ("get", reverse("clinical:patient", args=[planned.patient.public_id])),
        ("get", reverse("clinical:episode_new", args=[planned.patient.public_id])),
        ("post", reverse("clinical:episode_new", args=[planned.patient.public_id])),
        ("get", reverse("clinical:episode", args=[planned.public_id])),
        ("get", reverse("clinical:episode_plans", args=[planned.public_id])),
        ("get", reverse("clinical:plan_new", args=[planned.public_id])),
        ("post", reverse("clinical:plan_new", args=[planned.public_id])),
        ("get", reverse("clinical:plan_screening", args=[planned.public_id]) + "?techniques=deep_tissue"),
        ("get", reverse("clinical:plan", args=[plan.public_id])),
        ("get", reverse("clinical:plan_schedule", args=[plan.public_id])),
        ("post", reverse("clinical:goal_status", args=[goal.public_id])),
        ("get", reverse("clinical:discharge", args=[planned.public_id])),
        ("post", reverse("clinical:discharge", args=[planned.public_id])),
        ("get", reverse("clinical:diagnosis_search") + "?q=back"),
    ]
    for method, url in pages:
        before = AuditEvent.objects.filter(actor_username=user.username, outcome="denied").count()
        answer = getattr(client, method)(url, {"status": "met", "reason": "goals_met"} if method == "post" else None)
        assert answer.status_code == 403, url
        body = answer.content.decode()
        assert "Neck pain" not in body and "M54.50" not in body and "blood thinners" not in body
        assert AuditEvent.objects.filter(actor_username=user.username, outcome="denied").count() == before + 1, url
    assert plans.current_plan(planned).goals.filter(status="met").count() == 0


def test_an_unknown_episode_is_404(client_for, therapist):
    client = client_for(therapist)
    missing = "0b5a7c4e-1111-4222-8333-444455556666"
    assert client.get(reverse("clinical:episode", args=[missing])).status_code == 404
    assert client.get(reverse("clinical:patient", args=[missing])).status_code == 404


# Pinned (no consent documents set up, so the versions prefetch does not run). A change
# here is a decision: say in the commit why a page needs one more query.
# session, user; patient + audit read; consent documents + audit read + the patient's
# consents; current health history; episodes (with therapist and discharge), their plans,
# the plans' goals; the layout's practice row.
PATIENT_QUERIES = 12
# session, user; episode (with patient and therapist) + audit read; the consent block (3);
# plans (with author and series), their goals; the current health history (screening
# warnings); the practice row.
EPISODE_QUERIES = 11


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_clinical_tab_does_a_bounded_number_of_queries(client_for, therapist, patient_with_history, open_episode):
    """Pinned: the same count with one episode or many, each with plans and goals."""
    client = client_for(therapist)
    url = reverse("clinical:patient", args=[patient_with_history.public_id])
    first = open_episode(patient_with_history)
    plans.do_create_plan(therapist, first, plans.check_create_plan(therapist, first, plan_data()))
    one = _queries(client, url)
    for n in range(4):
        episode = open_episode(patient_with_history, title=f"Problem {n}")
        for _ in range(2):
            goals = [{"description": f"Goal {k}", "measure": "nprs", "baseline": 7, "target": 3} for k in range(3)]
            plans.do_create_plan(
                therapist, episode, plans.check_create_plan(therapist, episode, plan_data(goals=goals))
            )
    many = _queries(client, url)
    assert many == one
    assert one == PATIENT_QUERIES


def test_the_episode_page_does_a_bounded_number_of_queries(client_for, therapist, planned):
    client = client_for(therapist)
    url = reverse("clinical:episode", args=[planned.public_id])
    one = _queries(client, url)
    for _ in range(3):
        plans.do_create_plan(therapist, planned, plans.check_create_plan(therapist, planned, plan_data()))
    assert _queries(client, url) == one
    assert one == EPISODE_QUERIES
