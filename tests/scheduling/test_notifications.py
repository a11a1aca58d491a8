"""Appointment emails: a confirmation, a reminder hours before, a notice on cancellation;
what was sent and when is recorded; no clinical details in any of them."""

import datetime
import zoneinfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from effleura.core.models import Practice
from effleura.scheduling import actions, sending, tasks
from effleura.scheduling.choices import NotificationKind
from effleura.scheduling.models import Notification, SchedulingPolicy

Kind = NotificationKind


@pytest.fixture
def practice(db):
    return Practice.objects.create(name="Anytown Clinical Massage", phone="(503) 555-0100", email="front@example.com")


@pytest.fixture
def patient(make_patient):
    return make_patient(legal_first_name="Amelia", legal_last_name="Rossi", email="amelia@example.com")


@pytest.fixture
def book(front_desk, therapist, service, location, room, hours, django_capture_on_commit_callbacks):
    """book(patient, start) -> an appointment booked through the real action, its
    on-commit work (queuing the emails) run as a real commit would."""

    def make(patient, start, duration=60):
        with django_capture_on_commit_callbacks(execute=True):
            return actions.do_book(
                front_desk, actions.check_book(front_desk, patient, therapist, service, location, start, duration, room)
            )

    return make


def _kinds(appointment):
    return sorted((n.kind, n.sent_at is not None) for n in appointment.notifications.all())


def test_booking_sends_a_confirmation_now_and_schedules_a_reminder(practice, book, patient, next_monday, at):
    start = at(next_monday, "10:00")
    appointment = book(patient, start)
    confirmation = appointment.notifications.get(kind=Kind.CONFIRMATION)
    reminder = appointment.notifications.get(kind=Kind.REMINDER)
    assert confirmation.sent_at is not None and confirmation.to == "amelia@example.com"
    assert reminder.sent_at is None and reminder.due_at == start - datetime.timedelta(hours=24)
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["amelia@example.com"] and email.reply_to == ["front@example.com"]
    assert email.subject == f"Your appointment on Mon {next_monday.day} {next_monday:%B} at 10:00"


def test_the_email_says_when_where_with_whom_and_how_to_cancel_and_nothing_clinical(
    practice, book, patient, next_monday, at, add_history
):
    add_history(patient, presenting_complaint="Low back pain after a fall", conditions=["dvt"])
    book(patient, at(next_monday, "10:00"))
    body = mail.outbox[0].body
    assert "Anytown Clinical Massage" in body
    assert f"Monday {next_monday.day} {next_monday:%B %Y}, 10:00–11:00 (C" in body  # CST or CDT
    assert "Main Street, 12 Main Street, Springfield, IL 62701" in body
    assert "Therapist Tester, LMT" in body and "Clinical massage, 60 minutes" in body
    assert "please call us on 555-0100 at least 24 hours before" in body  # the location's phone first
    for private in ("Amelia", "Rossi", "back", "dvt", "thrombosis", patient.chart_number, "Room 1"):
        assert private not in body and private not in mail.outbox[0].subject


def test_no_email_address_no_notifications(book, make_patient, next_monday, at):
    appointment = book(make_patient(email=""), at(next_monday, "10:00"))
    assert not appointment.notifications.exists() and mail.outbox == []


@pytest.mark.parametrize(
    ("confirmations", "reminders", "kinds"),
    [
        (True, True, {Kind.CONFIRMATION, Kind.REMINDER}),
        (False, True, {Kind.REMINDER}),
        (True, False, {Kind.CONFIRMATION}),
        (False, False, set()),
    ],
)
def test_the_policy_decides_what_is_sent(book, patient, next_monday, at, confirmations, reminders, kinds):
    SchedulingPolicy.objects.create(send_confirmations=confirmations, send_reminders=reminders)
    appointment = book(patient, at(next_monday, "10:00"))
    assert {n.kind for n in appointment.notifications.all()} == kinds


def test_the_reminder_follows_the_policys_hours(book, patient, next_monday, at):
    SchedulingPolicy.objects.create(reminder_hours_before=48)
    start = at(next_monday, "10:00")
    reminder = book(patient, start).notifications.get(kind=Kind.REMINDER)
    assert reminder.due_at == start - datetime.timedelta(hours=48)


def test_no_reminder_when_its_time_has_already_passed(book, patient, next_monday, at):
    # Reminders two weeks ahead; the visit is at most nine days away: only the confirmation.
    SchedulingPolicy.objects.create(reminder_hours_before=336)
    appointment = book(patient, at(next_monday, "10:00"))
    assert {n.kind for n in appointment.notifications.all()} == {Kind.CONFIRMATION}


