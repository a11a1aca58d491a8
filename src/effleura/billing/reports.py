"""Billing reports (issue 6 item 6): revenue, payments, outstanding balances with aging,
visits and the no-show rate, and each therapist's production.

Every report is a ``Report``: columns, rows and a totals row, shown as a page, exported as
CSV and answered by the API from the same object. Each is a fixed number of aggregate
queries whatever the number of charges, payments, invoices or appointments: the grouping
and summing happen in the database, never row by row in Python.

What each report counts (the rules a practice owner reads in docs/billing.md):

* Revenue: the charges of visits (not void) by their date of service, whatever became of
  them (invoiced, covered by a package or still open): what the work was worth.
* Payments: money received by the date it was received, by method; refunds count
  negative, so "net" is what stayed in the till.
* Outstanding: what is still owed on each issued invoice as of a date (its total less the
  payments applied to it by then), aged by the invoice's issue date in buckets of 0–30,
  31–60, 61–90 and over 90 days. Void and draft invoices owe nothing.
* Visits: the appointments starting in the range (practice time zone) by status. The
  no-show rate is no-shows / (completed + no-shows): the share of visits that should have
  happened and did not. Late cancellations are counted apart (scheduling marks them).
* Production: a therapist's own visits, units and charges; a therapist sees only their
  own, billing staff and owners everyone's (billing.access.sees_everyones).

Amounts are in the practice currency (settings.EFFLEURA_CURRENCY); rows recorded in
another currency are left out rather than added to a different money.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, DateField, DecimalField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Trunc, TruncDate
from django.utils import timezone

from effleura.billing import balances
from effleura.billing.choices import ChargeStatus, InvoiceStatus, PaymentKind, PaymentMethod
from effleura.billing.models import Charge, ChargeLine, Invoice, Payment, PaymentAllocation
from effleura.core.values import CENT, parse_date
from effleura.patients.models import Patient
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment

ZERO = Decimal("0.00")
PERIODS = {"day": "Day", "week": "Week", "month": "Month"}
GROUPS = {**PERIODS, "practitioner": "Practitioner", "service": "Service"}
# A report spans at most ten years: longer is a typo (20266) rather than a question.
MAX_RANGE_DAYS = 3660
AGING_BUCKETS = (("days_0_30", "0–30 days", 0, 30), ("days_31_60", "31–60 days", 31, 60),
                 ("days_61_90", "61–90 days", 61, 90), ("days_over_90", "Over 90 days", 91, None))  # fmt: skip


@dataclass
class Report:
    """One report's answer: ``columns`` are (key, label) pairs; each row and ``totals`` map
    keys to values (str, int, Decimal, or None for "not applicable")."""

    name: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict]
    totals: dict
    currency: str
    params: dict = field(default_factory=dict)
    # Rows shown below the totals, e.g. the payments per method over the whole range.
    subtotals: list[dict] = field(default_factory=list)
    money: frozenset = frozenset()


# Parameters --------------------------------------------------------------------------------


def _date(data: Mapping, name: str, default: datetime.date, errors: dict) -> datetime.date:
    day = parse_date(data.get(name), name, errors, default=default)
    if name in errors:
        # A report's parameters are query strings and API input: the API's own words.
        errors[name] = "Enter a real date as YYYY-MM-DD, e.g. 2026-03-01."
    return day


def check_params(name: str, data: Mapping) -> dict:
    """Validate a report's parameters (a query string or API input) into plain values.

    ``start``/``end`` default to this month so far; ``as_of`` (outstanding) to today;
    ``by`` to month. Raises ValidationError {field: message} in the user's words."""
    today = timezone.localdate()
    errors: dict[str, str] = {}
    if name == "aging":
        as_of = _date(data, "as_of", today, errors)
        if errors:
            raise ValidationError(errors)
        return {"as_of": as_of}
    start = _date(data, "start", today.replace(day=1), errors)
    end = _date(data, "end", today, errors)
    if not errors and end < start:
        errors["end"] = "The end date is before the start date."
    elif not errors and (end - start).days > MAX_RANGE_DAYS:
        errors["end"] = "Choose a range of at most ten years."
    choices = PERIODS if name in ("payments", "production") else GROUPS
    by = data.get("by") or "month"
    by = by.strip() if isinstance(by, str) else ""
    if by not in choices:
        errors["by"] = f"Group by one of: {', '.join(choices)}."
    if errors:
        raise ValidationError(errors)
    return {"start": start, "end": end, "by": by}


