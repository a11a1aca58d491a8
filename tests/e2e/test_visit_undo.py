"""Undo a status change made by mistake, in a real browser: start a session, see that it
can no longer be cancelled and why, undo the start, and cancel the visit that is booked
again (issue 11, guarded visit states).

The visit is in a location of its own ("E2E Undo Room", its own therapist and patient,
made with `effleura shell` against the e2e site), starting ten minutes from now: inside
the practice's start window (30 minutes), so "Start session" is offered.
"""

import json
import re

import pytest
from playwright.sync_api import expect

THERAPIST = "e2e_undo"

SETUP = """
import datetime, json
from decimal import Decimal
from django.contrib.auth import get_user_model
from django.utils import timezone
from effleura.core.choices import Role
from effleura.demo.data import DEMO_PASSWORD
from effleura.patients import actions as patient_actions
from effleura.scheduling import setup
from effleura.scheduling.models import Appointment

User = get_user_model()
owner = User.objects.get(username="owner")
ursula = User.objects.create_user(
    username="{therapist}", first_name="Ursula", last_name="Undo", role=Role.THERAPIST, credentials="LMT"
)
ursula.set_password(DEMO_PASSWORD)
ursula.save()
week = [{"weekday": d, "opens": "00:00", "closes": "23:59"} for d in range(7)]
location = setup.do_save_location(
    owner, setup.check_save_location(owner, {"name": "E2E Undo Room", "time_zone": "America/Chicago",
                                             "opening_hours": week})
)
service = {
    "name": "E2E undo massage", "durations": [60], "default_price": Decimal("80.00"), "currency": "USD",
    "changeover_minutes": 0, "practitioners": [ursula], "needs_room": False, "bookable_online": False,
}
service = setup.do_save_service(owner, setup.check_save_service(owner, service))
data = {"legal_first_name": "Umberto", "legal_last_name": "Undoer", "date_of_birth": "1979-04-05",
        "phone": "555-0191"}
patient = patient_actions.do_create_patient(
    owner, patient_actions.check_create_patient(owner, data, allow_duplicate=True)
)
# Written straight to the table: booking refuses a time closer than the minimum notice.
start = (timezone.now() + datetime.timedelta(minutes=10)).replace(second=0, microsecond=0)
end = start + datetime.timedelta(minutes=60)
visit = Appointment.objects.create(
    patient=patient, practitioner=ursula, service=service, location=location, duration_minutes=60,
    start=start, end=end, busy_until=end, created_by=owner,
)
print(json.dumps({"appointment": str(visit.public_id)}))
""".replace("{therapist}", THERAPIST)


@pytest.fixture(scope="module")
def visit(site) -> str:
    result = site.manage("shell", "-c", SETUP)
    return json.loads(result.stdout.strip().splitlines()[-1])["appointment"]


def test_start_a_session_undo_it_and_cancel_the_visit(page, login, visit):
    login(page, THERAPIST)
    page.goto(f"/schedule/appointments/{visit}/")
    badge = page.locator(".chart-head .status-badge")
    expect(badge).to_have_text("Booked")

    # Started by mistake: the session is under way, so it cannot be cancelled or moved.
    page.get_by_role("button", name="Start session").click()
    expect(badge).to_have_text("In session")
    expect(page.get_by_role("link", name="Cancel appointment")).to_have_count(0)
    expect(page.get_by_role("link", name="Reschedule")).to_have_count(0)
    nxt = page.get_by_role("region", name="Next")
    expect(nxt).to_contain_text("The session has started: undo “Start session” first, then cancel.")

    # Undo, next to the last line of the history: back to booked, and the history keeps both.
    history = page.get_by_role("region", name="History")
    history.get_by_role("button", name=re.compile("^Undo this change")).click()
    expect(page.get_by_role("status")).to_contain_text("Umberto Undoer’s visit is booked again")
    expect(badge).to_have_text("Booked")
    expect(history).to_contain_text("Status changed")
    expect(history).to_contain_text("Undone")
    expect(history).to_contain_text("in session → booked")
    expect(history.get_by_role("button", name=re.compile("^Undo"))).to_have_count(0)  # an undo stays

    # Booked again: it can be cancelled.
    page.get_by_role("link", name="Cancel appointment").click()
    page.get_by_label("Reason for cancelling").fill("Patient felt unwell on arrival")
    page.get_by_role("button", name="Cancel the appointment").click()
    expect(page.get_by_role("status")).to_contain_text("Cancelled Umberto Undoer’s appointment")
    expect(badge).to_have_text("Cancelled")

    # At phone width the Undo of the cancellation still fits beside its history line.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(history.get_by_role("button", name=re.compile("^Undo this change"))).to_be_visible()
