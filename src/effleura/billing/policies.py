"""A patient's insurance policies: read (account.view), add, edit, deactivate and
reactivate (policy.manage).

A patient has at most one active policy per priority (primary, secondary, tertiary). The
subscriber (the insured: CMS-1500 boxes 4, 7, 11a) is the patient when the relationship
is "self"; otherwise their name and date of birth are required. check_* validate and
authorize; do_* write inside a transaction with the audit event.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404

from effleura.billing.choices import Priority, Relationship
from effleura.billing.models import Payer, Policy
from effleura.core import audit, clock, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.phones import clean_phone
from effleura.core.text import printable
from effleura.core.values import as_uuid, parse_date, reject_unknown
from effleura.patients.models import Patient

SUBSCRIBER_FIELDS = (
    "subscriber_first_name",
    "subscriber_last_name",
    "subscriber_date_of_birth",
    "subscriber_address_line1",
    "subscriber_city",
    "subscriber_region",
    "subscriber_postal_code",
    "subscriber_phone",
)
TEXT_FIELDS = ("member_id", "group_number", "plan_name", *(f for f in SUBSCRIBER_FIELDS if "date" not in f))
FIELDS = ("payer", "relationship", "priority", "valid_from", "valid_until", *TEXT_FIELDS, "subscriber_date_of_birth")


# Reading -------------------------------------------------------------------------------


def active_payers() -> list[Payer]:
    """The payers a policy may be written with (no patient data)."""
    return list(Payer.objects.filter(is_active=True))


# Saving --------------------------------------------------------------------------------


def _payer(value, errors: dict, current: Payer | None):
    if value in (None, ""):
        errors["payer"] = "Choose the insurer (payer) on the card; add it under billing set-up if it is new."
        return None
    payer = value
    if not isinstance(value, Payer):
        try:
            payer = Payer.objects.filter(public_id=as_uuid(value, "payer")).first()
        except Http404:
            payer = None
    if payer is None:
        errors["payer"] = "Choose a payer from the list."
        return None
    if not payer.is_active and (current is None or payer.pk != current.pk):
        errors["payer"] = f"{payer.name} is no longer active; choose another payer."
        return None
    return payer


def _current(policy: Policy | None) -> dict:
    if policy is None:
        return {}
    values = {f: getattr(policy, f) for f in FIELDS if f != "payer"}
    values["payer"] = policy.payer
    return values


def _priority_taken(patient: Patient, priority: str, policy: Policy | None) -> Policy | None:
    others = Policy.objects.filter(patient=patient, priority=priority, is_active=True).select_related("payer")
    if policy is not None:
        others = others.exclude(pk=policy.pk)
    return others.first()


def check_save_policy(actor, patient: Patient, data: dict, policy: Policy | None = None) -> dict:
    """May ``actor`` add (or change ``policy``) for ``patient``, and is ``data`` sound?

    ``data``: payer (a Payer or its public id; active), member_id (required), group_number,
    plan_name, relationship (self/spouse/child/other), priority (primary/secondary/tertiary;
    one active policy per priority), valid_from, valid_until (on or after valid_from), and
    the subscriber's name, date of birth, address and phone (name and date of birth
    required unless the relationship is self; cleared when it is). On an update only the
    fields sent change."""
    authorize(actor, "policy.manage", patient_id=patient.public_id, record_id=policy.public_id if policy else "")
    reject_unknown(data, FIELDS)
    if policy is not None and not policy.is_active:
        raise ValidationError("This policy is inactive; reactivate it before changing it.")
    merged = {**_current(policy), **data}
    errors: dict[str, str] = {}
    clean: dict = {"payer": _payer(merged.get("payer"), errors, policy.payer if policy else None)}

    for field in TEXT_FIELDS:
        value = " ".join(printable(str(merged.get(field) or "")).split())
        limit = Policy._meta.get_field(field).max_length
        if len(value) > limit:
            errors[field] = f"Keep it under {limit} characters."
        clean[field] = value
    if not clean["member_id"] and "member_id" not in errors:
        errors["member_id"] = "Enter the member ID from the insurance card."

    relationship = str(merged.get("relationship") or Relationship.SELF)
    if relationship not in Relationship.values:
        errors["relationship"] = "Choose the patient's relationship to the subscriber: self, spouse, child or other."
    clean["relationship"] = relationship
    priority = str(merged.get("priority") or Priority.PRIMARY)
    if priority not in Priority.values:
        errors["priority"] = "Choose primary, secondary or tertiary."
    clean["priority"] = priority

    dob = parse_date(merged.get("subscriber_date_of_birth"), "subscriber_date_of_birth", errors)
    clean["subscriber_date_of_birth"] = dob
    if relationship == Relationship.SELF:
        for field in SUBSCRIBER_FIELDS:
            clean[field] = None if field == "subscriber_date_of_birth" else ""
            errors.pop(field, None)
    else:
        if not clean["subscriber_first_name"] and "subscriber_first_name" not in errors:
            errors["subscriber_first_name"] = "Enter the subscriber's first name (the patient is not the subscriber)."
        if not clean["subscriber_last_name"] and "subscriber_last_name" not in errors:
            errors["subscriber_last_name"] = "Enter the subscriber's last name (the patient is not the subscriber)."
        if "subscriber_phone" not in errors:
            clean["subscriber_phone"] = clean_phone(clean["subscriber_phone"], "subscriber_phone", errors)
        if dob is None and "subscriber_date_of_birth" not in errors:
            errors["subscriber_date_of_birth"] = "Enter the subscriber's date of birth."
        elif dob is not None and dob > clock.today():
            errors["subscriber_date_of_birth"] = "The subscriber's date of birth cannot be in the future."

    valid_from = parse_date(merged.get("valid_from"), "valid_from", errors)
    valid_until = parse_date(merged.get("valid_until"), "valid_until", errors)
    if valid_from and valid_until and valid_until < valid_from:
        errors["valid_until"] = (
            "The policy cannot end before it starts: “valid until” must be on or after “valid from”."
        )
    clean["valid_from"], clean["valid_until"] = valid_from, valid_until

    if "priority" not in errors:
        other = _priority_taken(patient, priority, policy)
        if other is not None:
            errors["priority"] = (
                f"The patient already has an active {priority} policy ({other.payer.name}); "
                "deactivate it first or choose another priority."
            )
    if errors:
        raise ValidationError(errors)
    return clean


def do_save_policy(
    actor, patient: Patient, clean: dict, policy: Policy | None = None, *, expected_version=None
) -> Policy:
    """Create the policy (or change ``policy``) from check_save_policy's answer. A change
    locks the policy's row and is refused (StaleVersion, nothing saved) when it was saved
    since ``expected_version``, the version the editor loaded (None: not checked)."""
    with transaction.atomic():
        if policy is not None:
            locked = Policy.objects.select_for_update().filter(pk=policy.pk).order_by("pk").get()
            versions.check_version(locked, expected_version, "policy")
            policy.version = locked.version
            versions.bump(policy)
        # Lock the patient's active policies so two desks cannot both add a primary.
        list(Policy.objects.select_for_update().filter(patient=patient, is_active=True).values_list("pk"))
        if _priority_taken(patient, clean["priority"], policy) is not None:
            raise ValidationError({"priority": f"The patient already has an active {clean['priority']} policy."})
        if policy is None:
            policy = Policy.objects.create(patient=patient, created_by=actor, **clean)
            action, detail = AuditAction.CREATE, "policy added"
        else:
            for field, value in clean.items():
                setattr(policy, field, value)
            # Only what this save names: a deactivation made meanwhile keeps its effect.
            policy.save(update_fields=[*clean, "version"])
            action, detail = AuditAction.UPDATE, "policy changed"
        audit.record(actor, action, "policy", record_id=policy.public_id, patient_id=patient.public_id, detail=detail)
    return policy


def check_set_policy_active(actor, policy: Policy, active: bool) -> None:
    """May ``actor`` deactivate (or reactivate) ``policy``? Reactivating needs its priority free."""
    authorize(actor, "policy.manage", patient_id=policy.patient.public_id, record_id=policy.public_id)
    if policy.is_active == active:
        raise ValidationError("This policy is already active." if active else "This policy is already inactive.")
    if active:
        other = _priority_taken(policy.patient, policy.priority, policy)
        if other is not None:
            raise ValidationError(
                {
                    "priority": f"The patient already has an active {policy.priority} policy ({other.payer.name}); "
                    "deactivate it first."
                }
            )


def do_set_policy_active(actor, policy: Policy, active: bool, *, expected_version=None) -> Policy:
    """Deactivate or reactivate ``policy`` once check_set_policy_active() allowed it. In one
    transaction: locks the policy row, refuses (StaleVersion) a policy saved since
    ``expected_version``, checks again that a reactivated policy's priority is still free
    (ValidationError on ``priority``), saves and audits. Returns the locked policy."""
    with transaction.atomic():
        policy = Policy.objects.select_for_update().select_related("patient", "payer").get(pk=policy.pk)
        versions.check_version(policy, expected_version, "policy")
        if active and _priority_taken(policy.patient, policy.priority, policy) is not None:
            raise ValidationError({"priority": f"The patient already has an active {policy.priority} policy."})
        policy.is_active = active
        policy.save(update_fields=["is_active", *versions.bump(policy)])
        audit.record(
            actor,
            AuditAction.UPDATE,
            "policy",
            record_id=policy.public_id,
            patient_id=policy.patient.public_id,
            detail="policy reactivated" if active else "policy deactivated",
        )
    return policy
