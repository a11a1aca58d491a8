"""Booking a treatment series through the pages: propose (conflicts with alternatives),
book all or nothing, the series page, cancelling one visit or all remaining."""

import datetime
import html
import re

import pytest
from django.urls import reverse

from effleura.scheduling import actions
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment, Series


def text_of(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def clinic(location, room, room2, service, hours):
    return location


def series_data(clinic, therapist, service, patient, first_start, **extra):
    """Twice a week (Monday and Thursday) for two weeks, from ``first_start``."""
    return {
        "patient": patient.public_id,
        "service": service.public_id,
        "duration": "60",
        "location": clinic.public_id,
        "practitioner": therapist.public_id,
        "room": "",
        "start": first_start,
        "visits": "4",
        "repeat": "weekdays",
        "weekdays": ["0", "3"],
        "every_days": "",
        **extra,
    }


def visit_fields(page) -> dict:
    """The visit_N fields of a proposal: hidden values of free visits, radio values of the rest."""
    fields: dict = {}
    for name, value in re.findall(r'name="(visit_\d+)" value="([^"]+)"', page):
        fields.setdefault(name, []).append(value)
    return fields


def test_proposing_shows_every_visit_and_booking_all_saves_them(
    client_for, front_desk, clinic, therapist, service, make_patient, next_monday
):
    patient = make_patient()
    client = client_for(front_desk)
    data = series_data(clinic, therapist, service, patient, f"{next_monday.isoformat()}T10:00")
    page = text_of(client.post(reverse("scheduling:series_new"), {**data, "action": "propose"}))
    assert "Every visit is available." in page
    thursday = next_monday + datetime.timedelta(days=3)
    assert f"Thu {thursday.day} {thursday:%b %Y}, 10:00" in page
    fields = visit_fields(page)
    assert sorted(fields) == ["visit_1", "visit_2", "visit_3", "visit_4"]
    assert Appointment.objects.count() == 0  # proposing saves nothing

    chosen = {name: values[0] for name, values in fields.items()}
    response = client.post(reverse("scheduling:series_new"), {**data, **chosen, "action": "book"})
    series = Series.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:series", args=[series.public_id])
    visits = list(series.appointments.order_by("start"))
    assert len(visits) == 4 and series.weekdays == [0, 3]
    assert [v.start.astimezone(clinic.tz).weekday() for v in visits] == [0, 3, 0, 3]


def test_a_conflicting_visit_offers_alternatives_and_the_choice_is_booked(
    client_for, front_desk, clinic, therapist, service, make_patient, next_monday, at
):
    other = make_patient()
    thursday = next_monday + datetime.timedelta(days=3)
    actions.do_book(
        front_desk, actions.check_book(front_desk, other, therapist, service, clinic, at(thursday, "10:00"))
    )
    client = client_for(front_desk)
    data = series_data(clinic, therapist, service, make_patient(), f"{next_monday.isoformat()}T10:00")
    page = text_of(client.post(reverse("scheduling:series_new"), {**data, "action": "propose"}))
    assert "1 visit cannot be booked as planned" in page
    assert "is already booked 10:00–11:00" in page
    fields = visit_fields(page)
    assert len(fields["visit_2"]) >= 2  # alternatives, and leaving it out
    alternative = fields["visit_2"][0]
    chosen = {name: values[0] for name, values in fields.items()}
    assert chosen["visit_2"] == alternative
    client.post(reverse("scheduling:series_new"), {**data, **chosen, "action": "book"})
    series = Series.objects.get()
    starts = [v.start for v in series.appointments.order_by("start")]
    assert datetime.datetime.fromisoformat(alternative.split("|")[0]) in starts
    assert len(starts) == 4


def test_booking_all_without_choosing_for_a_conflict_asks_for_a_choice(
    client_for, front_desk, clinic, therapist, service, make_patient, next_monday, at
):
    thursday = next_monday + datetime.timedelta(days=3)
    actions.do_book(
        front_desk, actions.check_book(front_desk, make_patient(), therapist, service, clinic, at(thursday, "10:00"))
    )
    client = client_for(front_desk)
    data = series_data(clinic, therapist, service, make_patient(), f"{next_monday.isoformat()}T10:00")
    page = text_of(client.post(reverse("scheduling:series_new"), {**data, "action": "propose"}))
    free = {name: values[0] for name, values in visit_fields(page).items() if name != "visit_2"}
    response = client.post(reverse("scheduling:series_new"), {**data, **free, "action": "book"})
    assert "Choose a time for visit 2, or leave it out." in text_of(response)
    assert not Series.objects.exists()


def test_a_visit_taken_meanwhile_books_nothing_and_says_which(
    client_for, front_desk, clinic, therapist, service, make_patient, next_monday, at
):
    client = client_for(front_desk)
    data = series_data(clinic, therapist, service, make_patient(), f"{next_monday.isoformat()}T10:00")
    page = text_of(client.post(reverse("scheduling:series_new"), {**data, "action": "propose"}))
    chosen = {name: values[0] for name, values in visit_fields(page).items()}
    later = next_monday + datetime.timedelta(days=7)
    actions.do_book(
        front_desk, actions.check_book(front_desk, make_patient(), therapist, service, clinic, at(later, "10:30"))
    )
    response = client.post(reverse("scheduling:series_new"), {**data, **chosen, "action": "book"})
    assert response.status_code == 409
    assert "Visit 3 of 4:" in text_of(response)
    assert not Series.objects.exists()
    assert Appointment.objects.count() == 1


def test_the_series_page_lists_visits_and_cancels_all_remaining(
    client_for, front_desk, billing, clinic, therapist, service, make_patient, next_monday, at
):
    patient = make_patient()
    starts = [at(next_monday + datetime.timedelta(days=d), "10:00") for d in (0, 3, 7, 10)]
    series = actions.do_book_series(front_desk, patient, therapist, service, clinic, starts, weekdays=[0, 3])
    client = client_for(front_desk)
    url = reverse("scheduling:series", args=[series.public_id])
    page = text_of(client.get(url))
    assert page.count("Cancel visit") == 4 and "Cancel all remaining visits (4)" in page
    first = series.appointments.order_by("start").first()
    client.post(reverse("scheduling:cancel", args=[first.public_id]), {"reason": "holiday", "next": url})
    page = text_of(client.get(url))
    assert "Cancel all remaining visits (3)" in page
    response = client.post(reverse("scheduling:series_cancel", args=[series.public_id]), {"reason": "moved away"})
    assert response.status_code == 302
    assert set(series.appointments.values_list("status", flat=True)) == {AppointmentStatus.CANCELLED}
    assert client_for(billing).get(url).status_code == 200
    assert client_for(billing).post(reverse("scheduling:series_cancel", args=[series.public_id])).status_code == 403


def test_the_pattern_must_be_given(client_for, front_desk, clinic, therapist, service, make_patient, next_monday):
    data = series_data(clinic, therapist, service, make_patient(), f"{next_monday.isoformat()}T10:00", weekdays=[])
    page = text_of(client_for(front_desk).post(reverse("scheduling:series_new"), {**data, "action": "propose"}))
    assert "Tick at least one weekday." in page
    data = series_data(
        clinic, therapist, service, make_patient(), f"{next_monday.isoformat()}T10:00", repeat="days", every_days="7"
    )
    page = text_of(client_for(front_desk).post(reverse("scheduling:series_new"), {**data, "action": "propose"}))
    assert "Every visit is available." in page


def test_billing_cannot_open_the_series_form(client_for, billing):
    assert client_for(billing).get(reverse("scheduling:series_new")).status_code == 403
