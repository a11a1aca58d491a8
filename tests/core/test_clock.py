"""One clock (core/clock.py): a visit is shown in its location's zone, everything else in
the practice's zone, on every page, PDF, email and export that shows it.

The visit of the defect: Tuesday 2 December 2025 at 17:30 in America/Los_Angeles, when UTC
is already Wednesday 3 December, 01:30. Synthetic data only."""

import csv
import datetime
import io
import zoneinfo
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from effleura.core import actions as core_actions
from effleura.core import clock
from effleura.core.models import AuditEvent, Practice

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
NY = zoneinfo.ZoneInfo("America/New_York")
TUESDAY = datetime.date(2025, 12, 2)
# What a UTC clock would wrongly show for the 17:30 Los Angeles visit.
WRONG = ["01:30", "Wednesday 3", "Wed 3", "2025-12-03", "December 3, 2025", "3 December 2025"]


class _Text(HTMLParser):
    """The text a reader sees: no attributes (links carry other days' dates), no scripts."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible(response) -> str:
    assert response.status_code == 200, response.status_code
    parser = _Text()
    parser.feed(response.content.decode())
    return " ".join(" ".join(parser.parts).split())


def pdf_text(data: bytes) -> str:
    assert data[:5] == b"%PDF-"
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def pdf_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return pdf_text(b"".join(response.streaming_content) if response.streaming else response.content)


def assert_shows(text: str, *wanted: str, never=WRONG):
    for w in wanted:
        assert w in text, f"{w!r} missing from: {text[:3000]}"
    for w in never:
        assert w not in text, f"{w!r} shown in: {text[:3000]}"


def set_practice_zone(owner, name: str, **fields) -> Practice:
    data = {"name": "Synthetic Coast Massage", "time_zone": name, **fields}
    return core_actions.do_save_practice(owner, core_actions.check_save_practice(owner, data))


# The helper ------------------------------------------------------------------------------


def test_without_a_practice_row_the_zone_is_effleura_time_zone(db, settings):
    settings.TIME_ZONE = "America/Denver"
    clock.forget_practice_zone()
    assert clock.practice_zone().key == "America/Denver"


def test_the_zone_is_read_once_and_kept(db, owner, django_assert_num_queries):
    set_practice_zone(owner, "America/Los_Angeles")
    clock.forget_practice_zone()
    with django_assert_num_queries(1):
        assert clock.practice_zone() == LA
        assert clock.practice_zone() == LA


def test_saving_the_practice_forgets_the_zone_at_once(db, owner):
    set_practice_zone(owner, "America/Los_Angeles")
    assert clock.practice_zone() == LA
    set_practice_zone(owner, "America/New_York")
    assert clock.practice_zone() == NY


def test_the_cache_expires_so_other_servers_follow(db, owner, monkeypatch):
    set_practice_zone(owner, "America/Los_Angeles")
    assert clock.practice_zone() == LA
    # Another app server changed it: this process has not been told.
    Practice.objects.update(time_zone="America/New_York")
    assert clock.practice_zone() == LA
    later = clock.time.monotonic() + clock.CACHE_SECONDS + 1
    monkeypatch.setattr(clock.time, "monotonic", lambda: later)
    assert clock.practice_zone() == NY


def test_local_puts_a_moment_in_the_location_or_practice_zone(db, owner):
    set_practice_zone(owner, "America/Los_Angeles")
    moment = datetime.datetime(2025, 12, 3, 1, 30, tzinfo=datetime.UTC)
    assert clock.local(moment).strftime("%a %H:%M %Z") == "Tue 17:30 PST"
    assert clock.local(moment, "America/New_York").strftime("%a %H:%M %Z") == "Tue 20:30 EST"
    assert clock.local_date(moment) == TUESDAY
    assert clock.local(None) is None


def test_today_is_the_practice_s_today_whatever_zone_is_active(db, owner):
    set_practice_zone(owner, "Pacific/Kiritimati")  # UTC+14: a day ahead of UTC most of the time
    with timezone.override(datetime.UTC):
        assert clock.today() == timezone.now().astimezone(zoneinfo.ZoneInfo("Pacific/Kiritimati")).date()


def test_a_request_runs_in_the_practice_s_zone_and_leaves_it_after(client_for, owner):
    set_practice_zone(owner, "America/Los_Angeles")
    clock.forget_practice_zone()
    response = client_for(owner).get(reverse("core:audit_list"))
    assert response.status_code == 200
    assert timezone.get_current_timezone_name() == "UTC"  # the test's own zone, restored


def test_a_task_runs_in_the_practice_s_zone(db, owner):
    set_practice_zone(owner, "America/Los_Angeles")
    with clock.in_practice_zone():
        assert timezone.get_current_timezone() == LA
    assert timezone.get_current_timezone_name() == "UTC"


# The visit of the defect, everywhere it is shown --------------------------------------


@pytest.fixture
def coast(owner, therapist):
    """Practice and location both in America/Los_Angeles; a Tuesday 17:30 visit, its signed
    note, its charge, a signed progress report over it."""
    return _visit_at(owner, therapist, "America/Los_Angeles", practice_zone="America/Los_Angeles")


def _visit_at(owner, therapist, location_zone: str, *, practice_zone: str, hhmm="17:30"):
    from effleura.billing.models import FeeScheduleEntry, ProcedureCode
    from effleura.clinical import access as clinical_access
    from effleura.clinical import episodes, notes
    from effleura.patients import actions as patient_actions
    from effleura.referrals import report_sending, reports
    from effleura.scheduling import setup
    from effleura.scheduling.choices import AppointmentStatus
    from effleura.scheduling.models import Appointment

    set_practice_zone(
        owner, practice_zone, address_line1="1 Synthetic Way", city="Testville", tax_id="12-3456789", npi="1234567893"
    )
    location = setup.do_save_location(
        owner, setup.check_save_location(owner, {"name": "Coast Clinic", "time_zone": location_zone})
    )
    room = setup.do_save_room(owner, setup.check_save_room(owner, {"location": location, "name": "Room 1"}))
    service = setup.do_save_service(
        owner,
        setup.check_save_service(
            owner,
            {"name": "Clinical massage", "durations": [60], "default_price": Decimal("95.00"), "currency": "USD",
             "practitioners": [therapist], "needs_room": True},
        ),
    )  # fmt: skip
    FeeScheduleEntry.objects.create(amount=Decimal("50.00"), code=ProcedureCode.objects.get(code="97124"))
    patient = patient_actions.do_create_patient(
        owner,
        patient_actions.check_create_patient(
            owner,
            {"legal_first_name": "Tessa", "legal_last_name": "Timezone", "date_of_birth": datetime.date(1980, 4, 4),
             "phone": "555-0142", "email": "tessa@example.test"},
            allow_duplicate=True,
        ),
    )  # fmt: skip
    tz = zoneinfo.ZoneInfo(location_zone)
    start = datetime.datetime.combine(TUESDAY, datetime.time.fromisoformat(hhmm), tzinfo=tz)
    end = start + datetime.timedelta(minutes=60)
    appointment = Appointment.objects.create(
        patient=patient, practitioner=therapist, service=service, location=location, room=room, duration_minutes=60,
        start=start, end=end, busy_until=end, status=AppointmentStatus.BOOKED, created_by=owner,
    )  # fmt: skip
    episode = episodes.do_open_episode(
        therapist,
        patient,
        episodes.check_open_episode(
            therapist, patient, {"title": "Neck pain (synthetic)", "therapist": therapist, "opened_on": "2025-11-01"}
        ),
    )
    state = {}

    def start_note():
        if "note_id" not in state:
            note = notes.do_start_note(
                therapist, notes.check_start_note(therapist, appointment=appointment, episode=episode)
            )
            note = clinical_access.access_note(therapist, note.public_id, audit_it=False)
            data = {"techniques": [{"technique": "swedish", "minutes": 30}], "subjective": "Synthetic visit."}
            notes.do_update_note(therapist, note, notes.check_update_note(therapist, note, data))
            state["note_id"] = note.public_id
        return state["note_id"]

    return {
        "location": location,
        "patient": patient,
        "appointment": appointment,
        "episode": episode,
        "start_note": start_note,
        "sign": lambda: _sign(therapist, start_note(), notes, clinical_access),
        "report": lambda: _signed_report(therapist, episode, reports, report_sending),
    }


def _sign(therapist, note_id, notes, clinical_access):
    note = clinical_access.access_note(therapist, note_id, audit_it=False)
    return notes.do_sign_note(therapist, note, notes.check_sign_note(therapist, note))


def _signed_report(therapist, episode, reports, report_sending):
    clean = reports.check_create_report(therapist, episode, {"period_start": "2025-11-01", "period_end": "2025-12-31"})
    report = reports.do_create_report(therapist, clean)
    report_sending.check_sign_report(therapist, report)
    return report_sending.do_sign_report(therapist, report)


def test_the_visit_shows_at_17_30_on_tuesday_on_every_page(client_for, owner, therapist, coast):
    appointment = coast["appointment"]
    client = client_for(therapist)

    page = visible(client.get(reverse("scheduling:appointment", args=[appointment.public_id])))
    assert_shows(page, "Tuesday 2 December", "17:30")

    day = visible(
        client.get(reverse("scheduling:day"), {"location": coast["location"].public_id, "date": "2025-12-02"})
    )
    assert_shows(day, "Tuesday 2 December 2025", "17:30")

    new_note = visible(client.get(reverse("clinical:note_new"), {"appointment": appointment.public_id}))
    assert_shows(new_note, "Tuesday 2 December 2025, 17:30")

    editor = visible(client.get(reverse("clinical:note_edit", args=[coast["start_note"]()])))
    assert_shows(editor, "Tuesday 2 December 2025, 17:30")


def test_a_signature_shows_in_the_practice_s_zone(client_for, therapist, coast):
    note = coast["sign"]()
    client = client_for(therapist)
    page = visible(client.get(reverse("clinical:note", args=[note.public_id])))
    signed_here = timezone.localtime(note.signed_at, LA)
    signed_utc = timezone.localtime(note.signed_at, datetime.UTC)
    assert_shows(
        page,
        "Tuesday 2 December 2025, 17:30",
        f"signed {signed_here:%Y-%m-%d %H:%M}",
        never=[*WRONG, f"signed {signed_utc:%Y-%m-%d %H:%M}"],
    )


def test_the_report_page_pdf_and_email_give_the_visit_s_own_day(
    client_for, therapist, coast, django_capture_on_commit_callbacks
):
    from effleura.referrals import report_sending

    coast["sign"]()
    report = coast["report"]()
    client = client_for(therapist)
    assert report.content["visits"]["first"] == "2025-12-02"

    page = visible(client.get(reverse("referrals:report", args=[report.public_id])))
    signed_here = timezone.localtime(report.signed_at, LA)
    assert_shows(page, f"signed {signed_here:%Y-%m-%d %H:%M}")

    pdf = pdf_of(client.get(reverse("referrals:report_pdf", args=[report.public_id])))
    assert_shows(pdf, "2025-12-02")

    with django_capture_on_commit_callbacks(execute=True):
        report_sending.do_send_report(therapist, report, "email", "dr.synthetic@example.test")
    ((_name, data, _mimetype),) = mail.outbox[-1].attachments
    assert_shows(pdf_text(data), "2025-12-02")


def test_the_superbill_gives_the_visit_s_own_day(client_for, owner, coast):
    from effleura.billing.models import Charge

    coast["sign"]()
    charge = Charge.objects.get(appointment=coast["appointment"])
    assert charge.date_of_service == TUESDAY
    pdf = pdf_of(client_for(owner).get(reverse("billing:superbill", args=[charge.public_id])))
    assert_shows(pdf, "2025-12-02")


def test_the_reminder_email_gives_17_30_on_tuesday(db, coast):
    from effleura.scheduling import sending
    from effleura.scheduling.choices import NotificationKind
    from effleura.scheduling.models import Notification

    appointment = coast["appointment"]
    for kind in (NotificationKind.CONFIRMATION, NotificationKind.REMINDER):
        notification = Notification.objects.create(
            appointment=appointment,
            kind=kind,
            to="tessa@example.test",
            due_at=appointment.start - datetime.timedelta(hours=24),
        )
        outcome = sending.deliver(notification.pk, now=appointment.start - datetime.timedelta(hours=20))
        assert outcome == "sent"
        message = mail.outbox[-1]
        assert_shows(message.subject, "Tue 2 December at 17:30")
        assert_shows(message.body, "Tuesday 2 December 2025, 17:30–18:30 (PST)")


def test_the_audit_trail_page_and_csv_show_the_practice_s_time(client_for, owner, coast):
    coast["sign"]()
    event = AuditEvent.objects.order_by("-at", "-id").first()
    here = timezone.localtime(event.at, LA)
    utc = timezone.localtime(event.at, datetime.UTC)
    client = client_for(owner)
    page = visible(client.get(reverse("core:audit_list")))
    assert_shows(page, f"{here:%Y-%m-%d %H:%M:%S}", "(America/Los_Angeles)", never=[f"{utc:%Y-%m-%d %H:%M:%S}"])
    response = client.get(reverse("core:audit_export"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode()
                                       if response.streaming else response.content.decode())))  # fmt: skip
    stamps = [datetime.datetime.fromisoformat(row[0]) for row in rows[1:]]
    assert here.isoformat() in [row[0] for row in rows[1:]]
    assert {s.utcoffset() for s in stamps} == {datetime.timedelta(hours=-8)}


# A location in another zone than the practice's ---------------------------------------


@pytest.fixture
def east(owner, therapist):
    """Practice in America/Los_Angeles, the location in America/New_York: a 17:30 visit there
    is 14:30 at the practice."""
    return _visit_at(owner, therapist, "America/New_York", practice_zone="America/Los_Angeles")


def test_a_visit_elsewhere_shows_in_its_location_s_zone_named(client_for, therapist, east):
    appointment = east["appointment"]
    client = client_for(therapist)
    never = ["14:30", "22:30"]
    page = visible(client.get(reverse("scheduling:appointment", args=[appointment.public_id])))
    assert_shows(page, "17:30", "America/New_York", never=never)
    new_note = visible(client.get(reverse("clinical:note_new"), {"appointment": appointment.public_id}))
    assert_shows(new_note, "Tuesday 2 December 2025, 17:30", "EST", never=never)
    note = east["sign"]()
    signed = visible(client.get(reverse("clinical:note", args=[note.public_id])))
    here = timezone.localtime(note.signed_at, LA)
    assert_shows(signed, "Tuesday 2 December 2025, 17:30", "EST", f"signed {here:%Y-%m-%d %H:%M} PST", never=never)


def test_the_demo_practice_keeps_los_angeles_time(db, owner):
    from effleura.demo import data

    data._create_practice(owner)
    assert Practice.current().time_zone == "America/Los_Angeles"


def test_the_calendar_of_a_location_elsewhere_names_its_zone(client_for, therapist, east):
    day = visible(
        client_for(therapist).get(
            reverse("scheduling:day"), {"location": east["location"].public_id, "date": "2025-12-02"}
        )
    )
    assert_shows(day, "Tuesday 2 December 2025", "17:30", "(America/New_York)", never=["14:30", "22:30"])


def test_booking_messages_name_a_location_s_zone_only_when_it_differs(db, owner, therapist, east):
    from effleura.scheduling.booking import local_span

    appointment = east["appointment"]
    assert local_span(appointment.start, appointment.end, east["location"]) == "17:30–18:30 EST (Tue 2 Dec)"
    set_practice_zone(owner, "America/New_York")
    assert local_span(appointment.start, appointment.end, east["location"]) == "17:30–18:30 (Tue 2 Dec)"


def test_a_moment_in_a_csv_export_carries_the_practice_s_offset(db, owner):
    from effleura.billing.reports import csv_value

    set_practice_zone(owner, "America/Los_Angeles")
    moment = datetime.datetime(2025, 12, 3, 1, 30, tzinfo=datetime.UTC)
    with clock.in_practice_zone():  # as in the export's request
        assert csv_value(moment) == "2025-12-02T17:30:00-08:00"
    assert csv_value(TUESDAY) == "2025-12-02"


def test_a_time_off_clash_is_told_in_the_practice_s_zone_named(db, owner, therapist):
    from django.core.exceptions import ValidationError

    from effleura.scheduling import hours
    from effleura.scheduling.models import TimeOff

    set_practice_zone(owner, "America/Los_Angeles")
    start = datetime.datetime(2025, 12, 3, 1, 30, tzinfo=datetime.UTC)
    TimeOff.objects.create(practitioner=therapist, start=start, end=start + datetime.timedelta(hours=2), reason="x")
    with pytest.raises(ValidationError) as refused:
        hours._refuse_time_off_clash(
            {"practitioner": therapist, "start": start, "end": start + datetime.timedelta(hours=1)}, None
        )
    assert "2025-12-02 17:30 PST to 2025-12-02 19:30 PST" in refused.value.messages[0]


def test_who_did_what_on_a_visit_elsewhere_is_in_the_practice_s_zone_named(client_for, owner, front_desk, east):
    from effleura.scheduling.choices import ChangeKind
    from effleura.scheduling.models import AppointmentChange

    appointment = east["appointment"]
    # Booked on Monday 1 December at 09:15 at the practice (Los Angeles), 12:15 in New York.
    at = datetime.datetime(2025, 12, 1, 9, 15, tzinfo=LA)
    AppointmentChange.objects.create(appointment=appointment, kind=ChangeKind.CREATED, at=at, actor=front_desk)
    page = visible(client_for(owner).get(reverse("scheduling:appointment", args=[appointment.public_id])))
    assert_shows(page, "Booked Mon 1 Dec 2025 09:15 PST", "17:30", never=["12:15"])


def test_a_date_default_is_the_practice_s_today(client_for, owner, therapist, make_patient):
    from effleura.clinical import episodes

    # UTC+14: its today is tomorrow in UTC for most of the day.
    set_practice_zone(owner, "Pacific/Kiritimati")
    patient = make_patient()
    episode = episodes.do_open_episode(
        therapist,
        patient,
        episodes.check_open_episode(therapist, patient, {"title": "Synthetic", "therapist": therapist}),
    )
    response = client_for(therapist).get(reverse("clinical:assessment_new", args=[episode.public_id]))
    assert response.status_code == 200
    today_there = timezone.now().astimezone(zoneinfo.ZoneInfo("Pacific/Kiritimati")).date()
    assert f'value="{today_there.isoformat()}"' in response.content.decode()


def test_the_worker_writes_the_report_s_dates_in_the_practice_s_zone(
    owner, therapist, django_capture_on_commit_callbacks
):
    from effleura.referrals import report_sending
    from effleura.referrals.tasks import email_report

    coast = _visit_at(owner, therapist, "America/Los_Angeles", practice_zone="Pacific/Kiritimati")
    coast["sign"]()
    report = coast["report"]()
    with django_capture_on_commit_callbacks(execute=False):  # the worker runs it, below
        delivery = report_sending.do_send_report(therapist, report, "email", "dr.synthetic@example.test")
    assert timezone.get_current_timezone_name() == "UTC"  # a worker process starts in the server's zone
    email_report.call(delivery.pk)
    ((_name, data, _mimetype),) = mail.outbox[-1].attachments
    signed_there = report.signed_at.astimezone(zoneinfo.ZoneInfo("Pacific/Kiritimati"))
    signed_utc = report.signed_at.astimezone(datetime.UTC)
    text = pdf_text(data)
    wanted = f"{signed_there:%B} {signed_there.day}, {signed_there.year}"
    assert_shows(text, "2025-12-02", f"on {wanted}")
    if signed_utc.date() != signed_there.date():
        assert f"on {signed_utc:%B} {signed_utc.day}, {signed_utc.year}" not in text


def test_the_template_filters_keep_a_visit_in_its_location_s_zone(db, owner, therapist):
    from django.template import Context, Template

    visit = _visit_at(owner, therapist, "America/New_York", practice_zone="America/Los_Angeles")
    appointment = visit["appointment"]
    template = Template(
        "{% load clock %}{{ a.start|at_location:a.location|date:'D H:i T' }} | "
        "{{ a.start|in_practice_zone|date:'D H:i T' }} | {{ a.start|date:'H:i' }} | "
        "{% if a.location|zone_differs %}named{% endif %} | {{ a|visit_when }} | {{ day|at_location:a.location }}"
    )
    with timezone.override(datetime.UTC):  # whatever zone is active
        text = template.render(Context({"a": appointment, "day": TUESDAY}))
    assert text == (
        "Tue 17:30 EST | Tue 14:30 PST | 22:30 | named | Tuesday 2 December 2025, 17:30–18:30 EST | Dec. 2, 2025"
    )


def test_a_cancelled_visit_elsewhere_is_listed_at_its_location_s_time(client_for, therapist, east):
    from effleura.scheduling.choices import AppointmentStatus
    from effleura.scheduling.models import Appointment

    Appointment.objects.filter(pk=east["appointment"].pk).update(status=AppointmentStatus.CANCELLED)
    day = visible(
        client_for(therapist).get(
            reverse("scheduling:day"), {"location": east["location"].public_id, "date": "2025-12-02"}
        )
    )
    assert_shows(day, "Cancelled on this day (1)", "17:30 Tessa", never=["14:30", "22:30"])
