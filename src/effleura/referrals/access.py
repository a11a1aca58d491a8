"""The only way a view, API call or task reads providers and referrals. Each function asks
the permission table (core.access.authorize) and writes the audit event; every list is a
bounded number of queries whatever its length."""

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404

from effleura.clinical.models import Episode
from effleura.core import audit, careteam
from effleura.core.access import access_one, allowed, authorize
from effleura.core.choices import AuditAction
from effleura.core.permissions import has_permission
from effleura.core.text import printable
from effleura.core.values import as_uuid
from effleura.patients.access import access_patient
from effleura.patients.models import Patient
from effleura.referrals.choices import ReportStatus
from effleura.referrals.models import EarlierScan, Referral, ReferringProvider, Report

SEARCH_LIMIT = 20
PROVIDER_PAGE = 200
PATIENTS_LIMIT = 200


# Providers ------------------------------------------------------------------------------


def provider_filter(text: str) -> Q:
    """Every word must match a name or the practice; digits also match the NPI's start."""
    q = Q()
    for word in text.split()[:6]:
        part = Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(practice_name__icontains=word)
        if word.isdigit():
            part |= Q(npi__startswith=word)
        q &= part
    return q


def access_providers(
    user, text: str = "", *, include_inactive: bool = False, limit: int = PROVIDER_PAGE
) -> list[ReferringProvider]:
    """Providers matching ``text`` (names, practice, NPI), at most ``limit``: one query."""
    authorize(user, "provider.view")
    providers = ReferringProvider.objects.all()
    if not include_inactive:
        providers = providers.filter(is_active=True)
    text = printable(text).strip()[:100]
    if text:
        providers = providers.filter(provider_filter(text))
    return list(providers[:limit])


def access_provider(user, provider_id, *, key: str = "provider.view") -> ReferringProvider:
    provider_id = as_uuid(provider_id, "provider")
    authorize(user, key, record_id=provider_id)
    provider = ReferringProvider.objects.filter(public_id=provider_id).first()
    if provider is None:
        raise Http404("No such provider.")
    return provider


def access_provider_referrals(user, provider: ReferringProvider, *, limit: int = PATIENTS_LIMIT) -> list[Referral]:
    """The provider's referrals, newest first, each with its patient: two queries (the list
    and one audit insert per patient shown, in bulk)."""
    authorize(user, "referral.view", record_id=provider.public_id)
    referrals = careteam.only_team(user, Referral.objects.filter(provider=provider))  # core/careteam.py
    referrals = list(referrals.select_related("patient")[:limit])
    patient_ids = list(dict.fromkeys(r.patient.public_id for r in referrals))
    audit.record_many(user, AuditAction.READ, "referral", patient_ids, detail="provider's referred patients")
    return referrals


# Referrals -------------------------------------------------------------------------------


def access_patient_referrals(user, patient_id) -> tuple:
    """(patient, their referrals newest first with provider and episode): bounded queries."""
    patient_id = as_uuid(patient_id, "patient")
    authorize(user, "referral.view", patient_id=patient_id, record_id=patient_id)
    patient = access_patient(user, patient_id, audit_it=False)
    referrals = list(Referral.objects.filter(patient=patient).select_related("provider", "episode"))
    allowed(user, "referral.view", patient_id=patient.public_id, record_id=patient.public_id, detail="referral list")
    return patient, referrals


def access_referral(
    user, referral_id, *, key: str = "referral.view", audit_it: bool = True, detail: str = ""
) -> Referral:
    """The referral ``referral_id`` with its patient, provider and episode, if ``user`` may use it."""
    rows = Referral.objects.select_related("patient", "provider", "episode")
    return access_one(
        user, key, rows, referral_id, "referral", patient_of=lambda r: r.patient, audit_it=audit_it, detail=detail
    )


def access_referral_original(user, referral_id) -> Referral:
    """The referral whose scanned original is about to be served (audited as a READ of it)."""
    referral = access_referral(user, referral_id, audit_it=False)
    if not referral.original:
        raise Http404("This referral has no scanned original.")
    allowed(
        user,
        "referral.view",
        patient_id=referral.patient.public_id,
        record_id=referral.public_id,
        detail="original viewed",
    )
    return referral


def access_earlier_scans(user, referral: Referral) -> list[EarlierScan]:
    """The earlier versions of ``referral``'s scan (replaced or removed), newest first, for
    the referral's page: one query; the page's read of the referral is its audit event."""
    authorize(user, "referral.view", patient_id=referral.patient.public_id, record_id=referral.public_id)
    return list(referral.earlier_scans.select_related("superseded_by"))


