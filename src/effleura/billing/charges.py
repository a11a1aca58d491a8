"""A visit's charge: made when its session note is signed, read, adjusted with a reason, voided.

From note to charge (issue 6, item 3), inside the signing's transaction:

1. The payer is that of the patient's active primary policy valid on the date of service
   (none: self-pay).
2. Each technique's minutes go to the code it maps to (TechniqueCode: the payer's row
   first, then the practice-wide one). Techniques with no code, or mapped to a retired
   code, are not billed; the charge lists them in its notes.
3. Units per code come from billing/units.py with the payer's unit method (self-pay: the
   CMS 8-minute rule) over the practice's catalog; prices from billing/pricing.py.
4. Diagnosis codes come from the episode's referral valid on the date of service (not
   closed), else from its latest treatment plan; each line points at them ("A", "AB", ...).
5. A prepaid package covering the visit is used (billing/packages.py).

Reading (billing/access.py): ``access_charge`` / ``access_charges`` ask "charge.view"; a user without
"billing.view" (a therapist) sees only the charges of their own visits.

Adjusting (``check_adjust_charge`` / ``do_adjust_charge``, "charge.adjust", own only for a
therapist): units per line, add or remove a code, always with a reason, only while the
charge is open; the lines before and after are kept as a ChargeAdjustment and the charge
is priced again by the same rule. Voiding (``check_void_charge`` / ``do_void_charge``,
"billing.manage") needs a reason; a package session used by the charge is given back.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Prefetch, Q, When
from django.utils import timezone

from effleura.billing import pricing
from effleura.billing.access import _charges, _refuse_not_own, sees_everyones
from effleura.billing.choices import ChargeStatus, UnitMethod
from effleura.billing.models import Charge, ChargeAdjustment, ChargeLine, Policy, ProcedureCode, TechniqueCode
from effleura.billing.packages import release_package_use, use_package_for_charge
from effleura.billing.units import timed_units
from effleura.clinical import knowledge
from effleura.clinical.models import TreatmentPlan
from effleura.core import audit
from effleura.core.access import allowed, authorize
from effleura.core.choices import AuditAction
from effleura.core.permissions import has_permission
from effleura.core.values import reject_unknown
from effleura.referrals.models import Referral

RECORD_TYPE = "charge"
MAX_DIAGNOSES = 12
POINTER_LETTERS = "ABCDEFGHIJKL"
MAX_POINTERS = 4  # CMS-1500 box 24E takes up to four pointers per line
MAX_UNITS = 99
MAX_LINES = 20
REASON_MAX = 1000
NOTES_MAX = Charge._meta.get_field("notes").max_length


# Reading ---------------------------------------------------------------------------------


def charge_for_note(user, note) -> Charge | None:
    """The charge of a signed ``note`` for its page, if ``user`` may see it (no refusal
    audited: the card is simply not shown). Three queries."""
    if not has_permission(user, "charge.view"):
        return None
    charge = (
        Charge.objects.select_related("patient", "payer")
        .prefetch_related(Prefetch("lines", queryset=ChargeLine.objects.select_related("code")))
        .filter(note=note)
        .first()
    )
    if charge is None or (not sees_everyones(user) and charge.practitioner_id != user.pk):
        return None
    allowed(user, "charge.view", patient_id=charge.patient.public_id, record_id=charge.public_id, detail="note page")
    return charge


def line_rows(lines) -> list[dict]:
    """Lines as plain data, as kept in a ChargeAdjustment's before/after."""
    return [
        {
            "code": line.code.code,
            "minutes": line.minutes,
            "computed_units": line.computed_units,
            "units": line.units,
            "unit_price": str(line.unit_price),
            "amount": str(line.amount),
        }
        for line in lines
    ]


# From note to charge ---------------------------------------------------------------------


def primary_policy(patient, on: datetime.date) -> Policy | None:
    """The patient's active primary policy valid on ``on``, if any. One query."""
    return (
        Policy.objects.filter(patient=patient, is_active=True, priority="primary")
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on))
        .select_related("payer")
        .order_by("-id")
        .first()
    )


