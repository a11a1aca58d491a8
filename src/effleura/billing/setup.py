"""The practice's billing set-up: its procedure codes, which technique bills as which code
(practice-wide, and per payer where a payer wants another code), payers and how each
counts units, the fee schedule (per code or per service; the standard price or a payer's)
and the package plans it sells.

Same pattern as every other write: check_*() authorizes (billing_setup.manage: the owner
and billing staff) and validates, raising ValidationError in the clinic's words (a dict of
field -> message when one field is at fault); do_*() writes inside a transaction, locking
the row it changes, and appends the audit event in the same transaction. Reads (list_*,
get_*) need billing_setup.view, which every role holds: a therapist may look up which code
a technique bills as. None of this is patient data, so reads are not audited.

check_save_*() takes the fields to change (all of them for a new record), merges them over
the record's current values and validates the whole, so a partial update (PATCH) is
checked exactly like a full one.

Codes are never deleted: charges, claims and superbills name them. A code is retired
(is_active false) instead, which takes it off the lists offered for new mappings and fees.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404

from effleura.billing import modifiers
from effleura.billing.catalog import CODE_PATTERN
from effleura.billing.choices import PlanType, UnitMethod
from effleura.billing.models import FeeScheduleEntry, PackagePlan, Payer, ProcedureCode, TechniqueCode
from effleura.clinical import knowledge
from effleura.core import audit, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.phones import clean_phone
from effleura.core.resources import delete_record, get_record, max_length, save_record
from effleura.core.values import CENT, as_uuid, clean_text, merge_fields, parse_amount, parse_uuid, reject_unknown
from effleura.scheduling.models import Service

VIEW = "billing_setup.view"
MANAGE = "billing_setup.manage"
RECORD_TYPE = "billing_setup"

# The money columns hold MAX_DIGITS digits, two after the point.
MAX_PACKAGE_SESSIONS = 100
MAX_VALID_DAYS = 1830  # five years

FEE_EMPTY = "Enter an amount, e.g. 95.00 (0.00 for no charge)."


# Shared helpers -----------------------------------------------------------------------------------


def _flag(value, field: str, errors: dict) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("1", "true", "on", "yes"):
        return True
    if value in ("0", "false", "off", "no", "", None):
        return False
    errors[field] = "Answer yes or no."
    return None


def _whole(value, field: str, errors: dict, low: int, high: int, message: str) -> int | None:
    try:
        number = None if isinstance(value, bool) else int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        errors[field] = message
        return None
    return number


def _ref(model, value, field: str, errors: dict, what: str, *, required: bool, active: bool = True):
    """A related record given as itself, its UUID, or (for codes) its code; None when blank."""
    if value in (None, ""):
        if required:
            errors[field] = f"Choose a {what}."
        return None
    if isinstance(value, model):
        found = value
    elif model is ProcedureCode and isinstance(value, str) and CODE_PATTERN.match(value.strip().upper()):
        found = ProcedureCode.objects.filter(code=value.strip().upper()).first()
    else:
        key = parse_uuid(value)
        found = model.objects.filter(public_id=key).first() if key else None
    if found is None:
        errors[field] = f"There is no such {what}."
        return None
    if active and not found.is_active:
        errors[field] = f"This {what} is no longer active; choose an active one."
        return None
    return found


def _save(actor, model, instance, clean: dict, what: str, *, unique_message: dict | None = None, expected_version=None):
    """Create or update the record, locked and audited under billing_setup with ``what``
    naming it (core.resources.save_record); an update over a newer version than
    ``expected_version`` (the one the editor loaded) raises StaleVersion."""
    return save_record(
        actor, model, instance, clean, RECORD_TYPE, what=what, unique_message=unique_message,
        expected_version=expected_version,
    )  # fmt: skip


# Procedure codes ----------------------------------------------------------------------------------

CODE_FIELDS = ("code", "description", "timed")
CODE_EDITABLE = ("description", "timed")


def list_codes(user, *, include_retired: bool = True):
    authorize(user, VIEW)
    found = ProcedureCode.objects.order_by("-is_active", "code")
    return found if include_retired else found.filter(is_active=True)


def get_code(user, code_id, key: str = VIEW) -> ProcedureCode:
    authorize(user, key, record_id=code_id)
    return get_record(ProcedureCode, code_id, "procedure code")


def check_save_code(actor, data: dict, code: ProcedureCode | None = None) -> dict:
    """A new code (code, description, timed), or a change to ``code``'s description or
    whether it is timed. The code itself never changes: charges and claims name it."""
    authorize(actor, MANAGE, record_id=code.public_id if code else "")
    fields = CODE_EDITABLE if code is not None else CODE_FIELDS
    merged = merge_fields(code, fields, {"code": "", "description": "", "timed": None}, data)
    errors: dict[str, str] = {}
    clean: dict = {}
    if code is None:
        value = clean_text(merged["code"], "code", errors, limit=10, one_line=True).upper()
        if not value:
            errors["code"] = "Enter the code, e.g. 97124."
        elif not CODE_PATTERN.match(value):
            errors["code"] = "A CPT code is five digits (e.g. 97124); a HCPCS code a letter and four digits (G0283)."
        elif ProcedureCode.objects.filter(code=value).exists():
            errors["code"] = f"{value} is already in the catalog; edit it there (or reactivate it if retired)."
        clean["code"] = value
    clean["description"] = clean_text(
        merged["description"], "description", errors, limit=max_length(ProcedureCode, "description"), one_line=True,
        required="Describe the code as the CPT book does, e.g. “Massage, each 15 minutes”.",
    )  # fmt: skip
    if merged["timed"] is None:
        errors["timed"] = "Say whether it is billed in 15-minute units (timed) or once per visit."
    else:
        clean["timed"] = _flag(merged["timed"], "timed", errors)
    if errors:
        raise ValidationError(errors)
    return clean


def do_save_code(actor, clean: dict, code: ProcedureCode | None = None, *, expected_version=None) -> ProcedureCode:
    """Create a procedure code (``code`` None) or update ``code`` from ``clean``, the dict
    check_save_code() returned (call it first). Locks, saves and audits in one transaction
    (core.resources.save_record); a code added meanwhile raises ValidationError on ``code``,
    a version other than ``expected_version`` StaleVersion. Returns the saved code."""
    return _save(
        actor, ProcedureCode, code, clean, "procedure code",
        unique_message={"code": f"{clean.get('code', '')} is already in the catalog."},
        expected_version=expected_version,
    )  # fmt: skip


def check_set_code_active(actor, code: ProcedureCode, active: bool) -> bool:
    """Retire (or reactivate) ``code``. A code still mapped from a technique can't be retired:
    its visits would be billed under a retired code. Re-map the techniques first."""
    authorize(actor, MANAGE, record_id=code.public_id)
    if code.is_active == active:
        raise ValidationError(f"{code.code} is already {'active' if active else 'retired'}.")
    if not active:
        mapped = sorted(set(code.technique_mappings.values_list("technique", flat=True)))
        if mapped:
            names = ", ".join(knowledge.label(t) for t in mapped)
            raise ValidationError(
                f"{code.code} is still the code for {names}. Map them to another code (or to none) first."
            )
    return active


def do_set_code_active(actor, code: ProcedureCode, active: bool, *, expected_version=None) -> ProcedureCode:
    """Retire or reactivate ``code``; ``active`` is what check_set_code_active() returned (call
    it first). Locks the code's row, refuses (StaleVersion) a code saved since
    ``expected_version``, saves and audits in one transaction. Returns the code."""
    with transaction.atomic():
        locked = ProcedureCode.objects.select_for_update().filter(pk=code.pk).order_by("pk").first()
        versions.check_version(locked, expected_version, "procedure code")
        code.is_active = active
        code.version = locked.version
        code.save(update_fields=["is_active", *versions.bump(code)])
        audit.record(
            actor, AuditAction.UPDATE, RECORD_TYPE, record_id=code.public_id,
            detail=f"procedure code {code.code} {'reactivated' if active else 'retired'}",
        )  # fmt: skip
    return code


# Technique -> code mapping ------------------------------------------------------------------------


def technique_choices() -> list[tuple[str, str]]:
    """Every technique, stroke and modality of the knowledge base: (key, label)."""
    return [(t.key, t.label) for t in knowledge.all_techniques()]


def clean_technique(value) -> str:
    """A known technique key, or 404 (it comes from the URL)."""
    key = str(value or "").strip()
    if key not in set(knowledge.technique_keys()):
        raise Http404("No such technique.")
    return key


def list_mappings(user):
    """Every mapping row, practice-wide first then per payer, with code and payer loaded."""
    authorize(user, VIEW)
    return TechniqueCode.objects.select_related("code", "payer").order_by("technique", "payer__name", "id")


def mapping_table(user) -> list[dict]:
    """One row per technique in knowledge-base order: its practice-wide code (or None: not
    billed) and its payer overrides. Two queries whatever the number of rows."""
    rows = {key: {"key": key, "label": label, "code": None, "overrides": []} for key, label in technique_choices()}
    for mapping in list_mappings(user):
        row = rows.get(mapping.technique)
        if row is None:  # a technique the knowledge base no longer has: still shown
            row = rows[mapping.technique] = {
                "key": mapping.technique, "label": mapping.technique, "code": None, "overrides": [],
            }  # fmt: skip
        if mapping.payer_id is None:
            row["code"] = mapping.code
        else:
            row["overrides"].append(mapping)
    return list(rows.values())


def check_map_technique(actor, technique: str, data: dict) -> dict:
    """Make ``technique`` bill as ``data["code"]`` (a ProcedureCode, its UUID or the code),
    practice-wide, or for ``data["payer"]`` only. A blank code removes the mapping: the
    practice-wide one (the technique is then not billed, and charges list it as unmapped),
    or the payer's override (the payer then gets the practice-wide code)."""
    authorize(actor, MANAGE, record_id=technique)
    technique = clean_technique(technique)
    reject_unknown(data, ("code", "payer"))
    errors: dict[str, str] = {}
    payer = _ref(Payer, data.get("payer"), "payer", errors, "payer", required=False, active=False)
    code = _ref(ProcedureCode, data.get("code"), "code", errors, "procedure code", required=False)
    if errors:
        raise ValidationError(errors)
    current = TechniqueCode.objects.filter(technique=technique, payer=payer).first()
    if code is None and current is None:
        raise ValidationError({"code": "There is no mapping to remove; choose a code."})
    return {"technique": technique, "payer": payer, "code": code}


