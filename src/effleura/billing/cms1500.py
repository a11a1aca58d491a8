"""A claim's data for the CMS-1500 (02/12) health insurance claim form, keyed by box number,
and the same data as JSON, as CSV and as a PDF on the form's own grid (10 characters and
6 lines per inch, billing/cms1500_layout.py), which lines up on the red pre-printed form
and, with the boxes drawn, prints as the whole form on plain paper.

One form holds six service lines (box 24); a claim with more lines takes more pages, each
a complete form with its own total (box 28). ``missing`` lists what the form still lacks
in plain words (submission is refused until it is empty: billing/claims.py).

Reading: claim.view; exporting (JSON, CSV, PDF): claim.export, audited as EXPORT.
"""

import csv
import io
import json
from decimal import Decimal

from effleura.billing import balances, cms1500_layout, modifiers
from effleura.billing.choices import ChargeStatus, InvoiceStatus, Relationship
from effleura.billing.models import Claim, Invoice, Policy
from effleura.core import audit
from effleura.core.choices import AuditAction
from effleura.core.models import Practice
from effleura.referrals.models import Referral

FORM = "CMS-1500 (02/12)"
LINES_PER_PAGE = 6
POINTERS = "ABCDEFGHIJKL"
PLACE_OF_SERVICE_OFFICE = "11"

LABELS = {
    "1": "Insurance type",
    "1a": "Insured's ID number",
    "2": "Patient's name",
    "3": "Patient's birth date, sex",
    "4": "Insured's name",
    "5": "Patient's address",
    "6": "Patient relationship to insured",
    "7": "Insured's address",
    "10a": "Condition related to employment?",
    "10b": "Condition related to an auto accident? (state)",
    "10c": "Condition related to another accident?",
    "11": "Insured's policy group or FECA number",
    "11a": "Insured's date of birth, sex",
    "11b": "Other claim ID",
    "11c": "Insurance plan name or program name",
    "11d": "Is there another health benefit plan?",
    "12": "Patient's or authorized person's signature",
    "13": "Insured's or authorized person's signature",
    "14": "Date of current illness, injury or pregnancy (qualifier)",
    "17": "Name of referring provider",
    "17b": "Referring provider NPI",
    "21": "Diagnosis or nature of illness or injury",
    "22": "Resubmission code, original ref. no.",
    "23": "Prior authorization number",
    "24": "Services",
    "25": "Federal tax ID number",
    "26": "Patient's account no.",
    "27": "Accept assignment?",
    "28": "Total charge",
    "29": "Amount paid",
    "31": "Signature of physician or supplier",
    "32": "Service facility location information",
    "33": "Billing provider info and phone",
    "33a": "Billing provider NPI",
}
LINE_LABELS = {
    "A": "Date(s) of service",
    "B": "Place of service",
    "C": "EMG",
    "D": "Procedures, services or supplies (CPT/HCPCS, modifier)",
    "E": "Diagnosis pointer",
    "F": "Charges",
    "G": "Days or units",
    "H": "EPSDT family plan",
    "I": "ID qual.",
    "J": "Rendering provider ID (NPI)",
}
SEX = {"female": "F", "male": "M"}


def _mmddyyyy(day) -> str:
    return day.strftime("%m %d %Y") if day else ""


def _mmddyy(day) -> str:
    return day.strftime("%m %d %y") if day else ""


def _join(*parts) -> str:
    return ", ".join(p for p in parts if p)


def _last_first(last: str, first: str) -> str:
    return f"{last}, {first}".strip(", ") if last or first else ""


