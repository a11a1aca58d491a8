"""The fee lookup (billing/pricing.py): insured lines at the payer's price, else the
standard one; a self-pay visit at its service's price split across the lines; no fee → 0
with a visible note."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from effleura.billing.pricing import fees_for, price_lines
from effleura.billing.units import timed_units

D = Decimal


def test_each_line_costs_its_units_times_its_price():
    priced = price_lines({"97124": 2, "97010": 1}, {"97124": D("30.00"), "97010": D("12.50")})
    assert priced.lines["97124"].amount == D("60.00")
    assert priced.lines["97010"].amount == D("12.50")
    assert priced.total == D("72.50")
    assert priced.missing == ()
    assert priced.note == ""


def test_a_code_with_no_fee_costs_nothing_and_says_so():
    priced = price_lines({"97124": 2, "97140": 1}, {"97124": D("30")})
    assert priced.lines["97140"].amount == D("0.00")
    assert priced.missing == ("97140",)
    assert priced.note == "No fee set for 97140."
    assert priced.total == D("60.00")


def test_a_visit_price_is_split_by_units_with_the_rounding_carried_to_the_last_line():
    priced = price_lines({"97124": 2, "97140": 1}, {}, visit_price=D("95.00"))
    assert priced.lines["97124"].amount == D("63.33")
    assert priced.lines["97140"].amount == D("31.67")
    assert priced.lines["97124"].unit_price == D("31.67")  # 63.33 / 2, for the superbill
    assert priced.total == D("95.00")
    assert priced.missing == ()


def test_a_visit_price_with_no_units_is_split_evenly():
    priced = price_lines({"97124": 0, "97010": 0}, {}, visit_price=D("80"))
    assert [line.amount for line in priced.lines.values()] == [D("40.00"), D("40.00")]


def test_a_visit_with_no_lines_costs_nothing():
    assert price_lines({}, {}, visit_price=D("80")).total == D("0.00")


def test_it_refuses_negative_units_and_prices():
    with pytest.raises(ValueError):
        price_lines({"97124": -1}, {"97124": D("30")})
    with pytest.raises(ValueError):
        price_lines({"97124": 1}, {"97124": D("-30")})
    with pytest.raises(ValueError):
        price_lines({"97124": 1}, {}, visit_price=D("-1"))


TIMED = ["97124", "97140", "97110", "97112"]
UNTIMED = ["97010", "97014"]
minutes = st.dictionaries(st.sampled_from(TIMED + UNTIMED), st.integers(0, 120), max_size=6)
prices = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False)


@given(minutes, st.sampled_from(["cms", "per_code"]), st.dictionaries(st.sampled_from(TIMED + UNTIMED), prices))
def test_per_code_totals_are_the_sum_of_the_lines(by_code, method, code_prices):
    units = timed_units(by_code, method)
    priced = price_lines(units, code_prices)
    assert priced.total == sum((line.amount for line in priced.lines.values()), D("0"))
    for code, line in priced.lines.items():
        assert line.amount == (line.unit_price * line.units).quantize(D("0.01"))
        assert (code in priced.missing) == (code not in code_prices)


@given(minutes, st.sampled_from(["cms", "per_code"]), prices)
def test_a_split_visit_price_always_adds_up_to_the_price(by_code, method, visit_price):
    units = timed_units(by_code, method)
    priced = price_lines(units, {}, visit_price=visit_price)
    assert sum((line.amount for line in priced.lines.values()), D("0")) == priced.total
    assert priced.total == (visit_price if units else D("0.00"))
    assert all(line.amount >= 0 for line in priced.lines.values())


@given(minutes)
def test_cms_units_never_exceed_the_rule_for_the_total_timed_minutes(by_code):
    units = timed_units(by_code, "cms")
    timed_total = sum(m for c, m in by_code.items() if c in TIMED)
    allowed = 0 if timed_total < 8 else (timed_total - 8) // 15 + 1
    assert sum(u for c, u in units.items() if c in TIMED) <= allowed
    assert all(units[c] == 1 for c in by_code if c in UNTIMED)


@given(minutes)
def test_per_code_units_never_exceed_each_codes_own_minutes(by_code):
    units = timed_units(by_code, "per_code")
    for code, m in by_code.items():
        if code in TIMED:
            assert units[code] == (0 if m < 8 else (m - 8) // 15 + 1)


# The fee schedule ----------------------------------------------------------------------


def test_a_payers_price_replaces_the_standard_one(db, make_payer, set_fee):
    payer = make_payer()
    set_fee(30, code="97124")
    set_fee(25, code="97124", payer=payer)
    set_fee(20, code="97140")
    fees = fees_for(["97124", "97140", "97010"], payer=payer)
    assert fees.code_prices == {"97124": D("25.00"), "97140": D("20.00")}
    assert fees.visit_price is None


def test_another_payers_price_is_not_used(db, make_payer, set_fee):
    ours, theirs = make_payer("Synthetic A"), make_payer("Synthetic B")
    set_fee(40, code="97124", payer=theirs)
    assert fees_for(["97124"], payer=ours).code_prices == {}
    assert fees_for(["97124"]).code_prices == {}


def test_a_self_pay_visit_takes_the_services_fee_entry_over_its_default_price(practice, set_fee):
    _, _, service = practice
    assert fees_for([], service=service).visit_price == D("95.00")  # the service's default price
    set_fee(110, service=service)
    assert fees_for([], service=service).visit_price == D("110.00")


def test_an_insured_visit_ignores_the_service_price(practice, make_payer, set_fee):
    _, _, service = practice
    set_fee(110, service=service)
    assert fees_for(["97124"], payer=make_payer(), service=service).visit_price is None


def test_a_service_with_no_price_falls_back_to_code_prices(practice, set_fee):
    _, _, service = practice
    service.default_price = D("0")
    service.save()
    set_fee(30, code="97124")
    fees = fees_for(["97124"], service=service)
    assert fees.visit_price is None
    assert fees.code_prices == {"97124": D("30.00")}


def test_a_tiny_visit_price_split_over_many_lines_never_goes_negative():
    priced = price_lines(dict.fromkeys(["97124", "97140", "97110", "97010", "97014", "97112"], 0), {}, D("0.01"))
    assert all(line.amount >= 0 for line in priced.lines.values())
    assert priced.total == sum((line.amount for line in priced.lines.values()), D("0")) == D("0.01")
