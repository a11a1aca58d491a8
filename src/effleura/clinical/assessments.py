"""Assessments, initial and repeat: reading them, and every write to them.

An assessment belongs to an episode of care. It records posture observations, range of
motion per joint and movement (in degrees, beside the normal range), muscle tone and
palpation findings per region, a pain map on the body chart (clinical/bodychart.py),
special tests, functional limitations and the clinical impression. The keys of the
structured rows come from the knowledge base (clinical/knowledge/assessment.yaml, read
through clinical/knowledge.py), so a clinician can review them.

It starts as a draft that only its author edits; signing locks it. A signed assessment
is never changed: findings that change are a re-assessment.

The content rules (knowledge-base options, validation) are clinical/assessment_rules.py;
access_assessment and access_episode_assessments are in clinical/access.py. check_*()
validate and authorize and raise ValidationError in plain clinic words (a dict of field -> message),
do_*() write inside a transaction with their audit event.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from effleura.clinical.assessment_rules import (
    RESULTS,
    SIDE_LABELS,
    below_normal,
    clean_assessment,
    movement_options,
    normal_range,
    posture_options,
    region_label,
    test_options,
    tone_options,
)
from effleura.clinical.choices import AssessmentKind, EpisodeStatus, RecordStatus
from effleura.clinical.models import Assessment, Episode
from effleura.core import audit, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.values import collect_errors

RECORD_TYPE = "assessment"


# Reading --------------------------------------------------------------------------------------


def previous_assessment(assessment: Assessment) -> Assessment | None:
    """The latest signed assessment of the same episode before this one (to compare a
    re-assessment with), or None. One query."""
    earlier = Assessment.objects.filter(episode_id=assessment.episode_id, status=RecordStatus.SIGNED).exclude(
        pk=assessment.pk
    )
    if assessment.pk is not None:
        earlier = earlier.filter(assessed_on__lte=assessment.assessed_on)
    return earlier.order_by("-assessed_on", "-signed_at", "-id").first()


def latest_assessment(episode: Episode) -> Assessment | None:
    """The latest signed assessment of ``episode``; a re-assessment starts from its rows."""
    return (
        Assessment.objects.filter(episode=episode, status=RecordStatus.SIGNED)
        .order_by("-assessed_on", "-signed_at", "-id")
        .first()
    )


# What a page, a note or a PDF shows -----------------------------------------------------------


@dataclass(frozen=True)
class RomRow:
    label: str
    side: str
    degrees: int
    pain: bool
    normal: str  # "70–90°", or "" when the movement is no longer in the knowledge base
    below_normal: bool
    previous: int | None  # the same movement and side at the previous assessment


def rom_rows(rows: list[dict], previous: list[dict] | None = None) -> list[RomRow]:
    options = movement_options()
    before = {(r.get("joint"), r.get("movement"), r.get("side", "")): r.get("degrees") for r in previous or []}
    shown = []
    for row in rows:
        movement = options.get((row.get("joint"), row.get("movement")))
        degrees = row.get("degrees", 0)
        shown.append(
            RomRow(
                label=movement.label if movement else f"{row.get('joint')} {row.get('movement')}",
                side=SIDE_LABELS.get(row.get("side", ""), ""),
                degrees=degrees,
                pain=bool(row.get("pain")),
                normal=normal_range(movement) if movement else "",
                below_normal=bool(movement) and below_normal(movement, degrees),
                previous=before.get((row.get("joint"), row.get("movement"), row.get("side", ""))),
            )
        )
    return shown


def finding_rows(rows: list[dict], field: str) -> list[dict]:
    """Posture, tone or special-test rows with their labels, for reading. A key the
    knowledge base no longer has shows as itself (old records stay readable)."""
    if field == "posture":
        options = posture_options()
        return [
            {**r, "label": _label(options, r.get("finding", "")), "side_label": SIDE_LABELS.get(r.get("side", ""), "")}
            for r in rows
        ]
    if field == "tone":
        options = tone_options()
        return [
            {
                **r,
                "region_label": region_label(r.get("region", "")),
                "label": _label(options, r.get("finding", "")),
                "side_label": SIDE_LABELS.get(r.get("side", ""), ""),
            }
            for r in rows
        ]
    options = test_options()
    return [
        {
            **r,
            "label": _label(options, r.get("test", "")),
            "side_label": SIDE_LABELS.get(r.get("side", ""), ""),
            "result_label": RESULTS.get(r.get("result", ""), ""),
        }
        for r in rows
    ]


def _label(options: dict, key: str) -> str:
    found = options.get(key)
    return found.label if found is not None else str(key)


# Writing ---------------------------------------------------------------------------------------


def _check_kind(episode: Episode, kind: str, exclude: Assessment | None = None) -> None:
    """One initial assessment per episode; every later one is a re-assessment."""
    if kind != AssessmentKind.INITIAL:
        return
    others = Assessment.objects.filter(episode=episode, kind=AssessmentKind.INITIAL)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise ValidationError({"kind": "This episode already has an initial assessment; record a re-assessment."})


def check_create_assessment(actor, episode: Episode, data: dict) -> dict:
    """Validate a new assessment of ``episode`` (already accessed) and authorize it."""
    authorize(actor, "clinical.write", patient_id=episode.patient.public_id, record_id=episode.public_id)
    if episode.status != EpisodeStatus.OPEN:
        raise ValidationError("This episode of care was discharged; open a new episode to assess the patient again.")
    errors: dict[str, str] = {}
    clean = collect_errors(errors, clean_assessment, data, episode, partial=False)
    # A second initial assessment is refused along with the fields' problems, not after them.
    collect_errors(errors, _check_kind, episode, clean["kind"] if clean else str(data.get("kind", "")))
    if errors:
        raise ValidationError(errors)
    return clean


def do_create_assessment(actor, episode: Episode, clean: dict) -> Assessment:
    """Save a draft assessment from check_create_assessment()'s output."""
    with transaction.atomic():
        assessment = Assessment.objects.create(episode=episode, author=actor, status=RecordStatus.DRAFT, **clean)
        audit.record(
            actor,
            AuditAction.CREATE,
            RECORD_TYPE,
            record_id=assessment.public_id,
            patient_id=episode.patient.public_id,
            detail=f"{assessment.kind} assessment, draft",
        )
    return assessment


