"""patients/history.py: reading a health history as a person would, and what changed
between two versions. Pure, so plain objects with the HealthHistory attributes do."""

import datetime
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from effleura.patients import history
from effleura.patients.choices import BodyRegion, Condition, ImplantedDevice, PressurePreference

# Which attributes each described line reads. Kept here, not taken from history.py,
# so the property below checks changes() against an independent account of the form.
LINE_ATTRIBUTES = {
    "Presenting complaint": ("presenting_complaint",),
    "Goals for care": ("goals",),
    "Pain areas": ("pain_areas",),
    "Conditions": ("conditions",),
    "Notes on conditions": ("condition_notes",),
    "Medications": ("medications",),
    "Allergies": ("allergies",),
    "Allergic to oils or lotions": ("allergic_to_oils_or_lotions",),
    "Surgeries": ("surgeries",),
    "Pregnant": ("pregnant", "pregnancy_weeks"),
    "Implanted devices": ("implanted_devices",),
    "Notes on devices": ("implanted_devices_notes",),
    "Recent illness or fever": ("recent_illness_or_fever",),
    "Notes on illness": ("recent_illness_notes",),
    "Pressure preference": ("pressure_preference",),
    "Areas to avoid": ("areas_to_avoid",),
    "Notes on areas to avoid": ("areas_to_avoid_notes",),
}

# Free text without "—", "none" or separators, so distinct values read differently
# (an empty answer and the word "none" both read "none", on purpose).
TEXT = st.text(alphabet="abcdfghijklm XYZ", max_size=12)
WORD = st.text(alphabet="abcdfghijklmXYZ", min_size=1, max_size=8)


def keys(choices):
    return st.lists(st.sampled_from(choices.values), unique=True, max_size=4)


MEDICATION = st.fixed_dictionaries({"name": WORD, "dose": st.one_of(st.just(""), WORD), "blood_thinner": st.booleans()})
SURGERY = st.fixed_dictionaries(
    {
        "what": WORD,
        "date": st.one_of(
            st.just(""),
            st.dates(datetime.date(1950, 1, 1), datetime.date(2026, 12, 31)).map(datetime.date.isoformat),
        ),
    }
)
# As the rules save it: weeks only when pregnant.
PREGNANCY = st.one_of(
    st.just({"pregnant": False, "pregnancy_weeks": None}),
    st.fixed_dictionaries({"pregnant": st.just(True), "pregnancy_weeks": st.one_of(st.none(), st.integers(1, 45))}),
)


def single(name, strategy):
    return strategy.map(lambda value: {name: value})


LINES = {
    "Presenting complaint": single("presenting_complaint", TEXT),
    "Goals for care": single("goals", TEXT),
    "Pain areas": single("pain_areas", keys(BodyRegion)),
    "Conditions": single("conditions", keys(Condition)),
    "Notes on conditions": single("condition_notes", TEXT),
    "Medications": single("medications", st.lists(MEDICATION, max_size=3)),
    "Allergies": single("allergies", TEXT),
    "Allergic to oils or lotions": single("allergic_to_oils_or_lotions", st.booleans()),
    "Surgeries": single("surgeries", st.lists(SURGERY, max_size=3)),
    "Pregnant": PREGNANCY,
    "Implanted devices": single("implanted_devices", keys(ImplantedDevice)),
    "Notes on devices": single("implanted_devices_notes", TEXT),
    "Recent illness or fever": single("recent_illness_or_fever", st.booleans()),
    "Notes on illness": single("recent_illness_notes", TEXT),
    "Pressure preference": single("pressure_preference", st.sampled_from(["", *PressurePreference.values])),
    "Areas to avoid": single("areas_to_avoid", keys(BodyRegion)),
    "Notes on areas to avoid": single("areas_to_avoid_notes", TEXT),
}


@st.composite
def versions(draw) -> SimpleNamespace:
    attributes = {}
    for strategy in LINES.values():
        attributes.update(draw(strategy))
    return SimpleNamespace(**attributes)


@st.composite
def version_pairs(draw) -> tuple[SimpleNamespace, SimpleNamespace]:
    """A version and a later one that redraws some of its lines (maybe to the same value)."""
    before = draw(versions())
    redrawn = draw(st.sets(st.sampled_from(list(LINES))))
    after = SimpleNamespace(**vars(before))
    for label in redrawn:
        for name, value in draw(LINES[label]).items():
            setattr(after, name, value)
    return before, after