def do_map_technique(actor, clean: dict) -> TechniqueCode | None:
    """Create, change or remove the mapping; returns it (None once removed)."""
    technique, payer, code = clean["technique"], clean["payer"], clean["code"]
    who = f" for payer {payer.public_id}" if payer else ""
    try:
        with transaction.atomic():
            # order_by("pk"): the default ordering joins the (nullable) payer, which PostgreSQL
            # will not lock through.
            found = TechniqueCode.objects.select_for_update().filter(technique=technique, payer=payer)
            current = found.order_by("pk").first()
            if code is None:
                if current is not None:
                    current.delete()
                detail = f"unmapped{who}"
                result = None
            elif current is None:
                result = TechniqueCode.objects.create(technique=technique, payer=payer, code=code)
                detail = f"mapped to {code.code}{who}"
            else:
                current.code = code
                current.save(update_fields=["code"])
                result = current
                detail = f"mapped to {code.code}{who}"
            # The technique is the record's id; the detail names no technique (docs/audit.md).
            audit.record(actor, AuditAction.UPDATE, RECORD_TYPE, record_id=technique, detail=detail[:200])
    except IntegrityError:
        raise ValidationError({"code": "Someone changed this mapping at the same time; try again."}) from None
    return result


# Payers -------------------------------------------------------------------------------------------

