"""Billing and referrals of the large synthetic practice (demo/scale.py).

Every signed note has its charge (self-pay: the service's price split over the codes by
the CMS 8-minute rule, as billing/charges.py does with billing/units.py and
billing/pricing.py). Charges of visits more than a week before the bench day are invoiced,
one visit invoice each, and most invoices are paid by card or cash in full on the day
(the rest are outstanding). Keys follow the visit: charge, invoice, payment, allocation =
appointment id; lines 2·id - 1 and 2·id.

A quarter of the patients (and every patient bench-therapist sees on the bench day) came
with a referral from one of forty made-up referring providers.
"""

import datetime
import json
from decimal import Decimal
from functools import cache

from effleura.billing import pricing, units
from effleura.billing.models import (
    Charge,
    ChargeLine,
    FeeScheduleEntry,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    ProcedureCode,
)
from effleura.demo import scale_clinical as clinical
from effleura.demo import scale_plan as sp
from effleura.demo import scale_rows
from effleura.demo.scale_load import dt
from effleura.referrals.models import Referral, ReferringProvider

INVOICED_BEFORE = sp.BENCH_DAY - datetime.timedelta(days=7)
TECHNIQUE_CODES = {"swedish": "97124", "deep_tissue": "97124", "myofascial_release": "97140",
                   "trigger_point": "97140", "neuromuscular": "97140"}  # fmt: skip
DESCRIPTIONS = {"97124": "Massage therapy, each 15 minutes", "97140": "Manual therapy techniques, each 15 minutes"}
PROVIDERS = 40


def has_charge(v: sp.Visit) -> bool:
    return clinical.has_note(v) and not clinical.is_draft(v)


def is_invoiced(v: sp.Visit) -> bool:
    return v.day < INVOICED_BEFORE


def is_paid(v: sp.Visit) -> bool:
    return v.id % 13 != 0


@cache
def _pricing(service: int, duration: int, second: str) -> tuple[Decimal, tuple]:
    """(total, ((code, minutes, units, unit price, amount, techniques), …)) of one kind of visit."""
    second_minutes = duration // 3
    minutes: dict[str, int] = {}
    techniques: dict[str, list] = {}
    for technique, m in (("swedish", duration - second_minutes), (second, second_minutes)):
        code = TECHNIQUE_CODES[technique]
        minutes[code] = minutes.get(code, 0) + m
        techniques.setdefault(code, []).append(technique)
    by_code = units.timed_units(minutes, "cms")
    priced = pricing.price_lines(by_code, {}, Decimal(sp.SERVICES[service][3]))
    lines = tuple(
        (code, minutes[code], by_code[code], str(line.unit_price), str(line.amount), json.dumps(techniques[code]))
        for code, line in priced.lines.items()
    )
    return priced.total, lines


def _second(v: sp.Visit) -> str:
    return clinical.COMPLAINTS[v.patient % len(clinical.COMPLAINTS)][2]


def write(plan: sp.Plan, ids, writer) -> None:
    codes = dict(ProcedureCode.objects.values_list("code", "pk"))
    FeeScheduleEntry.objects.bulk_create(
        FeeScheduleEntry(service_id=ids.services[i], amount=Decimal(price), currency="USD")
        for i, (*_rest, price) in enumerate(sp.SERVICES)
    )
    writer.write(Charge, CHARGE_COLUMNS, _charges(plan, ids))
    writer.write(ChargeLine, CHARGE_LINE_COLUMNS, _charge_lines(plan, codes))
    writer.write(Invoice, INVOICE_COLUMNS, _invoices(plan, ids))
    writer.write(InvoiceLine, INVOICE_LINE_COLUMNS, _invoice_lines(plan))
    writer.write(Payment, PAYMENT_COLUMNS, _payments(plan, ids))
    writer.write(PaymentAllocation, ALLOCATION_COLUMNS, _allocations(plan, ids))
    writer.reset_sequences([FeeScheduleEntry, Charge, ChargeLine, Invoice, InvoiceLine, Payment, PaymentAllocation])


CHARGE_COLUMNS = ["id", "public_id", "patient_id", "note_id", "appointment_id", "practitioner_id", "service_id",
                  "location_id", "date_of_service", "payer_id", "policy_id", "unit_method", "diagnosis_codes",
                  "status", "total", "currency", "notes", "created_at", "created_by_id", "void_reason"]  # fmt: skip


