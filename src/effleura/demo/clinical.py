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
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from effleura.clinical import assessments, discharge, episodes, homecare, knowledge, measures, notes, plans, scoring
from effleura.clinical.choices import AssessmentKind, DischargeReason, GoalDirection, GoalStatus
from effleura.clinical.models import Episode, OutcomeMeasurement, SessionNote
from effleura.core.choices import Role
from effleura.demo.scenarios import scenario_of
from effleura.demo.scheduling import HOSPITAL, TZ
from effleura.patients.choices import ConsentKind, PatientStatus
from effleura.patients.models import HealthHistory, PatientConsent
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment

SEED = 2026
# A visit booked as manual lymphatic drainage is documented only by a story that gives it.
MLD_SERVICE = "Manual lymphatic drainage"
MLD = "lymphatic_drainage"
OPENED, PLANNED, MID_COURSE, DISCHARGED = "opened", "planned", "mid_course", "discharged"
STEADY, PLATEAU = "steady", "plateau"
MAX_NOTES = 8
LEFT, RIGHT = "left", "right"


@dataclass(frozen=True)
class ClinicalDemo:
    created: bool  # False when episodes were already there and nothing was written
    episodes: int
    notes: int
    measurements: int


# The stories -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """An outcome measure of a story: where it starts, where the episode stands at its last
    measurement, and the plan's target. PSFS: one rating per activity in ``labels``."""

    key: str
    baseline: float | tuple
    current: float | tuple
    target: float
    labels: tuple = ()


@dataclass(frozen=True)
class Rom:
    """The range of motion the plan's goal measures (knowledge-base joint and movement)."""

    joint: str
    movement: str
    side: str
    baseline: int
    current: int
    target: int


@dataclass(frozen=True)
class Row:
    """A technique row of the story's notes; ``weight`` shares out the session's minutes;
    ``late`` is the pressure once the tissue tolerates more; ``override`` the reason to
    chart it where screening asks for one."""

    technique: str
    weight: int
    regions: tuple
    pressure: str
    position: str
    late: str = ""
    notes: str = ""
    override: str = ""


@dataclass(frozen=True)
class Story:
    key: str
    scenario: str  # the demo/scenarios.py scenario of the patient it happens to
    stage: str
    title: str
    status: str = PatientStatus.ACTIVE  # the patient's status
    same_patient_as: str = ""  # another story's key: a second episode of that patient
    weeks_ago: int = 0  # mid-course and discharged: opened this many weeks before today
    course_weeks: int = 0  # discharged: weeks from opening to discharge
    notes: int = 0
    measurements: int = 4
    curve: str = STEADY
    codes: tuple = ()
    techniques: tuple = ()
    modalities: tuple = ()
    pressure: tuple = ("light", "moderate")
    per_week: int = 1
    plan_weeks: int = 6
    minutes: int = 60
    measures: tuple = ()
    rom: Rom | None = None
    judged_goal: str = ""
    posture: tuple = ()
    rom_rows: tuple = ()  # other readings of the initial assessment: (joint, movement, side, degrees)
    tone: tuple = ()
    tests: tuple = ()
    marks: tuple = ()  # the initial body chart: (region, symbol, intensity)
    palpation: str = ""
    limitations: str = ""
    impression: str = ""
    rows: tuple = ()
    subjective: tuple = ("", "", "")  # early, middle, late in the course
    objective: tuple = ("", "", "")
    assessment: tuple = ("", "", "")
    plan_text: tuple = ("", "", "")
    home_care: tuple = ()  # (library key, dosage or "", notes)
    home_care_intro: str = ""
    home_care_summary: str = ""
    addendum: str = ""
    discharge: tuple = ()  # (reason, summary)
    goal_status: dict = field(default_factory=dict)  # discharged: measure key ("" = judged) -> status


def _posture(finding, side="", note=""):
    return {"finding": finding, "side": side, "note": note}


def _tone(region, finding, note=""):
    return {"region": region, "finding": finding, "side": "", "note": note}


def _test(test, side, result, note=""):
    return {"test": test, "side": side, "result": result, "note": note}


NECK_HOME = (
    ("chin_tuck", "", "Every time you sit down at the laptop."),
    ("upper_trapezius_stretch", "", ""),
    ("levator_scapulae_stretch", "Hold 30 seconds, twice each side, morning and evening.", ""),
    ("desk_setup", "", "Raise the laptop on the stand with a separate keyboard."),
    ("movement_breaks", "", ""),
)

