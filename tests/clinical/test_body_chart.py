"""The body chart (clinical/bodychart.py and its template include): marks are validated in
plain words, every region of patients.choices.BodyRegion is drawn and reachable by
keyboard exactly once, the no-script list posts the same data, and the read-only chart
carries its facts as text for PDFs and screen readers."""

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.template import Context, Template
from django.template.loader import render_to_string
from hypothesis import given
from hypothesis import strategies as st

from effleura.clinical import bodychart
from effleura.clinical.bodychart import clean_body_marks
from effleura.clinical.choices import BodyMark
from effleura.patients.choices import BodyRegion

# Validation -------------------------------------------------------------------------------


def test_it_accepts_marks_with_known_keys_and_keeps_their_order():
    marks = [
        {"region": "shoulder_l", "symbol": "pain", "intensity": 7},
        {"region": "shoulder_l", "symbol": "trigger_point", "intensity": 5},
        {"region": "low_back", "symbol": "avoid", "intensity": 0},
    ]
    assert clean_body_marks(marks) == marks


def test_it_reads_the_json_the_editable_chart_posts():
    posted = json.dumps([{"region": "neck", "symbol": "tension", "intensity": 4}])
    assert clean_body_marks(posted) == [{"region": "neck", "symbol": "tension", "intensity": 4}]


@pytest.mark.parametrize("empty", [None, "", [], "[]"])
def test_it_takes_nothing_as_no_marks(empty):
    assert clean_body_marks(empty) == []


def test_it_takes_an_intensity_typed_into_a_form():
    assert clean_body_marks([{"region": "knee_r", "symbol": "pain", "intensity": " 6 "}])[0]["intensity"] == 6


@pytest.mark.parametrize(
    ("mark", "words"),
    [
        ({"region": "tail", "symbol": "pain", "intensity": 3}, "“tail” is not a region of the body chart"),
        ({"region": "neck", "symbol": "itch", "intensity": 3}, "“itch” is not a body-chart symbol"),
        ({"region": "neck", "symbol": "pain", "intensity": 11}, "Neck, pain: give an intensity from 0 to 10"),
        ({"region": "neck", "symbol": "pain", "intensity": -1}, "give an intensity from 0 to 10"),
        ({"region": "neck", "symbol": "pain", "intensity": 2.5}, "give an intensity from 0 to 10"),
        ({"region": "neck", "symbol": "pain", "intensity": True}, "give an intensity from 0 to 10"),
        ({"region": "neck", "symbol": "pain", "intensity": "high"}, "give an intensity from 0 to 10"),
        ({"region": "neck", "symbol": "pain"}, "give an intensity from 0 to 10"),
        ({"region": "neck", "symbol": "pain", "intensity": 3, "colour": "red"}, "unknown field(s): colour"),
        ("neck", "Mark 1 is not a region, symbol and intensity"),
    ],
)
def test_it_refuses_a_bad_mark_in_plain_words(mark, words):
    with pytest.raises(ValidationError) as refused:
        clean_body_marks([mark])
    assert words in " ".join(refused.value.messages)


def test_it_refuses_the_same_symbol_twice_on_one_region():
    marks = [
        {"region": "hip_l", "symbol": "pain", "intensity": 3},
        {"region": "hip_l", "symbol": "pain", "intensity": 6},
    ]
    with pytest.raises(ValidationError, match="Left hip is marked “pain” twice"):
        clean_body_marks(marks)


def test_it_refuses_more_than_a_hundred_marks():
    regions, symbols = BodyRegion.values, BodyMark.values
    marks = [{"region": r, "symbol": s, "intensity": 1} for r in regions for s in symbols][:101]
    assert len(marks) == 101
    with pytest.raises(ValidationError, match="at most 100 marks"):
        clean_body_marks(marks)
    assert len(clean_body_marks(marks[:100])) == 100


