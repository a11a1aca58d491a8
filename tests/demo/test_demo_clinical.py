"""The demo clinic's clinical records (clinical/demo.py): episodes of care at every stage,
with signed notes, measure histories that improve, home care and discharges, loaded
through the real actions by `effleura demo`."""

import itertools

import pytest
from django.utils import timezone

from effleura.clinical import knowledge, plans, scoring, screening
from effleura.clinical.choices import AssessmentKind, DischargeReason, EpisodeStatus, PlanStatus, RecordStatus
from effleura.clinical.models import (
    Addendum,
    Assessment,
    Episode,
    HomeCarePlan,
    OutcomeMeasurement,
    SessionNote,
    TechniqueEntry,
    TreatmentPlan,
)
from effleura.core.choices import AuditOutcome
from effleura.core.models import AuditEvent, User
from effleura.demo import clinical as demo
from effleura.demo import clinical_stories as stories
from effleura.demo import data as demo_data
from effleura.demo.scheduling import TZ
from effleura.patients.models import Patient
from effleura.scheduling.choices import AppointmentStatus


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """The whole demo clinic, loaded once for this module (and rolled back after)."""
    with django_db_blocker.unblock():
        from django.db import transaction

        with transaction.atomic():
            demo_data.load_demo()
            staff = {u.username: u for u in User.objects.filter(is_demo=True)}
            patients = list(Patient.objects.filter(is_demo=True).order_by("pk"))
            counts = (Episode.objects.count(), SessionNote.objects.count(), OutcomeMeasurement.objects.count())
            again = demo.load_clinical_demo(staff, patients)
            today = timezone.now().astimezone(TZ).date()
            yield {"again": again, "counts": counts, "today": today}
            transaction.set_rollback(True)


@pytest.fixture
def demo_db(loaded, db):
    return loaded


def _episodes(**filters) -> list[Episode]:
    return list(Episode.objects.filter(**filters).select_related("patient", "therapist").order_by("id"))


def _mid_course() -> list[Episode]:
    return [e for e in _episodes(status=EpisodeStatus.OPEN) if e.notes.exists()]


# The stages -----------------------------------------------------------------------------------


def test_it_opens_about_fifteen_episodes_for_patients_with_a_health_history(demo_db):
    found = _episodes()
    patients = {e.patient_id for e in found}
    assert 14 <= len(found) <= 20 and len(patients) >= 13
    assert all(e.patient.health_histories.exists() and e.patient.is_demo for e in found)
    assert {e.therapist.username for e in found} <= {"owner", "therapist", "therapist2", "therapist3"}


def test_a_just_opened_episode_has_only_a_draft_initial_assessment(demo_db):
    opened = [e for e in _episodes(status=EpisodeStatus.OPEN) if not e.plans.exists()]
    assert len(opened) >= 2
    for episode in opened:
        assessments = list(episode.assessments.all())
        assert [(a.kind, a.status) for a in assessments] == [(AssessmentKind.INITIAL, RecordStatus.DRAFT)]
        assert assessments[0].rom and assessments[0].body_marks
        assert not episode.notes.exists() and not episode.measurements.exists()


def test_an_assessed_episode_has_a_plan_with_measurable_goals_and_baselines_but_no_notes_yet(demo_db):
    planned = [e for e in _episodes(status=EpisodeStatus.OPEN) if e.plans.exists() and not e.notes.exists()]
    assert len(planned) >= 2
    for episode in planned:
        assert episode.assessments.get().status == RecordStatus.SIGNED
        plan = episode.plans.get()
        assert plan.status == PlanStatus.ACTIVE and plan.diagnosis_codes and plan.techniques
        measures = {g.measure.split(":")[0] for g in plan.goals.all()}
        assert {"nprs", "rom"} <= measures
        assert measures & {"odi", "ndi", "quickdash", "lefs", "psfs"}
        assert {m.measure for m in episode.measurements.all()} == measures - {"rom", ""}


def test_every_plan_goal_names_a_measure_the_knowledge_base_knows(demo_db):
    for plan in TreatmentPlan.objects.prefetch_related("goals"):
        goals = list(plan.goals.all())
        assert any(g.measure.startswith("rom:") for g in goals)
        for goal in goals:
            if goal.measure.startswith("rom:"):
                assert plans.parse_rom_measure(goal.measure) is not None, goal.measure
            elif goal.measure:
                assert goal.measure in scoring.SPECS
            assert goal.target_date >= plan.episode.opened_on


