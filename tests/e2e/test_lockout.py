"""Throttled sign-in in the browser (issue 12 item 1): five wrong passwords lock the account,
the right one is then refused with a plain message; the owner unlocks it from the Staff
page; then it works. Uses therapist3, whom no other browser test signs in with a wrong
password, and ends with the account unlocked and its failures cleared."""

import re

from playwright.sync_api import expect

from effleura.demo.data import DEMO_PASSWORD

USERNAME = "therapist3"


def fill_login_form(page, username, password):
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_five_wrong_passwords_lock_the_account_until_the_owner_unlocks_it(browser, site, page, login):
    page.goto("/login/")
    for attempt in range(4):
        fill_login_form(page, USERNAME, f"not-the-password-{attempt}")
        expect(page.get_by_role("alert")).to_contain_text("don’t match an active account")
    fill_login_form(page, USERNAME, "not-the-password-4")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("This account is locked after too many failed sign-ins, until")

    # The right password does not get in while it is locked, and the page says why.
    fill_login_form(page, USERNAME, DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.get_by_role("alert")).to_contain_text("This account is locked")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)

    # The owner sees it on the home page and unlocks it from the Staff page.
    owner_context = browser.new_context(base_url=site.url)
    owner_page = owner_context.new_page()
    try:
        login(owner_page, "owner")
        lockouts = owner_page.get_by_role("region", name="Recent lockouts")
        expect(lockouts.get_by_role("row").filter(has_text=USERNAME).first).to_contain_text("locked")
        owner_page.goto("/staff/")
        owner_page.get_by_role("button", name=f"Unlock {USERNAME}").click()
        expect(owner_page.get_by_text("they can sign in again now")).to_be_visible()
        expect(owner_page.get_by_role("button", name=f"Unlock {USERNAME}")).to_have_count(0)
        owner_page.goto("/")
        row = owner_page.get_by_role("region", name="Recent lockouts").get_by_role("row").filter(has_text=USERNAME)
        expect(row.first).to_contain_text("unlocked")
    finally:
        owner_context.close()

    # Then the right password works.
    page.goto("/login/")
    fill_login_form(page, USERNAME, DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
