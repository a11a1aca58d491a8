"""The Referrals card on the patient chart (patients/chart_sections.py)."""

from effleura.core.permissions import has_permission
from effleura.patients.chart_sections import Section
from effleura.referrals.authorization_warnings import authorizations_for


def referrals_section(user, patient) -> Section | None:
    if not has_permission(user, "referral.view"):
        return None
    return Section("referrals/includes/chart_section.html", {"authorizations": authorizations_for(user, patient)})