def service_lines(claim: Claim, lines=None) -> list[tuple]:
    """The claim's service lines (box 24), each with its modifiers (24D): [(ChargeLine,
    ("GP", "59")), ...] in the order they print. A line the rule gave no unit (e.g. 7
    minutes beside a longer code) is not billed, and does not count toward a code pair
    (billing/modifiers.py). ``lines``: the charge's lines already read (one query if not)."""
    charge, payer = claim.charge, claim.policy.payer
    if lines is None:
        lines = charge.lines.filter(units__gt=0).select_related("code").order_by("id")
    billed = sorted((line for line in lines if line.units > 0), key=lambda line: line.pk)
    found = modifiers.line_modifiers(
        [(charge.date_of_service, line.code.code) for line in billed],
        modifiers.split_modifiers(payer.line_modifiers),
        payer.pair_modifiers,
    )
    return list(zip(billed, found, strict=True))


def referral_for(claim: Claim):
    """The referral behind the visit: one covering its date of service, the visit's own
    episode's first. One query."""
    charge = claim.charge
    day = charge.date_of_service
    episode_id = charge.note.episode_id if charge.note_id else None
    referrals = Referral.objects.filter(
        patient_id=charge.patient_id, valid_from__lte=day, valid_until__gte=day
    ).select_related("provider")
    found = list(referrals.order_by("-referral_date", "-id")[:20])
    found.sort(key=lambda r: r.episode_id != episode_id)
    return found[0] if found else None


def _insured(policy: Policy, patient) -> dict:
    if policy.relationship == Relationship.SELF:
        return {
            "name": _last_first(patient.legal_last_name, patient.legal_first_name),
            "dob": patient.date_of_birth,
            "sex": SEX.get(patient.sex_at_birth, ""),
            "address": patient.address_line1,
            "city": patient.city,
            "state": patient.region,
            "zip": patient.postal_code,
            "phone": patient.phone,
        }
    return {
        "name": _last_first(policy.subscriber_last_name, policy.subscriber_first_name),
        "dob": policy.subscriber_date_of_birth,
        "sex": "",
        "address": policy.subscriber_address_line1,
        "city": policy.subscriber_city,
        "state": policy.subscriber_region,
        "zip": policy.subscriber_postal_code,
        "phone": policy.subscriber_phone,
    }


def _address(address="", city="", state="", zip_="", phone="") -> dict:
    return {"street": address, "city": city, "state": state, "zip": zip_, "phone": phone}


def patient_paid(charge) -> Decimal:
    """What the patient has paid toward this visit (box 29): each invoice it is on pays its
    share of the payments on that invoice, in proportion to the visit's lines; a visit
    covered by a package is paid whole. Never more than the visit's total. Two queries."""
    if charge.status == ChargeStatus.PACKAGE:
        return charge.total
    billed = Invoice.objects.filter(lines__charge=charge, status=InvoiceStatus.ISSUED).distinct()
    invoices = list(billed.prefetch_related("lines"))
    if not invoices:
        return Decimal("0.00")
    amounts = balances.invoice_amounts(invoices)
    paid = Decimal("0.00")
    for invoice in invoices:
        mine = sum((line.amount for line in invoice.lines.all() if line.charge_id == charge.pk), Decimal("0.00"))
        total = amounts[invoice.pk].total
        if total > 0:
            paid += (amounts[invoice.pk].paid * mine / total).quantize(Decimal("0.01"))
    return min(paid, charge.total)


def _yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"


