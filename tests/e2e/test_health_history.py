"""A therapist takes a patient's health history, and updates it into a new version."""

import re

from playwright.sync_api import expect

CONDITIONS = "Tick every condition that applies now"


def open_patient(page, name):
    """Find the patient with the search box and open their chart."""
    page.goto("/patients/")
    search = page.get_by_role("search")
    search.get_by_role("searchbox").press_sequentially(name)
    search.get_by_role("link", name=re.compile(name)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def fill_first_intake(page):
    page.get_by_label("What brings you in?").fill("Low back ache after long drives.")
    page.get_by_role("group", name="Pain areas").get_by_label("Low back").check()
    page.get_by_role("group", name=CONDITIONS).get_by_label("Deep vein thrombosis").check()
    medications = page.get_by_role("group", name="Medications")
    medications.get_by_label("Medication", exact=True).first.fill("Rivaroxaban")
    medications.get_by_label("Dose", exact=True).first.fill("20 mg daily")
    medications.get_by_label("Blood thinner", exact=True).first.check()
    page.get_by_label("Weeks of pregnancy").fill("12")


def save(page):
    page.get_by_role("button", name="Save health history").click()


def facts(page) -> dict[str, str]:
    """The current version's facts as {label: text}."""
    version = page.locator("dl.facts")
    expect(version).to_be_visible()
    terms = version.get_by_role("term").all_inner_texts()
    definitions = version.get_by_role("definition").all_inner_texts()
    return dict(zip(terms, definitions, strict=True))


def test_weeks_of_pregnancy_without_the_pregnant_tick_is_refused_beside_the_field_then_saves_as_version_1(
    page, login, register_patient
):
    login(page, "therapist")
    register_patient(page, "Marisol", "Quennell", "1990-05-17")
    open_patient(page, "Marisol Quennell")
    expect(page.get_by_text("No health history yet.")).to_be_visible()
    page.get_by_role("link", name="Take the health history").click()
    expect(page.get_by_role("heading", name="Take the health history")).to_be_visible()

    fill_first_intake(page)  # weeks of pregnancy, but "Pregnant" left unticked
    save(page)

    weeks = page.get_by_label("Weeks of pregnancy")
    error = "Weeks of pregnancy only apply when pregnant is ticked."
    expect(weeks).to_have_attribute("aria-invalid", "true")
    expect(weeks).to_have_accessible_description(error)  # tied to the field, not just nearby
    expect(page.locator(".field", has=weeks).get_by_text(error)).to_be_visible()
    # The form comes back as it was filled in...
    expect(page.get_by_role("heading", name="Take the health history")).to_be_visible()
    expect(page.get_by_role("group", name=CONDITIONS).get_by_label("Deep vein thrombosis")).to_be_checked()
    expect(page.get_by_role("group", name="Pain areas").get_by_label("Low back")).to_be_checked()
    expect(page.get_by_label("Medication", exact=True).first).to_have_value("Rivaroxaban")
    expect(page.get_by_label("Blood thinner", exact=True).first).to_be_checked()
    expect(weeks).to_have_value("12")
    # ...and nothing was saved.
    chart = page.context.new_page()
    chart.goto(page.url.split("health-history/")[0])
    expect(chart.get_by_role("region", name="Health history")).to_contain_text("No health history yet.")
    chart.close()

    page.get_by_label("Pregnant", exact=True).check()
    save(page)

    expect(page.get_by_role("status")).to_have_text("Health history saved as version 1.")
    expect(page.get_by_role("heading", name="Version 1", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("What changed"))).to_have_count(0)
    saved = facts(page)
    assert saved["Pain areas"] == "Low back"
    assert saved["Medications"] == "Rivaroxaban 20 mg daily (blood thinner)"
    assert saved["Pregnant"] == "yes, 12 weeks"
    assert "Deep vein thrombosis" in saved["Conditions"]
    # Screening also counts what the answers imply: the blood thinner and the pregnancy.
    version_1 = page.locator("section").filter(has=page.get_by_role("heading", name="Version 1", exact=True))
    expect(version_1).to_contain_text("Taking blood thinners")
    expect(version_1).to_contain_text("Pregnancy")

    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("region", name="Health history")).to_contain_text("Version 1")


def test_updating_the_health_history_shows_what_changed_since_version_1(page, login, register_patient):
    login(page, "therapist")
    register_patient(page, "Leopold", "Vantongeren", "1968-11-03")
    page.get_by_role("link", name="Take the health history").click()
    fill_first_intake(page)
    page.get_by_label("Weeks of pregnancy").fill("")
    save(page)
    expect(page.get_by_role("heading", name="Version 1", exact=True)).to_be_visible()

    page.get_by_role("link", name="Update the health history").click()
    expect(page.get_by_role("heading", name="Update the health history (becomes version 2)")).to_be_visible()
    # The form starts from version 1's answers.
    pain_areas = page.get_by_role("group", name="Pain areas")
    expect(pain_areas.get_by_label("Low back")).to_be_checked()
    expect(page.get_by_label("Medication", exact=True).first).to_have_value("Rivaroxaban")
    pain_areas.get_by_label("Neck").check()
    page.get_by_label("Pressure preference").select_option(label="Light")
    save(page)

    expect(page.get_by_role("status")).to_have_text("Health history saved as version 2.")
    expect(page.get_by_role("heading", name="Version 2", exact=True)).to_be_visible()
    changes = page.get_by_role("region", name="What changed since version 1")
    expect(changes).to_be_visible()
    expect(changes.get_by_role("columnheader")).to_have_text(["Item", "Before (v1)", "Now (v2)"])
    pain = changes.get_by_role("row", name=re.compile(r"^Pain areas"))
    expect(pain.get_by_role("cell")).to_have_text(["Low back", "Neck, Low back"])
    pressure = changes.get_by_role("row", name=re.compile(r"^Pressure preference"))
    expect(pressure.get_by_role("cell")).to_have_text(["no preference", "Light"])
    # Only what changed is listed.
    expect(changes.get_by_role("rowheader")).to_have_text(["Pain areas", "Pressure preference"])

    # Version 1 is still there, unchanged.
    page.get_by_role("link", name="Version 1", exact=True).click()
    expect(page.get_by_role("note").filter(has_text="You are looking at version 1.")).to_be_visible()
    assert facts(page)["Pain areas"] == "Low back"
