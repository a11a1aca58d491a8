"""Screening flags on calendar entries, for clinicians only (front desk and billing never
see clinical content). Registered in clinical/apps.py (core/extension_points.py calendar_badges)."""

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from effleura.clinical import screening
from effleura.core import audit
from effleura.core.choices import AuditAction
from effleura.core.extension_points import Flag
from effleura.core.permissions import has_permission
from effleura.patients.history import screening_conditions
from effleura.patients.models import HealthHistory


def screening_badges(user, appointments) -> None:
    """One "screening" badge per appointment whose patient's current health history raises
    flags: red when something defers the visit, amber otherwise. Two queries per page."""
    if not has_permission(user, "clinical.view"):
        return
    patient_ids = {a.patient_id for a in appointments}
    # Only each patient's current (newest) version, found through the unique
    # (patient, version) index: a page reads one history per patient, however many
    # versions their record has gathered over the years.
    newest = HealthHistory.objects.filter(patient_id=OuterRef("patient_id")).order_by("-version").values("version")[:1]
    current = {
        history.patient_id: history
        for history in HealthHistory.objects.filter(patient_id__ids_in=patient_ids, version=Subquery(newest))
    }
    today = timezone.localdate()
    badges = {}
    for patient_id, history in current.items():
        flags = screening.screen(screening_conditions(history, today))
        if flags:
            tone = "danger" if any(flag.severity == "absolute" for flag in flags) else "warn"
            badges[patient_id] = Flag("screening", tone, screening.summary(flags))
    if badges:
        shown = {a.patient_id: a.patient.public_id for a in appointments if a.patient_id in badges}
        audit.record_many(user, AuditAction.READ, "health_history", list(shown.values()), detail="calendar screening")
    for appointment in appointments:
        if appointment.patient_id in badges:
            appointment.flags.append(badges[appointment.patient_id])
