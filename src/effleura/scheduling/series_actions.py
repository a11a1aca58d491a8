"""A series of visits: propose it (each visit checked as a booking would be, with
alternatives for the ones that clash), book it all or nothing, cancel what remains.
The rules of a series' shape are in series.py; each visit is booked by booking_actions.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from effleura.core import audit
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.values import clean_text
from effleura.scheduling import calendars, closures, notifications
from effleura.scheduling import series as planning
from effleura.scheduling.action_support import MAX_TEXT, Status, raise_errors
from effleura.scheduling.booking import BookingConflict, NeedsConfirmation
from effleura.scheduling.booking_actions import check_book, do_book, plan_visit
from effleura.scheduling.choices import HOLDS_TIME, STATUS_FLOW
from effleura.scheduling.models import Appointment, SchedulingPolicy, Series
from effleura.scheduling.status_actions import cancel_locked

# How many days either side of a closed day a series looks for another day.
ALTERNATIVE_DAYS = 3


def propose_series(
    actor,
    patient,
    practitioner,
    service,
    location,
    first_start,
    visits: int,
    *,
    every_days=None,
    weekdays=None,
    duration=None,
    room=None,
    now=None,
) -> list:
    """Plan a series (series.plan_starts) and check each visit as a booking would, saving
    nothing. Returns series.ProposedVisit for each: ``ok``, or ``conflict`` with the
    problem and up to three alternatives that day (the same practitioner at other times,
    or another practitioner who gives the service), none clashing with the patient's
    other appointments; a visit on a closed day (a holiday) gets the nearest open days
    instead. Bad input (an unknown duration, a practitioner who does not give
    the service) raises ValidationError as a booking would."""
    authorize(actor, "appointment.book", patient_id=patient.public_id)
    now = now or timezone.now()
    errors = planning.pattern_errors(visits, every_days, weekdays)
    if not isinstance(first_start, datetime.datetime) or timezone.is_naive(first_start):
        errors["start"] = "Give the first start with its UTC offset, e.g. 2025-03-04T10:00:00-06:00."
    raise_errors(errors)
    duration = calendars.check_duration(service, duration)
    starts = planning.plan_starts(first_start, location.tz, visits, every_days=every_days, weekdays=weekdays)
    tz = location.tz
    planned_days = {start.astimezone(tz).date() for start in starts}
    closed = closures.closed_days(location, min(planned_days), max(planned_days))
    proposals = []
    for number, start in enumerate(starts, 1):
        end = start + datetime.timedelta(minutes=duration)
        try:
            plan = plan_visit(
                patient=patient,
                practitioner=practitioner,
                service=service,
                location=location,
                start=start,
                duration=duration,
                room=room,
                now=now,
            )
        except BookingConflict as exc:
            problem = exc.messages[0]
        except ValidationError as exc:
            if not hasattr(exc, "error_dict") or set(exc.error_dict) != {"start"}:
                raise  # wrong for every visit, not a matter of this visit's time
            problem = " ".join(exc.messages)
        else:
            proposals.append(planning.ProposedVisit(number, start, plan.end, practitioner, plan.room))
            continue
        is_closed = start.astimezone(tz).date() in closed
        proposals.append(
            planning.ProposedVisit(
                number,
                start,
                end,
                practitioner,
                room,
                status=planning.CONFLICT,
                problem=problem,
                alternatives=_alternatives(
                    patient,
                    practitioner,
                    service,
                    location,
                    start,
                    duration,
                    now,
                    other_days=planned_days if is_closed else None,
                ),
                closed=is_closed,
            )
        )
    return proposals


def _alternatives(patient, practitioner, service, location, wanted, duration, now, *, other_days=None) -> list:
    """Up to three bookable slots on the local day of ``wanted`` (series.pick_alternatives).
    A closed day has none, so ``other_days`` (the series' planned days) asks for the
    nearest open days instead, ALTERNATIVE_DAYS either side, leaving out the days the
    series already has a visit."""
    tz = location.tz
    day = wanted.astimezone(tz).date()
    reach = ALTERNATIVE_DAYS if other_days is not None else 0
    day_start = datetime.datetime.combine(day - datetime.timedelta(days=reach), datetime.time(0), tzinfo=tz)
    day_end = datetime.datetime.combine(day + datetime.timedelta(days=reach + 1), datetime.time(0), tzinfo=tz)
    slots = calendars.available_slots(service, location, day_start, day_end, duration=duration, now=now)
    if other_days is not None:
        slots = _nearest_each_day(slots, wanted, tz, other_days)
    blocked = (
        Appointment.objects.overlapping(day_start, day_end)
        .filter(patient=patient, status__in=HOLDS_TIME)
        .values_list("start", "end")
    )
    return planning.pick_alternatives(
        wanted,
        practitioner,
        (planning.Alternative(s.start, s.end, s.practitioner, s.room) for s in slots),
        blocked=blocked,
    )


def _nearest_each_day(slots, wanted, tz, other_days) -> list:
    """Of each day's slots (per practitioner), the one nearest ``wanted``'s wall-clock time,
    leaving out ``other_days``: a closed day's alternatives are other days, not three times
    on the same one."""
    wall = wanted.astimezone(tz)
    best: dict = {}
    for slot in slots:
        local = slot.start.astimezone(tz)
        if local.date() in other_days:
            continue
        gap = abs((local.hour * 60 + local.minute) - (wall.hour * 60 + wall.minute))
        key = (local.date(), slot.practitioner.pk)
        if key not in best or gap < best[key][0]:
            best[key] = (gap, slot)
    return [slot for _gap, slot in best.values()]


def check_book_series(
    actor, patient, practitioner, service, location, visits, *, every_days=None, weekdays=None
) -> list:
    """May ``actor`` book a series for ``patient``, and is its shape sound? Returns the
    visits (each an aware start, or a series.Visit to change practitioner or room), sorted.
    Each visit is checked by do_book_series() inside its transaction."""
    authorize(actor, "appointment.book", patient_id=patient.public_id)
    errors = planning.pattern_errors(len(visits), every_days, weekdays, require_pattern=False)
    raise_errors(errors)
    chosen = [planning.Visit.of(v) for v in visits]
    naive = [n for n, v in enumerate(chosen, 1) if timezone.is_naive(v.start)]
    if naive:
        raise ValidationError({"visits": f"Visit {naive[0]}: give the start with its UTC offset."})
    return sorted(chosen, key=lambda v: v.start)


def do_book_series(
    actor,
    patient,
    practitioner,
    service,
    location,
    visits,
    *,
    duration=None,
    room=None,
    every_days=None,
    weekdays=None,
    notes="",
    now=None,
    confirm_warnings=False,
) -> Series:
    """Book every visit of a series, or none: one transaction for the Series row and all
    its appointments. The first visit that cannot be booked raises (BookingConflict or
    ValidationError) naming it ("Visit 5 of 8: …"), and nothing is saved.

    Each visit goes through check_book() with the visits before it already in, so the
    booking warnings count them (the 4th visit of a series on a referral with three left
    warns). Without ``confirm_warnings`` the warnings of every visit are gathered and
    raised together as NeedsConfirmation, and nothing is saved.

    The patient gets one confirmation email listing every visit (notifications.series_booked),
    and a reminder before each."""
    chosen = check_book_series(
        actor, patient, practitioner, service, location, visits, every_days=every_days, weekdays=weekdays
    )
    duration = calendars.check_duration(service, duration)
    total = len(chosen)
    with transaction.atomic():
        series = Series.objects.create(
            patient=patient,
            practitioner=practitioner,
            service=service,
            location=location,
            duration_minutes=duration,
            visits=total,
            every_days=every_days,
            weekdays=sorted(set(weekdays or [])),
            created_by=actor,
        )
        warnings: list[str] = []
        for number, visit in enumerate(chosen, 1):
            args = (patient, visit.practitioner or practitioner, service, location, visit.start, duration)
            fields = {"room": visit.room or room, "notes": notes, "series": series, "now": now}
            try:
                try:
                    plan = check_book(actor, *args, **fields, confirm_warnings=confirm_warnings)
                except NeedsConfirmation as exc:
                    # Note what this visit needs confirming, and book on (rolled back below),
                    # so the visits after it count it and every warning is listed at once.
                    warnings += [f"Visit {number} of {total}: {w}" for w in exc.warnings]
                    plan = check_book(actor, *args, **fields, confirm_warnings=True)
                do_book(actor, plan)
            except BookingConflict as exc:
                raise exc.for_visit(number, total) from None
            except ValidationError as exc:
                raise ValidationError(f"Visit {number} of {total}: {' '.join(exc.messages)}") from None
        if warnings:
            raise NeedsConfirmation(warnings)  # leaves the transaction: nothing is saved
        audit.record(
            actor,
            AuditAction.CREATE,
            "appointment",
            record_id=series.public_id,
            patient_id=patient.public_id,
            detail=f"series of {total} booked",
        )
        notifications.series_booked(series)
    return series


def check_cancel_series_remaining(actor, series: Series, reason) -> str:
    """May ``actor`` cancel the visits of ``series`` still ahead? Returns the cleaned
    reason (required) for do_cancel_series_remaining()."""
    authorize(actor, "appointment.change", patient_id=series.patient.public_id, record_id=series.public_id)
    errors: dict[str, str] = {}
    reason = clean_text(
        reason, "reason", errors, limit=MAX_TEXT, required="Say why the remaining visits are cancelled."
    )
    raise_errors(errors)
    return reason


def do_cancel_series_remaining(actor, series: Series, reason: str, *, now=None) -> list[Appointment]:
    """Cancel every visit of ``series`` still ahead (start after now) that holds time and
    may be cancelled; visits already past or under way stay as they are."""
    now = now or timezone.now()
    policy = SchedulingPolicy.current()
    cancellable = [s for s, following in STATUS_FLOW.items() if Status.CANCELLED in following and s in HOLDS_TIME]
    with transaction.atomic():
        ahead = series.appointments.filter(start__gt=now, status__in=cancellable).order_by("start")
        pks = list(ahead.values_list("pk", flat=True))
        cancelled = [cancel_locked(actor, pk, reason, now, policy, detail="series: remaining visits ") for pk in pks]
    return cancelled
