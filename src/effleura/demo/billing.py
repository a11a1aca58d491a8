"""The demo clinic's billing: payers, fees, package plans, policies and packages (before the
clinical demo signs its notes, so those visits' charges get payers and prices), then the
ledger (after the clinical and referrals demos): invoices in every state, a month of
payments by every method, a refund, a patient in credit, claims in every status and one
charge adjusted with its reason.

Called by effleura.demo.data.load_demo() inside its transaction:

* ``load_billing_setup_demo(staff, patients)`` after the scheduling demo, before the
  clinical demo;
* ``load_billing_ledger_demo(staff, patients)`` after the referrals demo.

The payers, the prices and the packages sold are data: demo/billing.yaml.
Everything is synthetic and says so: every payer's name ends in "(demo)", member IDs
start with "DEMO-", the NPIs pass the check digit but name nobody. Everything goes
through the same check_*/do_* actions the screens use, acting as the member of staff who
would do it (set-up by billing staff, policies and payments by the front desk, voids,
refunds and claims by billing staff, the adjustment by the visit's therapist).

Dates: invoices, payments and claim moves are dated in the past so the aging report and
the payments report have something to show. The payment and claim actions take a date;
invoice issue takes none and stamps today, so the demo sets ``issued_on``/``due_on`` on
the checked answer before issuing (the do_* action honours it). A package's sale invoice
is issued inside do_sell_package, stamped today: it is moved back to the day of purchase
with a direct update (as the referrals demo flags its providers). Refunds are dated today.
A fixed seed makes every load the same for a given day.

Which patient gets which story follows the demo's scenarios (the same seed gives the same
patients): the patients of INSURED_SCENARIOS are insured, so the clinical demo's notes
for them become claims; those of PACKAGE_SCENARIOS buy a package before their visits.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml
from django.db import transaction
from django.utils import timezone

from effleura.billing import charges as charge_actions
from effleura.billing import claims as claim_actions
from effleura.billing import invoices, packages, payments, policies, setup
from effleura.billing.choices import ChargeStatus, ClaimStatus, InvoiceStatus, PaymentMethod
from effleura.billing.models import Charge, Invoice, Payer, Payment, ProcedureCode
from effleura.core import actions as core_actions
from effleura.core.models import Practice
from effleura.core.npi import check_digit
from effleura.demo.scenarios import scenario_of
from effleura.patients.models import Patient
from effleura.scheduling.models import Service

SEED = 2026
DAY = datetime.timedelta(days=1)


def npi(first_nine: str) -> str:
    """A ten-digit NPI that passes the check digit (core/npi.py) but names nobody."""
    return first_nine + str(check_digit(first_nine))


PRACTICE_TAX_ID = "00-0000000"  # obviously not a real EIN
PRACTICE_NPI = npi("192000000")
STAFF_NPIS = {
    "owner": npi("192000001"),
    "therapist": npi("192000002"),
    "therapist2": npi("192000003"),
    "therapist3": npi("192000004"),
}

# Payers, prices and packages: demo/billing.yaml.
with open(Path(__file__).with_name("billing.yaml"), encoding="utf-8") as _file:
    _SETUP = yaml.safe_load(_file)
PAYERS = _SETUP["payers"]
MEDICARE, MUTUAL, SHIELD = (payer["name"] for payer in PAYERS)
STANDARD_FEES = _SETUP["standard_fees"]
PAYER_FEES = _SETUP["payer_fees"]
SERVICE_FEES = _SETUP["service_fees"]
LENGTH_FEES = _SETUP["length_fees"]
PLANS = _SETUP["plans"]

# The clinical demo's stories (demo/clinical_stories.py STORIES) by scenario (demo/scenarios.py).
INSURED_SCENARIOS = ("low_back", "neck_desk", "tension_headache", "sciatica", "recent_surgery", "whiplash")
# Scenarios whose claims say the condition came from an auto accident (CMS-1500 box 10b),
# in this state, with box 14 the day of the accident: this many days before the first visit.
AUTO_ACCIDENT_SCENARIOS = {"whiplash": ("OR", 56)}
PACKAGE_SCENARIOS = {"stress": 0, "varicose_veins": 1}  # scenario -> PLANS index
SELF_PAY_SCENARIOS = ("stress", "varicose_veins", "raynauds", "cancer_treatment", "fibromyalgia")
INSURED_SHARE = 3  # about one patient in three is insured
MEDICARE_AGE = 65


@dataclass(frozen=True)
class BillingSetupDemo:
    created: bool
    payers: int
    fees: int
    policies: int
    packages: int


@dataclass(frozen=True)
class BillingLedgerDemo:
    created: bool
    invoices: int
    payments: int
    claims: int


def _scenarios(patients: list) -> dict[int, str]:
    """Each patient's demo scenario, read from their first health history (as the clinical demo does)."""
    return scenario_of(patients)