PAYER_FIELDS = (
    "name", "payer_id", "address_line1", "address_line2", "city", "region", "postal_code", "phone",
    "unit_method", "plan_type", "line_modifiers", "pair_modifiers", "is_active",
)  # fmt: skip
PAYER_DEFAULTS = {
    **{f: "" for f in PAYER_FIELDS}, "unit_method": UnitMethod.CMS, "plan_type": PlanType.GROUP, "is_active": True,
    "pair_modifiers": [],
}  # fmt: skip
MODIFIER_WORDS = "two letters or digits, e.g. 59 or XU"


def list_payers(user, *, include_inactive: bool = True):
    authorize(user, VIEW)
    found = Payer.objects.order_by("-is_active", "name", "id")
    return found if include_inactive else found.filter(is_active=True)


def get_payer(user, payer_id, key: str = VIEW) -> Payer:
    authorize(user, key, record_id=payer_id)
    return get_record(Payer, payer_id, "payer")


def check_save_payer(actor, data: dict, payer: Payer | None = None) -> dict:
    """A payer: its name (unique), electronic payer ID, claims address and phone, how it
    counts timed units (the CMS 8-minute rule over all timed minutes, or each code alone),
    its insurance type, the modifiers on every claim line and the code pairs whose first
    code takes a distinct-service modifier (billing/modifiers.py; check_pair_modifiers)."""
    authorize(actor, MANAGE, record_id=payer.public_id if payer else "")
    merged = merge_fields(payer, PAYER_FIELDS, PAYER_DEFAULTS, data)
    errors: dict[str, str] = {}
    clean: dict = {}
    for field in PAYER_FIELDS:
        if field in ("unit_method", "plan_type", "line_modifiers", "pair_modifiers", "is_active"):
            continue
        clean[field] = clean_text(merged[field], field, errors, limit=max_length(Payer, field), one_line=True)
    if "phone" not in errors:
        clean["phone"] = clean_phone(clean["phone"], "phone", errors)
    if not clean["name"] and "name" not in errors:
        errors["name"] = "Enter the payer's name, as on the insurance card."
    elif "name" not in errors:
        twin = Payer.objects.filter(name__iexact=clean["name"])
        if payer is not None:
            twin = twin.exclude(pk=payer.pk)
        if twin.exists():
            errors["name"] = "There is already a payer with this name."
    if clean["payer_id"] and not re.fullmatch(r"[A-Za-z0-9-]+", clean["payer_id"]):
        errors["payer_id"] = "An electronic payer ID has only letters, digits and dashes, e.g. 60054."
    method = str(merged["unit_method"] or "")
    if method not in UnitMethod.values:
        errors["unit_method"] = "Choose how this payer counts units: the CMS 8-minute rule or each code alone."
    clean["unit_method"] = method
    plan_type = str(merged["plan_type"] or "")
    if plan_type not in PlanType.values:
        errors["plan_type"] = "Choose the kind of insurance: Medicare, Medicaid, a group health plan, or another."
    clean["plan_type"] = plan_type
    every_line = modifiers.split_modifiers(merged["line_modifiers"])
    if len(every_line) > modifiers.MAX_PER_LINE or any(not modifiers.MODIFIER.fullmatch(m) for m in every_line):
        errors["line_modifiers"] = "Give up to four modifiers of two letters or digits, e.g. GP, or GP KX."
    clean["line_modifiers"] = " ".join(every_line)
    # A limit crossed only by a change to the every-line modifiers is said beside them.
    blame = "line_modifiers" if "line_modifiers" in data and "pair_modifiers" not in data else "pair_modifiers"
    problems, clean["pair_modifiers"] = check_pair_modifiers(
        merged["pair_modifiers"], every_line if "line_modifiers" not in errors else []
    )
    if problems:
        errors[blame] = problems
    clean["is_active"] = _flag(merged["is_active"], "is_active", errors)
    if errors:
        raise ValidationError(errors)
    return clean


