"""The waitlist: the matching rule (pure), and adding, removing and booking entries."""

import datetime
import zoneinfo
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from effleura.core.models import AuditEvent
from effleura.scheduling import access, actions
from effleura.scheduling import waitlist as rules
from effleura.scheduling.booking import BookingConflict
from effleura.scheduling.choices import AppointmentStatus, WaitlistStatus
from effleura.scheduling.models import WaitlistEntry

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
MONDAY = datetime.date(2030, 3, 4)  # a Monday in Chicago's winter time (UTC-6)


def _slot(day=MONDAY, hhmm="10:00", minutes=60, **over):
    start = datetime.datetime.combine(day, datetime.time.fromisoformat(hhmm), tzinfo=CHICAGO)
    fields = {
        "start": start,
        "end": start + datetime.timedelta(minutes=minutes),
        "practitioner_id": 1,
        "location_id": 10,
        "service_id": 100,
        "tz": CHICAGO,
    }
    return rules.FreedSlot(**(fields | over))


_created = iter(range(1, 10_000))


def _entry(**over):
    n = next(_created)
    fields = {
        "pk": n,
        "status": WaitlistStatus.WAITING,
        "location_id": 10,
        "service_id": 100,
        "practitioner_id": None,
        "duration_minutes": 60,
        "windows": [{"weekday": 0, "start": "09:00", "end": "12:00"}],
        "earliest": None,
        "latest": None,
        "created_at": datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(hours=n),
    }
    return SimpleNamespace(**(fields | over))


# The rule -----------------------------------------------------------------------------------


def test_an_entry_with_a_window_around_the_slot_matches():
    entry = _entry()
    assert rules.matching_entries(_slot(), [entry]) == [entry]


@pytest.mark.parametrize(
    "change",
    [
        {"status": WaitlistStatus.BOOKED},
        {"status": WaitlistStatus.REMOVED},
        {"location_id": 11},
        {"service_id": 101},
        {"practitioner_id": 2},
        {"duration_minutes": 90},
        {"windows": [{"weekday": 1, "start": "09:00", "end": "12:00"}]},  # Tuesdays only
        {"windows": [{"weekday": 0, "start": "10:30", "end": "12:00"}]},  # starts too early for them
        {"windows": [{"weekday": 0, "start": "09:00", "end": "10:30"}]},  # runs past their window
        {"earliest": MONDAY + datetime.timedelta(days=1)},
        {"latest": MONDAY - datetime.timedelta(days=1)},
    ],
)
def test_an_entry_that_differs_in_any_one_way_does_not_match(change):
    assert rules.matching_entries(_slot(), [_entry(**change)]) == []


def test_a_preferred_practitioner_matches_their_own_slot():
    assert rules.matching_entries(_slot(), [_entry(practitioner_id=1)])


def test_a_shorter_visit_fits_a_longer_freed_slot_and_only_its_own_length_must_fit_the_window():
    entry = _entry(duration_minutes=30, windows=[{"weekday": 0, "start": "10:00", "end": "10:30"}])
    assert rules.matching_entries(_slot(minutes=60), [entry]) == [entry]


def test_the_window_edges_are_inclusive_and_the_dates_too():
    entry = _entry(windows=[{"weekday": 0, "start": "10:00", "end": "11:00"}], earliest=MONDAY, latest=MONDAY)
    assert rules.matching_entries(_slot(), [entry]) == [entry]


def test_windows_are_read_in_the_locations_local_time_not_utc():
    # 10:00 in Chicago is 16:00 UTC: a window of 09:00–12:00 local fits, a window set in UTC would not.
    slot = _slot()
    assert slot.start.astimezone(datetime.UTC).hour == 16
    assert rules.matching_entries(slot, [_entry()])
    la = zoneinfo.ZoneInfo("America/Los_Angeles")
    assert rules.matching_entries(_slot(tz=la), [_entry()]) == []  # 08:00 in Los Angeles


def test_local_time_follows_daylight_saving():
    # 2030-03-11 is the Monday after the spring change: 10:00 local is 15:00 UTC, not 16:00.
    start = datetime.datetime(2030, 3, 11, 15, 0, tzinfo=datetime.UTC)
    slot = _slot(start=start, end=start + datetime.timedelta(hours=1))
    assert rules.matching_entries(slot, [_entry(windows=[{"weekday": 0, "start": "10:00", "end": "11:00"}])])


def test_matches_come_oldest_first():
    newer, older = _entry(), _entry()
    newer.created_at, older.created_at = older.created_at, newer.created_at
    assert rules.matching_entries(_slot(), [newer, older]) == [older, newer]


def test_a_visit_past_midnight_fits_no_window():
    slot = _slot(hhmm="23:30")
    entry = _entry(windows=[{"weekday": 0, "start": "20:00", "end": "23:59"}])
    assert rules.matching_entries(slot, [entry]) == []


# Windows ------------------------------------------------------------------------------------


