"""Referrals page: the referrals running out (authorization tracking, issue 5 item 3).
URL names are listed in core/permissions.py URL_RULES. Thin: ask
referrals.authorization_warnings.running_out (permission and audit), render."""

import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse

from effleura.referrals.authorization_warnings import REPORT_DAYS, running_out


def _referral_url(referral) -> str:
    """The referral's page when referrals' pages provide one, else ""."""
    try:
        return reverse("referrals:referral", kwargs={"referral_id": referral.public_id})
    except NoReverseMatch:
        return ""


def running_out_page(request):
    """Referrals running out, used up, or expired in the last 30 days; ?format=csv for a file."""
    rows = running_out(request.user)
    if request.GET.get("format") == "csv":
        return _csv(rows)
    linked = [(referral, status, _referral_url(referral)) for referral, status in rows]
    return render(request, "referrals/running_out.html", {"nav": "referrals", "rows": linked, "days": REPORT_DAYS})


def _csv(rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="referrals-running-out.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["patient", "provider", "state", "visits left", "visits authorized", "valid from", "valid until", "why"]
    )
    for referral, status in rows:
        writer.writerow(
            [
                _safe(referral.patient.display_name),
                _safe(referral.provider.display_name),
                status.label,
                status.visits_left,
                referral.visits_authorized,
                referral.valid_from.isoformat(),
                referral.valid_until.isoformat(),
                status.summary,
            ]
        )
    return response


def _safe(value: str) -> str:
    """No spreadsheet formula injection from names."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


urlpatterns = [path("running-out/", running_out_page, name="running_out")]