def claim_data(claim: Claim, *, practice: Practice | None = None) -> dict:
    """The whole form as a dict: ``form``, ``claim_id``, ``status`` and ``pages``, each page a
    dict keyed by box number ("1", "1a", ..., "21", "24", ..., "33a"). Box 21 is
    {"ind": "0", "A": code, ...}; box 24 is a list of up to six lines keyed "A" to "J", 24D
    {"code": "97140", "modifier": "GP 59"} (the line's modifiers, service_lines()).
    Boxes 10a and 10c are "Yes" or "No", 10b {"answer", "state"}, 14 {"date", "qualifier"};
    28 and 29 are plain amounts ("95.00"), 29 (what the patient paid) on the first page only."""
    practice = practice or Practice.current()
    charge = claim.charge
    patient = charge.patient
    policy = claim.policy
    practitioner = charge.practitioner
    insured = _insured(policy, patient)
    referral = referral_for(claim)
    lines = service_lines(claim)
    other_plan = (
        Policy.objects.filter(patient_id=patient.pk, is_active=True).exclude(pk=policy.pk).exists()
        if policy.pk
        else False
    )
    diagnoses = {"ind": "0", **{POINTERS[i]: code for i, code in enumerate(charge.diagnosis_codes[:12])}}
    resubmission = ""
    if claim.resubmissions and claim.payer_claim_number:
        resubmission = f"7 {claim.payer_claim_number}"
    location = charge.location
    common = {
        "1": policy.payer.get_plan_type_display(),
        "1a": policy.member_id,
        "2": _last_first(patient.legal_last_name, patient.legal_first_name),
        "3": {"dob": _mmddyyyy(patient.date_of_birth), "sex": SEX.get(patient.sex_at_birth, "")},
        "4": insured["name"],
        "5": _address(patient.address_line1, patient.city, patient.region, patient.postal_code, patient.phone),
        "6": policy.get_relationship_display(),
        "7": _address(insured["address"], insured["city"], insured["state"], insured["zip"], insured["phone"]),
        "11": policy.group_number,
        "11a": {"dob": _mmddyyyy(insured["dob"]), "sex": insured["sex"]},
        "11b": "",
        "11c": policy.plan_name or policy.payer.name,
        "11d": "Yes" if other_plan else "No",
        "12": "Signature on file",
        "13": "Signature on file",
        "10a": _yes_no(claim.employment_related),
        "10b": {"answer": _yes_no(claim.auto_accident), "state": claim.accident_state if claim.auto_accident else ""},
        "10c": _yes_no(claim.other_accident),
        "14": {
            "date": _mmddyyyy(claim.illness_date),
            "qualifier": claim.illness_qualifier if claim.illness_date else "",
        },
        "17": f"DN {referral.provider.last_name}, {referral.provider.first_name}".strip() if referral else "",
        "17b": referral.provider.npi if referral else "",
        "21": diagnoses,
        "22": resubmission,
        "23": referral.authorization_number if referral else "",
        "25": {"number": practice.tax_id, "type": "EIN" if practice.tax_id else ""},
        "26": patient.chart_number,
        "27": "Yes",
        "31": {
            "name": practitioner.display_name,
            "date": _mmddyyyy(claim.submitted_on or charge.date_of_service),
        },
        "32": {
            "name": location.name if location else practice.name,
            **(
                _address(location.address_line1, location.city, location.region, location.postal_code)
                if location
                else _address(practice.address_line1, practice.city, practice.region, practice.postal_code)
            ),
        },
        "33": {
            "name": practice.name,
            **_address(practice.address_line1, practice.city, practice.region, practice.postal_code, practice.phone),
        },
        "33a": practice.npi,
    }
    pages = []
    chunks = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    for chunk in chunks:
        rows = [
            {
                "A": {"from": _mmddyy(charge.date_of_service), "to": _mmddyy(charge.date_of_service)},
                "B": claim.place_of_service or PLACE_OF_SERVICE_OFFICE,
                "C": "",
                "D": {"code": line.code.code, "modifier": " ".join(mods)},
                "E": line.diagnosis_pointer or ("A" if charge.diagnosis_codes else ""),
                "F": f"{line.amount:.2f}",
                "G": str(line.units),
                "H": "",
                "I": "NPI",
                "J": practitioner.npi,
            }
            for line, mods in chunk
        ]
        total = sum((line.amount for line, _ in chunk), start=Decimal("0.00"))
        paid = patient_paid(charge) if not pages else Decimal("0.00")
        pages.append({**common, "24": rows, "28": f"{total:.2f}", "29": f"{min(paid, total):.2f}"})
    return {
        "form": FORM,
        "claim_id": str(claim.public_id),
        "status": claim.status,
        "currency": claim.currency,
        "pages": pages,
    }


