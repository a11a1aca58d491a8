"""The demo patients' stories as their health histories tell them: one Scenario per
story, each a list of health-history versions.

demo/data.py gives the scenarios to its patients; demo/clinical.py and demo/billing.py
find each patient's scenario again from the first version of their history
(``scenario_of``), so the notes and the bills follow the story.
"""

import datetime
from dataclasses import dataclass

from effleura.patients.models import HealthHistory

# Health histories ------------------------------------------------------------------------
# Each scenario is a list of versions; each version after the first lists only what
# changed. "days_ago" in a surgery becomes a date relative to today, so a recent
# operation stays recent (and derives the recent_surgery condition) whenever it loads.


@dataclass(frozen=True)
class Scenario:
    key: str
    versions: list
    sex: str = ""  # "female" when the story needs it
    ages: tuple = (22, 78)
    therapist: str = ""  # username; the default spreads patients over the team


def _med(name, dose, blood_thinner=False):
    return {"name": name, "dose": dose, "blood_thinner": blood_thinner}


# fmt: off
SPECIAL = [  # contraindications and precautions: each one appears at least once
    Scenario("dvt", [
        {"presenting_complaint": "Low back ache after long drives for work.",
         "goals": "Drive for two hours without back pain.", "pain_areas": ["low_back"],
         "pressure_preference": "firm"},
        {"presenting_complaint": "Low back ache; now also a swollen, painful left calf. Diagnosed "
         "with a deep vein thrombosis 10 days ago and started on rivaroxaban.",
         "conditions": ["dvt"], "medications": [_med("Rivaroxaban", "20 mg daily", True)],
         "pain_areas": ["low_back", "lower_leg_l"], "areas_to_avoid": ["lower_leg_l", "thigh_l"],
         "areas_to_avoid_notes": "No massage on the left leg until the clot is resolved."},
    ], ages=(45, 75)),
    Scenario("anticoagulant_afib", [
        {"presenting_complaint": "Neck and shoulder tension from caring for a grandchild.",
         "goals": "Sleep without waking from shoulder pain.", "pain_areas": ["neck", "shoulder_l", "shoulder_r"],
         "pressure_preference": "firm"},
        {"condition_notes": "Atrial fibrillation found at a check-up; started apixaban.",
         "medications": [_med("Apixaban", "5 mg twice daily", True), _med("Metoprolol", "25 mg daily")],
         "pressure_preference": "moderate"},
    ], ages=(60, 82)),
    Scenario("anticoagulant_valve", [
        {"presenting_complaint": "Stiff upper back and rounded shoulders; works at a drafting table.",
         "goals": "Sit upright at work without aching.", "pain_areas": ["upper_back", "mid_back"],
         "condition_notes": "Mechanical aortic valve since 2018; bruises easily.",
         "medications": [_med("Warfarin", "5 mg daily", True)], "pressure_preference": "light"},
    ], ages=(40, 70)),
    Scenario("pregnancy", [
        {"presenting_complaint": "Pregnancy-related pelvic girdle pain; aching low back by evening.",
         "goals": "Stay active and keep working until 36 weeks.", "pain_areas": ["low_back", "hip_l", "hip_r"],
         "pregnant": True, "pregnancy_weeks": 18, "pressure_preference": "moderate"},
        {"pregnancy_weeks": 24, "pain_areas": ["low_back", "hip_l", "hip_r", "glutes"]},
        {"pregnancy_weeks": 31, "presenting_complaint": "Pelvic girdle pain, now with swollen ankles "
         "in the evening; midwife says blood pressure is normal.",
         "pain_areas": ["low_back", "glutes", "ankle_foot_l", "ankle_foot_r"], "pressure_preference": "light"},
    ], sex="female", ages=(26, 39)),
    Scenario("pregnancy_early", [
        {"presenting_complaint": "Neck and upper-back tension; nausea in the mornings.",
         "goals": "Manage tension headaches without medication during pregnancy.",
         "pain_areas": ["neck", "upper_back"], "pregnant": True, "pregnancy_weeks": 12,
         "pressure_preference": "light"},
    ], sex="female", ages=(24, 38)),
    Scenario("pacemaker", [
        {"presenting_complaint": "Tight left shoulder and chest wall since a pacemaker was fitted.",
         "goals": "Lift the arm to comb hair without pulling at the chest.",
         "pain_areas": ["shoulder_l", "chest", "upper_back"], "implanted_devices": ["pacemaker"],
         "implanted_devices_notes": "Pacemaker, left upper chest, fitted 2021 for heart block.",
         "areas_to_avoid": ["chest"], "pressure_preference": "moderate"},
    ], ages=(62, 85)),
    Scenario("stimulator", [
        {"presenting_complaint": "Chronic low back pain after two lumbar fusions.",
         "goals": "Walk the dog for 30 minutes; reduce pain medication.",
         "pain_areas": ["low_back", "glutes", "thigh_r"], "implanted_devices": ["nerve_stimulator"],
         "implanted_devices_notes": "Spinal cord stimulator, battery in the right buttock.",
         "surgeries": [{"what": "Lumbar fusion L4-L5", "date": "2017-03-14"},
                       {"what": "Lumbar fusion L5-S1", "date": "2020-09-02"}],
         "medications": [_med("Gabapentin", "300 mg three times daily")], "pressure_preference": "moderate"},
    ], ages=(45, 70)),
    Scenario("cancer_treatment", [
        {"presenting_complaint": "Fatigue, neck and shoulder tension, and numb feet during chemotherapy "
         "for colon cancer.", "goals": "Relaxation and better sleep between chemotherapy cycles.",
         "pain_areas": ["neck", "shoulder_l", "shoulder_r", "ankle_foot_l", "ankle_foot_r"],
         "conditions": ["cancer_treatment"], "implanted_devices": ["port_catheter"],
         "implanted_devices_notes": "Port, right upper chest.", "areas_to_avoid": ["chest", "abdomen"],
         "pressure_preference": "light"},
    ], ages=(40, 75), therapist="therapist2"),
    Scenario("lymphedema", [
        {"presenting_complaint": "Heaviness and swelling of the left arm after left mastectomy and "
         "removal of axillary lymph nodes; finishing radiation therapy.",
         "goals": "Reduce arm swelling; return to gardening.",
         "pain_areas": ["arm_l", "shoulder_l", "chest"], "conditions": ["lymphedema", "cancer_treatment"],
         "surgeries": [{"what": "Left mastectomy with axillary lymph node dissection", "date": "2025-06-10"}],
         "areas_to_avoid": ["arm_l"],
         "areas_to_avoid_notes": "No deep work or blood-pressure cuffs on the left arm.",
         "pressure_preference": "light"},
        {"presenting_complaint": "Lymphedema of the left arm after mastectomy; radiation finished, "
         "wears a compression sleeve daily.", "conditions": ["lymphedema"]},
    ], sex="female", ages=(38, 72), therapist="therapist2"),
    Scenario("hypertension", [
        {"presenting_complaint": "Tension headaches most afternoons, starting at the base of the skull.",
         "goals": "Fewer headache days; less ibuprofen.", "pain_areas": ["head", "neck"],
         "medications": [_med("Ibuprofen", "400 mg as needed")], "pressure_preference": "moderate"},
        {"conditions": ["hypertension_uncontrolled"],
         "condition_notes": "Blood pressure 172/98 at the pharmacy last week; not treated yet, "
         "appointment with family doctor booked."},
    ], ages=(45, 70)),
    Scenario("fever", [
        {"presenting_complaint": "Mid and low back stiffness from warehouse work.",
         "goals": "Finish a shift without back pain.", "pain_areas": ["mid_back", "low_back"],
         "pressure_preference": "deep"},
        {"conditions": ["fever"], "recent_illness_or_fever": True,
         "recent_illness_notes": "Fever 38.5 °C and cough since yesterday."},
    ]),
    Scenario("recent_surgery", [
        {"presenting_complaint": "Recovering from a left total hip replacement; tight thigh and buttock, "
         "swelling at the ankle.", "goals": "Walk without a cane; climb stairs one foot per step.",
         "pain_areas": ["hip_l", "thigh_l", "glutes"],
         "surgeries": [{"what": "Left total hip replacement", "days_ago": 26}],
         "implanted_devices": ["joint_replacement"], "areas_to_avoid": ["hip_l"],
         "areas_to_avoid_notes": "Incision site, left hip.", "pressure_preference": "light"},
        {"condition_notes": "Surgeon cleared gentle massage around (not on) the incision."},
    ], ages=(55, 80)),
    Scenario("diabetic_neuropathy", [
        {"presenting_complaint": "Calf cramps at night; numbness in both feet.",
         "goals": "Sleep through the night without cramps.", "pain_areas": ["lower_leg_l", "lower_leg_r"],
         "conditions": ["diabetic_neuropathy"], "medications": [_med("Metformin", "1000 mg twice daily")],
         "areas_to_avoid": ["ankle_foot_l", "ankle_foot_r"],
         "areas_to_avoid_notes": "No heat or cold packs on the feet.", "pressure_preference": "light"},
    ], ages=(50, 80)),
    Scenario("varicose_veins", [
        {"presenting_complaint": "Aching legs after 12-hour nursing shifts.",
         "goals": "Less leg fatigue at the end of a shift.", "pain_areas": ["lower_leg_l", "lower_leg_r"],
         "conditions": ["varicose_veins"], "areas_to_avoid": ["lower_leg_l", "lower_leg_r"],
         "areas_to_avoid_notes": "Varicose veins behind both knees.", "pressure_preference": "moderate"},
    ], ages=(35, 65)),
    Scenario("osteoporosis", [
        {"presenting_complaint": "Upper-back ache and rounded posture; compression fracture of T8 in 2023.",
         "goals": "Stand taller; walk to the market without resting.", "pain_areas": ["upper_back", "mid_back"],
         "conditions": ["osteoporosis_severe"], "medications": [_med("Alendronate", "70 mg weekly")],
         "pressure_preference": "light"},
    ], sex="female", ages=(68, 88)),
    Scenario("chf", [
        {"presenting_complaint": "Swollen ankles and tiredness; referred for gentle relaxation massage.",
         "goals": "Feel rested; enjoy a weekly outing.", "pain_areas": ["ankle_foot_l", "ankle_foot_r"],
         "conditions": ["chf"], "medications": [_med("Furosemide", "40 mg daily")],
         "condition_notes": "Cannot lie flat; treat seated or semi-reclined.", "pressure_preference": "light"},
    ], ages=(70, 90)),
    Scenario("raynauds", [
        {"presenting_complaint": "Forearm tightness from typing; fingers turn white in the cold.",
         "goals": "Type through a work day without forearm pain.",
         "pain_areas": ["arm_l", "arm_r", "wrist_hand_l", "wrist_hand_r"], "conditions": ["raynauds"],
         "pressure_preference": "moderate"},
    ]),
    Scenario("ankle_sprain", [
        {"presenting_complaint": "Sprained right ankle playing soccer five days ago; swollen and bruised.",
         "goals": "Back to training in four weeks.", "pain_areas": ["ankle_foot_r", "lower_leg_r"],
         "conditions": ["acute_inflammation"], "areas_to_avoid": ["ankle_foot_r"],
         "pressure_preference": "firm"},
    ], ages=(18, 35)),
    Scenario("fracture", [
        {"presenting_complaint": "Broken left wrist four weeks ago, cast removed yesterday; stiff forearm "
         "and shoulder.", "goals": "Open jars and carry shopping again.",
         "pain_areas": ["wrist_hand_l", "arm_l", "shoulder_l"], "conditions": ["fracture"],
         "areas_to_avoid": ["wrist_hand_l"], "pressure_preference": "moderate"},
    ]),
    Scenario("epilepsy", [
        {"presenting_complaint": "Shoulder and neck tension; seizures well controlled.",
         "goals": "Fewer stiff-neck days.", "pain_areas": ["neck", "shoulder_r"], "conditions": ["epilepsy"],
         "medications": [_med("Levetiracetam", "500 mg twice daily")], "pressure_preference": "moderate"},
    ]),
    Scenario("skin_infection", [
        {"presenting_complaint": "Neck tension; healing scratch wound on the right forearm.",
         "goals": "Relax neck and shoulders.", "pain_areas": ["neck", "upper_back"],
         "conditions": ["skin_infection"], "areas_to_avoid": ["arm_r"],
         "areas_to_avoid_notes": "Dressing on the right forearm.", "pressure_preference": "moderate"},
    ]),
]

