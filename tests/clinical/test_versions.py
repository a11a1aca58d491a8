"""No lost edits on the clinical record (issue 11): a save made from a page loaded before
someone else's save is refused (409), says what the other person changed, and keeps the
person's own input, rebased on the newer version, so saving again applies both. Session
note drafts (text, technique rows, signing, discarding), assessments, treatment plans,
goals, home-care plans and note templates. The API's side is tests/clinical/test_versions_api.py."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from effleura.clinical import access, assessments, homecare, note_templates, notes, plans
from effleura.clinical.choices import PlanStatus, RecordStatus
from effleura.clinical.models import Assessment, Goal, HomeCarePlan, NoteTemplate, SessionNote, TreatmentPlan

from .test_plans import plan_data
from .test_plans_pages import form_data as plan_form

pytestmark = pytest.mark.django_db

VERSION_FIELDS = ("version", "loaded", "loaded_rows")


def hidden(page: str, name: str) -> str | None:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    return found.group(1) if found else None


def versions_of(page: str) -> dict:
    """The hidden version fields a page's form posts back (those it has)."""
    return {name: value for name in VERSION_FIELDS if (value := hidden(page, name)) is not None}


def textarea(page: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]* name="{name}"[^>]*>\n?(.*?)</textarea>', page, re.S)
    return found.group(1) if found else ""


# Session note drafts --------------------------------------------------------------------------


@pytest.fixture
def draft(therapist, episode):
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, episode=episode))
    note = access.access_note(therapist, note.public_id, audit_it=False)
    return notes.do_update_note(therapist, note, notes.check_update_note(therapist, note, {"subjective": "At first."}))


def note_post(rows=(), **fields) -> dict:
    data = {"session_date": timezone.localdate().isoformat(), "t-count": str(len(rows)), "save": "1", **fields}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"t-{i}-{key}"] = value
    return data


def edit_url(note) -> str:
    return reverse("clinical:note_edit", args=[note.public_id])


SWEDISH = {"technique": "swedish", "minutes": "20", "regions": ["low_back"]}


def test_it_refuses_a_note_save_from_a_stale_tab_and_keeps_the_first_tabs_text(client_for, therapist, draft):
    tab_a, tab_b = client_for(therapist), client_for(therapist)
    loaded_a = versions_of(tab_a.get(edit_url(draft)).content.decode())
    loaded_b = versions_of(tab_b.get(edit_url(draft)).content.decode())
    assert loaded_a["version"] == loaded_b["version"] == str(draft.version)

    saved = tab_a.post(edit_url(draft), note_post([SWEDISH], subjective="Tab A's words.", **loaded_a))
    assert saved.status_code == 302
    refused = tab_b.post(edit_url(draft), note_post(subjective="At first.", plan="Tab B's plan.", **loaded_b))

    assert refused.status_code == 409
    page = refused.content.decode()
    assert "saved this session note" in page and "after you opened it" in page
    assert "At first." in page and "Tab A&#x27;s words." in page  # what the other tab changed, from and to
    assert "Swedish" in page  # the technique rows it added are named too
    assert textarea(page, "plan") == "Tab B&#x27;s plan."  # the person's own input is kept
    note = SessionNote.objects.get(pk=draft.pk)
    assert (note.subjective, note.plan, note.version) == ("Tab A's words.", "", draft.version + 1)
    assert list(note.techniques.values_list("technique", flat=True)) == ["swedish"]


def test_saving_the_note_again_after_the_conflict_keeps_both_tabs_changes(client_for, therapist, draft):
    tab_a, tab_b = client_for(therapist), client_for(therapist)
    loaded_a = versions_of(tab_a.get(edit_url(draft)).content.decode())
    loaded_b = versions_of(tab_b.get(edit_url(draft)).content.decode())
    tab_a.post(edit_url(draft), note_post([SWEDISH], subjective="Tab A's words.", **loaded_a))
    page = tab_b.post(edit_url(draft), note_post(subjective="At first.", plan="Tab B's plan.", **loaded_b))
    page = page.content.decode()

    # Rebased: the text tab B left alone shows tab A's, and so do the technique rows.
    assert textarea(page, "subjective") == "Tab A&#x27;s words."
    assert re.search(r'name="t-0-technique"[^>]*>.*?<option value="swedish" selected', page, re.S)
    again = tab_b.post(
        edit_url(draft),
        note_post([SWEDISH], subjective="Tab A's words.", plan="Tab B's plan.", **versions_of(page)),
    )
    assert again.status_code == 302
    note = SessionNote.objects.get(pk=draft.pk)
    assert (note.subjective, note.plan, note.version) == ("Tab A's words.", "Tab B's plan.", draft.version + 2)
    assert note.techniques.count() == 1