def code_for_techniques(techniques, payer) -> dict[str, ProcedureCode]:
    """{technique: ProcedureCode} by the mapping: the payer's row first, then the practice's.
    One query."""
    rows = TechniqueCode.objects.filter(technique__in=list(techniques)).select_related("code")
    rows = rows.filter(Q(payer__isnull=True) | Q(payer=payer)) if payer is not None else rows.filter(payer__isnull=True)
    found: dict[str, ProcedureCode] = {}
    for row in sorted(rows, key=lambda r: r.payer_id is not None):
        found[row.technique] = row.code
    return found


def diagnosis_codes_for(episode, on: datetime.date) -> list[str]:
    """The episode's diagnosis codes: its referral valid on ``on`` (not closed, the latest
    signed), else its latest treatment plan (an active one first). At most 12."""
    referral = (
        Referral.objects.filter(episode=episode, is_closed=False, valid_from__lte=on, valid_until__gte=on)
        .order_by("-referral_date", "-id")
        .values_list("diagnosis_codes", flat=True)
        .first()
    )
    codes = referral
    if not codes:
        codes = (
            TreatmentPlan.objects.filter(episode=episode)
            # active plans first, then the newest
            .order_by(Case(When(status="active", then=0), default=1), "-created_at", "-id")
            .values_list("diagnosis_codes", flat=True)
            .first()
        )
    seen: list[str] = []
    for code in codes or []:
        code = str(code).strip().upper()
        if code and code not in seen:
            seen.append(code)
    return seen[:MAX_DIAGNOSES]


def pointer_for(diagnosis_codes: list[str]) -> str:
    return POINTER_LETTERS[: min(len(diagnosis_codes), MAX_POINTERS)]


def practice_catalog() -> dict[str, bool]:
    """{code: timed} for every code of the practice's catalog (retired ones too). One query."""
    return dict(ProcedureCode.objects.values_list("code", "timed"))


def _technique_label(key: str) -> str:
    return knowledge.label(key)  # the key itself when unknown (old data)


def _notes(*parts: str) -> str:
    text = " ".join(p for p in parts if p)
    return text if len(text) <= NOTES_MAX else text[: NOTES_MAX - 1] + "…"


def charge_for_signed_note(actor, note, *, now) -> Charge:
    """The signing hook (core/extension_points.py note_signed): make the visit's charge for ``note``,
    which has just been signed. Call inside do_sign_note's transaction, holding the note's
    row lock; a note that already has a charge keeps it."""
    existing = Charge.objects.filter(note=note).first()
    if existing is not None:
        return existing
    episode = note.episode
    patient = episode.patient
    appointment = note.appointment
    on = note.session_date
    policy = primary_policy(patient, on)
    payer = policy.payer if policy else None
    method = payer.unit_method if payer else UnitMethod.CMS

    entries = list(note.techniques.order_by("id").values_list("technique", "minutes"))
    mapping = code_for_techniques({t for t, _ in entries}, payer)
    minutes: dict[str, int] = {}
    techniques_by_code: dict[str, list[str]] = {}
    codes: dict[str, ProcedureCode] = {}
    unmapped: list[str] = []
    for technique, mins in entries:
        code = mapping.get(technique)
        if code is None or not code.is_active:
            if technique not in unmapped:
                unmapped.append(technique)
            continue
        codes[code.code] = code
        minutes[code.code] = minutes.get(code.code, 0) + mins
        techniques_by_code.setdefault(code.code, [])
        if technique not in techniques_by_code[code.code]:
            techniques_by_code[code.code].append(technique)
    units = timed_units(minutes, method, catalog=practice_catalog())
    service = appointment.service if appointment else None
    length = appointment.duration_minutes if appointment else None
    fees = pricing.fees_for(units, payer=payer, service=service, minutes=length)
    priced = pricing.price_lines(units, fees.code_prices, fees.visit_price)
    diagnoses = diagnosis_codes_for(episode, on)
    pointer = pointer_for(diagnoses)

    not_billed = "Not billed (no code): " + ", ".join(_technique_label(t) for t in unmapped) + "." if unmapped else ""
    charge = Charge.objects.create(
        patient=patient,
        note=note,
        appointment=appointment,
        practitioner=note.author,
        service=service,
        location=appointment.location if appointment else None,
        date_of_service=on,
        payer=payer,
        policy=policy,
        unit_method=method,
        diagnosis_codes=diagnoses,
        total=priced.total,
        notes=_notes(not_billed, priced.note),
        created_at=now,
        created_by=actor,
    )
    ChargeLine.objects.bulk_create(
        ChargeLine(
            charge=charge,
            code=codes[code],
            minutes=minutes[code],
            computed_units=units[code],
            units=units[code],
            unit_price=priced.lines[code].unit_price,
            amount=priced.lines[code].amount,
            diagnosis_pointer=pointer,
            techniques=techniques_by_code[code],
        )
        for code in units
    )
    audit.record(
        actor, AuditAction.CREATE, RECORD_TYPE, record_id=charge.public_id, patient_id=patient.public_id,
        detail="charge made from the signed note",
    )  # fmt: skip

    use_package_for_charge(actor, charge)  # sets charge.status to "package" if one covers it
    return charge


