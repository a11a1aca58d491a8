"""A whole first visit in the browser, as the clinic lives it.

The front desk registers a new patient and captures the treatment consent and the privacy
notice. The therapist takes the health history (blood thinners, varicose veins in the left
calf), sees the screening flags on the Clinical tab, opens an episode of care, assesses
(a range-of-motion reading, marks on the body chart), signs the assessment, writes the
treatment plan, writes and signs the session note (charting a technique over the area to
avoid demands a reason first), then records an NPRS score and finds it on the progress
chart with the plan's goal as a line.

The session note is written without an appointment ("bedside or unscheduled"): booking
needs an hour's notice and signing a note needs its appointment to have started, so a
visit booked today could not be signed during the test at any hour of the day.
Everything is done through the pages; nothing is made behind the server's back.
"""

import json
import re

from playwright.sync_api import expect

from effleura.demo.data import PRIVACY_TITLE, TREATMENT_TITLE

FIRST, LAST, BORN = "Ottoline", "Vexworth", "1971-04-19"
NAME = f"{FIRST} {LAST}"
THERAPIST = "Jordan Reyes, LMT"
EPISODE = "Low back pain after lifting (synthetic)"
GOAL = "Pain at most 3/10 after an hour's drive"
CONDITIONS = "Tick every condition that applies now"
REASON = "Broad, light static compression above the veins only; cleared by the physician's letter on file."


def messages(page):
    """The page's messages (the body chart has a live status of its own)."""
    return page.get_by_role("status").and_(page.locator(".messages"))


def log_out(page):
    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def capture_consent(page, title):
    row = page.get_by_role("region", name="Consent").locator(".consent-row", has_text=title)
    row.get_by_role("link", name="Capture consent").click()
    expect(page.get_by_role("heading", name=re.compile(re.escape(title)))).to_be_visible()
    page.get_by_label("full name (typed as signature)").fill(NAME)
    page.get_by_label("I have read this document, had my questions answered, and I agree").check()
    page.get_by_role("button", name="Sign").click()
    expect(messages(page)).to_have_text(f"Consent to “{title}” recorded.")
    expect(row.get_by_text("Signed, current version", exact=True)).to_be_visible()


def episode_section(page, name):
    """Go to a section of the episode through its section links."""
    page.get_by_role("navigation", name="Episode sections").get_by_role("link", name=name).click()