STORIES = (
    # Mid-course ---------------------------------------------------------------------------
    Story(
        key="low_back",
        scenario="low_back",
        stage=MID_COURSE,
        title="Low back pain after lifting",
        weeks_ago=5,
        notes=7,
        measurements=5,
        codes=("M54.50", "M62.830"),
        techniques=("swedish", "myofascial_release", "trigger_point", "deep_tissue"),
        modalities=("heat", "stretching_mobilization"),
        pressure=("moderate", "firm"),
        per_week=2,
        plan_weeks=4,
        measures=(Measure("nprs", 7, 3, 3), Measure("odi", 44, 22, 20)),
        rom=Rom("lumbar spine", "flexion", "", 45, 66, 70),
        judged_goal="Sit through a work day without low back pain",
        posture=(_posture("anterior_pelvic_tilt"), _posture("hyperlordosis")),
        rom_rows=(("lumbar spine", "extension", "", 15), ("lumbar spine", "lateral flexion", RIGHT, 20)),
        tone=(
            _tone("low_back", "hypertonic", "Lumbar erectors, right more than left."),
            _tone("glutes", "trigger_point", "Gluteus medius, refers into the low back."),
            _tone("hip_r", "tender", "Quadratus lumborum insertion."),
        ),
        tests=(_test("straight_leg_raise", LEFT, "negative"), _test("straight_leg_raise", RIGHT, "negative")),
        marks=(("low_back", "pain", 7), ("low_back", "tension", 6), ("glutes", "trigger_point", 6)),
        palpation="Guarded, ropy lumbar erectors; active trigger points in both gluteus medius.",
        limitations="Sitting limited to 30 minutes; cannot play tennis; bending to load the dishwasher hurts.",
        impression="Mechanical low back pain with myofascial involvement (erectors, quadratus lumborum, gluteus "
        "medius) after a lifting strain; no neural signs. Good candidate for a short course of clinical massage.",
        rows=(
            Row("swedish", 10, ("low_back", "mid_back", "glutes"), "moderate", "prone"),
            Row("myofascial_release", 15, ("low_back",), "moderate", "prone", late="firm"),
            Row("trigger_point", 12, ("glutes", "hip_r"), "firm", "prone"),
            Row("deep_tissue", 10, ("low_back",), "firm", "side_left", late="deep"),
            Row("heat", 8, ("low_back",), "", "prone", notes="Moist heat pack before the deep work."),
        ),
        subjective=(
            "Low back aches after 30 minutes of sitting; stiff getting out of bed.",
            "Sitting longer before the ache starts; slept well after the last session.",
            "Worked a full day at the desk with only mild ache; hit tennis balls at the weekend.",
        ),
        objective=(
            "Lumbar erectors guarded and ropy, right more than left; gluteus medius trigger points both sides.",
            "Erectors softer; one trigger point left in the right gluteus medius.",
            "Tissue supple; bends to mid-shin without guarding.",
        ),
        assessment=(
            "Tolerated firm pressure well; some soreness expected for a day.",
            "Responding well: less guarding and longer sitting tolerance.",
            "Close to the goals; function largely restored.",
        ),
        plan_text=(
            "Continue twice a week; start the home programme.",
            "Continue; add glute bridges to the home programme.",
            "Drop to once a week; plan discharge after the re-assessment if the gains hold.",
        ),
        home_care=(
            ("knee_to_chest", "", "Mornings, before getting up."),
            ("cat_camel", "", ""),
            ("glute_bridge", "2 sets of 10, once a day.", ""),
            ("heat_at_home", "", "After long drives."),
            ("movement_breaks", "Stand up every 30 minutes at work.", ""),
        ),
        home_care_intro="A few minutes a day keeps the gains from our sessions. Stop anything that hurts.",
        home_care_summary="Lumbar mobility, glute strengthening, heat after long sitting, breaks from the desk.",
        addendum="Telephoned the next day: sore for 24 hours after the deep work, eased with heat. No bruising.",
    ),
    Story(
        key="neck_desk",
        scenario="neck_desk",
        stage=MID_COURSE,
        title="Neck and upper-back pain from desk work",
        weeks_ago=4,
        notes=6,
        measurements=4,
        codes=("M54.2", "M62.838"),
        techniques=("swedish", "myofascial_release", "trigger_point"),
        modalities=("heat", "stretching_mobilization"),
        pressure=("moderate", "firm"),
        per_week=1,
        plan_weeks=6,
        measures=(Measure("nprs", 6, 3, 2), Measure("ndi", 36, 20, 14)),
        rom=Rom("cervical spine", "rotation", LEFT, 52, 68, 75),
        judged_goal="Check the blind spot when driving without pain",
        posture=(_posture("forward_head"), _posture("rounded_shoulders"), _posture("shoulder_elevation", LEFT)),
        rom_rows=(("cervical spine", "rotation", RIGHT, 70), ("cervical spine", "lateral flexion", LEFT, 30)),
        tone=(
            _tone("upper_back", "hypertonic", "Rhomboids and middle trapezius."),
            _tone("neck", "trigger_point", "Left levator scapulae and upper trapezius."),
            _tone("shoulder_l", "tender"),
        ),
        tests=(_test("spurling", LEFT, "negative"), _test("cervical_distraction", "", "negative")),
        marks=(("neck", "pain", 6), ("shoulder_l", "trigger_point", 6), ("upper_back", "tension", 5)),
        palpation="Taut bands in the left levator scapulae and upper trapezius reproducing the neck ache.",
        limitations="Turning the head to the left to reverse the car; more than two hours at the laptop.",
        impression="Postural neck pain with myofascial trigger points (left levator scapulae, upper trapezius); "
        "no radicular signs.",
        rows=(
            Row("swedish", 10, ("neck", "upper_back", "shoulder_l", "shoulder_r"), "moderate", "prone"),
            Row("trigger_point", 12, ("neck", "shoulder_l"), "firm", "prone"),
            Row("myofascial_release", 15, ("upper_back", "neck"), "moderate", "supine", late="firm"),
            Row("stretching_mobilization", 8, ("neck",), "light", "supine"),
            Row("heat", 5, ("upper_back",), "", "prone"),
        ),
        subjective=(
            "Neck stiff by mid-afternoon; hard to look over the left shoulder.",
            "Tension days down from five to three a week.",
            "Only one tense day last week; reversing the car is easy again.",
        ),
        objective=(
            "Forward head; left shoulder held high; trigger points left levator scapulae.",
            "Levator scapulae trigger point much less active; rotation improving.",
            "Upper trapezius soft; head posture better when seated.",
        ),
        assessment=(
            "Good release of the levator scapulae; headache-free after the session.",
            "Steady progress toward the rotation goal.",
            "Near the goals; the desk changes are helping.",
        ),
        plan_text=(
            "Weekly sessions; chin tucks at the desk.",
            "Continue weekly; review the laptop set-up.",
            "Re-assess in two weeks; discuss moving to monthly maintenance.",
        ),
        home_care=NECK_HOME,
        home_care_intro="Small changes at the desk do most of the work. Little and often is best.",
        home_care_summary="Chin tucks and neck stretches; laptop stand and breaks.",
    ),
    Story(
        key="headache",
        scenario="tension_headache",
        stage=MID_COURSE,
        title="Tension-type headaches",
        weeks_ago=4,
        notes=6,
        measurements=4,
        codes=("G44.219",),
        techniques=("swedish", "trigger_point", "myofascial_release", "neuromuscular"),
        modalities=("heat",),
        pressure=("light", "moderate"),
        per_week=1,
        plan_weeks=6,
        measures=(Measure("nprs", 6, 2, 2), Measure("ndi", 30, 16, 14)),
        rom=Rom("cervical spine", "extension", "", 35, 48, 50),
        judged_goal="Halve the number of headache days a week",
        posture=(_posture("forward_head"), _posture("head_tilt", RIGHT)),
        rom_rows=(("cervical spine", "rotation", LEFT, 65), ("cervical spine", "rotation", RIGHT, 62)),
        tone=(
            _tone("head", "trigger_point", "Suboccipitals refer to the temples."),
            _tone("neck", "hypertonic"),
            _tone("face_jaw", "tender", "Temporalis and masseter."),
        ),
        marks=(("head", "pain", 6), ("neck", "trigger_point", 6), ("face_jaw", "tension", 4)),
        palpation="Suboccipital and upper trapezius trigger points reproduce the band-like headache.",
        limitations="Headaches three or four afternoons a week; reading and screen work bring them on.",
        impression="Episodic tension-type headache with suboccipital and upper trapezius trigger points.",
        rows=(
            Row("swedish", 10, ("neck", "upper_back", "shoulder_l", "shoulder_r"), "moderate", "prone"),
            Row("trigger_point", 12, ("neck", "head"), "moderate", "supine"),
            Row("myofascial_release", 12, ("neck",), "light", "supine", late="moderate"),
            Row("neuromuscular", 10, ("face_jaw", "head"), "light", "supine"),
            Row("heat", 6, ("neck",), "", "supine"),
        ),
        subjective=(
            "Headaches most afternoons, a tight band from the base of the skull to the temples.",
            "Two headache days this week, both milder.",
            "One short headache in the last week; needed no ibuprofen.",
        ),
        objective=(
            "Suboccipitals tight and tender; trigger points reproduce the headache.",
            "Suboccipitals softer; jaw less tender.",
            "Minimal tenderness at the base of the skull.",
        ),
        assessment=(
            "Headache eased during the session.",
            "Fewer and milder headaches; on track.",
            "Headache goal nearly reached.",
        ),
        plan_text=(
            "Weekly; start a headache diary and chin tucks.",
            "Continue; add breathing practice before bed.",
            "Re-assess; consider fortnightly sessions.",
        ),
        home_care=(
            ("chin_tuck", "", ""),
            ("upper_trapezius_stretch", "", ""),
            ("diaphragmatic_breathing", "", "When a headache starts."),
            ("phone_posture", "", ""),
        ),
        home_care_intro="Catch the tension early: these take a few minutes and can stop a headache building.",
        home_care_summary="Chin tucks, neck stretch, breathing, phone posture.",
    ),
    Story(
        key="forearm",
        scenario="raynauds",
        stage=MID_COURSE,
        title="Forearm pain from typing",
        weeks_ago=5,
        notes=7,
        measurements=4,
        codes=("M79.18", "M62.838"),
        techniques=("swedish", "myofascial_release", "trigger_point", "friction"),
        modalities=("heat",),
        pressure=("moderate", "firm"),
        per_week=1,
        plan_weeks=6,
        measures=(Measure("nprs", 5, 2, 1), Measure("quickdash", 45, 20, 20)),
        rom=Rom("wrist", "extension", RIGHT, 48, 62, 65),
        posture=(_posture("rounded_shoulders"),),
        rom_rows=(("wrist", "flexion", RIGHT, 70), ("wrist", "extension", LEFT, 58)),
        tone=(
            _tone("arm_r", "trigger_point", "Wrist extensors, 3 cm below the elbow."),
            _tone("arm_l", "hypertonic"),
            _tone("wrist_hand_r", "normal", "No swelling; colour normal at the visit."),
        ),
        tests=(_test("phalen", RIGHT, "negative"), _test("tinel_wrist", RIGHT, "negative")),
        marks=(("arm_r", "pain", 5), ("arm_r", "trigger_point", 6), ("arm_l", "tension", 4)),
        palpation="Taut, tender wrist extensors on the right; flexors tight on both sides.",
        limitations="Typing more than an hour; opening jars.",
        impression="Overuse myalgia of the forearm extensors from typing; Raynaud's: no cold applications.",
        rows=(
            Row("swedish", 8, ("arm_l", "arm_r", "shoulder_r"), "moderate", "supine"),
            Row("myofascial_release", 12, ("arm_r", "wrist_hand_r"), "moderate", "supine", late="firm"),
            Row("trigger_point", 10, ("arm_r",), "firm", "supine"),
            Row("friction", 6, ("elbow_r",), "moderate", "seated"),
            Row("heat", 6, ("wrist_hand_l", "wrist_hand_r"), "", "supine", notes="Warm pack: hands cold today."),
        ),
        subjective=(
            "Forearms burn after an hour of typing; fingers went white twice in the cold.",
            "Typing most of the morning before the ache starts.",
            "Whole work days at the keyboard with little ache.",
        ),
        objective=(
            "Right wrist extensors ropy with an active trigger point.",
            "Trigger point less active; grip comfortable.",
            "Extensors supple; full grip without pain.",
        ),
        assessment=(
            "Eased with warmth and release; hands warmed well.",
            "QuickDASH falling; on track.",
            "Near the function goal.",
        ),
        plan_text=(
            "Weekly; wrist stretches every hour at work.",
            "Continue; check the keyboard height.",
            "Re-assess; consider discharge with home programme.",
        ),
        home_care=(
            ("wrist_extensor_stretch", "", ""),
            ("wrist_flexor_stretch", "", ""),
            ("heat_at_home", "", "Warmth only: no cold packs with Raynaud's."),
            ("desk_setup", "", "Keyboard at elbow height, wrists straight."),
        ),
        home_care_intro="Keep your hands warm and stretch every hour you type.",
        home_care_summary="Forearm stretches, warmth, keyboard height. No cold packs.",
    ),
    Story(
        key="hip_post_op",
        scenario="recent_surgery",
        stage=MID_COURSE,
        title="Recovery after left hip replacement",
        weeks_ago=3,
        notes=4,
        measurements=3,
        codes=("Z47.1", "Z96.642"),
        techniques=("swedish", "lymphatic_drainage", "myofascial_release"),
        pressure=("light", "moderate"),
        per_week=1,
        plan_weeks=6,
        minutes=45,
        measures=(Measure("nprs", 6, 3, 2), Measure("lefs", 24, 40, 55)),
        rom=Rom("hip", "abduction", LEFT, 18, 28, 35),
        judged_goal="Walk without a cane",
        posture=(_posture("lateral_pelvic_tilt", RIGHT, "Shifts weight off the left leg."),),
        rom_rows=(("hip", "abduction", RIGHT, 40),),
        tone=(
            _tone("thigh_l", "hypertonic", "Quadriceps and iliotibial band."),
            _tone("glutes", "tender"),
            _tone("ankle_foot_l", "edema", "Pitting at the ankle by evening."),
        ),
        marks=(("hip_l", "avoid", 10), ("thigh_l", "tension", 6), ("glutes", "pain", 5)),
        palpation="Tight left quadriceps and lateral thigh; incision closed, no heat or redness.",
        limitations="Walks with a cane; stairs one step at a time; cannot put on socks unaided.",
        impression="Post-operative stiffness and swelling after a left total hip replacement; surgeon cleared "
        "gentle work around (not on) the incision.",
        rows=(
            Row("swedish", 12, ("thigh_l", "glutes", "low_back"), "light", "side_right"),
            Row(
                "lymphatic_drainage",
                15,
                ("hip_l", "thigh_l"),
                "light",
                "supine",
                override="Surgeon cleared gentle work around the incision (letter on file); light lymphatic "
                "strokes on the hip only, well clear of the incision line, to ease post-operative swelling.",
            ),
            Row("myofascial_release", 10, ("thigh_l",), "light", "supine", late="moderate"),
        ),
        subjective=(
            "Thigh tight and swollen by evening; walking with the cane.",
            "Swelling less; managed the stairs with one hand on the rail.",
            "Short walks round the block without the cane.",
        ),
        objective=(
            "Incision clean and closed; ankle swelling; lateral thigh tight.",
            "Less ankle swelling; thigh softer.",
            "Swelling minimal; walks with an even step.",
        ),
        assessment=(
            "Swelling reduced after the drainage; no pain at the incision.",
            "Steady gains in walking.",
            "Function improving well.",
        ),
        plan_text=(
            "Weekly; follow the surgeon's hip precautions.",
            "Continue; progress the exercises as the physio advises.",
            "Re-assess at six weeks after surgery.",
        ),
        home_care=(
            ("glute_bridge", "1 set of 8, once a day, within the surgeon's precautions.", ""),
            ("movement_breaks", "Walk a few minutes every hour.", ""),
            ("sleep_position", "", "Pillow between the knees."),
            ("diaphragmatic_breathing", "", ""),
        ),
        home_care_intro="Gentle and regular: follow your surgeon's precautions first.",
        home_care_summary="Gentle strengthening within hip precautions; walking breaks; sleep position.",
    ),
    Story(
        key="legs",
        scenario="varicose_veins",
        stage=MID_COURSE,
        title="Aching legs after long shifts",
        weeks_ago=4,
        notes=5,
        measurements=4,
        codes=("M79.604", "M79.605"),
        techniques=("swedish", "effleurage", "kneading", "myofascial_release"),
        pressure=("light", "moderate"),
        per_week=1,
        plan_weeks=6,
        measures=(Measure("nprs", 5, 2, 2), Measure("lefs", 52, 66, 70)),
        rom=Rom("ankle", "dorsiflexion", LEFT, 8, 13, 15),
        judged_goal="Finish a 12-hour shift without heavy legs",
        posture=(_posture("pes_planus", "both"),),
        rom_rows=(("ankle", "dorsiflexion", RIGHT, 10),),
        tone=(
            _tone("thigh_l", "hypertonic"),
            _tone("thigh_r", "hypertonic"),
            _tone("lower_leg_l", "tender", "Calf; varicose veins behind the knee, not worked."),
        ),
        marks=(("lower_leg_l", "avoid", 10), ("lower_leg_r", "avoid", 10), ("thigh_l", "pain", 5)),
        palpation="Hamstrings and quadriceps tight; veins behind both knees, left over right.",
        limitations="Legs heavy and aching after a shift; stands for 12 hours.",
        impression="Leg fatigue and myalgia from prolonged standing with varicose veins: light strokes toward "
        "the heart above the veins only.",
        rows=(
            Row("swedish", 12, ("thigh_l", "thigh_r", "glutes"), "moderate", "prone"),
            Row("effleurage", 10, ("lower_leg_l", "lower_leg_r"), "light", "supine", notes="Toward the heart."),
            Row("kneading", 10, ("thigh_l", "thigh_r"), "moderate", "supine"),
            Row("myofascial_release", 10, ("thigh_l",), "moderate", "supine"),
        ),
        subjective=(
            "Legs heavy and aching after night shifts.",
            "Less heaviness; put the legs up after work.",
            "Legs tired but not aching after the last run of shifts.",
        ),
        objective=(
            "Hamstrings tight; calves tense; veins unchanged.",
            "Thighs softer.",
            "Good tissue tone; no new swelling.",
        ),
        assessment=(
            "Legs lighter after the session.",
            "LEFS rising; on track.",
            "Close to the goal.",
        ),
        plan_text=(
            "Weekly; calf stretches on breaks.",
            "Continue; compression stockings on shift days.",
            "Re-assess; maintenance after.",
        ),
        home_care=(
            ("calf_stretch", "", ""),
            ("hamstring_stretch", "", ""),
            ("movement_breaks", "Walk or do calf raises every hour on shift.", ""),
        ),
        home_care_intro="Keep the calves moving on long shifts.",
        home_care_summary="Calf and hamstring stretches; movement on shift.",
    ),
    Story(
        key="stress",
        scenario="stress",
        stage=MID_COURSE,
        title="Muscle tension and poor sleep with stress",
        weeks_ago=4,
        notes=5,
        measurements=4,
        codes=("M79.12", "M62.838"),
        techniques=("swedish", "myofascial_release", "trigger_point"),
        modalities=("heat",),
        pressure=("moderate", "firm"),
        per_week=1,
        plan_weeks=6,
        measures=(
            Measure(
                "psfs",
                (3, 4, 5),
                (7, 7, 8),
                7.5,
                ("Falling asleep within 30 minutes", "Working at the computer all afternoon", "Carrying shopping"),
            ),
            Measure("nprs", 5, 2, 2),
        ),
        rom=Rom("cervical spine", "lateral flexion", RIGHT, 30, 40, 42),
        posture=(_posture("rounded_shoulders"), _posture("shoulder_elevation", "both")),
        tone=(
            _tone("upper_back", "hypertonic"),
            _tone("shoulder_l", "trigger_point"),
            _tone("shoulder_r", "trigger_point"),
        ),
        marks=(("shoulder_l", "tension", 6), ("shoulder_r", "tension", 6), ("neck", "pain", 5)),
        palpation="Upper trapezius held high both sides; shallow upper-chest breathing.",
        limitations="Takes over an hour to fall asleep; shoulders ache by afternoon.",
        impression="Generalised muscle tension with stress; no red flags.",
        rows=(
            Row("swedish", 20, ("neck", "upper_back", "low_back", "shoulder_l", "shoulder_r"), "moderate", "prone"),
            Row("myofascial_release", 10, ("upper_back",), "moderate", "prone"),
            Row("trigger_point", 8, ("shoulder_l", "shoulder_r"), "firm", "prone"),
            Row("heat", 6, ("upper_back",), "", "prone"),
        ),
        subjective=(
            "Shoulders up by the ears; lying awake for an hour.",
            "Falling asleep quicker on session days.",
            "Sleeping well most nights; shoulders rarely ache.",
        ),
        objective=(
            "Upper trapezius hypertonic both sides; breath high in the chest.",
            "Shoulders lower at rest.",
            "Tone near normal; slower, lower breathing.",
        ),
        assessment=(
            "Relaxed well; fell asleep on the table.",
            "Sleep improving; PSFS rising.",
            "Goals nearly met.",
        ),
        plan_text=(
            "Weekly; breathing practice at bedtime.",
            "Continue; add the doorway stretch.",
            "Re-assess; then monthly.",
        ),
        home_care=(
            ("diaphragmatic_breathing", "5 minutes at bedtime.", ""),
            ("upper_trapezius_stretch", "", ""),
            ("doorway_pec_stretch", "", ""),
            ("sleep_position", "", ""),
        ),
        home_care_intro="Ten minutes in the evening to let the shoulders drop and the breath slow.",
        home_care_summary="Breathing, shoulder stretches, sleep position.",
    ),
    Story(
        key="sciatica",
        scenario="sciatica",
        stage=MID_COURSE,
        title="Left-sided sciatica",
        weeks_ago=6,
        notes=8,
        measurements=5,
        codes=("M54.42",),
        techniques=("swedish", "myofascial_release", "trigger_point", "neuromuscular"),
        modalities=("heat",),
        pressure=("moderate", "firm"),
        per_week=2,
        plan_weeks=4,
        measures=(
            Measure("nprs", 7, 3, 3),
            Measure("odi", 46, 24, 20),
            Measure(
                "psfs",
                (2, 3, 4),
                (6, 7, 7),
                7,
                ("Putting on socks and shoes", "Sitting through a meeting", "Walking to the station"),
            ),
        ),
        rom=Rom("lumbar spine", "flexion", "", 40, 62, 65),
        posture=(_posture("lateral_pelvic_tilt", RIGHT), _posture("flat_back")),
        tone=(
            _tone("glutes", "trigger_point", "Left piriformis and gluteus minimus."),
            _tone("low_back", "spasm", "Left lumbar erectors."),
            _tone("thigh_l", "tender", "Hamstring origin."),
        ),
        tests=(
            _test("straight_leg_raise", LEFT, "positive", "Leg pain at 50°."),
            _test("slump", LEFT, "positive"),
            _test("faber", LEFT, "negative"),
        ),
        marks=(
            ("low_back", "pain", 7),
            ("glutes", "trigger_point", 7),
            ("thigh_l", "numbness", 4),
            ("lower_leg_l", "pain", 5),
        ),
        palpation="Left piriformis and gluteus minimus reproduce the leg pain; left erectors in spasm.",
        limitations="Cannot put on socks; sitting limited to 20 minutes; walks 10 minutes.",
        impression="Left L5-S1 radicular pain (disc bulge on MRI) with secondary gluteal trigger points; "
        "neural tension signs positive. No progressive weakness.",
        rows=(
            Row("swedish", 10, ("low_back", "glutes", "thigh_l"), "moderate", "side_right"),
            Row("trigger_point", 12, ("glutes",), "moderate", "side_right", late="firm"),
            Row("myofascial_release", 12, ("low_back",), "moderate", "prone"),
            Row("neuromuscular", 10, ("glutes", "thigh_l"), "moderate", "prone"),
            Row("heat", 6, ("low_back",), "", "prone"),
        ),
        subjective=(
            "Pain down the left leg, worst in the morning; tingling to the calf.",
            "Leg pain less often; tingling only after long sitting.",
            "Mostly back stiffness now; put on socks standing.",
        ),
        objective=(
            "Left gluteals very tender; straight leg raise positive at 50°.",
            "Straight leg raise to 65° before leg pain.",
            "Straight leg raise to 75°, back tightness only.",
        ),
        assessment=(
            "Leg pain eased after gluteal work.",
            "Centralising: leg symptoms retreating.",
            "Good progress; function returning.",
        ),
        plan_text=(
            "Twice a week; gentle nerve-friendly positions only.",
            "Continue; add the piriformis stretch.",
            "Re-assess; taper to weekly.",
        ),
        home_care=(
            ("piriformis_stretch", "", ""),
            ("knee_to_chest", "", ""),
            ("pelvic_tilt", "", ""),
            ("heat_at_home", "", ""),
            ("safe_lifting", "", ""),
        ),
        home_care_intro="Gentle movement helps nerve pain settle. Stop anything that sends pain down the leg.",
        home_care_summary="Piriformis stretch, pelvic tilts, heat, safe lifting.",
    ),
    Story(
        key="cancer_support",
        scenario="cancer_treatment",
        stage=MID_COURSE,
        title="Neck and shoulder tension during chemotherapy",
        weeks_ago=5,
        notes=6,
        measurements=4,
        codes=("M79.12", "R53.83"),
        techniques=("swedish", "effleurage", "myofascial_release"),
        pressure=("light", "light"),
        per_week=1,
        plan_weeks=8,
        measures=(
            Measure("nprs", 5, 2, 2),
            Measure(
                "psfs",
                (3, 2, 4),
                (6, 5, 7),
                6,
                ("Sleeping through the night", "Walking to the mailbox", "Sitting up to read"),
            ),
        ),
        rom=Rom("cervical spine", "rotation", LEFT, 55, 66, 70),
        posture=(_posture("forward_head"),),
        tone=(_tone("neck", "hypertonic"), _tone("shoulder_l", "tender"), _tone("ankle_foot_l", "normal", "Numb.")),
        marks=(
            ("neck", "pain", 5),
            ("shoulder_l", "tension", 5),
            ("chest", "avoid", 10),
            ("ankle_foot_l", "numbness", 6),
            ("ankle_foot_r", "numbness", 6),
        ),
        palpation="Neck and shoulders tense; port in the right upper chest (not touched); feet numb.",
        limitations="Tires after 10 minutes' walk; wakes with neck ache.",
        impression="Muscle tension and fatigue during chemotherapy; light pressure only, no work over the port, "
        "no heat on the numb feet; oncology team informed.",
        rows=(
            Row("swedish", 15, ("neck", "shoulder_l", "shoulder_r", "upper_back"), "light", "side_left"),
            Row("effleurage", 10, ("ankle_foot_l", "ankle_foot_r", "lower_leg_l", "lower_leg_r"), "light", "supine"),
            Row("myofascial_release", 8, ("neck",), "light", "supine"),
        ),
        subjective=(
            "Tired, neck aches on waking; feet numb.",
            "Slept better the two nights after the session.",
            "More energy this cycle; walking to the mailbox and back.",
        ),
        objective=(
            "Neck and shoulder muscles tense; skin intact; port covered.",
            "Less tension in the neck.",
            "Neck soft; turns the head more freely.",
        ),
        assessment=(
            "Relaxed; no adverse effects.",
            "Sleep and comfort improving.",
            "Good response between cycles.",
        ),
        plan_text=(
            "Weekly between cycles; check blood counts first.",
            "Continue; keep sessions to 45 minutes when tired.",
            "Continue through the last cycle.",
        ),
        home_care=(
            ("diaphragmatic_breathing", "", ""),
            ("chin_tuck", "5 repetitions, twice a day.", ""),
            ("sleep_position", "", "A pillow to support the neck."),
        ),
        home_care_intro="Gentle and short: do what feels good on the day.",
        home_care_summary="Breathing, gentle neck movement, sleep position.",
    ),
    # Assessed, with a plan --------------------------------------------------------------------
    Story(
        key="headache_bp",
        scenario="hypertension",
        stage=PLANNED,
        title="Tension headaches",
        codes=("G44.209",),
        techniques=("swedish", "myofascial_release"),
        modalities=("heat",),
        pressure=("light", "moderate"),
        per_week=1,
        plan_weeks=6,
        measures=(Measure("nprs", 6, 6, 2), Measure("ndi", 28, 28, 12)),
        rom=Rom("cervical spine", "rotation", RIGHT, 58, 58, 72),
        judged_goal="Fewer headache days; less ibuprofen",
        posture=(_posture("forward_head"),),
        tone=(_tone("neck", "hypertonic"), _tone("head", "trigger_point", "Suboccipitals.")),
        marks=(("head", "pain", 6), ("neck", "tension", 5)),
        palpation="Suboccipitals tender; upper trapezius hypertonic.",
        limitations="Afternoon headaches; screen work.",
        impression="Tension-type headache. Blood pressure 172/98 last week, untreated: relaxing work with "
        "moderate pressure at most, blood pressure before each session, get up slowly.",
    ),
    Story(
        key="upper_back",
        scenario="anticoagulant_valve",
        stage=PLANNED,
        title="Upper-back stiffness at the drafting table",
        codes=("M54.6",),
        techniques=("swedish", "myofascial_release", "effleurage"),
        pressure=("light", "moderate"),
        per_week=1,
        plan_weeks=6,
        measures=(
            Measure("nprs", 5, 5, 2),
            Measure(
                "psfs",
                (4, 3, 5),
                (4, 3, 5),
                7,
                ("Sitting upright at the drafting table", "Reaching to high shelves", "Turning to reverse the car"),
            ),
        ),
        rom=Rom("cervical spine", "extension", "", 38, 38, 50),
        posture=(_posture("hyperkyphosis"), _posture("rounded_shoulders")),
        tone=(_tone("upper_back", "hypertonic"), _tone("mid_back", "tender")),
        marks=(("upper_back", "pain", 5), ("mid_back", "tension", 4)),
        palpation="Rhomboids and thoracic erectors tight; skin bruises easily (warfarin).",
        limitations="Aches after an hour at the drafting table.",
        impression="Postural thoracic pain. On warfarin: light to moderate pressure, no deep or specific work, "
        "check the skin for bruising.",
    ),
    Story(
        key="lymphedema",
        scenario="lymphedema",
        stage=PLANNED,
        title="Lymphedema of the left arm after mastectomy",
        codes=("I97.2",),
        techniques=("lymphatic_drainage", "swedish"),
        modalities=("stretching_mobilization",),
        pressure=("light", "light"),
        per_week=2,
        plan_weeks=4,
        measures=(Measure("nprs", 4, 4, 1), Measure("quickdash", 48, 48, 25)),
        rom=Rom("shoulder", "flexion", LEFT, 125, 125, 160),
        judged_goal="Return to gardening",
        posture=(_posture("shoulder_elevation", RIGHT),),
        rom_rows=(("shoulder", "abduction", LEFT, 110),),
        tone=(_tone("arm_l", "edema", "Non-pitting; sleeve on."), _tone("chest", "fibrotic", "Scar tissue, left.")),
        marks=(("arm_l", "tension", 5), ("arm_l", "avoid", 10), ("shoulder_l", "pain", 4)),
        palpation="Left arm full and heavy; scar mobile; axilla tight.",
        limitations="Cannot lift the watering can; arm heavy by evening.",
        impression="Stage II lymphedema of the left arm after axillary node dissection: manual lymphatic "
        "drainage indicated; no deep work in the left quadrant.",
    ),
    # Just opened ------------------------------------------------------------------------------
    Story(
        key="frozen_shoulder",
        scenario="frozen_shoulder",
        stage=OPENED,
        title="Right frozen shoulder",
        rom=Rom("shoulder", "flexion", RIGHT, 105, 105, 150),
        posture=(_posture("shoulder_elevation", RIGHT),),
        rom_rows=(("shoulder", "abduction", RIGHT, 85), ("shoulder", "external rotation", RIGHT, 30)),
        tone=(_tone("shoulder_r", "hypertonic"),),
        tests=(_test("hawkins_kennedy", RIGHT, "positive"),),
        marks=(("shoulder_r", "pain", 6),),
        limitations="Cannot reach overhead or sleep on the right side.",
    ),
    # Discharged ---------------------------------------------------------------------------------
    Story(
        key="whiplash",
        scenario="whiplash",
        stage=DISCHARGED,
        title="Neck strain after a car accident",
        status=PatientStatus.DISCHARGED,
        weeks_ago=20,
        course_weeks=8,
        notes=8,
        measurements=5,
        codes=("S16.1XXD", "M54.2"),
        techniques=("swedish", "myofascial_release", "trigger_point"),
        modalities=("heat", "stretching_mobilization"),
        pressure=("light", "firm"),
        per_week=1,
        plan_weeks=8,
        measures=(Measure("nprs", 6, 1, 2), Measure("ndi", 44, 8, 14)),
        rom=Rom("cervical spine", "rotation", LEFT, 50, 74, 70),
        judged_goal="Drive without neck pain",
        posture=(_posture("forward_head"), _posture("head_tilt", LEFT)),
        rom_rows=(("cervical spine", "rotation", RIGHT, 60), ("cervical spine", "flexion", "", 35)),
        tone=(_tone("neck", "spasm"), _tone("upper_back", "hypertonic"), _tone("head", "tender")),
        tests=(_test("spurling", LEFT, "negative"), _test("spurling", RIGHT, "negative")),
        marks=(("neck", "pain", 6), ("upper_back", "tension", 5), ("head", "pain", 4)),
        palpation="Guarding of the neck muscles; no bony tenderness.",
        limitations="Cannot turn the head fully to drive; headaches most days.",
        impression="Grade II whiplash-associated disorder eight weeks after the accident; cleared by the "
        "physician for massage.",
        rows=(
            Row("swedish", 12, ("neck", "upper_back", "shoulder_l", "shoulder_r"), "light", "prone", late="moderate"),
            Row("myofascial_release", 12, ("neck",), "light", "supine", late="moderate"),
            Row("trigger_point", 10, ("upper_back", "neck"), "moderate", "prone", late="firm"),
            Row("stretching_mobilization", 8, ("neck",), "light", "supine"),
            Row("heat", 6, ("neck",), "", "supine"),
        ),
        subjective=(
            "Neck stiff and sore; headaches most days.",
            "Headaches once a week; turning better.",
            "No headaches; drove to the coast without neck pain.",
        ),
        objective=(
            "Neck muscles guarded; rotation limited to the left.",
            "Less guarding; rotation improving.",
            "Full, pain-free rotation.",
        ),
        assessment=(
            "Tolerated light work well.",
            "Good progress toward all goals.",
            "Goals met.",
        ),
        plan_text=(
            "Weekly; gentle range of motion at home.",
            "Continue; increase pressure as tolerated.",
            "Discharge with the home programme.",
        ),
        home_care=(*NECK_HOME[:3], ("thoracic_extension", "", "")),
        home_care_intro="Keep your neck moving every day: these are the exercises that got you here.",
        home_care_summary="Neck mobility and posture exercises.",
        discharge=(
            DischargeReason.GOALS_MET,
            "Goals met: neck pain 1/10, NDI 8%, left rotation 74°. Back to driving and yoga. Discharged with a "
            "home programme; to return if symptoms recur.",
        ),
        goal_status={"nprs": GoalStatus.MET, "ndi": GoalStatus.MET, "rom": GoalStatus.MET, "": GoalStatus.MET},
    ),
    Story(
        key="fibro_plateau",
        scenario="fibromyalgia",
        stage=DISCHARGED,
        title="Fibromyalgia: widespread pain and poor sleep",
        weeks_ago=26,
        course_weeks=9,
        notes=7,
        measurements=5,
        curve=PLATEAU,
        codes=("M79.7",),
        techniques=("swedish", "myofascial_release"),
        modalities=("heat",),
        pressure=("light", "moderate"),
        per_week=1,
        plan_weeks=8,
        measures=(
            Measure("nprs", 7, 5, 3),
            Measure(
                "psfs",
                (3, 2, 4),
                (4, 4, 5),
                6,
                ("Sleeping through the night", "Walking 20 minutes", "Housework for an hour"),
            ),
        ),
        rom=Rom("lumbar spine", "flexion", "", 50, 60, 70),
        judged_goal="Keep walking 20 minutes a day",
        posture=(_posture("forward_head"),),
        tone=(
            _tone("neck", "tender"),
            _tone("upper_back", "tender"),
            _tone("hip_l", "tender"),
            _tone("hip_r", "tender"),
        ),
        marks=(("neck", "pain", 7), ("upper_back", "pain", 6), ("low_back", "pain", 6), ("hip_l", "pain", 5)),
        palpation="Widespread tenderness to light pressure.",
        limitations="Poor sleep; flare after stressful weeks; walks 10 minutes.",
        impression="Fibromyalgia with widespread pain; light pressure, short sessions, pacing.",
        rows=(
            Row("swedish", 25, ("neck", "upper_back", "low_back", "hip_l", "hip_r"), "light", "prone"),
            Row("myofascial_release", 12, ("upper_back", "low_back"), "light", "prone", late="moderate"),
            Row("heat", 8, ("low_back",), "", "prone"),
        ),
        subjective=(
            "Aching everywhere; sleeping four or five hours.",
            "Sleeping a little better; still flares after busy days.",
            "About the same as last month; walking 20 minutes most days.",
        ),
        objective=(
            "Tender to light pressure at most sites.",
            "Slightly less tender over the upper back.",
            "Unchanged from the last visits.",
        ),
        assessment=(
            "Relaxed well; no flare after the session.",
            "Some improvement in sleep and walking.",
            "No further gains over the last sessions.",
        ),
        plan_text=(
            "Weekly; pacing and heat at home.",
            "Continue; review the walking plan.",
            "Discuss discharge: gains have levelled off.",
        ),
        home_care=(
            ("diaphragmatic_breathing", "", ""),
            ("heat_at_home", "", ""),
            ("movement_breaks", "", "Pace housework in 15-minute blocks."),
        ),
        home_care_intro="Pace yourself: a little every day beats a lot on a good day.",
        home_care_summary="Pacing, heat, breathing.",
        discharge=(
            DischargeReason.PLATEAU,
            "Progress has levelled off over the last four sessions: pain 7 to 5/10, PSFS 3.0 to 4.3. Walking goal "
            "met; pain and activity goals not reached. Discharged to the home programme; may return for flares.",
        ),
        goal_status={
            "nprs": GoalStatus.NOT_MET,
            "psfs": GoalStatus.NOT_MET,
            "rom": GoalStatus.NOT_MET,
            "": GoalStatus.MET,
        },
    ),
    Story(
        key="fibro_flare",
        scenario="fibromyalgia",
        stage=OPENED,
        title="Fibromyalgia flare after a bereavement",
        same_patient_as="fibro_plateau",
        rom=Rom("lumbar spine", "flexion", "", 52, 52, 65),
        tone=(_tone("neck", "tender"), _tone("thigh_l", "tender"), _tone("thigh_r", "tender")),
        marks=(("neck", "pain", 8), ("upper_back", "pain", 7), ("thigh_l", "pain", 6), ("thigh_r", "pain", 6)),
        limitations="Flare for two weeks: poor sleep, aching legs.",
    ),
)