def test_cancelling_drops_the_reminder_and_sends_a_notice(
    practice, book, patient, front_desk, next_monday, at, django_capture_on_commit_callbacks
):
    appointment = book(patient, at(next_monday, "10:00"))
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_cancel(front_desk, appointment, "Patient called: unwell.")
    assert _kinds(appointment) == [(Kind.CANCELLATION, True), (Kind.CONFIRMATION, True)]
    notice = mail.outbox[-1]
    assert notice.subject.startswith("Cancelled: your appointment on Mon")
    assert "has been cancelled" in notice.body and "To book another time, please call us on 555-0100." in notice.body
    assert "unwell" not in notice.body  # the reason is the practice's record, not the email's


def test_a_moved_visit_gets_an_email_saying_it_moved_from_when_to_when(
    practice, book, patient, front_desk, next_monday, at, django_capture_on_commit_callbacks
):
    appointment = book(patient, at(next_monday, "10:00"))
    new_start = at(next_monday + datetime.timedelta(days=1), "14:00")
    plan = actions.check_reschedule(front_desk, appointment, start=new_start)
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_reschedule(front_desk, appointment, plan)
    reminders = appointment.notifications.filter(kind=Kind.REMINDER)
    assert [r.due_at for r in reminders] == [new_start - datetime.timedelta(hours=24)]
    moved = appointment.notifications.get(kind=Kind.MOVED)
    assert moved.sent_at is not None and moved.moved_from == at(next_monday, "10:00")
    email = mail.outbox[-1]
    tuesday = next_monday + datetime.timedelta(days=1)
    assert email.subject == f"Moved: your appointment is now on Tue {tuesday.day} {tuesday:%B} at 14:00"
    assert (
        f"Your appointment with Anytown Clinical Massage has moved from Mon {next_monday.day} {next_monday:%B} "
        f"at 10:00 to Tue {tuesday.day} {tuesday:%B} at 14:00." in email.body
    )
    assert f"When:  Tuesday {tuesday.day} {tuesday:%B %Y}, 14:00–15:00" in email.body
    assert len(mail.outbox) == 2  # the first confirmation, then the move: not a second confirmation


def test_a_visit_changed_at_the_same_time_is_confirmed_again(
    practice, book, patient, front_desk, next_monday, at, django_capture_on_commit_callbacks
):
    appointment = book(patient, at(next_monday, "10:00"))
    plan = actions.check_reschedule(front_desk, appointment, duration=30)
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_reschedule(front_desk, appointment, plan)
    assert appointment.notifications.filter(kind=Kind.CONFIRMATION, sent_at__isnull=False).count() == 2
    assert not appointment.notifications.filter(kind=Kind.MOVED).exists()
    assert "10:00–10:30" in mail.outbox[-1].body


def test_the_sweep_sends_due_reminders_once(practice, book, patient, next_monday, at):
    appointment = book(patient, at(next_monday, "10:00"))
    reminder = appointment.notifications.get(kind=Kind.REMINDER)
    tasks.send_due_notifications.enqueue()
    assert len(mail.outbox) == 1  # not due yet
    Notification.objects.filter(pk=reminder.pk).update(due_at=timezone.now() - datetime.timedelta(minutes=1))
    result = tasks.send_due_notifications.enqueue()
    assert result.return_value == {"sent": 1}
    assert mail.outbox[-1].subject.startswith("Reminder: your appointment on Mon")
    reminder.refresh_from_db()
    assert reminder.sent_at is not None and reminder.error == ""
    tasks.send_due_notifications.enqueue()
    tasks.send_notification.enqueue(reminder.pk)
    assert len(mail.outbox) == 2


def test_a_failed_send_is_recorded_and_retried(practice, book, patient, next_monday, at, settings, monkeypatch):
    from django.core.mail import EmailMessage

    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("mail server down for amelia@example.com")

    monkeypatch.setattr(EmailMessage, "send", refuse)
    appointment = book(patient, at(next_monday, "10:00"))
    confirmation = appointment.notifications.get(kind=Kind.CONFIRMATION)
    assert confirmation.sent_at is None
    assert confirmation.error == "Could not send (ConnectionRefusedError); will retry."
    monkeypatch.undo()
    assert tasks.send_due_notifications.enqueue().return_value == {"sent": 1}
    confirmation.refresh_from_db()
    assert confirmation.sent_at is not None and confirmation.error == ""


def test_an_email_for_a_cancelled_visit_is_not_sent(book, patient, next_monday, at):
    appointment = book(patient, at(next_monday, "10:00"))
    reminder = appointment.notifications.get(kind=Kind.REMINDER)
    type(appointment).objects.filter(pk=appointment.pk).update(status="cancelled")
    now = reminder.due_at + datetime.timedelta(minutes=1)
    assert sending.deliver(reminder.pk, now=now) == "skipped"
    reminder.refresh_from_db()
    assert reminder.sent_at is None and reminder.error == "Not sent: the appointment was cancelled."


