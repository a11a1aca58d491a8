"""Automatic logoff in the browser (core/static/core/idle.js), with the page's clock moved by
Playwright's clock API (page.clock.install / fast_forward), never by sleeping: a minute before
the idle time the page warns and offers "Stay signed in"; at the end the screen shows nothing
of the record and the next page is the login page (issue 12, item 3)."""

import re

import pytest
from playwright.sync_api import expect

WARNING = "#idle-logoff"


def open_a_chart(page) -> str:
    """Opens the first patient's chart; returns the name it shows."""
    page.goto("/patients/")
    page.locator("table a[href*='/patients/']").first.click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_be_visible()
    return heading.inner_text().strip()


@pytest.mark.parametrize("width", [768, 390])
def test_an_idle_chart_warns_a_minute_before_and_then_shows_nothing_of_the_record(page, login, site, width):
    page.set_viewport_size({"width": width, "height": 1024 if width == 768 else 844})
    page.clock.install()
    login(page, "therapist")
    name = open_a_chart(page)
    chart_url = page.url
    warning = page.locator(WARNING)
    expect(warning).to_be_hidden()

    page.clock.fast_forward("13:58")
    expect(warning).to_be_hidden()
    page.clock.fast_forward("00:03")  # 14:01 without activity: one minute left
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("signed out in")
    expect(page.get_by_role("button", name="Stay signed in")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0

    page.clock.fast_forward("01:00")  # 15:01: the time is up
    # The page blanks itself ("You have been signed out") and goes to the login page as soon as
    # the server has ended the session; on a fast machine the blank page is gone before it can be
    # seen, so the test waits for where it ends: the login page saying why.
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.get_by_role("status")).to_contain_text("signed out after 15 minutes without activity")
    expect(page.locator("body")).not_to_contain_text(name)
    # The server ended the session too: the chart's address asks for a sign-in.
    page.goto(chart_url)
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    expect(page.locator("body")).not_to_contain_text(name)
    assert "idle" in _last_logoff(site)


def test_stay_signed_in_keeps_the_session_for_another_idle_time(page, login):
    page.clock.install()
    login(page, "frontdesk")
    name = open_a_chart(page)
    page.clock.fast_forward("14:10")
    page.get_by_role("button", name="Stay signed in").click()
    expect(page.locator(WARNING)).to_be_hidden()
    page.clock.fast_forward("13:00")  # 13 minutes after "Stay signed in": no warning yet
    expect(page.locator(WARNING)).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def test_typing_in_a_form_counts_as_activity(page, login):
    page.clock.install()
    login(page, "frontdesk")
    page.goto("/patients/new/")
    field = page.get_by_label("Legal first name")
    for minute in range(3):  # 30 minutes, typing every 10
        page.clock.fast_forward("10:00")
        expect(page.get_by_role("heading", level=1)).to_have_text("New patient")
        field.press_sequentially(f"A{minute}")
    expect(page.locator(WARNING)).to_be_hidden()
    expect(field).to_have_value("A0A1A2")


def _last_logoff(site) -> str:
    """The detail of the newest logout in the site's audit trail, through its database."""
    result = site.manage(
        "shell",
        "-c",
        "from effleura.core.models import AuditEvent; "
        "print(AuditEvent.objects.filter(action='logout').order_by('-id').values_list('detail', flat=True).first())",
    )
    return result.stdout.strip()