# Grouping ---------------------------------------------------------------------------------


def _period_label(kind: str, day) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime.datetime):
        day = day.date()
    if kind == "month":
        return day.strftime("%Y-%m")
    if kind == "week":
        return f"week of {day.isoformat()}"
    return day.isoformat()


def _period_expression(kind: str, path: str, *, timed: bool):
    """The database expression that truncates ``path`` to the start of its day, week
    (Monday) or month; a datetime (``timed``) is first read in the practice time zone."""
    tz = timezone.get_current_timezone() if timed else None
    if kind == "day":
        return TruncDate(path, tzinfo=tz) if timed else F(path)
    return Trunc(path, kind, output_field=DateField(), tzinfo=tz)


def _staff_name(first: str, last: str, username: str, credentials: str) -> str:
    name = f"{first} {last}".strip() or username or "Nobody"
    return f"{name}, {credentials}" if credentials else name


def _grouped(queryset, by: str, *, date_path: str, timed: bool = False, extra=()):
    """``queryset.values(...)`` grouped by ``by``, and a function giving a row's (sort key,
    label). ``extra`` are more fields to group by (e.g. the payment method)."""
    if by in PERIODS:
        grouped = queryset.annotate(group=_period_expression(by, date_path, timed=timed)).values("group", *extra)
        return grouped, lambda row: ((row["group"] is None, row["group"]), _period_label(by, row["group"]))
    if by == "practitioner":
        fields = ["practitioner_id"] + [
            f"practitioner__{f}" for f in ("first_name", "last_name", "username", "credentials")
        ]

        def label(row):
            name = _staff_name(*(row[f] for f in fields[1:]))
            return (name.casefold(), row[fields[0]]), name

        return queryset.values(*fields, *extra), label
    fields = ["service_id", "service__name"]
    return queryset.values(*fields, *extra), lambda row: (
        (row[fields[0]] is None, (row[fields[1]] or "").casefold()),
        row[fields[1]] or "No service",
    )


def _money(value) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _sum_money(rows, key) -> Decimal:
    return sum((row[key] for row in rows), ZERO)


def _range_instants(start: datetime.date, end: datetime.date):
    tz = timezone.get_current_timezone()
    first = datetime.datetime.combine(start, datetime.time.min, tzinfo=tz)
    after = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return first, after


# The reports (plain values in, Report out; no permission checks) ----------------------------


def revenue(start: datetime.date, end: datetime.date, by: str = "month", *, practitioner_id=None) -> Report:
    """Charges not void, by date of service, grouped by period, practitioner or service."""
    currency = settings.EFFLEURA_CURRENCY
    charges = Charge.objects.filter(date_of_service__range=(start, end), currency=currency).exclude(
        status=ChargeStatus.VOID
    )
    if practitioner_id is not None:
        charges = charges.filter(practitioner_id=practitioner_id)
    grouped, label = _grouped(charges.order_by(), by, date_path="date_of_service")
    keyed = []
    for row in grouped.annotate(visits=Count("id"), amount=Sum("total")):
        key, text = label(row)
        keyed.append((key, {"label": text, "visits": row["visits"], "amount": _money(row["amount"])}))
    rows = [row for _key, row in sorted(keyed, key=lambda pair: pair[0])]
    totals = {"label": "Total", "visits": sum(r["visits"] for r in rows), "amount": _sum_money(rows, "amount")}
    return Report(
        "revenue", "Revenue", [("label", GROUPS[by]), ("visits", "Visits"), ("amount", "Charges")],
        rows, totals, currency, {"start": start, "end": end, "by": by}, money=frozenset({"amount"}),
    )  # fmt: skip