def check_pair_modifiers(value, every_line: list[str]) -> tuple[list[str], list]:
    """The payer's code pairs (a list of {"code", "billed_with", "modifier"}) checked against
    each other and its every-line modifiers: (the problems in words, the pairs cleaned:
    upper case, as modifiers.CodePair). Each code is a CPT or HCPCS code, the modifier two
    letters or digits; no code with itself, no pair twice (nor both ways round), no
    modifier every line has already, at most MAX_PAIRS pairs, and no line that could need
    more than four modifiers."""
    if value in (None, ""):
        return [], []
    if not isinstance(value, list | tuple):
        return ["Give the code pairs as a list, one pair each: code, billed_with and modifier."], []
    if len(value) > modifiers.MAX_PAIRS:
        return [
            f"Give at most {modifiers.MAX_PAIRS} code pairs for one payer (there are {len(value)}): "
            "enter only the pairs this payer bundles with the codes the practice bills."
        ], []
    problems: list[str] = []
    pairs: list[modifiers.CodePair] = []
    seen: dict[tuple[str, str], modifiers.CodePair] = {}
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict) or set(item) - set(modifiers.KEYS):
            problems.append(f"Pair {number}: give its code, billed_with and modifier.")
            continue
        code, other, modifier = (str(item.get(key) or "").strip().upper() for key in modifiers.KEYS)
        found = modifiers.pair(code, other, modifier)
        if not code or not other:
            problems.append(f"Pair {number}: give both codes, e.g. 97140 with 97530: 59.")
            continue
        wrong = [c for c in (code, other) if not (c.isascii() and CODE_PATTERN.match(c))]
        if wrong:
            what = "is not a procedure code" if len(wrong) == 1 else "are not procedure codes"
            problems.append(
                f"“{found}”: {' and '.join(wrong)} {what}. A CPT code is five digits (97140); a HCPCS code "
                "a letter and four digits (G0283)."
            )
            continue
        if not modifiers.MODIFIER.fullmatch(modifier):
            problems.append(f"“{found}”: the modifier is {MODIFIER_WORDS}.")
            continue
        if code == other:
            problems.append(
                f"“{found}”: a code can't be paired with itself. A code billed twice the same day takes another "
                "modifier (76, or one of the payer's), not a code pair."
            )
            continue
        if (code, other) in seen:
            problems.append(f"“{found}”: {code} with {other} is listed twice; keep one.")
            continue
        if (other, code) in seen:
            problems.append(
                f"“{found}” and “{seen[(other, code)]}” can't both be listed: the modifier goes on one code "
                "of a pair (the column-two code of the payer's edit). Keep the one the payer publishes."
            )
            continue
        if modifier in every_line:
            problems.append(
                f"“{found}”: {modifier} is already on every line of this payer's claims. "
                f"Take {modifier} off the every-line modifiers (it belongs on the pair's code only) "
                "or remove this pair."
            )
            continue
        seen[(code, other)] = found
        pairs.append(found)
    if not problems:
        for code, most in modifiers.most_on_a_line(every_line, pairs).items():
            if len(most) > modifiers.MAX_PER_LINE:
                problems.append(
                    f"A line of {code} could need {len(most)} modifiers ({' '.join(most)}) when the codes of its pairs "
                    f"are billed the same day, and box 24D holds {modifiers.MAX_PER_LINE}. "
                    "Remove a pair of it or an every-line modifier."
                )
    return problems, pairs