# Adjusting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adjustment:
    """check_adjust_charge's answer: the units wanted per code (in line order) and why."""

    units: dict[str, int]
    reason: str


def _reason(value, errors: dict, what: str) -> str:
    reason = " ".join(str(value or "").split())
    if not reason:
        errors["reason"] = f"Say why you are {what} the charge; the reason is kept with it."
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"Keep the reason under {REASON_MAX} characters."
    return reason


def _units(value, code: str, errors: dict, field: str):
    value = float(value) if isinstance(value, Decimal) else value  # a JSON number from the API
    try:
        number = int(value)
        if isinstance(value, bool) or (isinstance(value, float) and value != number):
            raise ValueError
    except (TypeError, ValueError):
        errors[field] = f"Units for {code}: a whole number, 0 to {MAX_UNITS}."
        return None
    if not 0 <= number <= MAX_UNITS:
        errors[field] = f"Units for {code}: a whole number, 0 to {MAX_UNITS}."
        return None
    return number


def check_adjust_charge(actor, charge: Charge, data: dict) -> Adjustment:
    """May ``actor`` change ``charge``'s lines to ``data``, and is ``data`` sound?

    ``data``: ``lines``, the lines the charge should have: a list of {"code": "97124",
    "units": 2} (a code left out is removed; a new code is added), and ``reason`` (required).
    Only an open charge; a therapist only their own visits'."""
    authorize(actor, "charge.adjust", patient_id=charge.patient.public_id, record_id=charge.public_id)
    _refuse_not_own(actor, "charge.adjust", charge)
    reject_unknown(data, {"lines", "reason"})
    if charge.status != ChargeStatus.OPEN:
        raise ValidationError(
            f"This charge is {charge.get_status_display().lower()}: only a charge not invoiced yet can be adjusted."
        )
    errors: dict[str, str] = {}
    reason = _reason(data.get("reason"), errors, "adjusting")
    rows = data.get("lines")
    wanted: dict[str, int] = {}
    if not isinstance(rows, list | tuple) or not rows:
        errors["lines"] = "Keep at least one code on the charge; to cancel it, ask billing to void it."
        rows = []
    elif len(rows) > MAX_LINES:
        errors["lines"] = f"A charge has at most {MAX_LINES} codes."
        rows = []
    current = {line.code.code for line in charge.lines.all()}
    active = dict(ProcedureCode.objects.filter(is_active=True).values_list("code", "pk"))
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            errors[f"lines.{i}"] = "Each line needs a code and its units."
            continue
        code = str(row.get("code") or "").strip().upper()
        if not code:
            errors[f"lines.{i}.code"] = "Choose the procedure code."
            continue
        if code in wanted:
            errors[f"lines.{i}.code"] = f"{code} is listed twice; give it once with its units."
            continue
        if code not in current and code not in active:
            errors[f"lines.{i}.code"] = f"{code} is not an active code of the practice's catalog."
            continue
        units = _units(row.get("units"), code, errors, f"lines.{i}.units")
        if units is not None:
            wanted[code] = units
    if not errors and wanted == {line.code.code: line.units for line in charge.lines.all()}:
        errors["lines"] = "Nothing changed: change the units, or add or remove a code."
    if errors:
        raise ValidationError(errors)
    return Adjustment(wanted, reason)


