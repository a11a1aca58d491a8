"""The only way a view, API call or task fetches clinical records. Each function asks the
permission table (core.access.authorize) and writes the audit event, allowed or denied,
with the patient's id so the patient's access log shows every look at their record."""

from django.db.models import Prefetch
from django.http import Http404

from effleura.clinical import homecare, measures
from effleura.clinical.choices import RecordStatus
from effleura.clinical.client_screening import current_history
from effleura.clinical.models import (
    Assessment,
    Discharge,
    Episode,
    Goal,
    NoteTemplate,
    OutcomeMeasurement,
    SessionNote,
    TreatmentPlan,
)
from effleura.core.access import access_one, allowed, authorize
from effleura.core.values import as_uuid
from effleura.patients.models import Patient


def access_patient_clinical(user, patient_id, *, key: str = "clinical.view") -> Patient:
    """The patient ``patient_id`` if ``user`` may use their clinical record under ``key``.

    A refusal is audited before anything is looked up, so a front-desk or billing user
    learns nothing (not even whether the patient exists)."""
    patient_id = as_uuid(patient_id, "patient")
    authorize(user, key, patient_id=patient_id, record_id=patient_id)
    patient = Patient.objects.filter(public_id=patient_id).first()
    if patient is None:
        raise Http404("No such patient.")
    allowed(user, key, patient_id=patient_id, record_id=patient_id)
    return patient


def access_episode(user, episode_id, *, key: str = "clinical.view") -> Episode:
    """The episode ``episode_id`` (with its patient and therapist) if ``user`` may use it
    under ``key``: "clinical.view" to read, "clinical.write" to change. One query plus
    the audit insert. A refused user gets PermissionDenied whether or not it exists."""
    episode_id = as_uuid(episode_id, "episode")
    episode = Episode.objects.select_related("patient", "therapist").filter(public_id=episode_id).first()
    # Refused before saying whether it exists; the refusal names the patient (their access log).
    authorize(user, key, patient_id=episode.patient.public_id if episode else None, record_id=episode_id)
    if episode is None:
        raise Http404("No such episode.")
    allowed(user, key, patient_id=episode.patient.public_id, record_id=episode_id)
    return episode


def episodes_for(user, patient: Patient) -> list[Episode]:
    """The patient's episodes, newest first (patient already accessed): one query."""
    authorize(user, "clinical.view", patient_id=patient.public_id)
    return list(Episode.objects.filter(patient=patient).select_related("therapist").order_by("-opened_on", "-id"))


def access_plan(user, plan_id, *, key: str = "clinical.view") -> TreatmentPlan:
    """The treatment plan ``plan_id`` (with its episode, patient and series) if ``user``
    may use it under ``key``. One query plus the audit insert."""
    plan_id = as_uuid(plan_id, "treatment plan")
    plan = (
        TreatmentPlan.objects.select_related("episode__patient", "episode__therapist", "series")
        .filter(public_id=plan_id)
        .first()
    )
    authorize(user, key, patient_id=plan.episode.patient.public_id if plan else None, record_id=plan_id)
    if plan is None:
        raise Http404("No such treatment plan.")
    allowed(user, key, patient_id=plan.episode.patient.public_id, record_id=plan_id)
    return plan


def access_goal(user, goal_id, *, key: str = "clinical.view") -> Goal:
    """The goal ``goal_id`` (with its plan, episode and patient) if ``user`` may use it."""
    goal_id = as_uuid(goal_id, "goal")
    goal = Goal.objects.select_related("plan__episode__patient").filter(public_id=goal_id).first()
    authorize(user, key, patient_id=goal.plan.episode.patient.public_id if goal else None, record_id=goal_id)
    if goal is None:
        raise Http404("No such goal.")
    allowed(user, key, patient_id=goal.plan.episode.patient.public_id, record_id=goal_id)
    return goal


def episode_plans(episode: Episode) -> list[TreatmentPlan]:
    """Every plan of an episode (episode already accessed), newest first, with goals:
    two queries."""
    return list(
        TreatmentPlan.objects.filter(episode=episode)
        .select_related("created_by", "series")
        .prefetch_related("goals")
        .order_by("-created_at", "-id")
    )