def test_a_text_both_tabs_changed_is_marked_and_the_persons_own_kept(client_for, therapist, draft):
    tab_a, tab_b = client_for(therapist), client_for(therapist)
    loaded_a = versions_of(tab_a.get(edit_url(draft)).content.decode())
    loaded_b = versions_of(tab_b.get(edit_url(draft)).content.decode())
    tab_a.post(edit_url(draft), note_post(subjective="Tab A's words.", **loaded_a))
    page = tab_b.post(edit_url(draft), note_post(subjective="Tab B's words.", **loaded_b)).content.decode()
    assert "You changed this too" in page
    assert textarea(page, "subjective") == "Tab B&#x27;s words."
    assert SessionNote.objects.get(pk=draft.pk).subjective == "Tab A's words."


def test_save_and_sign_from_a_stale_tab_signs_nothing(client_for, therapist, draft):
    tab_a, tab_b = client_for(therapist), client_for(therapist)
    loaded_a = versions_of(tab_a.get(edit_url(draft)).content.decode())
    loaded_b = versions_of(tab_b.get(edit_url(draft)).content.decode())
    tab_a.post(edit_url(draft), note_post(subjective="Tab A's words.", **loaded_a))
    data = note_post(subjective="Tab B's words.", **loaded_b)
    data.pop("save")
    refused = tab_b.post(edit_url(draft), {**data, "sign": "1"})
    assert refused.status_code == 409
    note = SessionNote.objects.get(pk=draft.pk)
    assert (note.status, note.subjective) == (RecordStatus.DRAFT, "Tab A's words.")


def test_it_refuses_to_sign_a_note_changed_since_the_page_was_read(client_for, therapist, draft):
    reader, editor = client_for(therapist), client_for(therapist)
    read = reader.get(reverse("clinical:note", args=[draft.public_id])).content.decode()
    shown = hidden(read, "version")
    assert shown == str(draft.version)
    editor.post(edit_url(draft), note_post(subjective="Changed in the other tab.", **versions_of(
        editor.get(edit_url(draft)).content.decode()
    )))  # fmt: skip

    sign = reverse("clinical:note_sign", args=[draft.public_id])
    refused = reader.post(sign, {"version": shown})
    assert refused.status_code == 409
    page = refused.content.decode()
    assert "after you opened it" in page and "Changed in the other tab." in page  # read it before signing
    assert SessionNote.objects.get(pk=draft.pk).status == RecordStatus.DRAFT

    assert reader.post(sign, {"version": hidden(page, "version")}).status_code == 302
    note = SessionNote.objects.get(pk=draft.pk)
    assert note.status == RecordStatus.SIGNED and note.version == draft.version + 2  # signing is a write


def test_it_refuses_to_discard_a_draft_changed_since_the_page_was_read(client_for, therapist, draft):
    reader, editor = client_for(therapist), client_for(therapist)
    shown = hidden(reader.get(edit_url(draft)).content.decode(), "version")
    editor.post(
        edit_url(draft), note_post(subjective="Keep me.", **versions_of(editor.get(edit_url(draft)).content.decode()))
    )
    refused = reader.post(reverse("clinical:note_discard", args=[draft.public_id]), {"version": shown})
    assert refused.status_code in (302, 409)
    assert SessionNote.objects.filter(pk=draft.pk, subjective="Keep me.").exists()


def test_a_page_without_a_version_still_saves(client_for, therapist, draft):
    """A form from before versions (or a hand-made post) opts out, as an API client may."""
    assert client_for(therapist).post(edit_url(draft), note_post(subjective="No version.")).status_code == 302
    assert SessionNote.objects.get(pk=draft.pk).version == draft.version + 1