def access_earlier_scan(user, referral_id, scan_id) -> EarlierScan:
    """An earlier version of a referral's scan about to be served (audited as a READ of the
    referral, "earlier original viewed"); Http404 unless it belongs to that referral."""
    referral = access_referral(user, referral_id, audit_it=False)
    scan = referral.earlier_scans.filter(public_id=as_uuid(scan_id, "scan")).first()
    if scan is None:
        raise Http404("No such earlier scan.")
    scan.referral = referral
    allowed(
        user,
        "referral.view",
        patient_id=referral.patient.public_id,
        record_id=referral.public_id,
        detail="earlier original viewed",
    )
    return scan


def patient_episodes(user, patient) -> list:
    """The patient's episodes to link a referral to; only for those who may see the clinical
    record (episode titles are clinical). One query."""
    if not has_permission(user, "clinical.view"):
        return []
    return list(patient.episodes.order_by("-opened_on", "-id"))


# Reports back to the provider and the permission form ---------------------------------------


def referrals_of(patient) -> list[Referral]:
    """The patient's referrals with their providers, to choose the one a report answers (the
    patient already accessed, e.g. through access_episode_for_reports, which audited it):
    one query."""
    return list(Referral.objects.select_related("provider").filter(patient=patient))


def episode_choices(episodes: list):
    """The episodes read by patient_episodes (which asked for clinical.view), as a queryset
    a form's choice field validates against; it queries only when the form is used."""
    return episodes[0].patient.episodes.filter(pk__in=[e.pk for e in episodes])


def access_permission_form(user, patient_id=None):
    """The patient the blank referral / permission form (referrals/forms_pdf.py) is printed
    for (None for a blank form) if ``user`` may print it; the print is audited as PRINT,
    naming the patient when there is one."""
    pid = as_uuid(patient_id, "patient") if patient_id not in (None, "") else None
    if pid is None:
        authorize(user, "referral.view", record_id="")
        patient = None
    else:
        patient = access_patient(user, pid, key="referral.view", audit_it=False)
    audit.record(
        user, AuditAction.PRINT, "referral_form", record_id=pid or "", patient_id=pid, detail="permission form"
    )
    return patient


# Reports --------------------------------------------------------------------------------


def report_query():
    """Reports with what their pages show: episode, patient, therapist, provider, author, deliveries."""
    return Report.objects.select_related(
        "episode__patient", "episode__therapist", "referral__provider", "author"
    ).prefetch_related("deliveries__by")


def access_report(user, report_id, *, key: str = "report.view") -> Report:
    """The report ``report_id`` if ``user`` may use it under ``key``. A refused user learns
    nothing (refused before the look-up says whether it exists)."""
    report_id = as_uuid(report_id, "report")
    report = report_query().filter(public_id=report_id).first()
    authorize(user, key, patient_id=report.episode.patient.public_id if report else None, record_id=report_id)
    if report is None:
        raise Http404("No such report.")
    allowed(user, key, patient_id=report.episode.patient.public_id, record_id=report_id)
    return report


def access_episode_for_reports(user, episode_id, *, key: str = "report.view") -> Episode:
    """The episode ``episode_id`` for its reports (audited under ``key``)."""
    episode_id = as_uuid(episode_id, "episode")
    episode = Episode.objects.select_related("patient", "therapist").filter(public_id=episode_id).first()
    authorize(user, key, patient_id=episode.patient.public_id if episode else None, record_id=episode_id)
    if episode is None:
        raise Http404("No such episode.")
    allowed(user, key, patient_id=episode.patient.public_id, record_id=episode_id, detail=f"{key} (episode)")
    return episode


def access_patient_for_reports(user, patient_id) -> Patient:
    patient_id = as_uuid(patient_id, "patient")
    authorize(user, "report.view", patient_id=patient_id, record_id=patient_id)
    patient = Patient.objects.filter(public_id=patient_id).first()
    if patient is None:
        raise Http404("No such patient.")
    allowed(user, "report.view", patient_id=patient_id, record_id=patient_id, detail="report.view (patient)")
    return patient


def access_report_pdf(user, report_id) -> Report:
    """The signed report for printing: report.print, audited as PRINT. A draft is not printed."""
    report_id = as_uuid(report_id, "report")
    report = report_query().filter(public_id=report_id).first()
    patient_id = report.episode.patient.public_id if report else None
    authorize(user, "report.print", patient_id=patient_id, record_id=report_id)
    if report is None:
        raise Http404("No such report.")
    if report.status != ReportStatus.SIGNED:
        raise ValidationError("Sign the report before printing it.")  # nothing printed, nothing audited
    allowed(user, "report.print", patient_id=patient_id, record_id=report_id, detail=f"{report.kind} report")
    return report
