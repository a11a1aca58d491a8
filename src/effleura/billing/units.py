"""Billing units for procedure codes: the CMS 8-minute rule and the per-code method.

The rule (PRODUCT.md, "Billing facts"; source: CMS, Medicare Claims Processing Manual,
chapter 5, section 20.2, "Reporting of Service Units With HCPCS"):

* Timed codes are billed in 15-minute units; untimed codes once per visit, whatever their
  minutes.
* ``"cms"`` (Medicare, and payers that follow it): add up the minutes of all timed codes;
  the total sets the units: under 8 minutes = 0, 8–22 = 1, 23–37 = 2, 38–52 = 3, 53–67 = 4,
  and so on every 15 minutes. Each code first gets one unit per full 15 minutes of its own
  time; the units left over go, one each, to the codes with the most remaining minutes.
  When two codes have the same remaining minutes, the one with more minutes in all wins,
  then the code that sorts first, so the answer never depends on input order.
* ``"per_code"`` (many commercial payers): each code counted alone: under 8 of its own
  minutes = 0, 8–22 = 1, 23–37 = 2, and so on.

Pure: plain values in, plain values out; no database. The catalog says which codes are
timed; by default the bundled one (billing/knowledge/codes.yaml); callers with the
practice's own catalog pass it.
"""

from __future__ import annotations

from collections.abc import Mapping

from effleura.billing.catalog import bundled_timed

METHODS = ("cms", "per_code")
UNIT_MINUTES = 15
THRESHOLD_MINUTES = 8


def units_for_minutes(minutes: int) -> int:
    """Units for a stretch of timed minutes: 0 under 8, then one more every 15 minutes
    (8–22 = 1, 23–37 = 2, ...)."""
    if minutes < THRESHOLD_MINUTES:
        return 0
    return (minutes - THRESHOLD_MINUTES) // UNIT_MINUTES + 1


def timed_units(
    minutes_by_code: Mapping[str, int], method: str = "cms", *, catalog: Mapping[str, bool] | None = None
) -> dict[str, int]:
    """Units per code for one visit's minutes per code.

    ``catalog`` maps each known code to whether it is timed (the bundled catalog when left
    out). Every code given appears in the answer, in the order given. Raises ValueError on
    an unknown method or code, and on minutes that are negative or not whole numbers.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown unit method {method!r}: use 'cms' or 'per_code'.")
    timed_by_code = bundled_timed() if catalog is None else catalog
    for code, minutes in minutes_by_code.items():
        if code not in timed_by_code:
            raise ValueError(f"Unknown procedure code {code!r}.")
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise ValueError(f"Minutes for {code} must be a whole number, not {minutes!r}.")
        if minutes < 0:
            raise ValueError(f"Minutes for {code} cannot be negative ({minutes}).")

    units = {code: 1 for code in minutes_by_code if not timed_by_code[code]}
    timed = {code: minutes for code, minutes in minutes_by_code.items() if timed_by_code[code]}
    if method == "per_code":
        units.update({code: units_for_minutes(minutes) for code, minutes in timed.items()})
    else:
        units.update(_cms_units(timed))
    return {code: units[code] for code in minutes_by_code}


def _cms_units(timed: Mapping[str, int]) -> dict[str, int]:
    total = units_for_minutes(sum(timed.values()))
    units = {code: minutes // UNIT_MINUTES for code, minutes in timed.items()}
    left_over = total - sum(units.values())
    # Each code's remaining minutes are under 15, so left_over never exceeds the number of
    # codes with remaining minutes (PRODUCT.md's arithmetic); each gets at most one more.
    by_remainder = sorted(
        (code for code, minutes in timed.items() if minutes % UNIT_MINUTES),
        key=lambda code: (-(timed[code] % UNIT_MINUTES), -timed[code], code),
    )
    for code in by_remainder[:left_over]:
        units[code] += 1
    return units
