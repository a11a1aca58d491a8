"""Session notes (clinical/notes.py): starting a draft, screening overrides, total minutes,
author-only drafts, signing, addenda, templates and carry-forward.

The screening facts come from PRODUCT.md's table: DVT is absolute for massage (every
technique contraindicated), blood thinners are a precaution for deep work, a skin infection
rules out local work over it. Verdicts themselves are clinical/screening.py's.
"""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from effleura.clinical import access, note_rules, note_templates, notes, screening
from effleura.clinical.choices import RecordStatus
from effleura.clinical.models import Addendum, NoteTemplate, SessionNote
from effleura.core import clock
from effleura.core.choices import AuditOutcome, Role
from effleura.core.models import AuditEvent
from effleura.scheduling import actions as scheduling_actions
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment

# Fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def other_therapist(db, django_user_model):
    return django_user_model.objects.create_user(
        username="second_therapist", password="x", role=Role.THERAPIST, first_name="Second", last_name="Tester"
    )


@pytest.fixture
def past_appointment(owner, therapist, practice):
    """past_appointment(patient, minutes=60, hours_ago=2, status="booked") -> an appointment
    that has already started, made directly (the booking rules refuse the past)."""
    location, room, service = practice

    def make(patient, minutes=60, hours_ago=2, status=AppointmentStatus.BOOKED, **extra):
        start = timezone.now() - datetime.timedelta(hours=hours_ago)
        end = start + datetime.timedelta(minutes=minutes)
        return Appointment.objects.create(
            patient=patient, practitioner=therapist, service=service, location=location, room=room,
            duration_minutes=minutes, start=start, end=end, busy_until=end, status=status, created_by=owner, **extra,
        )  # fmt: skip

    return make


@pytest.fixture
def draft(therapist, episode):
    """A blank draft without an appointment, by the therapist, in ``episode``."""
    return notes.do_start_note(therapist, notes.check_start_note(therapist, episode=episode))


def row(technique="swedish", minutes=30, **fields):
    return {"technique": technique, "minutes": minutes, **fields}


def fresh(note):
    return access.access_note(note.author, note.public_id, audit_it=False)


def save(actor, note, **data):
    note = fresh(note)
    return notes.do_update_note(actor, note, notes.check_update_note(actor, note, data))


def sign(actor, note, **kwargs):
    note = fresh(note)
    return notes.do_sign_note(actor, note, notes.check_sign_note(actor, note, **kwargs))


def events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


# Starting a note ----------------------------------------------------------------------------


def test_a_note_for_an_appointment_goes_to_the_patients_only_open_episode(
    therapist, make_patient, open_episode, past_appointment
):
    patient = make_patient()
    episode = open_episode(patient)
    appointment = past_appointment(patient)
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment))
    assert note.episode == episode
    assert note.appointment == appointment
    assert note.author == therapist
    assert note.status == RecordStatus.DRAFT
    assert note.session_date == timezone.localtime(appointment.start, appointment.location.tz).date()
    assert events(record_type="session_note", action="create")[-1].patient_id == patient.public_id


def test_a_patient_with_several_open_episodes_must_have_one_chosen(
    therapist, make_patient, open_episode, past_appointment
):
    patient = make_patient()
    first, second = open_episode(patient, title="Neck (synthetic)"), open_episode(patient, title="Back (synthetic)")
    appointment = past_appointment(patient)
    with pytest.raises(notes.EpisodeChoiceNeeded) as refused:
        notes.check_start_note(therapist, appointment=appointment)
    assert set(refused.value.episodes) == {first, second}
    start = notes.check_start_note(therapist, appointment=appointment, episode=second)
    assert notes.do_start_note(therapist, start).episode == second


def test_a_patient_with_no_open_episode_is_refused_with_a_way_forward(therapist, make_patient, past_appointment):
    appointment = past_appointment(make_patient())
    with pytest.raises(notes.NoOpenEpisode) as refused:
        notes.check_start_note(therapist, appointment=appointment)
    assert "Open one first" in refused.value.message_dict["episode"][0]


def test_an_episode_of_another_patient_is_refused(therapist, make_patient, open_episode, past_appointment, episode):
    appointment = past_appointment(make_patient())
    with pytest.raises(ValidationError) as refused:
        notes.check_start_note(therapist, appointment=appointment, episode=episode)
    assert "another patient" in refused.value.message_dict["episode"][0]