def test_windows_are_cleaned_sorted_and_deduplicated():
    raw = [
        {"weekday": 3, "start": "14:00", "end": "18:00"},
        {"weekday": 0, "start": "09:00", "end": "12:00"},
        {"weekday": 3, "start": "14:00", "end": "18:00"},
    ]
    assert rules.clean_windows(raw) == [raw[1], raw[0]]
    assert rules.describe_windows(rules.clean_windows(raw)) == "Mon 09:00–12:00, Thu 14:00–18:00"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ([], "at least one"),
        (None, "at least one"),
        ([{"weekday": 7, "start": "09:00", "end": "12:00"}], "0 (Monday) to 6 (Sunday)"),
        ([{"weekday": True, "start": "09:00", "end": "12:00"}], "0 (Monday) to 6 (Sunday)"),
        ([{"weekday": 1, "start": "9:00", "end": "12:00"}], "HH:MM"),
        ([{"weekday": 1, "start": "09:00", "end": "24:00"}], "HH:MM"),
        ([{"weekday": 1, "start": "12:00", "end": "09:00"}], "must be after the start"),
        ([{"weekday": 1, "start": "12:00", "end": "12:00"}], "must be after the start"),
        ([{"weekday": 1, "start": "09:00"}], "give a weekday, a start and an end"),
        ([{"weekday": 1, "start": "09:00", "end": "12:00", "extra": 1}], "give a weekday, a start and an end"),
    ],
)
def test_bad_windows_are_refused_in_words(raw, says):
    with pytest.raises(ValidationError) as caught:
        rules.clean_windows(raw)
    assert says in " ".join(caught.value.message_dict["windows"])


# Adding and removing -----------------------------------------------------------------------


WEEKDAY_MORNINGS = [{"weekday": d, "start": "09:00", "end": "12:00"} for d in range(5)]


@pytest.fixture
def add_entry(location, service, front_desk):
    def add(patient, actor=None, **over):
        data = {
            "service": service,
            "location": location,
            "practitioner": None,
            "duration_minutes": 60,
            "windows": WEEKDAY_MORNINGS,
            "earliest": None,
            "latest": None,
            "notes": "",
        } | over
        clean = rules.check_add_waitlist_entry(actor or front_desk, patient, data)
        return rules.do_add_waitlist_entry(actor or front_desk, patient, clean)

    return add


def test_the_front_desk_puts_a_patient_on_the_waitlist_and_it_is_audited(add_entry, make_patient, front_desk):
    patient = make_patient()
    entry = add_entry(patient, notes="Prefers Room 1")
    assert entry.status == WaitlistStatus.WAITING and entry.created_by == front_desk
    assert entry.windows == WEEKDAY_MORNINGS
    event = AuditEvent.objects.get(record_type="waitlist_entry", action="create")
    assert event.patient_id == patient.public_id and event.record_id == str(entry.public_id)


