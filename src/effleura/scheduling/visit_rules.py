"""What may happen to a visit now: the rules behind every status button, the Cancel and
Reschedule links and Undo, each answering None (allowed) or why not, in plain words.

Pure: plain values in (the appointment's fields, the time now, the practice's start window,
the last line of its history), a sentence out. The checks in status_actions.py and
booking_actions.py raise these sentences, and status_actions.actions_now() asks the same
functions to decide which buttons a page shows, so a page never offers what a check
refuses, and never hides what it accepts.

* Starting: a visit can be started (in session, or completed or interrupted straight away)
  from ``Practice.start_window_minutes`` before its booked start, not earlier.
* Checking in: from the visit's day (in the location's zone).
* No-show: once the start has passed.
* Cancel and reschedule: a booked or checked-in visit can be cancelled, a booked one moved;
  one already in session is first returned to booked with Undo.
* Undo: the last status change or cancellation, the same day it was made (location's day),
  by the person who made it or the owner; an undo is not undone again (make the change
  anew instead).
"""

import datetime
import zoneinfo

from effleura.scheduling.choices import STATUS_FLOW, AppointmentStatus, ChangeKind

Status = AppointmentStatus

# The actions a page may offer for one visit, in the order they are shown. The status
# values are the statuses they move to; the others are named here.
CANCEL = "cancel"
RESCHEDULE = "reschedule"
UNDO = "undo"
LABELS = {
    Status.CHECKED_IN: "Check in",
    Status.IN_SESSION: "Start session",
    Status.COMPLETED: "Complete",
    Status.NO_SHOW: "No-show",
    Status.INTERRUPTED: "Interrupted",
    RESCHEDULE: "Reschedule",
    CANCEL: "Cancel appointment",
    UNDO: "Undo",
}
STATUS_ACTIONS = (Status.CHECKED_IN, Status.IN_SESSION, Status.COMPLETED, Status.NO_SHOW, Status.INTERRUPTED)
ALL_ACTIONS = (*STATUS_ACTIONS, RESCHEDULE, CANCEL, UNDO)

# Moving to one of these says the session began: only from the start window on.
SESSION_STATUSES = frozenset({Status.IN_SESSION, Status.COMPLETED, Status.INTERRUPTED})
# The kinds of history line that Undo can take back.
UNDOABLE_KINDS = frozenset({ChangeKind.STATUS, ChangeKind.CANCELLED})


# Each status's label in lower case, once: the day view asks for 400 visits whether each
# can be dragged, and Status.values rebuilds its list on every call.
_LABELS = {value: str(label).lower() for value, label in Status.choices}


def _label(status: str) -> str:
    return _LABELS.get(status, status)


def local_when(moment: datetime.datetime, tz: zoneinfo.ZoneInfo, now: datetime.datetime) -> str:
    """ "16:45" when ``moment`` falls on today's date in ``tz``, else "16:45 on Mon 7 Dec"."""
    local = moment.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return f"{local:%H:%M}"
    return f"{local:%H:%M} on {local:%a} {local.day} {local:%b}"


def may_start_from(start: datetime.datetime, window_minutes: int) -> datetime.datetime:
    """The first moment a visit booked at ``start`` can be started."""
    return start - datetime.timedelta(minutes=window_minutes)


def session_began(start: datetime.datetime, session_started_at: datetime.datetime | None) -> datetime.datetime:
    """When the session began: the recorded start of session, else the booked start."""
    return session_started_at or start


def flow_refusal(current: str, wanted: str) -> str | None:
    """Why an appointment that is ``current`` cannot become ``wanted`` (choices.STATUS_FLOW)."""
    if wanted in STATUS_FLOW.get(current, set()):
        return None
    following = sorted(_label(s) for s in STATUS_FLOW.get(current, set()))
    after = f"it can become {', '.join(following)}" if following else "that is final"
    return f"An appointment that is {_label(current)} cannot become {_label(wanted)}: {after}."


