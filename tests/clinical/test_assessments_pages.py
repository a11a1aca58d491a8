"""The assessment pages: new (for an episode), the assessment, edit the draft, sign, and
the episode's list. The body chart is editable on the form (one keyboard stop per region,
plus the no-script list the tests post) and read-only on the assessment; refusals for
front desk, billing and outsiders are 403 and audited; query counts are pinned."""

import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from effleura.clinical import assessment_rules, assessments
from effleura.clinical.choices import RecordStatus
from effleura.clinical.models import Assessment
from effleura.core.choices import AuditOutcome, Role
from effleura.core.models import AuditEvent
from effleura.patients.choices import BodyRegion

pytestmark = pytest.mark.django_db

FOCUSABLE_REGION = re.compile(r'<g class="bc-region[^"]*" data-region="([a-z_]+)"[^>]*tabindex="0" role="button"')


@pytest.fixture
def other_therapist(django_user_model):
    return django_user_model.objects.create_user(
        username="second_therapist", password="x-correct-horse-9", role=Role.THERAPIST, first_name="Second"
    )


@pytest.fixture
def make_assessment(therapist, episode):
    def make(actor=therapist, sign=False, **data):
        clean = assessments.check_create_assessment(actor, episode, data)
        found = assessments.do_create_assessment(actor, episode, clean)
        if sign:
            found = assessments.do_sign_assessment(actor, found)
        return found

    return make


def _management(prefix: str, total: int = 0) -> dict:
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": "0"}


def _post_data(**fields) -> dict:
    """A minimal valid form post: no rows, today's date, initial."""
    data = {"kind": "initial", "assessed_on": fields.pop("assessed_on", timezone.localdate().isoformat())}
    for prefix in ("posture", "rom", "tone", "test"):
        data.update(_management(prefix))
    data.update(fields)
    return data


def new_url(episode):
    return reverse("clinical:assessment_new", kwargs={"episode_id": episode.public_id})


def url(name, assessment):
    return reverse(f"clinical:{name}", kwargs={"assessment_id": assessment.public_id})


# The form ------------------------------------------------------------------------------------------


def test_the_new_assessment_page_shows_the_editable_body_chart_and_the_rows(client_for, therapist, episode):
    response = client_for(therapist).get(new_url(episode))
    assert response.status_code == 200
    html = response.content.decode()
    stops = FOCUSABLE_REGION.findall(html)
    assert sorted(stops) == sorted(BodyRegion.values)
    assert 'aria-label="Left shoulder: no marks"' in html
    # Without JavaScript: a checkbox, a symbol and an intensity per region.
    for key in BodyRegion.values:
        assert f'value="{key}"> ' in html
    assert html.count('type="number" name="body_marks-') == len(BodyRegion.values)
    assert 'name="body_marks" value="[]" data-bodychart-input disabled' in html
    # Each movement shows its normal range while typing; four empty rows to start.
    assert "Neck rotation (normal 60–80°)" in html
    assert 'name="rom-TOTAL_FORMS" value="4"' in html
    assert 'value="initial" id="id_kind_0" required checked' in html or "checked" in html


def test_the_therapist_records_an_assessment_without_javascript(client_for, therapist, episode):
    data = _post_data(
        **{
            "posture-TOTAL_FORMS": "2",
            "posture-0-finding": "shoulder_elevation",
            "posture-0-side": "right",
            "posture-1-finding": "",
            "rom-TOTAL_FORMS": "2",
            "rom-0-movement": "cervical_rotation",
            "rom-0-side": "left",
            "rom-0-degrees": "45",
            "rom-0-pain": "on",
            "tone-TOTAL_FORMS": "1",
            "tone-0-region": "neck",
            "tone-0-finding": "hypertonic",
            "tone-0-note": "upper trapezius",
            "test-TOTAL_FORMS": "1",
            "test-0-test": "spurling",
            "test-0-side": "left",
            "test-0-result": "positive",
            "body_marks-0-region": "neck",
            "body_marks-0-symbol": "pain",
            "body_marks-0-intensity": "6",
            "body_marks-5-symbol": "tension",  # a row not ticked: ignored
            "body_marks-5-intensity": "",
            "body_marks-9-region": "neck",
            "body_marks-9-symbol": "trigger_point",
            "body_marks-9-intensity": "4",
            "functional_limitations": "Can't reverse the car.",
            "clinical_impression": "Neck pain, left radicular signs.",
        }
    )
    response = client_for(therapist).post(new_url(episode), data)
    saved = Assessment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("assessment", saved)
    assert saved.posture == [{"finding": "shoulder_elevation", "side": "right", "note": ""}]
    assert saved.rom == [
        {"joint": "cervical spine", "movement": "rotation", "side": "left", "degrees": 45, "pain": True}
    ]
    assert saved.tone == [{"region": "neck", "finding": "hypertonic", "side": "", "note": "upper trapezius"}]
    assert saved.special_tests == [{"test": "spurling", "side": "left", "result": "positive", "note": ""}]
    assert saved.body_marks == [
        {"region": "neck", "symbol": "pain", "intensity": 6},
        {"region": "neck", "symbol": "trigger_point", "intensity": 4},
    ]
    assert saved.status == RecordStatus.DRAFT


