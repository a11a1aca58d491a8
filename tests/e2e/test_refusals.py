"""Front desk and billing never see health histories, and every refused attempt is audited."""

import re

import pytest
from playwright.sync_api import expect


def first_patient_chart(page) -> str:
    """The chart address of the first patient on the list."""
    page.goto("/patients/")
    href = page.get_by_role("table").get_by_role("row").nth(1).get_by_role("link").get_attribute("href")
    assert re.fullmatch(r"/patients/[0-9a-f-]{36}/", href), href
    return href


@pytest.mark.parametrize("username", ["frontdesk", "billing"])
def test_opening_a_health_history_url_directly_shows_not_allowed(page, login, username):
    login(page, username)
    chart = first_patient_chart(page)

    for address in (f"{chart}health-history/", f"{chart}health-history/new/", f"{chart}health-history/v1/"):
        response = page.goto(address)
        assert response.status == 403, address
        expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
        expect(page.get_by_role("main")).to_contain_text("The attempt has been recorded.")
        expect(page.get_by_role("main")).not_to_contain_text("Presenting complaint")


@pytest.mark.parametrize(("username", "sees_history"), [("therapist", True), ("frontdesk", False), ("billing", False)])
def test_only_clinical_staff_see_the_health_history_tab_on_the_chart(page, login, username, sees_history):
    login(page, username)
    page.goto(first_patient_chart(page))

    expect(page.get_by_role("link", name="Overview")).to_be_visible()
    expect(page.get_by_role("region", name="Consent")).to_be_visible()  # consent status is for everyone
    expect(page.get_by_role("link", name="Health history", exact=True)).to_have_count(1 if sees_history else 0)
    expect(page.get_by_role("region", name="Health history")).to_have_count(1 if sees_history else 0)


def test_the_owner_sees_a_refused_attempt_in_the_audit_trail(page, login):
    login(page, "frontdesk")
    # A new patient, so that this is the only attempt on their record.
    page.goto("/patients/new/")
    page.get_by_label("Legal first name").fill("Fenella")
    page.get_by_label("Legal last name").fill("Drummond")
    page.get_by_label(re.compile(r"^Date of birth")).fill("1971-07-08")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fenella Drummond")
    chart = page.url.removeprefix(page.url.split("/patients/")[0])
    patient_id = chart.strip("/").split("/")[-1]
    assert page.goto(f"{chart}health-history/").status == 403
    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    login(page, "owner")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    # The owner finds the patient by name, as a patient asking "who looked at my record?" is.
    page.get_by_label("Patient", exact=True).fill("Fenella Drummond")
    page.get_by_label("Outcome").select_option(label="Refused")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(rf"outcome=denied.*patient={patient_id}|patient={patient_id}.*outcome=denied"))
    expect(page.get_by_text("Entries about Fenella Drummond")).to_be_visible()
    rows = page.get_by_role("table").get_by_role("rowgroup").nth(1).get_by_role("row")
    attempt = rows.filter(has_text="Casey Brooks").filter(has_text="tried to view the health history")
    expect(attempt).to_have_count(1)
    cells = attempt.get_by_role("cell")
    expect(cells.nth(1)).to_contain_text("Front desk")
    expect(cells.nth(3)).to_contain_text("Fenella Drummond")
    expect(cells.nth(4)).to_have_text("refused")
    # The filter kept only refusals.
    expect(rows.get_by_text("allowed", exact=True)).to_have_count(0)