def test_a_missing_length_takes_the_services_usual_length(add_entry, make_patient):
    assert add_entry(make_patient(), duration_minutes=None).duration_minutes == 60


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"duration_minutes": 45}, "duration_minutes"),
        ({"windows": []}, "windows"),
        ({"earliest": datetime.date(2030, 5, 2), "latest": datetime.date(2030, 5, 1)}, "latest"),
        ({"latest": datetime.date(2020, 1, 1)}, "latest"),
        ({"notes": "x" * 301}, "notes"),
        ({"service": None}, "service"),
        ({"location": None}, "location"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_field(add_entry, make_patient, over, field):
    with pytest.raises(ValidationError) as caught:
        add_entry(make_patient(), **over)
    assert field in caught.value.message_dict
    assert not WaitlistEntry.objects.exists()


def test_a_preferred_practitioner_must_give_the_service(add_entry, make_patient, owner):
    with pytest.raises(ValidationError) as caught:
        add_entry(make_patient(), practitioner=owner)
    assert "does not give Clinical massage" in caught.value.message_dict["practitioner"][0]


def test_billing_may_not_add_to_the_waitlist_and_the_refusal_is_audited(add_entry, make_patient, billing):
    patient = make_patient()
    with pytest.raises(PermissionDenied):
        add_entry(patient, actor=billing)
    assert AuditEvent.objects.filter(outcome="denied", patient_id=patient.public_id).exists()


def test_removing_an_entry_keeps_it_marked_removed(add_entry, make_patient, front_desk):
    entry = add_entry(make_patient())
    rules.check_remove_waitlist_entry(front_desk, entry)
    rules.do_remove_waitlist_entry(front_desk, entry)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.REMOVED
    with pytest.raises(ValidationError):
        rules.check_remove_waitlist_entry(front_desk, entry)


# Matches for a cancelled appointment and booking one ---------------------------------------


@pytest.fixture
def cancelled(location, room, service, hours, therapist, front_desk, make_patient, next_monday, at):
    """Monday 10:00–11:00 with the therapist in Room 1, booked and then cancelled."""
    appointment = actions.do_book(
        front_desk,
        actions.check_book(
            front_desk,
            make_patient(legal_first_name="Cancelling"),
            therapist,
            service,
            location,
            at(next_monday, "10:00"),
            60,
            room,
        ),
    )
    return actions.do_cancel(front_desk, appointment, "Patient is unwell.")


def test_a_cancelled_appointment_lists_the_entries_that_fit_it_oldest_first(
    add_entry, cancelled, make_patient, service, location, django_assert_max_num_queries
):
    first, second = add_entry(make_patient()), add_entry(make_patient())
    add_entry(make_patient(), windows=[{"weekday": 0, "start": "13:00", "end": "17:00"}])  # afternoons only
    add_entry(make_patient(), duration_minutes=30)  # fits: shorter
    with django_assert_max_num_queries(4):
        found = rules.matches_for_appointment(cancelled)
    assert found[:2] == [first, second] and len(found) == 3


def test_no_matches_for_an_appointment_that_still_holds_its_time(add_entry, cancelled, make_patient, front_desk):
    add_entry(make_patient())
    cancelled.status = AppointmentStatus.BOOKED
    assert rules.matches_for_appointment(cancelled) == []


def test_no_matches_once_the_freed_time_is_booked_again(
    add_entry, cancelled, make_patient, front_desk, therapist, service, location, room
):
    add_entry(make_patient())
    actions.do_book(
        front_desk,
        actions.check_book(front_desk, make_patient(), therapist, service, location, cancelled.start, 60, room),
    )
    assert rules.matches_for_appointment(cancelled) == []


def test_the_patient_who_cancelled_and_patients_busy_then_are_left_out(
    add_entry, cancelled, make_patient, front_desk, therapist, owner, service, location, room2
):
    add_entry(cancelled.patient)
    busy = make_patient()
    add_entry(busy)
    service.practitioners.add(owner)
    from effleura.scheduling.models import WorkingHours

    WorkingHours.objects.create(
        practitioner=owner, location=location, weekday=0, start=datetime.time(9), end=datetime.time(17)
    )
    actions.do_book(
        front_desk, actions.check_book(front_desk, busy, owner, service, location, cancelled.start, 60, room2)
    )
    assert rules.matches_for_appointment(cancelled) == []


def test_a_past_cancelled_appointment_has_no_matches(add_entry, cancelled, make_patient):
    add_entry(make_patient())
    assert rules.matches_for_appointment(cancelled, now=cancelled.start + datetime.timedelta(minutes=1)) == []


def test_reading_matches_is_audited_per_patient_shown(add_entry, cancelled, make_patient, front_desk):
    entry = add_entry(make_patient())
    before = AuditEvent.objects.count()
    assert access.access_waitlist_matches(front_desk, cancelled) == [entry]
    events = list(AuditEvent.objects.order_by("-id")[: AuditEvent.objects.count() - before])
    assert [e.patient_id for e in events] == [entry.patient.public_id]


def test_booking_from_the_waitlist_books_the_patient_and_marks_the_entry(
    add_entry, cancelled, make_patient, front_desk, therapist
):
    entry = add_entry(make_patient(), duration_minutes=30)
    rules.check_book_from_waitlist(front_desk, entry)
    appointment = rules.do_book_from_waitlist(front_desk, entry, cancelled.start, therapist, room=cancelled.room)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED and entry.appointment == appointment
    assert appointment.patient == entry.patient and appointment.duration_minutes == 30
    assert appointment.start == cancelled.start and appointment.room == cancelled.room
    assert AuditEvent.objects.filter(record_type="waitlist_entry", detail="booked from waitlist").exists()
    with pytest.raises(ValidationError):
        rules.check_book_from_waitlist(front_desk, entry)


def test_a_clash_books_nothing_and_leaves_the_entry_waiting(
    add_entry, cancelled, make_patient, front_desk, therapist, service, location, room
):
    entry = add_entry(make_patient())
    taken = actions.do_book(
        front_desk,
        actions.check_book(front_desk, make_patient(), therapist, service, location, cancelled.start, 60, room),
    )
    with pytest.raises(BookingConflict):
        rules.do_book_from_waitlist(front_desk, entry, cancelled.start, therapist, room=room)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING and entry.appointment is None
    assert list(entry.patient.appointments.all()) == []
    assert taken.status == AppointmentStatus.BOOKED


def test_an_entry_booked_meanwhile_is_not_booked_twice(add_entry, cancelled, make_patient, front_desk, therapist):
    entry = add_entry(make_patient())
    WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistStatus.REMOVED)
    with pytest.raises(ValidationError, match="no longer waiting"):
        rules.do_book_from_waitlist(front_desk, entry, cancelled.start, therapist)
    assert not entry.patient.appointments.exists()


def test_the_freed_slot_is_taken_from_the_appointment(cancelled):
    slot = rules.freed_slot(cancelled)
    assert slot.duration_minutes == 60 and slot.tz == cancelled.location.tz
    assert slot.start == cancelled.start and slot.room_id == cancelled.room_id
    assert timezone.is_aware(slot.start)
