"""The body chart in a real browser: a therapist opens an episode for a new patient,
marks one region by keyboard and another by tapping, saves the assessment, and sees the
marks read-only. Everything is made through the pages, as the therapist."""

import re

from playwright.sync_api import expect

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _open_episode(page, login, register_patient) -> str:
    """Sign in as the therapist, register a patient, open an episode: its id."""
    login(page, "therapist")
    register_patient(page, "Bodychart", "Synthetic", "1984-02-03")
    patient_id = re.search(UUID, page.url).group(0)
    page.goto(f"/clinical/patients/{patient_id}/episodes/new/")
    page.get_by_label("The problem in a few words").fill("Neck and shoulder pain (synthetic)")
    page.get_by_label("Therapist responsible").select_option(label="Jordan Reyes, LMT")
    page.get_by_role("button", name="Open the episode").click()
    page.wait_for_url(re.compile(rf"/clinical/episodes/{UUID}/"))
    return re.search(rf"/clinical/episodes/({UUID})/", page.url).group(1)


def test_a_therapist_marks_the_body_chart_by_keyboard_and_by_tap(page, login, register_patient):
    episode_id = _open_episode(page, login, register_patient)
    page.goto(f"/clinical/episodes/{episode_id}/assessments/new/")

    # With the script running the plain list steps aside.
    expect(page.locator("[data-bodychart-fallback]")).to_be_hidden()
    status = page.locator("[data-bodychart-status]")

    # Keyboard: reach the neck, open it with Enter, choose tension and 4, save with Enter.
    neck = page.get_by_role("button", name="Neck: no marks")
    neck.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Neck")
    expect(dialog).to_be_visible()
    page.keyboard.press("ArrowDown")  # from Pain to Tension in the radio group
    expect(dialog.get_by_label("Tension")).to_be_checked()
    dialog.get_by_label(re.compile("Intensity")).focus()
    page.keyboard.press("Home")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(status).to_have_text("Neck: tension 4 of 10 added.")
    neck = page.get_by_role("button", name="Neck: tension 4 of 10")
    expect(neck).to_be_focused()

    # Space works too, and shows what the region already carries.
    page.keyboard.press(" ")
    expect(dialog.get_by_text("tension 4 of 10")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # Tap: the left shoulder on the back view (its twin on the front is the keyboard stop).
    page.locator("svg[data-view=back] .bc-region[data-region=shoulder_l]").click()
    shoulder = page.get_by_role("dialog", name="Left shoulder")
    shoulder.get_by_text("Pain", exact=True).click()
    shoulder.get_by_label(re.compile("Intensity")).fill("7")
    shoulder.get_by_role("button", name="Add mark").click()
    expect(status).to_have_text("Left shoulder: pain 7 of 10 added.")
    expect(page.get_by_role("button", name="Left shoulder: pain 7 of 10")).to_be_visible()
    expect(page.locator("svg[data-view=front] [data-badges] text", has_text="P7")).to_have_count(1)

    page.get_by_label("Clinical impression").fill("Upper trapezius tension with a painful left shoulder.")
    page.get_by_role("button", name="Save draft").click()

    # Read-only: the marks in text and on the figure, nothing to press.
    expect(page.get_by_role("heading", name=re.compile("Initial assessment"))).to_be_visible()
    marks = page.locator("[data-bodychart-list]")
    expect(marks).to_contain_text("Neck: tension 4 of 10")
    expect(marks).to_contain_text("Left shoulder: pain 7 of 10")
    expect(page.locator(".bc-region[tabindex]")).to_have_count(0)
    expect(page.get_by_role("img", name=re.compile("Body chart, front view: 2 marks"))).to_be_visible()

    # Editing the draft brings the marks back onto the editable chart.
    page.get_by_role("link", name="Edit the draft").click()
    expect(page.get_by_role("button", name="Left shoulder: pain 7 of 10")).to_be_visible()
    expect(page.get_by_role("button", name="Neck: tension 4 of 10")).to_be_visible()
