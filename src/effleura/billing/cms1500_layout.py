"""Where each value of a CMS-1500 (02/12) falls on the form: the grid of 10 characters
per inch and 6 lines per inch, box by box, from billing/knowledge/cms1500_layout.yaml
(its source is named there and in docs/decisions/0036).

``placed(page)`` turns one page of cms1500.claim_data() into the characters to print,
each at its line and column; the PDF template draws them there, with the form itself (the
red boxes and their labels) on plain paper, or alone for the red pre-printed form. Pure:
no database.
"""

import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from effleura.billing.choices import PlanType, Relationship

LAYOUT_FILE = Path(__file__).parent / "knowledge" / "cms1500_layout.yaml"
MARK = "X"
PLAN_BOXES = {
    PlanType.MEDICARE: "1_medicare",
    PlanType.MEDICAID: "1_medicaid",
    PlanType.TRICARE: "1_tricare",
    PlanType.CHAMPVA: "1_champva",
    PlanType.GROUP: "1_group",
    PlanType.FECA: "1_feca",
    PlanType.OTHER: "1_other",
}
RELATIONSHIP_BOXES = {
    Relationship.SELF: "6_self",
    Relationship.SPOUSE: "6_spouse",
    Relationship.CHILD: "6_child",
    Relationship.OTHER: "6_other",
}
# The label printed at the top of each box on plain paper (the form's own words, shortened).
BOX_LABELS = {
    "carrier": "CARRIER",
    "1": "1. MEDICARE · MEDICAID · TRICARE · CHAMPVA · GROUP HEALTH PLAN · FECA BLK LUNG · OTHER",
    "1a": "1a. INSURED'S I.D. NUMBER",
    "2": "2. PATIENT'S NAME (Last, First, Middle Initial)",
    "3": "3. PATIENT'S BIRTH DATE (MM DD YY) · SEX M / F",
    "4": "4. INSURED'S NAME (Last, First, Middle Initial)",
    "5": "5. PATIENT'S ADDRESS (No., Street) · CITY · STATE · ZIP · TELEPHONE",
    "6": "6. PATIENT RELATIONSHIP TO INSURED: Self · Spouse · Child · Other",
    "7": "7. INSURED'S ADDRESS (No., Street) · CITY · STATE · ZIP · TELEPHONE",
    "8": "8. RESERVED FOR NUCC USE",
    "9": "9. OTHER INSURED'S NAME",
    "9a": "a. OTHER INSURED'S POLICY OR GROUP NUMBER",
    "9b": "b. RESERVED FOR NUCC USE",
    "9c": "c. RESERVED FOR NUCC USE",
    "9d": "d. INSURANCE PLAN NAME OR PROGRAM NAME",
    "10": "10. IS PATIENT'S CONDITION RELATED TO:",
    "10a": "a. EMPLOYMENT? (Current or Previous)  YES · NO",
    "10b": "b. AUTO ACCIDENT?  YES · NO · PLACE (State)",
    "10c": "c. OTHER ACCIDENT?  YES · NO",
    "10d": "10d. CLAIM CODES (Designated by NUCC)",
    "11": "11. INSURED'S POLICY GROUP OR FECA NUMBER",
    "11a": "a. INSURED'S DATE OF BIRTH · SEX M / F",
    "11b": "b. OTHER CLAIM ID (Designated by NUCC)",
    "11c": "c. INSURANCE PLAN NAME OR PROGRAM NAME",
    "11d": "d. IS THERE ANOTHER HEALTH BENEFIT PLAN?  YES · NO",
    "12": "12. PATIENT'S OR AUTHORIZED PERSON'S SIGNATURE",
    "13": "13. INSURED'S OR AUTHORIZED PERSON'S SIGNATURE",
    "14": "14. DATE OF CURRENT ILLNESS, INJURY, or PREGNANCY (LMP) · QUAL.",
    "15": "15. OTHER DATE · QUAL.",
    "16": "16. DATES PATIENT UNABLE TO WORK IN CURRENT OCCUPATION",
    "17": "17. NAME OF REFERRING PROVIDER OR OTHER SOURCE",
    "17b": "17b. NPI",
    "18": "18. HOSPITALIZATION DATES RELATED TO CURRENT SERVICES",
    "19": "19. ADDITIONAL CLAIM INFORMATION (Designated by NUCC)",
    "20": "20. OUTSIDE LAB?  $ CHARGES",
    "21": "21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY · ICD Ind.",
    "22": "22. RESUBMISSION CODE · ORIGINAL REF. NO.",
    "23": "23. PRIOR AUTHORIZATION NUMBER",
    "24": "24. A. DATE(S) OF SERVICE · B. PLACE · C. EMG · D. PROCEDURES (CPT/HCPCS, MODIFIER) · "
    "E. DIAGNOSIS POINTER · F. $ CHARGES · G. UNITS · H. EPSDT · I. ID QUAL. · J. RENDERING PROVIDER ID. #",
    "25": "25. FEDERAL TAX I.D. NUMBER  SSN EIN",
    "26": "26. PATIENT'S ACCOUNT NO.",
    "27": "27. ACCEPT ASSIGNMENT?",
    "28": "28. TOTAL CHARGE",
    "29": "29. AMOUNT PAID",
    "30": "30. Rsvd for NUCC Use",
    "31": "31. SIGNATURE OF PHYSICIAN OR SUPPLIER",
    "32": "32. SERVICE FACILITY LOCATION INFORMATION",
    "33": "33. BILLING PROVIDER INFO & PH #",
}


