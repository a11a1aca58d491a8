"""Assessments (clinical/assessments.py): structured findings validated against the
knowledge base in plain words, range of motion beside its normal range, one initial
assessment per episode, a draft only its author changes, signing locks it, and every
read, write and refusal audited with the patient's id."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from effleura.clinical import access, assessments
from effleura.clinical.choices import AssessmentKind, RecordStatus
from effleura.clinical.models import Assessment
from effleura.core.choices import AuditAction, AuditOutcome, Role
from effleura.core.models import AuditEvent

pytestmark = pytest.mark.django_db

NECK_ROTATION = {"joint": "cervical spine", "movement": "rotation", "side": "left", "degrees": 45, "pain": True}


@pytest.fixture
def other_therapist(django_user_model):
    return django_user_model.objects.create_user(
        username="second_therapist", password="x-correct-horse-9", role=Role.THERAPIST, first_name="Second"
    )


@pytest.fixture
def draft(therapist, episode):
    """A draft initial assessment by the therapist persona."""

    def make(actor=therapist, **data):
        clean = assessments.check_create_assessment(actor, episode, data)
        return assessments.do_create_assessment(actor, episode, clean)

    return make


def _errors(exc: ValidationError) -> dict:
    return {field: " ".join(messages) for field, messages in exc.message_dict.items()}


def _refused(episode, actor, **data) -> dict:
    with pytest.raises(ValidationError) as refused:
        assessments.check_create_assessment(actor, episode, data)
    return _errors(refused.value)


# A full assessment ---------------------------------------------------------------------------


def test_it_saves_every_kind_of_finding_as_structured_data(therapist, episode, draft):
    assessment = draft(
        posture=[
            {"finding": "forward_head", "side": "", "note": ""},
            {"finding": "shoulder_elevation", "side": "right", "note": "about 1 cm"},
        ],
        rom=[NECK_ROTATION, {"joint": "lumbar spine", "movement": "flexion", "side": "", "degrees": 70}],
        tone=[{"region": "neck", "finding": "hypertonic", "note": "upper trapezius"}],
        palpation="Ropy bands both sides of the neck.",
        body_marks=[{"region": "neck", "symbol": "pain", "intensity": 6}],
        special_tests=[{"test": "spurling", "side": "left", "result": "positive", "note": ""}],
        functional_limitations="Can't check the blind spot when driving.",
        clinical_impression="Mechanical neck pain with a left-sided radicular picture.",
    )
    assessment.refresh_from_db()
    assert assessment.status == RecordStatus.DRAFT
    assert assessment.kind == AssessmentKind.INITIAL
    assert assessment.author == therapist
    assert assessment.posture[1] == {"finding": "shoulder_elevation", "side": "right", "note": "about 1 cm"}
    assert assessment.rom[0] == NECK_ROTATION
    assert assessment.rom[1] == {
        "joint": "lumbar spine",
        "movement": "flexion",
        "side": "",
        "degrees": 70,
        "pain": False,
    }
    assert assessment.tone == [{"region": "neck", "finding": "hypertonic", "side": "", "note": "upper trapezius"}]
    assert assessment.body_marks == [{"region": "neck", "symbol": "pain", "intensity": 6}]
    assert assessment.special_tests == [{"test": "spurling", "side": "left", "result": "positive", "note": ""}]
    event = AuditEvent.objects.get(record_type="assessment", action=AuditAction.CREATE)
    assert event.patient_id == episode.patient.public_id
    assert event.record_id == str(assessment.public_id)
    # Clinical values stay out of the audit trail.
    assert "neck" not in event.detail.lower()


def test_an_empty_draft_is_fine(draft):
    assessment = draft()
    assert assessment.posture == assessment.rom == assessment.body_marks == []
    assert assessment.assessed_on == timezone.localdate()


# Range of motion ------------------------------------------------------------------------------


def test_it_shows_the_normal_range_beside_each_reading_and_flags_below_normal():
    rows = assessments.rom_rows(
        [
            {**NECK_ROTATION, "degrees": 45},  # normal 60–80
            {**NECK_ROTATION, "side": "right", "degrees": 70},
            {"joint": "knee", "movement": "extension", "side": "left", "degrees": 0, "pain": False},  # normal 0
        ]
    )
    assert [(r.label, r.side, r.degrees, r.normal, r.below_normal) for r in rows] == [
        ("Neck rotation", "Left", 45, "60–80°", True),
        ("Neck rotation", "Right", 70, "60–80°", False),
        ("Knee extension", "Left", 0, "0°", False),
    ]


def test_it_compares_a_reading_with_the_previous_assessment():
    rows = assessments.rom_rows([{**NECK_ROTATION, "degrees": 65}], previous=[{**NECK_ROTATION, "degrees": 45}])
    assert rows[0].previous == 45


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ({**NECK_ROTATION, "degrees": 361}, "Neck rotation: give the degrees as a whole number from 0 to 360"),
        ({**NECK_ROTATION, "degrees": -5}, "from 0 to 360"),
        ({**NECK_ROTATION, "degrees": 12.5}, "from 0 to 360"),
        ({**NECK_ROTATION, "degrees": None}, "from 0 to 360"),
        ({**NECK_ROTATION, "degrees": 200}, "Neck rotation of 200° is beyond what the joint can do (normal 60–80°)"),
        ({**NECK_ROTATION, "side": ""}, "Neck rotation: say which side (left or right)"),
        ({**NECK_ROTATION, "side": "both"}, "say which side (left or right)"),
        ({**NECK_ROTATION, "movement": "twirl"}, "Range of motion 1: choose a joint and movement from the list"),
        (
            {"joint": "lumbar spine", "movement": "flexion", "side": "left", "degrees": 60},
            "Low-back flexion has no side; leave the side empty",
        ),
        ({**NECK_ROTATION, "pain": "very"}, "say yes or no for pain"),
        ({**NECK_ROTATION, "colour": "red"}, "unknown field(s): colour"),
    ],
)
def test_it_refuses_an_implausible_or_unknown_movement_in_plain_words(therapist, episode, row, words):
    assert words in _refused(episode, therapist, rom=[row])["rom"]


def test_it_allows_a_hypermobile_reading_a_little_past_normal(draft):
    assessment = draft(rom=[{**NECK_ROTATION, "degrees": 105}])  # 80 + 30
    assert assessment.rom[0]["degrees"] == 105


def test_it_refuses_the_same_movement_twice_on_one_side(therapist, episode):
    errors = _refused(episode, therapist, rom=[NECK_ROTATION, {**NECK_ROTATION, "degrees": 50}])
    assert "Neck rotation (left) is measured twice" in errors["rom"]


# Posture, tone, special tests, body marks: unknown keys --------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"posture": [{"finding": "slouchy"}]}, "posture", "Posture finding 1: choose a finding from the list"),
        ({"posture": [{"finding": "shoulder_elevation"}]}, "posture", "Shoulder elevation: say which side"),
        ({"posture": [{"finding": "forward_head", "side": "left"}]}, "posture", "Forward head posture has no side"),
        ({"tone": [{"region": "tail", "finding": "spasm"}]}, "tone", "choose the region from the list"),
        ({"tone": [{"region": "neck", "finding": "grumpy"}]}, "tone", "(neck): choose a finding from the list"),
        ({"special_tests": [{"test": "vibes", "result": "positive"}]}, "special_tests", "choose a test from the list"),
        (
            {"special_tests": [{"test": "spurling", "side": "left", "result": "maybe"}]},
            "special_tests",
            "Spurling's test: say whether it was positive or negative",
        ),
        (
            {"body_marks": [{"region": "neck", "symbol": "pain", "intensity": 12}]},
            "body_marks",
            "give an intensity from 0 to 10",
        ),
        ({"posture": "forward head"}, "posture", "Give posture findings as a list"),
        ({"palpation": "a\x00b"}, "palpation", "NUL"),
        ({"clinical_impression": "x" * 10_001}, "clinical_impression", "Keep this under 10,000 characters"),
        ({"kind": "final"}, "kind", "Choose initial assessment or re-assessment"),
    ],
)
def test_it_refuses_unknown_keys_and_bad_values_by_field(therapist, episode, data, field, words):
    errors = _refused(episode, therapist, **data)
    assert words in errors[field]


def test_it_refuses_an_unknown_field(therapist, episode):
    with pytest.raises(ValidationError, match="Unknown field"):
        assessments.check_create_assessment(therapist, episode, {"diagnosis": "M54.2"})


@pytest.mark.parametrize(
    ("day", "words"),
    [
        (datetime.timedelta(days=1), "can’t be dated in the future"),
        (datetime.timedelta(days=-400), "date the assessment on or after it"),
    ],
)
def test_it_refuses_a_date_outside_the_episode(therapist, episode, day, words):
    assert words in _refused(episode, therapist, assessed_on=timezone.localdate() + day)["assessed_on"]


# Initial and repeat ---------------------------------------------------------------------------


def test_an_episode_has_one_initial_assessment_then_re_assessments(therapist, episode, draft):
    draft()
    errors = _refused(episode, therapist, kind="initial")
    assert "already has an initial assessment; record a re-assessment" in errors["kind"]
    repeat = draft(kind="repeat")
    assert repeat.kind == AssessmentKind.REPEAT


def test_a_discharged_episode_takes_no_new_assessment(therapist, episode):
    episode.status = "discharged"
    episode.save()
    with pytest.raises(ValidationError, match="was discharged"):
        assessments.check_create_assessment(therapist, episode, {})


# Draft, author, signed -------------------------------------------------------------------------


def test_the_author_changes_only_the_fields_sent(therapist, draft):
    assessment = draft(palpation="Tight.", clinical_impression="First thoughts.")
    clean = assessments.check_update_assessment(therapist, assessment, {"clinical_impression": "Second thoughts."})
    updated = assessments.do_update_assessment(therapist, assessment, clean)
    assert (updated.palpation, updated.clinical_impression) == ("Tight.", "Second thoughts.")
    event = AuditEvent.objects.filter(record_type="assessment", action=AuditAction.UPDATE).latest("id")
    assert event.detail == "changed: clinical_impression"
    assert event.patient_id == assessment.episode.patient.public_id


@pytest.mark.parametrize("who", ["other_therapist", "owner"])
def test_only_the_author_changes_or_signs_a_draft(request, draft, who):
    someone = request.getfixturevalue(who)
    assessment = draft(clinical_impression="Mine.")
    with pytest.raises(PermissionDenied, match="Only Therapist Tester, LMT, who started this draft, can change it"):
        assessments.check_update_assessment(someone, assessment, {"palpation": "Theirs."})
    with pytest.raises(PermissionDenied, match="can sign it"):
        assessments.check_sign_assessment(someone, assessment)
    denied = AuditEvent.objects.filter(actor_id=someone.pk, outcome=AuditOutcome.DENIED, record_type="assessment")
    assert denied.count() == 2
    assert {e.patient_id for e in denied} == {assessment.episode.patient.public_id}
    assessment.refresh_from_db()
    assert assessment.palpation == ""


def test_signing_needs_a_clinical_impression(therapist, draft):
    assessment = draft()
    with pytest.raises(ValidationError) as refused:
        assessments.check_sign_assessment(therapist, assessment)
    assert "Write the clinical impression before signing" in _errors(refused.value)["clinical_impression"]


def test_a_signed_assessment_is_locked(therapist, draft):
    assessment = draft(clinical_impression="Done.")
    assessments.check_sign_assessment(therapist, assessment)
    signed = assessments.do_sign_assessment(therapist, assessment)
    assert signed.status == RecordStatus.SIGNED and signed.signed_at is not None
    assert AuditEvent.objects.filter(record_type="assessment", detail="signed").count() == 1
    with pytest.raises(ValidationError, match="is locked; record what has changed in a re-assessment"):
        assessments.check_update_assessment(therapist, signed, {"palpation": "Later."})
    with pytest.raises(ValidationError, match="is locked"):
        assessments.check_sign_assessment(therapist, signed)


def test_a_draft_signed_meanwhile_is_not_overwritten(therapist, draft):
    assessment = draft(clinical_impression="Done.")
    clean = assessments.check_update_assessment(therapist, assessment, {"palpation": "Late edit."})
    assessments.do_sign_assessment(therapist, Assessment.objects.get(pk=assessment.pk))
    with pytest.raises(ValidationError, match="is locked"):
        assessments.do_update_assessment(therapist, assessment, clean)
    assert Assessment.objects.get(pk=assessment.pk).palpation == ""


# Reading --------------------------------------------------------------------------------------


def test_reading_an_assessment_is_audited_with_the_patient(therapist, draft):
    assessment = draft()
    found = access.access_assessment(therapist, assessment.public_id)
    assert found == assessment
    event = AuditEvent.objects.filter(action=AuditAction.READ, record_id=str(assessment.public_id)).get()
    assert event.patient_id == assessment.episode.patient.public_id


@pytest.mark.parametrize("who", ["front_desk", "billing", "outsider"])
def test_non_clinicians_never_read_or_write_an_assessment(request, episode, draft, who):
    someone = request.getfixturevalue(who)
    assessment = draft()
    with pytest.raises(PermissionDenied):
        access.access_assessment(someone, assessment.public_id)
    with pytest.raises(PermissionDenied):
        assessments.check_create_assessment(someone, episode, {})
    with pytest.raises(PermissionDenied):
        assessments.check_update_assessment(someone, assessment, {})
    assert AuditEvent.objects.filter(actor_id=someone.pk, outcome=AuditOutcome.DENIED).count() == 3


def test_a_second_initial_assessment_is_refused_with_the_other_problems_at_once(therapist, episode, draft):
    draft()
    errors = _refused(episode, therapist, kind="initial", clinical_impression="x" * 10_001)
    assert "already has an initial assessment" in errors["kind"]
    assert "Keep this under 10,000 characters" in errors["clinical_impression"]
