"""The calendar grid's cells and appointment blocks as HTML, written in Python.

The 50-practitioner day has about 2,600 empty cells and 400 blocks: through the template
engine (a loop per cell, an include per block, a ``{% url %}`` per block) that was most of
the page's time (docs/performance.md, section calendar). Here each column's cells and
blocks are one string: what is the same for every cell of a column (its grid line, key,
label, booking query) is escaped once, the addresses are reversed once with a placeholder
id, and each cell only adds its row and time. The markup is what
scheduling/includes/calendar_grid.html wrote before, attribute for attribute: grid.js
places the elements by their data- attributes, calendar.js drags blocks
(``.cal-appt[draggable=true]``, ``data-reschedule-url``, ``data-appointment``) onto cells
(``.cal-cell[data-start]``, ``data-column``), and each booking cell is a link named
"Book <column> at HH:MM" for keyboards and screen readers.

Every value from the database goes through ``escape`` (as Django's, which the template's
autoescaping used); ids, grid lines and times are digits and dashes.
"""

import html
import uuid

from django.urls import reverse
from django.utils.safestring import mark_safe

from effleura.scheduling.choices import AppointmentStatus

_PLACEHOLDER = uuid.UUID(int=0)


def escape(value) -> str:
    """What django.utils.html.escape (and so the template's autoescaping) writes, without
    its lazy-string wrapper: thousands of calls a page."""
    return html.escape(str(value))


# Each status's label, escaped once (a status not among the choices shows as itself, as
# get_status_display does).
_STATUS_LABELS = {value: escape(label) for value, label in AppointmentStatus.choices}


def _address(name: str):
    """A function public_id -> the address of ``name`` for it, reversing only once."""
    head, tail = reverse(name, args=[_PLACEHOLDER]).split(str(_PLACEHOLDER))
    return lambda public_id: f"{head}{public_id}{tail}"


def badges(flags) -> str:
    """The badges of scheduling/includes/appointment_badges.html."""
    if not flags:
        return '<span class="badges"></span>'
    inner = "".join(
        f'<span class="badge {escape(f.tone)}" title="{escape(f.title)}">{escape(f.label)}</span>' for f in flags
    )
    return f'<span class="badges">{inner}</span>'


def _cells(column, book_url: str) -> list[str]:
    line = column.line
    if book_url:
        href = f"{escape(book_url)}?{escape(column.query)}&amp;start="
        tail = f'" data-column="{escape(column.key)}"><span class="visually-hidden">Book {escape(column.label)} at '
    found = []
    for cell in column.cells:
        if cell.changeover:
            found.append(
                f'<span class="cal-cell changeover" data-row="{cell.row}" data-col="{line}" title="Changeover"></span>'
            )
            continue
        off = "" if cell.working else " off"
        if not book_url:
            found.append(f'<span class="cal-cell{off}" data-row="{cell.row}" data-col="{line}"></span>')
            continue
        value = cell.value
        found.append(
            f'<a class="cal-cell{off}" data-row="{cell.row}" data-col="{line}" href="{href}{value}" tabindex="-1"'
            f' draggable="false" data-start="{value}{tail}{value[11:]}</span></a>'
        )
    return found


def _blocks(column, show: str, appointment_url, reschedule_url) -> list[str]:
    line = column.line
    found = []
    for block in column.blocks:
        a = block.appointment
        service = escape(a.service.name)
        if show == "room" and a.room:
            service += f" · {escape(a.room.name)}"
        elif show == "practitioner":
            service += f" · {escape(a.practitioner.display_name)}"
        elif show == "location":
            service += f" · {escape(a.location.name)}"
        lanes = f' data-left="{block.left_percent}" data-width="{block.width_percent}"' if block.lanes > 1 else ""
        drag = f' draggable="true" data-reschedule-url="{reschedule_url(a.public_id)}"' if block.draggable else ""
        status = escape(a.status)
        found.append(
            f'<a class="cal-appt status-{status}" href="{appointment_url(a.public_id)}" data-row="{block.row}"'
            f' data-span="{block.span}" data-col="{line}"{lanes}{drag} data-appointment="{a.public_id}">\n'
            f'  <span class="cal-appt-time">{block.start_label}–{block.end_label}</span>\n'
            f'  <strong class="cal-appt-patient">{escape(a.patient.display_name)}</strong>\n'
            f'  <span class="cal-appt-service">{service}</span>\n'
            f'  <span class="cal-appt-status">{_STATUS_LABELS.get(a.status) or escape(a.status)}</span>\n'
            f"  {badges(getattr(a, 'flags', ()))}\n"
            "</a>"
        )
    return found


def render(layout, *, book_url: str, show: str) -> None:
    """Put on each column of ``layout`` (grid.build's) its ``html``: its cells, then its
    blocks. ``book_url`` is empty when the user may not book (plain cells, no links);
    ``show`` is what a block names besides the patient: "practitioner", "room" or
    "location"."""
    appointment_url = _address("scheduling:appointment")
    reschedule_url = _address("scheduling:reschedule")
    for column in layout.columns:
        parts = _cells(column, book_url)
        parts.extend(_blocks(column, show, appointment_url, reschedule_url))
        column.html = mark_safe("\n".join(parts))  # noqa: S308 (every value above is escaped)
