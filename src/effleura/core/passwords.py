"""Passwords (docs/security.md, "Passwords, API tokens and automatic logoff").

    RepeatedCharacterValidator   refuses zzzzzzzzzzzz and abababababab (AUTH_PASSWORD_VALIDATORS)
    do_set_password()            a change or a reset: set, audit, revoke the API tokens
    do_request_password_reset()  a reset request: audited, limited per address and per
                                 account, counted from the audit trail
    keyed_email()                what the trail keeps of an email address someone typed

Every write here runs in a transaction and is audited, as core/actions.py's are.
"""

import datetime
import hashlib
import hmac
from collections import Counter

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from effleura.core import actions, audit
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.models import AuditEvent, User

# The audit trail's record types for these events (docs/audit.md).
PASSWORD = "password"  # noqa: S105 (a record type, not a password)
RESET_REQUEST = "password_reset"


class RepeatedCharacterValidator:
    """Refuses a password made of too few different characters: fewer than
    ``min_distinct``, or one character making up more than ``max_share`` of it. Long
    enough is not enough when it is one key held down."""

    def __init__(self, min_distinct: int = 4, max_share: float = 0.5):
        self.min_distinct = min_distinct
        self.max_share = max_share

    def validate(self, password: str, user=None) -> None:
        if not password:
            return
        counts = Counter(password)
        if len(counts) < self.min_distinct or max(counts.values()) > len(password) * self.max_share:
            raise ValidationError(
                "This password repeats the same characters too much (like zzzzzzzzzzzz or abababababab). "
                f"Use at least {self.min_distinct} different characters, none of them making up more than half "
                "of it.",
                code="password_too_repetitive",
            )

    def get_help_text(self) -> str:
        return f"Your password must use at least {self.min_distinct} different characters, not one repeated."


def keyed_email(email: str) -> str:
    """A keyed hash (HMAC-SHA256 with settings.EFFLEURA_AUDIT_KEY) of an email address as
    typed, so the trail can relate requests for the same address without holding it."""
    text = email.strip().lower().encode()
    return hmac.new(settings.EFFLEURA_AUDIT_KEY.encode(), b"email:" + text, hashlib.sha256).hexdigest()[:16]


def do_set_password(actor, user: User, password: str, *, how: str, revoke_tokens: bool) -> int:
    """Set ``user``'s password (already validated by the form that asked for it) and, when
    ``revoke_tokens``, revoke all their active API tokens. ``how`` says what happened in
    the audit detail: "changed", "reset by email link". One transaction, audited as an
    update of the ``password`` record of ``user``. Returns the number of tokens revoked."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        revoked = actions.do_revoke_all_api_tokens(actor, user, f"password {how}") if revoke_tokens else 0
        detail = f"password {how}" + (f"; {revoked} API token(s) revoked" if revoked else "")
        audit.record(actor, AuditAction.UPDATE, PASSWORD, record_id=user.public_id, detail=detail)
    return revoked


def reset_window() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.EFFLEURA_PASSWORD_RESET_WINDOW_MINUTES)


def do_request_password_reset(email: str, users: list[User]) -> list[User]:
    """Someone asked for a reset link for ``email``; ``users`` are the active accounts with
    that address. Audits the request and returns the accounts to email: none when this
    client address has made EFFLEURA_PASSWORD_RESET_PER_ADDRESS requests within the window,
    and no account that was sent EFFLEURA_PASSWORD_RESET_PER_ACCOUNT links within it.

    The counts come from the audit trail (allowed requests only, so refusals do not keep
    an account from its own reset forever). Two requests at the very same moment may both
    pass; the limit is about floods, not one extra email. The page answers the same
    whatever happens here, so nobody learns which addresses have an account."""
    nobody = AnonymousUser()
    key = keyed_email(email)
    address = audit.client_address.get()[:64]
    since = timezone.now() - reset_window()
    recent = AuditEvent.objects.filter(
        record_type=RESET_REQUEST, outcome=AuditOutcome.ALLOWED, at__gte=since
    ).values_list("record_id", flat=True)
    with transaction.atomic():
        if recent.filter(client_address=address).count() >= settings.EFFLEURA_PASSWORD_RESET_PER_ADDRESS:
            for user in users or [None]:
                audit.record(
                    nobody,
                    AuditAction.CREATE,
                    RESET_REQUEST,
                    record_id=user.public_id if user else "",
                    outcome=AuditOutcome.DENIED,
                    detail=f"too many requests from this address; no email sent (email {key})",
                )
            return []
        if not users:
            audit.record(nobody, AuditAction.CREATE, RESET_REQUEST, detail=f"no matching account (email {key})")
            return []
        chosen = []
        for user in users:
            if recent.filter(record_id=str(user.public_id)).count() >= settings.EFFLEURA_PASSWORD_RESET_PER_ACCOUNT:
                audit.record(
                    nobody,
                    AuditAction.CREATE,
                    RESET_REQUEST,
                    record_id=user.public_id,
                    outcome=AuditOutcome.DENIED,
                    detail=f"too many requests for this account; no email sent (email {key})",
                )
                continue
            audit.record(
                nobody,
                AuditAction.CREATE,
                RESET_REQUEST,
                record_id=user.public_id,
                detail=f"link emailed (email {key})",
            )
            chosen.append(user)
    return chosen