def _age(patient: Patient, today: datetime.date) -> int:
    dob = patient.date_of_birth
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


# Set-up ------------------------------------------------------------------------------------


def load_billing_setup_demo(staff: dict, patients: list, today: datetime.date | None = None) -> BillingSetupDemo:
    """Payers, fees, package plans, the practice's and therapists' billing IDs, policies for
    about a third of ``patients`` and packages for a few self-pay ones. Once: nothing
    happens if the demo payers exist."""
    if Payer.objects.filter(name=MEDICARE).exists():
        return BillingSetupDemo(False, Payer.objects.count(), 0, 0, 0)
    today = min(today or timezone.localdate(), timezone.localdate())
    billing = staff.get("billing") or staff["owner"]
    with transaction.atomic():
        _billing_ids(staff)
        payers = {}
        for data in PAYERS:
            payers[data["name"]] = setup.do_save_payer(billing, setup.check_save_payer(billing, data))
        # Medicare wants unattended electrical stimulation billed as G0283, not 97014.
        setup.do_map_technique(
            billing, setup.check_map_technique(billing, "electrotherapy", {"code": "G0283", "payer": payers[MEDICARE]})
        )
        fees = 0
        codes = {c.code: c for c in ProcedureCode.objects.filter(is_active=True)}
        for code, amount in STANDARD_FEES.items():
            if code in codes:
                setup.do_save_fee(billing, setup.check_save_fee(billing, {"code": codes[code], "amount": amount}))
                fees += 1
        for name, prices in PAYER_FEES.items():
            for code, amount in prices.items():
                data = {"code": codes[code], "payer": payers[name], "amount": amount}
                setup.do_save_fee(billing, setup.check_save_fee(billing, data))
                fees += 1
        services = {s.name: s for s in Service.objects.all()}
        for name, amount in SERVICE_FEES.items():
            if name in services:
                setup.do_save_fee(billing, setup.check_save_fee(billing, {"service": services[name], "amount": amount}))
                fees += 1
        for name, prices in LENGTH_FEES.items():
            for minutes, amount in prices.items():
                data = {"service": services[name], "minutes": minutes, "amount": amount}
                setup.do_save_fee(billing, setup.check_save_fee(billing, data))
                fees += 1
        plans = []
        for data in PLANS:
            data = {**data, "service": services.get(data["service"]) if data["service"] else None}
            plans.append(setup.do_save_plan(billing, setup.check_save_plan(billing, data)))
        scenario_of = _scenarios(patients)
        made_policies = _policies(staff, patients, scenario_of, payers, today)
        sold = _packages(staff, patients, scenario_of, plans, today)
    return BillingSetupDemo(True, len(payers), fees, made_policies, sold)


def _billing_ids(staff: dict) -> None:
    """The practice's tax ID and NPI (keeping its other details) and the therapists' NPIs."""
    owner = staff["owner"]
    practice = Practice.current()
    fields = {name: getattr(practice, name, "") or "" for name in core_actions.PRACTICE_FIELDS}
    fields |= {"tax_id": PRACTICE_TAX_ID, "npi": PRACTICE_NPI}
    core_actions.do_save_practice(owner, core_actions.check_save_practice(owner, fields))
    for username, number in STAFF_NPIS.items():
        user = staff.get(username)
        if user is None:
            continue
        core_actions.check_save_staff(owner, username=user.username, password=None, user=user, npi=number)
        fields = {"username": user.username, "role": user.role, "is_active": user.is_active, "npi": number}
        staff[username] = core_actions.do_save_staff(owner, user=user, fields=fields, password=None)


