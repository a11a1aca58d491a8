"""The shared step of every access_* and check_* function: ask the permission table,
and write the refusal to the audit trail before raising.

Below it, core's own reads: the staff accounts (the owner's staff pages) and the audit
trail. Reading the audit trail is itself audited: it shows who looked at which patient's
record, so looking at it (a page of it, one patient's access report, the CSV export) is a
read or export of "audit_event", with the patient's id when filtered to one patient and
never any health details in ``detail``.
"""

import datetime
import re
import uuid
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from effleura.core import audit, careteam, clock, permissions
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.lockout import window
from effleura.core.models import AuditEvent, User
from effleura.core.values import as_uuid


def authorize(user, key: str, *, patient_id=None, record_id: object = "") -> permissions.Rule:
    """Return the rule for ``key`` if ``user`` holds it; otherwise audit the denial and raise."""
    rule = permissions.RULES[key]
    if not permissions.has_permission(user, key):
        audit.record(
            user,
            rule.action,
            rule.record_type,
            record_id=record_id,
            patient_id=patient_id,
            outcome=AuditOutcome.DENIED,
            detail=key,
        )
        raise PermissionDenied("Your role does not allow this.")
    # The one place care-team access is enforced (core/careteam.py): every use of patient
    # data names the patient here or in allowed() below.
    careteam.require_care_team(user, rule, key, patient_id)
    return rule


def allowed(user, key: str, *, patient_id=None, record_id: object = "", detail: str = "") -> None:
    """Audit a permitted use of ``key`` (call after the object was found); refuses it first
    when the care-team setting keeps ``user`` from this patient (core/careteam.py)."""
    rule = permissions.RULES[key]
    careteam.require_care_team(user, rule, key, patient_id)
    audit.record(user, rule.action, rule.record_type, record_id=record_id, patient_id=patient_id, detail=detail or key)


def access_one(user, key: str, rows: QuerySet, record_id, what: str, *, patient_of, audit_it=True, detail=""):
    """The row of ``rows`` whose public id is ``record_id``, if ``user`` holds ``key``: the
    common shape of an app's access_<thing>() for one patient record.

    A malformed id is Http404 ("No such <what>."). A refusal is audited before the look-up,
    so it tells nothing, not even whether the record exists; an unknown id is Http404. The
    read is audited against the patient ``patient_of(row)`` returns (unless ``audit_it``
    is false: the caller audits it its own way; the care-team limit applies either way).
    ``rows`` carries what the caller shows
    (select_related): one query plus the audit insert."""
    record_id = as_uuid(record_id, what)
    authorize(user, key, record_id=record_id)
    row = rows.filter(public_id=record_id).first()
    if row is None:
        raise Http404(f"No such {what}.")
    patient_id = patient_of(row).public_id
    # Whatever ``audit_it`` says: a caller that audits its own way is still limited to the
    # care team (core/careteam.py).
    careteam.require_care_team(user, permissions.RULES[key], key, patient_id)
    if audit_it:
        allowed(user, key, patient_id=patient_id, record_id=row.public_id, detail=detail)
    return row


# Staff accounts ---------------------------------------------------------------------------
# Not patient data: the table is asked (a refusal is audited by authorize), a permitted
# read is not audited, like every rule with patient_data=False.

STAFF_ORDER = ("-is_active", "last_name", "first_name", "username")


def access_staff_list(user) -> QuerySet:
    """Every staff account, active ones first, for the owner's staff page. One query."""
    authorize(user, "staff.manage")
    return User.objects.order_by(*STAFF_ORDER)


def access_staff_member(user, user_id) -> User:
    """The staff account ``user_id`` (its public_id) for editing; Http404 when there is none."""
    user_id = as_uuid(user_id, "member of staff")
    authorize(user, "staff.manage", record_id=user_id)
    member = User.objects.filter(public_id=user_id).first()
    if member is None:
        raise Http404("No such member of staff.")
    return member


# The audit trail ----------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    """What the audit trail is narrowed to; every part optional (empty: the whole trail)."""

    patient_id: uuid.UUID | None = None
    actor: User | None = None
    start: datetime.date | None = None
    end: datetime.date | None = None
    outcome: str = ""
    action: str = ""

    def describe(self) -> str:
        """Which filters were used, for the audit event's detail: names only, no values."""
        used = [name for name in ("patient_id", "actor", "start", "end", "outcome", "action") if getattr(self, name)]
        return "audit trail" + (f" by {', '.join(used)}" if used else "")


