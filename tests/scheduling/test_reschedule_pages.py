"""The reschedule page (views/appointments.py reschedule) at short notice: a new time
sooner than the practice's minimum notice is moved only once staff tick "Move anyway",
whether it was typed, picked from the free times or dropped on the calendar; a time
already past or taken is refused even then; billing and an outsider cannot move a visit.

The visits are booked next Monday with the default notice; the notice is then raised to
30 days (43,200 minutes), so every time next Monday is short notice."""

import datetime
import html
import re

import pytest
from django.urls import reverse

from effleura.core.choices import Role
from effleura.scheduling.choices import ChangeKind
from effleura.scheduling.models import Appointment, AppointmentChange, SchedulingPolicy, WorkingHours

WARNING = "sooner than the 43,200 minutes' notice the practice asks for"


def text_of(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def visit(book):
    """A visit next Monday at 10:00, then a 30-day notice."""
    appointment = book("10:00")
    SchedulingPolicy.objects.create(minimum_notice_minutes=43_200)
    return appointment


@pytest.fixture
def url(visit):
    return reverse("scheduling:reschedule", args=[visit.public_id])


def warned(page: str) -> dict:
    """What "Move anyway" sends back: the tick and the move it was shown for."""
    found = re.search(r'name="warned" value="([^"]*)"', page)
    assert found, "the page shows no move to confirm"
    return {"confirm_warnings": "1", "warned": found.group(1)}


def moved(visit) -> bool:
    return AppointmentChange.objects.filter(appointment=visit, kind=ChangeKind.RESCHEDULED).exists()


def test_the_front_desk_is_asked_to_confirm_then_moves_the_visit(client_for, front_desk, visit, url, next_monday, at):
    client = client_for(front_desk)
    typed = {"start": f"{next_monday.isoformat()}T14:00"}
    asked = client.post(url, typed)
    assert asked.status_code == 200
    page = text_of(asked)
    assert "Before you move it" in page and WARNING in page and "Move anyway" in page
    assert 'name="confirm_warnings" value="1"' in page
    assert Appointment.objects.get(pk=visit.pk).start == visit.start and not moved(visit)
    response = client.post(url, {**typed, **warned(page)})
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:appointment", args=[visit.public_id])
    assert Appointment.objects.get(pk=visit.pk).start == at(next_monday, "14:00")
    change = AppointmentChange.objects.get(appointment=visit, kind=ChangeKind.RESCHEDULED)
    assert change.from_start == visit.start and change.actor == front_desk


def test_a_free_time_picked_inside_the_notice_is_offered_and_asks_first(
    client_for, front_desk, visit, url, next_monday, at
):
    client = client_for(front_desk)
    page = text_of(client.get(url, {"slot_day": next_monday.isoformat(), "find": "1"}))
    offered = {label: value for value, label in re.findall(r'name="slot" value="([^"]+)"[^>]*> (\d\d:\d\d)', page)}
    picked = {"slot": offered["15:00"], "slot_day": next_monday.isoformat()}
    asked = text_of(client.post(url, picked))
    assert WARNING in asked and not moved(visit)
    assert re.search(r'name="slot" value="' + re.escape(offered["15:00"]) + '" checked', asked)  # still picked
    assert client.post(url, {**picked, **warned(asked)}).status_code == 302
    assert Appointment.objects.get(pk=visit.pk).start == at(next_monday, "15:00")


@pytest.fixture
def colleague(django_user_model, service, location):
    other = django_user_model.objects.create_user(
        username="colleague", role=Role.THERAPIST, first_name="Jordan", last_name="Reyes"
    )
    service.practitioners.add(other)
    WorkingHours.objects.bulk_create(
        WorkingHours(practitioner=other, location=location, weekday=d, start="09:00", end="17:00") for d in range(5)
    )
    return other


def test_a_drop_inside_the_notice_shows_the_move_to_confirm(
    client_for, front_desk, visit, url, colleague, next_monday, at
):
    back = f"{reverse('scheduling:day')}?location={visit.location.public_id}&date={next_monday.isoformat()}"
    client = client_for(front_desk)
    drop = {"start": f"{next_monday.isoformat()}T15:00", "column": f"p:{colleague.public_id}", "next": back}
    asked = client.post(url, {**drop, "dropped": "1"})
    assert asked.status_code == 200  # not sent back to the calendar: the page asks first
    page = text_of(asked)
    assert WARNING in page and "Move anyway" in page and not moved(visit)
    # The form spells out the drop: its time and the column's practitioner, ready to confirm.
    assert f'value="{next_monday.isoformat()}T15:00"' in page
    assert f'<option value="{colleague.public_id}" selected>' in page
    assert 'name="dropped"' not in page and f'name="next" value="{back}"' in page
    confirmed = {
        "start": drop["start"],
        "practitioner": str(colleague.public_id),
        "next": back,
        **warned(page),
    }
    response = client.post(url, confirmed)
    assert response.status_code == 302 and response["Location"] == back
    saved = Appointment.objects.get(pk=visit.pk)
    assert saved.start == at(next_monday, "15:00") and saved.practitioner == colleague


def test_move_anyway_confirms_only_the_move_it_was_shown_for(client_for, front_desk, visit, url, next_monday, at):
    client = client_for(front_desk)
    asked = text_of(client.post(url, {"start": f"{next_monday.isoformat()}T14:00"}))
    # The time is changed on the warning page and "Move anyway" ticked: the new time asks again.
    again = client.post(url, {"start": f"{next_monday.isoformat()}T15:00", **warned(asked)})
    assert again.status_code == 200 and WARNING in text_of(again) and not moved(visit)
    assert client.post(url, {"start": f"{next_monday.isoformat()}T15:00", **warned(text_of(again))}).status_code == 302
    assert Appointment.objects.get(pk=visit.pk).start == at(next_monday, "15:00")


def test_a_time_already_past_is_refused_even_when_confirmed(client_for, front_desk, visit, url, next_monday):
    past = next_monday - datetime.timedelta(days=14)
    response = client_for(front_desk).post(url, {"start": f"{past.isoformat()}T10:00", "confirm_warnings": "1"})
    assert response.status_code == 200
    assert "That time has passed" in text_of(response) and not moved(visit)


def test_a_taken_time_is_refused_even_when_confirmed(client_for, front_desk, book, visit, url, next_monday):
    book("14:00", confirm_warnings=True)  # another client's visit, booked at short notice
    response = client_for(front_desk).post(url, {"start": f"{next_monday.isoformat()}T14:30", "confirm_warnings": "1"})
    assert response.status_code == 409
    assert "That time is taken" in text_of(response) and not moved(visit)


@pytest.mark.parametrize("role", ["billing", "outsider"])
def test_billing_and_an_outsider_cannot_move_a_visit_even_confirming(
    role, personas, client_for, visit, url, next_monday
):
    client = client_for(personas[role])
    assert client.get(url).status_code == 403
    response = client.post(url, {"start": f"{next_monday.isoformat()}T14:00", "confirm_warnings": "1"})
    assert response.status_code == 403
    assert Appointment.objects.get(pk=visit.pk).start == visit.start and not moved(visit)