@pytest.mark.parametrize("status", [AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW])
def test_no_note_for_a_cancelled_appointment_or_a_no_show(therapist, episode, past_appointment, status):
    appointment = past_appointment(episode.patient, status=status)
    with pytest.raises(ValidationError) as refused:
        notes.check_start_note(therapist, appointment=appointment)
    assert "no session to write up" in refused.value.message_dict["appointment"][0]


def test_an_appointment_has_one_note(therapist, owner, episode, past_appointment):
    appointment = past_appointment(episode.patient)
    first = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment))
    with pytest.raises(notes.NoteExists) as refused:
        notes.check_start_note(owner, appointment=appointment)
    assert refused.value.note == first


def test_a_bedside_note_needs_no_appointment(draft, episode):
    assert draft.appointment is None
    assert draft.episode == episode
    assert draft.session_date == timezone.localdate()


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_only_clinicians_start_notes(personas, episode, role):
    with pytest.raises(PermissionDenied):
        notes.check_start_note(personas[role], episode=episode)
    denied = events(outcome=AuditOutcome.DENIED)[-1]
    assert denied.actor_username == role
    assert denied.patient_id == episode.patient.public_id


# Screening: overrides -------------------------------------------------------------------------


@pytest.fixture
def dvt_draft(therapist, make_patient, add_history, open_episode):
    """A draft for a patient whose current health history ticks DVT."""
    patient = make_patient()
    add_history(patient, conditions=["dvt"])
    episode = open_episode(patient)
    return notes.do_start_note(therapist, notes.check_start_note(therapist, episode=episode))


@pytest.mark.parametrize("technique", ["swedish", "deep_tissue", "lymphatic_drainage", "effleurage"])
def test_dvt_refuses_any_massage_technique_without_a_reason(therapist, dvt_draft, technique):
    with pytest.raises(ValidationError) as refused:
        notes.check_update_note(therapist, dvt_draft, {"techniques": [row(technique)]})
    message = refused.value.message_dict["techniques.0.override_reason"][0]
    assert "contraindicated" in message
    assert "Deep vein thrombosis" in message
    assert not dvt_draft.techniques.exists()


def test_an_override_with_a_reason_is_kept_in_the_note_and_audited(therapist, dvt_draft):
    saved = save(
        therapist,
        dvt_draft,
        techniques=[row("swedish", override_reason="Physician's written clearance on file, clot resolved")],
    )
    assert saved.techniques.get().technique == "swedish"
    [override] = saved.overrides
    assert override["condition"] == "dvt"
    assert override["technique"] == "swedish"
    assert override["verdict"] == "contraindicated"
    assert override["reason"] == "Physician's written clearance on file, clot resolved"
    assert override["by"] == str(therapist.public_id)
    assert datetime.datetime.fromisoformat(override["at"])
    event = events(detail="override")[-1]
    assert event.action == "update"
    assert event.patient_id == dvt_draft.episode.patient.public_id
    assert event.record_id == str(dvt_draft.public_id)


def test_an_unchanged_override_is_not_audited_again(therapist, dvt_draft):
    save(therapist, dvt_draft, techniques=[row("swedish", override_reason="Cleared by the physician")])
    save(
        therapist,
        dvt_draft,
        subjective="Feels better",
        techniques=[row("swedish", override_reason="Cleared by the physician")],
    )
    save(therapist, dvt_draft, subjective="Feels much better")  # rows untouched: the override stays
    assert len(events(detail="override")) == 1
    assert SessionNote.objects.get(pk=dvt_draft.pk).overrides[0]["reason"] == "Cleared by the physician"


def test_a_changed_reason_is_a_new_override(therapist, dvt_draft):
    save(therapist, dvt_draft, techniques=[row("swedish", override_reason="Cleared by the physician")])
    saved = save(therapist, dvt_draft, techniques=[row("swedish", override_reason="Cleared, letter dated today")])
    assert [o["reason"] for o in saved.overrides] == ["Cleared, letter dated today"]
    assert len(events(detail="override")) == 2