COMMON = [  # everyday clinical massage, no contraindication
    Scenario("low_back", [
        {"presenting_complaint": "Low back pain for three months after lifting boxes while moving house; "
         "worse after sitting for 30 minutes.", "goals": "Sit through a work day without pain; return to tennis.",
         "pain_areas": ["low_back", "glutes"], "pressure_preference": "firm"},
        {"presenting_complaint": "Low back pain, now mostly on the right, with tingling into the right "
         "thigh since last week.", "pain_areas": ["low_back", "glutes", "thigh_r"],
         "pressure_preference": "moderate"},
    ]),
    Scenario("neck_desk", [
        {"presenting_complaint": "Neck and upper-back tightness from long days at a laptop; stiff turning "
         "the head to the left.", "goals": "Check the blind spot when driving; fewer tension days a week.",
         "pain_areas": ["neck", "upper_back", "shoulder_l"], "pressure_preference": "moderate"},
    ]),
    Scenario("tension_headache", [
        {"presenting_complaint": "Tension-type headaches three or four times a week, from the base of the "
         "skull to the temples.", "goals": "Halve the number of headache days.",
         "pain_areas": ["head", "neck", "face_jaw"], "medications": [_med("Ibuprofen", "400 mg as needed")],
         "pressure_preference": "moderate"},
    ]),
    Scenario("fibromyalgia", [
        {"presenting_complaint": "Fibromyalgia since 2019: widespread aching, poor sleep, flare-ups after stress.",
         "goals": "Better sleep; keep walking 20 minutes a day.",
         "pain_areas": ["neck", "upper_back", "low_back", "hip_l", "hip_r"],
         "medications": [_med("Duloxetine", "60 mg daily")], "pressure_preference": "light"},
        {"condition_notes": "Flare in the last two weeks after a family bereavement.",
         "pain_areas": ["neck", "upper_back", "low_back", "hip_l", "hip_r", "thigh_l", "thigh_r"]},
    ]),
    Scenario("sciatica", [
        {"presenting_complaint": "Sciatica down the left leg, worse in the mornings; L5-S1 disc bulge on MRI.",
         "goals": "Put on socks and shoes without pain.",
         "pain_areas": ["low_back", "glutes", "thigh_l", "lower_leg_l"], "pressure_preference": "moderate"},
    ]),
    Scenario("frozen_shoulder", [
        {"presenting_complaint": "Right shoulder stiffness (adhesive capsulitis) for five months; can't "
         "reach overhead.", "goals": "Reach the top kitchen shelf; sleep on the right side.",
         "pain_areas": ["shoulder_r", "arm_r", "upper_back"], "pressure_preference": "moderate"},
        {"goals": "Reach the top kitchen shelf; sleep on the right side; swim breaststroke again.",
         "condition_notes": "Physiotherapist added a home stretching programme."},
    ]),
    Scenario("carpal_tunnel", [
        {"presenting_complaint": "Numbness and tingling in the right thumb and first two fingers at night; "
         "works as a dental hygienist.", "goals": "Work a full day without numbness.",
         "pain_areas": ["wrist_hand_r", "arm_r", "neck"], "pressure_preference": "moderate"},
    ]),
    Scenario("plantar_fasciitis", [
        {"presenting_complaint": "Heel pain with the first steps in the morning; training for a half marathon.",
         "goals": "Run the half marathon in October.", "pain_areas": ["ankle_foot_l", "lower_leg_l"],
         "pressure_preference": "deep"},
    ], ages=(20, 55)),
    Scenario("tmj", [
        {"presenting_complaint": "Jaw clenching and clicking; grinds teeth at night and wears a night guard.",
         "goals": "Chew without jaw pain; wake without a headache.", "pain_areas": ["face_jaw", "head", "neck"],
         "pressure_preference": "light"},
    ]),
    Scenario("it_band", [
        {"presenting_complaint": "Pain on the outside of the right knee on runs longer than 5 km.",
         "goals": "Run 10 km pain-free.", "pain_areas": ["hip_r", "thigh_r", "knee_r"],
         "pressure_preference": "deep"},
    ], ages=(20, 50)),
    Scenario("stress", [
        {"presenting_complaint": "General muscle tension and stress; primary care suggested massage for "
         "relaxation and sleep.", "goals": "Fall asleep within 30 minutes; fewer tight-shoulder days.",
         "pain_areas": ["neck", "upper_back", "shoulder_l", "shoulder_r"], "pressure_preference": "moderate"},
    ]),
    Scenario("whiplash", [
        {"presenting_complaint": "Neck strain after a rear-end car accident eight weeks ago; stiffness and "
         "headaches.", "goals": "Turn the head fully; drive without neck pain.",
         "pain_areas": ["neck", "upper_back", "head"], "pressure_preference": "light"},
        {"presenting_complaint": "Neck strain after a car accident, improving; headaches now once a week.",
         "pain_areas": ["neck", "upper_back"], "pressure_preference": "moderate"},
        {"goals": "Turn the head fully; drive without neck pain; return to yoga.",
         "pressure_preference": "firm"},
    ]),
    Scenario("knee_oa", [
        {"presenting_complaint": "Osteoarthritis in both knees; stiff on stairs and after sitting.",
         "goals": "Garden for an hour; climb stairs without the handrail.",
         "pain_areas": ["knee_l", "knee_r", "thigh_l", "thigh_r"],
         "surgeries": [{"what": "Right knee arthroscopy", "date": "2015-05-20"}], "pressure_preference": "moderate"},
    ], ages=(55, 85)),
    Scenario("acl_rehab", [
        {"presenting_complaint": "Scar tissue and thigh tightness five months after right ACL reconstruction.",
         "goals": "Return to basketball.", "pain_areas": ["knee_r", "thigh_r"],
         "surgeries": [{"what": "Right ACL reconstruction", "days_ago": 150}], "pressure_preference": "firm"},
    ], ages=(18, 40)),
]
# fmt: on


def _resolve_days_ago(value, today: datetime.date):
    if isinstance(value, list):
        return [_resolve_days_ago(v, today) for v in value]
    if isinstance(value, dict) and "days_ago" in value:
        rest = {k: v for k, v in value.items() if k != "days_ago"}
        return rest | {"date": (today - datetime.timedelta(days=value["days_ago"])).isoformat()}
    return value


def history_versions(scenario: Scenario, today: datetime.date) -> list[dict]:
    """Each version of a scenario as the full health-history form (later ones build on earlier)."""
    versions, current = [], {}
    for change in scenario.versions:
        current = current | {k: _resolve_days_ago(v, today) for k, v in change.items()}
        versions.append(dict(current))
    return versions


def scenario_of(patients) -> dict[int, str]:
    """Each patient's scenario key by primary key, read from their first health history
    ("" for a history that follows no scenario)."""
    key_of = {s.versions[0]["presenting_complaint"]: s.key for s in SPECIAL + COMMON}
    first = HealthHistory.objects.filter(patient__in=patients, version=1)
    return {pk: key_of.get(text, "") for pk, text in first.values_list("patient_id", "presenting_complaint")}
