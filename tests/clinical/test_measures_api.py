"""The outcome-measures and home-care API: the same rules, refusals and audit as the pages."""

import datetime
import io

import pypdf
import pytest
from django.urls import NoReverseMatch, reverse

from effleura.clinical.models import Goal, OutcomeMeasurement, SessionNote, TreatmentPlan
from effleura.core.models import AuditEvent

TODAY = datetime.date.today()


def _test_urlconf():
    """The site's URLs with an API that also mounts clinical/api_measures.py's router."""
    import types

    from django.urls import path

    from effleura import urls
    from effleura.api.api import EffleuraAPI, api
    from effleura.clinical.api_measures import router

    test_api = EffleuraAPI(
        title=api.title, version="1-test", urls_namespace="api", auth=api.auth, description=api.description
    )
    test_api._exception_handlers = dict(api._exception_handlers)
    for prefix, mounted, *_rest in api._router_registrations:
        test_api.add_router(prefix, mounted)
    test_api.add_router("/", router)
    module = types.ModuleType("measures_api_test_urls")
    module.urlpatterns = [p for p in urls.urlpatterns if str(p.pattern) != "api/v1/"]
    module.urlpatterns.append(path("api/v1/", test_api.urls))
    for name in ("handler403", "handler404", "handler500"):
        setattr(module, name, getattr(urls, name))
    return module


_URLCONF = None


@pytest.fixture(autouse=True)
def _router_registered(settings):
    """The lead registers clinical/api_measures.py's router in api/api.py; until then these
    tests serve it from a URL configuration of their own."""
    global _URLCONF
    try:
        reverse("api:episode_measures", kwargs={"episode_id": "00000000-0000-0000-0000-000000000000"})
        return
    except NoReverseMatch:
        pass
    if _URLCONF is None:
        _URLCONF = _test_urlconf()
    settings.ROOT_URLCONF = _URLCONF


@pytest.fixture
def ep(episode):
    episode.opened_on = TODAY - datetime.timedelta(days=60)
    episode.save(update_fields=["opened_on"])
    return episode


def measures_url(ep):
    return reverse("api:episode_measures", kwargs={"episode_id": ep.public_id})


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_recording_scores_and_answers_the_measurement(ep, therapist, client_for):
    answers = [2, 3, 1, 0, 4, 2, 3, 1, 2, None]
    r = post(client_for(therapist), measures_url(ep), {"measure": "odi", "answers": answers, "taken_on": "2000-01-01"})
    assert r.status_code == 422  # before the episode opened
    assert r.json()["errors"]["taken_on"].startswith("The episode opened on")
    r = post(client_for(therapist), measures_url(ep), {"measure": "odi", "answers": answers})
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["score"] == 40.0  # 18 / 45 x 100: the denominator shrinks by 5 per unanswered section
    assert body["unit"] == "%"
    assert body["band"] == "moderate disability"
    assert body["answers"] == answers
    assert body["taken_on"] == str(TODAY)
    assert body["recorded_by"]["name"]
    m = OutcomeMeasurement.objects.get()
    assert body["id"] == str(m.public_id) and body["episode"] == str(ep.public_id)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"measure": "quickdash", "answers": [3] * 9 + [None, None]}, "more than 1 missing"),
        ({"measure": "lefs", "answers": [3] * 19 + [None]}, "every item must be answered"),
        ({"measure": "nprs", "answers": [None]}, "NPRS needs the number"),
        ({"measure": "nprs", "answers": [11]}, "answers go from 0 to 10"),
        ({"measure": "odi", "answers": [1] * 9}, "needs 10 answers; 9 were given"),
        ({"measure": "psfs", "answers": [5, 6], "labels": ["Walking", "Sitting"]}, "needs 3 to 5 activities"),
    ],
)
def test_an_unscorable_questionnaire_answers_422_with_the_reason(ep, therapist, client_for, body, why):
    r = post(client_for(therapist), measures_url(ep), body)
    assert r.status_code == 422
    assert why in r.json()["errors"]["answers"]
    assert why in r.json()["detail"]
    assert not OutcomeMeasurement.objects.exists()