def do_adjust_charge(actor, charge: Charge, adjustment: Adjustment, *, now=None) -> Charge:
    """Apply check_adjust_charge's answer: the lines change, the charge is priced again by
    the current fee schedule, and the before and after are kept with the reason."""

    now = now or timezone.now()
    with transaction.atomic():
        # No select_related: PostgreSQL refuses FOR UPDATE across the nullable payer/service joins.
        locked = Charge.objects.select_for_update().get(pk=charge.pk)
        if locked.status != ChargeStatus.OPEN:
            raise ValidationError("This charge was invoiced or voided meanwhile; reload it and try again.")
        lines = {line.code.code: line for line in locked.lines.select_related("code").order_by("id")}
        before = line_rows(lines.values())
        length = locked.appointment.duration_minutes if locked.appointment_id else None
        fees = pricing.fees_for(adjustment.units, payer=locked.payer, service=locked.service, minutes=length)
        priced = pricing.price_lines(adjustment.units, fees.code_prices, fees.visit_price)
        pointer = pointer_for(locked.diagnosis_codes or [])
        new_codes = {c.code: c for c in ProcedureCode.objects.filter(code__in=set(adjustment.units) - set(lines))}
        for code, line in lines.items():
            if code not in adjustment.units:
                line.delete()
        for code, units in adjustment.units.items():
            price = priced.lines[code]
            line = lines.get(code) or ChargeLine(
                charge=locked, code=new_codes[code], minutes=0, computed_units=0, diagnosis_pointer=pointer
            )
            line.units, line.unit_price, line.amount = units, price.unit_price, price.amount
            line.save()
        after_lines = list(locked.lines.select_related("code").order_by("id"))
        locked.total = priced.total
        unmapped = locked.notes.split("No fee set for")[0].strip()
        locked.notes = _notes(unmapped, priced.note)
        locked.save(update_fields=["total", "notes"])
        ChargeAdjustment.objects.create(
            charge=locked, at=now, by=actor, reason=adjustment.reason, before=before, after=line_rows(after_lines)
        )
        audit.record(
            actor, AuditAction.UPDATE, RECORD_TYPE, record_id=locked.public_id, patient_id=charge.patient.public_id,
            detail="charge adjusted",
        )  # fmt: skip
    return _charges().get(pk=charge.pk)


# Voiding ---------------------------------------------------------------------------------


def check_void_charge(actor, charge: Charge, data: dict) -> str:
    """May ``actor`` void ``charge``? Billing staff only, with a reason; not once it is on an
    invoice (void the invoice first) or claimed. Returns the reason."""
    authorize(actor, "billing.manage", patient_id=charge.patient.public_id, record_id=charge.public_id)
    reject_unknown(data, {"reason"})
    if charge.status == ChargeStatus.VOID:
        raise ValidationError("This charge is already void.")
    if charge.status == ChargeStatus.INVOICED:
        raise ValidationError("This charge is on an invoice: void the invoice first, then the charge.")
    if charge.claims.exists():
        raise ValidationError("This charge has an insurance claim: settle or withdraw the claim first.")
    errors: dict[str, str] = {}
    reason = _reason(data.get("reason"), errors, "voiding")
    if len(reason) > Charge._meta.get_field("void_reason").max_length:
        errors["reason"] = "Keep the reason under 200 characters."
    if errors:
        raise ValidationError(errors)
    return reason


def do_void_charge(actor, charge: Charge, reason: str) -> Charge:
    """Void the charge; a package session it used is given back."""
    with transaction.atomic():
        locked = Charge.objects.select_for_update().get(pk=charge.pk)
        if locked.status not in (ChargeStatus.OPEN, ChargeStatus.PACKAGE):
            raise ValidationError("This charge was invoiced or voided meanwhile; reload it and try again.")
        released = release_package_use(actor, locked)
        locked.status = ChargeStatus.VOID
        locked.void_reason = reason
        locked.save(update_fields=["status", "void_reason"])
        audit.record(
            actor, AuditAction.UPDATE, RECORD_TYPE, record_id=locked.public_id, patient_id=charge.patient.public_id,
            detail="charge voided" + ("; package session given back" if released else ""),
        )  # fmt: skip
    return _charges().get(pk=charge.pk)
