"""Template helpers of the clinical chart: screening flags (clinical/includes/flags.html),
the sections of an episode (clinical/episode_nav.html) and the technique choices of a note's
rows (clinical/note_technique_rows.html)."""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import mark_safe

from effleura.clinical import knowledge, screening
from effleura.core.text import escape_html

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


# Screening's word for a flagged technique, shown beside the menu (not inside its options, where
# it truncated every name on a tablet): the badge's text and tone.
VERDICT_WORDS = {
    "contraindicated": ("contraindicated", "danger"),
    "local": ("avoid affected areas", "warn"),
    "caution": ("caution", "caution"),
}


@register.simple_tag
def technique_options(groups, selected=""):
    """The <optgroup>s of a technique row's select (clinical/views/notes.py
    technique_groups: (title, [(key, label, verdict)])), the row's technique marked. Plain
    names; a choice screening flags for this patient carries ``data-verdict`` and
    ``data-verdict-text``, which clinical/technique_rows.js shows beside the menu. Built here
    rather than in template loops: a note shows several rows of some forty choices each
    (docs/performance.md)."""

    def option(key, label, verdict) -> str:
        words = VERDICT_WORDS.get(verdict)
        flagged = f' data-verdict="{verdict}" data-verdict-text="{escape_html(words[0])}"' if words else ""
        chosen = " selected" if key == selected else ""
        return f'<option value="{escape_html(key)}"{chosen}{flagged}>{escape_html(label)}</option>'

    def group(items) -> str:
        return "".join(option(key, label, verdict) for key, label, verdict in items)

    return mark_safe(  # noqa: S308 (every value escaped as autoescaping would)
        "".join(f'<optgroup label="{escape_html(title)}">{group(items)}</optgroup>' for title, items in groups)
    )


# A screening rule's severity as the word its warning shows (clinical/plan_warnings.html).
SEVERITY_VERDICT = {"absolute": "contraindicated", "local": "local", "precaution": "caution"}


@register.simple_tag
def screening_rules(warnings):
    """{% screening_rules warnings as rules %}: the plan's warnings (plans.TechniqueWarning,
    one per technique or for the pressure) turned around, one per screening rule, naming
    every planned technique it concerns: a surgery rule over six techniques is said once.
    Each rule: {"flag", "verdict", "planned": [labels]}, most severe first."""
    rules: dict = {}
    for w in warnings:
        for f in w.flags:
            key = (f.condition, f.severity, f.action, f.region)
            rule = rules.setdefault(
                key, {"flag": f, "verdict": SEVERITY_VERDICT.get(f.severity, f.severity), "planned": []}
            )
            if w.label not in rule["planned"]:
                rule["planned"].append(w.label)
    order = {"contraindicated": 0, "local": 1, "caution": 2}
    return sorted(rules.values(), key=lambda r: order.get(r["verdict"], 3))


@register.simple_tag
def technique_verdict(groups, selected="") -> tuple[str, str]:
    """{% technique_verdict groups row.technique as verdict %}: the badge beside a technique
    row's menu, (screening's word, its tone) for the technique chosen, ("", "") when it is
    not flagged; clinical/technique_rows.js keeps it current as the choice changes."""
    verdict = next((v for _t, items in groups for key, _l, v in items if key == selected), "")
    return VERDICT_WORDS.get(verdict, ("", ""))


@register.simple_tag
def region_summary(choices, selected) -> str:
    """What a technique row's closed region picker says: the chosen regions' names, in the
    list's order, or "Choose regions"; clinical/technique_rows.js keeps it current."""
    chosen = set(selected or [])
    names = [label for value, label in choices if value in chosen]
    return ", ".join(names) if names else "Choose regions"


@register.simple_tag
def region_chips(choices, name, selected):
    """A technique row's regions as tappable chips: a checkbox per region inside its
    label, the row's regions ticked. Built here rather than in a template loop, as the
    technique options are: a note shows several rows of 27 regions each."""
    chosen = set(selected or [])

    def chip(value, label) -> str:
        ticked = " checked" if value in chosen else ""
        return (
            f'<label class="chip"><input type="checkbox" name="{escape_html(name)}" value="{escape_html(value)}"'
            f"{ticked}><span>{escape_html(label)}</span></label>"
        )

    return mark_safe("".join(chip(value, label) for value, label in choices))  # noqa: S308 (escaped)