def test_psfs_needs_a_name_per_rating(ep, therapist, client_for):
    client = client_for(therapist)
    r = post(client, measures_url(ep), {"measure": "psfs", "answers": [4, 6, 8], "labels": ["Walking", "Sitting"]})
    assert r.status_code == 422
    assert "errors" in r.json() and "labels" in r.json()["errors"]
    r = post(client, measures_url(ep), {"measure": "psfs", "answers": [4, 6, None], "labels": ["Walk", "Sit", "Drive"]})
    assert r.status_code == 201
    assert r.json()["score"] == 5.0 and r.json()["labels"] == ["Walk", "Sit", "Drive"]


def test_unknown_fields_and_measures_are_refused(ep, therapist, client_for):
    client = client_for(therapist)
    assert post(client, measures_url(ep), {"measure": "odi", "answers": [1] * 10, "score": 1}).status_code == 422
    assert post(client, measures_url(ep), {"measure": "sf36", "answers": [1]}).status_code == 422
    assert post(client, measures_url(ep), {"measure": "nprs", "answers": ["7"]}).status_code == 422


def test_a_measure_taken_at_a_session_names_its_note(ep, therapist, client_for):
    note = SessionNote.objects.create(episode=ep, author=therapist, pain_now=4)
    client = client_for(therapist)
    r = post(client, measures_url(ep), {"measure": "nprs", "answers": [4], "note_id": str(note.public_id)})
    assert r.status_code == 201 and r.json()["note"] == str(note.public_id)
    r = post(client, measures_url(ep), {"measure": "nprs", "answers": [4], "note_id": str(ep.public_id)})
    assert r.status_code == 422 and "note" in r.json()["errors"]


def test_list_detail_and_progress(ep, therapist, client_for):
    client = client_for(therapist)
    for days, answers in ((40, [3] * 10), (20, [2] * 10)):
        taken = str(TODAY - datetime.timedelta(days=days))
        assert (
            post(client, measures_url(ep), {"measure": "ndi", "answers": answers, "taken_on": taken}).status_code == 201
        )
    post(client, measures_url(ep), {"measure": "nprs", "answers": [7], "taken_on": str(TODAY)})
    plan = TreatmentPlan.objects.create(
        episode=ep, sessions_per_week=1, weeks=6, session_minutes=45, created_by=therapist
    )
    Goal.objects.create(plan=plan, description="NDI under 30%", measure="ndi", target=30)

    listed = client.get(measures_url(ep)).json()
    assert [(m["measure"], m["score"]) for m in listed] == [("ndi", 60.0), ("ndi", 40.0), ("nprs", 7.0)]
    one = client.get(reverse("api:episode_measurement", args=[ep.public_id, listed[0]["id"]])).json()
    assert one["band"] == "severe disability"

    progress = client.get(reverse("api:episode_progress", args=[ep.public_id])).json()
    by_key = {p["key"]: p for p in progress}
    assert set(by_key) == {"pain", "ndi"}
    ndi = by_key["ndi"]
    assert (ndi["first"]["value"], ndi["last"]["value"]) == (60.0, 40.0)
    # NDI MCID 19 points: 20 points better reaches it.
    assert ndi["change"] == {"delta": -20.0, "direction": "better", "reaches_mcid": True, "mcid": ndi["change"]["mcid"]}
    assert ndi["goals"][0]["target"] == 30.0
    assert by_key["pain"]["change"] is None
    assert [p["source"] for p in by_key["pain"]["points"]] == ["NPRS"]


