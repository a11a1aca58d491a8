"""The demo clinic's clinical records: episodes of care at every stage, for fifteen of the
demo patients who have a health history.

* just opened: an initial assessment still in draft, nothing else;
* assessed, with a plan: a signed initial assessment, a treatment plan with measurable
  goals (pain, a functional measure, a range of motion) and the baseline measures;
* mid-course: four to eight signed SOAP notes (linked to the patient's completed demo
  appointments where there are some, earlier visits without one), technique rows,
  pain going down, body-chart marks, outcome measures repeated three to five times with
  improving scores (so the progress charts show real curves), a re-assessment and a
  home-care plan; one note carries an addendum and one a contraindication override with
  its reason (a local one: work near a recent hip replacement the surgeon cleared);
* discharged: one episode whose goals were met, one that reached a plateau, with their
  outcomes frozen.

The stories themselves (who, what was found, what was done, the note text, how the scores
move) are data: demo/clinical.yaml, read into Story records by demo/clinical_stories.py,
which also holds the pure arithmetic that spreads a story over its visits.

Called once by effleura.demo.data.load_demo() inside its transaction, after the
scheduling demo (demo/scheduling.py), whose completed appointments the notes document.
Everything goes through the same check_*/do_* actions the screens use, acting as the
therapist who would do it, with dates in the past passed where an action takes one.
Three actions take no date and stamp the present: an assessment's signed_at, a plan's
created_at and a home-care plan's updated_at; the dates a person reads (assessed_on,
session_date, taken_on, discharged_on, a note's signed_at) are in the past.

Which patient gets which story follows the demo's scenarios (demo/scenarios.py: the same
seed gives the same patients); the appointments come from the scheduling demo, which is
built around today, so the notes fit whatever visits it made. A fixed seed makes every
load the same for a given day. Answers to the questionnaires are built to hit each
visit's target score and scored by clinical/scoring.py through the measure action.
"""

import datetime
import random
from collections import Counter
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from effleura.clinical import (
    assessments,
    discharge,
    episodes,
    homecare,
    knowledge,
    measures,
    note_templates,
    notes,
    plans,
    scoring,
)
from effleura.clinical.choices import AssessmentKind, GoalDirection, GoalStatus
from effleura.clinical.models import Episode, OutcomeMeasurement, SessionNote
from effleura.core.choices import Role
from effleura.demo.clinical_stories import (
    NOTE_TEMPLATES,
    STEADY,
    STORIES,
    Measure,
    Story,
    answers_for,
    at,
    between,
    eased,
    note_minutes,
    rom_key,
    rom_label,
    spread_days,
)
from effleura.demo.scenarios import scenario_of
from effleura.demo.scheduling import HOSPITAL, TZ
from effleura.patients.choices import ConsentKind
from effleura.patients.models import HealthHistory, PatientConsent
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment, Service

SEED = 2026
# A visit booked as manual lymphatic drainage is documented only by a story that gives it.
MLD_SERVICE = "Manual lymphatic drainage"
MLD = "lymphatic_drainage"
OPENED, PLANNED, MID_COURSE, DISCHARGED = "opened", "planned", "mid_course", "discharged"
MAX_NOTES = 8


@dataclass(frozen=True)
class ClinicalDemo:
    created: bool  # False when episodes were already there and nothing was written
    episodes: int
    notes: int
    measurements: int


# Loading -------------------------------------------------------------------------------------


@dataclass
class _Visit:
    day: datetime.date
    appointment: Appointment | None
    author: object
    note: SessionNote | None = None


