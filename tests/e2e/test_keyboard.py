"""Keyboard-only use: signing in, and skipping past the header."""

import re

from playwright.sync_api import expect

from effleura.demo.data import DEMO_PASSWORD


def test_the_login_form_can_be_completed_and_submitted_with_the_keyboard_only(page):
    page.goto("/login/")
    username = page.get_by_label("Username")
    password = page.get_by_label("Password")

    expect(username).to_be_focused()  # the form is ready to type into
    page.keyboard.type("therapist")
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("banner").get_by_role("link", name="Jordan Reyes, LMT")).to_be_visible()


def test_tab_moves_through_the_login_page_in_reading_order(page):
    page.goto("/login/")
    page.get_by_role("link", name="Skip to content").focus()

    for target in (
        page.get_by_role("banner").get_by_role("link"),  # the practice name, home
        page.get_by_label("Username"),
        page.get_by_label("Password"),
        page.get_by_role("button", name="Log in"),
        page.get_by_role("link", name="Forgot your password?"),
    ):
        page.keyboard.press("Tab")
        expect(target).to_be_focused()


def test_the_skip_link_is_the_first_focusable_element_and_jumps_to_the_content(page, login):
    login(page, "frontdesk")
    page.goto("/patients/")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # visible once focused

    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("main").get_by_role("link", name="Add a patient")).to_be_focused()
