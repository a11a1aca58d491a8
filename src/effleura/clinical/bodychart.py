"""The body chart: our own front and back outline of a human figure, divided into the
regions of patients.choices.BodyRegion, on which a therapist marks symbols
(clinical.choices.BodyMark) with an intensity from 0 to 10.

Stored as structured data, the same wherever it appears (assessments, session notes):

    [{"region": "shoulder_l", "symbol": "pain", "intensity": 7}, ...]

One region may carry several symbols, but each symbol once. This module is pure: the
validation (``clean_body_marks``), the figure's geometry (drawn here, no third-party
image), and what the template include needs to draw it (``chart_context``). The include
is clinical/templates/clinical/includes/body_chart.html; the script that makes it
editable by touch and keyboard is clinical/static/clinical/bodychart.js.
"""

import functools
import json
import re
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from effleura.clinical.choices import BodyMark
from effleura.core.text import escape_html
from effleura.patients.choices import BodyRegion

MAX_MARKS = 100
MAX_INTENSITY = 10
MARK_FIELDS = ("region", "symbol", "intensity")

# How each symbol is drawn: a short code (read in a black-and-white PDF too) on a coloured
# badge. Colours are dark enough for white text (contrast above 4.5:1).
SYMBOL_STYLE: dict[str, tuple[str, str]] = {
    BodyMark.PAIN: ("P", "#b42318"),
    BodyMark.TENSION: ("T", "#9a4a06"),
    BodyMark.TRIGGER_POINT: ("TP", "#6941c6"),
    BodyMark.NUMBNESS: ("N", "#175cd3"),
    BodyMark.TREATED: ("Tx", "#067647"),
    BodyMark.AVOID: ("Av", "#1d2939"),
}
# Which symbol colours a region that carries several: the one that matters most first.
FILL_PRIORITY = [
    BodyMark.AVOID,
    BodyMark.PAIN,
    BodyMark.TRIGGER_POINT,
    BodyMark.NUMBNESS,
    BodyMark.TENSION,
    BodyMark.TREATED,
]
EMPTY_FILL = "#eef2f4"
OUTLINE = "#7d8f99"


# Validation ---------------------------------------------------------------------------


def _intensity(value) -> int | None:
    """A whole number from an int or a string of digits (a form posts text); None otherwise."""
    value = float(value) if isinstance(value, Decimal) else value  # a JSON number from the API
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,3}\s*", value):
        return int(value)
    return None


