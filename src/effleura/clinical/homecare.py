"""Home care: a per-episode plan assembled from the self-care library (clinical/knowledge/
selfcare.yaml), with this patient's dosage and notes and a short introduction, shown on
the episode and printed as a plain-language PDF handout (documents/pdf.py).

The plan is saved whole: check_save_homecare() validates and authorizes the introduction
and the ordered items; do_save_homecare() replaces the plan inside a transaction with its
audit event. Adding, removing and reordering on the page are edits of that whole list, so
there is one write path for the page and the API. Printing the handout is audited as a
print (permission clinical.print).

Each item checks itself against the client's current health history (check_item, pure):
an item that works a region the history says to avoid, or that a screening rule naming
what the item is screened as rules out (Raynaud's and cold at home, varicose veins and
self-massage with a ball), needs the therapist's reason, kept with the item and audited as
an override, as a note's techniques do; a precaution is a warning beside the item.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from effleura.clinical import knowledge
from effleura.clinical.client_screening import screening_for
from effleura.clinical.episodes import require_open
from effleura.clinical.knowledge_records import SelfCareItem
from effleura.clinical.models import Episode, HomeCareItem, HomeCarePlan
from effleura.clinical.note_rules import Screening, condition_label
from effleura.core import audit, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.values import clean_text, reject_unknown
from effleura.patients.choices import BodyRegion

RECORD_TYPE = "home_care_plan"
INTRODUCTION_MAX = 2000
MAX_ITEMS = 20  # a handout a person will follow, not a library
DOSAGE_MAX = HomeCareItem._meta.get_field("dosage").max_length
NOTES_MAX = HomeCareItem._meta.get_field("notes").max_length
REASON_MAX = HomeCareItem._meta.get_field("override_reason").max_length
ITEM_FIELDS = {"item", "dosage", "notes", "override_reason"}
RULES_OUT = ("absolute", "local")  # severities that need a reason; a precaution is a warning
# The categories that move, load, press on or warm the regions they name, and so are
# questioned for an area to avoid; breathing, posture and ergonomics advice is not.
ACTS_ON_REGIONS = frozenset({"stretch", "strengthening", "self_massage", "heat_cold"})

CATEGORY_LABELS = {
    "stretch": "Stretches",
    "strengthening": "Strengthening",
    "heat_cold": "Heat and cold",
    "posture": "Posture",
    "ergonomics": "Ergonomics",
    "self_massage": "Self-massage",
    "breathing": "Breathing and relaxation",
}


@dataclass(frozen=True)
class PlanItem:
    """One item as the page and the handout show it: the library's words with this
    patient's dosage (when the therapist set one) and notes."""

    key: str
    title: str
    category: str
    steps: tuple[str, ...]
    dosage: str  # the patient's, else the library's
    custom_dosage: str  # what the therapist typed ("" = the library's)
    library_dosage: str
    notes: str
    cautions: tuple[str, ...]
    source: str
    known: bool  # False when the library no longer has the key (shown, not printed blank)
    override_reason: str = ""  # why it was given despite a check (the therapist's words)


@dataclass(frozen=True)
class HomeCare:
    episode: Episode
    plan: HomeCarePlan | None
    items: list[PlanItem]

    @property
    def introduction(self) -> str:
        return self.plan.introduction if self.plan else ""

    @property
    def version(self) -> int:
        """The plan's version; 0 while the episode has none (what a first save is based on)."""
        return self.plan.version if self.plan else 0

    @property
    def is_empty(self) -> bool:
        return not self.items and not self.introduction


def library() -> list[SelfCareItem]:
    return knowledge.selfcare()


def library_by_category() -> list[tuple[str, list[SelfCareItem]]]:
    groups: dict[str, list] = {}
    for item in library():
        groups.setdefault(item.category, []).append(item)
    return [(CATEGORY_LABELS.get(category, category), items) for category, items in groups.items()]


def _plan_item(row: HomeCareItem) -> PlanItem:
    try:
        entry = knowledge.selfcare_item(row.item)
    except KeyError:
        return PlanItem(
            row.item, row.item, "", (), row.dosage, row.dosage, "", row.notes, (), "", False, row.override_reason
        )
    return PlanItem(
        key=entry.key,
        title=entry.title,
        category=entry.category,
        steps=entry.steps,
        dosage=row.dosage or entry.dosage,
        custom_dosage=row.dosage,
        library_dosage=entry.dosage,
        notes=row.notes,
        cautions=entry.cautions,
        source=entry.source,
        known=True,
        override_reason=row.override_reason,
    )