def test_a_visit_entered_after_the_fact_sends_nothing(
    patient, therapist, service, location, room, hours, front_desk, next_monday, at, django_capture_on_commit_callbacks
):
    last_monday = next_monday - datetime.timedelta(weeks=3)
    start = at(last_monday, "10:00")
    with django_capture_on_commit_callbacks(execute=True):
        appointment = actions.do_book(
            front_desk,
            actions.check_book(
                front_desk,
                patient,
                therapist,
                service,
                location,
                start,
                60,
                room,
                now=start - datetime.timedelta(days=1),
            ),
        )
        actions.do_cancel(front_desk, appointment, "Entered late.")
    assert not appointment.notifications.exists() and mail.outbox == []


def test_the_subject_uses_the_locations_time_zone():
    moment = datetime.datetime(2026, 3, 3, 18, 0, tzinfo=datetime.UTC)
    assert sending.when_text(moment, zoneinfo.ZoneInfo("America/Los_Angeles")) == "Tue 3 March at 10:00"


# With the database queue that `effleura worker` runs ---------------------------------------


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_the_confirmation_and_the_reminder_waits_for_its_time(
    database_queue, practice, front_desk, therapist, service, location, room, hours, patient, next_monday, at
):
    start = at(next_monday, "10:00")
    actions.do_book(front_desk, actions.check_book(front_desk, patient, therapist, service, location, start, 60, room))
    queued = {(r.task_path.rsplit(".", 1)[1], r.run_after) for r in DBTaskResult.objects.all()}
    reminder_time = start - datetime.timedelta(hours=24)
    assert ("send_due_notifications", reminder_time) in queued
    assert len(queued) == 2 and mail.outbox == []
    call_command("worker", "--batch", "--no-startup-delay")
    assert [m.subject.split(" on ")[0] for m in mail.outbox] == ["Your appointment"]
    assert DBTaskResult.objects.filter(status="READY").get().run_after == reminder_time


# A series: one confirmation listing every visit ----------------------------------------------


@pytest.fixture
def book_series(front_desk, therapist, service, location, room, hours, django_capture_on_commit_callbacks):
    def make(patient, starts):
        with django_capture_on_commit_callbacks(execute=True):
            return actions.do_book_series(front_desk, patient, therapist, service, location, starts, every_days=7)

    return make


def test_a_series_gets_one_confirmation_listing_every_visit_and_a_reminder_before_each(
    practice, book_series, patient, next_monday, at
):
    starts = [at(next_monday + datetime.timedelta(weeks=w), "10:00") for w in range(4)]
    series = book_series(patient, starts)
    sent = Notification.objects.filter(appointment__series=series)
    assert sorted(sent.values_list("kind", flat=True)) == [Kind.REMINDER] * 4 + [Kind.SERIES]
    assert sent.get(kind=Kind.SERIES).appointment.start == starts[0]
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.subject == f"Your 4 appointments from Mon {next_monday.day} {next_monday:%B} at 10:00"
    assert "This confirms your 4 appointments with Anytown Clinical Massage:" in email.body
    for start in starts:
        local = start.astimezone(zoneinfo.ZoneInfo("America/Chicago"))
        assert f"- Mon {local.day} {local:%B %Y}, 10:00–11:00 (C" in email.body
    assert "Where: Main Street, 12 Main Street, Springfield, IL 62701" in email.body
    assert "With:  Therapist Tester, LMT" in email.body and "Clinical massage, 60 minutes each" in email.body
    assert "reminder before each visit" in email.body and "Amelia" not in email.body


def test_the_series_email_lists_only_the_visits_still_booked_when_it_is_written(
    practice, book_series, patient, front_desk, next_monday, at
):
    starts = [at(next_monday + datetime.timedelta(weeks=w), "10:00") for w in range(3)]
    series = book_series(patient, starts)
    second = series.appointments.order_by("start")[1]
    actions.do_cancel(front_desk, second, actions.check_cancel(front_desk, second, "Away that week"))
    notice = Notification.objects.get(kind=Kind.SERIES)
    subject, body = sending.compose(notice, practice, SchedulingPolicy.current())
    assert subject.startswith("Your 2 appointments from") and body.count("\n- ") == 2


def test_no_series_confirmation_when_confirmations_are_off(practice, book_series, patient, next_monday, at):
    SchedulingPolicy.objects.create(send_confirmations=False)
    series = book_series(patient, [at(next_monday, "10:00"), at(next_monday + datetime.timedelta(weeks=1), "10:00")])
    assert list(Notification.objects.filter(appointment__series=series).values_list("kind", flat=True)) == [
        Kind.REMINDER,
        Kind.REMINDER,
    ]
    assert not mail.outbox