def _policies(staff: dict, patients: list, scenario_of: dict, payers: dict, today: datetime.date) -> int:
    """Primary policies for about a third of the patients: everyone of INSURED_SCENARIOS,
    then others drawn with the seed; a few with a secondary policy, a few whose subscriber
    is a spouse or a parent."""
    rng = random.Random(SEED)
    desk = staff.get("frontdesk") or staff["owner"]
    ordered = sorted(patients, key=lambda p: p.chart_number)
    insured = [p for p in ordered if scenario_of.get(p.pk) in INSURED_SCENARIOS]
    others = [
        p
        for p in ordered
        if p not in insured and scenario_of.get(p.pk) not in SELF_PAY_SCENARIOS and scenario_of.get(p.pk)
    ]
    rng.shuffle(others)
    insured += others[: max(0, len(patients) // INSURED_SHARE - len(insured))]
    valid_from = datetime.date(today.year - 1, 1, 1)
    made = 0
    younger = 0  # counts the patients under Medicare age, so the first of them has MUTUAL
    for n, patient in enumerate(insured):
        old = _age(patient, today) >= MEDICARE_AGE
        if not old:
            younger += 1
        # By the count of younger patients, not by n: which patients are old changes with
        # today's date, and one turning 65 must not leave the per-code payer with nobody.
        payer = payers[MEDICARE] if old else payers[SHIELD if (younger - 1) % 3 else MUTUAL]
        data = {
            "payer": payer,
            "member_id": f"DEMO-{100000 + patient.pk * 37:06d}",
            "group_number": "" if old else f"GRP-DEMO-{n % 4 + 1}",
            "plan_name": "Part B (demo)" if old else "Synthetic PPO (demo)",
            "priority": "primary",
            "valid_from": valid_from,
            "valid_until": datetime.date(today.year + 1, 12, 31),
        }
        young = _age(patient, today) < 26
        if young or (not old and n % 4 == 1):
            # A parent's or a spouse's employer plan: the subscriber is not the patient.
            relationship = "child" if young else "spouse"
            years = 28 if young else 2
            data |= {
                "relationship": relationship,
                "subscriber_first_name": rng.choice(["Alex", "Jamie", "Robin", "Taylor", "Morgan"]),
                "subscriber_last_name": patient.legal_last_name,
                "subscriber_date_of_birth": patient.date_of_birth.replace(year=patient.date_of_birth.year - years),
                "subscriber_address_line1": patient.address_line1 or "10 Example Street",
                "subscriber_city": patient.city or "Anytown",
                "subscriber_region": patient.region or "OR",
                "subscriber_postal_code": patient.postal_code or "97000",
                "subscriber_phone": "(503) 555-0199",
            }
        policies.do_save_policy(desk, patient, policies.check_save_policy(desk, patient, data))
        made += 1
        if n % 3 == 0:
            second = payers[MUTUAL] if payer.name != MUTUAL else payers[SHIELD]
            data = {
                "payer": second,
                "member_id": f"DEMO-{200000 + patient.pk * 41:06d}",
                "plan_name": "Supplement (demo)",
                "priority": "secondary",
                "valid_from": valid_from,
            }
            policies.do_save_policy(desk, patient, policies.check_save_policy(desk, patient, data))
            made += 1
    return made


def _packages(staff: dict, patients: list, scenario_of: dict, plans: list, today: datetime.date) -> int:
    """Packages bought by the self-pay patients of PACKAGE_SCENARIOS before their visits, so
    the clinical demo's notes use them up. The sale invoice is dated the day of purchase."""
    desk = staff.get("frontdesk") or staff["owner"]
    sold = 0
    seen = set()
    for patient in sorted(patients, key=lambda p: p.chart_number):
        scenario = scenario_of.get(patient.pk)
        if scenario not in PACKAGE_SCENARIOS or scenario in seen:
            continue
        seen.add(scenario)
        bought = today - datetime.timedelta(days=45 if PACKAGE_SCENARIOS[scenario] == 0 else 30)
        data = {"plan": plans[PACKAGE_SCENARIOS[scenario]], "purchased_on": bought}
        _package, invoice = packages.do_sell_package(desk, patient, packages.check_sell_package(desk, patient, data))
        if invoice is not None:  # issue_package_invoice stamps today: date it as sold
            Invoice.objects.filter(pk=invoice.pk).update(issued_on=bought, due_on=bought)
        sold += 1
    return sold


# Ledger ------------------------------------------------------------------------------------

METHODS = [PaymentMethod.CARD, PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.CHEQUE, PaymentMethod.TRANSFER]


class _Ledger:
    def __init__(self, staff: dict, today: datetime.date):
        self.desk = staff.get("frontdesk") or staff["owner"]
        self.billing = staff.get("billing") or staff["owner"]
        self.today = today
        self.invoices = 0
        self.payments = 0
        self.claims = 0
        self.turn = 0
        self.accidents: dict[int, tuple[str, datetime.date]] = {}  # patient pk -> (state, day of the accident)

    def method(self) -> str:
        self.turn += 1
        return METHODS[self.turn % len(METHODS)]

    def _dated(self, clean: dict, on: datetime.date) -> Invoice:
        on = min(on, self.today)
        clean["issued_on"], clean["due_on"] = on, on + datetime.timedelta(days=invoices.DUE_DAYS)
        return clean

    def visit_invoice(self, charge: Charge, on: datetime.date) -> Invoice:
        patient = charge.patient
        clean = invoices.check_issue_visit_invoice(self.desk, patient, {"charge": charge})
        self.invoices += 1
        return invoices.do_issue_invoice(self.desk, patient, self._dated(clean, on))

    def period_invoice(self, patient, start, end, on: datetime.date) -> Invoice:
        clean = invoices.check_issue_period_invoice(self.desk, patient, {"start": start, "end": end})
        self.invoices += 1
        return invoices.do_issue_invoice(self.desk, patient, self._dated(clean, on))

    def pay(self, patient, amount, on: datetime.date, invoices=(), method: str = "", note: str = "") -> Payment:
        data = {
            "amount": Decimal(amount).quantize(Decimal("0.01")),
            "method": method or self.method(),
            "received_on": min(on, self.today),
            "invoices": list(invoices),
            "note": note,
        }
        if data["method"] == PaymentMethod.CHEQUE:
            data["reference"] = f"Cheque {1000 + self.payments}"
        elif data["method"] == PaymentMethod.TRANSFER:
            data["reference"] = f"DEMO-TRF-{2000 + self.payments}"
        self.payments += 1
        return payments.do_take_payment(self.desk, patient, payments.check_take_payment(self.desk, patient, data))

    def claim(self, charge: Charge, moves: list[tuple[str, int, dict]]) -> None:
        """Create a claim for ``charge`` and move it: (status, days after the visit, data)."""
        billing = self.billing
        claim = claim_actions.do_create_claim(billing, charge, claim_actions.check_create_claim(billing, charge))
        self.claims += 1
        if charge.patient_id in self.accidents:
            state, day = self.accidents[charge.patient_id]
            data = {"auto_accident": True, "accident_state": state, "illness_date": day}
            claim = claim_actions.do_save_details(
                billing, claim, claim_actions.check_save_details(billing, claim, data)
            )
        for n, (to, days, extra) in enumerate(moves):
            on = min(charge.date_of_service + datetime.timedelta(days=days), self.today)
            data = {"on": on, **extra}
            if to == ClaimStatus.SUBMITTED:
                data["payer_claim_number"] = f"DEMO-CLM-{charge.pk:05d}-{n}"
            claim = claim_actions.do_move_claim(
                billing, claim, claim_actions.check_move_claim(billing, claim, to, data)
            )


def load_billing_ledger_demo(staff: dict, patients: list, today: datetime.date | None = None) -> BillingLedgerDemo:
    """Invoices, payments, refunds, claims and one adjustment over the charges the clinical
    demo's signed notes made for ``patients``. Once: nothing happens if any of them already
    has a visit or period invoice."""
    if Invoice.objects.filter(patient__in=patients, lines__charge__isnull=False).exists():
        return BillingLedgerDemo(False, Invoice.objects.count(), Payment.objects.count(), 0)
    today = min(today or timezone.localdate(), timezone.localdate())
    book = _Ledger(staff, today)
    with transaction.atomic():
        found = list(
            Charge.objects.filter(patient__in=patients)
            .select_related("patient", "practitioner", "policy")
            .order_by("date_of_service", "id")
        )
        scenario = _scenarios(patients)
        for charge in found:
            accident = AUTO_ACCIDENT_SCENARIOS.get(scenario.get(charge.patient_id, ""))
            if accident is not None and charge.patient_id not in book.accidents:
                state, days_before = accident
                book.accidents[charge.patient_id] = (
                    state,
                    charge.date_of_service - datetime.timedelta(days=days_before),
                )
        insured = [c for c in found if c.policy_id and c.status == ChargeStatus.OPEN]
        self_pay = [c for c in found if not c.policy_id and c.status == ChargeStatus.OPEN and c.total > 0]
        _adjust(staff, insured or self_pay)
        denied_for_patient = _claims(book, insured)
        _self_pay(book, self_pay, today)
        _package_payments(book, patients)
        for charge in denied_for_patient:
            # The payer would not pay: the patient is billed, and pays part at once.
            charge.refresh_from_db()
            invoice = book.visit_invoice(charge, charge.date_of_service + datetime.timedelta(days=20))
            book.pay(charge.patient, invoice.total / 2, invoice.issued_on, [invoice], note="Part of the denied visit.")
    return BillingLedgerDemo(True, book.invoices, book.payments, book.claims)


def _adjust(staff: dict, candidates: list[Charge]) -> None:
    """The visit's therapist takes one unit off a line of an open charge, with the reason."""
    for charge in candidates:
        lines = list(charge.lines.select_related("code").order_by("id"))
        biggest = max(lines, key=lambda line: line.units, default=None)
        if biggest is None or biggest.units < 2:
            continue
        actor = charge.practitioner
        rows = [{"code": line.code.code, "units": line.units - (line is biggest)} for line in lines]
        reason = (
            f"Eight minutes of the {biggest.code.code} time were positioning and set-up, not treatment: "
            "one unit fewer (demo)."
        )
        adjustment = charge_actions.check_adjust_charge(actor, charge, {"lines": rows, "reason": reason})
        at = timezone.now() - datetime.timedelta(minutes=30)
        charge_actions.do_adjust_charge(actor, charge, adjustment, now=at)
        return


def _claims(book: _Ledger, insured: list[Charge]) -> list[Charge]:
    """A claim for the insured visits, by age: the older ones paid (one denied for good, one
    paid after a resubmission, one still waiting after it), the last weeks submitted, the
    newest drafts. Returns the charges whose claim stayed denied (billed to the patient)."""
    insured = [c for c in insured if c.diagnosis_codes]
    n = len(insured)
    denied_for_good: list[Charge] = []
    if not n:
        return denied_for_good
    paid_share, submitted_share = n * 5 // 10, n * 8 // 10
    special = {1: "denied", 3: "resubmitted", 5: "resubmitted_paid"}
    for i, charge in enumerate(insured):
        charge.refresh_from_db()
        fee = charge.total
        paid = {"paid_amount": (fee * Decimal("0.8")).quantize(Decimal("0.01"))}
        denial = {"reason": "CO-50: not deemed medically necessary by the payer (demo)."}
        if i == n - 1 or (i >= submitted_share and i != 0):
            moves = []  # a draft, not sent yet
        elif special.get(i) == "denied" or (i == n - 2 and not denied_for_good and n < 4):
            moves = [(ClaimStatus.SUBMITTED, 2, {}), (ClaimStatus.DENIED, 16, denial)]
            denied_for_good.append(charge)
        elif special.get(i) == "resubmitted" or (i == n - 3 and n < 6):
            denial = {"reason": "CO-16: the referring provider's NPI was missing (demo)."}
            resend = {"note": "Resubmitted with the referring provider's NPI."}
            moves = [(ClaimStatus.SUBMITTED, 2, {}), (ClaimStatus.DENIED, 14, denial)]
            moves.append((ClaimStatus.RESUBMITTED, 17, resend))
        elif special.get(i) == "resubmitted_paid":
            denial = {"reason": "CO-4: the modifier was inconsistent with the procedure code (demo)."}
            moves = [(ClaimStatus.SUBMITTED, 2, {}), (ClaimStatus.DENIED, 12, denial)]
            moves += [(ClaimStatus.RESUBMITTED, 14, {"note": "Corrected and resubmitted."})]
            moves += [(ClaimStatus.PAID, 30, paid)]
        elif i < paid_share:
            moves = [(ClaimStatus.SUBMITTED, 2, {}), (ClaimStatus.PAID, 24, paid)]
        else:
            moves = [(ClaimStatus.SUBMITTED, 3, {})]
        book.claim(charge, moves)
    return denied_for_good


def _self_pay(book: _Ledger, charges: list[Charge], today: datetime.date) -> None:
    """Self-pay visits: invoiced at check-out and mostly paid on the day; a period invoice,
    some left unpaid so the aging report fills every bucket, one partly paid, one voided
    after it was paid (the fee waived), a refund, a patient left in credit."""
    by_patient: dict[int, list[Charge]] = {}
    for charge in charges:
        by_patient.setdefault(charge.patient_id, []).append(charge)
    days = datetime.timedelta
    # The patient with the oldest visits gets a monthly (period) invoice, 61-90 days old.
    oldest = sorted(by_patient.values(), key=lambda cs: cs[0].date_of_service)
    period_done = False
    for group in oldest:
        old = [c for c in group if c.date_of_service <= today - days(65)]
        if len(old) >= 2 and not period_done:
            issued = max(old[-1].date_of_service, today - days(75))
            invoice = book.period_invoice(old[0].patient, old[0].date_of_service, old[-1].date_of_service, issued)
            # A cheque for part of it; the rest is still owed.
            book.pay(old[0].patient, invoice.total / 3, issued + days(10), [invoice], method=PaymentMethod.CHEQUE)
            by_patient[old[0].patient_id] = [c for c in group if c not in old]
            period_done = True
    voided = refunded = overdue = False
    for pk in sorted(by_patient, key=lambda pk: by_patient[pk][0].patient.chart_number if by_patient[pk] else ""):
        group = by_patient[pk]
        for k, charge in enumerate(group):
            age = (today - charge.date_of_service).days
            invoice = book.visit_invoice(charge, charge.date_of_service)
            last = k == len(group) - 1
            if age > 90 and k == len(group) - 1:
                continue  # unpaid for over three months
            if 31 <= age <= 60 and not overdue:
                overdue = True
                continue  # unpaid for a month or more
            if last and age <= 30:
                if k % 2 == 0:
                    continue  # the newest visit: not paid yet
                book.pay(charge.patient, invoice.total - 20, charge.date_of_service, [invoice])  # partly paid
                continue
            book.pay(charge.patient, invoice.total, charge.date_of_service, [invoice])
            if not voided and age <= 30 and not last:
                # Paid, then the fee was waived: the invoice is voided, the money becomes
                # credit, part of it is refunded and the rest stays as credit.
                reason = "Fee waived: the session was cut short by a fire-alarm drill (demo)."
                billing = book.billing
                invoices.do_void_invoice(
                    billing, invoice, invoices.check_void_invoice(billing, invoice, {"reason": reason})
                )
                charge.refresh_from_db()
                charge_actions.do_void_charge(
                    billing, charge, charge_actions.check_void_charge(billing, charge, {"reason": reason})
                )
                voided = True
                if not refunded:
                    data = {
                        "amount": (invoice.total / 2).quantize(Decimal("0.01")),
                        "method": PaymentMethod.CARD,
                        "reason": "Half of the waived fee back to the card; the rest kept as credit at her request.",
                    }
                    payments.do_refund(billing, charge.patient, payments.check_refund(billing, charge.patient, data))
                    refunded = True


def _package_payments(book: _Ledger, patients: list) -> None:
    """The package sales: one paid in full by card on the day, another half paid so far; a
    third patient pays ahead and is in credit."""
    sales = list(
        Invoice.objects.filter(patient__in=patients, kind="package", status=InvoiceStatus.ISSUED)
        .select_related("patient")
        .order_by("issued_on", "id")
    )
    for n, invoice in enumerate(sales):
        amount = invoice.total if n == 0 else invoice.total / 2
        book.pay(invoice.patient, amount, invoice.issued_on, [invoice], method=PaymentMethod.CARD)
    # Pays ahead for the next visits: credit on the account.
    without = (
        Patient.objects.filter(pk__in=[p.pk for p in patients], invoices__isnull=True, status="active")
        .order_by("chart_number")
        .first()
    )
    if without is not None:
        book.pay(without, Decimal("100.00"), book.today - datetime.timedelta(days=3), method=PaymentMethod.TRANSFER,
                 note="Paid ahead for the next visits (demo).")  # fmt: skip