def home_care_of(episode: Episode) -> HomeCare:
    """The plan and its items of an episode the caller already accessed (e.g. the episode
    page, with access_episode): two queries, no audit of its own."""
    plan = HomeCarePlan.objects.filter(episode=episode).select_related("updated_by").first()
    rows = list(plan.items.order_by("position", "id")) if plan else []
    return HomeCare(episode, plan, [_plan_item(row) for row in rows])


# Checking an item against the client (pure) ---------------------------------------------


@dataclass(frozen=True)
class ItemCheck:
    """What the client's health history says about one item: ``needs_reason`` (the words
    asking for the therapist's reason; empty: none needed) and ``warnings`` (precautions)."""

    needs_reason: str
    warnings: tuple[str, ...]


def _rules_naming(entry: SelfCareItem, flags):
    """The flags whose rule names what ``entry`` is screened as (never the "all massage"
    rules: they are about a massage session, not a stretch the client does at home)."""
    return [f for f in flags if f.affects and set(f.affects) & set(entry.screened_as)]


def check_item(entry: SelfCareItem, found: Screening) -> ItemCheck:
    """Does ``entry`` suit the client ``found`` describes (conditions, areas to avoid)?"""
    reasons, warnings = [], []
    avoid = [r for r in entry.regions if r in set(found.avoid_regions)] if entry.category in ACTS_ON_REGIONS else []
    if avoid:
        places = " and ".join(BodyRegion(r).label.lower() for r in avoid)
        which = "an area" if len(avoid) == 1 else "areas"
        reasons.append(f"{entry.title} works the {places}, {which} this client must avoid (health history).")
    for flag in _rules_naming(entry, found.flags):
        label = condition_label(flag.condition)
        if flag.severity in RULES_OUT:
            reasons.append(f"Not for {label}: {flag.action}")
        else:
            warnings.append(f"{label} (precaution): {flag.action}")
    needs = " ".join(reasons)
    if needs:
        needs += " To give it anyway, say why (kept with the plan and in the audit trail)."
    return ItemCheck(needs, tuple(dict.fromkeys(warnings)))


def not_for(entry: SelfCareItem) -> list[str]:
    """The conditions ``entry`` must not be given for (rules naming what it is screened
    as, absolute or local), in words: what the library and the editor show beside it."""
    if not entry.screened_as:
        return []
    found = []
    for info in knowledge.conditions():
        if any(rule.severity in RULES_OUT and set(rule.affects) & set(entry.screened_as) for rule in info.rules):
            found.append(condition_label(info.key))
    return found


# The handout ----------------------------------------------------------------------------


def handout_context(home_care: HomeCare, *, today: datetime.date | None = None) -> dict:
    """What documents/letterhead.html and clinical/homecare_handout.html need. Only the
    home-care content and the patient's preferred name: nothing else of the record."""
    patient = home_care.episode.patient
    return {
        "recipient_name": patient.preferred_name or patient.legal_first_name,
        "document_date": today or timezone.localdate(),
        "introduction": home_care.introduction,
        "items": [item for item in home_care.items if item.known],
    }


def handout_filename(home_care: HomeCare, today: datetime.date | None = None) -> str:
    # No name in the file name: it shows in download lists and browser histories.
    return f"home-care-{(today or timezone.localdate()):%Y-%m-%d}.pdf"


# Writing ------------------------------------------------------------------------------


