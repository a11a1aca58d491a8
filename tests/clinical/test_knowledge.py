"""The clinical knowledge base: complete against PRODUCT.md, validated at start-up, every entry
with its source; a broken file stops the start naming the file and the entry."""

import shutil

import pytest
import yaml
from django.apps import apps
from django.urls import reverse

from effleura.clinical import knowledge, knowledge_loading, knowledge_records, scoring
from effleura.clinical.knowledge_records import KnowledgeError
from effleura.patients.choices import BodyRegion, Condition

PRODUCT_TECHNIQUES = [
    "swedish",
    "deep_tissue",
    "trigger_point",
    "myofascial_release",
    "neuromuscular",
    "lymphatic_drainage",
    "sports",
]
PRODUCT_STROKES = ["effleurage", "kneading", "compression", "friction", "tapotement"]
PRODUCT_MODALITIES = ["heat", "cold", "electrotherapy", "stretching_mobilization"]
# PRODUCT.md "Billing facts": every ICD-10-CM code it names.
PRODUCT_CODES = [
    "M54.50",
    "M54.51",
    "M54.59",
    "M54.2",
    "M62.830",
    "M79.10",
    "M79.11",
    "M79.12",
    "M79.18",
    "M79.7",
    "M54.30",
    "M54.31",
    "M54.32",
    "M54.40",
    "M54.41",
    "M54.42",
    "G44.201",
    "G44.209",
    "G44.211",
    "G44.219",
    "G44.221",
    "G44.229",
    "G56.00",
    "G56.01",
    "G56.02",
    "G56.03",
    "S16.1XXA",
    "S39.012A",
    "S33.5XXA",
    "I89.0",
    "I97.2",
]


@pytest.fixture
def restore_knowledge():
    """Tests that install another knowledge base put the real one back afterwards."""
    yield
    knowledge.reload(knowledge_records.DEFAULT_DIR)


@pytest.fixture
def broken_copy(tmp_path):
    """broken_copy(file, mutate) -> a copy of clinical/knowledge/ where `mutate(doc)` changed
    one file's parsed YAML (or, given a string, replaced its text)."""

    def make(name, mutate):
        target = tmp_path / "knowledge"
        shutil.copytree(knowledge_records.DEFAULT_DIR, target)
        path = target / f"{name}.yaml"
        if isinstance(mutate, str):
            path.write_text(mutate, encoding="utf-8")
        else:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            mutate(doc)
            path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return target

    return make


def every_entry():
    kb = knowledge.get()
    return [
        *kb.techniques,
        *(rule for c in kb.conditions for rule in c.rules),
        *kb.measures,
        *kb.selfcare,
        *kb.posture_findings,
        *kb.rom_movements,
        *kb.tone_findings,
        *kb.special_tests,
        *kb.diagnosis_codes,
    ]


# --- complete against PRODUCT.md ------------------------------------------------------------


def test_techniques_strokes_and_modalities_are_those_of_product_md():
    assert [t.key for t in knowledge.techniques()] == PRODUCT_TECHNIQUES
    assert [t.key for t in knowledge.strokes()] == PRODUCT_STROKES
    assert [t.key for t in knowledge.modalities()] == PRODUCT_MODALITIES
    assert knowledge.technique_keys() == PRODUCT_TECHNIQUES + PRODUCT_STROKES + PRODUCT_MODALITIES
    assert all(t.label and t.description for t in knowledge.all_techniques())


def test_condition_keys_match_the_health_history_checklist_exactly():
    assert sorted(c.key for c in knowledge.conditions()) == sorted(Condition.values)


def test_measures_are_the_six_of_product_md_and_agree_with_scoring():
    assert [m.key for m in knowledge.measures()] == ["nprs", "odi", "ndi", "quickdash", "lefs", "psfs"]
    for m in knowledge.measures():
        spec = scoring.SPECS[m.key]
        assert (m.answer_min, m.answer_max, m.mcid, m.direction) == (
            spec.answer_min,
            spec.answer_max,
            spec.mcid,
            spec.direction,
        )
    assert knowledge.measure("lefs").direction == "higher_better"
    assert knowledge.measure("psfs").direction == "higher_better"
    assert len(knowledge.measure("odi").items) == 10
    assert len(knowledge.measure("quickdash").items) == 11
    assert len(knowledge.measure("lefs").items) == 20
    assert knowledge.measure("psfs").items == ()


