"""The referral loop in a real browser (issue 5, item 8): the front desk enters a referral,
the chart's visits counter moves as visits are completed, the running-out warning shows on
the chart and the calendar, and the therapist generates, edits and signs a progress report
for the physician, which prints as a PDF.

`effleura shell` against the e2e site prepares a patient of its own, an episode of care
opened by the demo therapist and two booked visits today (Appointment rows written
directly: booking in the past is refused on purpose); everything else goes through the pages.
"""

import datetime
import json
import re

import pytest
from playwright.sync_api import expect

FIRST, LAST = "Rhiannon", "Referralby"
PATIENT = f"{FIRST} {LAST}"
EPISODE = "Low back pain, referred"
PROVIDER = "Dana Demodoc, MD"

SETUP = (
    """
import datetime, json
from django.contrib.auth import get_user_model
from django.utils import timezone
from effleura.clinical import episodes
from effleura.core import clock
from effleura.patients import actions as patient_actions
from effleura.scheduling.models import Appointment, Location, Service

# Run as a request would, in the practice's zone: a shell runs in UTC, which after 16:00
# in Los Angeles is already tomorrow (dates like the episode's "opened" would be a day ahead).
timezone.activate(clock.practice_zone())
User = get_user_model()
owner = User.objects.get(username="owner")
therapist = User.objects.get(username="therapist")
data = {"legal_first_name": "{first}", "legal_last_name": "{last}", "date_of_birth": "1979-04-05", "phone": "555-0191"}
patient = patient_actions.do_create_patient(
    owner, patient_actions.check_create_patient(owner, data, allow_duplicate=True)
)
episode = episodes.do_open_episode(
    therapist, patient, episodes.check_open_episode(therapist, patient, {"title": "{episode}"})
)
location = Location.objects.order_by("pk").first()
service = Service.objects.order_by("pk").first()
today = clock.today()
visits = []
# Already started (a visit can be completed only from its start window on): 100 and 50
# minutes ago.
for minutes_ago in (100, 50):
    start = (timezone.now() - datetime.timedelta(minutes=minutes_ago)).replace(second=0, microsecond=0)
    end = start + datetime.timedelta(minutes=45)
    visits.append(Appointment.objects.create(
        patient=patient, practitioner=therapist, service=service, location=location, duration_minutes=45,
        start=start, end=end, busy_until=end, created_by=owner,
    ))
print(json.dumps({
    "patient": str(patient.public_id), "episode": str(episode.public_id), "location": str(location.public_id),
    "visits": [str(v.public_id) for v in visits], "today": today.isoformat(),
}))
""".replace("{first}", FIRST)
    .replace("{last}", LAST)
    .replace("{episode}", EPISODE)
)