def test_mid_course_episodes_have_four_to_eight_signed_notes_a_reassessment_and_home_care(demo_db):
    mid_course = _mid_course()
    assert len(mid_course) >= 5
    for episode in mid_course:
        assert 4 <= episode.notes.count() <= demo.MAX_NOTES
        assert not episode.notes.exclude(status=RecordStatus.SIGNED).exists()
        kinds = [a.kind for a in episode.assessments.order_by("assessed_on", "id")]
        assert kinds == [AssessmentKind.INITIAL, AssessmentKind.REPEAT]
        items = HomeCarePlan.objects.get(episode=episode).items.all()
        assert 3 <= len(items) <= 5
        assert {i.item for i in items} <= {s.key for s in knowledge.selfcare()}


def test_two_episodes_are_discharged_one_with_goals_met_one_at_a_plateau(demo_db):
    discharged = _episodes(status=EpisodeStatus.DISCHARGED)
    reasons = {e.discharge.reason: e.discharge for e in discharged}
    assert set(reasons) == {DischargeReason.GOALS_MET, DischargeReason.PLATEAU}
    met, plateau = reasons[DischargeReason.GOALS_MET], reasons[DischargeReason.PLATEAU]
    assert all(g["status"] == "met" for g in met.goals)
    assert any(g["status"] == "not_met" for g in plateau.goals)
    for record in (met, plateau):
        assert record.summary and record.outcomes
        assert all(o["count"] >= 3 and o["direction"] == "better" for o in record.outcomes)
        assert not TreatmentPlan.objects.filter(episode=record.episode, status=PlanStatus.ACTIVE).exists()
    assert all(o["mcid_reached"] for o in met.outcomes)


def test_the_patient_discharged_at_a_plateau_is_back_with_a_new_episode(demo_db):
    plateau = Episode.objects.get(discharge__reason=DischargeReason.PLATEAU)
    newer = Episode.objects.filter(patient=plateau.patient, status=EpisodeStatus.OPEN).get()
    assert newer.opened_on > plateau.discharge.discharged_on


# Notes -----------------------------------------------------------------------------------------


def test_notes_chart_techniques_regions_pressure_position_and_minutes(demo_db):
    keys = set(knowledge.technique_keys())
    for note in SessionNote.objects.prefetch_related("techniques"):
        rows = list(note.techniques.all())
        assert rows and {r.technique for r in rows} <= keys
        assert all(r.regions and r.position and r.minutes >= 1 for r in rows)
        assert note.total_minutes == sum(r.minutes for r in rows)
        assert note.subjective and note.objective and note.assessment and note.plan
        assert note.body_marks and note.pain_now is not None and note.signed_at is not None
    pressures = set(TechniqueEntry.objects.values_list("pressure", flat=True))
    assert {"light", "moderate", "firm"} <= pressures


def test_pain_now_goes_down_over_each_course(demo_db):
    for episode in _episodes():
        pain = list(episode.notes.order_by("session_date", "id").values_list("pain_now", flat=True))
        if pain:
            assert all(a >= b for a, b in itertools.pairwise(pain)), pain
            assert pain[-1] < pain[0]


def test_notes_document_the_patients_completed_demo_appointments(demo_db):
    linked = list(SessionNote.objects.filter(appointment__isnull=False).select_related("appointment", "episode"))
    assert len(linked) >= 5
    for note in linked:
        appointment = note.appointment
        assert appointment.patient_id == note.episode.patient_id
        assert appointment.status == AppointmentStatus.COMPLETED
        assert note.session_date == appointment.start.astimezone(TZ).date()
        assert note.signed_at >= appointment.end
        assert note.author_id == appointment.practitioner_id
    assert SessionNote.objects.filter(appointment__isnull=True).exists()  # visits before the demo calendar


def test_one_note_has_an_addendum_after_it_was_signed(demo_db):
    addendum = Addendum.objects.select_related("note").get()
    assert addendum.note.status == RecordStatus.SIGNED and addendum.at > addendum.note.signed_at


def test_a_contraindication_override_carries_its_reason_and_is_audited(demo_db):
    overridden = [n for n in SessionNote.objects.select_related("episode__patient") if n.overrides]
    assert overridden
    for note in overridden:
        history = note.episode.patient.health_histories.order_by("-version").first()
        for override in note.overrides:
            assert override["reason"] and override["verdict"] in ("local", "contraindicated")
            assert override["condition"] in history.screening_conditions
            assert screening.verdict([override["condition"]], override["technique"]) == override["verdict"]
            assert override["technique"] in {t.technique for t in note.techniques.all()}
        assert AuditEvent.objects.filter(record_id=str(note.public_id), detail="override").exists()


# Measures ---------------------------------------------------------------------------------------