def test_measures_file_says_the_item_headings_are_paraphrases():
    assert "not the copyrighted" in knowledge.get().notes["measures"]


def test_odi_bands_are_the_bands_of_product_md():
    assert [(b.high, b.label) for b in knowledge.measure("odi").bands] == [
        (20, "minimal disability"),
        (40, "moderate disability"),
        (60, "severe disability"),
        (80, "crippled"),
        (100, "bed-bound"),
    ]


def test_selfcare_library_has_at_least_20_entries_of_every_kind():
    items = knowledge.selfcare()
    assert len(items) >= 20
    assert {"stretch", "strengthening", "heat_cold", "posture", "ergonomics"} <= {i.category for i in items}
    for item in items:
        assert item.steps and item.dosage and item.title
        assert set(item.regions) <= set(BodyRegion.values)
    assert knowledge.selfcare_item("chin_tuck").regions == ("neck",)


def test_assessment_lists_cover_the_findings_of_the_brief():
    posture = {p.key: p for p in knowledge.posture_findings()}
    for key in [
        "forward_head",
        "rounded_shoulders",
        "shoulder_elevation",
        "anterior_pelvic_tilt",
        "posterior_pelvic_tilt",
        "lateral_pelvic_tilt",
        "scoliosis",
        "hyperkyphosis",
        "hyperlordosis",
        "genu_valgum",
        "genu_varum",
        "pes_planus",
    ]:
        assert key in posture
    assert posture["shoulder_elevation"].sided
    assert not posture["forward_head"].sided
    joints = {(m.joint, m.movement) for m in knowledge.rom_movements()}
    for joint, movement in [
        ("cervical spine", "flexion"),
        ("cervical spine", "extension"),
        ("cervical spine", "rotation"),
        ("cervical spine", "lateral flexion"),
        ("shoulder", "flexion"),
        ("shoulder", "extension"),
        ("shoulder", "abduction"),
        ("shoulder", "internal rotation"),
        ("shoulder", "external rotation"),
        ("elbow", "flexion"),
        ("wrist", "flexion"),
        ("lumbar spine", "flexion"),
        ("hip", "flexion"),
        ("knee", "flexion"),
        ("ankle", "dorsiflexion"),
    ]:
        assert (joint, movement) in joints
    rotation = knowledge.rom_movement("cervical_rotation")
    assert rotation.sided and rotation.normal_min <= 70 <= rotation.normal_max  # the example goal
    assert {t.key for t in knowledge.tone_findings()} >= {
        "normal",
        "hypertonic",
        "hypotonic",
        "spasm",
        "trigger_point",
        "fibrotic",
        "tender",
    }
    assert {t.key for t in knowledge.special_tests()} >= {
        "spurling",
        "phalen",
        "tinel_wrist",
        "straight_leg_raise",
        "faber",
        "thomas",
        "empty_can",
        "adson",
    }
    assert all(t.purpose and t.positive for t in knowledge.special_tests())


def test_every_entry_has_a_source_and_a_review_field():
    entries = every_entry()
    assert len(entries) > 150
    for entry in entries:
        assert entry.source.strip(), entry
        assert entry.reviewed is None or hasattr(entry.reviewed, "isoformat")


def test_keys_are_unique_in_every_list():
    kb = knowledge.get()
    for group in (kb.techniques, kb.conditions, kb.measures, kb.selfcare):
        keys = [x.key for x in group]
        assert len(keys) == len(set(keys))
    codes = [d.code for d in kb.diagnosis_codes]
    assert len(codes) == len(set(codes))


# --- diagnosis codes ------------------------------------------------------------------------


def test_every_diagnosis_code_of_product_md_is_listed_and_valid():
    known = {d.code: d for d in knowledge.diagnosis_codes()}
    for code in PRODUCT_CODES:
        assert known[code].valid, code
        assert known[code].description
        assert knowledge.is_valid_icd10(code)