def _charges(plan, ids):
    salt = sp.salt(plan.seed, "charge")
    for v in plan.visits():
        if not has_charge(v):
            continue
        total, _lines = _pricing(v.service, v.duration, _second(v))
        practitioner = ids.practitioners[v.practitioner]
        yield (
            v.id,
            sp.uid(salt, v.id),
            v.patient + 1,
            v.id,
            v.id,
            practitioner,
            ids.services[v.service],
            ids.locations[v.location],
            v.day.isoformat(),
            None,
            None,
            "cms",
            json.dumps(clinical.COMPLAINTS[v.patient % len(clinical.COMPLAINTS)][1]),
            "invoiced" if is_invoiced(v) else "open",
            str(total),
            "USD",
            "",
            dt(clinical.signed_at(v)),
            practitioner,
            "",
        )


CHARGE_LINE_COLUMNS = ["id", "charge_id", "code_id", "minutes", "computed_units", "units", "unit_price", "amount",
                       "diagnosis_pointer", "techniques"]  # fmt: skip


def _charge_lines(plan, codes):
    for v in plan.visits():
        if not has_charge(v):
            continue
        _total, lines = _pricing(v.service, v.duration, _second(v))
        for i, (code, minutes, unit_count, unit_price, amount, techniques) in enumerate(lines):
            yield (2 * v.id - 1 + i, v.id, codes[code], minutes, unit_count, unit_count, unit_price, amount, "A",
                   techniques)  # fmt: skip


INVOICE_COLUMNS = ["id", "public_id", "version", "number", "patient_id", "kind", "status", "period_start",
                   "period_end", "issued_on", "due_on", "total", "currency", "notes", "void_reason", "created_at",
                   "created_by_id", "settled"]  # fmt: skip


def _issued(v: sp.Visit) -> datetime.datetime:
    return clinical.signed_at(v) + datetime.timedelta(minutes=10)


def _invoices(plan, ids):
    salt = sp.salt(plan.seed, "invoice")
    issued_in: dict[int, int] = {}
    for v in plan.visits():
        if not (has_charge(v) and is_invoiced(v)):
            continue
        total, _lines = _pricing(v.service, v.duration, _second(v))
        # YYYY-NNNNN in order of issue within the year, as billing/invoices.py numbers them.
        k = issued_in[v.day.year] = issued_in.get(v.day.year, 0) + 1
        yield (
            v.id,
            sp.uid(salt, v.id),
            1,
            f"{v.day.year}-{k:05d}",
            v.patient + 1,
            "visit",
            "issued",
            None,
            None,
            v.day.isoformat(),
            (v.day + datetime.timedelta(days=30)).isoformat(),
            str(total),
            "USD",
            "",
            "",
            dt(_issued(v)),
            ids.billing,
            1 if is_paid(v) else 0,  # paid in full on the day: the desk's hint (decision 0028)
        )


INVOICE_LINE_COLUMNS = ["id", "invoice_id", "charge_id", "package_id", "date_of_service", "code", "description",
                        "units", "amount"]  # fmt: skip


def _invoice_lines(plan):
    for v in plan.visits():
        if not (has_charge(v) and is_invoiced(v)):
            continue
        _total, lines = _pricing(v.service, v.duration, _second(v))
        for i, (code, _minutes, unit_count, _unit_price, amount, _techniques) in enumerate(lines):
            yield (2 * v.id - 1 + i, v.id, v.id, None, v.day.isoformat(), code, DESCRIPTIONS[code], unit_count, amount)


PAYMENT_COLUMNS = ["id", "public_id", "patient_id", "payer_id", "kind", "method", "amount", "currency", "received_on",
                   "reference", "note", "recorded_at", "recorded_by_id", "voided_at", "voided_by_id",
                   "void_reason"]  # fmt: skip


def _payments(plan, ids):
    salt = sp.salt(plan.seed, "payment")
    for v in plan.visits():
        if not (has_charge(v) and is_invoiced(v) and is_paid(v)):
            continue
        total, _lines = _pricing(v.service, v.duration, _second(v))
        yield (
            v.id,
            sp.uid(salt, v.id),
            v.patient + 1,
            None,
            "payment",
            "card" if v.id % 4 else "cash",
            str(total),
            "USD",
            v.day.isoformat(),
            f"slip {v.id % 10000:04d}" if v.id % 4 else "",
            "",
            dt(_issued(v) + datetime.timedelta(minutes=2)),
            ids.frontdesk,
            None,
            None,
            "",
        )


