"""Every clinical form and page of one demo episode, on a tablet (768×1024) and a phone (390×844).

Issue 14 item 1: signed in as the demo therapist, the intake (health history) and its
screening, the consent form, the assessment with its pain map, the treatment plan and its
scheduling, every outcome measure's form, home care and discharge, with the read views of
the assessment and the plan. On each page neither the page nor any box in it scrolls
sideways, and every control a finger taps is at least 44 px tall: text boxes, selects,
buttons, the label of a tick box or radio button (what the finger lands on), disclosure
summaries, the links beside a form's buttons and the chart's tabs. Screenshots go to
test-results/ (git-ignored) for a person to look at. The note editor has its own check in
test_note_from_plan.py.
"""

import json
import re

import pytest
from playwright.sync_api import expect
from test_layout import RESULTS, TABLET_AND_PHONE, horizontal_overflow

TOUCH_TARGET = 44  # CSS pixels

# The demo's chemotherapy episode has everything: a screening precaution, two assessments,
# a plan whose techniques draw screening warnings, measurements and home care.
FIND = """
import json
from effleura.clinical.models import Assessment, Episode, OutcomeMeasurement, TreatmentPlan
from effleura.patients.models import ConsentDocument, Patient, PatientConsent
episode = Episode.objects.select_related("patient", "therapist").get(
    title="Neck and shoulder tension during chemotherapy", status="open")
document = ConsentDocument.objects.get(kind="treatment")
latest = document.versions.order_by("-version").first()
signed = PatientConsent.objects.filter(document_version=latest, withdrawn_at=None).values("patient")
unsigned = Patient.objects.filter(status="active").exclude(id__in=signed).order_by("chart_number").first()
print(json.dumps({
    "therapist": episode.therapist.username,
    "patient": str(episode.patient.public_id),
    "episode": str(episode.public_id),
    "assessment": str(Assessment.objects.filter(episode=episode, status="signed").latest("assessed_on").public_id),
    "plan": str(TreatmentPlan.objects.get(episode=episode, status="active").public_id),
    "measurement": str(OutcomeMeasurement.objects.filter(episode=episode).latest("taken_on").public_id),
    "consent_patient": str(unsigned.public_id),
    "consent_document": str(document.public_id),
}))
"""

MEASURES = ["nprs", "odi", "ndi", "quickdash", "lefs", "psfs"]

# area: [(screenshot name, path, the level-2 heading that shows the page is the right one)]
PAGES = {
    "intake-and-consent": [
        ("health-history-form", "/patients/{patient}/health-history/new/", r"^Update the health history"),
        ("health-history", "/patients/{patient}/health-history/", r"^Version \d+$"),
        ("screening", "/clinical/patients/{patient}/", r"^Screening$"),
        ("consent-form", "/patients/{consent_patient}/consent/{consent_document}/sign/", r"^Consent to"),
    ],
    "assessment": [
        ("assessment-form", "/clinical/episodes/{episode}/assessments/new/", r"^New assessment$"),
        ("assessment", "/clinical/assessments/{assessment}/", r"^Re-assessment, "),
        ("assessments", "/clinical/episodes/{episode}/assessments/", r"^Assessments$"),
    ],
    "plan": [
        ("plan-form", "/clinical/episodes/{episode}/plans/new/", r"^Change the treatment plan$"),
        ("plan", "/clinical/plans/{plan}/", r"^Treatment plan of "),
        ("plan-schedule", "/clinical/plans/{plan}/schedule/", r"^Schedule this plan$"),
        ("episode", "/clinical/episodes/{episode}/", r"^Treatment plan of "),
    ],
    "measures": [
        ("measures", "/clinical/episodes/{episode}/measures/", r"^Outcome measures$"),
        ("measure-choose", "/clinical/episodes/{episode}/measures/new/", r"^Record a measure$"),
        *[(f"measure-{key}", f"/clinical/episodes/{{episode}}/measures/new/?measure={key}", r".") for key in MEASURES],
        ("measurement", "/clinical/episodes/{episode}/measures/{measurement}/", r", \d{4}-\d\d-\d\d$"),
    ],
    "home-care-and-discharge": [
        ("home-care", "/clinical/episodes/{episode}/home-care/", r"^Home-care plan$"),
        ("home-care-form", "/clinical/episodes/{episode}/home-care/edit/", r"^Edit the home-care plan$"),
        ("discharge-form", "/clinical/episodes/{episode}/discharge/", r"^Discharge “"),
    ],
}

