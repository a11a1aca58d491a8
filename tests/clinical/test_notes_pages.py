"""Session-note pages: start, edit (with screening beside the rows), sign, addenda, the
episode's list, note templates; refusals per role and pinned query counts."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from effleura.clinical import access, note_templates, notes
from effleura.clinical.choices import RecordStatus
from effleura.clinical.models import Goal, NoteTemplate, SessionNote, TreatmentPlan
from effleura.core.choices import AuditOutcome
from effleura.core.models import AuditEvent
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment

SECRET = "Synthetic-finding-7731"


@pytest.fixture
def visit(owner, therapist, practice):
    """visit(patient, minutes=60, status="booked") -> an appointment that started two hours ago."""
    location, room, service = practice

    def make(patient, minutes=60, status=AppointmentStatus.BOOKED):
        start = timezone.now() - datetime.timedelta(hours=2)
        end = start + datetime.timedelta(minutes=minutes)
        return Appointment.objects.create(
            patient=patient, practitioner=therapist, service=service, location=location, room=room,
            duration_minutes=minutes, start=start, end=end, busy_until=end, status=status, created_by=owner,
        )  # fmt: skip

    return make


@pytest.fixture
def dvt_patient(make_patient, add_history):
    patient = make_patient()
    add_history(patient, conditions=["dvt"])
    return patient


@pytest.fixture
def draft(therapist, episode):
    return notes.do_start_note(therapist, notes.check_start_note(therapist, episode=episode))


def form_data(rows=(), **fields):
    data = {"session_date": timezone.localdate().isoformat(), "t-count": str(len(rows)), **fields}
    for i, r in enumerate(rows):
        for key, value in r.items():
            data[f"t-{i}-{key}"] = value
    return data


def url(name, obj):
    return reverse(f"clinical:{name}", args=[obj.public_id])


def signed_note(therapist, episode, **fields):
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, episode=episode))
    note = access.access_note(therapist, note.public_id, audit_it=False)
    note = notes.do_update_note(therapist, note, notes.check_update_note(therapist, note, fields))
    return notes.do_sign_note(therapist, note, notes.check_sign_note(therapist, note))


# Starting ---------------------------------------------------------------------------------------


def test_write_the_note_from_an_appointment(client_for, therapist, episode, visit):
    appointment = visit(episode.patient)
    client = client_for(therapist)
    page = client.get(reverse("clinical:note_new"), {"appointment": appointment.public_id})
    assert page.status_code == 200
    assert "Start the note" in page.content.decode()
    response = client.post(reverse("clinical:note_new"), {"appointment": appointment.public_id, "start": "blank"})
    note = SessionNote.objects.get(appointment=appointment)
    assert response.status_code == 302 and response.url == url("note_edit", note)
    # A second visit to "write the note" opens the one that exists.
    again = client.get(reverse("clinical:note_new"), {"appointment": appointment.public_id})
    assert again.status_code == 302 and again.url == url("note_edit", note)


def test_the_user_picks_among_several_open_episodes(client_for, therapist, make_patient, open_episode, visit):
    patient = make_patient()
    open_episode(patient, title="Neck (synthetic)")
    second = open_episode(patient, title="Back (synthetic)")
    appointment = visit(patient)
    client = client_for(therapist)
    page = client.get(reverse("clinical:note_new"), {"appointment": appointment.public_id}).content.decode()
    assert "Neck (synthetic)" in page and "Back (synthetic)" in page
    refused = client.post(reverse("clinical:note_new"), {"appointment": appointment.public_id, "start": "blank"})
    assert refused.status_code == 200
    assert "choose the one this session is for" in refused.content.decode()
    client.post(
        reverse("clinical:note_new"),
        {"appointment": appointment.public_id, "start": "blank", "episode_choice": str(second.public_id)},
    )
    assert SessionNote.objects.get(appointment=appointment).episode == second


def test_no_open_episode_links_to_opening_one(client_for, therapist, make_patient, visit):
    appointment = visit(make_patient())
    page = client_for(therapist).get(reverse("clinical:note_new"), {"appointment": appointment.public_id})
    text = page.content.decode()
    assert 'id="no-episode"' in text and "open an episode of care" in text
    assert not SessionNote.objects.exists()


def test_a_bedside_note_starts_from_the_episode(client_for, therapist, episode):
    client = client_for(therapist)
    response = client.post(reverse("clinical:note_new"), {"episode": episode.public_id, "start": "blank"})
    note = SessionNote.objects.get(episode=episode)
    assert response.url == url("note_edit", note)
    assert note.appointment is None


def test_start_from_a_template_or_carry_forward(client_for, therapist, episode, practice):
    template = note_templates.do_save_template(
        therapist,
        note_templates.check_save_template(
            therapist,
            {"service": practice[2], "name": "Bedside 15 minutes", "subjective": "Template words",
             "techniques": [{"technique": "effleurage", "minutes": 15}]},
        ),
    )  # fmt: skip
    client = client_for(therapist)
    page = client.get(reverse("clinical:note_new"), {"episode": episode.public_id}).content.decode()
    assert "Bedside 15 minutes" in page
    assert 'value="carry_forward"' not in page  # no signed note yet
    client.post(reverse("clinical:note_new"), {"episode": episode.public_id, "start": f"template:{template.public_id}"})
    note = SessionNote.objects.get(episode=episode)
    assert note.subjective == "Template words"
    edit = client.get(url("note_edit", note)).content.decode()
    assert 'data-started-from="template"' in edit
    # Sign it; the next note can carry it forward, clearly marked.
    note = access.access_note(therapist, note.public_id, audit_it=False)
    notes.do_sign_note(therapist, note, notes.check_sign_note(therapist, note))
    page = client.get(reverse("clinical:note_new"), {"episode": episode.public_id}).content.decode()
    assert 'value="carry_forward"' in page
    client.post(reverse("clinical:note_new"), {"episode": episode.public_id, "start": "carry_forward"})
    copy = SessionNote.objects.filter(episode=episode, status=RecordStatus.DRAFT).get()
    edit = client.get(url("note_edit", copy)).content.decode()
    assert 'data-started-from="carry_forward"' in edit and "Carried forward" in edit


# Editing, screening beside the rows ---------------------------------------------------------------


def test_the_edit_page_shows_the_flags_and_the_goals(client_for, therapist, dvt_patient, open_episode):
    episode = open_episode(dvt_patient)
    plan = TreatmentPlan.objects.create(
        episode=episode, diagnosis_codes=["M54.50"], sessions_per_week=2, weeks=4, session_minutes=60,
        created_by=therapist,
    )  # fmt: skip
    Goal.objects.create(plan=plan, description="Pain from 7 to 3 (synthetic)")
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, episode=episode))
    text = client_for(therapist).get(url("note_edit", note)).content.decode()
    assert "No massage today" in text  # DVT: absolute for all massage
    assert "Pain from 7 to 3 (synthetic)" in text
    # The choice keeps its plain name; screening's word is beside the menu, not inside it.
    assert "Swedish massage — contraindicated" not in text and "— avoid affected areas" not in text
    assert re.search(
        r'<option value="swedish" data-verdict="contraindicated" data-verdict-text="contraindicated">'
        r"Swedish massage</option>",
        text,
    )


def test_a_contraindicated_row_is_refused_beside_the_row(client_for, therapist, dvt_patient, open_episode):
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, episode=open_episode(dvt_patient)))
    client = client_for(therapist)
    rows = [{"technique": "swedish", "minutes": "30", "override_reason": ""}]
    response = client.post(url("note_edit", note), form_data(rows, subjective="Synthetic"))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="t-0-override-error"' in text
    assert "Deep vein thrombosis" in text
    assert SessionNote.objects.get(pk=note.pk).subjective == ""  # nothing saved
    rows[0]["override_reason"] = "Physician cleared in writing (synthetic)"
    saved = client.post(url("note_edit", note), form_data(rows, subjective="Synthetic"))
    assert saved.status_code == 302
    note.refresh_from_db()
    assert note.overrides[0]["reason"] == "Physician cleared in writing (synthetic)"
    assert AuditEvent.objects.filter(record_id=str(note.public_id), detail="override").count() == 1
    view = client.get(url("note", note)).content.decode()
    assert 'id="overrides"' in view and "Physician cleared in writing (synthetic)" in view


def test_add_a_row_saves_nothing(client_for, therapist, draft):
    client = client_for(therapist)
    response = client.post(url("note_edit", draft), {**form_data([{"technique": "swedish"}]), "add_row": "1"})
    assert response.status_code == 200
    assert "t-3-technique" in response.content.decode()  # one row + two blanks + the added one
    assert not draft.techniques.exists()


def test_save_and_sign(client_for, therapist, episode, visit):
    appointment = visit(episode.patient, minutes=30)
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment))
    client = client_for(therapist)
    rows = [{"technique": "swedish", "minutes": "30", "regions": "low_back"}, {"technique": "heat", "minutes": "20"}]
    data = form_data(rows, subjective="Synthetic", sign="1", complete_appointment="1")
    refused = client.post(url("note_edit", note), data)
    assert "more than the 30 minutes booked" in refused.content.decode()
    rows[1]["minutes"] = "15"
    response = client.post(
        url("note_edit", note), form_data(rows, subjective="Synthetic", sign="1", complete_appointment="1")
    )
    assert response.status_code == 302 and response.url == url("note", note)
    note.refresh_from_db()
    appointment.refresh_from_db()
    assert note.status == RecordStatus.SIGNED and note.total_minutes == 45
    assert appointment.status == AppointmentStatus.COMPLETED
    # Locked: the edit page sends back to the note, and a post changes nothing.
    assert client.get(url("note_edit", note)).url == url("note", note)
    client.post(url("note_edit", note), form_data(rows, subjective="Changed"))
    assert SessionNote.objects.get(pk=note.pk).subjective == "Synthetic"


def test_sign_from_the_note_page(client_for, therapist, draft):
    client = client_for(therapist)
    client.post(url("note_edit", draft), form_data(subjective="Synthetic"))
    response = client.post(url("note_sign", draft))
    assert response.url == url("note", draft)
    assert SessionNote.objects.get(pk=draft.pk).status == RecordStatus.SIGNED


def test_only_the_author_edits_the_draft(client_for, colleague, draft):
    client = client_for(colleague)
    assert client.get(url("note_edit", draft)).status_code == 403
    assert client.post(url("note_edit", draft), form_data(subjective="Not mine")).status_code == 403
    assert client.post(url("note_sign", draft)).status_code == 403
    assert client.post(url("note_discard", draft)).status_code == 403
    view = client.get(url("note", draft)).content.decode()
    assert "only Therapist Tester" in view.replace("Only", "only")
    assert AuditEvent.objects.filter(actor_username="colleague", outcome=AuditOutcome.DENIED).count() == 4
    assert SessionNote.objects.get(pk=draft.pk).subjective == ""


def test_any_clinician_adds_an_addendum(client_for, therapist, colleague, episode):
    note = signed_note(therapist, episode, subjective="Synthetic")
    client = client_for(colleague)
    client.post(url("note_addendum", note), {"text": "Called: no soreness (synthetic)"})
    text = client.get(url("note", note)).content.decode()
    assert "Called: no soreness (synthetic)" in text
    assert "Colleague Tester" in text
    assert note.addenda.get().author == colleague


def test_discard_a_draft(client_for, therapist, draft):
    response = client_for(therapist).post(url("note_discard", draft))
    assert response.url == reverse("clinical:episode_notes", args=[draft.episode.public_id])
    assert not SessionNote.objects.filter(pk=draft.pk).exists()


def test_the_episode_lists_its_notes(client_for, therapist, episode, draft):
    signed_note(therapist, episode, subjective="Synthetic")
    text = client_for(therapist).get(reverse("clinical:episode_notes", args=[episode.public_id])).content.decode()
    assert text.count('class="badge warn">Draft') == 1
    assert text.count('class="badge ok">Signed') == 1


# Templates ------------------------------------------------------------------------------------


def test_templates_are_written_on_their_own_page(client_for, therapist, practice):
    client = client_for(therapist)
    assert client.get(reverse("clinical:note_templates")).status_code == 200
    data = {
        "service": str(practice[2].public_id),
        "name": "Seated chair 20",
        "subjective": "How is the neck?",
        "is_active": "on",
        **{k: v for k, v in form_data([{"technique": "kneading", "minutes": "20", "regions": "neck"}]).items()},
    }
    response = client.post(reverse("clinical:note_template_new"), data)
    assert response.status_code == 302
    template = NoteTemplate.objects.get()
    assert template.techniques == [
        {"technique": "kneading", "minutes": 20, "regions": ["neck"], "pressure": "", "position": ""}
    ]
    page = client.get(url("note_template", template)).content.decode()
    assert "Seated chair 20" in page
    client.post(url("note_template", template), {**data, "name": "Seated chair 20 minutes"})
    template.refresh_from_db()
    assert template.name == "Seated chair 20 minutes"


# Refusals per role ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_non_clinicians_never_see_a_note(client_for, personas, therapist, episode, visit, role):
    note = signed_note(therapist, episode, subjective=SECRET)
    appointment = visit(episode.patient)
    client = client_for(personas[role])
    pages = [
        ("get", url("note", note)),
        ("get", url("note_edit", note)),
        ("post", url("note_sign", note)),
        ("post", url("note_addendum", note)),
        ("post", url("note_discard", note)),
        ("get", reverse("clinical:episode_notes", args=[episode.public_id])),
        ("get", reverse("clinical:note_new") + f"?appointment={appointment.public_id}"),
        ("get", reverse("clinical:note_templates")),
        ("get", reverse("clinical:note_template_new")),
    ]
    for method, address in pages:
        response = getattr(client, method)(address)
        assert response.status_code == 403, address
        assert SECRET not in response.content.decode()
    denied = AuditEvent.objects.filter(actor_username=role, outcome=AuditOutcome.DENIED)
    assert denied.count() == len(pages)
    assert not note.addenda.exists()


# Pinned query counts --------------------------------------------------------------------------


@pytest.fixture
def consent_form(owner):
    """A consent document, so the chart heading's consent block makes all its queries."""
    from effleura.patients import actions

    return actions.do_create_consent_document(
        owner, title="Treatment consent", kind="treatment", required=True, body="I agree to massage treatment."
    )