def clean_body_marks(value) -> list[dict]:
    """Validate body-chart marks and return them normalised: a list of
    {"region", "symbol", "intensity"} with known region and symbol keys, a whole-number
    intensity from 0 to 10, each (region, symbol) once, at most 100 marks.

    ``value`` is a list of dicts, or its JSON text (as the editable chart posts it);
    None or "" is no marks. Raises ValidationError with a message in plain words (not a
    field dict: the caller files it under its own field name)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationError("The body chart could not be read; mark the regions again.") from None
    if not isinstance(value, list | tuple):
        raise ValidationError("Give the body-chart marks as a list.")
    if len(value) > MAX_MARKS:
        raise ValidationError(f"A body chart holds at most {MAX_MARKS} marks; this one has {len(value)}.")
    clean: list[dict] = []
    seen: set[tuple[str, str]] = set()
    problems: list[str] = []
    for number, mark in enumerate(value, start=1):
        if not isinstance(mark, dict):
            problems.append(f"Mark {number} is not a region, symbol and intensity.")
            continue
        extra = set(mark) - set(MARK_FIELDS)
        if extra:
            problems.append(f"Mark {number} has unknown field(s): {', '.join(sorted(map(str, extra)))}.")
            continue
        region, symbol = mark.get("region"), mark.get("symbol")
        if region not in BodyRegion.values:
            problems.append(f"Mark {number}: “{_short(region)}” is not a region of the body chart.")
            continue
        if symbol not in BodyMark.values:
            choices = ", ".join(label.lower() for label in BodyMark.labels)
            problems.append(f"Mark {number}: “{_short(symbol)}” is not a body-chart symbol (use {choices}).")
            continue
        intensity = _intensity(mark.get("intensity"))
        if intensity is None or not 0 <= intensity <= MAX_INTENSITY:
            problems.append(f"{region_label(region)}, {symbol_label(symbol).lower()}: give an intensity from 0 to 10.")
            continue
        if (region, symbol) in seen:
            problems.append(
                f"{region_label(region)} is marked “{symbol_label(symbol).lower()}” twice; keep one intensity."
            )
            continue
        seen.add((region, symbol))
        clean.append({"region": region, "symbol": symbol, "intensity": intensity})
    if problems:
        raise ValidationError(problems[:5])  # five is plenty to act on; more is noise
    return clean


def _short(value) -> str:
    text = "" if value is None else str(value)
    return text[:40] + ("…" if len(text) > 40 else "")


def marks_from_post(data, field_name: str = "body_marks"):
    """The raw marks a form posted (not yet validated): the editable chart's JSON when
    its script enabled that input, else the rows of the fallback list (no script):
    ``<field>-<n>-region`` (a ticked checkbox), ``<field>-<n>-symbol``, ``<field>-<n>-intensity``.
    """
    if field_name in data:
        return data.get(field_name)
    pattern = re.compile(rf"^{re.escape(field_name)}-(\d{{1,4}})-region$")
    rows = sorted(int(m.group(1)) for key in data if (m := pattern.match(key)))
    marks = []
    for n in rows:
        prefix = f"{field_name}-{n}-"
        region = data.get(prefix + "region", "")
        if not region:
            continue
        marks.append(
            {
                "region": region,
                "symbol": data.get(prefix + "symbol", ""),
                "intensity": data.get(prefix + "intensity", ""),
            }
        )
    return marks


# Labels and text ------------------------------------------------------------------------


def region_label(key: str) -> str:
    try:
        return str(BodyRegion(key).label)
    except ValueError:
        return str(key)


def symbol_label(key: str) -> str:
    try:
        return str(BodyMark(key).label)
    except ValueError:
        return str(key)


def displayable(marks) -> list[dict]:
    """Stored marks that can be drawn (known keys, sane intensity), in a stable order;
    a malformed stored entry is left out rather than breaking a page or a PDF. Takes the
    JSON text a form posted too (a refused form shows the marks made)."""
    if isinstance(marks, str):
        try:
            marks = json.loads(marks)
        except ValueError:
            return []
    if not isinstance(marks, list | tuple):
        return []
    shown = []
    for mark in marks:
        if not isinstance(mark, dict):
            continue
        intensity = _intensity(mark.get("intensity"))
        if mark.get("region") in BodyRegion.values and mark.get("symbol") in BodyMark.values and intensity is not None:
            shown.append({"region": mark["region"], "symbol": mark["symbol"], "intensity": intensity})
    order = {key: n for n, key in enumerate(BodyRegion.values)}
    symbol_order = {key: n for n, key in enumerate(BodyMark.values)}
    return sorted(shown, key=lambda m: (order[m["region"]], symbol_order[m["symbol"]]))


def mark_phrase(mark: dict) -> str:
    """ "pain 7 of 10"."""
    return f"{symbol_label(mark['symbol']).lower()} {mark['intensity']} of 10"


def region_summary(region: str, marks: list[dict]) -> str:
    """What a screen reader hears on a region: "Left shoulder: pain 7 of 10, tension 3 of 10"."""
    if not marks:
        return f"{region_label(region)}: no marks"
    return f"{region_label(region)}: " + ", ".join(mark_phrase(m) for m in marks)


def summary(marks) -> list[dict]:
    """One line per marked region, in the order of BodyRegion: [{"region", "label", "text"}]."""
    by_region: dict[str, list[dict]] = {}
    for mark in displayable(marks):
        by_region.setdefault(mark["region"], []).append(mark)
    return [
        {"region": key, "label": region_label(key), "text": ", ".join(mark_phrase(m) for m in found)}
        for key, found in by_region.items()
    ]


# The figure -----------------------------------------------------------------------------
# Drawn in a 160 x 440 box (x from 20 to 180, the figure centred on x = 100). Limbs are
# drawn once, on the viewer's left, and mirrored (x -> 200 - x) for the other side. On the
# front view the patient's right is on the viewer's left; on the back view it is the
# patient's left, exactly as when standing behind them.

VIEW_BOX = "20 0 160 440"
WIDTH, HEIGHT = 160, 440


@dataclass(frozen=True)
class Shape:
    kind: str  # "ellipse", "polygon" or "path" (paths are symmetric: never mirrored)
    values: tuple

    def mirrored(self) -> "Shape":
        if self.kind == "ellipse":
            cx, cy, rx, ry = self.values
            return Shape("ellipse", (200 - cx, cy, rx, ry))
        if self.kind == "polygon":
            return Shape("polygon", tuple((200 - x, y) for x, y in self.values))
        return self

    def svg(self) -> SafeString:
        if self.kind == "ellipse":
            cx, cy, rx, ry = self.values
            return format_html('<ellipse cx="{}" cy="{}" rx="{}" ry="{}"/>', cx, cy, rx, ry)
        if self.kind == "polygon":
            points = " ".join(f"{x},{y}" for x, y in self.values)
            return format_html('<polygon points="{}"/>', points)
        return format_html('<path d="{}"/>', self.values[0])


def _ellipse(cx, cy, rx, ry) -> Shape:
    return Shape("ellipse", (cx, cy, rx, ry))


def _polygon(*points) -> Shape:
    return Shape("polygon", tuple(points))


def _path(d: str) -> Shape:
    return Shape("path", (d,))


# Middle of the body: (shapes, anchor for the symbols).
HEAD_TOP = ([_path("M81,30 A19,24 0 0 1 119,30 Z")], (100, 19))
FACE = ([_path("M81,30 A19,24 0 0 0 119,30 Z")], (100, 42))
HEAD_WHOLE = ([_ellipse(100, 30, 19, 24)], (100, 30))
NECK = ([_polygon((90, 53), (110, 53), (112, 67), (88, 67))], (100, 60))
CHEST = ([_polygon((76, 66), (124, 66), (134, 76), (134, 128), (66, 128), (66, 76))], (100, 96))
ABDOMEN = ([_polygon((66, 128), (134, 128), (134, 190), (66, 190))], (100, 158))
UPPER_BACK = ([_polygon((76, 66), (124, 66), (134, 76), (134, 112), (66, 112), (66, 76))], (100, 88))
MID_BACK = ([_polygon((66, 112), (134, 112), (134, 152), (66, 152))], (100, 132))
LOW_BACK = ([_polygon((66, 152), (134, 152), (134, 190), (66, 190))], (100, 171))
GLUTES = ([_polygon((65, 190), (135, 190), (138, 224), (100, 226), (62, 224))], (100, 207))

# One side, drawn on the viewer's left.
SIDE = {
    "shoulder": ([_ellipse(58, 80, 15, 14)], (58, 80)),
    "arm": (
        [_polygon((45, 93), (62, 96), (58, 148), (41, 146)), _polygon((38, 170), (56, 170), (51, 214), (35, 212))],
        (51, 120),
    ),
    "elbow": ([_ellipse(47, 159, 11, 10)], (47, 159)),
    "wrist_hand": ([_ellipse(42, 229, 11, 15)], (42, 229)),
    "hip": ([_polygon((66, 190), (100, 190), (100, 224), (62, 224), (63, 204))], (82, 207)),
    "thigh": ([_polygon((62, 224), (100, 224), (97, 300), (69, 300))], (83, 262)),
    "knee": ([_ellipse(83, 312, 14, 12)], (83, 312)),
    "lower_leg": ([_polygon((70, 324), (96, 324), (91, 394), (75, 394))], (83, 358)),
    "ankle_foot": ([_ellipse(82, 409, 13, 13)], (82, 409)),
}


def _side(name: str, mirrored: bool):
    shapes, (x, y) = SIDE[name]
    if mirrored:
        return [s.mirrored() for s in shapes], (200 - x, y)
    return shapes, (x, y)


def _limbs(names, viewer_left: str, viewer_right: str) -> dict:
    """Both sides of each named part: the viewer's left drawn as is, the right mirrored."""
    found = {}
    for name in names:
        found[f"{name}_{viewer_left}"] = _side(name, mirrored=False)
        found[f"{name}_{viewer_right}"] = _side(name, mirrored=True)
    return found