def test_the_chart_script_posts_its_marks_as_json(client_for, therapist, episode):
    marks = [{"region": "low_back", "symbol": "pain", "intensity": 8}]
    data = _post_data(body_marks=json.dumps(marks), **{"body_marks-0-region": "neck"})
    client_for(therapist).post(new_url(episode), data)
    assert Assessment.objects.get().body_marks == marks


def test_a_refused_form_says_why_beside_the_rows_and_keeps_what_was_typed(client_for, therapist, episode):
    data = _post_data(
        **{
            "rom-TOTAL_FORMS": "1",
            "rom-0-movement": "cervical_rotation",
            "rom-0-side": "left",
            "rom-0-degrees": "200",
            "body_marks": json.dumps([{"region": "neck", "symbol": "pain", "intensity": 5}]),
        }
    )
    response = client_for(therapist).post(new_url(episode), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Neck rotation of 200° is beyond what the joint can do (normal 60–80°); check the number." in html
    assert 'aria-label="Neck: pain 5 of 10"' in html  # the marks made are still on the chart
    assert 'name="rom-0-degrees" value="200"' in html
    assert not Assessment.objects.exists()


def test_a_bad_body_mark_from_the_list_is_refused_in_plain_words(client_for, therapist, episode):
    data = _post_data(**{"body_marks-0-region": "neck", "body_marks-0-symbol": "pain", "body_marks-0-intensity": ""})
    response = client_for(therapist).post(new_url(episode), data)
    assert "Neck, pain: give an intensity from 0 to 10." in response.content.decode()
    assert not Assessment.objects.exists()


def test_a_re_assessment_starts_from_the_movements_measured_last_time(client_for, therapist, episode, make_assessment):
    rom = [{"joint": "cervical spine", "movement": "rotation", "side": "left", "degrees": 45, "pain": True}]
    make_assessment(rom=rom, clinical_impression="x", sign=True)
    html = client_for(therapist).get(new_url(episode)).content.decode()
    assert '<option value="cervical_rotation" selected>' in html
    assert 'name="rom-0-degrees" value="45"' not in html  # an old reading is never carried over
    assert 'value="repeat"' in html and re.search(r'value="repeat"[^>]*checked', html)


# The assessment, read-only --------------------------------------------------------------------------


def test_the_assessment_shows_the_body_chart_read_only_with_its_facts_in_text(client_for, therapist, make_assessment):
    found = make_assessment(
        rom=[{"joint": "cervical spine", "movement": "rotation", "side": "left", "degrees": 45, "pain": True}],
        body_marks=[{"region": "shoulder_l", "symbol": "pain", "intensity": 7}],
        posture=[{"finding": "forward_head"}],
        special_tests=[{"test": "phalen", "side": "right", "result": "negative"}],
        clinical_impression="Something <b>bold</b>.",
    )
    response = client_for(therapist).get(url("assessment", found))
    assert response.status_code == 200
    html = response.content.decode()
    assert not FOCUSABLE_REGION.findall(html)
    assert "data-bodychart-input" not in html
    assert "<strong>Left shoulder</strong>: pain 7 of 10" in html
    assert ">P7</text>" in html
    assert '45° <span class="badge warn">below normal</span>' in html
    assert "60–80°" in html
    assert "Forward head posture" in html
    assert "Phalen" in html and "<strong>negative</strong>" in html
    assert "Something &lt;b&gt;bold&lt;/b&gt;." in html
    assert "Edit the draft" in html


def test_a_re_assessment_shows_last_times_reading(client_for, therapist, make_assessment):
    rom = {"joint": "cervical spine", "movement": "rotation", "side": "left", "pain": False}
    make_assessment(rom=[{**rom, "degrees": 45}], clinical_impression="x", sign=True)
    repeat = make_assessment(kind="repeat", rom=[{**rom, "degrees": 70}])
    html = client_for(therapist).get(url("assessment", repeat)).content.decode()
    assert "Last time" in html and '<td data-label="Last time">45°</td>' in html


def test_another_therapist_reads_a_draft_but_may_not_edit_it(client_for, other_therapist, make_assessment):
    found = make_assessment()
    client = client_for(other_therapist)
    html = client.get(url("assessment", found)).content.decode()
    assert "only Therapist Tester, LMT may edit and sign it" in html
    assert client.get(url("assessment_edit", found)).status_code == 403
    assert client.post(url("assessment_edit", found), _post_data()).status_code == 403
    assert client.post(url("assessment_sign", found)).status_code == 403
    denied = AuditEvent.objects.filter(actor_id=other_therapist.pk, outcome=AuditOutcome.DENIED)
    assert denied.count() == 3
    assert {e.patient_id for e in denied} == {found.episode.patient.public_id}


# Edit and sign ----------------------------------------------------------------------------------------


def test_the_author_edits_the_draft_with_its_rows_and_marks_filled_in(client_for, therapist, make_assessment):
    found = make_assessment(
        rom=[{"joint": "cervical spine", "movement": "rotation", "side": "left", "degrees": 45}],
        body_marks=[{"region": "knee_r", "symbol": "tension", "intensity": 3}],
        clinical_impression="First.",
    )
    client = client_for(therapist)
    html = client.get(url("assessment_edit", found)).content.decode()
    assert 'name="rom-0-degrees" value="45"' in html
    assert 'name="body_marks-0-region" value="knee_r" checked' in html
    assert 'aria-label="Right knee: tension 3 of 10"' in html
    data = _post_data(
        **{
            "assessed_on": found.assessed_on.isoformat(),
            "rom-TOTAL_FORMS": "1",
            "rom-0-movement": "cervical_rotation",
            "rom-0-side": "left",
            "rom-0-degrees": "50",
            "body_marks": "[]",
            "clinical_impression": "Second.",
        }
    )
    response = client.post(url("assessment_edit", found), data)
    assert response.status_code == 302
    found.refresh_from_db()
    assert found.rom[0]["degrees"] == 50
    assert found.body_marks == []
    assert found.clinical_impression == "Second."


def test_signing_locks_the_assessment(client_for, therapist, make_assessment):
    found = make_assessment(clinical_impression="Ready.")
    client = client_for(therapist)
    page = client.get(url("assessment_sign", found))
    assert "Signing locks the assessment" in page.content.decode()
    response = client.post(url("assessment_sign", found))
    assert response.status_code == 302
    found.refresh_from_db()
    assert found.status == RecordStatus.SIGNED
    # Locked: the edit page sends the author back with the reason.
    response = client.get(url("assessment_edit", found), follow=True)
    assert "is locked; record what has changed in a re-assessment" in response.content.decode()
    response = client.post(url("assessment_edit", found), _post_data(clinical_impression="Changed."), follow=True)
    assert "is locked" in response.content.decode()
    found.refresh_from_db()
    assert found.clinical_impression == "Ready."
    html = client.get(url("assessment", found)).content.decode()
    assert "Signed and locked" in html and "Edit the draft" not in html


def test_signing_without_an_impression_sends_the_author_back_to_the_draft(client_for, therapist, make_assessment):
    found = make_assessment()
    response = client_for(therapist).post(url("assessment_sign", found), follow=True)
    assert "Write the clinical impression before signing" in response.content.decode()
    found.refresh_from_db()
    assert found.status == RecordStatus.DRAFT


def test_the_episode_lists_its_assessments(client_for, therapist, episode, make_assessment):
    make_assessment(clinical_impression="x", sign=True)
    make_assessment(kind="repeat")
    html = client_for(therapist).get(reverse("clinical:assessments", kwargs={"episode_id": episode.public_id}))
    text = html.content.decode()
    assert "Initial assessment" in text and "Re-assessment" in text
    assert text.count('<span class="badge ok">Signed</span>') == 1


# Refusals -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["front_desk", "billing", "outsider"])
def test_non_clinicians_are_refused_every_assessment_page_and_it_is_audited(
    request, client_for, episode, make_assessment, who
):
    someone = request.getfixturevalue(who)
    found = make_assessment(clinical_impression="x")
    client = client_for(someone)
    pages = [
        ("get", reverse("clinical:assessments", kwargs={"episode_id": episode.public_id})),
        ("get", new_url(episode)),
        ("post", new_url(episode)),
        ("get", url("assessment", found)),
        ("get", url("assessment_edit", found)),
        ("post", url("assessment_edit", found)),
        ("get", url("assessment_sign", found)),
        ("post", url("assessment_sign", found)),
    ]
    for method, address in pages:
        response = getattr(client, method)(address, _post_data() if method == "post" else None)
        assert response.status_code == 403, (method, address)
        assert "Left shoulder" not in response.content.decode()
    assert AuditEvent.objects.filter(actor_id=someone.pk, outcome=AuditOutcome.DENIED).count() == len(pages)
    assert Assessment.objects.count() == 1
    assert Assessment.objects.get().status == RecordStatus.DRAFT


# Query counts ------------------------------------------------------------------------------------------
# Every page: the session, the user and the layout's practice row (3), and the chart
# heading's consent block (the practice has no consent document here: documents, the
# patient's consents, the audit of the consent read = 3).

# + the assessment with its episode, patient and author, and the audit of the read
ASSESSMENT_QUERIES = 8
# + the previous signed assessment, for a re-assessment
REPEAT_QUERIES = 9
# + the episode and the audit of the read, the assessments with their authors
LIST_QUERIES = 9
# + the assessment and the audit of the read (the author's draft: no more)
EDIT_QUERIES = 8


@pytest.mark.parametrize("size", [1, 25])
def test_the_assessment_page_does_a_fixed_number_of_queries(
    client_for, therapist, make_assessment, django_assert_num_queries, size
):
    regions = BodyRegion.values[:size]
    found = make_assessment(
        body_marks=[{"region": r, "symbol": "pain", "intensity": 5} for r in regions],
        rom=[
            {"joint": m.joint, "movement": m.movement, "side": "left" if m.sided else "", "degrees": m.normal_min}
            for m in assessment_rules.movement_options().values()
        ][:size],
    )
    client = client_for(therapist)
    with django_assert_num_queries(ASSESSMENT_QUERIES):
        response = client.get(url("assessment", found))
    assert response.content.decode().count('<tr class="below-normal">') == 0
    assert response.content.decode().count("</strong>: pain 5 of 10</li>") == size


@pytest.mark.parametrize("size", [1, 25])
def test_a_re_assessment_page_adds_one_query_for_the_comparison(
    client_for, therapist, make_assessment, django_assert_num_queries, size
):
    rom = [
        {"joint": m.joint, "movement": m.movement, "side": "left" if m.sided else "", "degrees": m.normal_min}
        for m in assessment_rules.movement_options().values()
    ][:size]
    make_assessment(rom=rom, clinical_impression="x", sign=True)
    repeat = make_assessment(kind="repeat", rom=rom)
    client = client_for(therapist)
    with django_assert_num_queries(REPEAT_QUERIES):
        response = client.get(url("assessment", repeat))
    assert "Last time" in response.content.decode()


@pytest.mark.parametrize("count", [1, 6])
def test_the_list_does_a_fixed_number_of_queries(
    client_for, therapist, episode, make_assessment, django_assert_num_queries, count
):
    make_assessment()
    for _ in range(count - 1):
        make_assessment(kind="repeat")
    client = client_for(therapist)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(reverse("clinical:assessments", kwargs={"episode_id": episode.public_id}))
    assert response.content.decode().count("/clinical/assessments/") == count


def test_the_edit_page_does_a_fixed_number_of_queries(
    client_for, therapist, make_assessment, django_assert_num_queries
):
    found = make_assessment(body_marks=[{"region": "neck", "symbol": "pain", "intensity": 5}])
    client = client_for(therapist)
    with django_assert_num_queries(EDIT_QUERIES):
        response = client.get(url("assessment_edit", found))
    assert response.status_code == 200