# Building blocks (pure) -------------------------------------------------------------------------


def allocate(total: int, weights, low: int, high: int) -> list[int]:
    """Whole numbers from ``low`` to ``high``, one per weight, summing to ``total`` and
    shared out as the weights say (the most behind gets the next unit)."""
    n = len(weights)
    values = [low] * n
    remaining = total - low * n
    if not 0 <= remaining <= (high - low) * n:
        raise ValueError(f"{total} cannot be shared over {n} items from {low} to {high}")
    whole = sum(weights)
    for _ in range(remaining):
        open_items = [i for i in range(n) if values[i] < high]
        i = max(open_items, key=lambda i: (weights[i] / whole * (remaining + low * n)) - values[i])
        values[i] += 1
    return values


def answers_for(measure: str, value, weights) -> list[int]:
    """Questionnaire answers that score (about) ``value`` (PSFS: a rating per activity)."""
    spec = scoring.SPECS[measure]
    if measure == "nprs":
        return [round(value)]
    if measure == "psfs":
        return [round(v) for v in value]
    if measure in ("odi", "ndi"):
        return allocate(round(value / 2), weights, 0, 5)
    if measure == "quickdash":
        total = min(55, max(11, round(11 * (value / 25 + 1))))
        return allocate(total, weights, 1, 5)
    if measure == "lefs":
        return allocate(round(value), weights, 0, 4)
    raise ValueError(f"no answers for {spec.key}")


