"""A follow-up visit charted on a tablet from the treatment plan, counting every input.

Issue 14's target: a four-technique follow-up note from the plan in at most 12 inputs (an
input is one tap or click on a control, or one field typed into). The demo's stress episode
plans Swedish massage, myofascial release, trigger point and heat; the therapist writes the
note without an appointment (bedside or unscheduled), as test_first_visit.py explains.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

RESULTS = Path(__file__).resolve().parents[2] / "test-results"  # screenshots, git-ignored
TITLE = "Muscle tension and poor sleep with stress"
MAX_INPUTS = 12
FIND = (
    "from effleura.clinical.models import Episode; "
    f"e = Episode.objects.filter(title={TITLE!r}, status='open').select_related('therapist').first(); "
    "print(e.public_id, e.therapist.username)"
)


class Inputs:
    """Counts what the person does: each click or tap, each field typed into."""

    def __init__(self):
        self.count = 0

    def click(self, locator):
        self.count += 1
        locator.click()

    def fill(self, locator, text):
        self.count += 1
        locator.fill(text)


def test_a_four_technique_follow_up_from_the_plan_takes_at_most_twelve_inputs_on_a_tablet(page, login, site):
    found = site.manage("shell", "-c", FIND).stdout.strip().splitlines()[-1].split()
    assert len(found) == 2, "the demo's stress episode is missing"
    episode_id, username = found
    page.set_viewport_size({"width": 768, "height": 1024})
    login(page, username)
    page.goto(f"/clinical/episodes/{episode_id}/notes/")
    inputs = Inputs()

    inputs.click(page.get_by_role("link", name="Write a note without an appointment"))
    plan = page.get_by_role("radio", name=re.compile("^The treatment plan: its 4 techniques"))
    expect(plan).to_be_checked()  # no tap needed: the plan is the default for a follow-up
    inputs.click(page.get_by_role("button", name="Start the note"))
    expect(page.get_by_role("status").and_(page.locator(".messages"))).to_have_text("Draft note started.")
    for n, technique in enumerate(["swedish", "myofascial_release", "trigger_point", "heat"], start=1):
        expect(page.get_by_label(f"Technique, row {n}")).to_have_value(technique)
        expect(page.get_by_label(f"Minutes, row {n}")).not_to_have_value("")

    inputs.fill(page.get_by_label("Symptoms and changes since the last visit"), "Slept better; shoulders tight.")
    inputs.fill(page.get_by_label("Pain now (0–10)"), "3")
    inputs.fill(page.get_by_label("Findings"), "Upper trapezius tone raised, less than last week.")
    inputs.fill(page.get_by_label("Response to treatment and progress toward the goals"), "Tone eased; 1/10 after.")
    inputs.fill(page.get_by_label("Next steps"), "Continue the plan.")
    inputs.click(page.get_by_role("button", name="Save and sign"))

    expect(page.get_by_role("status").and_(page.locator(".messages"))).to_have_text(
        "Note signed. Later changes are addenda."
    )
    treatment = page.get_by_role("region", name=re.compile(r"^Treatment · \d+ minutes"))
    for name in ("Swedish massage", "Myofascial release", "Trigger point", "Heat"):
        expect(treatment.get_by_role("row", name=re.compile(f"^{name}"))).to_be_visible()
    assert inputs.count <= MAX_INPUTS, f"{inputs.count} inputs, more than {MAX_INPUTS}"


DESK_TITLE = "Neck and upper-back pain from desk work"
SIZES = {"tablet": {"width": 768, "height": 1024}, "phone": {"width": 390, "height": 844}}


def overflow(page, selector: str = "html") -> int:
    """How many CSS pixels the element scrolls sideways (0 when everything fits)."""
    return page.evaluate(
        f"(() => {{ const e = document.querySelector({selector!r}); return e.scrollWidth - e.clientWidth; }})()"
    )


@pytest.mark.parametrize("device", SIZES)
def test_the_note_editor_shows_each_technique_as_a_card_that_fits_a_tablet_and_a_phone(page, login, site, device):
    find = FIND.replace(repr(TITLE), repr(DESK_TITLE))
    episode_id, username = site.manage("shell", "-c", find).stdout.strip().splitlines()[-1].split()
    page.set_viewport_size(SIZES[device])
    login(page, username)
    page.goto(f"/clinical/episodes/{episode_id}/notes/")
    page.get_by_role("link", name="Write a note without an appointment").click()
    page.get_by_role("button", name="Start the note").click()
    expect(page.get_by_label("Technique, row 1")).to_be_visible()  # its label shown above it on the card
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=RESULTS / f"note-editor-{device}.png", full_page=True)
    assert overflow(page) <= 0, "the page scrolls sideways"
    assert overflow(page, ".note-techniques .table-wrap") <= 0, "the technique rows scroll sideways"
    for label in ("Technique, row 1", "Minutes, row 1", "Pressure, row 1", "Client position, row 1"):
        box = page.get_by_label(label).bounding_box()
        assert box["height"] >= 44 and box["x"] + box["width"] <= SIZES[device]["width"], label