def payments(start: datetime.date, end: datetime.date, by: str = "month") -> Report:
    """Payments and refunds received in the range, by period and method; refunds negative."""
    currency = settings.EFFLEURA_CURRENCY
    base = Payment.objects.filter(Payment.LIVE, received_on__range=(start, end), currency=currency).order_by()
    is_refund = Q(kind=PaymentKind.REFUND)
    sums = {
        "payments": Count("id", filter=~is_refund),
        "received": Sum("amount", filter=~is_refund),
        "refunds": Count("id", filter=is_refund),
        "refunded": Sum("amount", filter=is_refund),
    }
    grouped, label = _grouped(base, by, date_path="received_on", extra=("method",))
    methods = dict(PaymentMethod.choices)
    keyed = []
    for row in grouped.annotate(**sums):
        key, text = label(row)
        order = PaymentMethod.values.index(row["method"]) if row["method"] in methods else len(methods)
        keyed.append(((key, order, row["method"]), _payment_row(text, methods.get(row["method"], row["method"]), row)))
    rows = [row for _key, row in sorted(keyed, key=lambda pair: pair[0])]
    subtotals = []
    for method_label in PaymentMethod.labels:
        mine = [r for r in rows if r["method"] == method_label]
        if mine:
            subtotals.append(_payment_totals(mine, "All periods", method_label))
    return Report(
        "payments", "Payments", [
            ("label", PERIODS[by]), ("method", "Method"), ("payments", "Payments"), ("received", "Received"),
            ("refunds", "Refunds"), ("refunded", "Refunded"), ("net", "Net"),
        ],
        rows, _payment_totals(rows, "Total", ""), currency, {"start": start, "end": end, "by": by},
        subtotals=subtotals, money=frozenset({"received", "refunded", "net"}),
    )  # fmt: skip


def _payment_row(text: str, method: str, row: dict) -> dict:
    received, refunded = _money(row["received"]), -_money(row["refunded"])
    return {
        "label": text, "method": method, "payments": row["payments"], "received": received,
        "refunds": row["refunds"], "refunded": refunded, "net": received + refunded,
    }  # fmt: skip


def _payment_totals(rows, text: str, method: str) -> dict:
    return {
        "label": text, "method": method, "payments": sum(r["payments"] for r in rows),
        "received": _sum_money(rows, "received"), "refunds": sum(r["refunds"] for r in rows),
        "refunded": _sum_money(rows, "refunded"), "net": _sum_money(rows, "net"),
    }  # fmt: skip


