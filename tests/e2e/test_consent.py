"""Capturing a patient's consent at the desk, and publishing new consent wording."""

import re

from playwright.sync_api import expect

from effleura.demo.data import TREATMENT_TITLE

TYPED_NAME_LABEL = "full name (typed as signature)"
AGREE_LABEL = "I have read this document, had my questions answered, and I agree"


def treatment_consent(page):
    """The treatment consent's entry in the chart's Consent section."""
    return page.get_by_role("region", name="Consent").locator(".consent-row", has_text=TREATMENT_TITLE)


def sign_treatment_consent(page, typed_name):
    treatment_consent(page).get_by_role("link", name="Capture consent").click()
    expect(page.get_by_role("heading", name=re.compile(TREATMENT_TITLE))).to_be_visible()
    page.get_by_label(TYPED_NAME_LABEL).fill(typed_name)
    page.get_by_label(AGREE_LABEL).check()
    page.get_by_role("button", name="Sign").click()


def log_out(page):
    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_front_desk_captures_a_missing_consent_and_the_badge_becomes_current(page, login, register_patient):
    login(page, "frontdesk")
    register_patient(page, "Odile", "Farrow", "1975-09-30")
    flags = page.get_by_role("group", name="Flags")
    expect(flags).to_contain_text(f"{TREATMENT_TITLE}: Not signed")
    expect(treatment_consent(page)).to_contain_text("Not signed")

    treatment_consent(page).get_by_role("link", name="Capture consent").click()
    expect(page.get_by_role("region", name="Document text")).to_contain_text("Nature of the treatment.")
    page.get_by_label(TYPED_NAME_LABEL).fill("Odile Farrow")
    page.get_by_label(AGREE_LABEL).check()
    page.get_by_role("button", name="Sign").click()

    expect(page.get_by_role("status")).to_have_text(f"Consent to “{TREATMENT_TITLE}” recorded.")
    row = treatment_consent(page)
    expect(row.get_by_text("Signed, current version", exact=True)).to_be_visible()
    expect(row).to_contain_text("by “Odile Farrow”")
    expect(row.get_by_role("link", name="Capture consent")).to_have_count(0)
    expect(flags).not_to_contain_text(TREATMENT_TITLE)  # no longer flagged at the top


def test_signing_without_the_tick_shows_the_error_and_records_nothing(page, login, register_patient):
    login(page, "frontdesk")
    register_patient(page, "Barnaby", "Quillfeather", "1962-02-11")
    treatment_consent(page).get_by_role("link", name="Capture consent").click()

    page.get_by_label(TYPED_NAME_LABEL).fill("Barnaby Quillfeather")
    page.get_by_role("button", name="Sign").click()

    agree = page.get_by_label(AGREE_LABEL)
    error = "Tick the box to confirm the patient has read and agrees to this document."
    expect(agree).to_have_accessible_description(error)
    expect(page.locator(".field", has=agree).get_by_text(error)).to_be_visible()
    expect(agree).not_to_be_checked()
    expect(page.get_by_label(TYPED_NAME_LABEL)).to_have_value("Barnaby Quillfeather")

    page.get_by_role("link", name="Cancel").click()
    expect(treatment_consent(page)).to_contain_text("Not signed")


def test_publishing_new_treatment_wording_makes_an_earlier_signature_outdated(page, login, register_patient):
    login(page, "frontdesk")
    register_patient(page, "Clementine", "Ashgrove", "1988-12-24")
    chart_url = page.url
    sign_treatment_consent(page, "Clementine Ashgrove")
    expect(treatment_consent(page).get_by_text("Signed, current version")).to_be_visible()
    log_out(page)

    login(page, "owner")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Consent forms").click()
    page.get_by_role("link", name=TREATMENT_TITLE).click()
    page.get_by_role("link", name="Publish new wording").click()
    wording = page.get_by_label("New wording")
    expect(wording).to_contain_text("Nature of the treatment.")  # starts from the current wording
    wording.press("ControlOrMeta+End")
    wording.press_sequentially("\n\nAftercare. Drink water and rest the treated area for the rest of the day.")
    page.get_by_role("button", name="Publish").click()

    expect(page.get_by_role("status")).to_contain_text("Patients who signed an earlier version now show as outdated.")
    current = page.get_by_role("heading", name=re.compile(r"^Version \d+ current$"))
    expect(current).to_be_visible()
    new_version = current.inner_text().split()[1]

    page.goto(chart_url)
    row = treatment_consent(page)
    expect(row.get_by_text("Signed an older version", exact=True)).to_be_visible()
    expect(page.get_by_role("group", name="Flags")).to_contain_text(f"{TREATMENT_TITLE}: Signed an older version")
    row.get_by_role("link", name="Sign the new version").click()
    expect(page.get_by_role("heading", name=f"{TREATMENT_TITLE} (version {new_version})")).to_be_visible()
    expect(page.get_by_role("region", name="Document text")).to_contain_text("Aftercare.")
