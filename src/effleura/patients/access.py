"""The only way a view, API call or task fetches patient data. Each function asks the
permission table (core.access.authorize) and writes the audit event."""

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404

from effleura.core import audit, careteam
from effleura.core.access import allowed, authorize
from effleura.core.choices import AuditAction
from effleura.core.values import as_uuid
from effleura.patients import search, search_index
from effleura.patients.consent import consent_statuses
from effleura.patients.models import ConsentDocument, ConsentDocumentVersion, HealthHistory, Patient, PatientConsent

SEARCH_LIMIT = 20


def access_patient(user, patient_id, *, key: str = "patient.view", audit_it: bool = True) -> Patient:
    """The patient ``patient_id`` if ``user`` may use it under ``key`` (default: read)."""
    patient_id = as_uuid(patient_id, "patient")
    authorize(user, key, patient_id=patient_id, record_id=patient_id)
    patient = Patient.objects.filter(public_id=patient_id).first()
    if patient is None:
        raise Http404("No such patient.")
    if audit_it:
        allowed(user, key, patient_id=patient_id, record_id=patient_id)
    return patient


def access_break_glass_patient(user, patient_id) -> Patient:
    """The patient a therapist limited to their care team asks emergency access to
    (core/careteam.py): needs patient.break_glass; Http404 when there is none. Not a read
    of the record (nothing of it is shown): the grant is what is audited."""
    patient_id = as_uuid(patient_id, "patient")
    authorize(user, "patient.break_glass", record_id=patient_id)
    patient = Patient.objects.filter(public_id=patient_id).only("public_id").first()
    if patient is None:
        raise Http404("No such patient.")
    return patient


def access_patient_search(user, text: str, *, limit: int = SEARCH_LIMIT) -> list[Patient]:
    """Patients matching ``text`` (see patients/search.py), at most ``limit``; two queries
    whatever the number of patients: the search (on indexes: patients/search_index.py)
    and one audit insert."""
    authorize(user, "patient.view")
    terms = search.parse(text)
    if terms.empty:
        return []
    found = Patient.objects.filter(search.to_q(terms), search_index.narrow(terms))
    if careteam.is_limited(user):
        found = found.filter(careteam.team_filter(user))
    found = list(found[:limit])
    audit.record_many(user, AuditAction.READ, "patient", [p.public_id for p in found], detail="search result")
    return found


def _listed_patients(user, status: str):
    authorize(user, "patient.view")
    patients = Patient.objects.all()
    if careteam.is_limited(user):  # only their care team's patients (core/careteam.py)
        patients = patients.filter(careteam.team_filter(user))
    if status:
        patients = patients.filter(status=status)
    return patients


def access_patient_page(user, page_number, *, per_page: int = 50, status: str = ""):
    """One page of the patient list with its exact count (the API's pages); two queries,
    but the count reads every listed patient: the list page uses access_patient_list."""
    page = Paginator(_listed_patients(user, status), per_page).get_page(page_number)
    audit.record_many(user, AuditAction.READ, "patient", [p.public_id for p in page], detail="patient list")
    return page


# The list page counts at most this many patients: past it, "Page 1 of more than 20".
LIST_COUNT_LIMIT = 1000