# session, user; the note with episode, patient, therapist, author, appointment, service and
# location (1) + audit read; the chart heading's consent block (4: documents, versions,
# signatures, audit); rows, addenda with their authors, the current health history, the
# plan's goals; the layout's practice row; the visit's charge card (3: the charge, its
# lines, the audit read; billing/templatetags/billing_charges.py).
NOTE_QUERIES = 16
# session, user; the note (1); the current health history; the audit read; the rows; the
# consent block (4); the plan's goals; the layout's practice row.
EDIT_QUERIES = 12


@pytest.mark.parametrize("size", [1, 6])
def test_the_note_page_has_a_fixed_number_of_queries(
    consent_form, client_for, therapist, colleague, dvt_patient, open_episode, django_assert_num_queries, size
):
    episode = open_episode(dvt_patient)
    plan = TreatmentPlan.objects.create(
        episode=episode, diagnosis_codes=["M54.50"], sessions_per_week=2, weeks=4, session_minutes=60,
        created_by=therapist,
    )  # fmt: skip
    for n in range(size):
        Goal.objects.create(plan=plan, description=f"Goal {n} (synthetic)")
    rows = [{"technique": "swedish", "minutes": 5, "override_reason": "Cleared (synthetic)"} for _ in range(size)]
    note = signed_note(therapist, episode, subjective="Synthetic", techniques=rows)
    for n in range(size):
        notes.do_add_addendum(colleague if n % 2 else therapist, note, f"Addendum {n}")
    client = client_for(therapist)
    with django_assert_num_queries(NOTE_QUERIES):
        response = client.get(url("note", note))
    assert response.content.decode().count("Addendum ") >= size