def test_removing_the_technique_drops_its_override(therapist, dvt_draft):
    save(therapist, dvt_draft, techniques=[row("swedish", override_reason="Cleared by the physician")])
    saved = save(therapist, dvt_draft, techniques=[])
    assert saved.overrides == []
    assert saved.total_minutes == 0


def test_a_precaution_warns_but_needs_no_reason(therapist, make_patient, add_history, open_episode):
    """Blood thinners: a precaution for deep or forceful work (deep_tissue)."""
    patient = make_patient()
    add_history(patient, conditions=["anticoagulant"])
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, episode=open_episode(patient)))
    change = notes.check_update_note(therapist, note, {"techniques": [row("deep_tissue", pressure="moderate")]})
    assert change.overrides == []
    assert change.warnings and "blood thinners" in change.warnings[0].lower()
    saved = notes.do_update_note(therapist, note, change)
    assert saved.techniques.get().technique == "deep_tissue"


def test_a_blood_thinner_among_the_medications_is_screened_too(therapist, make_patient, add_history, open_episode):
    patient = make_patient()
    add_history(patient, medications=[{"name": "Anticoagulant (synthetic)", "blood_thinner": True}])
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, episode=open_episode(patient)))
    change = notes.check_update_note(therapist, note, {"techniques": [row("deep_tissue")]})
    assert any("blood thinners" in w.lower() for w in change.warnings)


@pytest.fixture
def infection_draft(therapist, make_patient, add_history, open_episode):
    """A skin infection (local) at the left shoulder, listed among the areas to avoid."""
    patient = make_patient()
    add_history(patient, conditions=["skin_infection"], areas_to_avoid=["shoulder_l"])
    return notes.do_start_note(therapist, notes.check_start_note(therapist, episode=open_episode(patient)))


def test_local_work_over_an_area_to_avoid_needs_a_reason(therapist, infection_draft):
    with pytest.raises(ValidationError) as refused:
        notes.check_update_note(therapist, infection_draft, {"techniques": [row(regions=["shoulder_l", "neck"])]})
    message = refused.value.message_dict["techniques.0.override_reason"][0]
    assert "Left shoulder" in message and "Skin infection" in message
    saved = save(
        therapist, infection_draft, techniques=[row(regions=["shoulder_l"], override_reason="Lesion healed, checked")]
    )
    assert saved.overrides[0]["verdict"] == "local"
    assert saved.overrides[0]["condition"] == "skin_infection"


def test_local_work_elsewhere_only_warns(therapist, infection_draft):
    change = notes.check_update_note(therapist, infection_draft, {"techniques": [row(regions=["low_back"])]})
    assert change.overrides == []
    assert any("Skin infection" in w for w in change.warnings)


def test_an_avoid_mark_on_the_body_chart_counts_as_an_area_to_avoid(therapist, make_patient, add_history, open_episode):
    patient = make_patient()
    add_history(patient, conditions=["recent_surgery"])
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, episode=open_episode(patient)))
    data = {
        "body_marks": [{"region": "knee_r", "symbol": "avoid", "intensity": 0}],
        "techniques": [row("deep_tissue", regions=["knee_r"])],
    }
    with pytest.raises(ValidationError) as refused:
        notes.check_update_note(therapist, note, data)
    assert "techniques.0.override_reason" in refused.value.message_dict


def test_a_patient_without_health_history_has_no_flags(therapist, draft):
    saved = save(therapist, draft, techniques=[row("deep_tissue")])
    assert saved.overrides == []


def test_signing_checks_the_overrides_against_the_history_as_it_stands_now(therapist, draft, add_history):
    save(therapist, draft, subjective="Synthetic session", techniques=[row("swedish")])
    add_history(draft.episode.patient, conditions=["fever"])  # fever: absolute while present
    with pytest.raises(ValidationError) as refused:
        notes.check_sign_note(therapist, SessionNote.objects.get(pk=draft.pk))
    assert "techniques.0.override_reason" in refused.value.message_dict


# Total minutes --------------------------------------------------------------------------------


def test_total_minutes_is_the_sum_of_the_rows(therapist, draft):
    saved = save(therapist, draft, techniques=[row("swedish", 20), row("trigger_point", 15), row("heat", 10)])
    assert saved.total_minutes == 45
    assert saved.techniques.count() == 3