def test_the_list_does_a_bounded_number_of_queries(ep, therapist, client_for, django_assert_max_num_queries):
    client = client_for(therapist)
    note = SessionNote.objects.create(episode=ep, author=therapist)
    for _ in range(6):
        post(client, measures_url(ep), {"measure": "nprs", "answers": [5], "note_id": str(note.public_id)})
    with django_assert_max_num_queries(8):
        assert len(client.get(measures_url(ep)).json()) == 6


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_roles_without_clinical_access_are_refused_and_audited(ep, therapist, personas, client_for, role):
    OutcomeMeasurement.objects.create(
        episode=ep, measure="nprs", answers=[6], score=6, unit="/10", recorded_by=therapist
    )
    m = OutcomeMeasurement.objects.get()
    client = client_for(personas[role])
    gets = [
        measures_url(ep),
        reverse("api:episode_measurement", args=[ep.public_id, m.public_id]),
        reverse("api:episode_progress", args=[ep.public_id]),
        reverse("api:episode_home_care", args=[ep.public_id]),
        reverse("api:episode_home_care_handout", args=[ep.public_id]),
    ]
    for url in gets:
        assert client.get(url).status_code == 403, url
    assert post(client, measures_url(ep), {"measure": "nprs", "answers": [2]}).status_code == 403
    r = client.put(
        reverse("api:episode_home_care", args=[ep.public_id]), {"items": []}, content_type="application/json"
    )
    assert r.status_code == 403
    assert OutcomeMeasurement.objects.count() == 1
    assert AuditEvent.objects.filter(actor_username=role, outcome="denied").count() == 7


def test_an_unknown_episode_is_not_found(therapist, client_for):
    url = reverse("api:episode_measures", kwargs={"episode_id": "5b0c1f0e-0000-4000-8000-000000000000"})
    assert client_for(therapist).get(url).status_code == 404


# Home care ------------------------------------------------------------------------------


def test_home_care_is_read_replaced_and_printed(ep, therapist, client_for):
    client = client_for(therapist)
    url = reverse("api:episode_home_care", args=[ep.public_id])
    empty = client.get(url).json()
    assert empty["items"] == [] and empty["introduction"] == "" and empty["updated_by"] is None
    body = {
        "introduction": "Every morning.",
        "items": [{"item": "cat_camel", "dosage": "5 slow rounds."}, {"item": "chin_tuck", "notes": "At the desk."}],
    }
    r = client.put(url, body, content_type="application/json")
    assert r.status_code == 200, r.json()
    plan = r.json()
    assert [i["item"] for i in plan["items"]] == ["cat_camel", "chin_tuck"]
    assert plan["items"][0]["dosage"] == "5 slow rounds." and plan["items"][0]["custom_dosage"] == "5 slow rounds."
    assert plan["items"][1]["custom_dosage"] == "" and plan["items"][1]["dosage"]  # the library's
    assert plan["items"][1]["steps"] and plan["items"][1]["source"]
    assert client.get(url).json()["items"] == plan["items"]

    bad = client.put(url, {"items": [{"item": "chin_tuck"}, {"item": "chin_tuck"}]}, content_type="application/json")
    assert bad.status_code == 422 and "already in the plan" in bad.json()["errors"]["items.1.item"]
    unknown = client.put(url, {"items": [{"item": "moon_walk"}]}, content_type="application/json")
    assert unknown.status_code == 422 and "items.0.item" in unknown.json()["errors"]

    pdf = client.get(reverse("api:episode_home_care_handout", args=[ep.public_id]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Every morning." in text and "5 slow rounds." in text and "At the desk." in text
    assert AuditEvent.objects.filter(action="print", outcome="allowed", patient_id=ep.patient.public_id).count() == 1


def test_the_operations_are_in_the_openapi_document(client):
    paths = client.get(reverse("api:openapi-json")).json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/episodes/{episode_id}/measures"])
    assert "put" in paths["/api/v1/episodes/{episode_id}/home-care"]
    handout = paths["/api/v1/episodes/{episode_id}/home-care/handout.pdf"]["get"]
    assert "application/pdf" in handout["responses"]["200"]["content"]