@pytest.mark.parametrize("junk", ["{not json", "42", '{"region": "neck"}', 7])
def test_it_refuses_what_is_not_a_list_of_marks(junk):
    with pytest.raises(ValidationError):
        clean_body_marks(junk)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "region": st.sampled_from(BodyRegion.values),
                "symbol": st.sampled_from(BodyMark.values),
                "intensity": st.integers(0, 10),
            }
        ),
        max_size=30,
        unique_by=lambda m: (m["region"], m["symbol"]),
    )
)
def test_valid_marks_come_back_unchanged_and_survive_json(marks):
    assert clean_body_marks(marks) == marks
    assert clean_body_marks(json.dumps(marks)) == marks


@given(st.lists(st.dictionaries(st.text(max_size=10), st.one_of(st.text(max_size=10), st.integers())), max_size=5))
def test_anything_else_is_either_clean_or_refused_never_a_crash(value):
    try:
        clean = clean_body_marks(value)
    except ValidationError:
        return
    assert all(set(m) == {"region", "symbol", "intensity"} for m in clean)


# The no-script form --------------------------------------------------------------------------


def test_the_fallback_rows_post_the_ticked_regions_only():
    data = QueryDict(mutable=True)
    data.update({"body_marks-0-region": "neck", "body_marks-0-symbol": "pain", "body_marks-0-intensity": "6"})
    data.update({"body_marks-1-symbol": "pain", "body_marks-1-intensity": ""})  # not ticked
    data.update({"body_marks-12-region": "neck", "body_marks-12-symbol": "tension", "body_marks-12-intensity": "2"})
    raw = bodychart.marks_from_post(data)
    assert clean_body_marks(raw) == [
        {"region": "neck", "symbol": "pain", "intensity": 6},
        {"region": "neck", "symbol": "tension", "intensity": 2},
    ]


def test_the_json_input_wins_when_the_script_enabled_it():
    data = QueryDict(mutable=True)
    data.update({"body_marks": '[{"region": "chest", "symbol": "numbness", "intensity": 2}]'})
    data.update({"body_marks-0-region": "neck", "body_marks-0-symbol": "pain", "body_marks-0-intensity": "6"})
    assert clean_body_marks(bodychart.marks_from_post(data)) == [
        {"region": "chest", "symbol": "numbness", "intensity": 2}
    ]


# The figure ---------------------------------------------------------------------------------


def test_every_region_is_drawn_on_the_view_where_it_belongs():
    front = bodychart.FRONT_REGIONS
    back = bodychart.BACK_REGIONS
    assert front | back == set(BodyRegion.values)
    for only_front in ["face_jaw", "chest", "abdomen", "hip_l", "hip_r"]:
        assert only_front in front and only_front not in back
    for only_back in ["upper_back", "mid_back", "low_back", "glutes"]:
        assert only_back in back and only_back not in front
    for both in ["head", "neck", "shoulder_l", "arm_r", "elbow_l", "wrist_hand_r", "thigh_l", "knee_r", "ankle_foot_l"]:
        assert both in front and both in back


def test_left_and_right_are_the_patients_sides_on_each_view():
    front = bodychart.VIEWS[0].regions
    back = bodychart.VIEWS[1].regions
    # Facing the patient their left shoulder is on our right; from behind, on our left.
    assert front["shoulder_l"][1][0] > 100 > front["shoulder_r"][1][0]
    assert back["shoulder_l"][1][0] < 100 < back["shoulder_r"][1][0]


def _render(marks, editable, field_name="body_marks"):
    return render_to_string(
        "clinical/includes/body_chart.html", {"marks": marks, "editable": editable, "field_name": field_name}
    )


