"""Note templates: a service's usual start for a session note (its text and technique rows).

Anyone who writes notes may write templates; their techniques are checked like a note's,
without screening (there is no patient yet). Reading them (access_note_templates,
access_note_template) is in clinical/access.py.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from effleura.clinical.models import NoteTemplate
from effleura.clinical.note_rules import (
    TEMPLATE_NAME_MAX,
    TEMPLATE_ROW_FIELDS,
    TEXT_MAX,
    UNSCHEDULED_MAX_MINUTES,
    clean_rows,
)
from effleura.core import audit, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.values import clean_text, parse_uuid, reject_unknown
from effleura.scheduling.models import Service

TEMPLATE_RECORD_TYPE = "note_template"

TEMPLATE_FIELDS = frozenset(
    {"service", "name", "subjective", "objective", "assessment", "plan", "techniques", "is_active"}
)


def templates_for(service: Service | None) -> list[NoteTemplate]:
    """Active templates: the service's when there is one, else all (bedside notes)."""
    found = NoteTemplate.objects.filter(is_active=True).select_related("service")
    if service is not None:
        found = found.filter(service=service)
    return list(found.order_by("service__name", "name"))


def _service(value, errors: dict) -> Service | None:
    if isinstance(value, Service):
        return value
    if value in (None, ""):
        errors["service"] = "Choose the service this template is for."
        return None
    found = Service.objects.filter(public_id=parse_uuid(value)).first() if parse_uuid(value) else None
    if found is None:
        errors["service"] = "Choose one of the practice's services."
    return found


def check_save_template(actor, data: dict, template: NoteTemplate | None = None) -> dict:
    """Validate a note template (new, or a change to ``template``: only the fields sent).
    Its techniques are checked like a note's, without screening (no patient yet)."""
    authorize(actor, "clinical.write", record_id=template.public_id if template else "")
    reject_unknown(data, TEMPLATE_FIELDS)
    errors: dict[str, str] = {}
    clean: dict = {}
    if template is None or "service" in data:
        clean["service"] = _service(data.get("service"), errors)
    if template is None or "name" in data:
        name = clean_text(data.get("name"), "name", errors, limit=TEMPLATE_NAME_MAX, one_line=True)
        if not name and "name" not in errors:
            errors["name"] = "Name the template, e.g. 'Bedside 15 minutes'."
        clean["name"] = name
    for name in ("subjective", "objective", "assessment", "plan"):
        if name in data:
            clean[name] = clean_text(data[name], name, errors, limit=TEXT_MAX)
    if "techniques" in data:
        rows = clean_rows(data["techniques"], errors, fields=TEMPLATE_ROW_FIELDS)
        clean["techniques"] = rows
        total = sum(row["minutes"] or 0 for row in rows)
        if total > UNSCHEDULED_MAX_MINUTES and "techniques" not in errors:
            errors["techniques"] = f"The techniques add up to {total} minutes; keep it to {UNSCHEDULED_MAX_MINUTES}."
    if "is_active" in data:
        clean["is_active"] = bool(data["is_active"])
    service = clean.get("service") or (template.service if template else None)
    name = clean.get("name") or (template.name if template else "")
    if service is not None and name and "name" not in errors:
        clash = NoteTemplate.objects.filter(service=service, name__iexact=name)
        if template is not None:
            clash = clash.exclude(pk=template.pk)
        if clash.exists():
            errors["name"] = "This service already has a template with this name."
    if errors:
        raise ValidationError(errors)
    return clean


def do_save_template(
    actor, clean: dict, template: NoteTemplate | None = None, *, expected_version=None
) -> NoteTemplate:
    """Create a note template (``template`` None) or update ``template`` from ``clean``, the
    dict check_save_template() returned (call it first). In one transaction: locks the row
    when updating and refuses (versions.StaleVersion) one saved since ``expected_version``,
    saves one version more, and audits the creation or the names of the changed fields.
    Returns the template, read again with its service."""
    with transaction.atomic():
        if template is None:
            template = NoteTemplate.objects.create(**clean)
            action, detail = AuditAction.CREATE, "template created"
        else:
            template = NoteTemplate.objects.select_for_update().get(pk=template.pk)
            versions.check_version(template, expected_version, "note template")
            changed = sorted(name for name, value in clean.items() if getattr(template, name) != value)
            for name, value in clean.items():
                setattr(template, name, value)
            versions.bump(template)
            template.save()
            action, detail = AuditAction.UPDATE, "changed: " + (", ".join(changed) or "nothing")
        audit.record(actor, action, TEMPLATE_RECORD_TYPE, record_id=template.public_id, detail=detail[:200])
    return NoteTemplate.objects.select_related("service").get(pk=template.pk)