def test_m54_5_is_known_invalid_since_october_2021():
    entry = knowledge.diagnosis_code("M54.5")
    assert entry is not None and not entry.valid
    assert "2021" in entry.note and "M54.50" in entry.note
    assert not knowledge.is_valid_icd10("M54.5")
    assert not knowledge.is_valid_icd10(" m54.5 ")


@pytest.mark.parametrize("code", ["M54.50", "m54.2", "S16.1XXA", "G44.209", "I89.0", "Z99.89", "M62"])
def test_well_formed_codes_are_valid(code):
    assert knowledge.is_valid_icd10(code)


@pytest.mark.parametrize("code", ["", "M5", "5M4.50", "M54.", "M54.12345", "M54-50", "MM4.5", "M54.5 0", None, 5450])
def test_malformed_codes_are_not_valid(code):
    assert not knowledge.is_valid_icd10(code)


def test_search_diagnosis_by_code_prefix_or_words():
    assert [d.code for d in knowledge.search_diagnosis("m54.4")] == ["M54.40", "M54.41", "M54.42"]
    assert [d.code for d in knowledge.search_diagnosis("M545")] == ["M54.50", "M54.51", "M54.59"]
    assert {d.code for d in knowledge.search_diagnosis("carpal tunnel left")} == {"G56.02"}
    assert knowledge.search_diagnosis("") == []
    assert all(d.valid for d in knowledge.search_diagnosis("low back pain"))


def test_label_finds_any_key_and_falls_back_to_the_key():
    assert knowledge.label("deep_tissue") == "Deep tissue massage"
    assert knowledge.label("dvt") == "Deep vein thrombosis or thrombophlebitis"
    assert knowledge.label("odi") == "Oswestry Disability Index"
    assert knowledge.label("chin_tuck") == "Chin tuck"
    assert knowledge.label("cervical_rotation") == "Neck rotation"
    assert knowledge.label("M54.2") == "M54.2 Cervicalgia"
    assert knowledge.label("no_such_key") == "no_such_key"


# --- validation: a broken file names the file and the entry ----------------------------------


def _first(doc, key):
    return next(e for e in doc["entries"] if e.get("key") == key)


@pytest.mark.parametrize(
    ("file", "mutate", "entry", "words"),
    [
        (
            "conditions",
            lambda d: _first(d, "dvt")["rules"][0].update(affects=["reiki"]),
            "dvt rule 1",
            "unknown key(s): reiki",
        ),
        ("conditions", lambda d: d["entries"].pop(), "raynauds", "no screening rules"),
        (
            "conditions",
            lambda d: d["entries"].append({**_first(d, "fever"), "key": "measles"}),
            "measles",
            "not a condition key",
        ),
        ("conditions", lambda d: _first(d, "fracture")["rules"][0].update(region=None), "fracture rule 1", "region"),
        ("conditions", lambda d: _first(d, "fever")["rules"][0].update(severity="mild"), "fever rule 1", "severity"),
        ("techniques", lambda d: d["entries"].append(dict(d["entries"][0])), "swedish", "duplicate key"),
        ("techniques", lambda d: d["entries"][1].pop("source"), "deep_tissue", "`source`"),
        ("techniques", lambda d: d["entries"][2].pop("reviewed"), "trigger_point", "`reviewed` is missing"),
        (
            "techniques",
            lambda d: d["entries"][0].update(reviewed="last spring"),
            "swedish",
            "`reviewed` must be a date",
        ),
        ("measures", lambda d: _first(d, "odi").update(answer_max=6), "odi", "answer_max"),
        ("measures", lambda d: _first(d, "lefs").update(mcid=8), "lefs", "mcid"),
        ("measures", lambda d: _first(d, "quickdash")["items"].pop(), "quickdash", "10 items"),
        ("measures", lambda d: _first(d, "odi")["bands"][0].update(high=25), "odi", "bands"),
        ("selfcare", lambda d: _first(d, "chin_tuck").update(regions=["elbow"]), "chin_tuck", "elbow"),
        ("selfcare", lambda d: _first(d, "chin_tuck").update(steps=[]), "chin_tuck", "steps"),
        ("selfcare", lambda d: _first(d, "chin_tuck").update(source=""), "chin_tuck", "`source`"),
        (
            "assessment",
            lambda d: d["rom_movements"][0].update(normal_min=60, normal_max=50),
            "cervical_flexion",
            "normal range",
        ),
        ("diagnosis_codes", lambda d: d["entries"][0].update(code="M54-50"), "M54-50", "ICD-10-CM format"),
        ("diagnosis_codes", lambda d: d["entries"][-1].update(note=None), "M79.1", "note"),
    ],
)
def test_a_broken_file_raises_knowledge_error_naming_file_and_entry(broken_copy, file, mutate, entry, words):
    directory = broken_copy(file, mutate)
    with pytest.raises(KnowledgeError) as raised:
        knowledge_loading.load(directory)
    error = raised.value
    assert (error.file, error.entry) == (file, entry)
    assert words in str(error)
    assert f"{file}.yaml" in str(error)


