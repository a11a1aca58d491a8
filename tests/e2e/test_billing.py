"""A visit from the signed note to the superbill, in a real browser (issue 6, item 9).

The therapist writes the session note of a visit that has started, charting Swedish massage
33 minutes and myofascial release 7 minutes, and signs it: the signed note shows the visit's
charge, counted by the CMS 8-minute rule (40 minutes = 3 units; 97124 takes its 2 whole units
and the leftover unit goes to the code with the larger remainder, 97140, although 7 minutes
alone would not bill). The front desk opens the patient's account from the chart, invoices
the visit, takes part of it in cash and sees what is still owed; then prints the visit's
superbill, a PDF with the codes and units, the patient and the amount paid.

`effleura shell` against the e2e site prepares a patient of its own (no insurance policy:
self-pay), an episode of care opened by the demo therapist, a service without a price (so
the visit is priced per code from the standard fee schedule, whatever the demo holds) with
standard fees for 97124 and 97140 when the demo has none, and an appointment that started a
few minutes ago (Appointment written directly: booking in the past is refused on purpose).
Everything else goes through the pages.
"""

import io
import json
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

FIRST, LAST = "Bellamy", "Superbillson"
PATIENT = f"{FIRST} {LAST}"
EPISODE = "Neck and shoulder tension (synthetic)"
CENT = Decimal("0.01")

SETUP = (
    """
import datetime, json
from decimal import Decimal
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from effleura.billing.models import FeeScheduleEntry, Policy, ProcedureCode
from effleura.clinical import episodes
from effleura.patients import actions as patient_actions
from effleura.scheduling.models import Appointment, Location, Service

User = get_user_model()
owner = User.objects.get(username="owner")
therapist = User.objects.get(username="therapist")
data = {"legal_first_name": "{first}", "legal_last_name": "{last}", "date_of_birth": "1983-09-14", "phone": "555-0177"}
patient = patient_actions.do_create_patient(
    owner, patient_actions.check_create_patient(owner, data, allow_duplicate=True)
)
assert not Policy.objects.filter(patient=patient).exists()  # self-pay
episode = episodes.do_open_episode(
    therapist, patient, episodes.check_open_episode(therapist, patient, {"title": "{episode}"})
)
# No service price: a self-pay visit is then priced per code from the standard fees.
service, _ = Service.objects.get_or_create(
    name="Billing walk-through massage (e2e)",
    defaults={"durations": [60], "default_price": Decimal("0.00"), "currency": settings.EFFLEURA_CURRENCY},
)
service.practitioners.add(therapist)
FeeScheduleEntry.objects.filter(service=service).delete()
fees = {}
for code, amount in (("97124", "31.00"), ("97140", "37.50")):
    entry, _ = FeeScheduleEntry.objects.get_or_create(
        code=ProcedureCode.objects.get(code=code), payer=None, service=None,
        defaults={"amount": Decimal(amount), "currency": settings.EFFLEURA_CURRENCY},
    )
    fees[code] = str(entry.amount)
location = Location.objects.order_by("pk").first()
now = timezone.now()
midnight = datetime.datetime.combine(timezone.localtime(now, location.tz).date(), datetime.time(0), tzinfo=location.tz)
start = max(now - datetime.timedelta(minutes=5), midnight)  # started, and today where the clinic is
end = start + datetime.timedelta(minutes=60)
visit = Appointment.objects.create(
    patient=patient, practitioner=therapist, service=service, location=location, duration_minutes=60,
    start=start, end=end, busy_until=end, created_by=owner,
)
print(json.dumps({
    "patient": str(patient.public_id), "visit": str(visit.public_id), "fees": fees,
    "currency": settings.EFFLEURA_CURRENCY, "day": timezone.localtime(start, location.tz).date().isoformat(),
}))
""".replace("{first}", FIRST)
    .replace("{last}", LAST)
    .replace("{episode}", EPISODE)
)


