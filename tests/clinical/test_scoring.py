"""Outcome-measure scoring, from PRODUCT.md's "Outcome measures (exact scoring)" table."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from effleura.clinical import scoring
from effleura.clinical.scoring import NotScorable, Score, change, score

# --- the table, row by row --------------------------------------------------------------------


def test_nprs_is_the_number():
    assert score("nprs", [7]) == Score("nprs", 7.0, "/10", None)
    assert score("nprs", (0,)).value == 0.0


@pytest.mark.parametrize("answers", [[None], [], [7, 3], [11], [-1]])
def test_nprs_allows_no_missing_answer_and_one_item_0_to_10(answers):
    with pytest.raises(NotScorable):
        score("nprs", answers)


def test_odi_is_the_sum_over_five_times_the_sections_answered_in_per_cent():
    assert score("odi", [2] * 10) == Score("odi", 40.0, "%", "moderate disability")
    assert score("odi", [0] * 10).value == 0.0
    assert score("odi", [5] * 10).value == 100.0


def test_odi_denominator_shrinks_by_5_per_unanswered_section():
    # 9 sections answered, sum 18: 18 / 45 x 100 = 40 %
    assert score("odi", [2] * 9 + [None]).value == 40.0
    # 8 answered, sum 10: 10 / 40 x 100 = 25 %
    assert score("odi", [None, 1, 1, 1, 1, 1, 1, 2, 2, None]).value == 25.0


def test_odi_with_no_section_answered_is_not_scorable():
    with pytest.raises(NotScorable, match="No section"):
        score("odi", [None] * 10)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal disability"),
        (10, "minimal disability"),  # 20 %
        (11, "moderate disability"),  # 22 %
        (20, "moderate disability"),  # 40 %
        (21, "severe disability"),  # 42 %
        (30, "severe disability"),  # 60 %
        (31, "crippled"),  # 62 %
        (40, "crippled"),  # 80 %
        (41, "bed-bound"),  # 82 %
        (50, "bed-bound"),
    ],
)
def test_odi_bands_follow_the_table(total, band):
    answers = [min(5, max(0, total - 5 * i)) for i in range(10)]
    assert sum(answers) == total
    assert score("odi", answers).band == band


def test_odi_band_of_a_score_with_a_missing_section():
    # 10 of 45 = 22.2 %: above 20, so moderate
    result = score("odi", [1] * 8 + [2, None])
    assert result.value == 22.2
    assert result.band == "moderate disability"


@pytest.mark.parametrize(
    ("raw", "band"),
    [
        (0, "no disability"),
        (4, "no disability"),
        (5, "mild disability"),
        (14, "mild disability"),
        (15, "moderate disability"),
        (24, "moderate disability"),
        (25, "severe disability"),
        (34, "severe disability"),
        (35, "complete disability"),
        (50, "complete disability"),
    ],
)
def test_ndi_scores_as_the_odi_with_the_vernon_mior_bands(raw, band):
    answers = [min(5, max(0, raw - 5 * i)) for i in range(10)]
    result = score("ndi", answers)
    assert result.value == raw * 2
    assert result.unit == "%"
    assert result.band == band


def test_ndi_denominator_shrinks_like_the_odi():
    assert score("ndi", [1] * 8 + [None, None]).value == 20.0
    with pytest.raises(NotScorable):
        score("ndi", [None] * 10)


def test_quickdash_is_sum_over_n_minus_1_times_25():
    assert score("quickdash", [1] * 11) == Score("quickdash", 0.0, "/100", None)
    assert score("quickdash", [5] * 11).value == 100.0
    assert score("quickdash", [3] * 11).value == 50.0
    # ((24 / 11) - 1) x 25 = 29.545...
    assert score("quickdash", [2] * 9 + [3, 3]).value == 29.5


def test_quickdash_with_one_missing_uses_the_items_answered():
    # n = 10: ((30 / 10) - 1) x 25 = 50
    assert score("quickdash", [3] * 10 + [None]).value == 50.0


def test_quickdash_with_more_than_one_missing_is_not_scorable():
    with pytest.raises(NotScorable, match="more than 1 missing"):
        score("quickdash", [3] * 9 + [None, None])


def test_lefs_is_the_sum_and_higher_is_better():
    assert score("lefs", [4] * 20) == Score("lefs", 80.0, "/80", None)
    assert score("lefs", [0] * 20).value == 0.0
    assert score("lefs", [2] * 20).value == 40.0


def test_lefs_refuses_to_score_with_any_item_missing():
    with pytest.raises(NotScorable, match="every item must be answered"):
        score("lefs", [4] * 19 + [None])


def test_psfs_is_the_mean_of_3_to_5_activities():
    assert score("psfs", [3, 5, 7]) == Score("psfs", 5.0, "/10", None)
    assert score("psfs", [2, 4, 6, 8, 10]).value == 6.0
    assert score("psfs", [1, 2, 2]).value == 1.7


def test_psfs_averages_the_activities_rated():
    assert score("psfs", [3, 5, None]).value == 4.0
    with pytest.raises(NotScorable, match="No PSFS activity"):
        score("psfs", [None, None, None])


@pytest.mark.parametrize("count", [0, 1, 2, 6])
def test_psfs_needs_3_to_5_activities(count):
    with pytest.raises(NotScorable, match="3 to 5"):
        score("psfs", [5] * count)


# --- refusals, in words a clinician understands -------------------------------------------


@pytest.mark.parametrize(
    ("measure", "answers", "words"),
    [
        ("odi", [2] * 9, "needs 10 answers; 9 were given"),
        ("odi", [2] * 11, "needs 10 answers; 11 were given"),
        ("odi", [2] * 9 + [6], "Item 10 of the Oswestry Disability Index is 6; answers go from 0 to 5"),
        ("quickdash", [0] + [1] * 10, "answers go from 1 to 5"),
        ("lefs", [4] * 19 + [2.5], "whole numbers"),
        ("nprs", [True], "whole numbers"),
        ("nprs", ["7"], "whole numbers"),
        ("nprs", "7", "list of numbers"),
        ("nprs", 7, "list of numbers"),
        ("vas", [7], "Unknown outcome measure"),
    ],
)
def test_unscorable_answers_say_why(measure, answers, words):
    with pytest.raises(NotScorable) as raised:
        score(measure, answers)
    assert words in str(raised.value)


def test_not_scorable_is_a_value_error():
    assert issubclass(NotScorable, ValueError)


# --- change and the MCID ------------------------------------------------------------------


def test_nprs_change_of_2_points_reaches_the_mcid():
    result = change("nprs", 8, 6)
    assert (result.delta, result.direction, result.reaches_mcid) == (-2.0, "better", True)
    assert "2-point rule" in result.mcid


def test_nprs_change_of_30_percent_reaches_the_mcid_even_under_2_points():
    result = change("nprs", 3, 2)  # 1 point, 33 %
    assert result.reaches_mcid and result.direction == "better"
    assert "30% rule" in result.mcid


def test_nprs_change_reaching_both_rules_says_so():
    assert "both rules" in change("nprs", 6, 3).mcid


def test_nprs_change_under_both_rules_does_not_reach_the_mcid():
    result = change("nprs", 8, 7)  # 1 point, 12.5 %
    assert not result.reaches_mcid
    assert "not reached" in result.mcid


def test_nprs_from_zero_uses_the_point_rule_only():
    result = change("nprs", 0, 2)
    assert result.direction == "worse" and result.reaches_mcid
    assert not change("nprs", 0, 1).reaches_mcid


@pytest.mark.parametrize(
    ("measure", "baseline", "current", "direction", "reaches"),
    [
        ("odi", 40, 30, "better", True),
        ("odi", 40, 31, "better", False),
        ("odi", 30, 40, "worse", True),
        ("ndi", 40, 21, "better", True),
        ("ndi", 40, 22, "better", False),
        ("quickdash", 50, 36, "better", True),
        ("quickdash", 50, 37, "better", False),
        ("lefs", 40, 49, "better", True),
        ("lefs", 40, 48, "better", False),
        ("lefs", 49, 40, "worse", True),
        ("psfs", 3, 5, "better", True),
        ("psfs", 5, 3.4, "worse", False),
        ("psfs", 5, 5, "none", False),
        ("nprs", 5, 5, "none", False),
    ],
)
def test_change_reaches_the_mcid_of_the_table_in_the_right_direction(measure, baseline, current, direction, reaches):
    result = change(measure, baseline, current)
    assert result.direction == direction
    assert result.reaches_mcid is reaches
    assert result.delta == round(current - baseline, 1)


def test_ndi_mcid_text_documents_the_alternative():
    assert "7.5-10" in change("ndi", 40, 20).mcid


def test_change_accepts_scores():
    before, after = score("lefs", [2] * 20), score("lefs", [3] * 20)
    assert change("lefs", before, after).reaches_mcid


def test_change_refuses_a_score_of_another_measure_or_out_of_range():
    with pytest.raises(NotScorable):
        change("ndi", score("odi", [2] * 10), 30)
    with pytest.raises(NotScorable):
        change("lefs", 81, 40)


def test_score_and_change_have_the_fields_of_the_issue():
    assert [f.name for f in dataclasses.fields(Score)] == ["measure", "value", "unit", "band"]
    assert [f.name for f in dataclasses.fields(scoring.Change)] == [
        "measure",
        "delta",
        "direction",
        "reaches_mcid",
        "mcid",
    ]


# --- properties ---------------------------------------------------------------------------


def answers_for(measure, allow_missing=True):
    spec = scoring.SPECS[measure]
    item = st.integers(spec.answer_min, spec.answer_max)
    if allow_missing:
        item = st.one_of(item, st.none())
    return st.lists(item, min_size=spec.min_items, max_size=spec.max_items)


@pytest.mark.parametrize("measure", list(scoring.SPECS))
def test_every_measure_scores_within_its_range(measure):
    spec = scoring.SPECS[measure]

    @given(answers_for(measure))
    def check(answers):
        try:
            result = score(measure, answers)
        except NotScorable:
            return
        assert spec.score_min <= result.value <= spec.score_max
        if spec.bands:
            assert result.band is not None

    check()


@pytest.mark.parametrize("measure", list(scoring.SPECS))
def test_not_scorable_exactly_when_the_missing_rules_say(measure):
    @given(answers_for(measure))
    def check(answers):
        missing = sum(a is None for a in answers)
        answered = len(answers) - missing
        refuse = {
            "nprs": missing > 0,
            "odi": answered == 0,
            "ndi": answered == 0,
            "quickdash": missing > 1,
            "lefs": missing > 0,
            "psfs": answered == 0,
        }[measure]
        try:
            score(measure, answers)
        except NotScorable:
            assert refuse
        else:
            assert not refuse

    check()


@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=10),
    st.randoms(use_true_random=False),
)
def test_odi_score_does_not_depend_on_which_sections_are_missing(values, rnd):
    first = list(values) + [None] * (10 - len(values))
    second = list(first)
    rnd.shuffle(second)
    assert score("odi", first) == score("odi", second)


@given(st.lists(st.integers(0, 5), min_size=10, max_size=10))
def test_ndi_complete_is_twice_the_raw_score(values):
    assert score("ndi", values).value == sum(values) * 2


@given(
    st.sampled_from(list(scoring.SPECS)),
    st.floats(0, 10, allow_nan=False),
    st.floats(0, 10, allow_nan=False),
)
def test_change_direction_matches_the_measure_direction(measure, a, b):
    result = change(measure, a, b)
    if result.direction == "none":
        assert abs(b - a) < 1e-6
    rises_better = scoring.SPECS[measure].direction == "higher_better"
    if result.direction == "better":
        assert (b > a) == rises_better
    if result.direction == "worse":
        assert (b > a) != rises_better