def test_invalid_yaml_names_the_file_and_line(broken_copy):
    directory = broken_copy("selfcare", "file: selfcare\nentries:\n  - key: [unclosed\n")
    with pytest.raises(KnowledgeError, match=r"selfcare\.yaml: is not valid YAML at line"):
        knowledge_loading.load(directory)


def test_a_missing_file_is_named(tmp_path):
    target = tmp_path / "knowledge"
    shutil.copytree(knowledge_records.DEFAULT_DIR, target)
    (target / "measures.yaml").unlink()
    with pytest.raises(KnowledgeError, match=r"measures\.yaml: cannot be read"):
        knowledge_loading.load(target)


def test_the_app_loads_the_knowledge_base_at_start_up_and_a_broken_file_stops_it(
    broken_copy, settings, restore_knowledge
):
    config = apps.get_app_config("clinical")
    settings.CLINICAL_KNOWLEDGE_DIR = str(
        broken_copy("conditions", lambda d: _first(d, "pacemaker")["rules"][0].update(affects=["laser"]))
    )
    with pytest.raises(KnowledgeError) as raised:
        config.ready()
    assert (raised.value.file, raised.value.entry) == ("conditions", "pacemaker rule 1")
    # The knowledge base in use is unchanged by the failed load.
    assert knowledge.get().directory == knowledge_records.DEFAULT_DIR


def test_the_app_uses_a_configured_reviewed_copy(tmp_path, settings, restore_knowledge):
    target = tmp_path / "reviewed"
    shutil.copytree(knowledge_records.DEFAULT_DIR, target)
    settings.CLINICAL_KNOWLEDGE_DIR = str(target)
    apps.get_app_config("clinical").ready()
    assert knowledge.get().directory == target


# --- the knowledge-base page -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "therapist"])
def test_clinicians_see_every_fact_with_its_source(request, client_for, role):
    response = client_for(request.getfixturevalue(role)).get(reverse("clinical:knowledge"))
    assert response.status_code == 200
    page = response.content.decode()
    for key in PRODUCT_TECHNIQUES + PRODUCT_STROKES + PRODUCT_MODALITIES + list(Condition.values):
        assert f"<code>{key}</code>" in page
    for entry in knowledge.selfcare() + knowledge.special_tests():
        assert f"<code>{entry.key}</code>" in page
    assert "Werner R. A Massage Therapist&#x27;s Guide to Pathology" in page
    assert "Fairbank JC, Pynsent PB" in page
    assert "Not yet reviewed" in page
    assert "M54.5" in page and "Not valid" in page
    assert "all massage" in page


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["front_desk", "billing"])
def test_front_desk_and_billing_do_not_see_the_knowledge_base(request, client_for, role):
    response = client_for(request.getfixturevalue(role)).get(reverse("clinical:knowledge"))
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_knowledge_base_page_needs_a_sign_in(client):
    response = client.get(reverse("clinical:knowledge"))
    assert response.status_code == 302