@dataclass(frozen=True)
class Layout:
    source: str
    columns_per_inch: int
    lines_per_inch: int
    areas: dict[str, tuple[int, int, int, int]]  # box -> (first line, first column, last line, last column)
    fields: dict[str, tuple[int, int, int]]  # field -> (line, column, width)
    service_first: int
    service_step: int
    service_fields: dict[str, tuple[int, int, int]]  # field -> (line offset, column, width)


@dataclass(frozen=True)
class Placed:
    """One value at its place: ``box`` (the area it belongs to), the field, the grid line and
    column of its first character, and the text (cut to the field's width)."""

    box: str
    field: str
    line: int
    column: int
    text: str

    def left(self, layout: Layout) -> float:
        """Inches from the left edge of the sheet to the first character."""
        return (self.column - 1) / layout.columns_per_inch

    def top(self, layout: Layout) -> float:
        """Inches from the top of the sheet to the top of the character's line."""
        return (self.line - 1) / layout.lines_per_inch


@functools.lru_cache(maxsize=1)
def layout() -> Layout:
    """The grid, read once from the YAML file."""
    raw = yaml.safe_load(LAYOUT_FILE.read_text(encoding="utf-8"))
    grid = raw["grid"]
    return Layout(
        source=" ".join(raw["source"].split()),
        columns_per_inch=grid["columns_per_inch"],
        lines_per_inch=grid["lines_per_inch"],
        areas={str(k): tuple(v) for k, v in raw["areas"].items()},
        fields={str(k): tuple(v) for k, v in raw["fields"].items()},
        service_first=raw["service_line"]["first"],
        service_step=raw["service_line"]["step"],
        service_fields={str(k): tuple(v) for k, v in raw["service_fields"].items()},
    )


def box_of(field: str) -> str:
    """The box a field belongs to: "3_mm" -> "3", "21_A" -> "21", "32a" -> "32", "1a" -> "1a"."""
    if field.startswith("carrier"):
        return "carrier"
    head = field.split("_")[0]
    if head in ("32a", "33a"):
        return head[:2]
    return head


def money(amount: str) -> str:
    """An amount as the form's two columns take it: dollars, a space for the rule, cents,
    right-aligned in eight characters ("95.00" -> "   95 00")."""
    if not amount:
        return ""
    dollars, _, cents = f"{Decimal(amount):.2f}".partition(".")
    return f"{dollars:>5} {cents}"


def _date_parts(text: str) -> tuple[str, str, str]:
    """ "MM DD YYYY" (claim_data's dates) -> its three parts; empty ones when not given."""
    parts = (text or "").split()
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else ("", "", "")