def _audit_events(filters: AuditFilters | None) -> QuerySet:
    events = AuditEvent.objects.all()
    if filters is None:
        return events.none()
    tz = clock.practice_zone()  # the days the page shows
    if filters.patient_id:
        events = events.filter(patient_id=filters.patient_id)
    if filters.actor is not None:
        events = events.filter(actor_id=filters.actor.pk)
    if filters.start:
        events = events.filter(at__gte=datetime.datetime.combine(filters.start, datetime.time.min, tz))
    if filters.end:
        next_day = filters.end + datetime.timedelta(days=1)
        events = events.filter(at__lt=datetime.datetime.combine(next_day, datetime.time.min, tz))
    if filters.outcome:
        events = events.filter(outcome=filters.outcome)
    if filters.action:
        events = events.filter(action=filters.action)
    return events


def access_audit_events(
    user, filters: AuditFilters | None, *, before: str = "", after: str = "", per_page: int = AUDIT_PAGE_SIZE
) -> "AuditPage":
    """One page of the audit trail, newest first, narrowed by ``filters`` (None: filters that
    did not validate, so nothing is shown): the newest entries, or with ``before`` (a
    position, see AuditPage) the entries just older than it, or with ``after`` those just
    newer. Keyset paging (docs/decisions/0027): no COUNT(*) and no OFFSET, so every page
    costs the same whatever the size of the trail; a malformed position counts as none.
    Filtered to one patient it is that patient's access report. Audited as a read of
    "audit_event" (with the patient's id when filtered to one) after the page was read, so
    the page does not show its own reading. Two queries: the page and the audit event."""
    authorize(user, "audit.view", patient_id=filters.patient_id if filters else None)
    if filters is None:
        return AuditPage([], newer="", older="", newest=True)
    events = _audit_events(filters)
    older_than, newer_than = parse_position(before), parse_position(after)
    if newer_than is not None and older_than is None:
        rows = list(events.filter(_after(newer_than)).order_by("at", "id")[: per_page + 1])
        more = len(rows) > per_page
        rows = rows[:per_page][::-1]
        page = AuditPage(
            rows, newer=position(rows[0]) if more else "", older=position(rows[-1]) if rows else "", newest=False
        )
    else:
        rows = events.filter(_before(older_than)) if older_than is not None else events
        rows = list(rows.order_by("-at", "-id")[: per_page + 1])
        more = len(rows) > per_page
        rows = rows[:per_page]
        newer = position(rows[0]) if older_than is not None and rows else ""
        page = AuditPage(rows, newer=newer, older=position(rows[-1]) if more else "", newest=older_than is None)
    allowed(user, "audit.view", patient_id=filters.patient_id, detail=filters.describe())
    return page


AUDIT_EXPORT_CHUNK = 2000


def access_audit_export(user, filters: AuditFilters, columns: tuple[str, ...], *, chunk: int | None = None):
    """The audit trail narrowed by ``filters``, newest first like the page, as rows of
    ``columns``: an iterator that reads ``chunk`` rows per query by keyset on (at, id), so
    an export of any size streams in bounded memory without a server-side cursor (which a
    pooler in transaction mode breaks; docs/decisions/0027). Audited as an export of
    "audit_event" (with the patient's id when filtered to one) before the first row is read,
    so the export lists itself."""
    authorize(user, "audit.export", patient_id=filters.patient_id)
    allowed(user, "audit.export", patient_id=filters.patient_id, detail=f"{filters.describe()} CSV")
    return _exported(_audit_events(filters), columns, chunk or AUDIT_EXPORT_CHUNK)


def _exported(events: QuerySet, columns: tuple[str, ...], chunk: int):
    fields = ("at", "id", *columns)
    last = None
    while True:
        rows = events.filter(_before(last)) if last is not None else events
        rows = list(rows.order_by("-at", "-id").values_list(*fields)[:chunk])
        for row in rows:
            yield row[2:]
        if len(rows) < chunk:
            return
        last = rows[-1][:2]


@dataclass(frozen=True)
class AuditPage:
    """The entries of one page of the audit trail, newest first, and the positions the
    links to the pages next to it carry: ``newer`` (the first entry shown) and ``older``
    (the last one), "" when there is no such page. ``newest``: this is the newest page."""

    events: list
    newer: str
    older: str
    newest: bool

    def __iter__(self):
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)


