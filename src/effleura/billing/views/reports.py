"""Billing pages: reports (URL names in core/permissions.py URL_RULES, # billing: reports).

Thin: parse the date range, run the report through billing.access.access_report (which
asks the permission table, narrows production to the therapist's own, and audits), render
a page or a CSV file. Each report page has its own CSV address so the table can require
billing_report.export for the file and billing_report.view for the page."""

import csv

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone

from effleura.billing import access, reports
from effleura.core.permissions import has_permission

DESCRIPTIONS = {
    "revenue": "Charges for visits (not void) by date of service, by period, practitioner or service.",
    "payments": "Payments received and refunds by period and method; refunds count negative.",
    "aging": "What patients still owe on issued invoices as of a date, by the age of the invoice.",
    "visits": "Appointments by status and the no-show rate: no-shows / (completed + no-shows).",
    "production": "Visits, units and charges per practitioner; a therapist sees their own only.",
}
TITLES = {
    "revenue": "Revenue",
    "payments": "Payments",
    "aging": "Outstanding balances",
    "visits": "Visits and no-shows",
    "production": "Production",
}


class RangeForm(forms.Form):
    """The date range and grouping. Text inputs (type=date): billing.reports.check_params
    is the one place the values are validated, so a page and the API answer alike."""

    start = forms.CharField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.CharField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(label="Group by", required=False, choices=list(reports.GROUPS.items()))

    def __init__(self, *args, periods_only=False, **kwargs):
        super().__init__(*args, **kwargs)
        if periods_only:
            self.fields["by"].choices = list(reports.PERIODS.items())


class AsOfForm(forms.Form):
    as_of = forms.CharField(label="As of", required=False, widget=forms.DateInput(attrs={"type": "date"}))


def _form(name: str, data):
    today = timezone.localdate()
    if name == "aging":
        return AsOfForm(data, initial={"as_of": today.isoformat()})
    initial = {"start": today.replace(day=1).isoformat(), "end": today.isoformat(), "by": "month"}
    return RangeForm(data, initial=initial, periods_only=name in ("payments", "production"))


def _account_url(patient_id) -> str:
    """The patient's billing account page when accounts provide one, else the chart."""
    for name in ("billing:account", "patients:chart"):
        try:
            return reverse(name, kwargs={"patient_id": patient_id})
        except NoReverseMatch:
            continue
    return ""


def _cell(report, key, value) -> str:
    if value is None:
        return "—"
    if key in report.money:
        return f"{value:,.2f} {report.currency}"
    return str(value)


def _table(report) -> dict:
    keys = [key for key, _label in report.columns]
    numeric = {key for key in keys if key != "label" and key not in ("method", "period")}

    def line(row):
        cells = [(_cell(report, key, row.get(key)), key in numeric) for key in keys]
        return {"cells": cells, "url": _account_url(row["patient_id"]) if row.get("patient_id") else ""}

    return {
        "headers": [(label, key in numeric) for key, label in report.columns],
        "rows": [line(row) for row in report.rows],
        "subtotals": [line(row) for row in report.subtotals],
        "totals": line(report.totals),
    }


def index(request):
    """The reports the user may run."""
    practice = has_permission(request.user, "billing_report.view")
    names = [n for n in reports.REPORT_NAMES if practice or n == "production"]
    entries = [(TITLES[n], DESCRIPTIONS[n], reverse(f"billing:report_{n}")) for n in names]
    return render(request, "billing/reports/index.html", {"nav": "reports", "entries": entries})


def _page(name: str):
    def view(request):
        report, status = None, 200
        try:
            report = access.access_report(request.user, name, request.GET)
            # The form shows what the report was run with, defaults included.
            form = _form(name, {key: str(value) for key, value in report.params.items()})
        except ValidationError as error:
            form = _form(name, request.GET)
            form.is_valid()
            for field_name, messages in error.message_dict.items():
                form.add_error(field_name if field_name in form.fields else None, messages)
            status = 400
        context = {
            "nav": "reports",
            "name": name,
            "title": TITLES[name],
            "description": DESCRIPTIONS[name],
            "form": form,
            "report": report,
            "table": _table(report) if report else None,
            "csv_url": f"{reverse(f'billing:report_{name}_csv')}?{request.GET.urlencode()}",
            "can_export": name == "production" or has_permission(request.user, "billing_report.export"),
        }
        return render(request, "billing/reports/report.html", context, status=status)

    view.__name__ = f"report_{name}"
    view.__doc__ = f"The {TITLES[name].lower()} report page: {DESCRIPTIONS[name]}"
    return view


def _csv(name: str):
    def view(request):
        try:
            report = access.access_report(request.user, name, request.GET, export=True)
        except ValidationError as error:
            text = " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
            return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        params = "_".join(str(value) for value in report.params.values())
        response["Content-Disposition"] = f'attachment; filename="{name}-{params}.csv"'
        writer = csv.writer(response)
        for row in reports.csv_rows(report):
            writer.writerow(row)
        return response

    view.__name__ = f"report_{name}_csv"
    view.__doc__ = f"The {TITLES[name].lower()} report as a CSV file (header row, rows, totals)."
    return view


urlpatterns = [path("reports/", index, name="reports")]
for _name in reports.REPORT_NAMES:
    urlpatterns += [
        path(f"reports/{_name}/", _page(_name), name=f"report_{_name}"),
        path(f"reports/{_name}.csv", _csv(_name), name=f"report_{_name}_csv"),
    ]
