"""The calendar pages through the Django test client: the day view per location, the week
per practitioner, a therapist's today list, booking (typed, clicked or picked from the free
times), the appointment page, reschedule, cancel and status changes; who may do what; and
the pinned query counts of the day and week views."""

import datetime
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from effleura.core.models import AuditEvent
from effleura.scheduling import actions
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment, AppointmentChange

# The day view: session and user; locations with their opening hours and rooms (3); the
# practitioners; the appointments, the services they share (the page holds their
# practitioners; these visits have no room) and one audit insert; the consent badges
# (documents, their versions, the patients' consents, one audit insert); the
# practitioners' working time as the slot engine
# sees it (working hours, exceptions, time off, opening hours, closures: calendars._load;
# no busy time, which the shading does not use); the day's closure banner; the layout's
# practice row.
DAY_QUERIES = 21  # + the referral badges (open referrals; visits and audit only when some exist)
# The week view: the same, with the practitioners read before the locations; the
# appointments share services (the practitioner is the one asked for, the page holds the
# locations), and no closure banner.
WEEK_QUERIES = 20  # + the referral badges


def text_of(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def clinic(location, room, room2, service, hours, therapist):
    """Main Street with two rooms, the service and the therapist's Monday–Friday hours."""
    return location


@pytest.fixture
def visit(clinic, therapist, room, service, owner, make_patient):
    """visit(start, patient=None, **fields) -> an appointment written straight to the
    table (for states the actions would refuse to create now: today, past, many)."""

    def make(start, patient=None, *, practitioner=None, room_=room, minutes=60, status=AppointmentStatus.BOOKED):
        end = start + datetime.timedelta(minutes=minutes)
        return Appointment.objects.create(
            patient=patient or make_patient(),
            practitioner=practitioner or therapist,
            service=service,
            location=clinic,
            room=room_,
            duration_minutes=minutes,
            start=start,
            end=end,
            busy_until=end + datetime.timedelta(minutes=service.changeover_minutes),
            status=status,
            created_by=owner,
        )

    return make


@pytest.fixture
def booked(clinic, therapist, service, front_desk, make_patient, next_monday, at):
    """booked(hhmm, patient=None) -> an appointment next Monday, through the booking action."""

    def make(hhmm="10:00", patient=None, day=None):
        plan = actions.check_book(
            front_desk,
            patient or make_patient(),
            therapist,
            service,
            clinic,
            at(day or next_monday, hhmm),
        )
        return actions.do_book(front_desk, plan)

    return make


def day_url(location, day, **extra):
    query = "&".join(f"{k}={v}" for k, v in {"location": location.public_id, "date": day.isoformat(), **extra}.items())
    return f"{reverse('scheduling:day')}?{query}"


# The day view ---------------------------------------------------------------------------------


def test_the_day_view_shows_each_appointment_in_its_practitioners_column(
    client_for, front_desk, booked, clinic, next_monday, therapist
):
    appointment = booked("10:00")
    response = client_for(front_desk).get(day_url(clinic, next_monday))
    assert response.status_code == 200
    page = text_of(response)
    assert therapist.display_name in page
    assert appointment.patient.display_name in page
    assert "10:00–11:00" in page and "Clinical massage" in page
    assert 'class="cal-appt status-booked"' in page
    assert "Colours by status" in page and "No-show" in page  # the legend


def test_the_grid_runs_from_the_earliest_opening_to_the_latest_closing(client_for, front_desk, clinic, next_monday):
    page = text_of(client_for(front_desk).get(day_url(clinic, next_monday)))
    times = re.findall(r'class="cal-time hour"[^>]*>(\d\d:\d\d)<', page)
    assert times[0] == "08:00" and times[-1] == "19:00"


def test_an_empty_time_links_to_the_booking_form_prefilled(client_for, front_desk, clinic, next_monday, therapist):
    page = text_of(client_for(front_desk).get(day_url(clinic, next_monday)))
    wanted = (
        f"{reverse('scheduling:book')}?location={clinic.public_id}&practitioner={therapist.public_id}"
        f"&start={next_monday.isoformat()}T09:15"
    )
    assert f'href="{wanted}"' in page


def test_the_grid_escapes_names_and_keeps_what_dragging_and_booking_read(
    client_for, front_desk, booked, clinic, next_monday, therapist, make_patient
):
    """The cells and blocks are written in Python (views/grid_html.py), not by the template
    engine: names are still escaped, and each block and cell still carries what grid.js,
    calendar.js and screen readers read."""
    appointment = booked("10:00", patient=make_patient(legal_first_name="<b>Zoë", legal_last_name="O'Hara & Co"))
    raw = client_for(front_desk).get(day_url(clinic, next_monday)).content.decode()
    assert "<b>Zoë" not in raw and "&lt;b&gt;Zoë" in raw and "O&#x27;Hara &amp; Co" in raw
    block = re.search(r'<a class="cal-appt status-booked"[^>]*>', raw).group(0)
    assert f'href="{reverse("scheduling:appointment", args=[appointment.public_id])}"' in block
    assert 'draggable="true"' in block
    assert f'data-reschedule-url="{reverse("scheduling:reschedule", args=[appointment.public_id])}"' in block
    assert f'data-appointment="{appointment.public_id}"' in block and 'data-span="4"' in block
    cell = re.search(r'<a class="cal-cell"[^>]*data-start="[^"]*T09:15"[^>]*>(.*?)</a>', raw)
    assert f'data-column="p:{therapist.public_id}"' in cell.group(0)
    assert cell.group(1) == f'<span class="visually-hidden">Book {html.escape(therapist.display_name)} at 09:15</span>'


def test_the_day_view_by_room_has_a_column_per_room(client_for, front_desk, booked, clinic, next_monday):
    appointment = booked("10:00")
    page = text_of(client_for(front_desk).get(day_url(clinic, next_monday, by="room")))
    assert ">Room 1<" in page and ">Room 2<" in page
    assert appointment.patient.display_name in page


def test_a_cancelled_appointment_leaves_the_grid_and_is_listed_below(
    client_for, front_desk, booked, clinic, next_monday
):
    appointment = booked("10:00")
    actions.do_cancel(front_desk, appointment, "patient unwell")
    page = text_of(client_for(front_desk).get(day_url(clinic, next_monday)))
    assert 'class="cal-appt' not in page
    assert "Cancelled on this day (1)" in page


def test_the_day_view_flags_a_missing_required_consent(client_for, front_desk, booked, clinic, next_monday, owner):
    from effleura.patients import actions as patient_actions

    document = patient_actions.do_create_consent_document(
        owner, title="Consent to treatment", kind="treatment", required=True, body="I agree to massage. " * 3
    )
    signed, unsigned = booked("09:00"), booked("11:00")
    version = document.versions.get()
    patient_actions.do_capture_consent(
        front_desk, signed.patient, version, patient_actions.ConsentSignature("Signed Patient")
    )
    page = text_of(client_for(front_desk).get(day_url(clinic, next_monday)))
    blocks = re.findall(r'<a class="cal-appt.*?</a>', page, re.S)
    flagged = [b for b in blocks if ">consent<" in b]
    assert len(flagged) == 1 and unsigned.patient.display_name in flagged[0]


def test_the_day_view_with_no_location_says_so(client_for, front_desk):
    response = client_for(front_desk).get(reverse("scheduling:day"))
    assert response.status_code == 200
    assert "No location is set up yet" in text_of(response)


def test_a_bad_date_falls_back_to_today(client_for, front_desk, clinic):
    response = client_for(front_desk).get(reverse("scheduling:day"), {"date": "not-a-date"})
    assert response.status_code == 200


# Who may see and do what -------------------------------------------------------------------------


def test_billing_sees_the_calendar_but_cannot_book(client_for, billing, booked, clinic, next_monday):
    booked("10:00")
    client = client_for(billing)
    page = text_of(client.get(day_url(clinic, next_monday)))
    assert "Book an appointment" not in page
    assert reverse("scheduling:book") not in page
    assert client.get(reverse("scheduling:book")).status_code == 403
    assert client.get(reverse("scheduling:week")).status_code == 200


def test_an_outsider_is_refused_everything(client_for, outsider, booked, clinic, next_monday):
    appointment = booked("10:00")
    client = client_for(outsider)
    for url in (
        day_url(clinic, next_monday),
        reverse("scheduling:week"),
        reverse("scheduling:today"),
        reverse("scheduling:book"),
        reverse("scheduling:appointment", args=[appointment.public_id]),
        reverse("scheduling:reschedule", args=[appointment.public_id]),
        reverse("scheduling:cancel", args=[appointment.public_id]),
    ):
        assert client.get(url).status_code == 403, url
    response = client.post(reverse("scheduling:cancel", args=[appointment.public_id]), {"reason": "x"})
    assert response.status_code == 403
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED


def test_billing_cannot_cancel_or_change_status(client_for, billing, booked):
    appointment = booked("10:00")
    client = client_for(billing)
    assert client.post(reverse("scheduling:cancel", args=[appointment.public_id]), {"reason": "x"}).status_code == 403
    response = client.post(reverse("scheduling:status", args=[appointment.public_id]), {"status": "checked_in"})
    assert response.status_code == 403
    page = text_of(client.get(reverse("scheduling:appointment", args=[appointment.public_id])))
    assert "Reschedule" not in page and "Cancel appointment" not in page


# The week view and the today list ----------------------------------------------------------------


def test_the_week_view_shows_monday_to_sunday_for_one_practitioner(
    client_for, front_desk, booked, clinic, next_monday, therapist
):
    monday = booked("10:00")
    friday = booked("14:00", day=next_monday + datetime.timedelta(days=4))
    url = f"{reverse('scheduling:week')}?practitioner={therapist.public_id}&date={next_monday.isoformat()}"
    page = text_of(client_for(front_desk).get(url))
    heads = re.findall(r'class="cal-head[^"]*"[^>]*><a [^>]*>([^<]+)<', page)
    assert len(heads) == 7 and heads[0].startswith("Mon") and heads[-1].startswith("Sun")
    assert monday.patient.display_name in page and friday.patient.display_name in page
    assert "14:00–15:00" in page


def test_the_week_view_opens_on_someone_who_gives_a_service(client_for, front_desk, clinic, therapist, owner):
    page = text_of(client_for(front_desk).get(reverse("scheduling:week")))
    assert f"<h1>{therapist.display_name} · week of" in page


def test_the_today_list_shows_the_therapists_day_with_status_buttons(client_for, therapist, visit, clinic):
    now = timezone.now().astimezone(clinic.tz)
    start = now.replace(minute=0, second=0, microsecond=0)
    appointment = visit(start)
    page = text_of(client_for(therapist).get(reverse("scheduling:today")))
    assert "Your day" in page
    assert appointment.patient.display_name in page
    for label in ("Check in", "Start session", "Complete", "No-show"):
        assert f">{label}</button>" in page


def test_checking_in_from_the_today_list(client_for, therapist, visit, clinic):
    start = timezone.now().astimezone(clinic.tz).replace(second=0, microsecond=0)
    appointment = visit(start)
    response = client_for(therapist).post(
        reverse("scheduling:status", args=[appointment.public_id]),
        {"status": "checked_in", "next": reverse("scheduling:today")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("scheduling:today")
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CHECKED_IN
    change = AppointmentChange.objects.filter(appointment=appointment, kind="status").get()
    assert change.to_status == "checked_in"


def test_an_interrupted_session_records_the_reason_and_minutes(client_for, therapist, visit, clinic):
    start = timezone.now().astimezone(clinic.tz).replace(second=0, microsecond=0) - datetime.timedelta(minutes=30)
    appointment = visit(start, status=AppointmentStatus.IN_SESSION)
    client = client_for(therapist)
    url = reverse("scheduling:status", args=[appointment.public_id])
    client.post(url, {"status": "interrupted", "reason": "", "minutes_delivered": "20"})
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.IN_SESSION  # refused: no reason
    client.post(url, {"status": "interrupted", "reason": "called away for a scan", "minutes_delivered": "20"})
    saved = Appointment.objects.get(pk=appointment.pk)
    assert saved.status == AppointmentStatus.INTERRUPTED
    assert saved.minutes_delivered == 20 and saved.interrupted_reason == "called away for a scan"


def test_a_refused_status_change_says_why(client_for, therapist, booked):
    appointment = booked("10:00")  # next Monday: too early for a no-show
    response = client_for(therapist).post(
        reverse("scheduling:status", args=[appointment.public_id]), {"status": "no_show"}, follow=True
    )
    assert "only be a no-show once the start time has passed" in text_of(response)


# Booking ------------------------------------------------------------------------------------------


def book_data(clinic, therapist, service, patient, start, **extra):
    return {
        "patient": patient.public_id,
        "service": service.public_id,
        "duration": "60",
        "location": clinic.public_id,
        "practitioner": therapist.public_id,
        "room": "",
        "start": start,
        "notes": "",
        **extra,
    }


def test_the_booking_form_is_prefilled_from_the_clicked_time(
    client_for, front_desk, clinic, therapist, service, next_monday
):
    url = (
        f"{reverse('scheduling:book')}?location={clinic.public_id}&practitioner={therapist.public_id}"
        f"&start={next_monday.isoformat()}T09:15"
    )
    page = text_of(client_for(front_desk).get(url))
    assert f'value="{next_monday.isoformat()}T09:15"' in page
    assert f'<option value="{therapist.public_id}" selected>' in page


def test_the_chart_link_prefills_the_patient(client_for, front_desk, clinic, make_patient):
    patient = make_patient(legal_first_name="Philippa", legal_last_name="Prefill")
    for name in ("scheduling:book", "scheduling:series_new"):
        page = text_of(client_for(front_desk).get(reverse(name), {"patient": patient.public_id}))
        assert f'<input type="hidden" name="patient" value="{patient.public_id}">' in page
        assert "Philippa Prefill" in page and "Choose another patient" in page
    assert AuditEvent.objects.filter(record_type="patient", action="read", patient_id=patient.public_id).exists()


def test_booking_through_the_form(client_for, front_desk, clinic, therapist, service, next_monday, make_patient):
    patient = make_patient()
    data = book_data(clinic, therapist, service, patient, f"{next_monday.isoformat()}T10:00")
    response = client_for(front_desk).post(reverse("scheduling:book"), data)
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:appointment", args=[appointment.public_id])
    local = appointment.start.astimezone(clinic.tz)
    assert (local.date(), local.hour, local.minute) == (next_monday, 10, 0)
    assert appointment.room is not None  # chosen for us
    assert appointment.created_by == front_desk


def test_booking_inside_the_minimum_notice_asks_first(
    client_for, front_desk, clinic, therapist, service, next_monday, make_patient
):
    from effleura.scheduling.models import SchedulingPolicy

    SchedulingPolicy.objects.create(minimum_notice_minutes=43_200)  # 30 days: next Monday is short notice
    data = book_data(clinic, therapist, service, make_patient(), f"{next_monday.isoformat()}T10:00")
    client = client_for(front_desk)
    asked = client.post(reverse("scheduling:book"), data)
    page = text_of(asked)
    assert "sooner than the 43,200 minutes' notice the practice asks for" in page and "Book anyway" in page
    assert not Appointment.objects.exists()
    assert client.post(reverse("scheduling:book"), {**data, "confirm_warnings": "1"}).status_code == 302
    assert Appointment.objects.count() == 1


def test_a_conflict_is_explained_beside_the_form_and_nothing_is_saved(
    client_for, front_desk, booked, clinic, therapist, service, next_monday, make_patient
):
    booked("10:00")
    data = book_data(clinic, therapist, service, make_patient(), f"{next_monday.isoformat()}T10:30")
    response = client_for(front_desk).post(reverse("scheduling:book"), data)
    assert response.status_code == 409
    page = text_of(response)
    assert "That time is taken" in page
    assert "is already booked 10:00–11:00" in page
    assert Appointment.objects.count() == 1


def test_the_form_asks_for_the_patient(client_for, front_desk, clinic, therapist, service, next_monday):
    data = {**book_data(clinic, therapist, service, therapist, f"{next_monday.isoformat()}T10:00"), "patient": ""}
    response = client_for(front_desk).post(reverse("scheduling:book"), data)
    assert response.status_code == 200
    assert "Choose the patient" in text_of(response)
    assert not Appointment.objects.exists()


def test_a_time_outside_working_hours_is_refused_in_words(
    client_for, front_desk, clinic, therapist, service, next_monday, make_patient
):
    data = book_data(clinic, therapist, service, make_patient(), f"{next_monday.isoformat()}T18:00")
    page = text_of(client_for(front_desk).post(reverse("scheduling:book"), data))
    assert "does not work at Main Street at that time" in page
    assert not Appointment.objects.exists()


def test_the_patient_search_offers_radio_buttons(client_for, front_desk, make_patient):
    patient = make_patient(legal_first_name="Ottoline", legal_last_name="Quince")
    page = text_of(client_for(front_desk).get(reverse("scheduling:book_patients"), {"q": "Quince"}))
    assert f'type="radio" name="patient" value="{patient.public_id}"' in page


def test_the_free_times_of_a_day_and_booking_one(
    client_for, front_desk, booked, clinic, therapist, service, next_monday, make_patient
):
    booked("10:00")
    client = client_for(front_desk)
    query = {
        "service": service.public_id,
        "location": clinic.public_id,
        "practitioner": therapist.public_id,
        "duration": "60",
        "slot_day": next_monday.isoformat(),
    }
    partial = text_of(client.get(reverse("scheduling:book_slots"), query))
    offered = re.findall(r'name="slot" value="([^"]+)"', partial)
    labels = re.findall(r'name="slot" value="[^"]+"[^>]*> (\d\d:\d\d)', partial)
    assert labels[0] == "11:15" and labels[-1] == "16:00"
    # 09:00 would run, with its own changeover, into the 10:00 visit; 11:00 into its changeover.
    assert "09:00" not in labels and "10:00" not in labels and "11:00" not in labels
    chosen = offered[labels.index("11:15")]
    data = book_data(clinic, therapist, service, make_patient(), "", slot=chosen, practitioner="")
    response = client.post(reverse("scheduling:book"), data)
    assert response.status_code == 302
    latest = Appointment.objects.order_by("-id").first()
    assert latest.start.astimezone(clinic.tz).strftime("%H:%M") == "11:15"


def test_the_free_times_work_without_javascript(client_for, front_desk, clinic, therapist, service, next_monday):
    query = {
        "service": service.public_id,
        "location": clinic.public_id,
        "practitioner": "",
        "duration": "",
        "slot_day": next_monday.isoformat(),
        "find": "1",
    }
    page = text_of(client_for(front_desk).get(reverse("scheduling:book"), query))
    assert page.count('name="slot"') > 10
    assert therapist.display_name in page


# One appointment ------------------------------------------------------------------------------


def test_the_appointment_page_shows_details_and_history(client_for, front_desk, booked, clinic):
    appointment = booked("10:00")
    page = text_of(client_for(front_desk).get(reverse("scheduling:appointment", args=[appointment.public_id])))
    assert appointment.patient.display_name in page
    assert "10:00–11:00" in page and "Booked" in page
    assert "History" in page and "Clinical massage, 60 min with" in page
    assert AuditEvent.objects.filter(record_type="appointment", action="read", patient_id=appointment.patient.public_id)


def test_rescheduling_by_picking_a_free_time(client_for, front_desk, booked, clinic, next_monday):
    appointment = booked("10:00")
    client = client_for(front_desk)
    url = reverse("scheduling:reschedule", args=[appointment.public_id])
    tuesday = next_monday + datetime.timedelta(days=1)
    page = text_of(client.get(url, {"slot_day": tuesday.isoformat(), "find": "1"}))
    offered = dict(
        (label, value) for value, label in re.findall(r'name="slot" value="([^"]+)"[^>]*> (\d\d:\d\d)', page)
    )
    response = client.post(url, {"slot": offered["14:00"]})
    assert response.status_code == 302
    moved = Appointment.objects.get(pk=appointment.pk)
    assert moved.start.astimezone(clinic.tz) == datetime.datetime.combine(tuesday, datetime.time(14), tzinfo=clinic.tz)
    change = AppointmentChange.objects.filter(appointment=appointment, kind="rescheduled").get()
    assert change.from_start == appointment.start


def test_rescheduling_onto_a_taken_time_explains_the_conflict(client_for, front_desk, booked, clinic, next_monday):
    booked("10:00")
    second = booked("13:00")
    response = client_for(front_desk).post(
        reverse("scheduling:reschedule", args=[second.public_id]), {"start": f"{next_monday.isoformat()}T10:30"}
    )
    assert response.status_code == 409
    assert "is already booked 10:00–11:00" in text_of(response)
    assert Appointment.objects.get(pk=second.pk).start == second.start


def test_a_drop_on_the_calendar_moves_the_appointment_and_returns(
    client_for, front_desk, booked, clinic, next_monday, therapist
):
    appointment = booked("10:00")
    back = day_url(clinic, next_monday)
    response = client_for(front_desk).post(
        reverse("scheduling:reschedule", args=[appointment.public_id]),
        {
            "start": f"{next_monday.isoformat()}T15:00",
            "column": f"p:{therapist.public_id}",
            "next": back,
            "dropped": "1",
        },
    )
    assert response.status_code == 302 and response["Location"] == back
    assert Appointment.objects.get(pk=appointment.pk).start.astimezone(clinic.tz).hour == 15


def test_cancelling_asks_why_and_says_when_it_is_late(client_for, front_desk, visit, clinic):
    soon = timezone.now() + datetime.timedelta(hours=3)
    appointment = visit(soon.replace(second=0, microsecond=0))
    client = client_for(front_desk)
    url = reverse("scheduling:cancel", args=[appointment.public_id])
    assert "late cancellation" in text_of(client.get(url))
    assert client.post(url, {"reason": ""}).status_code == 200
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED
    response = client.post(url, {"reason": "car trouble"}, follow=True)
    saved = Appointment.objects.get(pk=appointment.pk)
    assert saved.status == AppointmentStatus.CANCELLED and saved.late_cancel and saved.cancel_reason == "car trouble"
    assert "It was a late cancellation." in text_of(response)


def test_after_cancelling_the_waitlist_matches_are_offered(
    client_for, front_desk, booked, clinic, service, next_monday, make_patient
):
    from effleura.scheduling import waitlist

    appointment = booked("10:00")
    waiting = make_patient(legal_first_name="Waiting", legal_last_name="Walker")
    data = {
        "service": service,
        "location": clinic,
        "practitioner": None,
        "duration_minutes": 60,
        "windows": [{"weekday": 0, "start": "09:00", "end": "12:00"}],
        "earliest": None,
        "latest": None,
        "notes": "",
    }
    waitlist.do_add_waitlist_entry(front_desk, waiting, waitlist.check_add_waitlist_entry(front_desk, waiting, data))
    client = client_for(front_desk)
    response = client.post(
        reverse("scheduling:cancel", args=[appointment.public_id]), {"reason": "moving away"}, follow=True
    )
    page = text_of(response)
    assert "Waitlist for this time" in page
    assert "Waiting Walker" in page and "Book Waiting Walker" in page


# Pinned query counts -----------------------------------------------------------------------------


@pytest.fixture
def busy_day(visit, clinic, owner, room, room2, make_patient, next_monday, at):
    """fill(n) -> n appointments next Monday, over enough practitioners to hold them, all
    with a required consent document in force."""
    from django.contrib.auth import get_user_model

    from effleura.core.choices import Role
    from effleura.patients import actions as patient_actions

    patient_actions.do_create_consent_document(
        owner, title="Consent to treatment", kind="treatment", required=True, body="I agree to massage. " * 3
    )
    user_model = get_user_model()

    def fill(n: int):
        staff = [
            user_model.objects.create_user(username=f"lmt{k}", role=Role.THERAPIST, first_name=f"Lmt{k}")
            for k in range(max(1, n // 10))
        ]
        for k in range(n):
            start = at(next_monday, "08:00") + datetime.timedelta(minutes=60 * (k % 10))
            # 45 minutes and 15 of changeover: back to back, never overlapping (PostgreSQL refuses that).
            visit(start, make_patient(), practitioner=staff[k // 10 % len(staff)], room_=None, minutes=45)

    return fill


@pytest.mark.parametrize("how_many", [5, 50])
def test_the_day_view_does_a_fixed_number_of_queries(
    client_for, front_desk, busy_day, clinic, next_monday, django_assert_num_queries, how_many
):
    busy_day(how_many)
    client = client_for(front_desk)
    with django_assert_num_queries(DAY_QUERIES):
        response = client.get(day_url(clinic, next_monday))
    assert text_of(response).count('<a class="cal-appt') == how_many
    assert text_of(response).count(">consent<") == how_many


@pytest.mark.parametrize("by", ["location", "practitioner"])
def test_a_calendars_appointments_carry_what_it_shows_with_no_further_query(
    front_desk, booked, clinic, next_monday, therapist, django_assert_num_queries, by
):
    """The location or practitioner the calendar asks for is set on its appointments rather
    than joined in again (scheduling/access.py): they still read as the database has them."""
    from effleura.scheduling import access
    from effleura.scheduling.views.calendar_support import day_span

    booked("10:00")
    booked("14:00")
    start, end = day_span(next_monday, clinic.tz)
    asked = {"location": clinic} if by == "location" else {"practitioner": therapist}
    found = access.access_appointments(front_desk, start, end, **asked)
    with django_assert_num_queries(0):
        shown = [
            (a.location.name, a.location.time_zone, a.practitioner.display_name, a.patient.display_name, a.room.name)
            for a in found
        ]
    fresh = Appointment.objects.filter(pk__in=[a.pk for a in found]).order_by("start")
    assert len(shown) == 2
    assert shown == [
        (a.location.name, a.location.time_zone, a.practitioner.display_name, a.patient.display_name, a.room.name)
        for a in fresh
    ]


def test_a_calendar_list_sets_the_rows_the_page_holds_and_fetches_only_the_others(
    front_desk, booked, clinic, next_monday, therapist, django_assert_num_queries
):
    """``have`` (scheduling/access.py): the rows the day view holds already (its
    practitioners, the location's rooms) are set on the visits, not fetched again; a row
    they lack, such as a practitioner who has since left, is fetched as before."""
    from effleura.scheduling import access
    from effleura.scheduling.views.calendar_support import day_span

    booked("10:00")
    booked("14:00")
    start, end = day_span(next_monday, clinic.tz)
    rooms = list(clinic.rooms.all())
    held = {"practitioner": [therapist], "room": rooms}
    with django_assert_num_queries(3):  # the list, its services, the audit insert
        found = access.access_appointments(front_desk, start, end, location=clinic, have=held)
    assert len(found) == 2
    assert all(a.practitioner is therapist for a in found)
    assert all(any(a.room is room for room in rooms) for a in found)
    with django_assert_num_queries(4):  # and the practitioner, whom the page did not hold
        found = access.access_appointments(front_desk, start, end, location=clinic, have={"room": rooms})
    assert [a.practitioner.pk for a in found] == [therapist.pk, therapist.pk]
    assert all(a.practitioner is not therapist for a in found)


@pytest.mark.parametrize("how_many", [5, 50])
def test_the_week_view_does_a_fixed_number_of_queries(
    client_for,
    front_desk,
    visit,
    clinic,
    therapist,
    owner,
    next_monday,
    at,
    make_patient,
    django_assert_num_queries,
    how_many,
):
    from effleura.patients import actions as patient_actions

    patient_actions.do_create_consent_document(
        owner, title="Consent to treatment", kind="treatment", required=True, body="I agree to massage. " * 3
    )
    for k in range(how_many):
        start = at(next_monday + datetime.timedelta(days=k % 7), "07:00") + datetime.timedelta(minutes=45 * (k // 7))
        visit(start, make_patient(), minutes=30, room_=None)
    client = client_for(front_desk)
    url = f"{reverse('scheduling:week')}?practitioner={therapist.public_id}&date={next_monday.isoformat()}"
    with django_assert_num_queries(WEEK_QUERIES):
        response = client.get(url)
    assert text_of(response).count('<a class="cal-appt') == how_many


# Every calendar URL answers each role as the permission table says --------------------------

CALENDAR_URLS = [
    "scheduling:day",
    "scheduling:week",
    "scheduling:today",
    "scheduling:book",
    "scheduling:book_slots",
    "scheduling:book_patients",
    "scheduling:appointment",
    "scheduling:reschedule",
    "scheduling:cancel",
    "scheduling:status",
    "scheduling:series_new",
    "scheduling:series",
    "scheduling:series_cancel",
]


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing", "outsider"])
def test_each_calendar_url_answers_each_role_as_the_table_says(
    role, personas, client_for, booked, clinic, therapist, service, front_desk, make_patient, next_monday, at
):
    from effleura.core import permissions

    appointment = booked("10:00")
    series = actions.do_book_series(
        front_desk, make_patient(), therapist, service, clinic, [at(next_monday, "14:00")], weekdays=[0]
    )
    ids = {"appointment_id": appointment.public_id, "series_id": series.public_id}
    client = client_for(personas[role])
    failures = []
    for name in CALENDAR_URLS:
        entry = permissions.URL_RULES[name]
        params = [p for p in ("appointment_id", "series_id") if f"<uuid:{p}>" in _route(name)]
        url = reverse(name, kwargs={p: ids[p] for p in params})
        for method in list(entry) if isinstance(entry, dict) else ["GET"]:
            response = client.get(url) if method == "GET" else client.post(url, {})
            refused = response.status_code == 403
            expected = not permissions.has_permission(personas[role], permissions.url_permission(name, method))
            if refused != expected:
                failures.append(f"{method} {name} -> {response.status_code}")
    assert failures == []
    # Empty posts change nothing.
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED


def _route(name: str) -> str:
    from django.urls import get_resolver

    resolver = get_resolver()
    for pattern in resolver.namespace_dict["scheduling"][1].url_patterns:
        if getattr(pattern, "name", None) == name.split(":")[1]:
            return str(pattern.pattern)
    raise AssertionError(name)


# The grid (views/grid.py) ------------------------------------------------------------------------


def _row(start, minutes, changeover=0):
    from types import SimpleNamespace

    end = start + datetime.timedelta(minutes=minutes)
    return SimpleNamespace(start=start, end=end, busy_until=end + datetime.timedelta(minutes=changeover))


def test_the_grid_puts_overlapping_visits_side_by_side_and_marks_changeover():
    import zoneinfo

    from effleura.scheduling.views import grid

    tz = zoneinfo.ZoneInfo("America/Chicago")
    day = datetime.date(2026, 3, 2)
    nine = datetime.datetime.combine(day, datetime.time(9), tzinfo=tz)
    column = grid.Column("r:", "No room", day, tz, working=[(9 * 60, 12 * 60)])
    a, b = _row(nine, 60, changeover=15), _row(nine + datetime.timedelta(minutes=30), 60)
    layout = grid.build([column], {"r:": [a, b]}, [(8 * 60, 12 * 60)])
    assert [t[1] for t in layout.times if t[2]] == ["08:00", "09:00", "10:00", "11:00"]
    first, second = column.blocks
    assert (first.row, first.span, first.lane, first.lanes) == (6, 4, 0, 2)
    assert (second.row, second.span, second.lane, second.width_percent) == (8, 4, 1, 50.0)
    cells = {c.label: c for c in column.cells}
    assert "09:00" not in cells and "10:15" not in cells  # under the blocks
    assert cells["08:00"].working is False and cells["11:00"].working is True
    assert cells["11:00"].value == "2026-03-02T11:00"


def test_the_grid_keeps_wall_clock_labels_on_the_day_the_clocks_go_forward():
    import zoneinfo

    from effleura.scheduling.views import grid

    tz = zoneinfo.ZoneInfo("America/Chicago")
    day = datetime.date(2026, 3, 8)  # 02:00 -> 03:00
    column = grid.Column("p:x", "Someone", day, tz)
    visit = _row(datetime.datetime.combine(day, datetime.time(9), tzinfo=tz), 60)
    layout = grid.build([column], {"p:x": [visit]}, [(8 * 60, 12 * 60)])
    assert column.blocks[0].start_label == "09:00" and column.blocks[0].end_label == "10:00"
    assert layout.times[0][1] == "08:00"
