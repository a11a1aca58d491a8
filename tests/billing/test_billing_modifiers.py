"""Box 24D's modifiers (billing/modifiers.py) and how a payer's are checked (billing/setup.py).

The source facts: CMS's NCCI procedure-to-procedure edits pair a column-one and a
column-two code billed for one patient on one date; where the edit allows a modifier, the
distinct-service modifier (59, or XE/XP/XS/XU) goes on the column-two code only, e.g. 97140
with 97530: 97140 carries 59, 97530 nothing. A payer's every-line modifiers (GP: therapy
under a plan of care) go on every line. The CMS-1500 has four modifier places a line
(box 24D). Synthetic codes and payers only."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import given
from hypothesis import strategies as st

from effleura.billing import modifiers, setup
from effleura.billing.modifiers import line_modifiers, pair

MONDAY = datetime.date(2026, 3, 2)
TUESDAY = MONDAY + datetime.timedelta(days=1)
MANUAL_WITH_ACTIVITIES = pair("97140", "97530", "59")
MANUAL_WITH_MASSAGE = pair("97140", "97124", "59")


def _errors(caught) -> dict:
    return {field: " ".join(messages) for field, messages in caught.value.message_dict.items()}


# The rule -----------------------------------------------------------------------------------------


def test_the_column_two_code_of_a_pair_billed_the_same_date_gets_the_modifier_and_only_it():
    lines = [(MONDAY, "97530"), (MONDAY, "97140"), (MONDAY, "97010")]
    assert line_modifiers(lines, [], [MANUAL_WITH_ACTIVITIES]) == [(), ("59",), ()]


def test_a_pair_billed_on_different_dates_takes_no_modifier():
    lines = [(MONDAY, "97530"), (TUESDAY, "97140")]
    assert line_modifiers(lines, [], [MANUAL_WITH_ACTIVITIES]) == [(), ()]


def test_one_code_of_a_pair_alone_takes_no_modifier():
    assert line_modifiers([(MONDAY, "97140"), (MONDAY, "97110")], ["GP"], [MANUAL_WITH_ACTIVITIES]) == [
        ("GP",),
        ("GP",),
    ]


def test_the_every_line_modifiers_come_first_and_none_is_added_twice():
    lines = [(MONDAY, "97124"), (MONDAY, "97530"), (MONDAY, "97140")]
    pairs = [MANUAL_WITH_ACTIVITIES, MANUAL_WITH_MASSAGE, pair("97140", "97530", "XS")]
    assert line_modifiers(lines, ["GP", "KX"], pairs) == [("GP", "KX"), ("GP", "KX"), ("GP", "KX", "59", "XS")]
    # 59 on every line already: the pair does not add a second one.
    assert line_modifiers(lines, ["GP", "59"], pairs)[2] == ("GP", "59", "XS")


def test_a_pair_applies_per_date_on_a_run_of_visits():
    lines = [(MONDAY, "97140"), (MONDAY, "97530"), (TUESDAY, "97140"), (TUESDAY, "97110")]
    assert line_modifiers(lines, ["GP"], [MANUAL_WITH_ACTIVITIES]) == [("GP", "59"), ("GP",), ("GP",), ("GP",)]


def test_stored_pairs_read_as_plain_dicts_work_the_same():
    lines = [(MONDAY, "97124"), (MONDAY, "97140")]
    raw = [{"code": "97140", "billed_with": "97124", "modifier": "59"}, "not a pair"]
    assert line_modifiers(lines, ["GP"], raw) == [("GP",), ("GP", "59")]


CODES = st.sampled_from(["97124", "97140", "97530", "97110", "97010"])
MODS = st.sampled_from(["GP", "KX", "59", "XS", "XU"])
DAYS = st.sampled_from([MONDAY, TUESDAY])


@given(
    lines=st.lists(st.tuples(DAYS, CODES), max_size=8),
    every=st.lists(MODS, max_size=2),
    pairs=st.lists(st.tuples(CODES, CODES, MODS), max_size=6),
)
def test_any_lines_and_pairs_follow_the_rule(lines, every, pairs):
    found = line_modifiers(lines, every, [pair(*p) for p in pairs])
    assert len(found) == len(lines)
    first = tuple(dict.fromkeys(every))
    for (day, code), mods in zip(lines, found, strict=True):
        assert len(mods) == len(set(mods)) <= modifiers.MAX_PER_LINE  # never twice, at most four
        assert mods[: len(first)] == first[: modifiers.MAX_PER_LINE]  # the every-line ones first
        on_that_day = {c for d, c in lines if d == day}
        allowed = {m for c, other, m in pairs if c == code and other in on_that_day}
        # What follows the every-line ones comes from a pair of this line's code whose other
        # code is billed that same date, and each such pair's modifier is there while room is left.
        assert set(mods[len(first) :]) <= allowed
        if len(set(first) | allowed) <= modifiers.MAX_PER_LINE:
            assert set(mods) == set(first) | allowed


# The set-up page's text ---------------------------------------------------------------------------


def test_the_text_reads_one_pair_a_line_in_the_ways_people_write_it():
    text = "97140 with 97530: 59\n\n  97140 97124 xu \n97112 with 97530 → 59 on 97112"
    assert modifiers.parse_pairs(text) == [
        pair("97140", "97530", "59"),
        pair("97140", "97124", "XU"),
        pair("97112", "97530", "59"),
    ]
    assert modifiers.pairs_text(modifiers.parse_pairs(text)).splitlines()[0] == "97140 with 97530: 59"


@pytest.mark.parametrize("text", ["97140 with 97530", "97140 97530 59 97124", "59 on 97140"])
def test_a_line_it_cannot_read_is_named_with_an_example(text):
    with pytest.raises(modifiers.PairSyntaxError) as caught:
        modifiers.parse_pairs("97140 with 97124: 59\n" + text)
    assert "Line 2" in str(caught.value) and "97140 with 97530: 59" in str(caught.value)


# The payer's set-up -------------------------------------------------------------------------------


def test_billing_saves_a_payers_pairs_in_upper_case_and_they_read_back_as_written(billing):
    data = {
        "name": "Synthetic Care (demo)",
        "line_modifiers": "gp",
        "pair_modifiers": [{"code": "97140", "billed_with": "97530", "modifier": "59"},
                           {"code": " 97140", "billed_with": "97124", "modifier": "xs"}],
    }  # fmt: skip
    payer = setup.do_save_payer(billing, setup.check_save_payer(billing, data))
    payer.refresh_from_db()
    assert payer.pair_modifiers == [pair("97140", "97530", "59"), pair("97140", "97124", "XS")]
    assert [str(p) for p in payer.pair_modifiers] == ["97140 with 97530: 59", "97140 with 97124: XS"]
    # A partial change keeps them; an empty list removes them.
    setup.do_save_payer(billing, setup.check_save_payer(billing, {"phone": "555-0100"}, payer), payer)
    payer.refresh_from_db()
    assert len(payer.pair_modifiers) == 2 and payer.version == 2
    setup.do_save_payer(billing, setup.check_save_payer(billing, {"pair_modifiers": []}, payer), payer)
    payer.refresh_from_db()
    assert payer.pair_modifiers == []


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("9714", "97530", "59")], "9714 is not a procedure code"),
        ([("97140", "97530X", "59")], "97530X is not a procedure code"),
        ([("97140", "", "59")], "give both codes"),
        ([("97140", "97530", "5")], "two letters or digits"),
        ([("97140", "97530", "5-9")], "two letters or digits"),
        ([("97140", "97140", "59")], "can't be paired with itself"),
        ([("97140", "97530", "59"), ("97140", "97530", "XU")], "listed twice"),
        ([("97140", "97530", "59"), ("97530", "97140", "59")], "can't both be listed"),
        ([("97140", "97530", "GP")], "GP is already on every line"),
        ([(f"{97100 + n}", "97530", "59") for n in range(modifiers.MAX_PAIRS + 1)], "at most 20 code pairs"),
    ],
)
def test_it_refuses_pairs_that_make_no_sense_in_plain_words(owner, pairs, message):
    data = {"name": "Synthetic Care (demo)", "line_modifiers": "GP", "pair_modifiers": [
        {"code": c, "billed_with": w, "modifier": m} for c, w, m in pairs
    ]}  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        setup.check_save_payer(owner, data)
    assert message in _errors(caught)["pair_modifiers"]


def test_it_refuses_pairs_that_could_put_a_fifth_modifier_on_a_line(owner, make_payer):
    pairs = [{"code": "97140", "billed_with": other, "modifier": m} for other, m in (("97530", "59"), ("97124", "XS"))]
    data = {"name": "Synthetic Care (demo)", "line_modifiers": "GP KX AT", "pair_modifiers": pairs}
    with pytest.raises(ValidationError) as caught:
        setup.check_save_payer(owner, data)
    message = _errors(caught)["pair_modifiers"]
    assert "A line of 97140 could need 5 modifiers (GP KX AT 59 XS)" in message and "holds 4" in message
    # Four is the most: one pair fewer is fine.
    assert setup.check_save_payer(owner, {**data, "pair_modifiers": pairs[:1]})["line_modifiers"] == "GP KX AT"
    # Adding an every-line modifier to a payer that has the pairs is refused beside that field.
    payer = make_payer("Synthetic Shield", line_modifiers="GP KX", pair_modifiers=pairs)
    with pytest.raises(ValidationError) as caught:
        setup.check_save_payer(owner, {"line_modifiers": "GP KX AT"}, payer)
    assert "could need 5 modifiers" in _errors(caught)["line_modifiers"]


def test_the_every_line_modifiers_are_each_kept_once(owner):
    assert (
        setup.check_save_payer(owner, {"name": "Synthetic Care", "line_modifiers": "gp GP, kx"})["line_modifiers"]
        == "GP KX"
    )


@pytest.mark.parametrize("role", ["therapist", "front_desk", "outsider"])
def test_only_the_owner_and_billing_set_a_payers_pairs(role, personas, make_payer):
    payer = make_payer("Synthetic Mutual")
    with pytest.raises(PermissionDenied):
        setup.check_save_payer(personas[role], {"pair_modifiers": [MANUAL_WITH_ACTIVITIES]}, payer)
    payer.refresh_from_db()
    assert payer.pair_modifiers == []
