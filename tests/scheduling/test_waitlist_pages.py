"""The waitlist pages: the list, adding a patient, and booking a match in one click."""

import pytest
from django.urls import reverse

from effleura.scheduling import actions
from effleura.scheduling import waitlist as rules
from effleura.scheduling.choices import AppointmentStatus, WaitlistStatus
from effleura.scheduling.models import WaitlistEntry

MORNINGS = [{"weekday": d, "start": "09:00", "end": "12:00"} for d in range(5)]


@pytest.fixture
def waiting(location, service, front_desk):
    def add(patient, **over):
        data = {"service": service, "location": location, "duration_minutes": 60, "windows": MORNINGS} | over
        return rules.do_add_waitlist_entry(
            front_desk, patient, rules.check_add_waitlist_entry(front_desk, patient, data)
        )

    return add


@pytest.fixture
def cancelled(location, room, service, hours, therapist, front_desk, make_patient, next_monday, at):
    appointment = actions.do_book(
        front_desk,
        actions.check_book(
            front_desk, make_patient(), therapist, service, location, at(next_monday, "10:00"), 60, room
        ),
    )
    return actions.do_cancel(front_desk, appointment, "Called to cancel.")


def test_the_list_shows_waiting_entries_with_their_times(client_for, front_desk, waiting, make_patient, location):
    entry = waiting(make_patient(legal_first_name="Waiting"), notes="Any weekday morning")
    gone = waiting(make_patient(legal_first_name="Removed"))
    rules.do_remove_waitlist_entry(front_desk, gone)
    page = client_for(front_desk).get(reverse("scheduling:waitlist"), {"location": str(location.public_id)})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Waiting Synthetic" in text and "Removed Synthetic" not in text
    assert "Mon 09:00–12:00" in text and "Any weekday morning" in text
    assert reverse("scheduling:waitlist_remove", args=[entry.public_id]) in text


def test_the_list_does_a_fixed_number_of_queries(
    client_for, front_desk, waiting, make_patient, django_assert_max_num_queries
):
    client = client_for(front_desk)
    waiting(make_patient())
    client.get(reverse("scheduling:waitlist"))  # warm the session
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("scheduling:waitlist"))
    for _ in range(10):
        waiting(make_patient())
    with django_assert_max_num_queries(len(few)):
        assert client.get(reverse("scheduling:waitlist")).status_code == 200


def test_the_list_finds_a_patient_to_add(client_for, front_desk, make_patient):
    patient = make_patient(legal_last_name="Quinlan")
    page = client_for(front_desk).get(reverse("scheduling:waitlist"), {"q": "Quinlan"})
    assert reverse("scheduling:waitlist_add", args=[patient.public_id]) in page.content.decode()


def test_adding_a_patient_through_the_form(client_for, front_desk, make_patient, service, location, therapist):
    patient = make_patient()
    url = reverse("scheduling:waitlist_add", args=[patient.public_id])
    client = client_for(front_desk)
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "service": service.pk,
            "duration_minutes": "30",
            "location": location.pk,
            "practitioner": therapist.pk,
            "tuesday_start": "14:00",
            "tuesday_end": "18:00",
            "thursday_start": "09:00",
            "thursday_end": "12:00",
            "notes": "Can come at short notice",
        },
    )
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert entry.patient == patient and entry.practitioner == therapist and entry.duration_minutes == 30
    assert entry.windows == [
        {"weekday": 1, "start": "14:00", "end": "18:00"},
        {"weekday": 3, "start": "09:00", "end": "12:00"},
    ]


def test_the_form_says_what_is_wrong_with_the_times(client_for, front_desk, make_patient, service, location):
    patient = make_patient()
    url = reverse("scheduling:waitlist_add", args=[patient.public_id])
    base = {"service": service.pk, "location": location.pk}
    nothing = client_for(front_desk).post(url, base)
    assert "Give at least one time that suits the patient." in nothing.content.decode()
    backwards = client_for(front_desk).post(url, base | {"monday_start": "12:00", "monday_end": "09:00"})
    assert "must be after the start" in backwards.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_billing_sees_no_waitlist(client_for, billing, make_patient):
    client = client_for(billing)
    assert client.get(reverse("scheduling:waitlist")).status_code == 403
    assert client.get(reverse("scheduling:waitlist_add", args=[make_patient().public_id])).status_code == 403


def test_removing_from_the_list(client_for, front_desk, waiting, make_patient):
    entry = waiting(make_patient())
    response = client_for(front_desk).post(reverse("scheduling:waitlist_remove", args=[entry.public_id]))
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.REMOVED


def test_after_a_cancellation_the_desk_sees_the_matches_and_books_one_in_a_click(
    client_for, front_desk, waiting, make_patient, cancelled
):
    entry = waiting(make_patient(legal_first_name="Eager"))
    client = client_for(front_desk)
    page = client.get(reverse("scheduling:waitlist_matches", args=[cancelled.public_id]))
    assert page.status_code == 200
    book_url = reverse("scheduling:waitlist_book", args=[entry.public_id, cancelled.public_id])
    assert "Eager Synthetic" in page.content.decode() and book_url in page.content.decode()

    response = client.post(book_url)
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED
    booked = entry.appointment
    assert (
        booked.start == cancelled.start and booked.room == cancelled.room and booked.status == AppointmentStatus.BOOKED
    )

    # The time is taken now: no more matches, and a second click books nothing.
    assert (
        "Nobody on the waitlist fits this time."
        in client.get(reverse("scheduling:waitlist_matches", args=[cancelled.public_id])).content.decode()
    )


def test_a_stale_book_button_books_nothing(client_for, front_desk, waiting, make_patient, cancelled):
    entry = waiting(make_patient(), windows=[{"weekday": 2, "start": "09:00", "end": "12:00"}])  # Wednesdays only
    response = client_for(front_desk).post(
        reverse("scheduling:waitlist_book", args=[entry.public_id, cancelled.public_id])
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING and not entry.patient.appointments.exists()


def test_matches_for_an_unknown_appointment_is_404(client_for, front_desk):
    url = reverse("scheduling:waitlist_matches", args=["00000000-0000-0000-0000-000000000000"])
    assert client_for(front_desk).get(url).status_code == 404