def episodes_with_plans(user, patient: Patient) -> list[Episode]:
    """The patient's episodes (patient already accessed), newest first, each with
    ``plan_list`` (newest first, goals prefetched) and its discharge: four queries
    whatever the number of episodes, plans and goals."""
    authorize(user, "clinical.view", patient_id=patient.public_id)
    plans = Prefetch(
        "plans",
        queryset=TreatmentPlan.objects.prefetch_related("goals").order_by("-created_at", "-id"),
        to_attr="plan_list",
    )
    return list(
        Episode.objects.filter(patient=patient)
        .select_related("therapist", "discharge")
        .prefetch_related(plans)
        .order_by("-opened_on", "-id")
    )


def current_conditions(patient: Patient) -> list[str]:
    """The screening condition keys of the current health history (ticked plus implied);
    empty without a history. One query."""
    history = current_history(patient)
    return history.screening_conditions if history is not None else []


def episode_measurements(episode: Episode) -> list[OutcomeMeasurement]:
    """The outcome measurements of an episode that count (episode already accessed; none
    taken at a draft note: measures.signed_only), oldest first."""
    found = measures.signed_only(OutcomeMeasurement.objects.filter(episode=episode))
    return list(found.order_by("taken_on", "created_at", "id"))


def episode_discharge(episode: Episode) -> Discharge:
    """The discharge of a discharged episode (episode already accessed); Http404 if none."""
    record = Discharge.objects.select_related("discharged_by").filter(episode=episode).first()
    if record is None:
        raise Http404("This episode has not been discharged.")
    return record


# Home care (clinical/homecare.py assembles and writes it) -------------------------------------


def access_homecare(user, episode_id, *, key: str = "clinical.view") -> homecare.HomeCare:
    """The episode's home-care plan (an empty one when none was made yet)."""
    return homecare.home_care_of(access_episode(user, episode_id, key=key))


def access_homecare_handout(user, episode_id) -> homecare.HomeCare:
    """The plan for printing: needs clinical.print, and the print is audited as such."""
    episode_id = as_uuid(episode_id, "episode")
    authorize(user, "clinical.print", record_id=episode_id)
    episode = Episode.objects.select_related("patient").filter(public_id=episode_id).first()
    if episode is None:
        raise Http404("No such episode.")
    allowed(
        user, "clinical.print", patient_id=episode.patient.public_id, record_id=episode_id, detail="home-care handout"
    )
    return homecare.home_care_of(episode)


# Outcome measures (clinical/measures.py scores and writes them) --------------------------------


def access_measurements(user, episode_id) -> tuple[Episode, list[OutcomeMeasurement]]:
    """The episode and its measurements, oldest first, each with ``draft`` (taken at a note
    not signed yet: listed as a draft, never plotted): two queries and the audit insert."""
    episode = access_episode(user, episode_id)
    measurements = list(
        OutcomeMeasurement.objects.filter(episode=episode)
        .select_related("recorded_by", "note")
        .order_by("taken_on", "id")
    )
    for m in measurements:
        m.episode = episode  # the one just accessed: no query per row
        m.draft = measures.is_draft(m)
    return episode, measurements


def access_measurement(user, episode_id, measurement_id) -> tuple[Episode, OutcomeMeasurement]:
    measurement_id = as_uuid(measurement_id, "measurement")
    episode = access_episode(user, episode_id)
    measurement = (
        OutcomeMeasurement.objects.filter(episode=episode, public_id=measurement_id)
        .select_related("recorded_by", "note")
        .first()
    )
    if measurement is None:
        raise Http404("No such measurement.")
    measurement.episode = episode
    measurement.draft = measures.is_draft(measurement)
    return episode, measurement


def access_progress(user, episode_id) -> tuple[Episode, list[OutcomeMeasurement], list[measures.Progress]]:
    """The episode, all its measurements (drafts labelled) and one Progress per chart from
    signed data only (no measurement taken at a draft note, pain from signed notes): a
    bounded number of queries (episode, measurements, notes' pain, the plan's goals)."""
    episode, measurements = access_measurements(user, episode_id)
    pain_notes = list(
        SessionNote.objects.filter(episode=episode, status=RecordStatus.SIGNED, pain_now__isnull=False)
        .order_by("session_date", "id")
        .values_list("session_date", "pain_now")
    )
    counted = [m for m in measurements if not m.draft]
    return episode, measurements, measures.progress(counted, pain_notes, measures.episode_goals(episode))


def episode_note(episode: Episode, note_id) -> SessionNote | None:
    """The session note ``note_id`` of ``episode`` (already accessed), or None: one query."""
    return SessionNote.objects.filter(episode=episode, public_id=note_id).first()