def aging(as_of: datetime.date) -> tuple[Report, list]:
    """What each patient still owes on issued invoices as of a date, by the age of the
    invoice (days since its issue date). Returns the report and the patients' public ids
    shown (for the audit trail: the rows name patients)."""
    currency = settings.EFFLEURA_CURRENCY
    _first, cutoff = _range_instants(as_of, as_of)
    money = DecimalField(max_digits=12, decimal_places=2)
    paid = Subquery(
        PaymentAllocation.objects.filter(invoice=OuterRef("pk"), at__lt=cutoff, payment__voided_at__isnull=True)
        .order_by()
        .values("invoice")
        .annotate(s=Sum("amount"))
        .values("s"),
        output_field=money,
    )
    owed = ExpressionWrapper(F("total") - Coalesce(paid, Value(ZERO), output_field=money), output_field=money)
    invoices = (
        Invoice.objects.filter(status=InvoiceStatus.ISSUED, issued_on__lte=as_of, currency=currency)
        .order_by()
        .annotate(owed=owed)
        .filter(owed__gt=balances.HALF_CENT)  # not a float sum's leftover (balances.still_owed)
    )
    sums = {}
    for key, _label, low, high in AGING_BUCKETS:
        window = Q(issued_on__lte=as_of - datetime.timedelta(days=low))
        if high is not None:
            window &= Q(issued_on__gte=as_of - datetime.timedelta(days=high))
        sums[key] = Sum("owed", filter=window)
    grouped = list(invoices.values("patient_id").annotate(invoices=Count("id"), total=Sum("owed"), **sums))
    patients = Patient.objects.only("public_id", "preferred_name", "legal_first_name", "legal_last_name").in_bulk(
        [row["patient_id"] for row in grouped]
    )
    rows = []
    for row in grouped:
        patient = patients[row["patient_id"]]
        rows.append(
            {
                "label": patient.display_name,
                "patient_id": patient.public_id,
                "invoices": row["invoices"],
                **{key: _money(row[key]) for key, *_rest in AGING_BUCKETS},
                "total": _money(row["total"]),
            }
        )
    rows.sort(key=lambda r: (-r["total"], r["label"].casefold()))
    totals = {
        "label": "Total",
        "invoices": sum(r["invoices"] for r in rows),
        **{key: _sum_money(rows, key) for key, *_rest in AGING_BUCKETS},
        "total": _sum_money(rows, "total"),
    }
    columns = [("label", "Patient"), ("invoices", "Invoices")]
    columns += [(key, text) for key, text, *_rest in AGING_BUCKETS] + [("total", "Outstanding")]
    report = Report(
        "aging", "Outstanding balances", columns, rows, totals, currency, {"as_of": as_of},
        money=frozenset({key for key, *_rest in AGING_BUCKETS} | {"total"}),
    )  # fmt: skip
    return report, [row["patient_id"] for row in rows]