def test_the_total_may_pass_the_appointment_by_fifteen_minutes_and_no_more(therapist, episode, past_appointment):
    appointment = past_appointment(episode.patient, minutes=30)
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment))
    assert save(therapist, note, techniques=[row("swedish", 30), row("heat", 15)]).total_minutes == 45
    with pytest.raises(ValidationError) as refused:
        notes.check_update_note(therapist, note, {"techniques": [row("swedish", 30), row("heat", 16)]})
    assert "46 minutes" in refused.value.message_dict["techniques"][0]
    assert "45 at most" in refused.value.message_dict["techniques"][0]


def test_an_interrupted_session_counts_the_minutes_delivered(therapist, episode, past_appointment):
    appointment = past_appointment(
        episode.patient, minutes=60, status=AppointmentStatus.INTERRUPTED, minutes_delivered=10
    )
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment))
    with pytest.raises(ValidationError) as refused:
        notes.check_update_note(therapist, note, {"techniques": [row("swedish", 30)]})
    assert "10 minutes delivered" in refused.value.message_dict["techniques"][0]


def test_a_note_without_appointment_charts_at_most_four_hours(therapist, draft):
    with pytest.raises(ValidationError) as refused:
        notes.check_update_note(therapist, draft, {"techniques": [row("swedish", 200), row("heat", 41)]})
    assert "241 minutes" in refused.value.message_dict["techniques"][0]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"minutes": 0}, "minutes", "from 1 to 240"),
        ({"minutes": 241}, "minutes", "from 1 to 240"),
        ({"minutes": "ten"}, "minutes", "whole number"),
        ({"minutes": None}, "minutes", "Give the minutes"),
        ({"technique": "reiki"}, "technique", "from the list"),
        ({"regions": ["tail"]}, "regions", "body regions"),
        ({"pressure": "crushing"}, "pressure", "Light"),
        ({"position": "upside_down"}, "position", "Prone"),
        ({"notes": "x" * 201}, "notes", "200"),
    ],
)
def test_a_bad_row_is_refused_beside_its_field(therapist, draft, fields, field, words):
    with pytest.raises(ValidationError) as refused:
        notes.check_update_note(therapist, draft, {"techniques": [row("swedish", 10), row(**fields)]})
    assert words in refused.value.message_dict[f"techniques.1.{field}"][0]


def test_pain_now_is_from_0_to_10(therapist, draft):
    with pytest.raises(ValidationError) as refused:
        notes.check_update_note(therapist, draft, {"pain_now": 11})
    assert "from 0 to 10" in refused.value.message_dict["pain_now"][0]
    assert save(therapist, draft, pain_now=0).pain_now == 0


def test_body_marks_are_checked_by_the_body_chart(therapist, draft):
    with pytest.raises(ValidationError) as refused:
        notes.check_update_note(
            therapist, draft, {"body_marks": [{"region": "neck", "symbol": "pain", "intensity": 12}]}
        )
    assert "body_marks" in refused.value.message_dict
    marks = [{"region": "neck", "symbol": "pain", "intensity": 6}]
    assert save(therapist, draft, body_marks=marks).body_marks == marks


# Author-only drafts ---------------------------------------------------------------------------


def test_only_the_author_edits_a_draft(other_therapist, owner, draft):
    for someone in (other_therapist, owner):
        with pytest.raises(PermissionDenied) as refused:
            notes.check_update_note(someone, draft, {"subjective": "Not mine"})
        assert "Only" in str(refused.value)
    denied = events(outcome=AuditOutcome.DENIED, record_type="session_note")
    assert [e.actor_username for e in denied] == ["second_therapist", "owner"]
    assert all(e.patient_id == draft.episode.patient.public_id for e in denied)


def test_only_the_author_signs_or_discards_a_draft(other_therapist, draft):
    with pytest.raises(PermissionDenied):
        notes.check_sign_note(other_therapist, draft)
    with pytest.raises(PermissionDenied):
        notes.check_discard_draft(other_therapist, draft)


def test_the_author_may_discard_a_draft(therapist, draft):
    notes.check_discard_draft(therapist, draft)
    notes.do_discard_draft(therapist, draft)
    assert not SessionNote.objects.filter(pk=draft.pk).exists()
    assert events(action="delete", record_type="session_note")[-1].detail == "draft discarded"


# Signing and addenda --------------------------------------------------------------------------


