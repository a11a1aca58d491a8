"""A note can't be lost: the editor saves the draft as one types (the version checked), keeps
what does not pass the checks yet on the server and shows it again at the next visit, and
discarding asks first, naming what would be lost. Refusals per role."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from effleura.clinical import access, notes
from effleura.clinical.choices import RecordStatus
from effleura.clinical.models import SessionNote
from effleura.core.choices import AuditOutcome
from effleura.core.models import AuditEvent

SECRET = "Synthetic-finding-5120"


@pytest.fixture
def draft(therapist, episode):
    return notes.do_start_note(therapist, notes.check_start_note(therapist, episode=episode))


def url(name, note):
    return reverse(f"clinical:{name}", args=[note.public_id])


def typed(note, rows=(), **fields):
    """The editor's form as its script posts it: the page's version and what is typed."""
    data = {
        "version": str(note.version),
        "session_date": timezone.localdate().isoformat(),
        **{name: "" for name in ("subjective", "pain_now", "objective", "assessment", "plan", "home_care_given")},
        "body_marks": "[]",
        "t-count": str(len(rows)),
        **fields,
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"t-{i}-{key}"] = value
    return data


def fresh(note):
    return SessionNote.objects.get(pk=note.pk)


# Saving as one types ----------------------------------------------------------------------------


def test_a_pause_in_typing_saves_the_draft_and_says_so(client_for, therapist, draft):
    response = client_for(therapist).post(url("note_autosave", draft), typed(draft, subjective="Synthetic"))
    assert response.status_code == 200
    answer = response.json()
    saved = fresh(draft)
    assert answer["state"] == "saved" and answer["message"].startswith("Saved at ")
    assert saved.subjective == "Synthetic" and saved.typed == {}
    assert answer["version"] == saved.version == draft.version + 1
    # The page carries on from the version just saved: the next pause saves again.
    again = client_for(therapist).post(url("note_autosave", draft), {**typed(saved), "subjective": "Synthetic, more"})
    assert again.json()["state"] == "saved"
    assert fresh(draft).subjective == "Synthetic, more"


def test_saving_rows_as_one_types_writes_the_techniques(client_for, therapist, draft):
    rows = [{"technique": "swedish", "minutes": "20", "regions": "low_back"}]
    answer = client_for(therapist).post(url("note_autosave", draft), typed(draft, rows)).json()
    assert answer["state"] == "saved"
    entry = fresh(draft).techniques.get()
    assert (entry.technique, entry.minutes, entry.regions) == ("swedish", 20, ["low_back"])


def test_a_row_without_its_minutes_is_kept_as_typed_and_marked(client_for, therapist, draft):
    rows = [{"technique": "swedish", "regions": "low_back"}]
    response = client_for(therapist).post(url("note_autosave", draft), typed(draft, rows, subjective=SECRET))
    answer = response.json()
    assert response.status_code == 200 and answer["state"] == "kept"
    assert answer["message"].startswith("Kept at ") and "not saved as the note yet" in answer["message"]
    assert [p["field"] for p in answer["problems"]] == ["t-0-minutes"]
    kept = fresh(draft)
    # Kept on the server (a version more), not written as the note: the note itself is unchanged.
    assert kept.typed["form"]["t-0-technique"] == ["swedish"]
    assert kept.typed["form"]["subjective"] == [SECRET]
    assert kept.version == answer["version"] == draft.version + 1
    assert kept.subjective == "" and not kept.techniques.exists()
    # The audit trail says what happened, never the text.
    event = AuditEvent.objects.filter(record_id=draft.public_id, detail="kept as typed, not yet checked").get()
    assert SECRET not in str(event.detail)


def test_a_form_that_does_not_read_is_kept_too(client_for, therapist, draft):
    answer = client_for(therapist).post(url("note_autosave", draft), typed(draft, pain_now="eleven")).json()
    assert answer["state"] == "kept"
    assert [p["field"] for p in answer["problems"]] == ["pain_now"]
    assert fresh(draft).typed["form"]["pain_now"] == ["eleven"]


def test_finishing_what_is_marked_saves_the_note_and_drops_what_was_kept(client_for, therapist, draft):
    client = client_for(therapist)
    rows = [{"technique": "swedish", "regions": "low_back"}]
    client.post(url("note_autosave", draft), typed(draft, rows))
    rows[0]["minutes"] = "25"
    answer = client.post(url("note_autosave", draft), typed(fresh(draft), rows)).json()
    assert answer["state"] == "saved"
    saved = fresh(draft)
    assert saved.typed == {} and saved.techniques.get().minutes == 25


def test_an_older_page_never_overwrites_a_newer_save(client_for, therapist, draft):
    client = client_for(therapist)
    old = typed(draft, subjective="From the tablet")
    client.post(url("note_autosave", draft), typed(draft, subjective="From the desk"))
    response = client.post(url("note_autosave", draft), old)
    assert response.status_code == 409
    answer = response.json()
    assert answer["state"] == "conflict" and "another tab or device" in answer["message"]
    assert fresh(draft).subjective == "From the desk" and fresh(draft).typed == {}


def test_an_older_page_is_not_kept_over_a_newer_save_either(client_for, therapist, draft):
    client = client_for(therapist)
    old = typed(draft, [{"technique": "swedish"}])
    client.post(url("note_autosave", draft), typed(draft, subjective="From the desk"))
    assert client.post(url("note_autosave", draft), old).status_code == 409
    assert fresh(draft).typed == {}


def test_a_signed_note_is_not_saved_over(client_for, therapist, draft):
    client = client_for(therapist)
    client.post(url("note_autosave", draft), typed(draft, subjective="Synthetic"))
    note = access.access_note(therapist, draft.public_id, audit_it=False)
    notes.do_sign_note(therapist, note, notes.check_sign_note(therapist, note))
    response = client.post(url("note_autosave", draft), typed(fresh(draft), subjective="Changed"))
    assert response.status_code == 422
    assert response.json()["state"] == "refused" and "addendum" in response.json()["message"]
    assert fresh(draft).subjective == "Synthetic"


# Coming back ------------------------------------------------------------------------------------


def test_what_was_kept_is_there_again_with_what_to_finish(client_for, therapist, draft):
    client = client_for(therapist)
    client.post(url("note_autosave", draft), typed(draft, [{"technique": "swedish"}], subjective=SECRET))
    # An automatic logoff, then a new sign-in: a new session on the same server.
    page = client_for(therapist).get(url("note_edit", draft)).content.decode()
    assert "Restored what you typed" in page
    assert SECRET in page
    assert '<option value="swedish" selected>' in page
    assert "Minutes" in page and "data-autosave-dirty" in page
    kept = fresh(draft)
    assert f'name="version" value="{kept.version}"' in page


def test_a_save_from_an_older_page_is_told_of_the_typing_kept_elsewhere(client_for, therapist, draft):
    client = client_for(therapist)
    opened = typed(draft, subjective="From the desk")  # the desk's page, before the tablet keeps
    client.post(url("note_autosave", draft), typed(draft, [{"technique": "swedish"}], subjective="From the tablet"))
    response = client.post(url("note_edit", draft), opened)
    page = response.content.decode()
    assert response.status_code == 409
    assert "Typing kept but not saved as the note" in page and "saving this page replaces it" in page
    assert fresh(draft).typed["form"]["subjective"] == ["From the tablet"]  # nothing lost yet


def test_a_signature_is_refused_when_typing_was_kept_meanwhile(therapist, draft):
    note = access.access_note(therapist, draft.public_id, audit_it=False)
    change = notes.check_update_note(therapist, note, {"subjective": "Synthetic"})
    saved = notes.do_update_note(therapist, note, change)
    signing = notes.check_sign_note(therapist, saved)
    # Another tab keeps typing between the check and the signature.
    SessionNote.objects.filter(pk=draft.pk).update(typed={"at": timezone.now().isoformat(), "form": {}})
    with pytest.raises(ValidationError) as caught:
        notes.do_sign_note(therapist, saved, signing)
    assert "not saved as the note yet" in caught.value.messages[0]
    assert fresh(draft).status == RecordStatus.DRAFT


def test_signing_is_refused_while_typing_is_kept_but_unchecked(client_for, therapist, draft):
    client = client_for(therapist)
    client.post(url("note_autosave", draft), typed(draft, [{"technique": "swedish"}], subjective="Synthetic"))
    note = access.access_note(therapist, draft.public_id, audit_it=False)
    with pytest.raises(ValidationError) as caught:
        notes.check_sign_note(therapist, note)
    assert "not saved as the note yet" in caught.value.messages[0]
    response = client.post(url("note_sign", draft), {"version": str(note.version)})
    assert response.url == url("note_edit", draft)
    assert fresh(draft).status == RecordStatus.DRAFT


def editor(**fields) -> dict[str, list[str]]:
    """The whole editor's form as check_keep_typed() takes it (name -> values)."""
    return {name: [value] for name, value in typed(SessionNote(version=1), **fields).items()}


