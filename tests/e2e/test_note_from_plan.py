"""A follow-up visit charted on a tablet from the treatment plan, counting every input.

Issue 14's target: a four-technique follow-up note from the plan in at most 12 inputs (an
input is one tap or click on a control, or one field typed into). The demo's stress episode
plans Swedish massage, myofascial release, trigger point and heat; the therapist writes the
note without an appointment (bedside or unscheduled), as test_first_visit.py explains.
"""

import re

from playwright.sync_api import expect

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