def check_save_homecare(actor, episode: Episode, data: dict) -> dict:
    """May ``actor`` set ``episode``'s home-care plan to ``data``, and is it sound?

    ``data``: introduction (text, optional) and items, in order: [{"item": library key,
    "dosage": text (blank = the library's), "notes": text, "override_reason": text}]. Each
    library item appears once. An item check_item() questions for this client needs an
    ``override_reason`` (kept; dropped when no check asks for one). Raises ValidationError
    naming the field ("items.2.item", "items.2.override_reason") at fault."""
    authorize(actor, "clinical.write", patient_id=episode.patient.public_id, record_id=episode.public_id)
    reject_unknown(data, {"introduction", "items"})
    require_open(episode, "change its home-care plan")
    errors: dict[str, str] = {}
    introduction = data.get("introduction") or ""
    if not isinstance(introduction, str):
        errors["introduction"] = "Write the introduction as text."
        introduction = ""
    introduction = introduction.strip()
    if len(introduction) > INTRODUCTION_MAX:
        errors["introduction"] = f"Keep the introduction under {INTRODUCTION_MAX} characters."
    items = data.get("items") or []
    if not isinstance(items, list | tuple):
        raise ValidationError({"items": "Give the items as a list."})
    if len(items) > MAX_ITEMS:
        errors["items"] = f"Keep the plan to {MAX_ITEMS} items or fewer: a handout a person will follow."
    known = {entry.key for entry in library()}
    found = screening_for(episode.patient)
    clean_items, seen = [], set()
    for n, raw in enumerate(items):
        field = f"items.{n}"
        if not isinstance(raw, dict) or set(raw) - ITEM_FIELDS:
            errors[field] = "Give each item as {item, dosage, notes}."
            continue
        key = raw.get("item")
        dosage = " ".join(str(raw.get("dosage") or "").split())
        notes = " ".join(str(raw.get("notes") or "").split())
        if key not in known:
            errors[f"{field}.item"] = "Choose an item of the self-care library."
            continue
        if key in seen:
            errors[f"{field}.item"] = f"{knowledge.selfcare_item(key).title} is already in the plan."
            continue
        seen.add(key)
        if len(dosage) > DOSAGE_MAX:
            errors[f"{field}.dosage"] = f"Keep the dosage under {DOSAGE_MAX} characters."
        if len(notes) > NOTES_MAX:
            errors[f"{field}.notes"] = f"Keep the notes under {NOTES_MAX} characters."
        reason = clean_text(
            raw.get("override_reason"), f"{field}.override_reason", errors, limit=REASON_MAX, one_line=True
        )
        check = check_item(knowledge.selfcare_item(key), found)
        if not check.needs_reason:
            reason = ""
        elif not reason:
            errors.setdefault(f"{field}.override_reason", check.needs_reason)
        clean_items.append({"item": key, "dosage": dosage, "notes": notes, "override_reason": reason})
    if errors:
        raise ValidationError(errors)
    return {"introduction": introduction, "items": clean_items}


def do_save_homecare(actor, episode: Episode, clean: dict, *, expected_version=None) -> HomeCarePlan:
    """Replace the episode's plan with ``clean`` (from check_save_homecare). ``expected_version``
    is the plan's version the editor loaded (0: there was no plan yet); a plan saved since
    is not overwritten (versions.StaleVersion, nothing saved). None skips the check."""
    with transaction.atomic():
        # Lock the episode so two saves of the same plan queue instead of both creating it.
        Episode.objects.select_for_update().filter(pk=episode.pk).first()
        plan = HomeCarePlan.objects.filter(episode=episode).first()
        given_before = (
            set(plan.items.exclude(override_reason="").values_list("item", "override_reason")) if plan else set()
        )
        created = plan is None
        if created:
            if expected_version not in (None, 0, versions.ANY):
                raise ValidationError("This home-care plan does not exist yet: reload the page.")
            plan = HomeCarePlan(episode=episode)
        else:
            versions.check_version(plan, expected_version, "home-care plan")
            versions.bump(plan)
        plan.introduction = clean["introduction"]
        plan.updated_at = timezone.now()
        plan.updated_by = actor
        plan.save()
        plan.items.all().delete()
        HomeCareItem.objects.bulk_create(
            HomeCareItem(
                plan=plan,
                item=row["item"],
                dosage=row["dosage"],
                notes=row["notes"],
                override_reason=row.get("override_reason", ""),
                position=n,
            )
            for n, row in enumerate(clean["items"])
        )
        audit.record(
            actor,
            AuditAction.CREATE if created else AuditAction.UPDATE,
            RECORD_TYPE,
            record_id=plan.public_id,
            patient_id=episode.patient.public_id,
            detail=f"home-care plan saved, {len(clean['items'])} item(s)",
        )
        overridden = {(row["item"], row["override_reason"]) for row in clean["items"] if row.get("override_reason")}
        for _new in overridden - given_before:
            audit.record(
                actor,
                AuditAction.UPDATE,
                RECORD_TYPE,
                record_id=plan.public_id,
                patient_id=episode.patient.public_id,
                # The kind only: which item and why are health details, kept with the item.
                detail="override",
            )
    return plan


def as_data(home_care: HomeCare) -> dict:
    """The plan as check_save_homecare() takes it: the page edits this and saves it back."""
    return {
        "introduction": home_care.introduction,
        "items": [
            {"item": i.key, "dosage": i.custom_dosage, "notes": i.notes, "override_reason": i.override_reason}
            for i in home_care.items
        ],
    }
