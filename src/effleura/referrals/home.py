"""The referrer's side of a clinician's day on the home page (core/extension_points.py
``home_sections``): progress reports due to referring providers and authorizations
running out. ``mine``: the episodes a therapist leads; otherwise the whole practice's.

A progress report is due on an open referral of an open episode once REPORT_EVERY_VISITS
signed visits have been charted since the last signed report (or since the referral
began), or REPORT_EVERY_DAYS days have passed with at least one visit: the rhythm most
referrers and payers ask for (a report at least every ten treatment days or thirty
days; docs/referrals.md)."""

import datetime
from dataclasses import dataclass

from django.db.models import Case, Count, DateField, Max, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce

from effleura.clinical.choices import EpisodeStatus, RecordStatus
from effleura.clinical.models import SessionNote
from effleura.core import audit, careteam, clock
from effleura.core.choices import AuditAction
from effleura.core.extension_points import Section
from effleura.core.permissions import has_permission
from effleura.referrals.authorization_warnings import running_out
from effleura.referrals.choices import ReportStatus
from effleura.referrals.models import Referral, Report

REPORT_EVERY_VISITS = 10
REPORT_EVERY_DAYS = 30
LISTED = 10


@dataclass(frozen=True)
class ReportDue:
    referral: Referral
    since: datetime.date  # the last signed report's period end, or the day before the referral began
    visits: int  # signed visits charted since then
    days: int  # days since then


def reports_due_for(user, mine: bool, today: datetime.date | None = None) -> list[ReportDue]:
    """Every open referral whose progress report is due, longest waiting first: one query
    (the last report and the visits since are subqueries), no audit (the caller audits
    what it shows)."""
    today = today or clock.today()
    last_report = (
        Report.objects.filter(episode=OuterRef("episode"), status=ReportStatus.SIGNED)
        .values("episode")
        .annotate(last=Max("period_end"))
        .values("last")
    )
    signed = SessionNote.objects.filter(episode=OuterRef("episode"), status=RecordStatus.SIGNED)

    def counted(notes):
        return Subquery(notes.values("episode").annotate(n=Count("id")).values("n"))

    referrals = (
        Referral.objects.filter(
            is_closed=False, episode__isnull=False, episode__status=EpisodeStatus.OPEN, valid_from__lte=today
        )
        .annotate(last=Subquery(last_report, output_field=DateField()))
        .annotate(
            # Visits after the last report's period, or since the referral began.
            visits=Coalesce(
                Case(
                    When(last__isnull=True, then=counted(signed.filter(session_date__gte=OuterRef("valid_from")))),
                    default=counted(signed.filter(session_date__gt=OuterRef("last"))),
                ),
                Value(0),
            )
        )
        .filter(visits__gt=0)
    )
    if mine:
        referrals = referrals.filter(episode__therapist=user)
    referrals = careteam.only_team(user, referrals)
    cutoff = today - datetime.timedelta(days=REPORT_EVERY_DAYS)
    waited = Q(last__lte=cutoff) | Q(last__isnull=True, valid_from__lte=cutoff + datetime.timedelta(days=1))
    referrals = referrals.filter(Q(visits__gte=REPORT_EVERY_VISITS) | waited)
    rows = referrals.select_related("patient", "provider", "episode").order_by(
        Coalesce("last", "valid_from").asc(), "id"
    )
    due = []
    for r in rows:
        since = r.last or (r.valid_from - datetime.timedelta(days=1))
        due.append(ReportDue(r, since, r.visits, (today - since).days))
    return due


def reports_due(user, mine: bool) -> Section | None:
    """The home page's card of reports due; one query and one audit insert."""
    if not (has_permission(user, "report.write") and has_permission(user, "referral.view")):
        return None
    due = reports_due_for(user, mine)
    if not due:
        return None
    shown = due[:LISTED]
    audit.record_many(
        user, AuditAction.READ, "referral", [d.referral.patient.public_id for d in shown], detail="home: reports due"
    )
    return Section(
        "referrals/home/reports_due.html",
        {
            "due": shown,
            "more": len(due) - len(shown),
            "every_visits": REPORT_EVERY_VISITS,
            "every_days": REPORT_EVERY_DAYS,
        },
    )


def authorizations_running_out(user, mine: bool) -> Section | None:
    """Authorizations running out, used up or lately expired (the Authorizations page's
    list), the first LISTED of them, audited as shown; for a therapist only the episodes
    they lead."""
    if not has_permission(user, "referral.view"):
        return None
    rows = running_out(user, led_by=user if mine else None, shown=LISTED)
    if not rows:
        return None
    return Section("referrals/home/running_out.html", {"rows": rows[:LISTED], "more": max(0, len(rows) - LISTED)})
