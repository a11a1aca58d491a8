"""Badges on appointments in the calendar, the today list and the appointment page.

Scheduling knows only the consent badge. Apps further down the dependency chain (the
clinical record's screening flags, referrals' authorizations) add theirs to the
``calendar_badges`` extension point (core/extension_points.py, where the contract is), so
scheduling never imports them.
"""

from effleura.core import audit
from effleura.core.choices import AuditAction
from effleura.core.extension_points import Flag, calendar_badges
from effleura.core.permissions import has_permission
from effleura.patients import access as patient_access
from effleura.patients.consent import consent_statuses
from effleura.patients.models import PatientConsent


def apply(user, appointments) -> None:
    """Give every appointment its ``flags`` list from every registered provider."""
    appointments = list(appointments)
    for appointment in appointments:
        appointment.flags = []
    if not appointments:
        return
    calendar_badges.call_all(user, appointments)


def consent_badges(user, appointments) -> None:
    """Put a "consent" flag on each appointment whose patient has not signed the current
    version of a required consent document. Three queries and one audit insert for the
    whole page, whatever the number of appointments."""
    patients = {a.patient_id: a.patient for a in appointments}
    if not patients or not has_permission(user, "consent.view"):
        return
    documents, latest = patient_access.current_consent_documents()
    required = [d for d in documents if d.required]
    if not required:
        return
    by_patient: dict = {pid: [] for pid in patients}
    consents = PatientConsent.objects.filter(patient_id__ids_in=list(patients), document_version__document__in=required)
    for consent in consents.select_related("document_version"):
        by_patient[consent.patient_id].append(consent)
    missing = {}
    for pid, consents_of_patient in by_patient.items():
        lacking = [s for s in consent_statuses(required, latest, consents_of_patient) if s.needs_attention]
        if lacking:
            missing[pid] = Flag(
                "consent",
                "danger",
                "; ".join(f"{s.document.title}: {s.state_label}" for s in lacking),
            )
    audit.record_many(
        user, AuditAction.READ, "consent", [p.public_id for p in patients.values()], detail="calendar consent badges"
    )
    for appointment in appointments:
        if appointment.patient_id in missing:
            appointment.flags.append(missing[appointment.patient_id])
