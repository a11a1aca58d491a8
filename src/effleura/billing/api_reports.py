"""The billing reports part of the JSON API (operation names in core/permissions.py URL_RULES,
# API: billing ...). Registered in effleura/api/api.py.

Thin, like the pages: billing.access.access_report validates the parameters (422 with
{field: message} when they are wrong), asks the permission table and audits. Each answer
carries the columns, the rows and the totals of the report shown on its page; amounts are
strings with two decimals ("1234.50"), never floats, in ``currency``.
"""

import datetime
import uuid
from decimal import Decimal

from ninja import Query, Router, Schema
from pydantic import Field

from effleura.billing import access
from effleura.core.api_schemas import ERRORS, text

router = Router(tags=["billing: reports"])

Cell = str | int | None


class Column(Schema):
    key: str
    label: str
    money: bool = Field(description="Whether the column holds amounts in the report's currency.")


class BillingReportOut(Schema):
    name: str
    title: str
    currency: str = Field(description="ISO 4217 code of every amount.")
    params: dict[str, str] = Field(description="The parameters the report was run with, after defaults.")
    columns: list[Column]
    rows: list[dict[str, Cell]]
    subtotals: list[dict[str, Cell]] = Field(description="Payments: each method over the whole range.")
    totals: dict[str, Cell]


class RangeQuery(Schema):
    start: text(10) | None = Field(None, description="YYYY-MM-DD; default the first of this month.")
    end: text(10) | None = Field(None, description="YYYY-MM-DD; default today.")
    by: text(12) | None = Field(None, description="day, week, month (default), practitioner or service.")


class PeriodQuery(Schema):
    start: text(10) | None = Field(None, description="YYYY-MM-DD; default the first of this month.")
    end: text(10) | None = Field(None, description="YYYY-MM-DD; default today.")
    by: text(12) | None = Field(None, description="day, week or month (default).")


class AsOfQuery(Schema):
    as_of: text(10) | None = Field(None, description="YYYY-MM-DD; default today.")


def _value(value) -> Cell:
    if value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime.date | uuid.UUID):
        return str(value)
    return str(value)


def _row(row: dict) -> dict:
    return {key: _value(value) for key, value in row.items()}


def _answer(request, name: str, query: Schema) -> dict:
    report = access.access_report(request.user, name, query.model_dump(exclude_none=True))
    return {
        "name": report.name,
        "title": report.title,
        "currency": report.currency,
        "params": {key: str(value) for key, value in report.params.items()},
        "columns": [{"key": k, "label": label, "money": k in report.money} for k, label in report.columns],
        "rows": [_row(row) for row in report.rows],
        "subtotals": [_row(row) for row in report.subtotals],
        "totals": _row(report.totals),
    }


@router.get("/billing/reports/revenue", response={200: BillingReportOut, **ERRORS}, url_name="billing_report_revenue")
def revenue(request, query: Query[RangeQuery]):
    """Charges for visits (not void) by date of service, by period, practitioner or service."""
    return _answer(request, "revenue", query)


@router.get("/billing/reports/payments", response={200: BillingReportOut, **ERRORS}, url_name="billing_report_payments")
def payments(request, query: Query[PeriodQuery]):
    """Payments and refunds (negative) by period and method, with each method's subtotal."""
    return _answer(request, "payments", query)


@router.get("/billing/reports/aging", response={200: BillingReportOut, **ERRORS}, url_name="billing_report_aging")
def aging(request, query: Query[AsOfQuery]):
    """What each patient owes on issued invoices as of a date, aged 0–30, 31–60, 61–90, over 90 days."""
    return _answer(request, "aging", query)


@router.get("/billing/reports/visits", response={200: BillingReportOut, **ERRORS}, url_name="billing_report_visits")
def visits(request, query: Query[RangeQuery]):
    """Appointments by status and the no-show rate (no-shows / (completed + no-shows), in %)."""
    return _answer(request, "visits", query)


@router.get(
    "/billing/reports/production", response={200: BillingReportOut, **ERRORS}, url_name="billing_report_production"
)
def production(request, query: Query[PeriodQuery]):
    """Visits, units and charges per practitioner and period; a therapist gets their own only."""
    return _answer(request, "production", query)
