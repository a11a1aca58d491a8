"""Authorization tracking: how many of a referral's visits are used and how long it runs.

``authorization_status`` is the pure rule (issue 5, item 3):

* visits used are the patient's completed appointments whose local start date falls
  from valid_from to valid_until (both inclusive);
* running out: 2 visits left or fewer (while any are left), and/or 7 days or fewer
  before valid_until (inclusive);
* used up: no visits left; expired: the day after valid_until; not yet valid: before
  valid_from.

The DB helpers compute statuses for many patients or referrals in a fixed number of
queries (one for the referrals, one for the completed visits), whatever their number.
"""

import datetime
import zoneinfo
from dataclasses import dataclass, field
from functools import lru_cache

from effleura.core import clock
from effleura.referrals.choices import AuthorizationState
from effleura.referrals.models import Referral
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment

RUNNING_OUT_VISITS = 2
RUNNING_OUT_DAYS = 7
ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Status:
    state: str  # an AuthorizationState value
    visits_left: int
    days_left: int  # days from today to valid_until (0 on the last day; negative once expired)
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return AuthorizationState(self.state).label

    @property
    def needs_attention(self) -> bool:
        return self.state in (AuthorizationState.RUNNING_OUT, AuthorizationState.USED_UP, AuthorizationState.EXPIRED)

    @property
    def tone(self) -> str:
        """The badge tone: amber when running out, red when used up or expired."""
        if self.state == AuthorizationState.RUNNING_OUT:
            return "warn"
        if self.state in (AuthorizationState.USED_UP, AuthorizationState.EXPIRED):
            return "danger"
        return "ok" if self.state == AuthorizationState.ACTIVE else ""

    @property
    def summary(self) -> str:
        return "; ".join(self.warnings)


def _day(value: datetime.date) -> str:
    return f"{value.day} {value:%b %Y}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def authorization_status(
    visits_authorized: int,
    visits_used: int,
    valid_from: datetime.date,
    valid_until: datetime.date,
    today: datetime.date,
) -> Status:
    """Where an authorization stands on ``today``, with its warnings in plain words."""
    visits_left = max(visits_authorized - visits_used, 0)
    days_left = (valid_until - today).days
    counted = f"{_plural(visits_left, 'visit')} left of {visits_authorized}"
    if today > valid_until:
        return Status(AuthorizationState.EXPIRED, visits_left, days_left, [f"expired on {_day(valid_until)}"])
    if today < valid_from:
        return Status(AuthorizationState.NOT_YET_VALID, visits_left, days_left, [f"not valid until {_day(valid_from)}"])
    if visits_left == 0:
        return Status(
            AuthorizationState.USED_UP,
            0,
            days_left,
            [f"all {_plural(visits_authorized, 'visit')} used (0 left of {visits_authorized})"],
        )
    warnings = []
    if visits_left <= RUNNING_OUT_VISITS:
        warnings.append(counted)
    if days_left <= RUNNING_OUT_DAYS:
        when = "today" if days_left == 0 else f"in {_plural(days_left, 'day')}"
        warnings.append(f"expires {when} (on {_day(valid_until)})")
    state = AuthorizationState.RUNNING_OUT if warnings else AuthorizationState.ACTIVE
    return Status(state, visits_left, days_left, warnings)


# Database helpers --------------------------------------------------------------------------


def _zone(name: str) -> zoneinfo.ZoneInfo:
    return _named_zone(name) if name else clock.practice_zone()


@lru_cache(maxsize=64)
def _named_zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _window_bounds(first: datetime.date, last: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """UTC instants wide enough to hold every local date from first to last in any zone."""
    utc = datetime.UTC
    start = datetime.datetime.combine(first - 2 * ONE_DAY, datetime.time.min, tzinfo=utc)
    end = datetime.datetime.combine(last + 2 * ONE_DAY, datetime.time.min, tzinfo=utc)
    return start, end


def visit_dates(patient_ids, first: datetime.date, last: datetime.date, statuses) -> dict:
    """patient id -> sorted local start dates of their appointments with one of
    ``statuses`` from ``first`` to ``last`` (local dates, inclusive). One query."""
    found: dict = {pid: [] for pid in patient_ids}
    if not found:
        return found
    lower, upper = _window_bounds(first, last)
    rows = Appointment.objects.filter(
        patient_id__ids_in=list(found), status__in=list(statuses), start__gte=lower, start__lt=upper
    ).values_list("patient_id", "start", "location__time_zone")
    for patient_id, start, zone in rows:
        local = start.astimezone(_zone(zone)).date()
        if first <= local <= last:
            found[patient_id].append(local)
    for dates in found.values():
        dates.sort()
    return found


def _count_in(dates, referral) -> int:
    return sum(1 for d in dates if referral.valid_from <= d <= referral.valid_until)


def statuses_for_referrals(referrals, today: datetime.date) -> list[tuple]:
    """[(referral, Status)] for the given referrals, in their order. One query."""
    referrals = list(referrals)
    if not referrals:
        return []
    dates = visit_dates(
        {r.patient_id for r in referrals},
        min(r.valid_from for r in referrals),
        max(r.valid_until for r in referrals),
        [AppointmentStatus.COMPLETED],
    )
    return [
        (
            r,
            authorization_status(
                r.visits_authorized, _count_in(dates[r.patient_id], r), r.valid_from, r.valid_until, today
            ),
        )
        for r in referrals
    ]


def visits_used(referral) -> int:
    """The patient's completed appointments whose local start date is within the referral's
    validity (valid_from to valid_until, inclusive)."""
    dates = visit_dates([referral.patient_id], referral.valid_from, referral.valid_until, [AppointmentStatus.COMPLETED])
    return len(dates[referral.patient_id])


def status_of(referral, today: datetime.date) -> Status:
    """One referral's status on ``today``."""
    return authorization_status(
        referral.visits_authorized, visits_used(referral), referral.valid_from, referral.valid_until, today
    )


def active_referrals(patient_ids, *, with_patient: bool = True):
    """Open (not closed) referrals of these patients, newest first, with provider (and
    patient, unless the caller has the patients already)."""
    return (
        Referral.objects.filter(patient_id__ids_in=list(patient_ids), is_closed=False)
        .select_related("provider", *(["patient"] if with_patient else []))
        .order_by("patient_id", "-referral_date", "-valid_until", "-id")
    )


def statuses_for_patients(patient_ids, today: datetime.date, *, patients: dict | None = None) -> dict:
    """patient id -> [(referral, Status)] of their open referrals, newest first. Two queries
    whatever the number of patients (none when there are no patients). ``patients`` (id ->
    Patient, as a calendar has them) is set on each referral instead of joined in again."""
    patient_ids = list(patient_ids)
    found: dict = {pid: [] for pid in patient_ids}
    if not patient_ids:
        return found
    referrals = active_referrals(patient_ids, with_patient=patients is None)
    for referral, status in statuses_for_referrals(referrals, today):
        if patients is not None:
            referral.patient = patients[referral.patient_id]
        found[referral.patient_id].append((referral, status))
    return found


def current_status(pairs):
    """The (referral, Status) that speaks for a patient now: their newest open referral
    (the first of statuses_for_patients' list), or None."""
    return pairs[0] if pairs else None
