"""The demo clinic's scheduling: two locations, rooms, hours, services, the booking policy,
and four weeks of appointments around today (two back, two ahead) in every status, a
couple of treatment series and a few patients on the waitlist.

Called once by effleura.demo.data.load_demo() inside its transaction, after the staff
and patients exist. Everything goes through the same check_*/do_* actions the screens
use, acting as the member of staff who would do it (set-up by the owner, bookings by the
front desk, statuses by the therapist), so the calendar, histories and audit trail look
like real use. Past visits are booked "as of" a day or two before they happened, using
the actions' ``now`` argument. A fixed seed makes every load the same for a given day;
the booking actions refuse any double booking, and a slot they refuse is skipped.

The set-up (policy, locations, rooms, services, working hours) is data:
demo/scheduling.yaml. While loading, the policy sends no emails (the demo's patients are
made up); at the end confirmations and reminders are switched on, so bookings made in the
demo show them.
"""

import datetime
import random
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from effleura.patients.choices import PatientStatus
from effleura.scheduling import actions, closures, hours, setup
from effleura.scheduling import waitlist as waitlist_rules
from effleura.scheduling.booking import BookingConflict
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment, Location

# The policy, locations, rooms, services and working hours: demo/scheduling.yaml.
with open(Path(__file__).with_name("scheduling.yaml"), encoding="utf-8") as _file:
    SETUP = yaml.safe_load(_file)

SEED = 2026
TZ_NAME = SETUP["time_zone"]
TZ = zoneinfo.ZoneInfo(TZ_NAME)
CLINIC = SETUP["locations"]["clinic"]["name"]
HOSPITAL = SETUP["locations"]["hospital"]["name"]
DAYS_BACK = 14
DAYS_AHEAD = 14
STEP = SETUP["policy"]["slot_step_minutes"]  # minutes: starts fall on the quarter hour

Status = AppointmentStatus


@dataclass(frozen=True)
class SchedulingDemo:
    created: bool
    locations: int
    appointments: int
    series: int
    waitlist: int


def _t(text: str) -> datetime.time:
    return datetime.time.fromisoformat(text)


def _at(day: datetime.date, clock: datetime.time) -> datetime.datetime:
    return datetime.datetime.combine(day, clock, tzinfo=TZ)


# Set-up ----------------------------------------------------------------------------------


def _week(days, opens: str, closes: str) -> list[dict]:
    return [{"weekday": d, "opens": opens, "closes": closes} for d in days]


def _save(check, do, actor, data):
    return do(actor, check(actor, data))


def _create_setup(staff: dict) -> dict:
    """The policy, locations, rooms, services and working hours of scheduling.yaml, saved by the owner."""
    owner = staff["owner"]
    policy = dict(SETUP["policy"])  # confirmations and reminders switched on at the end (module docstring)
    _save(setup.check_save_policy, setup.do_save_policy, owner, policy)
    locations = {}
    for key, data in SETUP["locations"].items():
        hours_of = [day for days, opens, closes in data["opening_hours"] for day in _week(days, opens, closes)]
        fields = {k: v for k, v in data.items() if k != "opening_hours"}
        fields |= {"time_zone": TZ_NAME, "opening_hours": hours_of}
        locations[key] = _save(setup.check_save_location, setup.do_save_location, owner, fields)
    rooms = [
        _save(setup.check_save_room, setup.do_save_room, owner, {"location": locations[key], "name": name})
        for key, names in SETUP["rooms"].items()
        for name in names
    ]
    services = {}
    for key, data in SETUP["services"].items():
        fields = data | {
            "default_price": Decimal(data["default_price"]),
            "practitioners": [staff[username] for username in data["practitioners"]],
        }
        services[key] = _save(setup.check_save_service, setup.do_save_service, owner, fields)
    # (who, where, weekdays, start, end): nobody is in two places at once.
    pattern = [
        (staff[username], locations[where], days, start, end)
        for username, where, days, start, end in SETUP["working_hours"]
    ]
    for who, where, days, start, end in pattern:
        for day in days:
            data = {"practitioner": who, "location": where, "weekday": day, "start": start, "end": end}
            _save(hours.check_save_working_hours, hours.do_save_working_hours, owner, data)
    for data in SETUP.get("closures", []):
        fields = data | {"location": locations[data["location"]] if data["location"] else None}
        _save(closures.check_save_closure, closures.do_save_closure, owner, fields)
    return {
        "clinic": locations["clinic"],
        "hospital": locations["hospital"],
        "rooms": rooms,
        "services": services,
        "pattern": pattern,
    }


