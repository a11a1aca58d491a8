"""A refused form in a real browser: the summary of every problem is focused and links to
each field; a long text field counts the characters left as one types."""

import re

from playwright.sync_api import expect


def test_a_refused_registration_focuses_a_summary_that_links_to_each_field(page, login):
    login(page, "frontdesk")
    page.goto("/patients/new/")
    page.get_by_label("Legal first name").fill("Imogen")
    page.get_by_label(re.compile(r"^Date of birth")).fill("1984-06-02")
    page.get_by_label("Phone", exact=True).fill("12")
    page.get_by_label("Emergency contact phone").fill("call me")
    page.get_by_role("button", name="Register patient").click()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary.get_by_role("heading")).to_have_text("3 problems need fixing before this can be saved")
    expect(summary.get_by_role("listitem")).to_have_count(3)
    # Each message is also beside its field.
    expect(page.locator("#id_phone_error")).to_have_text(re.compile(r"^This is not a phone number we can call"))

    summary.get_by_role("link", name="Emergency contact phone").click()
    expect(page.get_by_label("Emergency contact phone")).to_be_focused()
    summary.get_by_role("link", name="Legal last name").click()
    expect(page.get_by_label("Legal last name")).to_be_focused()


def test_a_long_text_field_counts_the_characters_left_as_one_types(page, login):
    login(page, "frontdesk")
    page.goto("/patients/new/")
    notes = page.get_by_label("Notes")
    counter = page.locator("#id_notes_counter")
    expect(counter).to_have_text("10000 characters left")
    expect(counter).to_have_attribute("aria-live", "polite")
    notes.fill("Prefers afternoons.")
    expect(counter).to_have_text("9981 characters left")
    assert "id_notes_counter" in (notes.get_attribute("aria-describedby") or "")
    notes.fill("x" * 10_050)  # the browser keeps to the limit
    expect(counter).to_have_text("0 characters left")