def _phone(text: str) -> str:
    digits = "".join(c for c in text or "" if c.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else (text or "")


def _values(page: dict, extra: dict) -> dict[str, str]:
    """Field name -> text for everything but the service lines."""
    v: dict[str, str] = {}
    v.update(
        carrier_name=extra.get("payer_name", ""),
        carrier_street=extra.get("payer_street", ""),
        carrier_city=extra.get("payer_city", ""),
    )
    plan = PLAN_BOXES.get(extra.get("plan_type", ""), "1_other")
    v[plan] = MARK
    v["1a"] = page["1a"]
    v["2"] = page["2"]
    v["3_mm"], v["3_dd"], v["3_yyyy"] = _date_parts(page["3"]["dob"])
    if page["3"]["sex"] in ("M", "F"):
        v["3_male" if page["3"]["sex"] == "M" else "3_female"] = MARK
    v["4"] = page["4"]
    for box in ("5", "7"):
        address = page[box]
        v[f"{box}_street"], v[f"{box}_city"], v[f"{box}_state"] = address["street"], address["city"], address["state"]
        v[f"{box}_zip"], v[f"{box}_phone"] = address["zip"], _phone(address["phone"])
    v[RELATIONSHIP_BOXES.get(extra.get("relationship", ""), "6_other")] = MARK
    for box in ("10a", "10b", "10c"):
        answer = page[box]["answer"] if isinstance(page[box], dict) else page[box]
        v[f"{box}_yes" if answer == "Yes" else f"{box}_no"] = MARK
    v["10b_state"] = page["10b"]["state"]
    v["11"] = page["11"]
    v["11a_mm"], v["11a_dd"], v["11a_yyyy"] = _date_parts(page["11a"]["dob"])
    if page["11a"]["sex"] in ("M", "F"):
        v["11a_male" if page["11a"]["sex"] == "M" else "11a_female"] = MARK
    v["11b"], v["11c"] = page["11b"], page["11c"]
    v["11d_yes" if page["11d"] == "Yes" else "11d_no"] = MARK
    v["12"], v["13"] = page["12"], page["13"]
    v["14_mm"], v["14_dd"], v["14_yyyy"] = _date_parts(page["14"]["date"])
    v["14_qualifier"] = page["14"]["qualifier"]
    name = page["17"]
    if name.startswith("DN "):
        v["17_qualifier"], v["17"] = "DN", name[3:]
    else:
        v["17"] = name
    v["17b"] = page["17b"]
    v["21_indicator"] = page["21"]["ind"] if len(page["21"]) > 1 else ""
    for letter, code in page["21"].items():
        if letter != "ind":
            v[f"21_{letter}"] = code
    code, _, original = page["22"].partition(" ")
    v["22_code"], v["22_original"] = code, original
    v["23"] = page["23"]
    v["25"] = page["25"]["number"]
    if page["25"]["type"] == "EIN":
        v["25_ein"] = MARK
    elif page["25"]["type"] == "SSN":
        v["25_ssn"] = MARK
    v["26"] = page["26"]
    v["27_yes" if page["27"] == "Yes" else "27_no"] = MARK
    v["28"], v["29"] = money(page["28"]), money(page["29"])
    v["31"], v["31_date"] = page["31"]["name"], page["31"]["date"]
    facility = page["32"]
    v["32_name"], v["32_street"] = facility["name"], facility["street"]
    v["32_city"] = " ".join(p for p in (facility["city"], facility["state"], facility["zip"]) if p)
    v["32a"] = extra.get("facility_npi", "")
    billing = page["33"]
    v["33_name"], v["33_street"] = billing["name"], billing["street"]
    v["33_city"] = " ".join(p for p in (billing["city"], billing["state"], billing["zip"]) if p)
    v["33_phone"] = _phone(billing["phone"])
    v["33a"] = page["33a"]
    return v


def _service_values(row: dict) -> dict[str, str]:
    start, end = row["A"]["from"].split(), row["A"]["to"].split()
    v = {}
    if len(start) == 3:
        v["from_mm"], v["from_dd"], v["from_yy"] = start
    if len(end) == 3:
        v["to_mm"], v["to_dd"], v["to_yy"] = end
    v.update(
        place=row["B"],
        emg=row["C"],
        code=row["D"]["code"],
        modifiers=" ".join(row["D"]["modifier"].split()),
        pointer=row["E"],
        charges=money(row["F"]),
        units=row["G"],
        epsdt=row["H"],
        id_qualifier="",  # 24I names another ID's kind; the NPI (24J) needs none
        npi=row["J"],
    )
    return v


def placed(page: dict, extra: dict | None = None) -> list[Placed]:
    """Every value of one claim_data() page at its line and column, in uppercase as the
    form is read by scanners (NUCC), each cut to its field's width. ``extra``: what the page
    dict holds only in words (plan_type and relationship keys, the payer's address, the
    facility NPI)."""
    grid = layout()
    extra = extra or {}
    out = []
    for name, text in _values(page, extra).items():
        if not text:
            continue
        line, column, width = grid.fields[name]
        out.append(Placed(box_of(name), name, line, column, str(text).upper()[:width]))
    for n, row in enumerate(page["24"]):
        base = grid.service_first + n * grid.service_step
        for name, text in _service_values(row).items():
            if not text:
                continue
            offset, column, width = grid.service_fields[name]
            out.append(Placed("24", f"24.{n + 1}.{name}", base + offset, column, str(text).upper()[:width]))
    return sorted(out, key=lambda p: (p.line, p.column))


def drawn_areas() -> list[dict]:
    """The boxes as the plain-paper form draws them: label and rectangle in inches."""
    grid = layout()
    boxes = []
    for box, (l1, c1, l2, c2) in grid.areas.items():
        boxes.append(
            {
                "box": box,
                "label": BOX_LABELS.get(box, box),
                "left": (c1 - 1) / grid.columns_per_inch,
                "top": (l1 - 1) / grid.lines_per_inch,
                "width": (c2 - c1 + 1) / grid.columns_per_inch,
                "height": (l2 - l1 + 1) / grid.lines_per_inch,
            }
        )
    return boxes


def service_rules() -> list[float]:
    """The tops (inches) of the six service lines' shaded rows, for the rules between them."""
    grid = layout()
    return [(grid.service_first - 1 + n * grid.service_step - 1) / grid.lines_per_inch for n in range(6)]
