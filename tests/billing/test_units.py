"""billing/units.py against the rule as PRODUCT.md states it ("Billing facts")."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from effleura.billing.catalog import bundled_timed
from effleura.billing.units import timed_units, units_for_minutes

TIMED = sorted(code for code, timed in bundled_timed().items() if timed)
UNTIMED = sorted(code for code, timed in bundled_timed().items() if not timed)


@pytest.mark.parametrize(
    ("minutes", "units"),
    [(0, 0), (7, 0), (8, 1), (22, 1), (23, 2), (37, 2), (38, 3), (52, 3), (53, 4), (67, 4), (68, 5)],
)
def test_total_minutes_set_the_units_every_15_minutes_from_8(minutes, units):
    assert units_for_minutes(minutes) == units
    assert timed_units({"97124": minutes}) == {"97124": units}


def test_the_bundled_catalog_marks_product_md_codes_timed_and_untimed():
    assert set(TIMED) == {"97124", "97140", "97110", "97112", "97530", "97032", "97035"}
    assert set(UNTIMED) == {"97010", "97014", "G0283"}


def test_cms_pools_minutes_so_two_short_codes_earn_a_unit_per_code_would_not():
    # 7 + 7 = 14 timed minutes: one unit under CMS, none counted code by code.
    assert timed_units({"97124": 7, "97140": 7}, "per_code") == {"97124": 0, "97140": 0}
    cms = timed_units({"97124": 7, "97140": 7}, "cms")
    assert sum(cms.values()) == 1


def test_cms_gives_full_units_first_and_the_left_over_to_the_most_remaining_minutes():
    # CMS's own example: 33 minutes of one code and 7 of another = 40 minutes = 3 units;
    # 2 to the first (two full 15s) and the left-over unit to the code with 7 remaining
    # minutes (more than the first's 3).
    assert timed_units({"97110": 33, "97140": 7}) == {"97110": 2, "97140": 1}


def test_cms_the_total_caps_the_units_even_when_each_code_alone_would_earn_one():
    # 10 + 10 + 10 = 30 minutes = 2 units, though each code alone is over 8 minutes.
    assert timed_units({"97124": 10, "97140": 10, "97110": 10}, "per_code") == {"97124": 1, "97140": 1, "97110": 1}
    cms = timed_units({"97124": 10, "97140": 10, "97110": 10}, "cms")
    assert sum(cms.values()) == 2
    # A three-way tie in remaining minutes goes by code order: 97110 and 97124.
    assert cms == {"97124": 1, "97140": 0, "97110": 1}


def test_cms_ties_go_to_the_code_with_more_minutes_in_all():
    # 35 minutes = 2 units; 97124 25 min (1 full, 10 left), 97140 10 min (0 full, 10 left):
    # one unit left over, tied on 10 remaining minutes: 97124 has more minutes in all.
    assert timed_units({"97140": 10, "97124": 25}) == {"97140": 0, "97124": 2}


def test_per_code_counts_each_code_alone():
    assert timed_units({"97124": 38, "97140": 22, "97110": 7}, "per_code") == {"97124": 3, "97140": 1, "97110": 0}


def test_untimed_codes_get_one_unit_whatever_their_minutes():
    for method in ("cms", "per_code"):
        assert timed_units({"97010": 0, "97014": 45, "97124": 30}, method) == {"97010": 1, "97014": 1, "97124": 2}


def test_untimed_minutes_do_not_count_toward_the_timed_total():
    # 97010's 20 minutes must not lift 97124's 7 minutes to a unit.
    assert timed_units({"97124": 7, "97010": 20}) == {"97124": 0, "97010": 1}


def test_it_keeps_the_codes_in_the_order_given():
    assert list(timed_units({"97140": 20, "97010": 10, "97124": 30})) == ["97140", "97010", "97124"]


def test_nothing_in_nothing_out():
    assert timed_units({}) == {}


@pytest.mark.parametrize("bad", [{"99999": 10}, {"9712": 10}, {"": 1}])
def test_it_refuses_unknown_codes(bad):
    with pytest.raises(ValueError, match="Unknown procedure code"):
        timed_units(bad)


def test_it_refuses_negative_minutes():
    with pytest.raises(ValueError, match="negative"):
        timed_units({"97124": -1})


@pytest.mark.parametrize("bad", [7.5, "10", None, True])
def test_it_refuses_minutes_that_are_not_whole_numbers(bad):
    with pytest.raises(ValueError, match="whole number"):
        timed_units({"97124": bad})


def test_it_refuses_an_unknown_method():
    with pytest.raises(ValueError, match="Unknown unit method"):
        timed_units({"97124": 30}, "medicaid")


def test_a_practice_catalog_can_add_codes():
    assert timed_units({"97124": 30, "97799": 40}, catalog={"97124": True, "97799": False}) == {"97124": 2, "97799": 1}
    with pytest.raises(ValueError):
        timed_units({"97035": 30}, catalog={"97124": True})


visits = st.dictionaries(st.sampled_from(TIMED + UNTIMED), st.integers(min_value=0, max_value=240), max_size=6)


@given(visits)
def test_cms_units_add_up_to_what_the_total_timed_minutes_earn(minutes):
    units = timed_units(minutes, "cms")
    timed_total = sum(m for code, m in minutes.items() if code in TIMED)
    assert sum(u for code, u in units.items() if code in TIMED) == units_for_minutes(timed_total)


@given(visits)
def test_cms_every_code_keeps_its_full_15s_and_gets_at_most_one_more(minutes):
    units = timed_units(minutes, "cms")
    for code, m in minutes.items():
        if code in TIMED:
            assert m // 15 <= units[code] <= m // 15 + 1
            if m == 0:
                assert units[code] == 0


@given(visits)
def test_untimed_codes_are_one_unit_and_units_never_go_negative(minutes):
    for method in ("cms", "per_code"):
        units = timed_units(minutes, method)
        assert set(units) == set(minutes)
        assert all(u >= 0 for u in units.values())
        assert all(units[code] == 1 for code in minutes if code in UNTIMED)


@given(visits)
def test_per_code_units_are_each_codes_own(minutes):
    units = timed_units(minutes, "per_code")
    for code, m in minutes.items():
        if code in TIMED:
            assert units[code] == units_for_minutes(m)


@given(st.dictionaries(st.sampled_from(TIMED), st.integers(min_value=0, max_value=240), min_size=1, max_size=6))
def test_the_answer_does_not_depend_on_the_order_codes_are_given(minutes):
    reversed_input = dict(reversed(list(minutes.items())))
    assert timed_units(minutes) == timed_units(reversed_input)
