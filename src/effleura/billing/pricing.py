"""What a visit's procedure codes cost: the fee lookup behind every charge.

The rule (issue 6, item 3; the practice's fee schedule, billing/models/catalog.py):

* Insured visit (the charge has a payer): each line costs its units × the payer's price
  per unit for the code, else the practice's standard price for the code.
* Self-pay visit whose service has a price (the service's standard fee entry for the visit's
  length, else its entry for any length, else the service's default price when above zero):
  the visit costs that price whatever the codes. It is split across the lines in proportion
  to what each would cost on its own, its units × its standard price per unit, because a
  superbill needs a fee per code (issue 14, item 7). When a line with units has no standard
  price the split is by units alone; with no units at all, evenly. Each line is rounded to
  the cent and the largest line (the first of equals) takes what rounding leaves, so the
  lines add up to the price exactly.
* Otherwise (self-pay, no service price): each line costs units × the standard price.
* A code with no price costs 0 and the charge says "no fee set for <code>", so nobody
  mistakes a missing fee for a free visit.

``price_lines`` is pure (plain values in and out); ``fees_for`` reads the fee schedule for
one charge in two queries whatever the number of codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.db.models import F, Q

from effleura.billing.models import FeeScheduleEntry
from effleura.core.values import CENT

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PricedLine:
    code: str
    units: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Pricing:
    lines: dict[str, PricedLine]
    total: Decimal
    missing: tuple[str, ...]  # codes with no fee set, in the order given

    @property
    def note(self) -> str:
        return f"No fee set for {', '.join(self.missing)}." if self.missing else ""


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def price_lines(
    units_by_code: Mapping[str, int],
    code_prices: Mapping[str, Decimal | None],
    visit_price: Decimal | None = None,
) -> Pricing:
    """Price one visit's lines.

    ``units_by_code``: units per code, in line order. ``code_prices``: the price per unit of
    each code (already the payer's or the standard one), None or absent when no fee is set.
    ``visit_price``: the self-pay visit's price from its service, or None (insured visits
    and services without a price); it is split by ``code_prices`` and units. Raises
    ValueError on negative units or prices.
    """
    for code, units in units_by_code.items():
        if isinstance(units, bool) or not isinstance(units, int) or units < 0:
            raise ValueError(f"Units for {code} must be a whole number, 0 or more.")
    if visit_price is not None:
        visit_price = money(visit_price)
        if visit_price < 0:
            raise ValueError("A visit price cannot be negative.")
        return _split(units_by_code, code_prices, visit_price)
    lines: dict[str, PricedLine] = {}
    missing: list[str] = []
    for code, units in units_by_code.items():
        price = code_prices.get(code)
        if price is None:
            missing.append(code)
            price = ZERO
        price = money(price)
        if price < 0:
            raise ValueError(f"The price of {code} cannot be negative.")
        lines[code] = PricedLine(code, units, price, money(price * units))
    return Pricing(lines, sum((line.amount for line in lines.values()), ZERO), tuple(missing))


def _split(
    units_by_code: Mapping[str, int], code_prices: Mapping[str, Decimal | None], visit_price: Decimal
) -> Pricing:
    codes = list(units_by_code)
    if not codes:
        return Pricing({}, ZERO, ())
    weights = split_weights(units_by_code, code_prices)
    total_weight = sum(weights.values())
    largest = max(codes, key=lambda code: weights[code])  # max() keeps the first of equals
    amounts = _shares(codes, weights, total_weight, visit_price, largest, ROUND_HALF_UP)
    if amounts[largest] < 0:
        # Only for a few cents over many lines: rounding the others down leaves the largest 0 or more.
        amounts = _shares(codes, weights, total_weight, visit_price, largest, ROUND_DOWN)
    lines: dict[str, PricedLine] = {}
    for code in codes:
        units = units_by_code[code]
        unit_price = money(amounts[code] / units) if units else ZERO
        lines[code] = PricedLine(code, units, unit_price, amounts[code])
    return Pricing(lines, visit_price, ())


def split_weights(units_by_code: Mapping[str, int], code_prices: Mapping[str, Decimal | None]) -> dict[str, Decimal]:
    """What each line weighs in a split visit price: units × price per unit when every line
    with units has a price, else its units, else 1 each."""
    if all(code_prices.get(code) is not None for code, units in units_by_code.items() if units):
        weights = {code: (code_prices[code] * units if units else ZERO) for code, units in units_by_code.items()}
        if sum(weights.values()):
            return weights
    if sum(units_by_code.values()):
        return {code: Decimal(units) for code, units in units_by_code.items()}
    return dict.fromkeys(units_by_code, Decimal(1))


def _shares(codes, weights, total_weight, visit_price: Decimal, largest: str, rounding) -> dict[str, Decimal]:
    amounts = {
        code: (visit_price * weights[code] / total_weight).quantize(CENT, rounding=rounding)
        for code in codes
        if code != largest
    }
    amounts[largest] = visit_price - sum(amounts.values(), ZERO)
    return amounts


@dataclass(frozen=True)
class Fees:
    """What the fee schedule says for one charge: prices per unit by code, and the visit price."""

    code_prices: dict[str, Decimal]
    visit_price: Decimal | None


def fees_for(codes, *, payer=None, service=None, minutes=None) -> Fees:
    """The prices that apply to a visit with ``payer`` (None: self-pay) for ``service``, lasting
    ``minutes``: the payer's price per code where set, else the standard one; for a self-pay
    visit the service's price (its standard fee entry for that length, else for any length,
    else its default price above zero). Two queries."""
    codes = list(codes)
    by_code: dict[str, Decimal] = {}
    if codes:
        rows = FeeScheduleEntry.objects.filter(code__code__in=codes).filter(
            Q(payer__isnull=True) | Q(payer=payer) if payer is not None else Q(payer__isnull=True)
        )
        # Standard prices first, so a payer's price (read after) replaces them.
        for code, _payer_id, amount in sorted(
            rows.values_list("code__code", "payer_id", "amount"), key=lambda row: row[1] is not None
        ):
            by_code[code] = amount
    visit_price = None
    if payer is None and service is not None:
        length = Q(minutes__isnull=True) | Q(minutes=minutes) if minutes else Q(minutes__isnull=True)
        entry = (
            FeeScheduleEntry.objects.filter(length, service=service, payer__isnull=True)
            .order_by(F("minutes").asc(nulls_last=True))
            .values_list("amount", flat=True)
        )
        visit_price = entry.first()
        if visit_price is None and service.default_price and service.default_price > 0:
            visit_price = service.default_price
    return Fees(by_code, visit_price)
