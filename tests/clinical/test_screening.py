"""Screening rules, from PRODUCT.md's screening table: one row per condition.

Severity words: absolute = no massage today (verdict "contraindicated"); local = avoid the
named region ("local"); precaution = adapt ("caution"). Empty `affects` = all massage, which
Effleura applies to every technique, stroke and modality key (see clinical/screening.py).
"""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from effleura.clinical import knowledge, screening
from effleura.clinical.screening import Flag, flags_for_patient, screen, summary, verdict
from effleura.patients.choices import Condition

CONDITION_KEYS = list(Condition.values)
TECHNIQUE_KEYS = [
    "swedish",
    "deep_tissue",
    "trigger_point",
    "myofascial_release",
    "neuromuscular",
    "lymphatic_drainage",
    "sports",
    "effleurage",
    "kneading",
    "compression",
    "friction",
    "tapotement",
    "heat",
    "cold",
    "electrotherapy",
    "stretching_mobilization",
]

# (condition, {technique: expected verdict}, severities of its flags) — straight from the table.
TABLE = [
    # dvt: absolute for massage; lymphatic drainage contraindicated; no electrotherapy over the area
    (
        "dvt",
        {"swedish": "contraindicated", "lymphatic_drainage": "contraindicated", "electrotherapy": "contraindicated"},
        ["absolute", "absolute", "local"],
    ),
    # anticoagulant: precaution: no deep or forceful work (deep_tissue, trigger_point, friction)
    (
        "anticoagulant",
        {
            "deep_tissue": "caution",
            "trigger_point": "caution",
            "friction": "caution",
            "swedish": "ok",
            "effleurage": "ok",
        },
        ["precaution"],
    ),
    # skin_infection: local: no massage, electrodes or heat over it
    ("skin_infection", {"swedish": "local", "electrotherapy": "local", "heat": "local"}, ["local"]),
    # osteoporosis_severe: precaution: limit pressure and joint movement (deep_tissue, stretching_mobilization)
    (
        "osteoporosis_severe",
        {"deep_tissue": "caution", "stretching_mobilization": "caution", "swedish": "ok"},
        ["precaution"],
    ),
    # fever: absolute while present
    ("fever", {"swedish": "contraindicated", "effleurage": "contraindicated", "heat": "contraindicated"}, ["absolute"]),
    # pregnancy: precaution (positioning, provider consultation); electrotherapy over abdomen/low back contraindicated
    ("pregnancy", {"swedish": "caution", "electrotherapy": "local"}, ["local", "precaution"]),
    # recent_surgery: local: no deep pressure over the site
    ("recent_surgery", {"deep_tissue": "local", "swedish": "local"}, ["local"]),
    # cancer_treatment: precaution: no pressure over tumour or irradiated skin; light over bone metastases
    ("cancer_treatment", {"swedish": "caution", "deep_tissue": "caution"}, ["precaution"]),
    # lymphedema: local: no deep tissue in the affected quadrant; lymphatic drainage is indicated
    ("lymphedema", {"deep_tissue": "local", "lymphatic_drainage": "ok", "swedish": "ok"}, ["local"]),
    # varicose_veins: local: no deep or specific work on or distal to them
    ("varicose_veins", {"deep_tissue": "local", "trigger_point": "local", "effleurage": "ok"}, ["local"]),
    # pacemaker: electrotherapy contraindicated
    ("pacemaker", {"electrotherapy": "contraindicated", "swedish": "ok", "heat": "ok"}, ["absolute"]),
    # hypertension_uncontrolled: precaution (above 190/100 at rest: absolute — in the action text)
    ("hypertension_uncontrolled", {"swedish": "caution", "deep_tissue": "caution"}, ["precaution"]),
    # chf: precaution (no deep work, no prone); lymphatic drainage contraindicated
    (
        "chf",
        {"deep_tissue": "caution", "swedish": "caution", "lymphatic_drainage": "contraindicated"},
        ["absolute", "precaution"],
    ),
    # diabetic_neuropathy: precaution: lighter pressure; heat and cold contraindicated on insensate skin
    (
        "diabetic_neuropathy",
        {"swedish": "caution", "heat": "local", "cold": "local", "electrotherapy": "caution"},
        ["local", "precaution"],
    ),
    # acute_inflammation: local: no heat, no deep work over it
    ("acute_inflammation", {"heat": "local", "deep_tissue": "local", "cold": "ok", "effleurage": "ok"}, ["local"]),
    # fracture: local: no pressure or movement at the site
    ("fracture", {"swedish": "local", "stretching_mobilization": "local"}, ["local"]),
    # epilepsy: electrotherapy precaution
    ("epilepsy", {"electrotherapy": "caution", "swedish": "ok"}, ["precaution"]),
    # raynauds: cold contraindicated
    ("raynauds", {"cold": "contraindicated", "heat": "ok", "swedish": "ok"}, ["absolute"]),
]


def test_the_table_covers_every_condition_of_the_health_history():
    assert sorted(row[0] for row in TABLE) == sorted(CONDITION_KEYS)


@pytest.mark.parametrize(("condition", "expected", "severities"), TABLE, ids=[row[0] for row in TABLE])
def test_each_condition_gives_the_verdicts_of_the_screening_table(condition, expected, severities):
    for technique, answer in expected.items():
        assert verdict([condition], technique) == answer, technique
    flags = screen([condition])
    assert [f.severity for f in flags] == severities
    assert all(f.condition == condition for f in flags)
    assert all(f.source and f.action and f.reason for f in flags)


def test_local_flags_name_their_region_and_others_do_not():
    flags = screen(CONDITION_KEYS)
    assert all(f.region for f in flags if f.severity == "local")
    assert all(f.region is None for f in flags if f.severity != "local")