def do_save_payer(actor, clean: dict, payer: Payer | None = None, *, expected_version=None) -> Payer:
    """Create a payer (``payer`` None) or update ``payer`` from ``clean``, the dict
    check_save_payer() returned (call it first). Locks, saves and audits in one transaction
    (core.resources.save_record); a name taken meanwhile raises ValidationError on ``name``,
    a version other than ``expected_version`` StaleVersion. Returns the saved payer."""
    message = {"name": "There is already a payer with this name."}
    return _save(actor, Payer, payer, clean, "payer", unique_message=message, expected_version=expected_version)


# Fee schedule -------------------------------------------------------------------------------------

FEE_FIELDS = ("code", "service", "minutes", "payer", "amount")


def list_fees(user, *, payer_id=None):
    """Every fee entry with its code, service and payer loaded: standard prices first."""
    authorize(user, VIEW)
    found = FeeScheduleEntry.objects.select_related("code", "service", "payer").order_by(
        F("payer__name").asc(nulls_first=True),
        "payer_id",
        "code__code",
        "service__name",
        F("minutes").asc(nulls_first=True),
        "id",
    )
    if payer_id is not None:
        found = found.filter(payer__public_id=as_uuid(payer_id, "payer"))
    return found


def get_fee(user, fee_id, key: str = VIEW) -> FeeScheduleEntry:
    authorize(user, key, record_id=fee_id)
    return get_record(FeeScheduleEntry, fee_id, "fee", select=("code", "service", "payer"))


