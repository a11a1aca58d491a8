"""The fee lookup (billing/pricing.py): insured lines at the payer's price, else the
standard one; a self-pay visit at its service's price (for its length, when the practice
prices lengths apart) split across the lines by each code's fee and units, the rounding cent on
the largest line; no fee → 0 with a visible note."""

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


def test_a_visit_price_is_split_by_each_codes_fee_and_units():
    # Massage $30 a unit × 2, manual therapy $35 × 1: the $95 visit weighs 60 : 35.
    priced = price_lines({"97124": 2, "97140": 1}, {"97124": D("30"), "97140": D("35")}, visit_price=D("95.00"))
    assert priced.lines["97124"].amount == D("60.00")
    assert priced.lines["97140"].amount == D("35.00")
    assert priced.total == D("95.00")
    assert priced.missing == ()


def test_the_rounding_cent_goes_to_the_largest_line():
    # Three equal codes over $95: each rounds to 31.67, and the largest (the first of equals)
    # takes what is left, 31.66, so the lines add up to the price.
    fees = {"97124": D("30"), "97140": D("30"), "97110": D("30")}
    priced = price_lines({"97124": 1, "97140": 1, "97110": 1}, fees, visit_price=D("95.00"))
    assert [line.amount for line in priced.lines.values()] == [D("31.66"), D("31.67"), D("31.67")]
    # Unequal: 97140 weighs most (50 of 60), so the rounding is its: 16.67 and 83.33.
    priced = price_lines({"97124": 1, "97140": 2}, {"97124": D("10"), "97140": D("25")}, visit_price=D("100.00"))
    assert priced.lines["97124"].amount == D("16.67")
    assert priced.lines["97140"].amount == D("83.33")
    # The largest comes last here: 97110 weighs 3 of 4 and carries the cent, not the last line read.
    priced = price_lines({"97124": 1, "97110": 3}, {"97124": D("1"), "97110": D("1")}, visit_price=D("0.10"))
    assert priced.lines["97124"].amount == D("0.03")
    assert priced.lines["97110"].amount == D("0.07")


def test_a_visit_price_is_split_by_units_when_a_code_has_no_fee():
    priced = price_lines({"97124": 2, "97140": 1}, {"97124": D("30")}, visit_price=D("95.00"))
    assert priced.lines["97124"].amount == D("63.33")  # 2/3 of 95, the largest: it takes the rounding
    assert priced.lines["97140"].amount == D("31.67")
    assert priced.lines["97124"].unit_price == D("31.67")  # 63.33 / 2, for the superbill
    assert priced.total == D("95.00")


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


@given(minutes, st.sampled_from(["cms", "per_code"]), prices, st.dictionaries(st.sampled_from(TIMED + UNTIMED), prices))
def test_a_split_visit_price_always_adds_up_to_the_price(by_code, method, visit_price, code_prices):
    units = timed_units(by_code, method)
    priced = price_lines(units, code_prices, visit_price=visit_price)
    amounts = [line.amount for line in priced.lines.values()]
    assert sum(amounts, D("0")) == priced.total
    assert priced.total == (visit_price if units else D("0.00"))
    assert all(amount >= 0 for amount in amounts)
    if amounts:
        # Each line is within a cent of its fair share, but the largest, which carries the rounding.
        weights = _weights(units, code_prices)
        largest = list(weights.values()).index(max(weights.values()))
        for index, (code, line) in enumerate(priced.lines.items()):
            share = visit_price * weights[code] / sum(weights.values())
            if index != largest:
                assert abs(line.amount - share) < D("0.01")


def _weights(units, code_prices):
    """The rule restated: fee × units when every code with units has a fee, else units, else one each."""
    if all(code in code_prices for code, count in units.items() if count):
        weights = {code: code_prices[code] * count if count else 0 for code, count in units.items()}
        if sum(weights.values()):
            return weights
    if sum(units.values()):
        return dict(units)
    return dict.fromkeys(units, 1)


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


def test_a_service_can_cost_more_for_a_longer_visit(practice, set_fee):
    _, _, service = practice
    set_fee(70, service=service, minutes=30)
    set_fee(120, service=service, minutes=90)
    assert fees_for([], service=service, minutes=30).visit_price == D("70.00")
    assert fees_for([], service=service, minutes=90).visit_price == D("120.00")
    # A length with no price of its own: the service's price for any length, else its default.
    assert fees_for([], service=service, minutes=60).visit_price == D("95.00")
    set_fee(100, service=service)
    assert fees_for([], service=service, minutes=60).visit_price == D("100.00")
    assert fees_for([], service=service, minutes=30).visit_price == D("70.00")


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