def test_an_empty_note_cannot_be_signed(therapist, draft):
    with pytest.raises(ValidationError) as refused:
        notes.check_sign_note(therapist, draft)
    assert "empty" in refused.value.messages[0]


def test_signing_locks_the_note(therapist, draft):
    save(therapist, draft, subjective="Synthetic: stiffness eased", techniques=[row("swedish", 30)])
    signed = sign(therapist, SessionNote.objects.get(pk=draft.pk))
    assert signed.status == RecordStatus.SIGNED
    assert signed.signed_at is not None
    assert events(record_type="session_note", detail="signed")
    for attempt in (
        lambda: notes.check_update_note(therapist, signed, {"subjective": "changed"}),
        lambda: notes.check_sign_note(therapist, signed),
        lambda: notes.check_discard_draft(therapist, signed),
    ):
        with pytest.raises(ValidationError) as refused:
            attempt()
        assert "signed and locked" in refused.value.messages[0]
    assert SessionNote.objects.get(pk=draft.pk).subjective == "Synthetic: stiffness eased"


def test_addenda_follow_signing_with_their_own_author_and_time(therapist, other_therapist, draft):
    with pytest.raises(ValidationError):
        notes.check_add_addendum(therapist, draft, "Too early")
    save(therapist, draft, assessment="Synthetic: improving")
    signed = sign(therapist, SessionNote.objects.get(pk=draft.pk))
    text = notes.check_add_addendum(other_therapist, signed, "  Patient called: soreness gone next day.  ")
    addendum = notes.do_add_addendum(other_therapist, signed, text)
    assert addendum.author == other_therapist
    assert addendum.text == "Patient called: soreness gone next day."
    assert addendum.at >= signed.signed_at
    assert events(record_type="session_note", detail="addendum")[-1].actor_username == "second_therapist"
    with pytest.raises(ValidationError):
        notes.check_add_addendum(therapist, signed, "   ")
    assert SessionNote.objects.get(pk=draft.pk).assessment == "Synthetic: improving"


def test_front_desk_may_not_add_an_addendum(front_desk, therapist, draft):
    save(therapist, draft, plan="Synthetic plan")
    signed = sign(therapist, SessionNote.objects.get(pk=draft.pk))
    with pytest.raises(PermissionDenied):
        notes.check_add_addendum(front_desk, signed, "Not allowed")
    assert not Addendum.objects.exists()


def test_signing_completes_the_appointment(therapist, episode, past_appointment):
    appointment = past_appointment(episode.patient)
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment))
    save(therapist, note, subjective="Synthetic", techniques=[row("swedish", 50)])
    sign(therapist, SessionNote.objects.get(pk=note.pk))
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED
    assert events(record_type="appointment", detail="status: booked → completed")


def test_signing_may_leave_the_appointment_as_it_is(therapist, episode, past_appointment):
    appointment = past_appointment(episode.patient, status=AppointmentStatus.CHECKED_IN)
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment))
    save(therapist, note, subjective="Synthetic")
    sign(therapist, SessionNote.objects.get(pk=note.pk), complete_appointment=False)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN


def test_an_interrupted_appointment_stays_interrupted(therapist, episode, past_appointment):
    appointment = past_appointment(episode.patient, status=AppointmentStatus.INTERRUPTED, minutes_delivered=20)
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment))
    save(therapist, note, subjective="Called away (synthetic)", techniques=[row("swedish", 20)])
    sign(therapist, SessionNote.objects.get(pk=note.pk))
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.INTERRUPTED


def test_a_note_is_signed_after_the_session_starts(therapist, episode, book):
    appointment = book(patient=episode.patient)  # next Monday
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment))
    save(therapist, note, subjective="Prepared ahead (synthetic)")
    with pytest.raises(ValidationError) as refused:
        notes.check_sign_note(therapist, SessionNote.objects.get(pk=note.pk))
    local = appointment.start.astimezone(appointment.location.tz)
    assert refused.value.messages[0] == (
        f"The session has not started yet: start it first, or sign the note from "
        f"10:00 on {local:%a} {local.day} {local:%b}."
    )


def start_session(actor, appointment, now=None):
    change = scheduling_actions.check_set_status(actor, appointment, AppointmentStatus.IN_SESSION, now=now)
    return scheduling_actions.do_set_status(actor, appointment, change, now=now)