def _check_draft_of(actor, assessment: Assessment, verb: str) -> None:
    """A signed assessment is locked; a draft is its author's alone (refusal audited)."""
    patient_id = assessment.episode.patient.public_id
    if assessment.status == RecordStatus.SIGNED:
        signed = timezone.localtime(assessment.signed_at).strftime("%Y-%m-%d") if assessment.signed_at else ""
        raise ValidationError(
            f"This assessment was signed{' on ' + signed if signed else ''} and is locked; "
            "record what has changed in a re-assessment."
        )
    if assessment.author_id != actor.pk:
        audit.record(
            actor,
            AuditAction.UPDATE,
            RECORD_TYPE,
            record_id=assessment.public_id,
            patient_id=patient_id,
            outcome=AuditOutcome.DENIED,
            detail=f"{verb}: not the author of the draft",
        )
        raise PermissionDenied(
            f"Only {assessment.author.display_name}, who started this draft, can {verb} it until it is signed."
        )


def check_update_assessment(actor, assessment: Assessment, data: dict) -> dict:
    """Validate a change to a draft (only the fields given) and authorize it."""
    authorize(actor, "clinical.write", patient_id=assessment.episode.patient.public_id, record_id=assessment.public_id)
    _check_draft_of(actor, assessment, "change")
    errors: dict[str, str] = {}
    clean = collect_errors(errors, clean_assessment, data, assessment.episode, partial=True)
    kind = clean.get("kind") if clean else data.get("kind")
    if kind is not None:
        collect_errors(errors, _check_kind, assessment.episode, str(kind), exclude=assessment)
    if errors:
        raise ValidationError(errors)
    return clean


def _locked_draft(actor, assessment: Assessment, verb: str, expected_version=None) -> Assessment:
    """Lock the row and check again: it may have been signed, or saved from another tab
    (versions.StaleVersion unless ``expected_version`` is still its version), since it was read."""
    fresh = Assessment.objects.select_for_update().get(pk=assessment.pk)
    fresh.episode = assessment.episode
    fresh.author = assessment.author
    _check_draft_of(actor, fresh, verb)
    versions.check_version(fresh, expected_version, RECORD_TYPE)
    return fresh


def do_update_assessment(actor, assessment: Assessment, clean: dict, *, expected_version=None) -> Assessment:
    """Apply ``clean``, the dict check_update_assessment() returned (call it first). In one
    transaction: locks the row and checks again that it is still the actor's draft
    (ValidationError once signed, PermissionDenied if not the author) at ``expected_version``
    (versions.StaleVersion when saved since), saves one version more, and audits the names
    of the changed fields (never their values). Returns the locked assessment."""
    with transaction.atomic():
        fresh = _locked_draft(actor, assessment, "change", expected_version)
        changed = sorted(name for name, value in clean.items() if getattr(fresh, name) != value)
        for name, value in clean.items():
            setattr(fresh, name, value)
        versions.bump(fresh)
        fresh.save()
        # Field names only: the values are clinical data and stay out of the audit trail.
        audit.record(
            actor,
            AuditAction.UPDATE,
            RECORD_TYPE,
            record_id=fresh.public_id,
            patient_id=fresh.episode.patient.public_id,
            detail=("changed: " + ", ".join(changed))[:200] if changed else "no change",
        )
    return fresh


def check_sign_assessment(actor, assessment: Assessment) -> None:
    """The author signs their own draft once it states a clinical impression."""
    authorize(actor, "clinical.write", patient_id=assessment.episode.patient.public_id, record_id=assessment.public_id)
    _check_draft_of(actor, assessment, "sign")
    if not assessment.clinical_impression.strip():
        raise ValidationError(
            {"clinical_impression": "Write the clinical impression before signing: it is what the plan builds on."}
        )


def do_sign_assessment(actor, assessment: Assessment, *, expected_version=None) -> Assessment:
    """Sign the draft once check_sign_assessment() allowed it (call it first). In one
    transaction: locks the row and checks again that it is still the actor's draft
    (ValidationError once signed, PermissionDenied if not the author) as the signer read it
    (versions.StaleVersion when saved since ``expected_version``), marks it signed now (one
    version more) and audits "signed". Returns the locked assessment."""
    with transaction.atomic():
        fresh = _locked_draft(actor, assessment, "sign", expected_version)
        fresh.status = RecordStatus.SIGNED
        fresh.signed_at = timezone.now()
        fresh.save(update_fields=["status", "signed_at", "updated_at", *versions.bump(fresh)])
        audit.record(
            actor,
            AuditAction.UPDATE,
            RECORD_TYPE,
            record_id=fresh.public_id,
            patient_id=fresh.episode.patient.public_id,
            detail="signed",
        )
    return fresh
