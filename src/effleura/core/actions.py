"""Every write of the core app: check_*() validates and authorizes, do_*() writes
inside a transaction and audits."""

import ipaddress

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from effleura.core import audit, clock, lockout, mfa, permissions, versions
from effleura.core.choices import AuditAction
from effleura.core.models import ApiToken, Practice, User, hash_token
from effleura.core.npi import is_valid_npi
from effleura.core.phones import clean_phone
from effleura.core.values import collect_errors


def do_create_api_token(user: User, name: str, *, read_only: bool = False) -> tuple[ApiToken, str]:
    """Create a personal API token for ``user``, valid for EFFLEURA_API_TOKEN_DAYS (its
    ``expires_at``), read-only if asked; returns it and the raw token, shown once."""
    name = name.strip()
    if not name:
        raise ValidationError("Give the token a name so you can recognise it later.")
    raw = ApiToken.new_raw_token()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name[:100], key_hash=hash_token(raw), hint=raw[:8], read_only=read_only
        )
        detail = "read-only token created" if read_only else "token created"
        audit.record(user, AuditAction.CREATE, "api_token", record_id=token.public_id, detail=detail)
    return token, raw


def check_revoke_api_token(actor: User, token_id) -> ApiToken:
    """A user revokes their own tokens; an owner may revoke anyone's."""
    token = ApiToken.objects.filter(public_id=token_id).select_related("user").first()
    if token is None:
        raise ValidationError("That token does not exist.")
    if token.user_id != actor.pk and not permissions.has_permission(actor, "staff.manage"):
        raise PermissionDenied("You can only revoke your own tokens.")
    return token


def do_revoke_api_token(actor: User, token: ApiToken) -> None:
    """Revoke ``token``, the ApiToken check_revoke_api_token() returned (call it first). In one
    transaction: stamps revoked_at now unless it is already revoked (no row lock: a second
    revoke changes nothing) and audits "token revoked". Returns None."""
    with transaction.atomic():
        if token.revoked_at is None:
            ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        audit.record(actor, AuditAction.UPDATE, "api_token", record_id=token.public_id, detail="token revoked")


def do_revoke_all_api_tokens(actor, user: User, reason: str) -> int:
    """Revoke every token of ``user`` not yet revoked, noting ``reason`` ("password reset
    by email link", "account deactivated"), one audit event per token. Call inside the
    transaction of what caused it (a password reset, a deactivation). Returns how many."""
    with transaction.atomic():
        tokens = list(ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True))
        now = timezone.now()
        for token in tokens:
            ApiToken.objects.filter(pk=token.pk).update(revoked_at=now, revoked_reason=reason[:40])
            audit.record(
                actor, AuditAction.UPDATE, "api_token", record_id=token.public_id, detail=f"token revoked: {reason}"
            )
    return len(tokens)


def check_save_staff(
    actor: User, *, username: str, password: str | None, user: User | None = None, npi: str = ""
) -> None:
    """May ``actor`` save this member of staff? Owners only (staff.manage; PermissionDenied
    otherwise). Validates the NPI if given, that ``username`` is free (case-insensitive,
    ``user`` excluded) and the password against Django's validators, raising ValidationError.
    Returns None; then call do_save_staff()."""
    permissions.require(actor, "staff.manage")
    errors: dict[str, str] = {}
    if npi and not is_valid_npi(npi):
        errors["npi"] = "This is not a valid NPI: 10 digits, the last a check digit. Check the number."
    clash = User.objects.filter(username__iexact=username)
    if user is not None:
        clash = clash.exclude(pk=user.pk)
    if clash.exists():
        errors["username"] = "Someone already has this username."
    if password:
        collect_errors(errors, validate_password, password, user, field="password")
    if errors:
        raise ValidationError(errors)


def do_save_staff(actor: User, *, user: User | None, fields: dict, password: str | None) -> User:
    """Create (``user`` None) or update a member of staff. Owners only; audited. A new
    password for an existing account (the owner resetting it) and a deactivation each
    revoke the account's API tokens, in the same transaction."""
    with transaction.atomic():
        creating = user is None
        # Re-read under a lock: a ModelForm has already copied the new values onto the
        # caller's instance, and the last-owner rule must see the stored role.
        user = User(username=fields["username"]) if creating else User.objects.select_for_update().get(pk=user.pk)
        demoting_last_owner = (
            not creating
            and user.role == permissions.OWNER
            and (fields.get("role") != permissions.OWNER or not fields.get("is_active", True))
            and not User.objects.filter(role=permissions.OWNER, is_active=True).exclude(pk=user.pk).exists()
        )
        if demoting_last_owner:
            raise ValidationError("The practice must keep at least one active owner.")
        was_active = creating or user.is_active
        for name, value in fields.items():
            setattr(user, name, value)
        if password:
            user.set_password(password)
        elif creating:
            user.set_unusable_password()
        user.save()
        audit.record(
            actor,
            AuditAction.CREATE if creating else AuditAction.UPDATE,
            "user",
            record_id=user.public_id,
            detail=f"role={user.role or 'none'} active={user.is_active}",
        )
        if not creating and password:
            revoked = do_revoke_all_api_tokens(actor, user, "password reset by owner")
            detail = "password reset by owner" + (f"; {revoked} API token(s) revoked" if revoked else "")
            audit.record(actor, AuditAction.UPDATE, "password", record_id=user.public_id, detail=detail)
        if was_active and not user.is_active:
            do_revoke_all_api_tokens(actor, user, "account deactivated")
    return user