@pytest.mark.parametrize("size", [1, 6])
def test_the_edit_page_has_a_fixed_number_of_queries(
    consent_form, client_for, therapist, dvt_patient, open_episode, django_assert_num_queries, size
):
    episode = open_episode(dvt_patient)
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, episode=episode))
    note = access.access_note(therapist, note.public_id, audit_it=False)
    rows = [{"technique": "swedish", "minutes": 5, "override_reason": "Cleared (synthetic)"} for _ in range(size)]
    notes.do_update_note(therapist, note, notes.check_update_note(therapist, note, {"techniques": rows}))
    client = client_for(therapist)
    with django_assert_num_queries(EDIT_QUERIES):
        response = client.get(url("note_edit", note))
    # The rows shown (the blank row the script copies, data-row="__i__", is not one of them).
    assert len(re.findall(r'<tr class="technique-row[^"]*" data-row="\d+"', response.content.decode())) == max(
        size + 2, 3
    )


def test_screenings_word_for_the_chosen_technique_is_a_badge_beside_its_menu(
    client_for, therapist, patient_with_history, open_episode
):
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, episode=open_episode(patient_with_history)))
    data = {"techniques": [{"technique": "deep_tissue", "minutes": 20}, {"technique": "effleurage", "minutes": 10}]}
    notes.do_update_note(therapist, note, notes.check_update_note(therapist, note, data))
    text = client_for(therapist).get(url("note_edit", note)).content.decode()
    flagged = re.search(
        r'<span class="badge technique-verdict ([a-z]*)" data-verdict-for="t-0-technique"[^>]*>([^<]*)</span>', text
    )
    assert flagged and flagged.groups() == ("caution", "caution")  # blood thinners: deep work is a caution
    plain = re.search(r'<span class="badge technique-verdict ([a-z]*)" data-verdict-for="t-1-technique"([^>]*)>', text)
    assert plain and " hidden" in plain.group(2)
    assert "clinical/technique_rows" in text