def _front() -> dict:
    # The patient faces us: their right is on our left ("_r" on the viewer's left).
    regions = {"head": HEAD_TOP, "face_jaw": FACE, "neck": NECK}
    regions.update(_limbs(["shoulder"], "r", "l"))
    regions.update({"chest": CHEST, "abdomen": ABDOMEN})
    regions.update(_limbs(["arm", "elbow", "wrist_hand", "hip", "thigh", "knee", "lower_leg", "ankle_foot"], "r", "l"))
    return regions


def _back() -> dict:
    # We stand behind the patient: their left is on our left.
    regions = {"head": HEAD_WHOLE, "neck": NECK}
    regions.update(_limbs(["shoulder"], "l", "r"))
    regions.update({"upper_back": UPPER_BACK, "mid_back": MID_BACK, "low_back": LOW_BACK, "glutes": GLUTES})
    regions.update(_limbs(["arm", "elbow", "wrist_hand", "thigh", "knee", "lower_leg", "ankle_foot"], "l", "r"))
    return regions


@dataclass(frozen=True)
class View:
    key: str
    label: str
    caption: str
    side_letters: tuple[str, str]  # (viewer's left, viewer's right)
    regions: dict  # region key -> (shapes, anchor)


VIEWS = [
    View("front", "Front", "Front: the patient's right is on your left", ("R", "L"), _front()),
    View("back", "Back", "Back: the patient's left is on your left", ("L", "R"), _back()),
]
FRONT_REGIONS = frozenset(VIEWS[0].regions)
BACK_REGIONS = frozenset(VIEWS[1].regions)
# Each region is one keyboard stop, on the first view that draws it (front, else back):
# a twin on the other view is still there to tap, but a screen reader hears it once.
PRIMARY_VIEW = {key: ("front" if key in FRONT_REGIONS else "back") for key in BodyRegion.values}