def test_a_session_started_early_can_be_signed_at_once(therapist, episode, past_appointment):
    # The defect: "Start session" was accepted ahead of the visit, then signing was refused
    # until the booked start. Now the session's own start counts.
    appointment = past_appointment(episode.patient, hours_ago=-0.25)  # starts in 15 minutes
    appointment = start_session(therapist, appointment)
    assert appointment.session_started_at is not None
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment))
    save(therapist, note, subjective="Early start (synthetic)", techniques=[row("swedish", 40)])
    signed = sign(therapist, SessionNote.objects.get(pk=note.pk))
    assert signed.status == RecordStatus.SIGNED
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED


def test_a_session_cannot_be_started_before_the_start_window(therapist, episode, past_appointment):
    appointment = past_appointment(episode.patient, hours_ago=-3)  # starts in three hours
    opens = (appointment.start - datetime.timedelta(minutes=30)).astimezone(appointment.location.tz)
    with pytest.raises(ValidationError) as refused:
        start_session(therapist, appointment)
    when = f"{opens:%H:%M}" if opens.date() == timezone.now().astimezone(opens.tzinfo).date() else None
    message = refused.value.message_dict["status"][0]
    assert message.startswith(f"You can start this visit from {opens:%H:%M}")
    if when:
        assert message == f"You can start this visit from {when}."


def test_signing_waits_for_the_session_when_it_was_not_started(therapist, episode, past_appointment):
    appointment = past_appointment(episode.patient, hours_ago=-0.25)  # in the window, not started
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment))
    save(therapist, note, subjective="Synthetic")
    with pytest.raises(ValidationError, match="The session has not started yet: start it first"):
        notes.check_sign_note(therapist, SessionNote.objects.get(pk=note.pk))


def test_a_completed_visit_with_a_signed_note_cannot_be_undone(therapist, episode, past_appointment):
    appointment = past_appointment(episode.patient, hours_ago=0)
    appointment = start_session(therapist, appointment)
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment))
    save(therapist, note, subjective="Synthetic", techniques=[row("swedish", 40)])
    sign(therapist, SessionNote.objects.get(pk=note.pk))
    appointment.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        scheduling_actions.check_undo_status(therapist, appointment)
    assert "The session note for this visit is signed" in refused.value.messages[0]
    assert "addendum" in refused.value.messages[0]


def test_undoing_a_start_keeps_the_draft_and_signing_waits_again(therapist, episode, past_appointment):
    appointment = past_appointment(episode.patient, hours_ago=-0.25)
    appointment = start_session(therapist, appointment)
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment))
    save(therapist, note, subjective="Synthetic")
    undone = scheduling_actions.do_undo_status(
        therapist, appointment, scheduling_actions.check_undo_status(therapist, appointment)
    )
    assert (undone.status, undone.session_started_at) == (AppointmentStatus.BOOKED, None)
    assert SessionNote.objects.get(pk=note.pk).status == RecordStatus.DRAFT
    with pytest.raises(ValidationError, match="has not started yet"):
        notes.check_sign_note(therapist, SessionNote.objects.get(pk=note.pk))


# Templates and carry-forward ------------------------------------------------------------------


@pytest.fixture
def template(therapist, practice):
    _location, _room, service = practice
    clean = note_templates.check_save_template(
        therapist,
        {
            "service": service,
            "name": "Low back, 60 minutes",
            "subjective": "Pain since last visit:",
            "objective": "Palpation:",
            "techniques": [
                {"technique": "swedish", "minutes": 20, "regions": ["low_back"], "pressure": "moderate"},
                {"technique": "heat", "minutes": 10, "regions": ["low_back"]},
            ],
        },
    )
    return note_templates.do_save_template(therapist, clean)


def test_a_template_starts_a_draft_and_says_so(therapist, template, episode, past_appointment):
    appointment = past_appointment(episode.patient)
    start = notes.check_start_note(therapist, appointment=appointment, start="template", template=template)
    note = notes.do_start_note(therapist, start)
    assert note.subjective == "Pain since last visit:"
    assert [(t.technique, t.minutes, t.regions) for t in note.techniques.all()] == [
        ("swedish", 20, ["low_back"]),
        ("heat", 10, ["low_back"]),
    ]
    assert note.total_minutes == 30
    assert note.started_from == {"kind": "template", "id": str(template.public_id), "label": "Low back, 60 minutes"}