def test_the_editable_chart_has_one_keyboard_stop_per_region_named_with_its_marks():
    html = _render([{"region": "shoulder_l", "symbol": "pain", "intensity": 7}], editable=True)
    stops = re.findall(r'<g class="bc-region[^"]*" data-region="([a-z_]+)"[^>]*tabindex="0" role="button"', html)
    assert sorted(stops) == sorted(BodyRegion.values)
    assert 'aria-label="Left shoulder: pain 7 of 10"' in html
    assert 'aria-label="Right shoulder: no marks"' in html
    assert html.count('aria-haspopup="dialog"') == len(BodyRegion.values)
    # The twin of a region on the other view is there to tap but not a second stop.
    assert len(re.findall(r'class="bc-region[^"]*" data-region="shoulder_l"', html)) == 2


def test_the_editable_chart_carries_its_json_a_live_region_a_dialog_and_the_fallback_list():
    marks = [{"region": "knee_r", "symbol": "tension", "intensity": 3}]
    html = _render(marks, editable=True)
    hidden = re.search(r'<input type="hidden" name="body_marks" value="([^"]*)" data-bodychart-input disabled>', html)
    assert hidden is not None
    assert json.loads(hidden.group(1).replace("&quot;", '"')) == marks
    assert 'aria-live="polite"' in html
    assert "<dialog" in html
    # No script: a checkbox, a symbol select and an intensity box per region, plus the mark made.
    assert html.count('type="checkbox" name="body_marks-') == len(BodyRegion.values) + 1
    assert 'name="body_marks-0-region" value="knee_r" checked' in html
    marked = re.search(r'<select name="body_marks-0-symbol"[^>]*>(.*?)</select>', html).group(1)
    assert re.findall(r'<option value="([a-z_]+)" selected>', marked) == ["tension"]
    assert 'name="body_marks-0-intensity" min="0" max="10" step="1" inputmode="numeric" value="3"' in html
    empty = re.search(r'<select name="body_marks-1-symbol"[^>]*>(.*?)</select>', html).group(1)
    assert " selected" not in empty and empty.count("<option") == len(BodyMark.values)
    assert html.count('type="number" name="body_marks-') == len(BodyRegion.values) + 1
    assert "clinical/bodychart.js" in html


def test_the_field_name_names_the_inputs():
    html = _render([], editable=True, field_name="o_body_marks")
    assert 'name="o_body_marks"' in html
    assert 'name="o_body_marks-0-region"' in html
    assert 'id="bodychart-o_body_marks"' in html


def test_the_read_only_chart_is_plain_svg_with_its_facts_in_text():
    marks = [
        {"region": "low_back", "symbol": "pain", "intensity": 8},
        {"region": "low_back", "symbol": "trigger_point", "intensity": 4},
        {"region": "glutes", "symbol": "avoid", "intensity": 0},
    ]
    html = _render(marks, editable=False)
    assert "tabindex" not in html
    assert 'role="button"' not in html
    assert "<script" not in html and "<input" not in html
    assert html.count('role="img"') == 2
    assert "<strong>Low back</strong>: pain 8 of 10, trigger point 4 of 10" in html
    assert "<strong>Buttocks</strong>: avoid 0 of 10" in html
    assert ">P8</text>" in html and ">TP4</text>" in html and ">Av0</text>" in html
    # Colours are presentation attributes, so a PDF renderer without our CSS shades them.
    assert 'fill="#b42318" fill-opacity="0.55"' in html


def test_the_read_only_chart_says_when_there_are_no_marks():
    html = _render([], editable=False)
    assert "No marks on the body chart." in html
    assert "no marks" in html


def test_a_stored_mark_that_no_longer_makes_sense_is_left_out_not_a_crash():
    html = _render([{"region": "tail", "symbol": "pain", "intensity": 3}, "junk", None], editable=False)
    assert "No marks on the body chart." in html


def test_two_charts_on_one_page_get_different_ids():
    page = Template(
        '{% include "clinical/includes/body_chart.html" with marks=a %}'
        '{% include "clinical/includes/body_chart.html" with marks=b %}'
    ).render(Context({"a": [], "b": []}))
    ids = re.findall(r'id="(bodychart-\d+)"', page)
    assert len(ids) == 2 and ids[0] != ids[1]
