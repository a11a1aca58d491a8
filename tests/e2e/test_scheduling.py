"""The calendar in a real browser: book by clicking an empty time in the day view,
move it by dragging, reschedule by picking a free time, cancel, and book a treatment series.

The tests work in a location of their own ("E2E Studio", its own practitioner, room,
service and patients, made with `effleura shell` against the e2e site) on days five and
six weeks ahead, so the demo clinic's appointments never stand in the way.
"""

import datetime
import json
import re
import zoneinfo
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

TZ_NAME = "America/Chicago"
PRACTITIONER = "Eddie Calendar, LMT"

SETUP = """
import json
from decimal import Decimal
from django.contrib.auth import get_user_model
from effleura.core.choices import Role
from effleura.patients import actions as patient_actions
from effleura.scheduling import hours, setup

User = get_user_model()
owner = User.objects.get(username="owner")
eddie = User.objects.create_user(
    username="e2e_calendar", first_name="Eddie", last_name="Calendar", role=Role.THERAPIST, credentials="LMT"
)
week = [{"weekday": d, "opens": "08:00", "closes": "18:00"} for d in range(5)]
location = setup.do_save_location(
    owner, setup.check_save_location(owner, {"name": "E2E Studio", "time_zone": "{tz}", "opening_hours": week})
)
setup.do_save_room(owner, setup.check_save_room(owner, {"location": location, "name": "Studio room"}))
service = {
    "name": "E2E massage", "durations": [60, 30], "default_price": Decimal("80.00"), "currency": "USD",
    "changeover_minutes": 15, "practitioners": [eddie], "needs_room": True, "bookable_online": False,
}
setup.do_save_service(owner, setup.check_save_service(owner, service))
for day in range(5):
    data = {"practitioner": eddie, "location": location, "weekday": day, "start": "09:00", "end": "17:00"}
    hours.do_save_working_hours(owner, hours.check_save_working_hours(owner, data))
for first, last, born in (("Eloise", "Bookwright", "1981-02-03"), ("Seraphina", "Serieson", "1977-07-08")):
    data = {"legal_first_name": first, "legal_last_name": last, "date_of_birth": born, "phone": "555-0190"}
    patient_actions.do_create_patient(owner, patient_actions.check_create_patient(owner, data, allow_duplicate=True))
print(json.dumps({"location": str(location.public_id)}))
""".replace("{tz}", TZ_NAME)


@dataclass(frozen=True)
class Studio:
    location: str  # public id
    monday: datetime.date  # five weeks ahead


@pytest.fixture(scope="module")
def studio(site) -> Studio:
    result = site.manage("shell", "-c", SETUP)
    made = json.loads(result.stdout.strip().splitlines()[-1])
    today = datetime.datetime.now(zoneinfo.ZoneInfo(TZ_NAME)).date()
    monday = today + datetime.timedelta(days=35 - today.weekday())
    return Studio(location=made["location"], monday=monday)


def test_book_by_clicking_an_empty_time_then_reschedule_and_cancel(page, login, studio):
    day, tuesday = studio.monday, studio.monday + datetime.timedelta(days=1)
    login(page, "frontdesk")
    page.goto(f"/schedule/?location={studio.location}&date={day.isoformat()}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("E2E Studio")

    # Click the empty 10:00 cell in the practitioner's column: the form comes prefilled.
    page.get_by_role("link", name=f"Book {PRACTITIONER} at 10:00").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book an appointment")
    expect(page.get_by_label("Start")).to_have_value(f"{day.isoformat()}T10:00")
    expect(page.get_by_label("Practitioner")).to_have_value(re.compile(r"[0-9a-f-]{36}"))
    page.get_by_label("Find the patient").fill("Bookwright")
    page.get_by_label(re.compile("Eloise Bookwright")).check()
    page.get_by_label("Service").select_option(label="E2E massage")
    page.get_by_role("button", name="Book", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text(f"Booked Eloise Bookwright with {PRACTITIONER}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Eloise Bookwright · E2E massage")

    # The block is on the day view, in its colour, with patient, service and time.
    page.get_by_role("link", name=re.compile("^← E2E Studio")).click()
    block = page.locator(".cal-appt", has_text="Eloise Bookwright")
    expect(block).to_contain_text("10:00–11:00")
    expect(block).to_contain_text("E2E massage")
    expect(block).to_have_class(re.compile("status-booked"))

    # Drag it to 12:00 (progressive enhancement: the drop posts to the reschedule page).
    # The viewport holds the whole morning, so neither end scrolls away mid-drag.
    page.set_viewport_size({"width": 1280, "height": 1200})
    block.drag_to(page.get_by_role("link", name=f"Book {PRACTITIONER} at 12:00"))
    expect(page.get_by_role("status")).to_contain_text(f"Moved to {day:%a} {day.day} {day:%b %Y}, 12:00–13:00")
    expect(block).to_contain_text("12:00–13:00")

    # Reschedule by picking a free time on Tuesday.
    block.click()
    page.get_by_role("link", name="Reschedule").click()
    page.get_by_label("Day").fill(tuesday.isoformat())
    page.get_by_role("button", name="Show free times").click()
    page.get_by_role("radio", name=re.compile(r"^14:00")).check()
    page.get_by_role("button", name="Move the appointment").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Moved to {tuesday:%a} {tuesday.day} {tuesday:%b %Y}, 14:00–15:00"
    )
    history = page.get_by_role("region", name="History")
    expect(history).to_contain_text("Rescheduled")

    # Cancel it, with a reason.
    page.get_by_role("link", name="Cancel appointment").click()
    page.get_by_label("Reason for cancelling").fill("Travelling that week")
    page.get_by_role("button", name="Cancel the appointment").click()
    expect(page.get_by_role("status")).to_contain_text("Cancelled Eloise Bookwright’s appointment")
    expect(page.locator(".chart-head .status-badge")).to_have_text("Cancelled")
    expect(history).to_contain_text("Travelling that week")


def test_book_a_series_twice_a_week_for_two_weeks(page, login, studio):
    monday = studio.monday + datetime.timedelta(days=7)
    login(page, "frontdesk")
    page.goto(f"/schedule/series/new/?location={studio.location}")
    page.get_by_label("Find the patient").fill("Serieson")
    page.get_by_label(re.compile("Seraphina Serieson")).check()
    page.get_by_label("Service").select_option(label="E2E massage")
    page.get_by_label("Practitioner").select_option(label=PRACTITIONER)
    page.get_by_label("Start").fill(f"{monday.isoformat()}T09:00")
    page.get_by_label("Number of visits").fill("4")
    page.get_by_label("On chosen weekdays").check()
    page.get_by_label("Monday").check()
    page.get_by_label("Thursday").check()
    page.get_by_role("button", name="Propose").click()

    proposal = page.get_by_role("region", name="The series")
    expect(proposal).to_contain_text("Every visit is available.")
    expect(proposal.locator("tbody tr")).to_have_count(4)
    page.get_by_role("button", name="Book all").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Seraphina Serieson · E2E massage series")
    expect(page.get_by_role("status")).to_contain_text("Booked 4 visits for Seraphina Serieson")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(4)
    thursday = monday + datetime.timedelta(days=3)
    expect(rows.nth(1)).to_contain_text(f"Thu {thursday.day} {thursday:%b %Y}, 09:00–10:00")
