"""Hand-over mode on a tablet and a phone: the patient signs their consent on a screen
with nothing else on it; a wrong name is refused, a repeated submit signs nothing more,
and taking the device back needs the staff member's password."""

import re

import pytest
from playwright.sync_api import expect

from effleura.demo.data import DEMO_PASSWORD, TREATMENT_TITLE

NOT_THE_PATIENT = "The name signed must be the patient's name, or say who is signing for them."
SIGNATURE_LABEL = "Your full name (typed as signature)"
AGREE_LABEL = "I have read this document, had my questions answered, and I agree"


def form_to_sign(page):
    return page.get_by_role("region", name="Consent forms").locator("li", has_text=TREATMENT_TITLE)


def assert_fits(page):
    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


@pytest.mark.parametrize("width, first, last", [(768, "Perpetua", "Lindqvist"), (390, "Octavia", "Brannigan")])
def test_the_patient_signs_in_hand_over_mode_and_staff_takes_the_device_back(
    page, login, register_patient, width, first, last
):
    page.set_viewport_size({"width": width, "height": 1024 if width == 768 else 844})
    login(page, "frontdesk")
    register_patient(page, first, last, "1979-03-14")
    chart_url = page.url

    page.get_by_role("button", name="Hand to patient").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(first)
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(last)
    assert_fits(page)

    form_to_sign(page).get_by_role("link", name="Read and sign").click()
    second_tab = page.context.new_page()  # the same form, open in a second tab
    second_tab.set_viewport_size(page.viewport_size)
    second_tab.goto(page.url)

    second_tab.get_by_label(SIGNATURE_LABEL).fill("Mickey Mouse")
    second_tab.get_by_label(AGREE_LABEL).check()
    second_tab.get_by_role("button", name="Sign").click()
    expect(second_tab.get_by_label(SIGNATURE_LABEL)).to_have_accessible_description(NOT_THE_PATIENT)
    assert_fits(second_tab)

    page.get_by_label(SIGNATURE_LABEL).fill(f"{first.lower()} {last.upper()}")
    page.get_by_label(AGREE_LABEL).check()
    page.get_by_role("button", name="Sign").click()
    expect(page.get_by_role("status")).to_have_text(f"Consent to “{TREATMENT_TITLE}” recorded.")
    expect(form_to_sign(page)).to_contain_text("Signed")

    page.go_back()  # the sign page again: it says so, and offers no second signature
    expect(page.get_by_text(re.compile(r"Already signed on \d{4}-\d{2}-\d{2}"))).to_be_visible()
    expect(page.get_by_label(SIGNATURE_LABEL)).to_have_count(0)

    second_tab.get_by_label(SIGNATURE_LABEL).fill(f"{first} {last}")  # the other tab submits again
    second_tab.get_by_label(AGREE_LABEL).check()
    second_tab.get_by_role("button", name="Sign").click()
    expect(second_tab.get_by_text(re.compile(r"Already signed on \d{4}-\d{2}-\d{2}"))).to_be_visible()
    second_tab.close()

    page.goto(chart_url)  # the chart is locked away while the patient holds the device
    expect(page.get_by_role("heading", name="Give the device back to staff")).to_be_visible()
    assert_fits(page)
    page.get_by_label("Staff password").fill("not the password")
    page.get_by_role("button", name="Take the device back").click()
    expect(page.get_by_label("Staff password")).to_have_accessible_description(
        "That is not the password of the staff member who handed over the device."
    )
    page.get_by_label("Staff password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Take the device back").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"{first} {last}")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert page.url == chart_url
    row = page.get_by_role("region", name="Consent").locator(".consent-row", has_text=TREATMENT_TITLE)
    expect(row).to_contain_text("Signed, current version")
    expect(row).to_contain_text(f"by “{first.lower()} {last.upper()}”")