def no_show_rate(completed: int, no_shows: int) -> Decimal | None:
    """No-shows as a percentage of the visits that should have happened (completed +
    no-shows), one decimal place; None when there were none."""
    if completed + no_shows == 0:
        return None
    return (Decimal(100 * no_shows) / Decimal(completed + no_shows)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def visits(start: datetime.date, end: datetime.date, by: str = "month") -> Report:
    """Appointments starting in the range (practice time zone) by status, and the no-show rate."""
    first, after = _range_instants(start, end)
    base = Appointment.objects.filter(start__gte=first, start__lt=after).order_by()
    status = AppointmentStatus
    counts = {
        "appointments": Count("id"),
        "completed": Count("id", filter=Q(status=status.COMPLETED)),
        "no_show": Count("id", filter=Q(status=status.NO_SHOW)),
        "late_cancelled": Count("id", filter=Q(status=status.CANCELLED, late_cancel=True)),
        "cancelled": Count("id", filter=Q(status=status.CANCELLED, late_cancel=False)),
        "interrupted": Count("id", filter=Q(status=status.INTERRUPTED)),
        "upcoming": Count("id", filter=Q(status__in=[status.BOOKED, status.CHECKED_IN, status.IN_SESSION])),
    }
    grouped, label = _grouped(base, by, date_path="start", timed=True)
    keyed = []
    for row in grouped.annotate(**counts):
        key, text = label(row)
        values = {name: row[name] for name in counts}
        keyed.append((key, {"label": text, **values, "rate": no_show_rate(row["completed"], row["no_show"])}))
    rows = [row for _key, row in sorted(keyed, key=lambda pair: pair[0])]
    totals = {"label": "Total", **{name: sum(r[name] for r in rows) for name in counts}}
    totals["rate"] = no_show_rate(totals["completed"], totals["no_show"])
    columns = [
        ("label", GROUPS[by]), ("appointments", "Appointments"), ("completed", "Completed"),
        ("no_show", "No-shows"), ("late_cancelled", "Late cancellations"), ("cancelled", "Other cancellations"),
        ("interrupted", "Interrupted"), ("upcoming", "Not yet done"), ("rate", "No-show rate (%)"),
    ]  # fmt: skip
    return Report(
        "visits", "Visits and no-shows", columns, rows, totals, settings.EFFLEURA_CURRENCY,
        {"start": start, "end": end, "by": by},
    )  # fmt: skip


def production(start: datetime.date, end: datetime.date, by: str = "month", *, practitioner_id=None) -> Report:
    """Each practitioner's visits (charges not void), units billed and charges, by period."""
    currency = settings.EFFLEURA_CURRENCY
    charges = Charge.objects.filter(date_of_service__range=(start, end), currency=currency).exclude(
        status=ChargeStatus.VOID
    )
    if practitioner_id is not None:
        charges = charges.filter(practitioner_id=practitioner_id)
    names = [f"practitioner__{f}" for f in ("first_name", "last_name", "username", "credentials")]
    period = _period_expression(by, "date_of_service", timed=False)
    totals_by_key = {}
    for row in (
        charges.order_by()
        .annotate(group=period)
        .values("group", "practitioner_id", *names)
        .annotate(visits=Count("id"), amount=Sum("total"))
    ):
        totals_by_key[(row["practitioner_id"], row["group"])] = row
    line_period = _period_expression(by, "charge__date_of_service", timed=False)
    units = {
        (row["charge__practitioner_id"], row["group"]): row["units"]
        for row in ChargeLine.objects.filter(charge__in=charges.values("pk"))
        .order_by()
        .annotate(group=line_period)
        .values("group", "charge__practitioner_id")
        .annotate(units=Sum("units"))
    }
    keyed = []
    for key, row in totals_by_key.items():
        name = _staff_name(*(row[f] for f in names))
        keyed.append(
            (
                (name.casefold(), key[0], key[1]),
                {
                    "label": name,
                    "period": _period_label(by, row["group"]),
                    "visits": row["visits"],
                    "units": units.get(key) or 0,
                    "amount": _money(row["amount"]),
                },
            )
        )
    rows = [row for _key, row in sorted(keyed, key=lambda pair: pair[0])]
    totals = {
        "label": "Total", "period": "", "visits": sum(r["visits"] for r in rows),
        "units": sum(r["units"] for r in rows), "amount": _sum_money(rows, "amount"),
    }  # fmt: skip
    columns = [("label", "Practitioner"), ("period", PERIODS[by]), ("visits", "Visits"), ("units", "Units"),
               ("amount", "Charges")]  # fmt: skip
    return Report(
        "production", "Production", columns, rows, totals, currency, {"start": start, "end": end, "by": by},
        money=frozenset({"amount"}),
    )  # fmt: skip


# Which reports there are (billing/access.py access_report runs them) -------------------------

PRACTICE_REPORTS = {"revenue": revenue, "payments": payments, "visits": visits}
REPORT_NAMES = ("revenue", "payments", "aging", "visits", "production")


def csv_value(value) -> str:
    """A cell of a CSV export: Decimals as plain strings ("1234.50"), dates ISO (a moment in
    the practice's zone with its offset), None empty,
    and no spreadsheet formula from a name (a leading = + - @ is quoted with ')."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat()  # the active (practice's) zone, with its offset
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_rows(report: Report):
    """The header row, the rows, the subtotals and the totals row, as lists of strings.
    Money columns carry the currency in the header (e.g. "Charges (USD)")."""
    keys = [key for key, _label in report.columns]
    yield [f"{label} ({report.currency})" if key in report.money else label for key, label in report.columns]
    for row in [*report.rows, *report.subtotals, report.totals]:
        yield [_csv_cell(row.get(key)) for key in keys]


def _csv_cell(value) -> str:
    # A negative amount is a number, not a formula: keep its minus sign.
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    return csv_value(value)