def check_save_fee(actor, data: dict, fee: FeeScheduleEntry | None = None) -> dict:
    """A price for a code (per unit) or for a service (per visit), either the practice's
    standard price (no payer) or what one payer pays. A service's price may be for one of its
    visit lengths (``minutes``) or for any length. One price per code (or service and length)
    per payer: a second is refused with a pointer to the first."""
    authorize(actor, MANAGE, record_id=fee.public_id if fee else "")
    merged = merge_fields(fee, FEE_FIELDS, dict.fromkeys(FEE_FIELDS), data)
    errors: dict[str, str] = {}
    code = _ref(ProcedureCode, merged["code"], "code", errors, "procedure code", required=False,
                active=fee is None or merged["code"] != fee.code)  # fmt: skip
    service = _ref(Service, merged["service"], "service", errors, "service", required=False,
                   active=fee is None or merged["service"] != fee.service)  # fmt: skip
    payer = _ref(Payer, merged["payer"], "payer", errors, "payer", required=False,
                 active=fee is None or merged["payer"] != fee.payer)  # fmt: skip
    amount = parse_amount(merged["amount"], "amount", errors, empty_message=FEE_EMPTY)
    minutes = None
    if merged["minutes"] not in (None, ""):
        minutes = _whole(merged["minutes"], "minutes", errors, 1, 32767, "Give the visit length in minutes, e.g. 30.")
    if "code" not in errors and "service" not in errors:
        if code is None and service is None:
            errors["code"] = "Choose a procedure code (a price per unit) or a service (a price per visit)."
        elif code is not None and service is not None:
            errors["service"] = "A fee is for a code or for a service, not both: leave one empty."
        elif code is not None and minutes is not None:
            errors["minutes"] = "A code's price is per unit, whatever the visit's length: leave the length empty."
        elif minutes is not None and (fee is None or (minutes, service) != (fee.minutes, fee.service)):
            offered = [length for length in service.durations if isinstance(length, int)]
            if minutes not in offered:
                lengths = ", ".join(str(length) for length in offered) or "no lengths yet"
                errors["minutes"] = f"{service.name} is booked for {lengths} minutes; price one of those lengths."
    if not errors:
        twin = FeeScheduleEntry.objects.filter(payer=payer, code=code, service=service, minutes=minutes)
        if fee is not None:
            twin = twin.exclude(pk=fee.pk)
        if twin.exists():
            what = code.code if code else service.name + (f" ({minutes} minutes)" if minutes else "")
            whose = payer.name if payer else "the standard price"
            errors["amount"] = f"{what} already has a fee for {whose}; change that one instead."
    if errors:
        raise ValidationError(errors)
    return {
        "code": code, "service": service, "minutes": minutes, "payer": payer, "amount": amount,
        "currency": settings.EFFLEURA_CURRENCY,
    }  # fmt: skip


def do_save_fee(actor, clean: dict, fee: FeeScheduleEntry | None = None, *, expected_version=None) -> FeeScheduleEntry:
    """Create a fee (``fee`` None) or update ``fee`` from ``clean``, the dict check_save_fee()
    returned (call it first). Locks, saves and audits in one transaction
    (core.resources.save_record); a second price for the same thing added meanwhile raises
    ValidationError on ``amount``, a version other than ``expected_version`` StaleVersion.
    Returns the saved fee."""
    return _save(
        actor, FeeScheduleEntry, fee, clean, "fee",
        unique_message={"amount": "There is already a fee for this; change that one instead."},
        expected_version=expected_version,
    )  # fmt: skip


def check_delete_fee(actor, fee: FeeScheduleEntry) -> None:
    """Removing a price: charges already made keep theirs; new ones fall back (a payer's
    price to the standard price; a service's visit price to the per-code prices)."""
    authorize(actor, MANAGE, record_id=fee.public_id)


