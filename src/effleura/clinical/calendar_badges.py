"""Screening flags on calendar entries, for clinicians only (front desk and billing never
see clinical content). Registered in clinical/apps.py (core/extension_points.py calendar_badges)."""

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from effleura.clinical import screening
from effleura.clinical.choices import RecordStatus
from effleura.clinical.models import SessionNote
from effleura.core import audit
from effleura.core.choices import AuditAction
from effleura.core.extension_points import Flag
from effleura.core.permissions import has_permission
from effleura.patients.history import screening_conditions
from effleura.patients.models import HealthHistory
from effleura.scheduling.choices import AppointmentStatus


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


NOTE_FLAGS = {
    RecordStatus.SIGNED: Flag("note signed", "ok", "The session note is signed."),
    RecordStatus.DRAFT: Flag("draft note", "warn", "The session note is started but not signed."),
}
NO_NOTE = Flag("no note", "warn", "No session note yet.")
NOTE_NOT_NEEDED = {AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW}


def note_badges(user, appointments) -> None:
    """The state of each visit's session note, for clinicians: "note signed", "draft note",
    or "no note" once the visit has begun (a later visit has none yet, and a cancelled or
    missed one needs none); and ``note_state`` ("signed", "draft" or "") on each. One
    query for the page. Not audited: whether a note exists and
    is signed is the record's state, not its content."""
    if not has_permission(user, "clinical.view"):
        return
    now = timezone.now()
    wanted = [a for a in appointments if a.status not in NOTE_NOT_NEEDED]
    if not wanted:
        return
    states = dict(
        SessionNote.objects.filter(appointment_id__ids_in=[a.pk for a in wanted]).values_list(
            "appointment_id", "status"
        )
    )
    for appointment in wanted:
        state = states.get(appointment.pk)
        # The Today page words its note button by it ("Write note" or "Open note").
        appointment.note_state = state or ""
        if state is not None:
            appointment.flags.append(NOTE_FLAGS[state])
        elif appointment.start <= now:
            appointment.flags.append(NO_NOTE)
