"""Two tabs editing the same patient's details: the second save is refused, shows what the
first changed, keeps its own input, and saving again applies both (issue 11)."""

import re

from playwright.sync_api import expect
from test_patients import chart_number_on, fill_identity


def test_a_stale_tab_sees_the_other_save_keeps_its_input_and_saves_both(page, login):
    login(page, "frontdesk")
    page.goto("/patients/new/")
    fill_identity(page, "Marisol", "Versionson", "1975-02-11")
    page.get_by_label("Phone", exact=True).fill("(503) 555-0140")
    page.get_by_role("button", name="Register patient").click()
    chart_number_on(page)
    edit_url = page.url.rstrip("/") + "/edit/"

    # The second tab shares the signed-in session, as a real second tab does.
    other = page.context.new_page()
    page.goto(edit_url)
    other.goto(edit_url)

    page.get_by_label("Phone", exact=True).fill("(503) 555-0141")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")

    other.get_by_label("Email").fill("marisol@example.com")
    other.get_by_role("button", name="Save").click()
    notice = other.locator("#conflict")
    expect(notice).to_contain_text("saved this patient's details")
    expect(notice).to_contain_text("(503) 555-0140")
    expect(notice).to_contain_text("(503) 555-0141")
    expect(other.get_by_label("Email")).to_have_value("marisol@example.com")
    expect(other.get_by_label("Phone", exact=True)).to_have_value("(503) 555-0141")

    other.get_by_role("button", name="Save").click()
    expect(other.get_by_role("status")).to_have_text("Saved.")
    details = other.get_by_role("region", name="Details")
    expect(details).to_contain_text("(503) 555-0141")
    expect(details).to_contain_text("marisol@example.com")


def test_the_conflict_notice_fits_a_phone(page, login):
    page.set_viewport_size({"width": 390, "height": 800})
    login(page, "frontdesk")
    page.goto("/patients/new/")
    fill_identity(page, "Teodor", "Versionson", "1981-07-30")
    page.get_by_role("button", name="Register patient").click()
    chart_number_on(page)
    edit_url = page.url.rstrip("/") + "/edit/"
    other = page.context.new_page()
    other.set_viewport_size({"width": 390, "height": 800})
    page.goto(edit_url)
    other.goto(edit_url)
    page.get_by_label("City").fill("Anytown")
    page.get_by_role("button", name="Save").click()
    other.get_by_label("City").fill("Elsewhere")
    other.get_by_role("button", name="Save").click()
    expect(other.locator("#conflict")).to_contain_text(re.compile("You changed this too"))
    assert other.evaluate("document.documentElement.scrollWidth") <= 390