def missing(claim: Claim, *, practice: Practice | None = None) -> list[str]:
    """What the form still lacks, in plain words (empty when it can be sent)."""
    practice = practice or Practice.current()
    charge = claim.charge
    policy = claim.policy
    gaps = []
    if not practice.tax_id:
        gaps.append("the practice's tax ID (box 25): enter it on the practice page")
    if not practice.npi:
        gaps.append("the practice's NPI (box 33a): enter it on the practice page")
    if not (practice.address_line1 and practice.city and practice.postal_code):
        gaps.append("the practice's address (box 33): enter it on the practice page")
    if not charge.practitioner.npi:
        gaps.append(f"{charge.practitioner.display_name}'s NPI (box 24J): enter it on their staff page")
    if not charge.diagnosis_codes:
        gaps.append("a diagnosis code (box 21)")
    if not charge.lines.exists():
        gaps.append("a procedure code (box 24D)")
    if not policy.member_id:
        gaps.append("the member ID (box 1a)")
    if policy.relationship != Relationship.SELF and not (
        policy.subscriber_last_name and policy.subscriber_date_of_birth
    ):
        gaps.append("the subscriber's name and date of birth (boxes 4 and 11a)")
    return gaps


# Exports -------------------------------------------------------------------------------


def record_export(user, claim: Claim, what: str) -> None:
    audit.record(
        user,
        AuditAction.EXPORT,
        "claim",
        record_id=claim.public_id,
        patient_id=claim.charge.patient.public_id,
        detail=f"CMS-1500 {what}",
    )


def to_json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def _flatten(box: str, value) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [(f"{box}.{key}", str(v)) for key, v in value.items()]
    return [(box, str(value))]


def to_csv(data: dict) -> str:
    """One row per box (per page): page, box, label, value. Box 24 lines are "24.1.A" etc."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["page", "box", "label", "value"])
    for number, page in enumerate(data["pages"], start=1):
        for box, value in page.items():
            if box == "24":
                for index, line in enumerate(value, start=1):
                    for col, cell in line.items():
                        for key, text in _flatten(f"24.{index}.{col}", cell):
                            writer.writerow([number, key, LINE_LABELS[col], _safe(text)])
                continue
            for key, text in _flatten(box, value):
                writer.writerow([number, key, LABELS.get(box, ""), _safe(text)])
    return out.getvalue()


def _safe(text: str) -> str:
    """Keep a spreadsheet from reading a value as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def filename(claim: Claim, extension: str) -> str:
    return f"cms1500-{str(claim.public_id)[:8]}.{extension}"


def placed_pages(claim: Claim, data: dict | None = None) -> list[list]:
    """Each page's values at their places on the grid (cms1500_layout.placed), with what
    the boxes' dict gives only in words: the plan type and relationship, the payer's address."""
    data = data or claim_data(claim)
    policy, payer = claim.policy, claim.policy.payer
    extra = {
        "plan_type": payer.plan_type,
        "relationship": policy.relationship,
        "payer_name": payer.name,
        "payer_street": payer.address_line1,
        "payer_city": " ".join(p for p in (payer.city, payer.region, payer.postal_code) if p),
    }
    return [cms1500_layout.placed(page, extra) for page in data["pages"]]


def pdf_context(claim: Claim, *, form_drawn: bool = True) -> dict:
    """The PDF's pages: each value at its place on the NUCC grid (billing/cms1500_layout.py).
    ``form_drawn``: the red boxes and labels too, for plain paper; False prints the values
    alone, for the red pre-printed form."""
    data = claim_data(claim)
    grid = cms1500_layout.layout()
    pages = [
        [{"left": p.left(grid), "top": p.top(grid), "text": p.text, "field": p.field} for p in page]
        for page in placed_pages(claim, data)
    ]
    return {
        "data": data,
        "pages": pages,
        "form": FORM,
        "form_drawn": form_drawn,
        "areas": cms1500_layout.drawn_areas() if form_drawn else [],
        "rules": cms1500_layout.service_rules() if form_drawn else [],
        "source": grid.source,
    }
