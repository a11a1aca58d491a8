"""Signing in and out through the login form."""

import re

import pytest
from playwright.sync_api import expect

from effleura.demo.data import DEMO_PASSWORD

# (username, name shown in the header, role shown beside it)
DEMO_STAFF = [
    ("owner", "Morgan Ellery, LMT, CLT", "Owner"),
    ("therapist", "Jordan Reyes, LMT", "Therapist"),
    ("therapist2", "Priya Natarajan, LMT, CLT", "Therapist"),
    ("therapist3", "Sam Okafor, CMT", "Therapist"),
    ("frontdesk", "Casey Brooks", "Front desk"),
    ("billing", "Robin Hale", "Billing"),
]

LOGIN_ERROR = "That username and password don’t match an active account. Check both and try again."


def fill_login_form(page, username, password):
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize(("username", "name", "role"), DEMO_STAFF, ids=[s[0] for s in DEMO_STAFF])
def test_each_demo_user_logs_in_and_sees_their_name_and_role_in_the_header(page, username, name, role):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))  # not signed in yet

    fill_login_form(page, username, DEMO_PASSWORD)

    expect(page).to_have_url(re.compile(r"/$"))
    header = page.get_by_role("banner")
    expect(header.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(header.locator(".role").get_by_text(role, exact=True)).to_be_visible()  # not the "Billing" nav link
    expect(header.get_by_role("button", name="Log out")).to_be_visible()
    first_name = name.split()[0]
    expect(page.get_by_role("heading", level=1)).to_contain_text(first_name)


def test_a_wrong_password_shows_the_plain_error_and_keeps_the_user_out(page):
    page.goto("/login/")

    fill_login_form(page, "therapist", DEMO_PASSWORD + "-wrong")

    expect(page.get_by_role("alert")).to_have_text(LOGIN_ERROR)
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    # The username stays filled in; the password does not.
    expect(page.get_by_label("Username")).to_have_value("therapist")
    expect(page.get_by_label("Password")).to_have_value("")


def test_logging_out_returns_to_the_login_page_and_ends_the_session(page, login):
    login(page, "frontdesk")

    page.get_by_role("banner").get_by_role("button", name="Log out").click()

    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("You have been logged out.")
    # The session is gone: a patient page sends us back to the login form.
    page.goto("/patients/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/patients/"))