def _time_off(owner, sam, today: datetime.date) -> None:
    """Sam is on a course one weekday next week: the calendar shows the gap."""
    day = today + datetime.timedelta(days=7)
    while day.weekday() not in (1, 2, 3):
        day += datetime.timedelta(days=1)
    data = {
        "practitioner": sam,
        "start": _at(day, _t("00:00")),
        "end": _at(day + datetime.timedelta(days=1), _t("00:00")),
        "reason": "Continuing-education course",
    }
    _save(hours.check_save_time_off, hours.do_save_time_off, owner, data)


# Appointments ---------------------------------------------------------------------------


class _Book:
    """Books visits through the real actions, as of a moment before each one."""

    def __init__(self, staff: dict, now: datetime.datetime):
        self.desk = staff["frontdesk"]
        self.now = now
        self.count = 0

    def booked_as_of(self, start: datetime.datetime, rng: random.Random) -> datetime.datetime:
        """When the visit was booked: a few days before it, and never after the real now."""
        return min(self.now, start - datetime.timedelta(days=rng.randint(2, 10), hours=rng.randint(0, 8)))

    def one(self, patient, practitioner, service, location, start, duration, rng) -> Appointment | None:
        try:
            plan = actions.check_book(
                self.desk,
                patient,
                practitioner,
                service,
                location,
                start,
                duration,
                None,
                now=self.booked_as_of(start, rng),
                confirm_warnings=True,  # the story's desk confirmed what it was told
            )
            appointment = actions.do_book(self.desk, plan)
        except (BookingConflict, ValidationError):
            return None  # taken, or outside hours: a real desk would pick another time
        self.count += 1
        return appointment


def _status(actor, appointment, status, now, **extra):
    change = actions.check_set_status(actor, appointment, status, now=now, **extra)
    return actions.do_set_status(actor, appointment, change, now=now)


INTERRUPTIONS = [
    "Patient taken for an X-ray.",
    "Care team needed the patient for a dressing change.",
    "Patient became drowsy after medication; stopped early.",
    "Physician's round.",
]
CANCEL_REASONS = [
    "Patient called: unwell.",
    "Patient called: work commitment.",
    "Patient called: car trouble.",
    "Patient called: family matter.",
    "Clinic closed early (storm warning).",
]


def _live_out(appointment, staff, rng, now, *, bedside: bool) -> Appointment:
    """Give a visit the fate it would have had by ``now``."""
    desk, therapist = staff["frontdesk"], appointment.practitioner
    start, end = appointment.start, appointment.end
    roll = rng.random()
    if roll < 0.09:  # cancelled in advance, or late (within the policy's 24 hours)
        late = rng.random() < 0.45
        hours_before = rng.randint(2, 20) if late else rng.randint(26, 96)
        when = min(now - datetime.timedelta(minutes=5), start - datetime.timedelta(hours=hours_before))
        reason = actions.check_cancel(desk, appointment, rng.choice(CANCEL_REASONS))
        return actions.do_cancel(desk, appointment, reason, now=when)
    if start > now:
        return appointment  # still ahead: booked
    if end <= now and roll < 0.14 and not bedside:
        return _status(desk, appointment, Status.NO_SHOW, start + datetime.timedelta(minutes=20))
    if bedside and end <= now and roll < 0.30:
        appointment = _status(therapist, appointment, Status.IN_SESSION, start)
        minutes = rng.choice([5, 10, 15]) if appointment.duration_minutes > 15 else 5
        return _status(
            therapist,
            appointment,
            Status.INTERRUPTED,
            start + datetime.timedelta(minutes=minutes),
            reason=rng.choice(INTERRUPTIONS),
            minutes_delivered=minutes,
        )
    if not bedside:
        appointment = _status(desk, appointment, Status.CHECKED_IN, start - datetime.timedelta(minutes=5))
    if end > now:
        return _status(therapist, appointment, Status.IN_SESSION, start)
    return _status(therapist, appointment, Status.COMPLETED, end)