def check_unlock_account(actor: User, member: User) -> None:
    """May ``actor`` unlock ``member``'s sign-in? Owners only (staff.manage;
    PermissionDenied otherwise). Returns None; then call do_unlock_account()."""
    permissions.require(actor, "staff.manage")


def do_unlock_account(actor: User, member: User) -> bool:
    """Clear ``member``'s failed sign-ins, ending a lockout at once; audited (whether or not
    the account was locked). Returns whether it was locked."""
    with transaction.atomic():
        was_locked = member.username in lockout.locked_accounts([member.username])
        lockout.forget_failures(member.username)
        audit.record(
            actor,
            AuditAction.UNLOCK,
            "account",
            record_id=member.public_id,
            detail="unlocked" if was_locked else "failures cleared (was not locked)",
        )
    return was_locked


def check_unlock_address(actor: User, address: str) -> str:
    """May ``actor`` lift the sign-in pause of the client ``address``? Owners only
    (staff.manage; PermissionDenied otherwise); ValidationError for what is no IP address.
    Returns the address, written the one way; then call do_unlock_address()."""
    permissions.require(actor, "staff.manage")
    try:
        return str(ipaddress.ip_address((address or "").strip()))
    except ValueError:
        raise ValidationError("That is not a network address.") from None


def do_unlock_address(actor: User, address: str) -> bool:
    """Clear the failed sign-ins counted against ``address``, ending its lock at once;
    audited (whether or not it was locked). Returns whether it was locked."""
    with transaction.atomic():
        was_locked = lockout.address_locked(address) is not None
        lockout.forget_address_failures(address)
        audit.record(
            actor,
            AuditAction.UNLOCK,
            "client_address",
            record_id=address,
            detail="unlocked" if was_locked else "failures cleared (was not locked)",
        )
    return was_locked


PRACTICE_FIELDS = [
    "name", "address_line1", "address_line2", "city", "region", "postal_code", "country",
    "phone", "fax", "email", "website", "tax_id", "npi",
]  # fmt: skip
# The practice-wide settings, edited on the same page; not text, so not stripped.
PRACTICE_SETTINGS = [
    "time_zone", "decimal_separator", "largest_amount", "start_window_minutes", "phone_region", "care_team_only",
    "mfa_required_roles",
]  # fmt: skip


def check_save_practice(actor: User, fields: dict) -> dict:
    """May ``actor`` change the practice details? Needs practice.manage (PermissionDenied
    otherwise). Strips every PRACTICE_FIELDS value; raises ValidationError on ``name`` when
    it is empty, on ``npi`` when it is not a valid NPI, and on any PRACTICE_SETTINGS value
    given that its field refuses (an unknown time zone, a region phonenumbers does not know,
    a largest amount below 1.00, a role that does not exist among the roles that must use
    two-factor sign-in). Settings left out keep their value. Returns the clean
    fields for do_save_practice()."""
    permissions.require(actor, "practice.manage")
    clean = {name: (fields.get(name) or "").strip() for name in PRACTICE_FIELDS}
    errors = {}
    if not clean["name"]:
        errors["name"] = "The practice needs a name: it heads every page and document."
    if clean["npi"] and not is_valid_npi(clean["npi"]):
        errors["npi"] = "This is not a valid NPI: 10 digits, the last a check digit. Check the number."
    for name in PRACTICE_SETTINGS:
        if name not in fields:
            continue
        value = fields[name].strip() if isinstance(fields[name], str) else fields[name]
        if name == "phone_region" and isinstance(value, str):
            value = value.upper()
        try:
            if name == "mfa_required_roles":
                value = mfa.clean_required_roles(value)
            clean[name] = Practice._meta.get_field(name).clean(value, None)
        except ValidationError as exc:
            errors[name] = exc.messages[0]
    # The practice's own numbers are read in the country being saved with them.
    region = clean.get("phone_region") if "phone_region" not in errors else None
    for name in ("phone", "fax"):
        clean[name] = clean_phone(clean[name], name, errors, region=region)
    if errors:
        raise ValidationError(errors)
    return clean


def do_save_practice(actor: User, clean: dict, *, is_demo: bool | None = None, expected_version=None) -> Practice:
    """Create or update the one practice row, locked; refused (StaleVersion, nothing saved)
    when it was saved since ``expected_version``, the version the page showed (None: not
    checked). Every save counts in its version, the first one included (the defaults a
    page shows before it are version 1)."""
    with transaction.atomic():
        # The defaults shown before the first save are version 1, so that save is guarded too.
        practice = Practice.objects.select_for_update().order_by("pk").first() or Practice()
        versions.check_version(practice, expected_version, "practice's details")
        versions.bump(practice)
        for name, value in clean.items():
            setattr(practice, name, value)
        if is_demo is not None:
            practice.is_demo = is_demo
        practice.save()
        audit.record(actor, AuditAction.UPDATE, "practice", record_id=practice.pk, detail="practice details")
        # The zone may have changed: this process reads it again at once (others within
        # core.clock.CACHE_SECONDS), also if the transaction rolls back.
        clock.forget_practice_zone()
    transaction.on_commit(clock.forget_practice_zone)
    return practice
