"""Registering patients and finding them again."""

import re

from playwright.sync_api import expect

CHART_NUMBER = re.compile(r"EF\d+")


def fill_identity(page, first, last, date_of_birth):
    page.get_by_label("Legal first name").fill(first)
    page.get_by_label("Legal last name").fill(last)
    page.get_by_label(re.compile(r"^Date of birth")).fill(date_of_birth)


def chart_number_on(page) -> str:
    """The chart number in the chart's heading line ("Chart EF00061")."""
    head = page.get_by_text(re.compile(r"^Chart EF\d+$"))
    expect(head).to_be_visible()
    return head.inner_text().removeprefix("Chart ").strip()


def test_front_desk_registers_a_new_patient_and_lands_on_their_chart(page, login):
    login(page, "frontdesk")
    page.get_by_role("link", name="Add a patient").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New patient")

    fill_identity(page, "Theodora", "Winslow", "1984-06-02")
    page.get_by_label("Preferred name").fill("Teddy")
    page.get_by_label("Pronouns").fill("she/her")
    page.get_by_label("Sex at birth").select_option(label="Female")
    page.get_by_label("Phone", exact=True).fill("(503) 555-0199")
    page.get_by_label("Email").fill("teddy.winslow@example.com")
    page.get_by_label("Preferred contact method").select_option(label="Text message")
    page.get_by_label("Address", exact=True).fill("12 Linden Lane")
    page.get_by_label("City").fill("Anytown")
    page.get_by_label("Emergency contact name").fill("Oscar Winslow")
    page.get_by_label("Emergency contact relationship").fill("spouse")
    page.get_by_label("Emergency contact phone").fill("(971) 555-0177")
    page.get_by_role("button", name="Register patient").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Teddy Winslow")
    number = chart_number_on(page)
    assert number.startswith("EF"), number
    expect(page.get_by_role("status")).to_have_text(f"Teddy Winslow registered with chart number {number}.")
    details = page.get_by_role("region", name="Details")
    expect(details).to_contain_text("Theodora Winslow")
    expect(details).to_contain_text("(503) 555-0199")
    expect(details).to_contain_text("Text message")
    expect(details).to_contain_text("Oscar Winslow (spouse)")


def test_registering_the_same_name_and_birth_date_warns_until_confirmed_as_a_different_person(page, login):
    login(page, "frontdesk")
    page.goto("/patients/new/")
    fill_identity(page, "Ambrose", "Kettering", "1979-03-14")
    page.get_by_role("button", name="Register patient").click()
    first_number = chart_number_on(page)

    page.goto("/patients/new/")
    fill_identity(page, "Ambrose", "Kettering", "1979-03-14")
    page.get_by_role("button", name="Register patient").click()

    warning = page.get_by_role("alert")
    expect(warning).to_contain_text("This may be a patient you already have.")
    expect(warning.get_by_role("link")).to_have_text(f"Ambrose Kettering, chart {first_number}, born 1979-03-14")
    confirm = page.get_by_label("I checked: this is a different person with the same name and date of birth")
    expect(confirm).not_to_be_checked()
    # What was typed is kept.
    expect(page.get_by_label("Legal first name")).to_have_value("Ambrose")
    expect(page.get_by_label(re.compile(r"^Date of birth"))).to_have_value("1979-03-14")

    # Saving again without the tick is still refused.
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("alert")).to_contain_text("This may be a patient you already have.")

    page.get_by_label("I checked: this is a different person").check()
    page.get_by_role("button", name="Register patient").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Ambrose Kettering")
    second_number = chart_number_on(page)
    assert second_number != first_number


def first_listed_patient(page) -> tuple[str, str]:
    """(last name, chart number) of the first row of the patient list."""
    row = page.get_by_role("table").get_by_role("row").nth(1)
    name = row.get_by_role("link").inner_text()  # "Last, First"
    number = row.get_by_role("cell").nth(1).inner_text()
    assert CHART_NUMBER.fullmatch(number), number
    return name.split(",")[0], number


def test_patient_search_answers_while_typing(page, login):
    login(page, "frontdesk")
    page.goto("/patients/")
    last_name, _number = first_listed_patient(page)
    search = page.get_by_role("search")
    box = search.get_by_role("searchbox", name="Name, chart number, phone or date of birth")

    with page.expect_response(re.compile(r"/patients/search/\?q=")) as answer:
        box.press_sequentially(last_name[:5])  # part of the name, and no Enter
    assert answer.value.ok

    expect(search.get_by_role("link").first).to_contain_text(last_name)
    expect(page).to_have_url(re.compile(r"/patients/$"))  # answered in place, no page load


def test_patient_search_finds_a_patient_by_chart_number(page, login):
    login(page, "frontdesk")
    page.goto("/patients/")
    last_name, number = first_listed_patient(page)
    search = page.get_by_role("search")

    search.get_by_role("searchbox").press_sequentially(number)

    result = search.get_by_role("link")
    expect(result).to_have_count(1)
    expect(result).to_contain_text(number)
    expect(result).to_contain_text(last_name)
    result.click()
    expect(page.get_by_text(f"Chart {number}", exact=True)).to_be_visible()
