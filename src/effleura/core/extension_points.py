"""Every extension point of Effleura, each with its contract (core/extensions.py).

An app upstream (patients, scheduling, clinical) calls a point; apps further down the
dependency chain (clinical, referrals, billing) register providers in their
AppConfig.ready(), so the upstream app never imports them. A provider that reads patient
data asks the permission table itself (core/permissions.py) and writes the audit event for
what it read, and keeps to a fixed number of queries whatever the page shows: a page
calls the point once, for all its rows.

The small value types a provider answers with live here too, so a provider needs only
core to speak the contract.
"""

from dataclasses import dataclass, field

from effleura.core.extensions import ExtensionPoint

# Patient chart -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A card on the patient chart's overview."""

    template: str  # rendered with `section` in its context
    data: dict = field(default_factory=dict)


chart_sections = ExtensionPoint(
    "chart_sections",
    """Cards that apps further down the chain add to the patient chart's overview
    (referrals' authorizations, billing's account).

    Called by patients/views.py once per chart view: ``chart_sections.collect(user, patient)``.
    A provider returns a Section to show, or None (nothing to show, or the user's role may
    not see it). It asks the permission table, audits what it reads against the patient,
    and does a fixed number of queries.""",
)


# The home page ----------------------------------------------------------------------------------


home_sections = ExtensionPoint(
    "home_sections",
    """Cards of a clinician's day on the home page: today's visits and their notes, notes
    left unsigned, re-assessments due (clinical); progress reports due to referrers and
    authorizations running out (referrals).

    Called by core/views.py home once per view: ``home_sections.collect(user, mine)``;
    ``mine`` is true for a therapist (their own patients and visits), false for an owner
    (the whole practice). A provider returns a Section, or None (nothing due, or the role
    may not see it). It asks the permission table, audits the patients it shows, and does
    a fixed number of queries whatever the practice's size.""",
)


# Calendar badges -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """A badge on an appointment (scheduling/includes/appointment_badges.html)."""

    label: str
    tone: str = "warn"  # "", "ok", "warn" or "danger" (core CSS badge classes)
    title: str = ""


calendar_badges = ExtensionPoint(
    "calendar_badges",
    """Badges on appointments in the calendar, the today list and the appointment page
    (scheduling's consent badge, clinical screening flags, referral authorizations).

    Called by scheduling/badges.py apply(): ``calendar_badges.call_all(user, appointments)``,
    once per page, with a non-empty list of appointments whose ``flags`` list is already
    there. A provider appends Flag objects to ``appointment.flags`` and returns nothing. It
    asks the permission table (a role that may not see the fact gets no badge), does a
    fixed number of queries whatever the number of appointments, and audits what it read
    (one audit insert for the page).""",
)


# Booking warnings ----------------------------------------------------------------------------


booking_warnings = ExtensionPoint(
    "booking_warnings",
    """Things the person booking must confirm before a visit is booked (a referral with
    no visits left, or expired).

    Called by scheduling's check_book(): ``booking_warnings.collect(patient, start, tz=tz)``
    (``start`` an aware datetime, ``tz`` the location's zone for the local date). A
    provider returns a list of warnings in plain words (empty when it has nothing to say),
    never naming another patient; it does a fixed number of queries and no writes. When
    any provider warns, check_book() raises scheduling's NeedsConfirmation unless the
    caller passed ``confirm_warnings=True``: the booking page asks "Book anyway", the API
    answers 409 with the warnings.""",
)


# Undoing a visit's status -------------------------------------------------------------------


status_undo_guards = ExtensionPoint(
    "status_undo_guards",
    """Reasons an appointment's last status change may not be undone (a signed session note
    says the session took place, so its "completed" stands).

    Called by scheduling's check_undo_status() and do_undo_status() (under the row lock),
    and by status_actions.actions_now() for the appointment page, which shows Undo only
    when nothing refuses: ``status_undo_guards.collect(appointment, change)``, ``change``
    the AppointmentChange to undo. A provider returns a refusal in plain words, or None;
    one query at most, no writes, never naming another patient.""",
)


# Signing a session note ----------------------------------------------------------------------


note_signed = ExtensionPoint(
    "note_signed",
    """What follows elsewhere when a session note is signed (billing makes the visit's
    charge from the note's technique minutes).

    Called by clinical/notes.py do_sign_note() inside its transaction, after the note is
    signed: ``note_signed.call_all(actor, note, now=now)``, so the signature and what
    follows from it are saved together or not at all. A hook does its own authorization
    and auditing, and raises ValidationError to refuse the signature (which then rolls
    back).""",
)


# The patient behind a URL --------------------------------------------------------------------


@dataclass(frozen=True)
class PatientUrl:
    """The resolver for one URL parameter: ``model``'s row with that ``public_id``, and the
    patient's public id found along ``path``. A value, so registering the same one again
    (ready() run twice) adds nothing. One query, only when the URL has the parameter."""

    kwarg: str
    model: type
    path: str = "patient__public_id"

    def __call__(self, view_kwargs: dict):
        value = view_kwargs.get(self.kwarg)
        if value is None:
            return None
        return self.model.objects.filter(public_id=value).values_list(self.path, flat=True).first()


patient_urls = ExtensionPoint(
    "patient_urls",
    """Who is the patient behind a URL, so that a refusal at an episode's, a note's or an
    invoice's URL is audited against the patient.

    Called by core/middleware.py PermissionMiddleware when it refuses a request whose URL
    has no ``patient_id``: ``patient_urls.first(view_kwargs)``. A provider returns the
    patient's public id, or None when the URL is not its own (or names no such record). Use
    PatientUrl(kwarg, model, path) rather than a hand-written function: one query, only
    for the URL parameter it knows, no permission check (it audits a refusal, it shows
    nothing).""",
)


def register_patient_url(kwarg: str, model, path: str = "patient__public_id") -> None:
    """Register PatientUrl(kwarg, model, path): the one way to fill ``patient_urls``."""
    patient_urls.register(PatientUrl(kwarg, model, path))


# Care-team access (core/careteam.py) ------------------------------------------------------------


care_team = ExtensionPoint(
    "care_team",
    """The patients a therapist is on the care team of, for the practice setting that
    limits therapists to them (Practice.care_team_only; docs/security.md "Care-team access").

    Called by core/careteam.py: ``care_team.collect(user)``. A provider returns a queryset
    of patient public ids (``values_list("patient__public_id", flat=True)``) the user is
    linked to by its app's records (scheduling: appointments with them, not cancelled;
    clinical: episodes with them as therapist), or None. The querysets are used as
    subqueries: no query runs until core/careteam.py filters them. No permission check,
    no audit: it decides access, it shows nothing.""",
)


# The audit trail's patients (core/views.py audit_list, audit_export) ------------------------


patient_labels = ExtensionPoint(
    "patient_labels",
    """The names the audit trail shows for the patients its entries name.

    Called by core/views.py (the audit page and its CSV) only for a user whose role may see
    patients' names (``patient.view``): ``patient_labels.first(patient_ids)``. A provider
    returns a dict of public id to "Name (chart number)" for the ids that are its patients;
    one query for all of them. No permission check, no audit of its own: the reading of the
    audit trail is what is audited (core/access.py).""",
)

patient_finder = ExtensionPoint(
    "patient_finder",
    """The patients a name typed into the audit trail's patient filter matches.

    Called by core/views.py: ``patient_finder.first(user, text, limit)``. A provider returns
    a list of (public id, "Name (chart number)") of at most ``limit`` patients, found the
    way the patient search finds them, asking ``patient.view`` and auditing the search
    results as that search does; [] when none match. At most two queries.""",
)
