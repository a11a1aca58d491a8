"""The Next visits card on the patient chart's overview (core/extension_points.py
chart_sections)."""

from effleura.core import clock
from effleura.core.extension_points import Section
from effleura.scheduling.access import access_next_visits


def next_visits_section(user, patient) -> Section | None:
    visits = access_next_visits(user, patient)
    if visits is None:
        return None
    for a in visits:
        a.when_label = clock.visit_when(a, weekday="%a")
    return Section("scheduling/includes/chart_next_visits.html", {"visits": visits, "patient": patient})