def eased(fraction: float, curve: str) -> float:
    """How far along the way from baseline to current a visit is: quick gains early, then
    slower (steady) or none at all after the middle (plateau)."""
    if curve == PLATEAU:
        return min(1.0, fraction / 0.55) ** 0.8
    return 1 - (1 - fraction) ** 1.6


def between(start, end, share: float):
    if isinstance(start, tuple):
        return tuple(between(s, e, share) for s, e in zip(start, end, strict=True))
    return start + (end - start) * share


def note_minutes(rows: tuple, total: int) -> list[tuple[Row, int]]:
    """Share ``total`` minutes over the rows by weight; rows that would get under 3
    minutes are left out (a short bedside visit does less)."""
    chosen = list(rows)
    while len(chosen) > 1:
        whole = sum(r.weight for r in chosen)
        smallest = min(chosen, key=lambda r: r.weight)
        if total * smallest.weight / whole >= 3:
            break
        chosen.remove(smallest)
    minutes = allocate(total, [r.weight for r in chosen], 1, 240)
    return list(zip(chosen, minutes, strict=True))


def spread_days(first: datetime.date, last: datetime.date, count: int, busy: set) -> list[datetime.date]:
    """``count`` visit days from ``first`` on, evenly spaced up to about ``last`` (the visits
    that follow keep the rhythm), never a Sunday nor a day in ``busy`` (the patient's
    appointments); ``first`` (or the nearest free day) is the first of them. Fewer when the
    calendar is too full."""
    span = (last - first).days
    days: list[datetime.date] = []
    for n in range(count):
        wanted = first + datetime.timedelta(days=round(span * n / count))
        for shift in (0, 1, -1, 2, -2, 3, -3):
            day = wanted + datetime.timedelta(days=shift)
            if first <= day <= last and day not in days and day not in busy and day.weekday() != 6:
                days.append(day)
                break
    return sorted(days)


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=TZ)


def _rom_key(rom: Rom) -> str:
    movement = assessments.movement_options()[(rom.joint, rom.movement)]
    return plans.rom_measure_key(movement, rom.side)


def _rom_label(rom: Rom) -> str:
    movement = assessments.movement_options()[(rom.joint, rom.movement)]
    return movement.label + (f" ({rom.side})" if rom.side else "")


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
        words = f"{_rom_label(rom)} from {rom.baseline}° to {rom.target}°"
        goals.append(self._goal(words, _rom_key(rom), rom.baseline, rom.target, target_date))
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
            signed = _at(visit.day, 17, 30)
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
            titles = ", ".join(knowledge.selfcare_item(key).title.lower() for key, _, _ in story.home_care)
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
            "items": [{"item": key, "dosage": dosage, "notes": text} for key, dosage, text in story.home_care],
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
        parts = [f"{_rom_label(rom)} {rom.baseline}° → {degrees}°"]
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
        discharge.do_discharge(therapist, episode, clean, now=_at(on, 17))


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
        loader = _Loader(staff, patients, today)
        for story in STORIES:
            loader.run(story)
    counts = loader.counts
    return ClinicalDemo(True, counts["episodes"], counts["notes"], counts["measurements"])
