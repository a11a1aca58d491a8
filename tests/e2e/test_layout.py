"""The patient chart at phone and desktop widths: screenshots into test-results/ (git-ignored)
for a person to look at, and a check that nothing makes the page scroll sideways."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

RESULTS = Path(__file__).resolve().parents[2] / "test-results"

WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("device", WIDTHS)
def test_the_patient_chart_fits_the_screen(page, login, device):
    page.set_viewport_size(WIDTHS[device])
    login(page, "therapist")
    # A discharged patient's chart has the most on it: a status badge, consent flags,
    # a health history.
    page.goto("/patients/?status=discharged")
    page.get_by_role("table").get_by_role("row").nth(1).get_by_role("link").click()
    expect(page.get_by_role("region", name="Health history")).to_be_visible()

    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=RESULTS / f"patient-chart-{device}.png", full_page=True)

    assert horizontal_overflow(page) <= 0
    expect(page.get_by_role("heading", level=1)).to_be_in_viewport()
    expect(page.get_by_role("banner").get_by_role("button", name="Log out")).to_be_in_viewport()

    # The health-history form, the longest form in the app, fits too.
    page.get_by_role("link", name="Health history", exact=True).click()
    page.get_by_role("link", name=re.compile(r"^(Update|Take) the health history$")).click()
    expect(page.get_by_role("group", name="Conditions", exact=True)).to_be_visible()
    assert horizontal_overflow(page) <= 0


TABLET_AND_PHONE = {"tablet": {"width": 768, "height": 1024}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("device", TABLET_AND_PHONE)
def test_a_clinicians_day_and_the_audit_trail_fit_a_tablet_and_a_phone(page, login, device):
    page.set_viewport_size(TABLET_AND_PHONE[device])
    login(page, "therapist")
    expect(page.get_by_role("heading", name="Your visits today")).to_be_visible()
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=RESULTS / f"home-therapist-{device}.png", full_page=True)
    assert horizontal_overflow(page) <= 0
    page.goto("/schedule/today/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Your day")
    assert horizontal_overflow(page) <= 0
    page.get_by_role("banner").get_by_role("button", name="Log out").click()

    login(page, "owner")
    expect(page.get_by_role("heading", name="Today’s visits in the practice")).to_be_visible()
    assert horizontal_overflow(page) <= 0
    page.goto("/audit/?patient_name=a")
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    page.screenshot(path=RESULTS / f"audit-trail-{device}.png", full_page=True)
    assert horizontal_overflow(page) <= 0