def test_a_template_is_validated_like_a_note(therapist, template, practice):
    _location, _room, service = practice
    with pytest.raises(ValidationError) as refused:
        note_templates.check_save_template(
            therapist,
            {"service": service, "name": "low back, 60 MINUTES", "techniques": [{"technique": "reiki", "minutes": 0}]},
        )
    errors = refused.value.message_dict
    assert "already has a template" in errors["name"][0]
    assert "techniques.0.technique" in errors and "techniques.0.minutes" in errors


def test_an_inactive_template_is_not_offered(therapist, template, episode):
    note_templates.do_save_template(
        therapist, note_templates.check_save_template(therapist, {"is_active": False}, template), template
    )
    assert note_templates.templates_for(template.service) == []
    with pytest.raises(ValidationError):
        notes.check_start_note(
            therapist, episode=episode, start="template", template=NoteTemplate.objects.get(pk=template.pk)
        )


def test_front_desk_may_not_write_templates(front_desk, practice):
    with pytest.raises(PermissionDenied):
        note_templates.check_save_template(front_desk, {"service": practice[2], "name": "No"})


def test_carry_forward_copies_the_last_signed_note_as_a_marked_draft(therapist, dvt_draft):
    save(
        therapist,
        dvt_draft,
        subjective="Synthetic: calf cramps",
        objective="Synthetic: tone raised",
        assessment="Synthetic: responding",
        plan="Synthetic: twice weekly",
        pain_now=6,
        techniques=[row("swedish", 25, regions=["low_back"], override_reason="Physician cleared (synthetic)")],
    )
    signed = sign(therapist, SessionNote.objects.get(pk=dvt_draft.pk))
    start = notes.check_start_note(therapist, episode=signed.episode, start="carry_forward")
    copy = notes.do_start_note(therapist, start)
    assert (copy.subjective, copy.objective, copy.assessment, copy.plan) == (
        "Synthetic: calf cramps",
        "Synthetic: tone raised",
        "Synthetic: responding",
        "Synthetic: twice weekly",
    )
    assert copy.pain_now is None  # asked again today
    assert [(t.technique, t.minutes, t.regions) for t in copy.techniques.all()] == [("swedish", 25, ["low_back"])]
    assert copy.started_from == {
        "kind": "carry_forward",
        "id": str(signed.public_id),
        "label": signed.session_date.isoformat(),
    }
    assert copy.overrides == []
    # The contraindicated technique needs today's reason before the draft is signed.
    save(therapist, copy, subjective="Synthetic: better")
    with pytest.raises(ValidationError) as refused:
        notes.check_sign_note(therapist, SessionNote.objects.get(pk=copy.pk))
    assert "techniques.0.override_reason" in refused.value.message_dict


def test_carry_forward_needs_a_signed_note(therapist, draft):
    with pytest.raises(ValidationError) as refused:
        notes.check_start_note(therapist, episode=draft.episode, start="carry_forward")
    assert "no signed note" in refused.value.message_dict["start"][0]


def test_a_discharged_episode_takes_no_new_notes(therapist, episode):
    episode.status = "discharged"
    episode.save()
    with pytest.raises(ValidationError) as refused:
        notes.check_start_note(therapist, episode=episode)
    assert "discharged" in refused.value.message_dict["episode"][0]


# Properties -----------------------------------------------------------------------------------


@given(
    booked=st.sampled_from([15, 30, 45, 60, 90]),
    minutes=st.lists(st.integers(min_value=1, max_value=240), max_size=6),
)
def test_the_total_is_refused_exactly_when_it_passes_the_booking_by_more_than_15(booked, minutes):
    appointment = Appointment(duration_minutes=booked, status=AppointmentStatus.COMPLETED)
    errors: dict = {}
    total = note_rules.check_total([{"minutes": m} for m in minutes], appointment, errors)
    assert total == sum(minutes)
    assert ("techniques" in errors) == (sum(minutes) > booked + note_rules.OVERRUN_MINUTES)


