"""A proposed series on a page: the table of visits, and the visits chosen on it.

Both pages that book a series (scheduling's "Book a series" and clinical's "schedule this
plan") show actions.propose_series()'s answer with the include
scheduling/includes/series_proposal.html and read back what the person chose. Each
visit posts one field ``visit_<number>``: a free visit's value in a hidden field, a
conflicting one's chosen alternative (a radio), or LEAVE_OUT. A value is
"<start ISO 8601>|<practitioner public_id, or nothing for the series' own>".
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from effleura.core.values import parse_uuid
from effleura.scheduling import series as planning
from effleura.scheduling.setup import practitioners_qs

LEAVE_OUT = "leave-out"  # the value of "Leave this visit out"


def field_name(number: int) -> str:
    """The posted field of visit ``number`` (from 1)."""
    return f"visit_{number}"


def visit_value(start: datetime.datetime, practitioner=None) -> str:
    """What a visit's radio or hidden field posts: "start ISO|practitioner id or nothing"."""
    return f"{start.isoformat()}|{practitioner.public_id if practitioner is not None else ''}"


def parse_visit(value: str, practitioners: dict) -> planning.Visit | None:
    """A series.Visit from a posted value, or None when it does not parse (a time without
    its offset, or a practitioner not among ``practitioners``, public_id -> user)."""
    start_text, _, practitioner_text = (value or "").partition("|")
    try:
        start = datetime.datetime.fromisoformat(start_text)
    except ValueError:
        return None
    if timezone.is_naive(start):
        return None
    practitioner = None
    if practitioner_text:
        practitioner = practitioners.get(parse_uuid(practitioner_text))
        if practitioner is None:
            return None
    return planning.Visit(start, practitioner)


def chosen_visits(data, count: int) -> list[planning.Visit]:
    """The visits chosen on the proposal of ``count`` visits (``data``: the POST), those
    left out skipped. Raises ValidationError when a visit has no time chosen, or when
    every visit is left out."""
    practitioners = {p.public_id: p for p in practitioners_qs()}
    visits, missing = [], []
    for n in range(1, count + 1):
        value = data.get(field_name(n), "")
        if value == LEAVE_OUT:
            continue
        visit = parse_visit(value, practitioners)
        if visit is None:
            missing.append(str(n))
        else:
            visits.append(visit)
    if missing:
        raise ValidationError(f"Choose a time for visit {', '.join(missing)}, or leave it out.")
    if not visits:
        raise ValidationError("Every visit is left out: there is nothing to book.")
    return visits


def chosen_values(data, count: int) -> dict[int, str]:
    """What was posted for each of ``count`` visits (number -> value), to keep the
    choices ticked when the proposal is shown again."""
    return {n: data.get(field_name(n), "") for n in range(1, count + 1)}


def proposal_rows(proposals, tz, practitioner, chosen: dict) -> list[dict]:
    """Each proposed visit for the include, in the location's time ``tz``: its value when
    it is free, or its problem and the alternatives as (value, label) choices (naming the
    practitioner when it is not the series' ``practitioner``). ``chosen``: number -> the
    value posted before."""
    rows = []
    for visit in proposals:
        local = visit.start.astimezone(tz)
        row = {
            "number": visit.number,
            "when": f"{local:%a} {local.day} {local:%b %Y, %H:%M}",
            "ok": visit.status == planning.OK,
            "closed": visit.closed,
            "problem": visit.problem,
            "room": visit.room.name if visit.room is not None else "",
            "value": visit_value(visit.start),
            "chosen": chosen.get(visit.number, ""),
            "choices": [],
        }
        for alt in visit.alternatives:
            a = alt.start.astimezone(tz)
            other = alt.practitioner != practitioner
            label = f"{a:%a} {a.day} {a:%b, %H:%M}" + (f" with {alt.practitioner.display_name}" if other else "")
            row["choices"].append((visit_value(alt.start, alt.practitioner if other else None), label))
        rows.append(row)
    return rows


def conflicts(rows: list[dict] | None) -> int:
    """How many visits of the table cannot be booked as proposed."""
    return sum(1 for r in rows or [] if not r["ok"])
