"""Where authorization warnings show: the calendar badge, the patient chart, the booking
confirmation and the "running out" report. The rule is referrals/authorization.py.

Registered in referrals/apps.py with core/extension_points.py: ``authorization_badges``
as a calendar badge and ``booking_warnings`` as a booking warning (scheduling never
imports referrals).
"""

import datetime

from django.utils import timezone

from effleura.core import audit, careteam
from effleura.core.choices import AuditAction
from effleura.core.extension_points import Flag
from effleura.core.permissions import has_permission, require
from effleura.referrals import authorization
from effleura.referrals.choices import AuthorizationState
from effleura.referrals.models import Referral

REPORT_DAYS = 30
# Visits that count against an authorization when booking: done, or still to come.
COMMITTED = ("completed", "booked", "checked_in", "in_session")


def _who(referral) -> str:
    return f"the referral from {referral.provider.display_name}"


def authorization_badges(user, appointments) -> None:
    """An "auth" badge on each appointment whose patient's current referral is running out
    (amber) or used up or expired (red), its title saying why. Two queries and one audit
    insert per page, whatever the number of appointments."""
    if not has_permission(user, "referral.view"):
        return
    patients = {a.patient_id: a.patient for a in appointments}
    statuses = authorization.statuses_for_patients(list(patients), timezone.localdate(), patients=patients)
    badges = {}
    for patient_id, pairs in statuses.items():
        current = authorization.current_status(pairs)
        if current is None or not current[1].needs_attention:
            continue
        referral, status = current
        badges[patient_id] = Flag("auth", status.tone, f"Referral ({referral.provider.display_name}): {status.summary}")
    if badges:
        audit.record_many(
            user,
            AuditAction.READ,
            "referral",
            [patients[pid].public_id for pid in badges],
            detail="calendar authorization badges",
        )
    for appointment in appointments:
        if appointment.patient_id in badges:
            appointment.flags.append(badges[appointment.patient_id])


def authorizations_for(user, patient, today: datetime.date | None = None) -> list[tuple]:
    """[(referral, Status)] of the patient's open referrals, newest first, for the chart
    include referrals/includes/authorizations.html; [] for a role without referral.view.
    Audited as one read of the patient's referrals. Two queries."""
    if not has_permission(user, "referral.view"):
        return []
    pairs = authorization.statuses_for_patients([patient.pk], today or timezone.localdate())[patient.pk]
    if pairs:
        audit.record(
            user,
            AuditAction.READ,
            "referral",
            record_id=patient.public_id,
            patient_id=patient.public_id,
            detail="chart authorizations",
        )
    return pairs


def booking_warnings(patient, start, *, tz=None) -> list[str]:
    """Warnings before booking ``patient`` at ``start``: the referral covering that date has
    no visits left (completed and already booked visits in its window both count, so the 9th
    booking of 8 authorized warns), or the date is after the patient's most recent referral
    expired. Two queries at most."""
    day = timezone.localtime(start, tz).date() if tz is not None else timezone.localtime(start).date()
    referrals = list(authorization.active_referrals([patient.pk]))
    if not referrals:
        return []
    covering = [r for r in referrals if r.valid_from <= day <= r.valid_until]
    if covering:
        dates = authorization.visit_dates(
            [patient.pk], min(r.valid_from for r in covering), max(r.valid_until for r in covering), COMMITTED
        )[patient.pk]
        counted = [(r, sum(1 for d in dates if r.valid_from <= d <= r.valid_until)) for r in covering]
        if all(used >= r.visits_authorized for r, used in counted):
            referral, used = counted[0]
            return [
                f"No visits left on {_who(referral)}: {used} of {referral.visits_authorized} authorized visits "
                f"are used or already booked between {_day(referral.valid_from)} and {_day(referral.valid_until)}."
            ]
        return []
    latest = referrals[0]
    if day > latest.valid_until:
        return [f"This visit is after {_who(latest)} expired on {_day(latest.valid_until)}."]
    return []


def _day(value: datetime.date) -> str:
    return f"{value.day} {value:%b %Y}"


REPORT_STATES = (AuthorizationState.RUNNING_OUT, AuthorizationState.USED_UP, AuthorizationState.EXPIRED)


def running_out(
    user, today: datetime.date | None = None, days: int = REPORT_DAYS, *, led_by=None, shown: int | None = None
) -> list[tuple]:
    """[(referral, Status)] of open referrals running out or used up now, or expired within
    the last ``days`` days, most urgent first; with ``led_by`` only those of episodes that
    therapist leads. Two queries and one audit insert, of the patients of the first
    ``shown`` rows (all of them when None): the audit says whose referrals were shown."""
    require(user, "referral.view")
    today = today or timezone.localdate()
    since = today - datetime.timedelta(days=days)
    referrals = (
        Referral.objects.filter(is_closed=False, valid_until__gte=since, valid_from__lte=today)
        .select_related("provider", "patient", "episode")
        .order_by("valid_until", "id")
    )
    if led_by is not None:
        referrals = referrals.filter(episode__therapist=led_by)
    referrals = careteam.only_team(user, referrals)  # core/careteam.py
    rows = [(r, s) for r, s in authorization.statuses_for_referrals(referrals, today) if s.state in REPORT_STATES]
    order = {AuthorizationState.EXPIRED: 0, AuthorizationState.USED_UP: 1, AuthorizationState.RUNNING_OUT: 2}
    rows.sort(key=lambda pair: (order[pair[1].state], pair[0].valid_until, pair[0].pk))
    if rows:
        patient_ids = list(dict.fromkeys(r.patient.public_id for r, _ in rows[:shown]))
        audit.record_many(user, AuditAction.READ, "referral", patient_ids, detail="referrals running out")
    return rows