class _Loader:
    """Tells the stories: who, when, and each record through its action. Reads the demo's
    patients, consents and appointments once up front."""

    def __init__(self, staff: dict, patients: list, today: datetime.date):
        self.staff = staff
        self.today = today
        self.yesterday = today - datetime.timedelta(days=1)
        self.real_now = timezone.now()
        self.counts = Counter()
        self.patients = patients
        by_pk = {p.pk: p for p in patients}
        self.scenario_of = self._scenarios(by_pk)
        self.consented = self._consented(by_pk)
        self.completed: dict[int, list[Appointment]] = {}
        self.busy: dict[int, set] = {}
        appointments = (
            Appointment.objects.filter(patient_id__in=by_pk)
            .select_related("service", "location", "practitioner")
            .order_by("start")
        )
        for a in appointments:
            day = a.start.astimezone(TZ).date()
            self.busy.setdefault(a.patient_id, set()).add(day)
            if a.status == AppointmentStatus.COMPLETED and day < today:
                self.completed.setdefault(a.patient_id, []).append(a)
        self.modality_keys = {t.key for t in knowledge.modalities()}
        self.chosen: dict[str, object] = {}

    @staticmethod
    def _scenarios(by_pk: dict) -> dict[int, str]:
        """The demo scenario of each patient with a history, read from its first version."""
        return scenario_of(list(by_pk))

    @staticmethod
    def _consented(by_pk: dict) -> set[int]:
        """Patients whose newest treatment consent stands (a withdrawal means no treatment)."""
        newest = {}
        consents = PatientConsent.objects.filter(
            patient_id__in=by_pk, document_version__document__kind=ConsentKind.TREATMENT
        ).order_by("signed_at", "id")
        for consent in consents:
            newest[consent.patient_id] = consent
        return {pk for pk, consent in newest.items() if consent.withdrawn_at is None}

    def patient_for(self, story: Story):
        """The first patient of the story's scenario and status who consents to treatment and
        is in no other story; one whose completed visits the story can document, if any."""
        if story.same_patient_as:
            return self.chosen.get(story.same_patient_as)
        used = {p.pk for p in self.chosen.values()}
        candidates = [
            p
            for p in sorted(self.patients, key=lambda p: p.chart_number)
            if p.pk not in used
            and self.scenario_of.get(p.pk) == story.scenario
            and p.status == story.status
            and p.pk in self.consented
        ]
        fitting = [p for p in candidates if all(self.fits(story, a) for a in self.completed.get(p.pk, []))]
        return (fitting or candidates or [None])[0]

    @staticmethod
    def fits(story: Story, appointment: Appointment) -> bool:
        """Whether the story's notes can document this visit (an MLD booking needs MLD)."""
        return appointment.service.name != MLD_SERVICE or MLD in story.techniques

    def linked_visits(self, story: Story, patient, opened: datetime.date) -> list[Appointment]:
        """The completed visits the notes document: after the episode opened, one a day (the
        demo calendar sometimes has two), those the story fits, the latest few."""
        found, days = [], set()
        for a in self.completed.get(patient.pk, []):
            day = a.start.astimezone(TZ).date()
            if day > opened and day not in days and self.fits(story, a):
                found.append(a)
                days.add(day)
        return found[-(story.notes - 2) :]

    def therapist_for(self, patient, visits: list[Appointment]):
        """Who holds the episode: whoever the patient saw most, else whoever took the history."""
        if visits:
            return Counter(a.practitioner for a in visits).most_common(1)[0][0]
        history = HealthHistory.objects.filter(patient=patient).order_by("-version").first()
        if history is not None and history.recorded_by.role in (Role.OWNER, Role.THERAPIST):
            return history.recorded_by
        return self.staff["therapist"]

    # One story ------------------------------------------------------------------------------

    def run(self, story: Story) -> None:
        """Open the story's episode and take it as far as its stage: assessment, plan and
        baselines; then the visits; then the discharge."""
        patient = self.patient_for(story)
        if patient is None:
            return  # the demo's patients changed: tell this story to nobody rather than fail
        self.chosen[story.key] = patient
        visits = [a for a in self.completed.get(patient.pk, []) if self.fits(story, a)]
        if story.stage in (OPENED, PLANNED):
            last = visits[-1] if visits else None
            day = last.start.astimezone(TZ).date() if last else self.today - datetime.timedelta(days=2)
            if story.same_patient_as:
                day = max(day, self.today - datetime.timedelta(days=3))
            therapist = last.practitioner if last else self.therapist_for(patient, [])
            episode = self.open_episode(story, patient, therapist, day)
            self.assess(story, episode, therapist, day, sign=story.stage == PLANNED)
            if story.stage == PLANNED:
                self.plan(story, episode, therapist)
                self.measure_baseline(story, episode, therapist, day)
            return
        opened = self.today - datetime.timedelta(weeks=story.weeks_ago)
        if opened.weekday() == 6:
            opened -= datetime.timedelta(days=1)
        if story.stage == DISCHARGED:
            ends = opened + datetime.timedelta(weeks=story.course_weeks)
            linked = []
        else:
            ends = self.yesterday
            linked = self.linked_visits(story, patient, opened)
        therapist = self.therapist_for(patient, linked)
        episode = self.open_episode(story, patient, therapist, opened)
        self.assess(story, episode, therapist, opened, sign=True)
        plan = self.plan(story, episode, therapist)
        until = linked[0].start.astimezone(TZ).date() - datetime.timedelta(days=2) if linked else ends
        unlinked = spread_days(opened, until, story.notes - len(linked), self.busy.get(patient.pk, set()))
        schedule = [_Visit(day, None, therapist) for day in unlinked]
        schedule += [_Visit(a.start.astimezone(TZ).date(), a, a.practitioner) for a in linked]
        self.course(story, episode, therapist, plan, schedule)
        if story.stage == DISCHARGED:
            self.discharge(story, episode, therapist, schedule[-1].day)

    def open_episode(self, story: Story, patient, therapist, day: datetime.date) -> Episode:
        data = {"title": story.title, "therapist": therapist, "opened_on": day}
        episode = episodes.do_open_episode(therapist, patient, episodes.check_open_episode(therapist, patient, data))
        self.counts["episodes"] += 1
        return episode

    def assess(self, story: Story, episode: Episode, author, day, *, sign: bool, **repeat):
        """The initial assessment (signed or a draft), or with ``repeat`` (degrees, impression)
        a signed re-assessment: the goal's range of motion measured again."""
        kind = AssessmentKind.REPEAT if repeat else AssessmentKind.INITIAL
        degrees = repeat.get("degrees")
        impression = repeat.get("impression", "")
        rom = story.rom
        readings = [(rom.joint, rom.movement, rom.side, rom.baseline if degrees is None else degrees)]
        readings += list(story.rom_rows)
        data = {
            "kind": kind,
            "assessed_on": day,
            "posture": list(story.posture),
            "rom": [
                {"joint": j, "movement": m, "side": s, "degrees": d, "pain": kind == AssessmentKind.INITIAL}
                for j, m, s, d in readings
            ],
            "tone": list(story.tone),
            "special_tests": list(story.tests),
            "body_marks": [{"region": r, "symbol": s, "intensity": i} for r, s, i in story.marks],
            "palpation": story.palpation,
            "functional_limitations": story.limitations,
            "clinical_impression": impression or (story.impression if sign else ""),
        }
        if kind == AssessmentKind.REPEAT:
            data["body_marks"] = []
        clean = assessments.check_create_assessment(author, episode, data)
        assessment = assessments.do_create_assessment(author, episode, clean)
        if sign:
            assessments.check_sign_assessment(author, assessment)
            assessment = assessments.do_sign_assessment(author, assessment)
        return assessment

    def goals(self, story: Story, episode: Episode) -> list[dict]:
        target_date = episode.opened_on + datetime.timedelta(weeks=story.plan_weeks)
        goals = []
        for m in story.measures:
            baseline = self.score(m.key, m.baseline, self.weights(story, m))
            spec = scoring.SPECS[m.key]
            unit = "/10" if m.key in ("nprs", "psfs") else spec.unit
            if m.key == "nprs":
                words = f"Pain from {baseline:g} to {m.target:g} out of 10"
            elif m.key == "psfs":
                words = f"Chosen activities (PSFS) from {baseline:g} to {m.target:g} out of 10"
            else:
                better = "under" if spec.direction == "lower_better" else "at least"
                words = f"{spec.name} from {baseline:g}{unit} to {better} {m.target:g}{unit}"
            goals.append(self._goal(words, m.key, baseline, m.target, target_date))
        rom = story.rom
        words = f"{rom_label(rom)} from {rom.baseline}° to {rom.target}°"
        goals.append(self._goal(words, rom_key(rom), rom.baseline, rom.target, target_date))
        if story.judged_goal:
            goals.append({"description": story.judged_goal, "target_date": target_date})
        return goals

    @staticmethod
    def _goal(description, key, baseline, target, target_date) -> dict:
        direction = plans.measure_direction(key) or GoalDirection.DECREASE
        return {
            "description": description,
            "measure": key,
            "baseline": baseline,
            "target": target,
            "direction": direction,
            "target_date": target_date,
        }

    def plan(self, story: Story, episode: Episode, author):
        data = {
            "diagnosis_codes": list(story.codes),
            "goals": self.goals(story, episode),
            "techniques": list(story.techniques),
            "modalities": list(story.modalities),
            "pressure_min": story.pressure[0],
            "pressure_max": story.pressure[1],
            "sessions_per_week": story.per_week,
            "weeks": story.plan_weeks,
            "session_minutes": story.minutes,
            "home_care_summary": story.home_care_summary,
            "reassess_on": episode.opened_on + datetime.timedelta(weeks=4),
        }
        return plans.do_create_plan(author, episode, plans.check_create_plan(author, episode, data))

    def weights(self, story: Story, m: Measure) -> list[float]:
        """Per-item weights, the same for every administration of a story's questionnaire, so
        the answers move together as the score falls or rises."""
        rng = random.Random(f"{SEED}-{story.key}-{m.key}")
        items = scoring.SPECS[m.key].max_items
        return [rng.uniform(0.5, 1.5) for _ in range(items)]

    @staticmethod
    def score(measure: str, value, weights) -> float:
        return scoring.score(measure, answers_for(measure, value, weights)).value

    def record(self, story: Story, episode: Episode, author, m: Measure, value, day, note=None):
        data = {
            "measure": m.key,
            "answers": answers_for(m.key, value, self.weights(story, m)),
            "labels": list(m.labels),
            "taken_on": day,
            "note": note,
        }
        measures.do_record_measure(author, episode, measures.check_record_measure(author, episode, data))
        self.counts["measurements"] += 1

    def measure_baseline(self, story: Story, episode: Episode, author, day) -> None:
        for m in story.measures:
            self.record(story, episode, author, m, m.baseline, day)

    def course(self, story: Story, episode: Episode, therapist, plan, schedule: list[_Visit]) -> None:
        """The visits of a course in order: notes, measures on some of them, the home-care
        plan at the second, the re-assessment two thirds in, goal statuses as they move."""
        n = len(schedule)
        nprs = next((m for m in story.measures if m.key == "nprs"), None)
        first_pain = nprs.baseline if nprs else 5
        measured = {round(i * (n - 1) / max(story.measurements - 1, 1)) for i in range(story.measurements)}
        reassess_at = n - 1 if story.stage == DISCHARGED else max(1, round(0.65 * (n - 1)))
        for i, visit in enumerate(schedule):
            share = eased(i / max(n - 1, 1), story.curve)
            pain = round(between(first_pain, nprs.current, share)) if nprs else None
            visit.note = self.note(story, episode, visit, i, n, pain, first_pain)
            if i == 1 and story.home_care:
                self.home_care(story, episode, visit.author)
            if i in measured:
                for m in story.measures:
                    value = pain if m.key == "nprs" else between(m.baseline, m.current, share)
                    self.record(story, episode, visit.author, m, value, visit.day, visit.note)
            if i == 1 and story.addendum:
                self.addendum(story, visit)
            if i == reassess_at:
                self.reassess(story, episode, therapist, plan, visit.day, share)

    def note(self, story: Story, episode: Episode, visit: _Visit, i: int, n: int, pain, first_pain) -> SessionNote:
        author, appointment = visit.author, visit.appointment
        start = notes.Start.CARRY_FORWARD if i else notes.Start.BLANK
        begun = notes.check_start_note(author, appointment=appointment, episode=episode, start=start)
        note = notes.do_start_note(author, begun)
        bedside = appointment is not None and appointment.location.name == HOSPITAL
        if appointment is not None:
            total = appointment.duration_minutes - (5 if appointment.duration_minutes > 30 else 0)
            signed = appointment.end + datetime.timedelta(minutes=20)
        else:
            total = story.minutes - 5
            signed = at(visit.day, 17, 30)
        rows = [r for r in story.rows if not (bedside and r.technique in self.modality_keys)]
        phase = min(2, 3 * i // n)
        techniques = []
        for row, minutes in note_minutes(tuple(rows), total):
            entry = {
                "technique": row.technique,
                "minutes": minutes,
                "regions": list(row.regions),
                "pressure": (row.late if row.late and i >= n // 2 else row.pressure),
                "position": "semi_reclined" if bedside else row.position,
                "notes": row.notes,
            }
            if row.override:
                entry["override_reason"] = row.override
            techniques.append(entry)
        marks = []
        for region, symbol, intensity in story.marks:
            if symbol == "avoid":
                marks.append({"region": region, "symbol": symbol, "intensity": intensity})
            elif pain:
                scaled = max(1, round(intensity * pain / first_pain))
                marks.append({"region": region, "symbol": symbol, "intensity": min(10, scaled)})
        if i == 0:
            given = "Home programme to start at the next visit."
        elif i == 1 and story.home_care:
            titles = ", ".join(knowledge.selfcare_item(row[0]).title.lower() for row in story.home_care)
            given = f"Home-care plan started and handout given: {titles}."
        else:
            given = "Reviewed the home programme; keep going."
        progress = f" Pain {first_pain}/10 at the first visit, {pain}/10 today." if pain is not None and i else ""
        data = {
            "subjective": story.subjective[phase],
            "pain_now": pain,
            "objective": story.objective[phase],
            "body_marks": marks,
            "assessment": story.assessment[phase] + progress,
            "plan": story.plan_text[phase],
            "home_care_given": given,
            "techniques": techniques,
        }
        if appointment is None:
            data["session_date"] = visit.day
        change = notes.check_update_note(author, note, data, now=signed)
        note = notes.do_update_note(author, note, change)
        signing = notes.check_sign_note(author, note, now=signed)
        self.counts["notes"] += 1
        return notes.do_sign_note(author, note, signing, now=signed)

    def home_care(self, story: Story, episode: Episode, author) -> None:
        data = {
            "introduction": story.home_care_intro,
            "items": [
                {"item": key, "dosage": dosage, "notes": text, "override_reason": reason}
                for key, dosage, text, *more in story.home_care
                for reason in [more[0] if more else ""]
            ],
        }
        homecare.do_save_homecare(author, episode, homecare.check_save_homecare(author, episode, data))

    def addendum(self, story: Story, visit: _Visit) -> None:
        note = visit.note
        at = min(note.signed_at + datetime.timedelta(hours=20), self.real_now - datetime.timedelta(minutes=5))
        text = notes.check_add_addendum(visit.author, note, story.addendum)
        notes.do_add_addendum(visit.author, note, text, now=at)

    def reassess(self, story: Story, episode: Episode, therapist, plan, day, share: float) -> None:
        rom = story.rom
        degrees = round(between(rom.baseline, rom.current, share))
        parts = [f"{rom_label(rom)} {rom.baseline}° → {degrees}°"]
        for m in story.measures:
            weights = self.weights(story, m)
            before = self.score(m.key, m.baseline, weights)
            now = self.score(m.key, between(m.baseline, m.current, share), weights)
            parts.append(f"{scoring.SPECS[m.key].name} {before:g} → {now:g}")
        verdict = "Improving" if story.curve == STEADY else "Gains have levelled off"
        impression = f"Re-assessment. {verdict}: {'; '.join(parts)}."
        self.assess(story, episode, therapist, day, sign=True, degrees=degrees, impression=impression)
        for goal in plan.goals.all():
            status = GoalStatus.IN_PROGRESS
            if story.stage == DISCHARGED:
                kind = "rom" if goal.measure.startswith("rom:") else goal.measure
                status = story.goal_status.get(kind, GoalStatus.IN_PROGRESS)
            elif goal.measure.startswith("rom:") and degrees >= goal.target:
                status = GoalStatus.MET
            plans.do_update_goal(therapist, goal, plans.check_update_goal(therapist, goal, status))

    def discharge(self, story: Story, episode: Episode, therapist, last_day) -> None:
        reason, summary = story.discharge
        on = min(last_day + datetime.timedelta(days=3), self.yesterday)
        data = {"reason": reason, "summary": summary, "discharged_on": on}
        clean = discharge.check_discharge(therapist, episode, data)
        discharge.do_discharge(therapist, episode, clean, now=at(on, 17))


def _note_templates(author) -> None:
    """The demo's note templates, one or more per service, saved as a therapist would."""
    services = {service.name: service for service in Service.objects.all()}
    for data in NOTE_TEMPLATES:
        fields = dict(data, service=services[data["service"]])
        note_templates.do_save_template(author, note_templates.check_save_template(author, fields))


def load_clinical_demo(staff: dict, patients: list, today: datetime.date | None = None) -> ClinicalDemo:
    """Load the demo clinic's clinical records once (nothing happens if any of ``patients``
    already has an episode of care).

    ``staff``: the demo's users by username (owner, therapist, therapist2, therapist3,
    frontdesk, billing); ``patients``: the demo's patients; ``today``: the day the demo is
    built around (default: today at the clinic, in Los Angeles, as the scheduling demo)."""
    if Episode.objects.filter(patient__in=patients).exists():
        return ClinicalDemo(
            False, Episode.objects.count(), SessionNote.objects.count(), OutcomeMeasurement.objects.count()
        )
    today = today or timezone.now().astimezone(TZ).date()
    with transaction.atomic():
        _note_templates(staff["therapist"])
        loader = _Loader(staff, patients, today)
        for story in STORIES:
            loader.run(story)
    counts = loader.counts
    return ClinicalDemo(True, counts["episodes"], counts["notes"], counts["measurements"])
