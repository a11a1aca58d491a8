"""The Referrals card on the patient chart (core/extension_points.py chart_sections)."""

from effleura.core.extension_points import Section
from effleura.core.permissions import has_permission
from effleura.referrals.authorization_warnings import authorizations_for


def referrals_section(user, patient) -> Section | None:
    if not has_permission(user, "referral.view"):
        return None
    return Section("referrals/includes/chart_section.html", {"authorizations": authorizations_for(user, patient)})
