"""Every write to appointments and series: book, reschedule, cancel, change status.

The actions live by concept in booking_actions.py (plan, book, reschedule),
status_actions.py (cancel, status, undo, and actions_now(): what a page may offer) and
series_actions.py (propose, book and cancel a series); this module gathers their public names, so callers write
``from effleura.scheduling import actions``.

check_*() authorizes and validates, in plain words for a clinic (ValidationError; a dict
of field -> message when a field is at fault); do_*() writes inside a transaction and, in
the same transaction, adds a line to the appointment's history (AppointmentChange), an
audit event naming the patient, and the patient's notifications
(scheduling/notifications.py). A write and its history, audit and emails are saved
together or not at all.

Never double-booked: see booking_actions.py and docs/decisions/0005-no-double-booking.md.
"""

from effleura.scheduling.action_support import MAX_TEXT, Status
from effleura.scheduling.booking import BookingConflict, NeedsConfirmation
from effleura.scheduling.booking_actions import (
    ATTEMPTS,
    PAST_GRACE,
    BookingPlan,
    check_book,
    check_reschedule,
    do_book,
    do_reschedule,
    plan_visit,
    warnings_for,
)
from effleura.scheduling.series_actions import (
    check_book_series,
    check_cancel_series_remaining,
    do_book_series,
    do_cancel_series_remaining,
    propose_series,
)
from effleura.scheduling.status_actions import (
    Option,
    StatusChange,
    Undo,
    actions_now,
    check_cancel,
    check_set_status,
    check_undo_status,
    do_cancel,
    do_set_status,
    do_undo_status,
    is_late_cancel,
    last_change,
    start_window,
)

__all__ = [
    "ATTEMPTS",
    "MAX_TEXT",
    "PAST_GRACE",
    "BookingConflict",
    "BookingPlan",
    "NeedsConfirmation",
    "Option",
    "Status",
    "StatusChange",
    "Undo",
    "actions_now",
    "check_book",
    "check_book_series",
    "check_cancel",
    "check_cancel_series_remaining",
    "check_reschedule",
    "check_set_status",
    "check_undo_status",
    "do_book",
    "do_book_series",
    "do_cancel",
    "do_cancel_series_remaining",
    "do_reschedule",
    "do_set_status",
    "do_undo_status",
    "is_late_cancel",
    "last_change",
    "plan_visit",
    "propose_series",
    "start_window",
    "warnings_for",
]