def _fill_day(book: _Book, day, who, where, start_text, end_text, services, patients, rng) -> list:
    """Visits one after another through a working block, with the odd gap."""
    bedside = where.name == HOSPITAL
    made = []
    cursor = _at(day, _t(start_text))
    finish = _at(day, _t(end_text))
    while True:
        cursor += datetime.timedelta(minutes=STEP * rng.choice([0, 0, 0, 1, 2, 4]))
        if bedside:
            service = services["bedside"]
        elif who.username == "therapist2" and rng.random() < 0.4:
            service = services["mld"]
        else:
            service = services["massage"]
        duration = rng.choice(service.durations[:2] if bedside else service.durations + [service.durations[0]] * 2)
        end = cursor + datetime.timedelta(minutes=duration)
        if end > finish:
            break
        for patient in rng.sample(patients, 3):  # the first one free at that time
            appointment = book.one(patient, who, service, where, cursor, duration, rng)
            if appointment is not None:
                made.append((appointment, bedside))
                break
        changeover = service.changeover_minutes
        cursor = end + datetime.timedelta(minutes=-(-changeover // STEP) * STEP)
    return made


def _series(book: _Book, staff, setup_data, patients, today, now, rng) -> int:
    """Two series: lymphatic drainage twice a week for four weeks (half done), and weekly
    clinical massage starting next week."""
    desk = staff["frontdesk"]
    clinic, services = setup_data["clinic"], setup_data["services"]
    made = 0
    monday = today - datetime.timedelta(days=today.weekday())
    plans = [
        (patients[0], staff["therapist2"], services["mld"], monday - datetime.timedelta(weeks=2), [0, 2], "10:00", 60),
        (patients[1], staff["therapist"], services["massage"], monday + datetime.timedelta(weeks=1), None, "16:00", 60),
    ]
    for patient, who, service, first_monday, weekdays, clock, duration in plans:
        if weekdays:
            starts = [
                _at(first_monday + datetime.timedelta(weeks=w, days=d), _t(clock)) for w in range(4) for d in weekdays
            ]
        else:
            starts = [_at(first_monday + datetime.timedelta(weeks=w, days=1), _t(clock)) for w in range(4)]
        as_of = book.booked_as_of(starts[0], rng)
        try:
            series = actions.do_book_series(
                desk,
                patient,
                who,
                service,
                clinic,
                starts,
                duration=duration,
                weekdays=weekdays,
                every_days=None if weekdays else 7,
                now=as_of,
                confirm_warnings=True,  # the story's desk confirmed what it was told
            )
        except (BookingConflict, ValidationError):
            continue
        made += 1
        for appointment in series.appointments.order_by("start"):
            book.count += 1
            if appointment.end <= now:
                appointment = _status(
                    desk, appointment, Status.CHECKED_IN, appointment.start - datetime.timedelta(minutes=5)
                )
                _status(who, appointment, Status.COMPLETED, appointment.end)
    return made


def _waitlist(staff, setup_data, patients, freed: Appointment | None, today) -> int:
    """A few patients waiting for an earlier time; the first fits a visit cancelled this week."""
    desk = staff["frontdesk"]
    clinic, hospital, services = setup_data["clinic"], setup_data["hospital"], setup_data["services"]
    entries = []
    if freed is not None:
        local = freed.start.astimezone(TZ)
        entries.append(
            (
                patients[0],
                {
                    "service": freed.service,
                    "location": freed.location,
                    "practitioner": None,
                    "duration_minutes": freed.duration_minutes,
                    "windows": [
                        {"weekday": local.weekday(), "start": "09:00", "end": "17:00"},
                        {"weekday": (local.weekday() + 2) % 5, "start": "12:00", "end": "17:00"},
                    ],
                    "notes": "Can come at short notice; call the mobile.",
                },
            )
        )
    entries += [
        (
            patients[1],
            {
                "service": services["massage"],
                "location": clinic,
                "practitioner": staff["therapist"],
                "duration_minutes": 90,
                "windows": [{"weekday": 5, "start": "09:00", "end": "14:00"}],
                "latest": today + datetime.timedelta(days=30),
                "notes": "Wants a Saturday with Jordan.",
            },
        ),
        (
            patients[2],
            {
                "service": services["mld"],
                "location": clinic,
                "practitioner": staff["therapist2"],
                "duration_minutes": 60,
                "windows": [{"weekday": d, "start": "15:00", "end": "18:00"} for d in (0, 2, 4)],
                "earliest": today + datetime.timedelta(days=3),
            },
        ),
        (
            patients[3],
            {
                "service": services["bedside"],
                "location": hospital,
                "practitioner": None,
                "duration_minutes": 30,
                "windows": [{"weekday": d, "start": "09:00", "end": "12:00"} for d in range(5)],
                "notes": "Inpatient on Ward 4; the nurses know.",
            },
        ),
    ]
    for patient, data in entries:
        clean = waitlist_rules.check_add_waitlist_entry(desk, patient, {"earliest": None, "latest": None} | data)
        waitlist_rules.do_add_waitlist_entry(desk, patient, clean)
    return len(entries)


def load_scheduling_demo(staff: dict, patients: list, today: datetime.date | None = None) -> SchedulingDemo:
    """Load the demo clinic's scheduling once (nothing happens if its clinic exists).

    ``staff``: the demo's users by username (owner, therapist, therapist2, therapist3,
    frontdesk, billing); ``patients``: the demo's patients; ``today``: the day the demo is
    built around (default: today at the clinic, in Los Angeles)."""
    if Location.objects.filter(name=CLINIC).exists():
        return SchedulingDemo(False, Location.objects.count(), Appointment.objects.count(), 0, 0)
    rng = random.Random(SEED)
    now = timezone.now()
    today = today or now.astimezone(TZ).date()
    active = sorted((p for p in patients if p.status == PatientStatus.ACTIVE), key=lambda p: p.chart_number)
    with transaction.atomic():
        setup_data = _create_setup(staff)
        _time_off(staff["owner"], staff["therapist3"], today)
        book = _Book(staff, now)
        # The series first, so the day-by-day bookings fit around them.
        series_patients, everyone_else = active[:2], active[2:]
        series = _series(book, staff, setup_data, series_patients, today, now, rng)
        waiting_patients, booked_patients = everyone_else[:4], everyone_else[4:]
        made = []
        for offset in range(-DAYS_BACK, DAYS_AHEAD + 1):
            day = today + datetime.timedelta(days=offset)
            for who, where, days, start, end in setup_data["pattern"]:
                if day.weekday() in days:
                    made += _fill_day(book, day, who, where, start, end, setup_data["services"], booked_patients, rng)
        freed = None
        for appointment, bedside in made:
            appointment = _live_out(appointment, staff, rng, now, bedside=bedside)
            if freed is None and _good_to_free(appointment, now):
                freed = appointment
        if freed is not None:
            reason = actions.check_cancel(staff["frontdesk"], freed, "Patient called: has a cold.")
            freed = actions.do_cancel(staff["frontdesk"], freed, reason, now=now - datetime.timedelta(hours=1))
        waiting = _waitlist(staff, setup_data, waiting_patients, freed, today)
        on = {"send_confirmations": True, "send_reminders": True}
        _save(setup.check_save_policy, setup.do_save_policy, staff["owner"], on)
    return SchedulingDemo(True, 2, book.count, series, waiting)


def _good_to_free(appointment: Appointment, now: datetime.datetime) -> bool:
    """A clinical massage with Jordan two or more days ahead, still booked: cancelled at the
    end, so the waitlist has a match to show."""
    return (
        appointment.status == Status.BOOKED
        and appointment.start > now + datetime.timedelta(days=2)
        and appointment.practitioner.username == "therapist"
        and appointment.service.name == "Clinical massage"
    )