# A position in the trail is an entry's (at, id), written "20261201T104500.123456Z-1234"
# (UTC): readable in an address, and stable, since entries never change or go away.
_POSITION = re.compile(r"([0-9]{8}T[0-9]{6}\.[0-9]{6})Z-([0-9]{1,18})")


def position(event: AuditEvent) -> str:
    """The position of ``event`` in the trail's order, for a page link."""
    return f"{event.at.astimezone(datetime.UTC):%Y%m%dT%H%M%S.%f}Z-{event.id}"


def parse_position(text: str) -> tuple[datetime.datetime, int] | None:
    """The (at, id) a position names; None when ``text`` is empty or not one."""
    match = _POSITION.fullmatch(text or "")
    if match is None:
        return None
    try:
        at = datetime.datetime.strptime(match.group(1), "%Y%m%dT%H%M%S.%f").replace(tzinfo=datetime.UTC)
    except ValueError:  # 20261399T…: the right shape, no such time
        return None
    return at, int(match.group(2))


# Strictly before / after a position in the (at, id) order. "at <= t" comes first, so the
# (…, at, id) indexes bound the scan; the OR only sorts out the entries of that instant.
def _before(at_id: tuple[datetime.datetime, int]) -> Q:
    at, id_ = at_id
    return Q(at__lte=at) & (Q(at__lt=at) | Q(id__lt=id_))


def _after(at_id: tuple[datetime.datetime, int]) -> Q:
    at, id_ = at_id
    return Q(at__gte=at) & (Q(at__gt=at) | Q(id__gt=id_))


# Recent lockouts (the owner's home page) ------------------------------------------------------


@dataclass(frozen=True)
class LockoutSeen:
    """One lockout in the audit trail: whose, when, until when, and whether it was lifted."""

    account: User | None  # None: the address's lock, or a name that is no account's
    label: str
    at: datetime.datetime
    until: datetime.datetime
    unlocked_at: datetime.datetime | None
    unlocked_by: str
    address: str = ""  # the client address, for an address's lock (the owner may lift it)

    @property
    def state(self) -> str:
        if self.unlocked_at is not None:
            return "unlocked"
        return "locked" if self.until > timezone.now() else "ended"


def access_recent_lockouts(user, *, days: int = 7) -> list[LockoutSeen]:
    """Lockouts of the last ``days`` days, newest first, read from the audit trail (the
    lockout events and the unlocks after them): three queries. Owners only (staff.manage)."""
    authorize(user, "staff.manage")
    since = timezone.now() - datetime.timedelta(days=days)
    events = list(AuditEvent.objects.filter(action=AuditAction.LOCKOUT, at__gte=since).order_by("-at", "-id")[:200])
    unlocks = list(AuditEvent.objects.filter(action=AuditAction.UNLOCK, at__gte=since).order_by("at", "id"))
    ids = {e.record_id for e in events if e.record_type == "account" and not e.record_id.startswith("name:")}
    accounts = {str(u.public_id): u for u in User.objects.filter(public_id__in=[as_uuid(i, "user") for i in ids])}
    found = []
    for event in events:
        until = _until(event) or event.at + window()
        account = accounts.get(event.record_id) if event.record_type == "account" else None
        if event.record_type == "client_address":
            label = f"every account from address {event.record_id}"
        elif account is not None:
            label = f"{account.display_name} ({account.username})"
        else:
            label = f"a name that is no account’s (#{event.record_id.removeprefix('name:')[:8]})"
        lifted = next((u for u in unlocks if u.record_id == event.record_id and event.at <= u.at < until), None)
        found.append(
            LockoutSeen(
                account,
                label,
                event.at,
                until,
                lifted.at if lifted else None,
                lifted.actor_username if lifted else "",
                event.record_id if event.record_type == "client_address" else "",
            )
        )
    return found


def _until(event: AuditEvent) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(event.detail, "until %Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return None


def access_recent_break_glass(user, *, days: int = 7):
    """The last ``days`` days' emergency accesses past the care-team limit (core/careteam.py),
    newest first, with their reasons: owners only (staff.manage). Two queries at most."""
    authorize(user, "staff.manage")
    return careteam.recent_break_glass(days=days)