def status_refusal(
    current: str,
    wanted: str,
    *,
    start: datetime.datetime,
    now: datetime.datetime,
    tz: zoneinfo.ZoneInfo,
    window_minutes: int,
) -> str | None:
    """Why the visit (status ``current``, booked at ``start`` in zone ``tz``) cannot move
    to ``wanted`` at ``now``, or None. Cancelling is cancel_refusal()."""
    if wanted == Status.CANCELLED:
        return "Cancel the appointment instead: a cancellation records why."
    refused = flow_refusal(current, wanted)
    if refused:
        return refused
    if wanted == Status.NO_SHOW and now < start:
        return "A patient can only be a no-show once the start time has passed."
    if wanted in SESSION_STATUSES and current != Status.IN_SESSION:
        opens = may_start_from(start, window_minutes)
        if now < opens:
            return f"You can start this visit from {local_when(opens, tz, now)}."
    if wanted == Status.CHECKED_IN and now.astimezone(tz).date() < start.astimezone(tz).date():
        local = start.astimezone(tz)
        return f"You can check the patient in on the day of the visit, {local:%a} {local.day} {local:%b}."
    return None


def cancel_refusal(current: str) -> str | None:
    """Why a visit that is ``current`` cannot be cancelled, or None."""
    if current == Status.IN_SESSION:
        return "The session has started: undo “Start session” first, then cancel."
    return flow_refusal(current, Status.CANCELLED)


def reschedule_refusal(current: str) -> str | None:
    """Why a visit that is ``current`` cannot be moved, or None."""
    if current == Status.BOOKED:
        return None
    if current in (Status.CHECKED_IN, Status.IN_SESSION):
        step = "checking in" if current == Status.CHECKED_IN else "“Start session”"
        return f"Only a booked appointment can be moved; this one is {_label(current)}: undo {step} first."
    return f"Only a booked appointment can be moved; this one is {_label(current)}."


def worth_saying(current: str, action: str, last_kind: str | None = None) -> bool:
    """Whether a page says why ``action`` is refused for a visit that is ``current``: for a
    next step that the flow allows but the clock or a rule does not yet (start from 16:45;
    undo the start before cancelling), never for a step that no longer applies (check in a
    completed visit) nor for a no-show before the start. Undo: when the last change could be undone
    but is refused (a signed note, another day, someone else's)."""
    if action == Status.NO_SHOW:
        return False  # before the start it goes without saying, on every row of a day's list
    if action in STATUS_ACTIONS:
        return action in STATUS_FLOW.get(current, set())
    if action == CANCEL:
        return current == Status.IN_SESSION
    if action == RESCHEDULE:
        return current in (Status.CHECKED_IN, Status.IN_SESSION)
    return action == UNDO and last_kind in UNDOABLE_KINDS


def undo_refusal(
    last_change,
    *,
    current: str,
    actor_id: int | None,
    may_undo_anyone: bool,
    now: datetime.datetime,
    tz: zoneinfo.ZoneInfo,
) -> str | None:
    """Why the visit's ``last_change`` (its newest AppointmentChange, or None) cannot be
    undone by the actor (``actor_id``; ``may_undo_anyone`` for the owner) at ``now``."""
    if last_change is None or last_change.kind not in UNDOABLE_KINDS:
        if last_change is not None and last_change.kind == ChangeKind.UNDO:
            return "The last change was an undo: make the change again instead."
        return "There is no status change to undo."
    if last_change.from_status not in Status.values or last_change.to_status != current:
        return "This appointment changed meanwhile; reload it and try again."
    if last_change.at.astimezone(tz).date() != now.astimezone(tz).date():
        return "A change can only be undone on the day it was made."
    if last_change.actor_id != actor_id and not may_undo_anyone:
        return "Only the person who made this change, or the owner, can undo it."
    return None
