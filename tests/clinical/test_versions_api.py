"""No lost edits on the clinical record, in the API (issue 11): every record carries an
integer ``version``; a single-record GET and each write answer send ``ETag: "n"``; a
write with a stale or malformed ``If-Match`` answers 412 with the current version and
changes nothing; ``*`` or no If-Match applies it. On PostgreSQL, two clients racing with
the same If-Match: exactly one wins."""

import dataclasses
from collections.abc import Callable

import pytest
from race_helpers import racing_writes, token_client

from effleura.clinical import access, assessments, homecare, note_templates, notes, plans
from effleura.clinical.models import Assessment, Goal, HomeCarePlan, NoteTemplate, SessionNote, TreatmentPlan

from .test_plans import plan_data


@dataclasses.dataclass
class Kind:
    """One kind of record, as the API edits it."""

    method: str
    path: str
    body: dict
    read: str | None  # the GET that carries the record's ETag
    version: Callable[[], int]  # the record's version in the database now
    written: int = 200


def _note(therapist, episode) -> Kind:
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, episode=episode))
    return Kind(
        "PATCH",
        f"/notes/{note.public_id}",
        {"subjective": "Synthetic words."},
        f"/notes/{note.public_id}",
        lambda: SessionNote.objects.get(pk=note.pk).version,
    )


def _assessment(therapist, episode) -> Kind:
    found = assessments.do_create_assessment(
        therapist, episode, assessments.check_create_assessment(therapist, episode, {})
    )
    return Kind(
        "PATCH",
        f"/assessments/{found.public_id}",
        {"palpation": "Synthetic finding."},
        f"/assessments/{found.public_id}",
        lambda: Assessment.objects.get(pk=found.pk).version,
    )


def _template(therapist, service) -> Kind:
    template = note_templates.do_save_template(
        therapist, note_templates.check_save_template(therapist, {"service": service, "name": "Bedside"})
    )
    return Kind(
        "PATCH",
        f"/note-templates/{template.public_id}",
        {"subjective": "Synthetic start."},
        f"/note-templates/{template.public_id}",
        lambda: NoteTemplate.objects.get(pk=template.pk).version,
    )


def _goal(therapist, episode) -> Kind:
    plan = plans.do_create_plan(therapist, episode, plans.check_create_plan(therapist, episode, plan_data()))
    goal = plan.goals.get()
    return Kind(
        "PATCH",
        f"/goals/{goal.public_id}",
        {"status": "in_progress"},
        None,
        lambda: Goal.objects.get(pk=goal.pk).version,
    )


def _home_care(therapist, episode) -> Kind:
    homecare.do_save_homecare(therapist, episode, homecare.check_save_homecare(therapist, episode, {}))
    return Kind(
        "PUT",
        f"/episodes/{episode.public_id}/home-care",
        {"introduction": "Synthetic hello.", "items": [{"item": "chin_tuck"}]},
        f"/episodes/{episode.public_id}/home-care",
        lambda: HomeCarePlan.objects.get(episode=episode).version,
    )


def _plan(therapist, episode) -> Kind:
    plans.do_create_plan(therapist, episode, plans.check_create_plan(therapist, episode, plan_data()))
    body = plan_data(weeks=6)
    return Kind(
        "POST",
        f"/episodes/{episode.public_id}/plans",
        body,
        f"/episodes/{episode.public_id}/plans/current",
        lambda: TreatmentPlan.objects.filter(episode=episode).order_by("-version").first().version,
        written=201,
    )


KINDS = {
    "session note": lambda t, e, s: _note(t, e),
    "assessment": lambda t, e, s: _assessment(t, e),
    "note template": lambda t, e, s: _template(t, s),
    "goal": lambda t, e, s: _goal(t, e),
    "home-care plan": lambda t, e, s: _home_care(t, e),
    "treatment plan": lambda t, e, s: _plan(t, e),
}


@pytest.fixture(params=list(KINDS))
def kind(request, therapist, episode, service) -> Kind:
    return KINDS[request.param](therapist, episode, service)


@pytest.fixture
def api(api_as, therapist):
    return api_as(therapist)


def test_a_read_carries_the_version_and_its_etag(api, kind):
    if kind.read is None:
        pytest.skip("read inside its plan")
    read = api.send("GET", kind.read)
    assert read.status_code == 200
    assert read.json()["version"] == 1 and read["ETag"] == '"1"'


