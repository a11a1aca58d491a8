"""Two tabs on the same draft note (issue 11, "no lost edits"): tab A saves, tab B saves
its own words over the older version; B is refused with what A changed in sight, keeps
its own text, and saving again keeps both."""

import re

from playwright.sync_api import expect

FIRST, LAST, BORN = "Tabitha", "Twotabs", "1984-05-06"
EPISODE = "Neck stiffness (synthetic)"
TAB_A = "Tab A: ache across both shoulders, better since last week."
TAB_B = "Tab B: next visit in one week; add heat."


def messages(page):
    """The page's messages (the body chart has a live status of its own)."""
    return page.get_by_role("status").and_(page.locator(".messages"))


def test_a_second_tab_sees_the_first_tabs_change_and_keeps_its_own_text(page, login, register_patient):
    login(page, "therapist")
    register_patient(page, FIRST, LAST, BORN)
    page.get_by_role("link", name="Clinical", exact=True).click()
    page.get_by_role("link", name="Open an episode").click()
    page.get_by_label("The problem in a few words").fill(EPISODE)
    page.get_by_role("button", name="Open the episode").click()
    page.get_by_role("navigation", name="Episode sections").get_by_role("link", name="Session notes").click()
    page.get_by_role("link", name="Write a note without an appointment").click()
    page.get_by_role("button", name="Start the note").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Session note, .* Draft$"))).to_be_visible()
    editor = page.url

    # The same draft open in a second tab (same person, same session).
    tab_b = page.context.new_page()
    tab_b.goto(editor)

    page.get_by_label("Symptoms and changes since the last visit").fill(TAB_A)
    page.get_by_role("button", name="Save draft").click()
    expect(messages(page)).to_contain_text("Draft saved.")

    tab_b.get_by_label("Next steps").fill(TAB_B)
    tab_b.get_by_role("button", name="Save draft").click()

    conflict = tab_b.get_by_role("alert").filter(has_text="after you opened it")
    expect(conflict).to_contain_text("saved this session note")
    changes = conflict.get_by_role("table")
    expect(changes.get_by_role("row", name=re.compile("^Symptoms and changes"))).to_contain_text(TAB_A)
    # Tab B's own words are kept, and the field it left alone now holds tab A's.
    expect(tab_b.get_by_label("Next steps")).to_have_value(TAB_B)
    expect(tab_b.get_by_label("Symptoms and changes since the last visit")).to_have_value(TAB_A)

    tab_b.get_by_role("button", name="Save draft").click()
    expect(messages(tab_b)).to_contain_text("Draft saved.")
    expect(tab_b.get_by_text(TAB_A)).to_be_visible()
    expect(tab_b.get_by_text(TAB_B)).to_be_visible()