def test_keeping_takes_only_the_editors_fields(therapist, draft):
    note = access.access_note(therapist, draft.public_id, audit_it=False)
    form = {
        **editor(),
        "subjective": ["Synthetic"],
        "t-0-technique": ["swedish"],
        "csrfmiddlewaretoken": ["x"],
        "version": ["3"],
        "is_admin": ["1"],
        "t-999-technique": ["swedish"],
    }
    kept = notes.check_keep_typed(therapist, note, form)
    assert "t-0-technique" in kept["form"] and kept["form"]["subjective"] == ["Synthetic"]
    assert not {"csrfmiddlewaretoken", "version", "is_admin", "t-999-technique"} & set(kept["form"])


def test_keeping_refuses_part_of_the_editor(client_for, therapist, draft):
    # Kept typing is shown instead of the note: a part of the form would blank the rest.
    response = client_for(therapist).post(url("note_autosave", draft), {"version": str(draft.version), "pain_now": "x"})
    assert response.status_code == 422 and "only part of the note" in response.json()["message"]
    note = access.access_note(therapist, draft.public_id, audit_it=False)
    with pytest.raises(ValidationError):
        notes.check_keep_typed(therapist, note, {**editor(), "t-count": ["999"]})
    assert fresh(draft).typed == {}


def test_keeping_refuses_more_than_a_note_can_hold(therapist, draft):
    note = access.access_note(therapist, draft.public_id, audit_it=False)
    with pytest.raises(ValidationError) as caught:
        notes.check_keep_typed(therapist, note, {**editor(), "subjective": ["x" * (notes.TYPED_MAX_CHARS + 1)]})
    assert "longer than a note can be" in caught.value.messages[0]