def do_delete_fee(actor, fee: FeeScheduleEntry, *, expected_version=None) -> None:
    """Delete ``fee`` once check_delete_fee() allowed it: locks its row, deletes it and audits
    "fee removed" in one transaction (core.resources.delete_record); StaleVersion when the fee
    was saved since ``expected_version``. Returns None."""
    delete_record(actor, fee, RECORD_TYPE, detail="fee removed", expected_version=expected_version)


def fee_label(fee: FeeScheduleEntry) -> str:
    if fee.code_id:
        what = f"{fee.code.code} per unit"
    else:
        what = f"{fee.service.name} per {fee.minutes}-minute visit" if fee.minutes else f"{fee.service.name} per visit"
    return f"{what}, {fee.payer.name if fee.payer_id else 'standard'}: {fee.amount} {fee.currency}"


# Package plans ------------------------------------------------------------------------------------

PLAN_FIELDS = ("name", "sessions", "price", "valid_days", "service", "is_active")
PLAN_DEFAULTS = {"name": "", "sessions": None, "price": None, "valid_days": 365, "service": None, "is_active": True}


def list_plans(user, *, include_inactive: bool = True):
    authorize(user, VIEW)
    found = PackagePlan.objects.select_related("service").order_by("-is_active", "name", "id")
    return found if include_inactive else found.filter(is_active=True)


def get_plan(user, plan_id, key: str = VIEW) -> PackagePlan:
    authorize(user, key, record_id=plan_id)
    return get_record(PackagePlan, plan_id, "package plan", select=("service",))


def check_save_plan(actor, data: dict, plan: PackagePlan | None = None) -> dict:
    """A package the practice sells: N sessions for a price, valid so many days from the
    purchase, for one service or any. Packages already sold keep their own terms."""
    authorize(actor, MANAGE, record_id=plan.public_id if plan else "")
    merged = merge_fields(plan, PLAN_FIELDS, PLAN_DEFAULTS, data)
    errors: dict[str, str] = {}
    name = clean_text(
        merged["name"], "name", errors, limit=max_length(PackagePlan, "name"), one_line=True,
        required="Name the package, e.g. “10 × 60-minute massage”.",
    )  # fmt: skip
    sessions = _whole(
        merged["sessions"], "sessions", errors, 1, MAX_PACKAGE_SESSIONS,
        f"Give the number of sessions, from 1 to {MAX_PACKAGE_SESSIONS}.",
    )  # fmt: skip
    price = parse_amount(merged["price"], "price", errors, empty_message=FEE_EMPTY)
    valid_days = _whole(
        merged["valid_days"], "valid_days", errors, 1, MAX_VALID_DAYS,
        f"Give how many days it stays valid after purchase, from 1 to {MAX_VALID_DAYS} (five years).",
    )  # fmt: skip
    service = _ref(Service, merged["service"], "service", errors, "service", required=False,
                   active=plan is None or merged["service"] != plan.service)  # fmt: skip
    is_active = _flag(merged["is_active"], "is_active", errors)
    if errors:
        raise ValidationError(errors)
    return {
        "name": name, "sessions": sessions, "price": price, "valid_days": valid_days, "service": service,
        "is_active": is_active, "currency": settings.EFFLEURA_CURRENCY,
    }  # fmt: skip


def do_save_plan(actor, clean: dict, plan: PackagePlan | None = None, *, expected_version=None) -> PackagePlan:
    """Create a package plan (``plan`` None) or update ``plan`` from ``clean``, the dict
    check_save_plan() returned (call it first). Locks, saves and audits in one transaction
    (core.resources.save_record); a version other than ``expected_version`` raises
    StaleVersion. Returns the saved plan; packages already sold keep theirs."""
    return _save(actor, PackagePlan, plan, clean, "package plan", expected_version=expected_version)


def per_session(plan: PackagePlan) -> Decimal:
    """What one session of the plan costs, to the cent (for comparing with the visit price)."""
    return (plan.price / plan.sessions).quantize(CENT, rounding=ROUND_HALF_UP)