def test_a_first_visit_from_the_front_desk_to_the_progress_chart(page, login, register_patient, pick_regions):
    # -- The front desk: register, and both consents signed at the desk. -----------------------
    login(page, "frontdesk")
    register_patient(page, FIRST, LAST, BORN)
    chart_url = page.url
    flags = page.get_by_role("group", name="Flags")
    expect(flags).to_contain_text(f"{TREATMENT_TITLE}: Not signed")
    capture_consent(page, TREATMENT_TITLE)
    capture_consent(page, PRIVACY_TITLE)
    expect(flags).not_to_contain_text(TREATMENT_TITLE)
    expect(flags).not_to_contain_text(PRIVACY_TITLE)
    # Clinical content is not the front desk's to see.
    expect(page.get_by_role("link", name="Clinical", exact=True)).to_have_count(0)
    log_out(page)

    # -- The therapist: health history, and the screening flags it raises. ---------------------
    login(page, "therapist")
    page.goto(chart_url)
    page.get_by_role("link", name="Take the health history").click()
    page.get_by_label("What brings you in?").fill("Low back pain since lifting boxes two weeks ago.")
    page.get_by_role("group", name="Pain areas").get_by_label("Low back").check()
    page.get_by_role("group", name=CONDITIONS).get_by_label("Varicose veins").check()
    medications = page.get_by_role("group", name="Medications")
    medications.get_by_label("Medication", exact=True).first.fill("Warfarin")
    medications.get_by_label("Dose", exact=True).first.fill("5 mg daily")
    medications.get_by_label("Blood thinner", exact=True).first.check()
    page.get_by_role("group", name="Areas to avoid").get_by_label("Left lower leg").check()
    page.get_by_label("Notes on areas to avoid").fill("Varicose veins, left calf.")
    page.get_by_role("button", name="Save health history").click()
    expect(messages(page)).to_have_text("Health history saved as version 1.")

    page.get_by_role("link", name="Clinical", exact=True).click()
    screening = page.get_by_role("region", name="Screening flags")
    expect(screening.locator("summary").first).to_have_text("Flags: 1 area to avoid, 1 precaution")
    blood_thinners = screening.locator(".flag-item", has_text="On blood thinners or a bleeding disorder")
    expect(blood_thinners.locator(".badge")).to_have_text("Precaution")
    expect(blood_thinners).to_contain_text("no deep or forceful work")
    veins = screening.locator(".flag-item", has_text="Varicose veins")
    expect(veins.locator(".badge")).to_have_text("Local: avoid area")

    # -- Open an episode of care. ---------------------------------------------------------------
    page.get_by_role("link", name="Open an episode").click()
    page.get_by_label("The problem in a few words").fill(EPISODE)
    expect(page.get_by_label("Therapist responsible").locator("option:checked")).to_have_text(THERAPIST)
    page.get_by_role("button", name="Open the episode").click()
    expect(messages(page)).to_have_text(f"Episode “{EPISODE}” opened.")
    expect(page.get_by_role("heading", name=EPISODE, level=2)).to_be_visible()

    # -- Initial assessment: range of motion and the body chart, then signed. -------------------
    episode_section(page, "Assessments")
    page.get_by_role("link", name="New assessment").click()
    expect(page.get_by_role("radio", name="Initial assessment")).to_be_checked()
    page.get_by_label("Joint and movement 1").select_option(label="Low-back flexion (normal 60–80°)")
    page.get_by_label("Degrees, movement 1").fill("40")
    page.get_by_label("Painful, movement 1").check()

    status = page.locator("[data-bodychart-status]")
    page.locator("svg[data-view=back] .bc-region[data-region=low_back]").click()
    low_back = page.get_by_role("dialog", name="Low back")
    low_back.get_by_text("Pain", exact=True).click()
    low_back.get_by_label(re.compile("Intensity")).fill("7")
    low_back.get_by_role("button", name="Add mark").click()
    expect(status).to_have_text("Low back: pain 7 of 10 added.")
    page.locator("svg[data-view=back] .bc-region[data-region=glutes]").click()
    glutes = page.get_by_role("dialog", name="Buttocks")
    glutes.get_by_text("Trigger point", exact=True).click()
    glutes.get_by_label(re.compile("Intensity")).fill("5")
    glutes.get_by_role("button", name="Add mark").click()
    expect(status).to_have_text("Buttocks: trigger point 5 of 10 added.")

    page.get_by_label("Functional limitations").fill("Cannot sit through a one-hour drive; bends with pain.")
    page.get_by_label("Clinical impression").fill("Lumbar muscle strain with guarding; gluteal trigger points.")
    page.get_by_role("button", name="Save draft").click()
    expect(messages(page)).to_have_text("Assessment saved as a draft. Sign it when it is complete.")
    page.get_by_role("link", name="Sign…").click()
    page.get_by_role("button", name="Sign and lock").click()
    expect(messages(page)).to_contain_text("Assessment signed.")
    expect(page.get_by_role("heading", name=re.compile(r"^Initial assessment, .* Signed$"))).to_be_visible()
    rom = page.get_by_role("row", name=re.compile("^Low-back flexion"))
    expect(rom).to_contain_text("40°")
    expect(rom).to_contain_text("below normal")
    marks = page.locator("[data-bodychart-list]")
    expect(marks).to_contain_text("Low back: pain 7 of 10")
    expect(marks).to_contain_text("Buttocks: trigger point 5 of 10")
    expect(page.get_by_role("img", name=re.compile("Body chart, back view: 2 marks"))).to_be_visible()

    # -- The treatment plan: a searched diagnosis code, a measurable goal, the dose. ------------
    episode_section(page, "Treatment plan")
    page.get_by_role("link", name="Write the plan").click()
    page.get_by_label("Search codes").press_sequentially("low back")
    page.get_by_role("button", name="M54.50").click()
    expect(page.get_by_label("Diagnosis codes (ICD-10-CM)")).to_have_value("M54.50")
    goal = page.get_by_role("group", name="Goal 1")
    goal.get_by_label("Goal", exact=True).fill(GOAL)
    goal.get_by_label("Measured by").select_option(label="Numeric Pain Rating Scale (NPRS)")
    goal.get_by_label("Baseline").fill("7")
    goal.get_by_label("Target").fill("3")
    techniques = page.get_by_role("group", name="Planned techniques and strokes")
    for technique in ("Swedish massage", "Myofascial release", "Kneading (petrissage)"):
        techniques.get_by_label(technique).check()
    page.get_by_role("group", name="Adjunct modalities").get_by_label("Heat (hot pack)").check()
    expect(page.get_by_text("No screening warning for the techniques and pressure chosen.")).to_be_visible()
    page.get_by_label("Pressure from").select_option(label="Light")
    page.get_by_label("Pressure up to").select_option(label="Moderate")
    page.get_by_label("Sessions a week").fill("2")
    page.get_by_label("For how many weeks").fill("4")
    page.get_by_label("Minutes a session").fill("60")
    page.get_by_role("button", name="Save the plan").click()
    expect(messages(page)).to_have_text("Treatment plan saved: 8 visits.")
    plan = page.get_by_role("region", name=re.compile("^Treatment plan"))
    expect(plan).to_contain_text("M54.50")
    expect(plan).to_contain_text("2 sessions a week for 4 weeks = 8 visits of 60 minutes")
    goal_row = plan.get_by_role("row").filter(has_text=GOAL)
    expect(goal_row).to_contain_text("Numeric Pain Rating Scale")
    expect(goal_row).to_contain_text("7 → 3")

    # -- The session note: the flags on top, a technique over the area to avoid needs a reason. -
    episode_section(page, "Session notes")
    page.get_by_role("link", name="Write a note without an appointment").click()
    # With a plan in force, starting from it is ticked; this visit is charted from blank.
    expect(page.get_by_role("radio", name=re.compile("^The treatment plan"))).to_be_checked()
    page.get_by_role("radio", name="A blank note").check()
    page.get_by_role("button", name="Start the note").click()
    expect(messages(page)).to_have_text("Draft note started.")
    note_flags = page.get_by_role("region", name="Screening, from the current health history")
    expect(note_flags).to_contain_text("On blood thinners or a bleeding disorder")
    expect(note_flags).to_contain_text("Varicose veins")

    page.get_by_label("Symptoms and changes since the last visit").fill("Ache across the low back, worse sitting.")
    page.get_by_label("Pain now (0–10)").fill("7")
    page.get_by_label("Findings").fill("Guarding in the lumbar erectors; tender points in the left gluteus medius.")
    page.get_by_label("Technique, row 1").select_option(label="Swedish massage")
    page.get_by_label("Minutes, row 1").fill("35")
    pick_regions(page, 1, "Low back", "Buttocks")
    page.get_by_label("Pressure, row 1").select_option(label="Moderate")
    page.get_by_label("Client position, row 1").select_option(label="Prone")
    # Compression is local work the varicose veins rule out in the area to avoid.
    compression = page.get_by_label("Technique, row 2")
    # The menu keeps the plain name; screening's word appears beside it once chosen.
    expect(compression.locator("option", has_text="Compression")).to_have_text("Compression")
    compression.select_option(label="Compression")
    expect(page.locator('[data-verdict-for="t-1-technique"]')).to_have_text("avoid affected areas")
    page.get_by_label("Minutes, row 2").fill("5")
    pick_regions(page, 2, "Left lower leg")
    page.get_by_label("Pressure, row 2").select_option(label="Light")
    page.get_by_label("Client position, row 2").select_option(label="Supine")
    page.get_by_label("Response to treatment and progress toward the goals").fill("Guarding eased; pain 5/10 after.")
    page.get_by_label("Next steps").fill("Continue the plan; re-test lumbar flexion at visit 4.")
    page.get_by_role("button", name="Save draft").click()

    # Refused: the reason is demanded beside the compression row; nothing typed is lost.
    reason = page.get_by_label("Reason to chart this despite the screening flag, row 2")
    demand = "Compression over Left lower leg: Varicose veins rules out local work there."
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description(re.compile("^" + re.escape(demand)))
    override_row = page.locator("tr.technique-override", has=reason)
    expect(override_row).to_have_attribute("data-row", "1")  # the compression row
    expect(page.get_by_label("Technique, row 2")).to_have_value("compression")
    expect(page.get_by_label("Minutes, row 1")).to_have_value("35")
    expect(page.get_by_label("Pain now (0–10)")).to_have_value("7")

    reason.fill(REASON)
    page.get_by_role("button", name="Save and sign").click()
    expect(messages(page)).to_have_text("Note signed. Later changes are addenda.")
    expect(page.get_by_role("heading", name=re.compile(r"^Session note, .* Signed$"))).to_be_visible()
    expect(page.get_by_role("region", name="Screening, from the current health history")).to_contain_text(
        "On blood thinners or a bleeding disorder"
    )
    treatment = page.get_by_role("region", name="Treatment · 40 minutes")
    expect(treatment.get_by_role("row", name=re.compile("^Swedish massage"))).to_contain_text("Low back, Buttocks")
    expect(treatment.get_by_role("row", name=re.compile("^Compression"))).to_contain_text("Left lower leg")
    expect(treatment.locator("#overrides")).to_contain_text(f"Compression despite Varicose veins (local): {REASON}")
    expect(page.get_by_role("link", name="Edit the draft")).to_have_count(0)  # locked

    # -- An NPRS score, then the pain chart with the goal as a line. ----------------------------
    page.get_by_role("link", name="← All notes of this episode").click()
    listed = page.get_by_role("row").filter(has_text="Signed")
    expect(listed.get_by_role("cell")).to_have_text([re.compile(r"\d{4}-"), "Signed", "none", "40", THERAPIST])
    episode_section(page, "Outcome measures")
    page.get_by_label("Record a measure").select_option(label="Numeric Pain Rating Scale")
    page.get_by_role("button", name="Open the form").click()
    page.get_by_role("group", name="1. Pain right now").get_by_role("radio", name="5", exact=True).check()
    page.get_by_role("button", name="Score and save").click()
    expect(messages(page)).to_have_text("Numeric Pain Rating Scale scored 5/10.")

    pain = page.get_by_role("region", name="Pain (0–10)")
    table = pain.get_by_role("table")
    # The note's "pain now" and the NPRS, in order, each with where it came from.
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).get_by_role("cell")).to_have_text([re.compile(r"^\d{4}-\d\d-\d\d$"), "7", "Session note"])
    expect(rows.nth(1).get_by_role("cell")).to_have_text([re.compile(r"^\d{4}-\d\d-\d\d$"), "5", "NPRS"])
    expect(pain.locator(".progress-summary")).to_contain_text("2 points better")
    expect(pain.locator(".progress-goals")).to_contain_text(f"Goal: {GOAL} — target 3/10")
    data = json.loads(pain.locator("script[type='application/json']").text_content())
    assert data["series"][0]["values"] == [5.0]  # one day: the last value of the day is drawn
    assert data["goals"] == [{"label": f"Goal: {GOAL}", "value": 3.0}]
    # Chart.js has the goal as a dataset of its own, at 3 on every date.
    canvas = pain.get_by_role("img", name=re.compile("Pain .* over time, charted"))
    expect(canvas).to_be_visible()
    page.wait_for_function("c => window.Chart && Chart.getChart(c)", arg=canvas.element_handle())
    drawn = canvas.evaluate("c => Chart.getChart(c).data.datasets.map(d => [d.label, d.data])")
    assert [f"Goal: {GOAL}", [3.0]] in drawn
    measurements = page.get_by_role("table", name="Every measurement")
    expect(measurements.locator("tbody tr")).to_have_count(1)
    expect(measurements.locator("tbody tr").first).to_contain_text("NPRS")
    expect(measurements.locator("tbody tr").first).to_contain_text("5/10")