def test_dvt_names_every_rule_of_the_table():
    flags = screen(["dvt"])
    assert flags[0].affects == () and flags[0].defers_visit
    assert flags[1].affects == ("lymphatic_drainage",)
    assert flags[2].affects == ("electrotherapy",) and flags[2].region


def test_anticoagulant_affects_exactly_the_keys_of_the_table():
    (flag,) = screen(["anticoagulant"])
    assert set(flag.affects) == {"deep_tissue", "trigger_point", "friction"}


def test_uncontrolled_hypertension_notes_the_absolute_threshold_in_its_action():
    (flag,) = screen(["hypertension_uncontrolled"])
    assert flag.severity == "precaution"
    assert "190/100" in flag.action and "absolute" in flag.action


def test_chf_precaution_says_no_deep_work_and_no_prone():
    precaution = next(f for f in screen(["chf"]) if f.severity == "precaution")
    assert "no deep work" in precaution.action.lower() and "prone" in precaution.action


def test_lymphedema_names_lymphatic_drainage_as_indicated():
    assert "lymphatic_drainage" in knowledge.condition("lymphedema").indicated


def test_an_absolute_rule_for_all_massage_also_rules_out_the_adjunct_modalities():
    for modality in ("heat", "cold", "electrotherapy", "stretching_mobilization"):
        assert verdict(["fever"], modality) == "contraindicated"
        assert verdict(["dvt"], modality) == "contraindicated"


def test_screen_puts_the_most_severe_flags_first():
    flags = screen(["epilepsy", "fracture", "fever"])
    assert [f.severity for f in flags] == ["absolute", "local", "precaution"]
    assert [f.condition for f in flags] == ["fever", "fracture", "epilepsy"]


def test_an_unknown_condition_key_raises_value_error_naming_it():
    with pytest.raises(ValueError, match="measles"):
        screen(["dvt", "measles"])
    with pytest.raises(ValueError, match="measles"):
        verdict(["measles"], "swedish")


def test_an_unknown_technique_key_raises_value_error_naming_it():
    with pytest.raises(ValueError, match="reiki"):
        verdict([], "reiki")


def test_a_single_key_string_is_one_condition_not_its_letters():
    assert screen("fever") == screen(["fever"])


def test_flags_are_immutable():
    (flag,) = screen(["fever"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        flag.severity = "local"  # type: ignore[misc]


def test_summary_says_no_massage_today_for_an_absolute_all_massage_flag():
    assert summary(screen(["dvt"])) == "No massage today: DVT"
    assert summary(screen(["fever", "dvt", "pregnancy"])) == "No massage today: DVT, Fever"


def test_summary_counts_the_other_flags():
    assert summary([]) == "No screening flags"
    assert summary(screen(["pregnancy", "cancer_treatment"])) == "1 area to avoid, 2 precautions"
    assert summary(screen(["anticoagulant"])) == "1 precaution"
    assert summary(screen(["pacemaker"])) == "1 contraindication"


def test_most_severe():
    assert screening.most_severe([]) is None
    assert screening.most_severe(screen(["epilepsy", "fracture"])) == "local"


def test_verdicts_answers_for_every_key():
    answers = screening.verdicts(["pacemaker"])
    assert list(answers) == knowledge.technique_keys()
    assert answers["electrotherapy"] == "contraindicated"
    assert {v for k, v in answers.items() if k != "electrotherapy"} == {"ok"}


@pytest.mark.django_db
def test_flags_for_patient_reads_the_current_health_history(make_patient, add_history):
    patient = make_patient()
    history = add_history(patient, conditions=["anticoagulant", "pacemaker"])
    flags = flags_for_patient(history)
    assert {f.condition for f in flags} >= {"anticoagulant", "pacemaker"}
    assert flags == screen(history.screening_conditions)
    assert flags_for_patient(None) == []


# --- properties -----------------------------------------------------------------------------

condition_sets = st.lists(st.sampled_from(CONDITION_KEYS), max_size=8)
techniques = st.sampled_from(TECHNIQUE_KEYS)


@given(techniques)
def test_no_conditions_means_ok(technique):
    assert verdict([], technique) == "ok"
    assert screen([]) == []


@given(condition_sets, st.sampled_from(CONDITION_KEYS), techniques)
def test_adding_a_condition_never_makes_a_verdict_less_severe(conditions, extra, technique):
    before = screening.VERDICTS.index(verdict(conditions, technique))
    after = screening.VERDICTS.index(verdict([*conditions, extra], technique))
    assert after >= before


@given(condition_sets, st.randoms(use_true_random=False))
def test_screen_does_not_depend_on_order_or_repetition(conditions, rnd):
    shuffled = list(conditions) * 2
    rnd.shuffle(shuffled)
    assert screen(shuffled) == screen(conditions)


@given(condition_sets)
def test_screen_is_sorted_most_severe_first(conditions):
    ranks = [screening.SEVERITY_RANK[f.severity] for f in screen(conditions)]
    assert ranks == sorted(ranks)


@given(condition_sets, techniques)
def test_verdict_is_the_most_severe_flag_that_concerns_the_technique(conditions, technique):
    concerned = [f for f in screen(conditions) if f.concerns(technique)]
    expected = {"absolute": "contraindicated", "local": "local", "precaution": "caution"}
    worst = max((expected[f.severity] for f in concerned), key=screening.VERDICTS.index, default="ok")
    assert verdict(conditions, technique) == worst


def test_flag_has_exactly_the_fields_of_the_issue():
    assert [f.name for f in dataclasses.fields(Flag)] == [
        "condition",
        "severity",
        "affects",
        "region",
        "action",
        "reason",
        "source",
        "max_pressure",
    ]