# Boxes in <main> that scroll sideways on their own (a .table-wrap, say): the page itself
# fits, yet part of the form is off to the side. [description, pixels hidden]
SIDEWAYS_BOXES = """() => [...document.querySelectorAll("main *")]
  .filter(e => ["auto", "scroll"].includes(getComputedStyle(e).overflowX) && e.scrollWidth - e.clientWidth > 0)
  .map(e => [e.tagName.toLowerCase() + (e.className ? "." + String(e.className).trim().replace(/\\s+/g, ".") : ""),
             e.scrollWidth - e.clientWidth])"""

# The touch targets in <main> shorter than the limit: [description, height]. A tick box or
# radio is measured by its tallest visible label (a box with none is measured as itself).
# Skipped: what is not shown (no size, as in display: none, a closed <details> or the 1 px
# .visually-hidden).
SMALL_TARGETS = """(limit) => {
  const shown = e => {
    const box = e.getBoundingClientRect();
    return box.width > 1 && box.height > 1 && getComputedStyle(e).visibility !== "hidden"
      && !e.closest("[aria-hidden=true]");
  };
  const text = e => (e.labels && e.labels[0] ? e.labels[0] : e).textContent.trim().replace(/\\s+/g, " ");
  const name = e => (e.id ? "#" + e.id : e.tagName.toLowerCase()) + " “" + text(e).slice(0, 40) + "”";
  const targets = "input:not([type=hidden]), select, textarea, button, a.button, summary, "
    + ".actions > a, .tabs a, .subtabs a";
  const small = [];
  for (const e of document.querySelectorAll("main :is(" + targets + ")")) {
    let boxes = [e];
    if (e.type === "checkbox" || e.type === "radio") boxes = [...e.labels].filter(shown);
    if (!boxes.length) boxes = [e];
    if (!boxes.some(shown)) continue;
    const height = Math.max(...boxes.map(b => b.getBoundingClientRect().height));
    if (height < limit) small.push([name(e), Math.round(height * 10) / 10]);
  }
  return small;
}"""


@pytest.fixture(scope="module")
def demo(site) -> dict[str, str]:
    """The public ids of the demo episode's records (and of a patient yet to sign consent)."""
    return json.loads(site.manage("shell", "-c", FIND).stdout.strip().splitlines()[-1])


def check_fits(page, shot: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=RESULTS / f"clinical-{shot}.png", full_page=True)
    assert horizontal_overflow(page) <= 0, f"{shot}: the page scrolls sideways"
    assert page.evaluate(SIDEWAYS_BOXES) == [], f"{shot}: part of the page scrolls sideways"
    assert page.evaluate(SMALL_TARGETS, TOUCH_TARGET) == [], f"{shot}: touch targets under {TOUCH_TARGET} px"


def unfold(page, shot: str) -> bool:
    """Open what is folded away (every closed <details>: a flag's source, the consent's
    "Signing for the patient"; the pain map's dialog), so that what it holds is checked too.
    False when the page has nothing folded away."""
    opened = page.evaluate(
        "() => [...document.querySelectorAll('main details:not([open])')].map(d => { d.open = true; }).length"
    )
    if shot == "assessment-form":
        # Tapping a region of the pain map opens its dialog: symbols, intensity, buttons.
        page.get_by_role("button", name=re.compile(r"^Neck: ")).first.click()
        expect(page.get_by_role("dialog", name="Neck")).to_be_visible()
        return True
    return opened > 0


@pytest.mark.parametrize("area", PAGES)
@pytest.mark.parametrize("device", TABLET_AND_PHONE)
def test_each_clinical_form_and_page_fits_without_sideways_scroll_and_with_44_px_touch_targets(
    page, login, demo, device, area
):
    page.set_viewport_size(TABLET_AND_PHONE[device])
    login(page, demo["therapist"])
    for shot, path, heading in PAGES[area]:
        page.goto(path.format(**demo))
        expect(page.get_by_role("heading", name=re.compile(heading)).first).to_be_visible()
        check_fits(page, f"{shot}-{device}")
        if unfold(page, shot):
            check_fits(page, f"{shot}-{device}-opened")