ALLOCATION_COLUMNS = ["id", "payment_id", "invoice_id", "amount", "at", "by_id"]


def _allocations(plan, ids):
    for v in plan.visits():
        if not (has_charge(v) and is_invoiced(v) and is_paid(v)):
            continue
        total, _lines = _pricing(v.service, v.duration, _second(v))
        yield (v.id, v.id, v.id, str(total), dt(_issued(v) + datetime.timedelta(minutes=2)), ids.frontdesk)


# Referrals -----------------------------------------------------------------------------------


def write_referrals(plan: sp.Plan, ids, writer) -> None:
    writer.write(ReferringProvider, PROVIDER_COLUMNS, _providers(plan))
    spans = scale_rows.spans(plan)
    bench, expiring = set(), set()
    for v in plan.visits():
        if v.day == sp.BENCH_DAY and v.practitioner == 0:
            bench.add(v.patient)
        if v.bench_rank == 0:
            expiring.add(v.patient)
    writer.write(Referral, REFERRAL_COLUMNS, _referrals(plan, ids, spans, bench | expiring, expiring))
    writer.reset_sequences([ReferringProvider, Referral])


PROVIDER_COLUMNS = ["id", "public_id", "version", "first_name", "last_name", "credentials", "practice_name", "npi",
                    "phone", "fax", "email", "address_line1", "city", "region", "postal_code", "is_active", "is_demo",
                    "created_at"]  # fmt: skip


def _providers(plan):
    salt = sp.salt(plan.seed, "provider")
    first, last = scale_rows.PRACTITIONER_FIRST, scale_rows.demo_data.LAST_NAMES
    for i in range(PROVIDERS):
        f, la = first[(i * 7 + 3) % len(first)], last[(i * 5 + 11) % len(last)]
        yield (
            i + 1,
            sp.uid(salt, i + 1),
            1,
            f,
            la,
            ("MD", "DO", "NP", "PA-C", "DC")[i % 5],
            f"Anytown Medical Group {i % 8 + 1}",
            "",
            f"(213) 555-01{50 + i % 50:02d}",
            f"(213) 555-01{i % 50:02d}",
            f"{f}.{la}@example.org".lower(),
            f"{200 + i} Example Avenue",
            "Anytown",
            "CA",
            "90000",
            1,
            1,
            dt(datetime.datetime(2019, 1, 2, 17)),
        )


REFERRAL_COLUMNS = ["id", "public_id", "version", "patient_id", "provider_id", "episode_id", "referral_date",
                    "diagnosis_codes", "reason", "sessions_per_week", "weeks", "visits_authorized", "valid_from",
                    "valid_until", "authorization_number", "precautions", "original", "original_name",
                    "original_type", "original_size", "is_closed", "created_at", "created_by_id"]  # fmt: skip


# The first patient of each practitioner's bench days holds a referral that expires five
# days after the bench day, so every calendar page of the bench shows "auth" badges (and
# makes their one audit insert) at every N; the rest of a referral's state depends on N.
EXPIRES_AFTER_BENCH_DAY = datetime.timedelta(days=5)


def _referrals(plan, ids, spans, bench, expiring):
    salt = sp.salt(plan.seed, "referral")
    for j in range(plan.n):
        if spans.first[j] < 0 or not (j % 4 == 0 or j in bench):
            continue
        first = scale_rows.day_of(spans.first[j])
        written = first - datetime.timedelta(days=7)
        until = max(scale_rows.day_of(spans.last[j]), first + datetime.timedelta(days=180))
        if j in expiring:
            until = sp.BENCH_DAY + EXPIRES_AFTER_BENCH_DAY
        yield (
            j + 1,
            sp.uid(salt, j + 1),
            1,
            j + 1,
            j % PROVIDERS + 1,
            j + 1,
            written.isoformat(),
            json.dumps(clinical.COMPLAINTS[j % len(clinical.COMPLAINTS)][1]),
            f"Massage therapy for {clinical.COMPLAINTS[j % len(clinical.COMPLAINTS)][0].lower()}.",
            1,
            12,
            max(12, spans.count[j]),
            written.isoformat(),
            until.isoformat(),
            "",
            "",
            "",
            "",
            "",
            None,
            0 if clinical.is_open(spans, j) else 1,
            dt(sp.utc_naive(written, datetime.time(9))),
            ids.frontdesk,
        )