def _check_geometry() -> None:
    drawn = FRONT_REGIONS | BACK_REGIONS
    missing = set(BodyRegion.values) - drawn
    unknown = drawn - set(BodyRegion.values)
    if missing or unknown:  # pragma: no cover - a programming error caught at import
        raise RuntimeError(f"body chart regions out of step with BodyRegion: missing {missing}, unknown {unknown}")


_check_geometry()


# Drawing --------------------------------------------------------------------------------


def region_fill(marks: list[dict]) -> tuple[str, str]:
    """(fill colour, fill opacity) of a region: the colour of its most important symbol,
    stronger with the highest intensity; a pale grey when unmarked."""
    if not marks:
        return EMPTY_FILL, "1"
    symbols = {m["symbol"] for m in marks}
    symbol = next(s for s in FILL_PRIORITY if s in symbols)
    strongest = max(m["intensity"] for m in marks)
    return SYMBOL_STYLE[symbol][1], f"{min(0.15 + 0.05 * strongest, 0.65):.2f}"


# Each region's outline as SVG, per view: the drawing never changes, so it is written once.
_SHAPES = {
    (view.key, key): format_html_join("", "{}", ((s.svg(),) for s in shapes))
    for view in VIEWS
    for key, (shapes, _anchor) in view.regions.items()
}


_FOCUSABLE = ' tabindex="0" role="button" aria-haspopup="dialog" aria-label="{}"'
# What follows each region's element: the whitespace the template's loop wrote.
_REGION_END = "\n        "


def _regions_html(regions: list[dict], editable: bool) -> SafeString:
    """A view's region elements (<g> with its shapes), as body_chart_svg.html wrote them
    in a loop: written here because the note editor spent 3 ms of its time in that loop
    (docs/performance.md). Focusable regions (editable, in their primary view) are buttons
    named by their summary; read-only regions carry it as a <title>."""

    def one(r: dict) -> str:
        if r["focusable"]:
            extra = _FOCUSABLE.format(escape_html(r["summary"]))
        else:
            extra = ' aria-hidden="true"' if editable else ""
        title = "" if editable else f"<title>{escape_html(r['summary'])}</title>"
        return (
            f'<g class="bc-region{" is-marked" if r["marked"] else ""}" data-region="{escape_html(r["key"])}"'
            f' fill="{escape_html(r["fill"])}" fill-opacity="{escape_html(r["opacity"])}"{extra}>'
            f"{title}{r['shapes']}</g>{_REGION_END}"
        )

    return mark_safe("".join(one(r) for r in regions))  # noqa: S308 (every value escaped, shapes are SafeStrings)


BADGE_W, BADGE_H, BADGE_GAP = 22, 12, 2


def _badges(view: View, by_region: dict) -> list[dict]:
    """Where each mark's badge goes: stacked downwards from the region's anchor."""
    badges = []
    for key, found in by_region.items():
        if key not in view.regions:
            continue
        x, y = view.regions[key][1]
        top = y - (len(found) * (BADGE_H + BADGE_GAP) - BADGE_GAP) / 2
        for n, mark in enumerate(found):
            code, colour = SYMBOL_STYLE[mark["symbol"]]
            badges.append(
                {
                    "x": f"{x - BADGE_W / 2:g}",
                    "y": f"{top + n * (BADGE_H + BADGE_GAP):g}",
                    "text_x": f"{x:g}",
                    "text_y": f"{top + n * (BADGE_H + BADGE_GAP) + 9:g}",
                    "text": f"{code}{mark['intensity']}",
                    "colour": colour,
                }
            )
    return badges