def test_measures_are_repeated_three_to_five_times_and_improve(demo_db):
    for episode in _mid_course() + _episodes(status=EpisodeStatus.DISCHARGED):
        by_measure: dict[str, list[OutcomeMeasurement]] = {}
        for m in episode.measurements.order_by("taken_on", "id"):
            by_measure.setdefault(m.measure, []).append(m)
        assert "nprs" in by_measure and len(by_measure) >= 2
        for key, taken in by_measure.items():
            assert 3 <= len(taken) <= 5, (episode.title, key)
            moved = scoring.change(key, taken[0].score, taken[-1].score)
            assert moved.direction == "better", (episode.title, key)
            # Each score is what the stored answers score to, recorded with a note of the day.
            for m in taken:
                assert scoring.score(key, m.answers).value == m.score
                assert m.note is not None and m.note.session_date == m.taken_on


def test_most_functional_measures_reach_their_mcid_in_a_course(demo_db):
    reached = []
    for m in OutcomeMeasurement.objects.exclude(measure="nprs").values_list("episode", "measure").distinct():
        scores = list(
            OutcomeMeasurement.objects.filter(episode_id=m[0], measure=m[1])
            .order_by("taken_on", "id")
            .values_list("score", flat=True)
        )
        if len(scores) >= 3:
            reached.append(scoring.change(m[1], scores[0], scores[-1]).reaches_mcid)
    assert sum(reached) >= len(reached) // 2


@pytest.mark.parametrize("measure", ["odi", "ndi", "quickdash", "lefs"])
def test_answers_are_built_to_hit_the_target_score(measure):
    spec = scoring.SPECS[measure]
    weights = [0.5 + (i % 4) / 3 for i in range(spec.max_items)]
    for target in range(int(spec.score_min), int(spec.score_max) + 1, 2):
        answers = stories.answers_for(measure, target, weights)
        assert len(answers) == spec.max_items
        assert abs(scoring.score(measure, answers).value - target) <= 2.5, (measure, target)


def test_answers_for_psfs_and_nprs_rate_each_activity():
    assert scoring.score("psfs", stories.answers_for("psfs", (3.4, 5.6, 7.0), None)).value == 5.3
    assert stories.answers_for("nprs", 6.4, None) == [6]


def test_allocate_shares_a_total_within_bounds():
    assert sorted(stories.allocate(8, [1, 1, 2], 0, 5)) == [2, 2, 4]
    values = stories.allocate(37, [1.4, 0.6, 1.0, 1.2, 0.8, 1.1, 0.9, 1.3, 0.7, 1.0], 0, 5)
    assert sum(values) == 37 and all(0 <= v <= 5 for v in values)
    with pytest.raises(ValueError):
        stories.allocate(60, [1] * 10, 0, 5)


# Dates, audit, loading again -------------------------------------------------------------------------


def test_every_record_is_dated_in_the_past_and_after_its_episode_opened(demo_db):
    today = demo_db["today"]
    for episode in _episodes():
        opened = episode.opened_on
        assert opened < today
        dated = [a.assessed_on for a in episode.assessments.all()]
        dated += [n.session_date for n in episode.notes.all()]
        dated += [m.taken_on for m in episode.measurements.all()]
        if episode.status == EpisodeStatus.DISCHARGED:
            dated.append(episode.discharge.discharged_on)
            assert all(d <= episode.discharge.discharged_on for d in dated)
        assert all(opened <= d < today for d in dated), episode.title
        assert all(n.signed_at < timezone.now() for n in episode.notes.all())


def test_the_clinical_demo_is_written_through_audited_actions_by_clinicians(demo_db):
    clinical = ["episode", "assessment", "treatment_plan", "goal", "session_note", "outcome_measurement"]
    events = AuditEvent.objects.filter(record_type__in=[*clinical, "home_care_plan"])
    assert events.count() >= Episode.objects.count() + SessionNote.objects.count() + OutcomeMeasurement.objects.count()
    assert not events.exclude(outcome=AuditOutcome.ALLOWED).exists()
    assert {e.actor_role for e in events} <= {"owner", "therapist"}
    assert (
        Assessment.objects.filter(status=RecordStatus.SIGNED).count()
        == events.filter(record_type="assessment", detail="signed").count()
    )


def test_loading_again_changes_nothing(demo_db):
    again = demo_db["again"]
    assert again.created is False
    assert (Episode.objects.count(), SessionNote.objects.count(), OutcomeMeasurement.objects.count()) == demo_db[
        "counts"
    ]


def test_every_service_of_the_demo_has_a_note_template_a_note_can_start_from(demo_db):
    from effleura.clinical import note_templates, notes
    from effleura.scheduling.models import Service

    for service in Service.objects.filter(is_active=True):
        found = note_templates.templates_for(service)
        assert found, f"{service.name} has no note template"
        assert all(t.techniques for t in found)
    therapist = User.objects.get(username="therapist")
    episode = Episode.objects.filter(status=EpisodeStatus.OPEN, therapist=therapist).first()
    template = note_templates.templates_for(Service.objects.get(name="Clinical massage"))[0]
    start = notes.check_start_note(therapist, episode=episode, start="template", template=template)
    assert start.template == template