# Discarding -------------------------------------------------------------------------------------


def test_discard_asks_first_naming_what_would_be_lost(client_for, therapist, draft):
    client = client_for(therapist)
    rows = [{"technique": "swedish", "minutes": "20"}, {"technique": "heat", "minutes": "10"}]
    client.post(url("note_autosave", draft), typed(draft, rows, subjective=SECRET, pain_now="4"))
    page = client.get(url("note_discard", draft))
    text = page.content.decode()
    assert page.status_code == 200
    assert "2 technique rows (30 minutes)" in text
    lost = text[text.find('<ul class="lost">') :][:600]
    assert "the pain score" in text and "“Symptoms and changes since the last visit”" in text, lost
    assert SECRET not in text  # named, not shown
    assert SessionNote.objects.filter(pk=draft.pk).exists()
    response = client.post(url("note_discard", draft), {"version": str(fresh(draft).version)})
    assert response.url == reverse("clinical:episode_notes", args=[draft.episode.public_id])
    assert not SessionNote.objects.filter(pk=draft.pk).exists()


def test_discard_after_a_newer_save_discards_nothing(client_for, therapist, draft):
    client = client_for(therapist)
    version = draft.version
    client.post(url("note_autosave", draft), typed(draft, subjective="Synthetic"))
    response = client.post(url("note_discard", draft), {"version": str(version)})
    assert response.url == url("note_edit", draft)
    assert SessionNote.objects.filter(pk=draft.pk).exists()


def test_the_editor_has_no_one_click_discard(client_for, therapist, draft):
    page = client_for(therapist).get(url("note_edit", draft)).content.decode()
    assert f'href="{url("note_discard", draft)}"' in page
    assert f'action="{url("note_discard", draft)}"' not in page


# Refusals per role ------------------------------------------------------------------------------


def test_only_the_author_saves_or_discards_a_draft(client_for, colleague, draft):
    client = client_for(colleague)
    assert client.post(url("note_autosave", draft), typed(draft, subjective="Not mine")).status_code == 403
    assert client.post(url("note_autosave", draft), typed(draft, pain_now="eleven")).status_code == 403
    assert client.get(url("note_discard", draft)).status_code == 403
    assert fresh(draft).subjective == "" and fresh(draft).typed == {}
    assert AuditEvent.objects.filter(actor_username="colleague", outcome=AuditOutcome.DENIED).count() == 3


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_non_clinicians_never_save_or_discard_a_note(client_for, personas, draft, role):
    client = client_for(personas[role])
    responses = [
        client.post(url("note_autosave", draft), typed(draft, subjective=SECRET)),
        client.get(url("note_discard", draft)),
        client.post(url("note_discard", draft), {"version": str(draft.version)}),
    ]
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert all(SECRET not in r.content.decode() for r in responses)
    assert fresh(draft).subjective == "" and SessionNote.objects.filter(pk=draft.pk).exists()
    assert AuditEvent.objects.filter(actor_username=role, outcome=AuditOutcome.DENIED).count() == 3


def test_autosave_takes_posts_only(client_for, therapist, draft):
    assert client_for(therapist).get(url("note_autosave", draft)).status_code == 405


def test_a_save_refused_for_a_row_says_so_on_top_naming_the_rows(client_for, therapist, draft):
    rows = [{"technique": "swedish", "minutes": "20"}, {}, {"technique": "heat"}]
    response = client_for(therapist).post(url("note_edit", draft), typed(draft, rows))
    page = response.content.decode()
    assert "Not saved as the note yet: finish what is marked, then save again." in page
    assert "Technique rows to finish, marked below: row 3 (minutes)." in page
    assert not fresh(draft).techniques.exists()


def test_restoring_the_kept_typing_adds_no_blank_rows(client_for, therapist, draft):
    client = client_for(therapist)
    rows = [{"technique": "swedish"}, {}, {}, {}, {}]  # one row typed, the page's blank rows after it
    client.post(url("note_autosave", draft), typed(draft, rows))
    page = client.get(url("note_edit", draft)).content.decode()
    shown = re.findall(r'<tr class="technique-row[^"]*" data-row="\d+"', page)
    assert len(shown) == 3  # the typed row and two blank ones, as for any draft
