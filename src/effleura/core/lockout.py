"""The sign-in lockout (docs/security.md "Signing in and lockout", decision 0014).

Two thresholds, each over a sliding window of EFFLEURA_LOCKOUT_MINUTES (15):

* an account: its EFFLEURA_LOCKOUT_ACCOUNT_FAILURES-th (5th) failure within the window
  locks it for the window's length from that failure;
* a client address: its EFFLEURA_LOCKOUT_ADDRESS_FAILURES-th (50th) failure within the
  window, whatever the accounts, pauses every sign-in from it the same way. Higher, so a
  clinic behind one address cannot lock itself out with one person's mistakes.

Tries during a lock are refused and not counted (the lock never grows); a success, or
an owner's unlock, clears the account's failures. The rule itself is ``lock_end()``, pure.

django-axes does the bookkeeping: its backend refuses a locked sign-in before the
password is checked, its failure log (AccessFailureLog) keeps one row per counted
failure, and its middleware turns a refusal into our lockout page. axes counts failures
per record with one limit and one expiry stretched by every new failure; the handler
below asks ``lock_end()`` instead, over the failure log, so a failure older than the
window really stops counting and the address has a threshold of its own. The names
axes keeps are keyed hashes of what was typed (``username_key``), never the name.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from effleura.core import audit
from effleura.core.choices import AuditAction, AuditOutcome

ACCOUNT = "account"
ADDRESS = "address"


def window() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.EFFLEURA_LOCKOUT_MINUTES)


def lock_end(failures: Iterable[datetime.datetime], *, limit: int, within: datetime.timedelta):
    """When the last lock these failures caused ends, or None when they caused none.

    ``failures``: the moments of the failures since the last success or unlock, in any
    order. A failure locks when it is the ``limit``-th within ``within`` (the ones before it
    less than ``within`` earlier); the lock lasts ``within`` from it. A failure during a
    lock does not count (the handler never records one; if given, it is skipped), and the
    failures that caused a lock are spent by it."""
    counted: list[datetime.datetime] = []
    end = None
    for moment in sorted(failures):
        if end is not None and moment < end:
            continue
        counted = [c for c in counted if c > moment - within] + [moment]
        if len(counted) >= limit:
            end = moment + within
            counted = []
    return end


@dataclass(frozen=True)
class Lock:
    kind: str  # ACCOUNT or ADDRESS
    until: datetime.datetime


def username_key(request, credentials) -> str | None:
    """AXES_USERNAME_CALLABLE: the keyed hash axes stores for the name typed (or the
    account's name on a success), so its tables never hold a name in clear."""
    name = (credentials or {}).get("username")
    if name is None and request is not None:
        name = getattr(request, "POST", {}).get("username")
    return audit.keyed_name(name) if name else None


def account_ref(username: str) -> str:
    """How the audit trail names the account a sign-in was for: the account's public id,
    or ``name:<keyed hash>`` for a name that is no account's (never the text typed)."""
    if not username:
        return ""
    user = get_user_model().objects.filter(username=username).only("public_id").first()
    return str(user.public_id) if user is not None else f"name:{audit.keyed_name(username)}"


def audit_lockout(lock: "Lock", ref: str, address: str) -> None:
    """A lock just began: the account's (record id: the account) or the address's."""
    until = lock.until.strftime("%Y-%m-%dT%H:%M:%SZ")
    record_type, record_id = ("account", ref) if lock.kind == ACCOUNT else ("client_address", address)
    denied = AuditOutcome.DENIED
    audit.record(None, AuditAction.LOCKOUT, record_type, record_id=record_id, outcome=denied, detail=f"until {until}")


def current_lock(username: str | None, address: str | None, *, extra: datetime.datetime | None = None) -> Lock | None:
    """The lock in force now for the account typed as ``username`` or the client
    ``address``, the account's first; ``extra``: a failure being recorded, not yet in the
    log. Two queries."""
    now = timezone.now()
    span = window()
    since = now - 2 * span  # a lock in force now began with failures at most this old
    found = []
    checks = [
        (ACCOUNT, "username", username_key(None, {"username": username}) if username else None),
        (ADDRESS, "ip_address", address or None),
    ]
    limits = {ACCOUNT: settings.EFFLEURA_LOCKOUT_ACCOUNT_FAILURES, ADDRESS: settings.EFFLEURA_LOCKOUT_ADDRESS_FAILURES}
    for kind, field, value in checks:
        if value is None:
            continue
        times = list(
            AccessFailureLog.objects.filter(**{field: value, "attempt_time__gt": since}).values_list(
                "attempt_time", flat=True
            )
        )
        if extra is not None:
            times.append(extra)
        end = lock_end(times, limit=limits[kind], within=span)
        if end is not None and end > now:
            found.append(Lock(kind, end))
    return found[0] if found else None


def forget_failures(username: str) -> int:
    """Clear the account's failures (an owner's unlock): both of axes' records of them."""
    key = username_key(None, {"username": username})
    AccessAttempt.objects.filter(username=key).delete()
    count, _ = AccessFailureLog.objects.filter(username=key).delete()
    return count


def address_locked(address: str) -> Lock | None:
    """The lock of the client ``address`` in force now, or None."""
    lock = current_lock(None, address) if address else None
    return lock if lock is not None and lock.kind == ADDRESS else None


def forget_address_failures(address: str) -> int:
    """Clear the failures counted against the client ``address`` (an owner lifting its
    lock): every failure row from it, whatever the account, and axes' attempts from it.
    The accounts' own counts lose those failures too; an account's own lock is lifted
    from the Staff page."""
    AccessAttempt.objects.filter(ip_address=address).delete()
    count, _ = AccessFailureLog.objects.filter(ip_address=address).delete()
    return count


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler (AXES_HANDLER), counting by ``lock_end()``.

    axes locks when ``get_failures() >= AXES_FAILURE_LIMIT``: this answers the limit when
    a lock is in force (or this failure starts one), else 0, and leaves the lock on the
    request (``request.effleura_lock``) for the lockout page and the audit trail."""

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is None:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        request.effleura_counting = True
        try:
            super().user_login_failed(sender, credentials, request, **kwargs)
        finally:
            request.effleura_counting = False
        lock = getattr(request, "effleura_lock", None)
        if lock is not None and request.axes_failures_since_start is not None:
            # This failure began the lock (one refused during a lock is not counted): audit
            # it here, whichever page took the password or second factor.
            audit_lockout(lock, account_ref((credentials or {}).get("username") or ""), request.axes_ip_address or "")

    def get_failures(self, request, credentials=None) -> int:
        username = (credentials or {}).get("username")
        if username is None:
            username = request.POST.get("username") if request is not None else None
        address = getattr(request, "axes_ip_address", None)
        counting = getattr(request, "effleura_counting", False)
        lock = current_lock(username, address, extra=timezone.now() if counting else None)
        if lock is not None:
            request.effleura_lock = lock
            return settings.AXES_FAILURE_LIMIT
        return 0

    def reset_user_attempts(self, request, credentials=None) -> int:
        """A success: axes forgets the account's attempts; its counted failures go too."""
        count = super().reset_user_attempts(request, credentials)
        key = username_key(request, credentials)
        if key:
            AccessFailureLog.objects.filter(username=key).delete()
        return count


def locked_accounts(usernames: Iterable[str]) -> dict[str, Lock]:
    """The accounts among ``usernames`` locked now, each with its lock: one query whatever
    their number (the staff list)."""
    now = timezone.now()
    span = window()
    keys = {username_key(None, {"username": name}): name for name in usernames}
    times: dict[str, list] = {}
    rows = AccessFailureLog.objects.filter(username__in=keys, attempt_time__gt=now - 2 * span)
    for key, moment in rows.values_list("username", "attempt_time"):
        times.setdefault(key, []).append(moment)
    found = {}
    for key, moments in times.items():
        end = lock_end(moments, limit=settings.EFFLEURA_LOCKOUT_ACCOUNT_FAILURES, within=span)
        if end is not None and end > now:
            found[keys[key]] = Lock(ACCOUNT, end)
    return found
