"""The patient chart's frame, for every app that shows a page inside it.

Clinical, referral and billing pages sit under the chart's head (the patient's name,
their consent checklist and the tabs, ``patients/includes/chart_head.html``); they start
their template context from ``chart_context`` so that head reads the same everywhere.
"""

from effleura.core.permissions import has_permission
from effleura.patients import access


def chart_context(request, patient, tab: str) -> dict:
    """The context the chart's head needs for ``patient``, with ``tab`` (e.g. "overview",
    "history", "clinical", "referrals") marked as the current page.

    ``patient`` was already fetched through an access_* function. This reads the
    patient's standing with each consent document (access_consent_statuses, which
    audits the read) and asks the permission table whether the clinical tabs show."""
    return {
        "patient": patient,
        "tab": tab,
        "nav": "patients",
        "can_clinical": has_permission(request.user, "health_history.view"),
        "consents": access.access_consent_statuses(request.user, patient),
    }