@pytest.fixture(scope="module")
def prepared(site) -> dict:
    result = site.manage("shell", "-c", SETUP)
    return json.loads(result.stdout.strip().splitlines()[-1])


def messages(page):
    return page.get_by_role("status").and_(page.locator(".messages"))


def figure(page, term):
    """The value beside ``term`` in the account's figures (a <dl> of label/value pairs)."""
    return page.locator(".billing-figures > div").filter(has=page.locator("dt", has_text=re.compile(f"^{term}$")))


def test_a_signed_visit_is_charged_invoiced_part_paid_and_printed_on_a_superbill(page, login, prepared, pick_regions):
    fee_97124 = Decimal(prepared["fees"]["97124"])
    fee_97140 = Decimal(prepared["fees"]["97140"])
    currency = prepared["currency"]
    amount_97124 = (2 * fee_97124).quantize(CENT)
    amount_97140 = fee_97140.quantize(CENT)
    total = amount_97124 + amount_97140
    assert total > 0
    paid = (total / 2).quantize(CENT, rounding=ROUND_HALF_UP)
    owed = total - paid

    # -- The therapist writes the note from the appointment and signs it. ------------------------
    login(page, "therapist")
    page.goto(f"/schedule/appointments/{prepared['visit']}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(PATIENT)
    page.get_by_role("link", name="Write the note").click()
    expect(page.get_by_role("radio", name="A blank note")).to_be_checked()
    page.get_by_role("button", name="Start the note").click()
    expect(messages(page)).to_have_text("Draft note started.")
    page.get_by_label("Symptoms and changes since the last visit").fill("Tight neck after long desk days.")
    page.get_by_label("Technique, row 1").select_option(label="Swedish massage")
    page.get_by_label("Minutes, row 1").fill("33")
    pick_regions(page, 1, "Neck", "Upper back")
    page.get_by_label("Technique, row 2").select_option(label="Myofascial release")
    page.get_by_label("Minutes, row 2").fill("7")
    pick_regions(page, 2, "Upper back")
    page.get_by_label("Response to treatment and progress toward the goals").fill("Neck turns further; less ache.")
    page.get_by_role("button", name="Save and sign").click()
    expect(messages(page)).to_have_text("Note signed. Later changes are addenda.")
    expect(page.get_by_role("heading", name=re.compile(r"^Session note, .* Signed$"))).to_be_visible()

    # The charge on the signed note: self-pay, 97124 × 2 and 97140 × 1 at the standard fees.
    card = page.get_by_role("region", name=re.compile(r"^Charge ·"))
    expect(card.get_by_role("heading")).to_contain_text(f"Charge · {total} {currency}")
    expect(card.get_by_role("heading")).to_contain_text("Not invoiced yet")
    expect(card).to_contain_text("Self-pay")
    lines = card.locator("table.charge-lines tbody tr")
    expect(lines).to_have_count(2)
    massage = card.get_by_role("row", name=re.compile(r"^97124"))
    expect(massage.get_by_role("cell")).to_have_text(
        ["97124", "Swedish massage", "33", "2", str(fee_97124), f"{amount_97124} {currency}", ""]
    )
    manual = card.get_by_role("row", name=re.compile(r"^97140"))
    expect(manual.get_by_role("cell")).to_have_text(
        ["97140", "Myofascial release", "7", "1", str(fee_97140), f"{amount_97140} {currency}", ""]
    )
    expect(card.locator("tfoot")).to_contain_text(f"{total} {currency}")
    charge_path = card.get_by_role("link", name="Open the charge").get_attribute("href")
    assert re.fullmatch(r"/billing/charges/[0-9a-f-]{36}/", charge_path), charge_path

    # -- The front desk: the account from the chart, the visit's invoice, a part payment. --------
    page.context.clear_cookies()
    login(page, "frontdesk")
    page.goto(f"/patients/{prepared['patient']}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(PATIENT)
    page.get_by_role("region", name="Account").get_by_role("link", name="Open the account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Account: {PATIENT}")
    expect(figure(page, "Outstanding").locator("dd")).to_have_text(f"0.00 {currency}")
    visit = page.get_by_role("row").filter(has=page.get_by_role("button", name="Invoice this visit"))
    expect(visit).to_have_count(1)
    expect(visit.get_by_role("cell").nth(0)).to_have_text(prepared["day"])
    expect(visit).to_contain_text(f"{total} {currency}")
    visit.get_by_role("button", name="Invoice this visit").click()

    invoice_heading = page.get_by_role("heading", level=1)
    expect(invoice_heading).to_have_text(re.compile(r"^Invoice \d{4}-\d{5}"))
    number = re.search(r"\d{4}-\d{5}", invoice_heading.text_content()).group(0)
    expect(messages(page)).to_have_text(f"Invoice {number} issued.")
    invoice_lines = page.locator("table.billing-lines tbody tr")
    expect(invoice_lines).to_have_count(2)
    expect(invoice_lines.filter(has_text="97124").get_by_role("cell").nth(3)).to_have_text("2")
    expect(invoice_lines.filter(has_text="97140").get_by_role("cell").nth(3)).to_have_text("1")
    expect(page.get_by_role("row", name=re.compile(r"^Total"))).to_contain_text(f"{total} {currency}")

    page.get_by_role("link", name=f"{PATIENT}'s account").click()
    expect(figure(page, "Outstanding").locator("dd")).to_have_text(f"{total} {currency}")
    amount_box = page.get_by_label(re.compile(r"^Amount"))
    assert amount_box.bounding_box()["width"] >= 150  # a field to type in, not a sliver beside its label
    amount_box.fill(str(paid))
    page.get_by_label("Method").select_option(label="Cash")
    page.get_by_role("checkbox", name=f"{number} (owes {total})").check()
    page.get_by_role("button", name="Record the payment").click()
    expect(messages(page)).to_have_text(f"Payment of {paid} {currency} recorded.")
    expect(figure(page, "Invoiced").locator("dd")).to_have_text(f"{total} {currency}")
    expect(figure(page, "Paid").locator("dd")).to_have_text(f"{paid} {currency}")
    expect(figure(page, "Outstanding").locator("dd")).to_have_text(f"{owed} {currency}")
    expect(figure(page, "Credit").locator("dd")).to_have_text(f"0.00 {currency}")
    invoice_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=number))
    expect(invoice_row.get_by_role("cell")).to_have_text(
        [number, prepared["day"], re.compile("."), f"{total} {currency}", str(paid), str(owed), re.compile(".")]
    )
    expect(page.get_by_role("listitem").filter(has_text="Cash")).to_contain_text(f"{paid} {currency}")

    invoice_row.get_by_role("link", name=number).click()
    expect(page.get_by_role("row", name=re.compile(r"^Paid"))).to_contain_text(f"{paid} {currency}")
    expect(page.get_by_role("row", name=re.compile(r"^Outstanding"))).to_contain_text(f"{owed} {currency}")

    # -- The visit's superbill: a PDF with the codes, units, patient and the amount paid. --------
    response = page.request.get(f"{charge_path}superbill/")
    assert response.ok, response.status
    assert response.headers["content-type"].startswith("application/pdf")
    body = response.body()
    assert body.startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(body)).pages)
    assert "Superbill" in text
    assert PATIENT in text
    assert "Date of birth: 1983-09-14" in text
    # Each row: date of service, code, description (… each 15 minutes), units, (no pointer), fee.
    day = prepared["day"]
    assert re.search(rf"{day} 97124 [^·]*?15 minutes 2 {re.escape(str(amount_97124))} {currency}", text), text
    assert re.search(rf"{day} 97140 [^·]*?15 minutes 1 {re.escape(str(amount_97140))} {currency}", text), text
    assert f"Total charges {total} {currency}" in text
    assert f"Amount paid {paid} {currency}" in text
    assert f"Balance {owed} {currency}" in text