def test_a_second_write_with_the_same_if_match_is_refused_and_changes_nothing(api, kind):
    first = api.send(kind.method, kind.path, kind.body, HTTP_IF_MATCH='"1"')
    assert first.status_code == kind.written, first.json()
    assert first.json()["version"] == 2 and first["ETag"] == '"2"'

    stale = api.send(kind.method, kind.path, kind.body, HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert stale.json()["version"] == 2 and stale["ETag"] == '"2"'
    assert "Someone else saved" in stale.json()["detail"]
    assert kind.version() == 2


@pytest.mark.parametrize("if_match", ["1", '"one"', "W/1", '"1", "2"'])
def test_a_malformed_if_match_is_refused(api, kind, if_match):
    answer = api.send(kind.method, kind.path, kind.body, HTTP_IF_MATCH=if_match)
    assert answer.status_code == 412
    assert "If-Match" in answer.json()["detail"]
    assert kind.version() == 1


@pytest.mark.parametrize("headers", [{}, {"HTTP_IF_MATCH": "*"}, {"HTTP_IF_MATCH": 'W/"1"'}])
def test_a_write_without_if_match_with_a_star_or_a_weak_match_is_applied(api, kind, headers):
    answer = api.send(kind.method, kind.path, kind.body, **headers)
    assert answer.status_code == kind.written, answer.json()
    assert answer.json()["version"] == 2


# Signing and discarding a note ------------------------------------------------------------------


@pytest.fixture
def draft(therapist, episode):
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, episode=episode))
    note = access.access_note(therapist, note.public_id, audit_it=False)
    return notes.do_update_note(therapist, note, notes.check_update_note(therapist, note, {"subjective": "Words."}))


def test_signing_a_note_changed_since_it_was_read_is_refused(api, draft):
    api.send("PATCH", f"/notes/{draft.public_id}", {"plan": "More."}, HTTP_IF_MATCH='"2"')
    stale = api.send("POST", f"/notes/{draft.public_id}/sign", {}, HTTP_IF_MATCH='"2"')
    assert stale.status_code == 412 and stale.json()["version"] == 3
    assert SessionNote.objects.get(pk=draft.pk).status == "draft"
    signed = api.send("POST", f"/notes/{draft.public_id}/sign", {}, HTTP_IF_MATCH='"3"')
    assert signed.status_code == 200 and signed.json()["version"] == 4 and signed["ETag"] == '"4"'


def test_discarding_a_note_changed_since_it_was_read_is_refused(api, draft):
    api.send("PATCH", f"/notes/{draft.public_id}", {"plan": "Keep."}, HTTP_IF_MATCH='"2"')
    assert api.send("DELETE", f"/notes/{draft.public_id}", HTTP_IF_MATCH='"2"').status_code == 412
    assert SessionNote.objects.filter(pk=draft.pk).exists()
    assert api.send("DELETE", f"/notes/{draft.public_id}", HTTP_IF_MATCH='"3"').status_code == 204


def test_signing_an_assessment_changed_since_it_was_read_is_refused(api, therapist, episode):
    found = assessments.do_create_assessment(
        therapist, episode, assessments.check_create_assessment(therapist, episode, {"clinical_impression": "A."})
    )
    api.send("PATCH", f"/assessments/{found.public_id}", {"clinical_impression": "B."}, HTTP_IF_MATCH='"1"')
    stale = api.send("POST", f"/assessments/{found.public_id}/sign", {}, HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412 and stale.json()["version"] == 2
    assert api.send("POST", f"/assessments/{found.public_id}/sign", {}, HTTP_IF_MATCH='"2"').status_code == 200


def test_the_first_plan_and_home_care_take_zero_as_their_base(api, episode):
    plans_path = f"/episodes/{episode.public_id}/plans"
    assert api.send("POST", plans_path, plan_data(), HTTP_IF_MATCH='"0"').status_code == 201
    assert api.send("POST", plans_path, plan_data(), HTTP_IF_MATCH='"0"').status_code == 412
    care = f"/episodes/{episode.public_id}/home-care"
    empty = api.send("GET", care)
    assert empty.json()["version"] == 0 and empty["ETag"] == '"0"'
    assert api.send("PUT", care, {"introduction": "Hi."}, HTTP_IF_MATCH='"0"').status_code == 200
    assert api.send("PUT", care, {"introduction": "Hi."}, HTTP_IF_MATCH='"0"').status_code == 412


# Two clients at once (PostgreSQL: they meet at the row lock) -----------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(KINDS))
def test_two_clients_racing_on_a_clinical_record_one_wins(therapist, make_patient, open_episode, service, name):
    kind = KINDS[name](therapist, open_episode(make_patient()), service)
    clients = [token_client(therapist, "tab a"), token_client(therapist, "tab b")]
    codes = racing_writes(clients, kind.method, kind.path, kind.body, '"1"')
    assert sorted(codes) == sorted([kind.written, 412])
    assert kind.version() == 2