@dataclass
class PatientListPage:
    """One page of the patient list, with a count bounded by LIST_COUNT_LIMIT."""

    patients: list[Patient]
    number: int
    per_page: int
    counted: int  # at most LIST_COUNT_LIMIT + 1
    has_next: bool

    def __iter__(self):
        return iter(self.patients)

    def __len__(self) -> int:
        return len(self.patients)

    @property
    def exact(self) -> bool:
        return self.counted <= LIST_COUNT_LIMIT

    @property
    def num_pages(self) -> int:
        """Exact when ``exact``; otherwise the pages counted (the list has more)."""
        return max(1, -(-min(self.counted, LIST_COUNT_LIMIT) // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def access_patient_list(user, page_number, *, per_page: int = 50, status: str = "") -> PatientListPage:
    """One page of the patient list in two queries whatever the number of patients: a
    count that stops at LIST_COUNT_LIMIT + 1, and the page (one row more, to know if
    there is a next). A page number past a counted end shows the last page, as Django's
    Paginator.get_page does; past LIST_COUNT_LIMIT any page can be asked for."""
    patients = _listed_patients(user, status)
    counted = patients.order_by()[: LIST_COUNT_LIMIT + 1].count()
    try:
        number = max(1, int(page_number))
    except (TypeError, ValueError):
        number = 1
    if counted <= LIST_COUNT_LIMIT:
        number = min(number, max(1, -(-counted // per_page)))
    start = (number - 1) * per_page
    rows = list(patients[start : start + per_page + 1])
    page = PatientListPage(rows[:per_page], number, per_page, counted, len(rows) > per_page)
    audit.record_many(user, AuditAction.READ, "patient", [p.public_id for p in page], detail="patient list")
    return page


def access_health_history(user, patient_id, version: int | None = None):
    """(patient, the requested or current version or None, the version before it or None)."""
    patient_id = as_uuid(patient_id, "patient")
    authorize(user, "health_history.view", patient_id=patient_id)
    patient = access_patient(user, patient_id, audit_it=False)
    versions = HealthHistory.objects.filter(patient=patient).select_related("recorded_by")
    if version is not None:
        versions = versions.filter(version__lte=version)
    pair = list(versions.order_by("-version")[:2])
    if version is not None and (not pair or pair[0].version != version):
        raise Http404("No such version of the health history.")
    current = pair[0] if pair else None
    previous = pair[1] if len(pair) > 1 else None
    allowed(user, "health_history.view", patient_id=patient_id, record_id=current.public_id if current else "")
    return patient, current, previous


def access_health_history_versions(user, patient_id) -> tuple[Patient, list[HealthHistory]]:
    patient_id = as_uuid(patient_id, "patient")
    authorize(user, "health_history.view", patient_id=patient_id)
    patient = access_patient(user, patient_id, audit_it=False)
    versions = list(HealthHistory.objects.filter(patient=patient).select_related("recorded_by").order_by("-version"))
    allowed(user, "health_history.view", patient_id=patient_id, detail="version list")
    return patient, versions


def current_consent_documents():
    """Active documents with their newest version: two queries."""
    documents = list(
        ConsentDocument.objects.filter(is_active=True).prefetch_related(
            Prefetch("versions", queryset=ConsentDocumentVersion.objects.order_by("-version"))
        )
    )
    latest = {d.id: (d.versions.all()[0] if d.versions.all() else None) for d in documents}
    return documents, latest


def access_consent_statuses(user, patient: Patient):
    """The patient's standing with every active consent document (patient already accessed)."""
    authorize(user, "consent.view", patient_id=patient.public_id)
    documents, latest = current_consent_documents()
    consents = PatientConsent.objects.filter(patient=patient).select_related(
        "document_version", "captured_by", "withdrawn_by"
    )
    allowed(user, "consent.view", patient_id=patient.public_id)
    return consent_statuses(documents, latest, list(consents))


def access_consent(user, patient: Patient, consent_id, *, key: str) -> PatientConsent:
    authorize(user, key, patient_id=patient.public_id, record_id=consent_id)
    consent = (
        PatientConsent.objects.filter(patient=patient, public_id=as_uuid(consent_id, "consent"))
        .select_related("document_version__document")
        .first()
    )
    if consent is None:
        raise Http404("No such consent.")
    return consent


def access_standing_consent(user, patient: Patient, version: ConsentDocumentVersion) -> PatientConsent | None:
    """The patient's standing (not withdrawn) signature on ``version``, or None (patient
    already accessed). Asks consent.view and audits the read when there is one."""
    authorize(user, "consent.view", patient_id=patient.public_id)
    consent = PatientConsent.objects.filter(
        patient=patient, document_version=version, withdrawn_at__isnull=True
    ).first()
    if consent is not None:
        allowed(user, "consent.view", patient_id=patient.public_id, record_id=consent.public_id)
    return consent


def latest_consent_version(document_id) -> ConsentDocumentVersion:
    """The newest version of the consent document ``document_id`` still in use (a consent
    form is the practice's, not patient data); Http404 when there is none."""
    version = (
        ConsentDocumentVersion.objects.filter(
            document__public_id=as_uuid(document_id, "document"), document__is_active=True
        )
        .select_related("document")
        .order_by("-version")
        .first()
    )
    if version is None:
        raise Http404("No such consent document, or it is no longer in use.")
    return version


def access_patient_consents(user, patient_id) -> tuple[Patient, list[PatientConsent]]:
    """(patient, every consent they signed, newest first, withdrawn ones included)."""
    patient_id = as_uuid(patient_id, "patient")
    authorize(user, "consent.view", patient_id=patient_id)
    patient = access_patient(user, patient_id, audit_it=False)
    consents = list(
        PatientConsent.objects.filter(patient=patient).select_related(
            "document_version__document", "captured_by", "withdrawn_by"
        )
    )
    allowed(user, "consent.view", patient_id=patient_id, detail="consent list")
    return patient, consents


def patient_labels(patient_ids) -> dict:
    """Public id -> "Name (chart number)" for the audit trail (core/extension_points.py
    ``patient_labels``): one query, no audit of its own."""
    rows = Patient.objects.filter(public_id__in=set(patient_ids)).only(
        "public_id", "preferred_name", "legal_first_name", "legal_last_name", "chart_number"
    )
    return {p.public_id: str(p) for p in rows}


def find_patients(user, text: str, limit: int) -> list[tuple]:
    """The patients the audit trail's patient filter matches (core/extension_points.py
    ``patient_finder``): the patient search, authorized and audited as it is."""
    return [(p.public_id, str(p)) for p in access_patient_search(user, text, limit=limit)]