# Assessments ----------------------------------------------------------------------------------


def assessment_post(**fields) -> dict:
    data = {"kind": "initial", "assessed_on": timezone.localdate().isoformat()}
    for prefix in ("posture", "rom", "tone", "test"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return {**data, **fields}


@pytest.fixture
def assessment(therapist, episode):
    clean = assessments.check_create_assessment(therapist, episode, {"palpation": "Tight (synthetic)."})
    return assessments.do_create_assessment(therapist, episode, clean)


def test_it_refuses_an_assessment_save_from_a_stale_tab_and_saving_again_keeps_both(client_for, therapist, assessment):
    url = reverse("clinical:assessment_edit", args=[assessment.public_id])
    tab_a, tab_b = client_for(therapist), client_for(therapist)
    loaded_a, loaded_b = (versions_of(t.get(url).content.decode()) for t in (tab_a, tab_b))
    assert loaded_a["version"] == "1"

    base = {"palpation": "Tight (synthetic)."}
    assert tab_a.post(url, assessment_post(**base, clinical_impression="Strain.", **loaded_a)).status_code == 302
    refused = tab_b.post(url, assessment_post(**base, functional_limitations="Cannot sit.", **loaded_b))

    assert refused.status_code == 409
    page = refused.content.decode()
    assert "saved this assessment" in page and "Strain." in page
    assert textarea(page, "functional_limitations") == "Cannot sit."
    assert textarea(page, "clinical_impression") == "Strain."  # rebased
    found = Assessment.objects.get(pk=assessment.pk)
    assert (found.clinical_impression, found.functional_limitations, found.version) == ("Strain.", "", 2)

    again = assessment_post(**base, clinical_impression="Strain.", functional_limitations="Cannot sit.")
    assert tab_b.post(url, {**again, **versions_of(page)}).status_code == 302
    found.refresh_from_db()
    assert (found.clinical_impression, found.functional_limitations, found.version) == ("Strain.", "Cannot sit.", 3)


def test_it_refuses_to_sign_an_assessment_changed_since_the_sign_page_was_read(client_for, therapist, assessment):
    assessment = assessments.do_update_assessment(
        therapist, assessment, assessments.check_update_assessment(therapist, assessment, {"clinical_impression": "A."})
    )
    sign = reverse("clinical:assessment_sign", args=[assessment.public_id])
    reader = client_for(therapist)
    shown = hidden(reader.get(sign).content.decode(), "version")
    assert shown == "2"
    found = Assessment.objects.get(pk=assessment.pk)
    assessments.do_update_assessment(
        therapist, found, assessments.check_update_assessment(therapist, found, {"clinical_impression": "Changed."})
    )
    refused = reader.post(sign, {"version": shown})
    assert refused.status_code == 409 and "Changed." in refused.content.decode()
    assert Assessment.objects.get(pk=assessment.pk).status == RecordStatus.DRAFT
    assert reader.post(sign, {"version": "3"}).status_code == 302
    assert Assessment.objects.get(pk=assessment.pk).status == RecordStatus.SIGNED


# Treatment plans and goals --------------------------------------------------------------------


def make_plan(actor, episode, **fields):
    return plans.do_create_plan(actor, episode, plans.check_create_plan(actor, episode, plan_data(**fields)))


def test_a_plan_is_numbered_one_more_than_the_plan_it_replaces(therapist, episode):
    first = make_plan(therapist, episode)
    second = make_plan(therapist, episode, weeks=6)
    first.refresh_from_db()
    assert (first.version, first.status, second.version) == (1, PlanStatus.SUPERSEDED, 2)


def test_it_refuses_a_plan_based_on_a_replaced_one_and_saving_again_keeps_both(client_for, therapist, episode):
    make_plan(therapist, episode)
    url = reverse("clinical:plan_new", args=[episode.public_id])
    tab_a, tab_b = client_for(therapist), client_for(therapist)
    loaded_a, loaded_b = (versions_of(t.get(url).content.decode()) for t in (tab_a, tab_b))
    assert loaded_a["version"] == loaded_b["version"] == "1"  # the plan in force

    assert tab_a.post(url, plan_form(weeks="6", **loaded_a)).status_code == 302
    refused = tab_b.post(url, plan_form(weeks="4", sessions_per_week="3", **loaded_b))

    assert refused.status_code == 409
    page = refused.content.decode()
    assert "saved this treatment plan" in page and "after you opened it" in page
    assert re.search(r'name="sessions_per_week" value="3"', page)  # the person's own input is kept
    assert re.search(r'name="weeks" value="6"', page)  # rebased on the plan in force
    assert hidden(page, "version") == "2"
    in_force = TreatmentPlan.objects.get(episode=episode, status=PlanStatus.ACTIVE)
    assert (in_force.version, in_force.weeks, in_force.sessions_per_week) == (2, 6, 2)

    assert tab_b.post(url, plan_form(weeks="6", sessions_per_week="3", **versions_of(page))).status_code == 302
    in_force = TreatmentPlan.objects.get(episode=episode, status=PlanStatus.ACTIVE)
    assert (in_force.version, in_force.weeks, in_force.sessions_per_week) == (3, 6, 3)


def test_it_refuses_a_first_plan_when_another_was_written_meanwhile(client_for, therapist, episode):
    url = reverse("clinical:plan_new", args=[episode.public_id])
    tab_a, tab_b = client_for(therapist), client_for(therapist)
    based = hidden(tab_a.get(url).content.decode(), "version")
    assert based == "0"  # no plan in force yet
    assert tab_a.post(url, plan_form(version=based)).status_code == 302
    assert tab_b.post(url, plan_form(weeks="8", version=based)).status_code == 409
    assert TreatmentPlan.objects.filter(episode=episode).count() == 1


def test_it_refuses_a_goal_status_set_from_a_stale_page(client_for, therapist, owner, episode):
    goal = make_plan(therapist, episode).goals.get()
    page_url = reverse("clinical:episode", args=[episode.public_id])
    tab_a, tab_b = client_for(therapist), client_for(owner)
    shown = [hidden(t.get(page_url).content.decode(), "version") for t in (tab_a, tab_b)]
    assert shown == ["1", "1"]
    status_url = reverse("clinical:goal_status", args=[goal.public_id])

    assert tab_a.post(status_url, {"status": "in_progress", "version": shown[0]}).status_code == 302
    refused = tab_b.post(status_url, {"status": "met", "version": shown[1]})
    assert refused.status_code == 409
    notice = refused.content.decode()
    assert "after you opened the page" in notice and "It is now <strong>In progress</strong>" in notice
    assert "Your choice, <strong>Met</strong>, was not saved" in notice
    goal.refresh_from_db()
    assert (goal.status, goal.version) == ("in_progress", 2)

    assert tab_b.post(status_url, {"status": "met", "version": "2"}).status_code == 302
    goal.refresh_from_db()
    assert (goal.status, goal.version) == ("met", 3)


# Home care ------------------------------------------------------------------------------------


def homecare_post(plan: dict, op: str, **extra) -> dict:
    data = {"introduction": plan.get("introduction", ""), "op": op, **extra}
    for n, item in enumerate(plan.get("items", [])):
        data[f"item_{n}"] = item
    return data


def test_it_refuses_a_home_care_save_from_a_stale_tab_and_saving_again_keeps_both(client_for, therapist, episode):
    homecare.do_save_homecare(
        therapist, episode, homecare.check_save_homecare(therapist, episode, {"items": [{"item": "chin_tuck"}]})
    )
    url = reverse("clinical:homecare_edit", args=[episode.public_id])
    tab_a, tab_b = client_for(therapist), client_for(therapist)
    loaded_a, loaded_b = (versions_of(t.get(url).content.decode()) for t in (tab_a, tab_b))
    assert loaded_a["version"] == loaded_b["version"] == "1"

    added = homecare_post({"items": ["chin_tuck"]}, "add", add="cat_camel", **loaded_a)
    assert tab_a.post(url, added).status_code == 302
    refused = tab_b.post(url, homecare_post({"introduction": "Hello.", "items": ["chin_tuck"]}, "save", **loaded_b))

    assert refused.status_code == 409
    page = refused.content.decode()
    assert "saved this home-care plan" in page
    assert re.search(r'<th scope="row">Items</th><td>Chin tuck</td><td>Chin tuck; Cat', page)  # what they changed
    assert textarea(page, "introduction") == "Hello."
    assert 'name="item_1" value="cat_camel"' in page  # rebased: the other tab's item is in the list
    plan = HomeCarePlan.objects.get(episode=episode)
    assert (plan.introduction, plan.version, plan.items.count()) == ("", 2, 2)

    again = homecare_post({"introduction": "Hello.", "items": ["chin_tuck", "cat_camel"]}, "save", version="2")
    assert tab_b.post(url, again).status_code == 302
    plan.refresh_from_db()
    assert (plan.introduction, plan.version, plan.items.count()) == ("Hello.", 3, 2)


def test_two_tabs_starting_the_first_home_care_plan_do_not_overwrite_each_other(client_for, therapist, episode):
    url = reverse("clinical:homecare_edit", args=[episode.public_id])
    tab_a, tab_b = client_for(therapist), client_for(therapist)
    assert hidden(tab_a.get(url).content.decode(), "version") == "0"
    assert tab_a.post(url, homecare_post({}, "add", add="chin_tuck", version="0")).status_code == 302
    assert tab_b.post(url, homecare_post({}, "add", add="cat_camel", version="0")).status_code == 409
    assert list(HomeCarePlan.objects.get(episode=episode).items.values_list("item", flat=True)) == ["chin_tuck"]


# Note templates -------------------------------------------------------------------------------


def test_it_refuses_a_note_template_save_from_a_stale_tab(client_for, therapist, service):
    clean = note_templates.check_save_template(therapist, {"service": service, "name": "Bedside 15 minutes"})
    template = note_templates.do_save_template(therapist, clean)
    url = reverse("clinical:note_template", args=[template.public_id])
    tab_a, tab_b = client_for(therapist), client_for(therapist)
    loaded_a, loaded_b = (versions_of(t.get(url).content.decode()) for t in (tab_a, tab_b))
    base = {"service": str(service.public_id), "name": "Bedside 15 minutes", "is_active": "on", "t-count": "0"}

    assert tab_a.post(url, {**base, "subjective": "Tab A.", **loaded_a}).status_code == 302
    refused = tab_b.post(url, {**base, "plan": "Tab B.", **loaded_b})
    assert refused.status_code == 409
    page = refused.content.decode()
    assert "saved this note template" in page and "Tab A." in page
    assert textarea(page, "plan") == "Tab B."
    template = NoteTemplate.objects.get(pk=template.pk)
    assert (template.subjective, template.plan, template.version) == ("Tab A.", "", 2)

    assert tab_b.post(url, {**base, "subjective": "Tab A.", "plan": "Tab B.", **versions_of(page)}).status_code == 302
    template.refresh_from_db()
    assert (template.subjective, template.plan, template.version) == ("Tab A.", "Tab B.", 3)


def test_every_clinical_record_starts_at_version_one(therapist, episode, draft, assessment, service):
    plan = make_plan(therapist, episode)
    template = note_templates.do_save_template(
        therapist, note_templates.check_save_template(therapist, {"service": service, "name": "T"})
    )
    homecare.do_save_homecare(therapist, episode, homecare.check_save_homecare(therapist, episode, {}))
    assert SessionNote.objects.get(pk=draft.pk).version == 2  # started, then written once
    assert [x.version for x in (assessment, plan, Goal.objects.get(plan=plan), template)] == [1, 1, 1, 1]
    assert HomeCarePlan.objects.get(episode=episode).version == 1


def test_a_refused_signature_after_saving_leaves_the_page_on_the_version_saved(client_for, therapist, episode):
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, episode=episode))
    tab = client_for(therapist)
    data = note_post(**versions_of(tab.get(edit_url(note)).content.decode()))
    data.pop("save")
    page = tab.post(edit_url(note), {**data, "sign": "1"}).content.decode()  # empty: saved, not signed
    assert "Draft saved, but not signed." in page
    assert hidden(page, "version") == "2"
    again = note_post(subjective="Now it says something.", **versions_of(page))
    assert tab.post(edit_url(note), again).status_code == 302
    assert SessionNote.objects.get(pk=note.pk).version == 3