def chart_context(marks, *, editable: bool = False, field_name: str = "body_marks", uid: str = "bodychart") -> dict:
    """Everything the include needs to draw the chart: both views with their regions,
    each region's shapes, fill and accessible name, the symbol badges, the text list, and
    (when editable) the JSON the script starts from and the fallback rows."""
    shown = displayable(marks)
    by_region: dict[str, list[dict]] = {}
    for mark in shown:
        by_region.setdefault(mark["region"], []).append(mark)
    views = []
    for view in VIEWS:
        regions = []
        for key in view.regions:
            found = by_region.get(key, [])
            fill, opacity = region_fill(found)
            regions.append(
                {
                    "key": key,
                    "label": region_label(key),
                    "summary": region_summary(key, found),
                    "focusable": editable and PRIMARY_VIEW[key] == view.key,
                    "fill": fill,
                    "opacity": opacity,
                    "marked": bool(found),
                    "shapes": _SHAPES[view.key, key],
                }
            )
        views.append(
            {
                "key": view.key,
                "label": view.label,
                "caption": view.caption,
                "left_letter": view.side_letters[0],
                "right_letter": view.side_letters[1],
                "regions": regions,
                "regions_html": _regions_html(regions, editable),
                "badges": _badges(view, by_region),
            }
        )
    context = {
        "uid": uid,
        "editable": editable,
        "field_name": field_name,
        "views": views,
        "view_box": VIEW_BOX,
        "width": WIDTH,
        "height": HEIGHT,
        "outline": OUTLINE,
        "rows": summary(shown),
        "key": [
            {"symbol": key, "label": label, "code": SYMBOL_STYLE[key][0], "colour": SYMBOL_STYLE[key][1]}
            for key, label in BodyMark.choices
        ],
        "count": len(shown),
    }
    if editable:
        context["json"] = json.dumps(shown)
        context["config_id"] = f"{uid}-config"
        context["config"] = {
            "regions": {key: str(label) for key, label in BodyRegion.choices},
            "symbols": [
                {"key": key, "label": str(label), "code": SYMBOL_STYLE[key][0], "colour": SYMBOL_STYLE[key][1]}
                for key, label in BodyMark.choices
            ],
            "fillPriority": [str(s) for s in FILL_PRIORITY],
            "emptyFill": EMPTY_FILL,
            "anchors": {view.key: {k: list(v[1]) for k, v in view.regions.items()} for view in VIEWS},
            "badge": {"w": BADGE_W, "h": BADGE_H, "gap": BADGE_GAP},
            "max": MAX_MARKS,
        }
        context["fallback"] = fallback_rows(shown)
        context["fallback_html"] = fallback_html(field_name, context["fallback"])
        context["symbols"] = BodyMark.choices
    return context


@functools.cache
def _symbol_options(chosen: str, language: str | None) -> str:
    """The <option>s of a fallback row's symbol menu with ``chosen`` selected (one per
    symbol and language: the menu is the same on every row but the chosen one)."""
    return "".join(
        f'<option value="{escape_html(key)}"{" selected" if key == chosen else ""}>{escape_html(label)}</option>'
        for key, label in BodyMark.choices
    )


def fallback_html(field_name: str, rows: list[dict]) -> SafeString:
    """The fallback list's table rows (a checkbox, a symbol menu and an intensity box per
    row), as body_chart_svg.html wrote them in a loop: written here because that loop of
    27 rows took about a tenth of the note editor's time (docs/performance.md). Every
    value is escaped as the template escaped it."""
    field, language = escape_html(field_name), translation.get_language()
    parts = []
    for row in rows:
        n, label = escape_html(row["n"]), str(row["label"])
        lower, shown = escape_html(label.lower()), escape_html(label)
        parts.append(
            "<tr>\n"
            f'        <td><label class="bc-fallback-region"><input type="checkbox" name="{field}-{n}-region"'
            f' value="{escape_html(row["region"])}"{" checked" if row["checked"] else ""}> {shown}</label></td>\n'
            f'        <td><select name="{field}-{n}-symbol" aria-label="Symbol for {lower}">'
            f"{_symbol_options(str(row['symbol']), language)}</select></td>\n"
            f'        <td><input type="number" name="{field}-{n}-intensity" min="0" max="10" step="1"'
            f' inputmode="numeric" value="{escape_html(row["intensity"])}"'
            f' aria-label="Intensity for {lower}, 0 to 10"></td>\n'
            "      </tr>\n      "
        )
    return mark_safe("".join(parts))  # noqa: S308 (every value escaped above)


def fallback_rows(marks: list[dict]) -> list[dict]:
    """The no-script form: the marks already made (ticked), then one empty row per region."""
    rows = [
        {"n": n, "region": m["region"], "label": region_label(m["region"]), "checked": True, **m}
        for n, m in enumerate(marks)
    ]
    start = len(rows)
    for n, key in enumerate(BodyRegion.values, start=start):
        rows.append(
            {"n": n, "region": key, "label": region_label(key), "checked": False, "symbol": "", "intensity": ""}
        )
    return rows
