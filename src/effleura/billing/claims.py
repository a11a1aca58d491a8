"""Insurance claims (CMS-1500) for a visit's charge under one of the patient's policies.

A claim moves draft → submitted → paid, or → denied (with the payer's reason) →
resubmitted → paid or denied again. Each move is a ClaimEvent with who, when and a note.
Any other move is refused in plain words. A claim cannot be submitted while the form
would be incomplete (billing/cms1500.py ``missing``). Reading: claim.view; writing:
claim.manage (owner and billing staff).
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404

from effleura.billing import balances, cms1500
from effleura.billing.access import access_claim_quiet
from effleura.billing.choices import ChargeStatus, ClaimStatus, IllnessQualifier, InvoiceStatus, Priority
from effleura.billing.ledger_dates import parse_ledger_date
from effleura.billing.models import Charge, Claim, ClaimEvent, Invoice, Policy
from effleura.core import audit, clock, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.confirmation import NeedsConfirmation
from effleura.core.models import Practice
from effleura.core.text import printable
from effleura.core.values import as_uuid, format_amount, parse_amount, parse_date, reject_unknown
from effleura.scheduling.choices import PlaceOfService

NOTE_MAX = 1000
# Boxes 10a–c and 14 (the condition) and 24B (the place of service), edited on a claim until
# it is submitted (and again once denied).
CONDITION = (
    "employment_related", "auto_accident", "accident_state", "other_accident", "illness_date", "illness_qualifier",
)  # fmt: skip
DETAIL_FIELDS = (*CONDITION, "place_of_service")
EDITABLE = (ClaimStatus.DRAFT, ClaimStatus.DENIED)
# Box 10b's state: the USPS codes of the states, DC and the territories.
US_STATES = frozenset((
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI",
))  # fmt: skip

# Where a claim may go from each status.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    ClaimStatus.DRAFT: (ClaimStatus.SUBMITTED,),
    ClaimStatus.SUBMITTED: (ClaimStatus.PAID, ClaimStatus.DENIED),
    ClaimStatus.DENIED: (ClaimStatus.RESUBMITTED,),
    ClaimStatus.RESUBMITTED: (ClaimStatus.PAID, ClaimStatus.DENIED),
    ClaimStatus.PAID: (),
}
ACTION_LABELS = {
    ClaimStatus.SUBMITTED: "Mark submitted",
    ClaimStatus.PAID: "Record payment",
    ClaimStatus.DENIED: "Record denial",
    ClaimStatus.RESUBMITTED: "Mark resubmitted",
}


def next_statuses(claim: Claim) -> tuple[str, ...]:
    return TRANSITIONS.get(claim.status, ())


# Reading -------------------------------------------------------------------------------


def claim_events(claim: Claim) -> list[ClaimEvent]:
    return list(claim.events.select_related("by"))


def charge_claims(charge: Charge) -> list[Claim]:
    return list(charge.claims.select_related("policy__payer"))


# Creating ------------------------------------------------------------------------------


def _policy(value, charge: Charge, errors: dict) -> Policy | None:
    if value in (None, ""):
        policy = charge.policy
        if policy is None:
            policy = (
                Policy.objects.filter(patient_id=charge.patient_id, is_active=True, priority=Priority.PRIMARY)
                .select_related("payer")
                .first()
            )
        if policy is None:
            errors["policy"] = "The patient has no active insurance policy; add one on their account first."
        return policy
    policy = value
    if not isinstance(value, Policy):
        try:
            policy = Policy.objects.filter(public_id=as_uuid(value, "policy")).select_related("payer").first()
        except Http404:
            policy = None
    if policy is None or policy.patient_id != charge.patient_id:
        errors["policy"] = "Choose one of this patient's policies."
        return None
    if not policy.is_active:
        errors["policy"] = "This policy is inactive; choose an active one."
        return None
    return policy


def paid_in_full(charge: Charge) -> str:
    """Why the patient has already paid for ``charge`` (its package covers it, or an invoice
    with it on is paid in full), or "" when they have not. Two queries at most."""
    if charge.status == ChargeStatus.PACKAGE:
        return "This visit is covered by the patient's package, so it is already paid."
    billed = Invoice.objects.filter(lines__charge=charge).exclude(status=InvoiceStatus.VOID).distinct()
    found = list(billed.order_by("issued_on", "id"))
    amounts = balances.invoice_amounts(found) if found else {}
    for invoice in found:
        if amounts[invoice.pk].total > 0 and amounts[invoice.pk].outstanding <= 0:
            total = format_amount(invoice.total, Practice.current().decimal_separator)  # as the practice writes it
            return (
                f"This visit is already paid in full by the patient (invoice {invoice.number}, {total} "
                f"{invoice.currency}). If the payer pays it too, refund the patient."
            )
    return ""


def check_create_claim(actor, charge: Charge, data: dict | None = None) -> dict:
    """May ``actor`` claim ``charge`` and under which policy? ``data``: policy (optional; the
    charge's policy or the patient's active primary by default), confirm_warnings. The
    charge must not be void, must have procedure lines and a diagnosis code, and may not
    already have an open or paid claim under the same policy. A visit the patient already
    paid in full raises NeedsConfirmation unless ``confirm_warnings`` is true."""
    data = data or {}
    authorize(actor, "claim.manage", patient_id=charge.patient.public_id, record_id=charge.public_id)
    reject_unknown(data, {"policy", "confirm_warnings"})
    if charge.status == ChargeStatus.VOID:
        raise ValidationError("This charge is void; there is nothing to claim.")
    errors: dict[str, str] = {}
    policy = _policy(data.get("policy"), charge, errors)
    if errors:
        raise ValidationError(errors)
    if not charge.lines.filter(units__gt=0).exists():
        raise ValidationError("This charge has no procedure codes to claim; adjust the charge first.")
    if not charge.diagnosis_codes:
        raise ValidationError(
            "This visit has no diagnosis code; a claim needs at least one (record the referral's diagnosis)."
        )
    existing = Claim.objects.filter(charge=charge, policy=policy).exclude(status=ClaimStatus.DENIED).first()
    if existing is not None:
        raise ValidationError(
            f"This visit already has a {existing.get_status_display().lower()} claim to {policy.payer.name}."
        )
    paid = paid_in_full(charge)
    if paid and data.get("confirm_warnings") is not True:
        raise NeedsConfirmation([paid])
    return {"policy": policy}


def _carried_over(charge: Charge) -> dict:
    """Boxes 10 and 14 of the patient's latest claim: a run of visits for one accident is
    described once. Empty for a first claim."""
    last = Claim.objects.filter(charge__patient_id=charge.patient_id).order_by("-created_at", "-id").first()
    return {f: getattr(last, f) for f in CONDITION} if last is not None else {}


def do_create_claim(actor, charge: Charge, clean: dict) -> Claim:
    """A draft claim for the charge's total, with its first event; boxes 10 and 14 are
    carried over from the patient's latest claim, for the person to check on the claim page,
    and the place of service (24B) is the visit's location's."""
    with transaction.atomic():
        charge = Charge.objects.select_for_update().select_related("patient").get(pk=charge.pk)
        policy = clean["policy"]
        if Claim.objects.filter(charge=charge, policy=policy).exclude(status=ClaimStatus.DENIED).exists():
            raise ValidationError("This visit already has a claim to this payer.")
        claim = Claim.objects.create(
            charge=charge,
            policy=policy,
            billed_amount=charge.total,
            currency=charge.currency,
            created_by=actor,
            place_of_service=charge.location.place_of_service if charge.location_id else PlaceOfService.OFFICE,
            **_carried_over(charge),
        )
        ClaimEvent.objects.create(claim=claim, status=ClaimStatus.DRAFT, by=actor, note="Claim created.")
        audit.record(
            actor,
            AuditAction.CREATE,
            "claim",
            record_id=claim.public_id,
            patient_id=charge.patient.public_id,
            detail="claim created",
        )
    return claim


# Moving --------------------------------------------------------------------------------


def _amount(value, errors: dict, billed: Decimal) -> Decimal | None:
    amount = parse_amount(value, "paid_amount", errors, empty_message="Enter the amount the payer paid (0 if nothing).")
    if amount is not None and amount > billed:
        errors["paid_amount"] = f"The payer cannot pay more than was billed ({billed})."
        return None
    return amount


def _refuse_move(claim: Claim, to: str) -> ValidationError:
    now = claim.get_status_display().lower()
    allowed_now = TRANSITIONS.get(claim.status, ())
    if not allowed_now:
        return ValidationError(f"This claim is {now}; it cannot change any more.")
    names = " or ".join(ClaimStatus(s).label.lower() for s in allowed_now)
    target = ClaimStatus(to).label.lower() if to in ClaimStatus.values else "that"
    return ValidationError(f"A {now} claim cannot be marked {target}; it can only be marked {names}.")


def check_move_claim(actor, claim: Claim, to: str, data: dict | None = None) -> dict:
    """May ``actor`` move ``claim`` to status ``to``, and is ``data`` sound?

    ``data``: note (any move), payer_claim_number (optional), on (the day it happened;
    today by default; 2000-01-01 to tomorrow in the practice's zone), paid_amount
    (required for paid; not above the billed amount), reason (required for denied).
    Submitting needs a complete form."""
    data = data or {}
    authorize(actor, "claim.manage", patient_id=claim.charge.patient.public_id, record_id=claim.public_id)
    reject_unknown(data, {"note", "payer_claim_number", "on", "paid_amount", "reason"})
    if to not in TRANSITIONS.get(claim.status, ()):
        raise _refuse_move(claim, to)
    errors: dict[str, str] = {}
    clean: dict = {"to": to}
    note = printable(str(data.get("note") or "")).strip()
    if len(note) > NOTE_MAX:
        errors["note"] = f"Keep the note under {NOTE_MAX} characters."
    clean["note"] = note
    number = " ".join(printable(str(data.get("payer_claim_number") or "")).split())
    if len(number) > 40:
        errors["payer_claim_number"] = "Keep the payer's claim number under 40 characters."
    clean["payer_claim_number"] = number
    clean["on"] = parse_ledger_date(data.get("on"), "on", errors)
    if to == ClaimStatus.PAID:
        clean["paid_amount"] = _amount(data.get("paid_amount"), errors, claim.billed_amount)
    if to == ClaimStatus.DENIED:
        reason = printable(str(data.get("reason") or "")).strip()
        if not reason:
            errors["reason"] = "Enter the payer's reason for the denial."
        elif len(reason) > NOTE_MAX:
            errors["reason"] = f"Keep the reason under {NOTE_MAX} characters."
        clean["reason"] = reason
    if to in (ClaimStatus.SUBMITTED, ClaimStatus.RESUBMITTED):
        gaps = cms1500.missing(claim)
        if gaps:
            raise ValidationError("The claim form is incomplete: " + "; ".join(gaps) + ".")
    if errors:
        raise ValidationError(errors)
    return clean


def do_move_claim(actor, claim: Claim, clean: dict) -> Claim:
    """Move the claim (locked; refused if someone else moved it first) and keep the event."""
    to = clean["to"]
    with transaction.atomic():
        claim = Claim.objects.select_for_update().get(pk=claim.pk)
        if to not in TRANSITIONS.get(claim.status, ()):
            raise _refuse_move(claim, to)
        note = clean["note"]
        if to == ClaimStatus.SUBMITTED:
            claim.submitted_on = clean["on"]
        elif to == ClaimStatus.RESUBMITTED:
            claim.submitted_on = clean["on"]
            claim.resubmissions += 1
            claim.denial_reason = ""
        elif to == ClaimStatus.PAID:
            claim.paid_amount = clean["paid_amount"]
            note = note or f"Paid {claim.paid_amount} {claim.currency} on {clean['on']:%Y-%m-%d}."
        elif to == ClaimStatus.DENIED:
            claim.denial_reason = clean["reason"]
            note = f"{clean['reason']}\n{note}".strip()
        if clean["payer_claim_number"]:
            claim.payer_claim_number = clean["payer_claim_number"]
        claim.status = to
        versions.bump(claim)
        claim.save()
        ClaimEvent.objects.create(claim=claim, status=to, by=actor, note=note)
        patient_id = Charge.objects.filter(pk=claim.charge_id).values_list("patient__public_id", flat=True).first()
        audit.record(
            actor, AuditAction.UPDATE, "claim", record_id=claim.public_id, patient_id=patient_id, detail=f"claim {to}"
        )
    return access_claim_quiet(claim.pk)


# The condition: boxes 10a–c and 14 ----------------------------------------------------


def _flag(value, field: str, errors: dict) -> bool:
    if isinstance(value, bool):
        return value
    if value in (None, "", "0", "false", "off"):
        return False
    if value in ("1", "true", "on"):
        return True
    errors[field] = "Answer yes or no."
    return False


def check_save_details(actor, claim: Claim, data: dict) -> dict:
    """May ``actor`` set boxes 10a–c, 14 and 24B of ``claim`` to ``data``, and are they sound?
    ``data`` holds any of DETAIL_FIELDS (the others keep their value). Only a draft or
    denied claim changes: a submitted one is what the payer has. An auto accident needs
    the state it happened in (box 10b); a date of illness or injury (box 14) is not in the
    future and takes qualifier 431 (onset) unless 484 (last menstrual period) is given.
    Raises ValidationError (field -> message); returns the clean fields."""
    authorize(actor, "claim.manage", patient_id=claim.charge.patient.public_id, record_id=claim.public_id)
    reject_unknown(data, set(DETAIL_FIELDS))
    if claim.status not in EDITABLE:
        raise ValidationError(
            f"This claim is {claim.get_status_display().lower()}: boxes 10 and 14 are what the payer has. "
            "They can be corrected if the payer denies it."
        )
    merged = {f: getattr(claim, f) for f in DETAIL_FIELDS} | data
    errors: dict[str, str] = {}
    clean = {
        name: _flag(merged[name], name, errors) for name in ("employment_related", "auto_accident", "other_accident")
    }
    state = str(merged["accident_state"] or "").strip().upper()
    if clean["auto_accident"]:
        if not state:
            errors["accident_state"] = "Give the state the auto accident happened in (box 10b), e.g. OR."
        elif state not in US_STATES:
            errors["accident_state"] = "Give the state as its two-letter postal code, e.g. OR or WA."
    else:
        state = ""  # the state belongs to an auto accident only
    clean["accident_state"] = state
    today = clock.today()
    day = parse_date(merged["illness_date"], "illness_date", errors, earliest=datetime.date(1900, 1, 1), latest=today)
    qualifier = str(merged["illness_qualifier"] or "").strip()
    if day is None:
        qualifier = ""
    elif not qualifier:
        qualifier = IllnessQualifier.ONSET
    elif qualifier not in IllnessQualifier.values:
        errors["illness_qualifier"] = (
            "Choose 431 (onset of current symptoms or illness) or 484 (last menstrual period)."
        )
    clean["illness_date"], clean["illness_qualifier"] = day, qualifier
    place = str(merged["place_of_service"] or "").strip()
    if place not in PlaceOfService.values:
        errors["place_of_service"] = "Choose where the visit was given: 11 office, 12 home, 21 or 22 hospital …"
    clean["place_of_service"] = place
    if errors:
        raise ValidationError(errors)
    return clean


def do_save_details(actor, claim: Claim, clean: dict, *, expected_version=None) -> Claim:
    """Save boxes 10a–c and 14 (from check_save_details), the claim locked; a claim saved or
    moved since ``expected_version`` is not overwritten (StaleVersion)."""
    with transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        versions.check_version(locked, expected_version, "claim")
        if locked.status not in EDITABLE:
            raise ValidationError("This claim was submitted meanwhile: boxes 10 and 14 are what the payer has.")
        changed = [f for f in DETAIL_FIELDS if getattr(locked, f) != clean[f]]
        for name in DETAIL_FIELDS:
            setattr(locked, name, clean[name])
        locked.save(update_fields=[*DETAIL_FIELDS, *versions.bump(locked), "updated_at"])
        audit.record(
            actor,
            AuditAction.UPDATE,
            "claim",
            record_id=locked.public_id,
            patient_id=claim.charge.patient.public_id,
            detail=("boxes 10/14/24B changed: " + ", ".join(changed))[:200] if changed else "boxes 10/14/24B: same",
        )
    return access_claim_quiet(locked.pk)


def patient_active_policies(charge: Charge) -> list[Policy]:
    return list(Policy.objects.filter(patient_id=charge.patient_id, is_active=True).select_related("payer"))