def blank(**overrides) -> SimpleNamespace:
    values = {
        "presenting_complaint": "",
        "goals": "",
        "pain_areas": [],
        "conditions": [],
        "condition_notes": "",
        "medications": [],
        "allergies": "",
        "allergic_to_oils_or_lotions": False,
        "surgeries": [],
        "pregnant": False,
        "pregnancy_weeks": None,
        "implanted_devices": [],
        "implanted_devices_notes": "",
        "recent_illness_or_fever": False,
        "recent_illness_notes": "",
        "pressure_preference": "",
        "areas_to_avoid": [],
        "areas_to_avoid_notes": "",
    }
    values.update(overrides)
    return SimpleNamespace(**values)


# Properties ---------------------------------------------------------------------------------------


def test_it_describes_every_line_of_the_form_in_order():
    assert [label for label, _ in history.describe(blank())] == list(LINE_ATTRIBUTES)


@given(versions())
def test_it_finds_no_change_between_a_version_and_itself(version):
    assert history.changes(version, version) == []
    assert history.changes(version, SimpleNamespace(**vars(version))) == []


@given(version_pairs())
def test_it_reports_exactly_the_lines_whose_answers_differ(pair):
    before, after = pair
    found = history.changes(before, after)
    differing = [
        label for label, names in LINE_ATTRIBUTES.items() if any(getattr(before, n) != getattr(after, n) for n in names)
    ]
    assert [c.label for c in found] == differing


@given(version_pairs())
def test_it_shows_each_change_as_the_described_before_and_after(pair):
    before, after = pair
    described_before, described_after = dict(history.describe(before)), dict(history.describe(after))
    found = history.changes(before, after)
    assert [c.label for c in found] == [
        label for label in described_before if described_before[label] != described_after[label]
    ]
    for change in found:
        assert change.before == described_before[change.label]
        assert change.after == described_after[change.label]
        assert change.before != change.after


@given(version_pairs())
def test_it_reports_the_same_lines_in_either_direction(pair):
    before, after = pair
    forward = history.changes(before, after)
    backward = history.changes(after, before)
    assert [(c.label, c.before, c.after) for c in forward] == [(c.label, c.after, c.before) for c in backward]


@given(versions())
def test_it_compares_nothing_for_a_first_version(version):
    assert history.changes(None, version) == []


# Examples ----------------------------------------------------------------------------------------


def test_it_reads_an_empty_history_plainly():
    assert dict(history.describe(blank())) == {
        "Presenting complaint": "—",
        "Goals for care": "—",
        "Pain areas": "none",
        "Conditions": "none",
        "Notes on conditions": "—",
        "Medications": "none",
        "Allergies": "none",
        "Allergic to oils or lotions": "no",
        "Surgeries": "none",
        "Pregnant": "no",
        "Implanted devices": "none",
        "Notes on devices": "—",
        "Recent illness or fever": "no",
        "Notes on illness": "—",
        "Pressure preference": "no preference",
        "Areas to avoid": "none",
        "Notes on areas to avoid": "—",
    }


def test_it_reads_keys_as_their_labels_and_details_in_full():
    described = dict(
        history.describe(
            blank(
                pain_areas=["low_back", "knee_r"],
                conditions=["anticoagulant"],
                medications=[
                    {"name": "Warfarin", "dose": "5 mg", "blood_thinner": True},
                    {"name": "Vitamin D", "dose": "", "blood_thinner": False},
                ],
                surgeries=[{"what": "Knee", "date": "2025-01-02"}, {"what": "Tonsils", "date": ""}],
                pregnant=True,
                pregnancy_weeks=20,
                implanted_devices=["pacemaker"],
                pressure_preference="deep",
            )
        )
    )
    assert described["Pain areas"] == "Low back, Right knee"
    assert described["Conditions"] == "Taking blood thinners, or a bleeding disorder"
    assert described["Medications"] == "Warfarin 5 mg (blood thinner); Vitamin D"
    assert described["Surgeries"] == "Knee (2025-01-02); Tonsils"
    assert described["Pregnant"] == "yes, 20 weeks"
    assert described["Implanted devices"] == "Pacemaker"
    assert described["Pressure preference"] == "Deep"


def test_it_reads_pregnant_without_weeks_as_yes():
    assert dict(history.describe(blank(pregnant=True)))["Pregnant"] == "yes"


def test_it_shows_an_unknown_key_as_itself_rather_than_failing():
    # An old version may hold a key the checklist has since dropped.
    assert dict(history.describe(blank(conditions=["retired_key"])))["Conditions"] == "retired_key"


def test_it_reports_a_medication_becoming_a_blood_thinner():
    before = blank(medications=[{"name": "Aspirin", "dose": "81 mg", "blood_thinner": False}])
    after = blank(medications=[{"name": "Aspirin", "dose": "81 mg", "blood_thinner": True}])
    assert history.changes(before, after) == [
        history.Change("Medications", "Aspirin 81 mg", "Aspirin 81 mg (blood thinner)")
    ]
