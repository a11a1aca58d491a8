"""A clinician's day on the home page (core/extension_points.py ``home_sections``): today's
visits with the state of each one's note, notes left unsigned for more than a day, and
re-assessments coming due. ``mine``: a therapist's own (visits they give, notes they
wrote, episodes they lead); otherwise the whole practice's, for the owner."""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from effleura.clinical.choices import EpisodeStatus, PlanStatus, RecordStatus
from effleura.clinical.models import SessionNote, TreatmentPlan
from effleura.core import audit, clock
from effleura.core.choices import AuditAction
from effleura.core.extension_points import Section
from effleura.core.permissions import has_permission
from effleura.scheduling import access as scheduling_access
from effleura.scheduling.choices import AppointmentStatus

UNSIGNED_AFTER = datetime.timedelta(hours=24)  # a note still a draft after this is overdue
REASSESS_AHEAD = 7  # days: a re-assessment this close is shown as coming due
LISTED = 10  # the most rows a card lists; it says how many more there are

NO_NOTE_NEEDED = {AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW}


@dataclass(frozen=True)
class Visit:
    """One of today's visits and its note: state "none", "draft" or "signed"."""

    appointment: object
    note_state: str
    note_id: object = None
    needs_note: bool = True


def todays_visits(user, mine: bool) -> Section | None:
    """Today's visits (the therapist's, or every practitioner's), in time order, each with
    its note's state and what to do next (write it, go on with the draft, read it). The
    appointments (scheduling's access, audited as the calendar is), one query for their
    notes."""
    if not (has_permission(user, "schedule.view") and has_permission(user, "clinical.view")):
        return None
    day = clock.today()
    zone = clock.practice_zone()
    start = datetime.datetime.combine(day, datetime.time(0), tzinfo=zone)
    end = start + datetime.timedelta(days=1)
    appointments = scheduling_access.access_appointments(
        user, start, end, practitioner=user if mine else None, holding_only=True
    )
    notes = (
        {
            appointment_id: (status, public_id)
            for appointment_id, status, public_id in SessionNote.objects.filter(
                appointment_id__in=[a.pk for a in appointments]
            ).values_list("appointment_id", "status", "public_id")
        }
        if appointments
        else {}
    )
    visits = []
    for a in appointments:
        a.start_label = f"{clock.local(a.start, a.location):%H:%M}"
        status, note_id = notes.get(a.pk, ("none", None))
        visits.append(Visit(a, status, note_id, needs_note=a.status not in NO_NOTE_NEEDED))
    unsigned = sum(1 for v in visits if v.needs_note and v.note_state != RecordStatus.SIGNED)
    return Section(
        "clinical/home/todays_visits.html",
        {
            "visits": visits,
            "mine": mine,
            "day": day,
            "unsigned": unsigned,
            "can_write": has_permission(user, "clinical.write"),
        },
    )


def unsigned_notes(user, mine: bool) -> Section | None:
    """Drafts started more than a day ago and not signed: the therapist's own (only the
    author may sign a draft), or everyone's for the owner. Two queries (the count and the
    first rows) and one audit insert; None when there are none."""
    if not has_permission(user, "clinical.view"):
        return None
    overdue = SessionNote.objects.filter(status=RecordStatus.DRAFT, created_at__lt=timezone.now() - UNSIGNED_AFTER)
    if mine:
        overdue = overdue.filter(author=user)
    listed = _listed(user, overdue.select_related("episode__patient", "author"), "session_date", "unsigned notes")
    if listed is None:
        return None
    rows, more = listed
    return Section("clinical/home/unsigned_notes.html", {"notes": rows, "more": more, "mine": mine})


def reassessments_due(user, mine: bool) -> Section | None:
    """Active plans of open episodes whose re-assessment date is past or within
    REASSESS_AHEAD days. Two queries and one audit insert; None when none is due."""
    if not has_permission(user, "clinical.view"):
        return None
    today = clock.today()
    due = TreatmentPlan.objects.filter(
        Q(reassess_on__lte=today + datetime.timedelta(days=REASSESS_AHEAD)),
        status=PlanStatus.ACTIVE,
        episode__status=EpisodeStatus.OPEN,
    )
    if mine:
        due = due.filter(episode__therapist=user)
    listed = _listed(
        user, due.select_related("episode__patient", "episode__therapist"), "reassess_on", "re-assessments"
    )
    if listed is None:
        return None
    rows, more = listed
    return Section("clinical/home/reassessments.html", {"plans": rows, "more": more, "today": today, "mine": mine})


def _listed(user, rows, order: str, what: str) -> tuple[list, int] | None:
    """The first LISTED of ``rows`` (notes or plans, each with ``episode.patient``) by
    ``order``, and how many more there are; None when there are none. Two queries (the
    count and the rows) and the audit of the patients shown ("home: <what>")."""
    total = rows.count()
    if not total:
        return None
    shown = list(rows.order_by(order, "id")[:LISTED])
    patients = [row.episode.patient.public_id for row in shown]
    audit.record_many(user, AuditAction.READ, "clinical_record", patients, detail=f"home: {what}")
    return shown, total - len(shown)