@pytest.fixture(scope="module")
def prepared(site) -> dict:
    result = site.manage("shell", "-c", SETUP)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_referral_counter_warning_and_signed_progress_report(page, login, prepared):
    today = datetime.date.fromisoformat(prepared["today"])
    chart = f"/patients/{prepared['patient']}/"
    authorizations = page.get_by_role("region", name="Referral authorizations")

    # The front desk enters the referral from the chart, picking the code through the search.
    login(page, "frontdesk")
    page.goto(chart)
    expect(page.get_by_role("heading", level=1)).to_have_text(PATIENT)
    expect(page.get_by_text("No open referral.")).to_be_visible()
    page.get_by_role("link", name="Enter a referral").click()
    expect(page.get_by_role("heading", name="Record a referral")).to_be_visible()
    page.get_by_label("Referring provider").select_option(label=PROVIDER)
    page.get_by_label("Referral date").fill(today.isoformat())
    page.get_by_label("Search codes").fill("M54.50")
    page.get_by_role("button", name="M54.50", exact=True).click()
    expect(page.get_by_label("Diagnosis codes (ICD-10-CM)")).to_have_value("M54.50")
    page.get_by_label("Reason").fill("Low back pain; massage twice a week.")
    page.get_by_label("Visits authorized").fill("3")
    page.get_by_label("Valid from").fill(today.isoformat())
    page.get_by_label("Valid until").fill((today + datetime.timedelta(days=60)).isoformat())
    page.get_by_role("button", name="Save the referral").click()
    expect(page.get_by_role("status").filter(has_text="Referral recorded.")).to_be_visible()
    expect(page.get_by_role("heading", level=2)).to_contain_text(f"Referral of {today.isoformat()}")
    expect(page.locator(".referral-details")).to_contain_text("M54.50")

    page.goto(chart)
    expect(authorizations).to_contain_text("3 visits left of 3")
    expect(authorizations.locator(".authorization-warning")).to_have_count(0)

    # Each visit completed on the appointment page uses one; at 2 left the warning shows.
    expected = [("2 visits left of 3", "Running out"), ("1 visit left of 3", "Running out")]
    for visit, (left, label) in zip(prepared["visits"], expected, strict=True):
        page.goto(f"/schedule/appointments/{visit}/")
        page.get_by_role("button", name="Complete", exact=True).click()
        expect(page.get_by_role("status").filter(has_text=f"{PATIENT}: completed.")).to_be_visible()
        page.get_by_role("link", name=PATIENT).first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(PATIENT)
        expect(authorizations).to_contain_text(left)
        expect(authorizations.locator(".badge")).to_have_text(label)
        expect(authorizations.locator(".authorization-warning")).to_have_text(f"{left}.")

    # The calendar marks the patient's visits with the amber "auth" badge.
    page.goto(f"/schedule/?location={prepared['location']}&date={today.isoformat()}")
    badge = page.locator(".cal-appt", has_text=PATIENT).first.locator(".badge", has_text="auth")
    expect(badge).to_have_attribute("title", re.compile("1 visit left of 3"))

    # The therapist links the referral to the episode, then writes the progress report.
    page.context.clear_cookies()
    login(page, "therapist")
    page.goto(chart)
    page.get_by_role("link", name="All referrals").click()
    page.get_by_role("link", name=re.compile(today.isoformat())).first.click()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Episode of care").select_option(label=f"{EPISODE} (opened {today.isoformat()})")
    page.get_by_role("button", name="Save the referral").click()
    expect(page.get_by_role("status").filter(has_text="Referral saved.")).to_be_visible()
    page.get_by_role("link", name="Reports on this episode").click()
    page.get_by_role("link", name="Write a progress report").click()
    expect(page.get_by_role("heading", name=f"New report: {EPISODE}")).to_be_visible()
    expect(page.get_by_label("Kind")).to_have_value("progress")
    expect(page.get_by_label("Referral")).not_to_have_value("")
    page.get_by_label("From").fill(today.isoformat())
    page.get_by_label("To", exact=True).fill(today.isoformat())
    page.get_by_role("button", name="Generate the draft").click()

    expect(page.get_by_role("heading", name=f"Edit the progress report: {EPISODE}")).to_be_visible()
    expect(page.get_by_text("2 completed appointments")).to_be_visible()  # generated from the record
    page.get_by_label("Summary").fill("Two visits completed; pain easing and sleep better.")
    page.get_by_label("Recommendations").fill("Continue once a week for four weeks.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Report saved.")).to_be_visible()
    expect(page.locator(".report-narrative").first).to_have_text("Two visits completed; pain easing and sleep better.")

    page.get_by_role("button", name="Sign").click()
    expect(page.get_by_role("status").filter(has_text="Report signed.")).to_be_visible()
    expect(page.get_by_role("heading", level=2)).to_contain_text("Signed")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    pdf_link = page.get_by_role("link", name="Print (PDF)")
    response = page.request.get(pdf_link.get_attribute("href"))
    assert response.ok
    assert response.headers["content-type"].startswith("application/pdf")
    assert response.body().startswith(b"%PDF")
