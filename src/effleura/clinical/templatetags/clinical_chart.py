"""Template helpers of the clinical chart: screening flags (clinical/includes/flags.html)
and the sections of an episode (clinical/episode_nav.html)."""

from django import template
from django.urls import NoReverseMatch, reverse

from effleura.clinical import knowledge, screening

register = template.Library()

# The sections of an episode, each owned by its own page: (key, label, URL name).
EPISODE_SECTIONS = (
    ("episode", "Overview", "clinical:episode"),
    ("assessments", "Assessments", "clinical:assessments"),
    ("plan", "Treatment plan", "clinical:episode_plans"),
    ("notes", "Session notes", "clinical:episode_notes"),
    ("measures", "Outcome measures", "clinical:measures"),
    ("homecare", "Home care", "clinical:homecare"),
    ("discharge", "Discharge", "clinical:discharge"),
    # Downstream app, linked by name only: left out when referrals is not installed.
    ("reports", "Reports to the provider", "referrals:episode_reports"),
)


@register.filter
def key_labels(keys) -> str:
    """Labels of technique, stroke, modality or condition keys, comma-separated:
    ["deep_tissue", "friction"] -> "Deep tissue massage, Friction".
    """
    return ", ".join(knowledge.label(k) for k in keys or ())


@register.filter
def key_label(key) -> str:
    return knowledge.label(key) if key else ""


@register.filter
def flags_summary(flags) -> str:
    """The one-line badge of a list of flags (screening.summary)."""
    return screening.summary(flags or [])


def episode_links(episode) -> list[tuple[str, str, str]]:
    """(key, label, url) of each section of ``episode`` whose page exists. A section
    whose page is not installed is left out rather than breaking the page."""
    links = []
    for key, label, name in EPISODE_SECTIONS:
        try:
            links.append((key, label, reverse(name, kwargs={"episode_id": episode.public_id})))
        except NoReverseMatch:
            continue
    return links


@register.simple_tag
def episode_sections(episode):
    """{% episode_sections episode as sections %}: see episode_links()."""
    return episode_links(episode)