@given(technique=st.sampled_from(["swedish", "deep_tissue", "trigger_point", "myofascial_release", "neuromuscular",
                                  "lymphatic_drainage", "sports", "effleurage", "kneading", "compression",
                                  "friction", "tapotement"]))  # fmt: skip
def test_dvt_asks_a_reason_for_every_massage_technique_and_stroke(technique):
    found = note_rules.Screening(None, ["dvt"], screening.screen(["dvt"]), [])
    [need] = note_rules.row_screening(found, technique, []).requirements
    assert (need.condition, need.verdict) == ("dvt", "contraindicated")


# Starting from the plan in force ------------------------------------------------------------------


def planned(therapist, episode, **fields):
    from effleura.clinical import plans

    data = {
        "diagnosis_codes": ["M54.50"],
        "techniques": ["swedish", "myofascial_release", "trigger_point"],
        "modalities": ["heat"],
        "pressure_min": "moderate",
        "pressure_max": "firm",
        "sessions_per_week": 1,
        "weeks": 6,
        "session_minutes": 45,
        "goals": [{"description": "Pain from 7 to 3 when sitting", "measure": "nprs", "baseline": 7, "target": 3}],
        **fields,
    }
    return plans.do_create_plan(therapist, episode, plans.check_create_plan(therapist, episode, data))


@given(total=st.integers(min_value=1, max_value=240), parts=st.integers(min_value=1, max_value=12))
def test_the_visit_minutes_are_shared_evenly_in_whole_minutes(total, parts):
    shares = note_rules.split_minutes(total, parts)
    assert len(shares) == parts and min(shares) >= 1
    assert max(shares) - min(shares) <= 1
    assert sum(shares) == max(total, parts)  # every row gets a minute even when there are more rows than minutes
    assert shares == sorted(shares, reverse=True)  # the first rows take what is left over


def test_a_note_from_the_plan_lists_its_techniques_with_the_visits_minutes_regions_and_pressure(
    therapist, episode, past_appointment, add_history
):
    add_history(episode.patient, pain_areas=["low_back", "glutes", "hip_r"], areas_to_avoid=["hip_r"])
    plan = planned(therapist, episode)
    appointment = past_appointment(episode.patient, minutes=60)
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, appointment=appointment, start="plan"))
    rows = [(t.technique, t.minutes, t.regions, t.pressure) for t in note.techniques.order_by("id")]
    assert rows == [
        ("swedish", 15, ["low_back", "glutes"], "moderate"),
        ("myofascial_release", 15, ["low_back", "glutes"], "moderate"),
        ("trigger_point", 15, ["low_back", "glutes"], "moderate"),
        ("heat", 15, ["low_back", "glutes"], ""),  # a modality takes no pressure
    ]
    assert note.total_minutes == 60
    assert note.started_from == {
        "kind": "plan",
        "id": str(plan.public_id),
        "label": f"the plan of {clock.local_date(plan.created_at):%Y-%m-%d}",
    }


def test_a_note_from_the_plan_keeps_the_regions_the_last_note_treated(therapist, dvt_draft):
    save(therapist, dvt_draft, techniques=[row("swedish", 30, regions=["neck", "upper_back"],
                                               override_reason="Physician cleared (synthetic)")])  # fmt: skip
    signed = sign(therapist, SessionNote.objects.get(pk=dvt_draft.pk))
    planned(therapist, signed.episode, techniques=["swedish"], modalities=[])
    note = notes.do_start_note(therapist, notes.check_start_note(therapist, episode=signed.episode, start="plan"))
    assert [(t.technique, t.minutes, t.regions) for t in note.techniques.all()] == [
        ("swedish", 45, ["neck", "upper_back"])
    ]
    assert not note.overrides  # today's reason is asked again


def test_without_a_plan_in_force_a_note_cannot_start_from_it(therapist, episode):
    with pytest.raises(ValidationError) as refused:
        notes.check_start_note(therapist, episode=episode, start="plan")
    assert "no treatment plan in force" in refused.value.message_dict["start"][0]


def test_the_start_page_offers_the_plan_first(therapist, episode, client_for):
    planned(therapist, episode)
    page = client_for(therapist).get(reverse("clinical:note_new") + f"?episode={episode.public_id}").content.decode()
    assert 'value="plan" checked' in page and "its 4 techniques with regions and pressure, 45 minutes" in page
