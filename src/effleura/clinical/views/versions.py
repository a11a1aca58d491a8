"""What the clinical pages add to core's conflict notice (core/forms.py show_conflict):
the parts of a record that are not fields of a Django form, such as a note's technique
rows and body chart, an assessment's finding rows, a plan's goals, a home-care plan's
items.

Each page puts a second signed snapshot of those parts, as a person reads them, in the
hidden field ``loaded_rows`` beside core's ``loaded``. When a save is refused because
someone else saved meanwhile, ``row_changes`` compares what the page showed with what
is stored now, adds a line to the notice for each part the other person changed, and
says which parts the person left alone: the page shows those as they are now (rebased),
and keeps the person's own rows where they changed them.
"""

from django import forms
from django.core import signing

from effleura.clinical import bodychart, note_rules
from effleura.clinical.choices import ClientPosition, Pressure
from effleura.core.forms import Change
from effleura.patients.choices import BodyRegion

SALT = "effleura.clinical.views.versions.rows"
FIELD = "loaded_rows"


class RowsField(forms.CharField):
    """The hidden ``loaded_rows`` field of a form."""

    def __init__(self, **kwargs):
        super().__init__(widget=forms.HiddenInput, required=False, **kwargs)


def sign(values: dict[str, str]) -> str:
    return signing.dumps(values, salt=SALT, compress=True)


def unsign(raw) -> dict[str, str]:
    try:
        found = signing.loads(raw or "", salt=SALT)
    except (signing.BadSignature, TypeError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def row_changes(raw_loaded, now: dict[str, str], posted: dict[str, str], labels: dict[str, str]):
    """(changes for the notice, names of the parts to show as they are now). ``now`` and
    ``posted`` hold each part as text (technique_text, marks_text, ...)."""
    loaded = unsign(raw_loaded)
    changes, rebase = [], set()
    for name, value in now.items():
        if name not in loaded or loaded[name] == value:
            continue
        mine = posted.get(name, loaded[name]) != loaded[name]
        changes.append(Change(labels[name], loaded[name], value, mine))
        if not mine:
            rebase.add(name)
    return changes, rebase


def rebind(form, values: dict[str, str]) -> None:
    """Point the bound form's ``loaded_rows`` at ``values`` (the version now stored)."""
    data = form.data.copy()
    data[form.add_prefix(FIELD)] = sign(values)
    form.data = data


# Parts as a person reads them ----------------------------------------------------------------


def _regions(keys) -> str:
    labels = dict(BodyRegion.choices)
    return ", ".join(str(labels.get(k, k)) for k in keys or [])


def technique_text(rows) -> str:
    """Technique rows (TechniqueEntry rows, a template's dicts, or posted dicts) in words:
    "Swedish massage 20 min (Low back); Heat (hot pack) 10 min"."""
    lines = []
    for row in rows:
        get = row.get if isinstance(row, dict) else lambda name, r=row: getattr(r, name, "")
        technique = get("technique") or ""
        if not technique:
            continue
        parts = [note_rules.technique_label(technique), f"{get('minutes') or '?'} min"]
        pressure = dict(Pressure.choices).get(get("pressure") or "", get("pressure") or "")
        position = dict(ClientPosition.choices).get(get("position") or "", get("position") or "")
        details = [d for d in (_regions(get("regions")), str(pressure).lower(), str(position).lower()) if d]
        notes = (get("notes") or "").strip()
        text = " ".join(parts) + (f" ({', '.join(details)})" if details else "") + (f": {notes}" if notes else "")
        lines.append(text)
    return "; ".join(lines) or "—"


def key_labels(text: str, labels: dict[str, str]) -> str:
    """ "swedish, heat" (keys as core's snapshot joins them) -> "Swedish massage, Heat (hot pack)"."""
    if text == "—":
        return text
    return ", ".join(labels.get(key.strip(), key.strip()) for key in text.split(","))


def marks_text(marks) -> str:
    """Body-chart marks in words: "Low back: pain 7 of 10; Buttocks: trigger point 5 of 10"."""
    return "; ".join(f"{line['label']}: {line['text']}" for line in bodychart.summary(marks)) or "—"