def measurement_notes(measurements: list[OutcomeMeasurement]) -> None:
    """Attach to each measurement the session note it was taken at (the measurements were
    read through an access_* function, which audited them): one query for any number."""
    note_ids = {m.note_id for m in measurements if m.note_id}
    notes = {n.pk: n for n in SessionNote.objects.filter(pk__in=note_ids)} if note_ids else {}
    for m in measurements:
        if m.note_id:
            m.note = notes.get(m.note_id)


# Episodes and plans for the API -------------------------------------------------------------


def access_patient_episodes(user, patient_id) -> tuple[Patient, list[Episode]]:
    """The patient and their episodes of care, newest first, each with its therapist and
    discharge, if ``user`` may read the clinical record (audited for the patient). Two
    queries and the audit insert."""
    patient = access_patient_clinical(user, patient_id)
    episodes = list(
        Episode.objects.filter(patient=patient).select_related("therapist", "discharge").order_by("-opened_on", "-id")
    )
    for e in episodes:
        e.patient = patient
    return patient, episodes


def episode_plan(episode: Episode, plan_pk: int) -> TreatmentPlan:
    """One plan of ``episode`` (already accessed: e.g. the plan just written), with what
    episode_plans() loads: two queries."""
    return (
        TreatmentPlan.objects.filter(episode=episode, pk=plan_pk)
        .select_related("created_by", "series")
        .prefetch_related("goals")
        .get()
    )


def appointment_note(appointment) -> SessionNote | None:
    """The session note written for ``appointment`` (already accessed), if any: one query."""
    return SessionNote.objects.filter(appointment=appointment).first()


# Session notes ----------------------------------------------------------------------------------


def note_query():
    """Session notes with their episode, patient, therapist, author and appointment."""
    return SessionNote.objects.select_related(
        "episode__patient", "episode__therapist", "author", "appointment__service", "appointment__location"
    )


def access_note(user, note_id, *, key: str = "clinical.view", audit_it: bool = True) -> SessionNote:
    """The note ``note_id`` (its public id) with its episode, patient, author and
    appointment, if ``user`` may use it under ``key``. One query plus the audit insert.
    A refusal is audited before anything is looked up."""
    return access_one(
        user, key, note_query(), note_id, "note", patient_of=lambda n: n.episode.patient, audit_it=audit_it
    )


def access_episode_notes(user, episode_id) -> tuple[Episode, list[SessionNote]]:
    """The episode and its notes, newest first: two queries plus the audit insert."""
    episode = access_episode(user, episode_id)
    notes = list(
        SessionNote.objects.filter(episode=episode)
        .select_related("author", "appointment__service", "appointment__location")
        .order_by("-session_date", "-id")
    )
    return episode, notes


def access_note_templates(user) -> list[NoteTemplate]:
    authorize(user, "clinical.view")
    return list(NoteTemplate.objects.select_related("service").order_by("service__name", "name"))


def access_note_template(user, template_id, *, key: str = "clinical.view") -> NoteTemplate:
    template_id = as_uuid(template_id, "note template")
    authorize(user, key, record_id=template_id)
    template = NoteTemplate.objects.select_related("service").filter(public_id=template_id).first()
    if template is None:
        raise Http404("No such note template.")
    return template


# Assessments --------------------------------------------------------------------------------------


def assessment_query():
    """Assessments with their episode, patient, therapist and author."""
    return Assessment.objects.select_related("episode__patient", "episode__therapist", "author")


def access_assessment(user, assessment_id, *, key: str = "clinical.view", audit_it: bool = True) -> Assessment:
    """The assessment ``assessment_id`` (its public id) with its episode, patient and
    author, if ``user`` may use it under ``key``. One query plus the audit insert. A
    refusal is audited before anything is looked up, so it tells nothing."""
    return access_one(
        user, key, assessment_query(), assessment_id, "assessment",
        patient_of=lambda a: a.episode.patient, audit_it=audit_it,
    )  # fmt: skip


def access_episode_assessments(user, episode_id) -> tuple[Episode, list[Assessment]]:
    """The episode and its assessments, newest first: two queries plus the audit insert."""
    episode = access_episode(user, episode_id)
    found = list(Assessment.objects.filter(episode=episode).select_related("author").order_by("-assessed_on", "-id"))
    for assessment in found:
        assessment.episode = episode  # already fetched: no query per row
    return episode, found
