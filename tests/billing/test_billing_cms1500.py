"""The CMS-1500 (02/12): the claim's data keyed by box number, six service lines a page,
JSON and CSV exports, and the PDF drawn with box numbers and labels (read back with pypdf)."""

import csv
import datetime
import io
import json

import pytest
from django.urls import reverse
from pypdf import PdfReader

from effleura.billing import claims, cms1500
from effleura.core.models import AuditEvent
from effleura.referrals.models import Referral, ReferringProvider

from .insurance_helpers import OTHER_NPI, VALID_NPI, billing_ready_practice, make_charge

pytestmark = pytest.mark.django_db

SEVEN_CODES = (("97124", 2, "40.00"), ("97140", 1, "45.00"), ("97110", 1, "35.00"), ("97112", 1, "35.00"),
               ("97530", 1, "35.00"), ("97010", 1, "10.00"), ("97014", 1, "12.00"))  # fmt: skip


@pytest.fixture
def claim(therapist, billing, make_patient, make_payer, make_policy):
    billing_ready_practice()
    therapist.first_name, therapist.last_name, therapist.npi = "Synthetic", "Therapist", VALID_NPI
    therapist.save()
    patient = make_patient(legal_first_name="Synthetic", legal_last_name="Testpatient")
    policy = make_policy(patient, make_payer("Synthetic Mutual"), group_number="GRP-9", plan_name="Synthetic PPO")
    charge = make_charge(patient, therapist, policy=policy, dx=("M54.50", "M62.830"),
                         lines=(("97124", 3, "40.00"), ("97010", 1, "15.00")))  # fmt: skip
    provider = ReferringProvider.objects.create(first_name="Synthetic", last_name="Prescriber", npi=OTHER_NPI)
    day = charge.date_of_service
    Referral.objects.create(
        patient=patient, provider=provider, referral_date=day - datetime.timedelta(days=10),
        diagnosis_codes=["M54.50"], visits_authorized=8, valid_from=day - datetime.timedelta(days=10),
        valid_until=day + datetime.timedelta(days=30), authorization_number="AUTH-555", created_by=billing,
    )  # fmt: skip
    return claims.do_create_claim(billing, charge, claims.check_create_claim(billing, charge))


def test_the_form_is_keyed_by_box_number(claim):
    data = cms1500.claim_data(claim)
    assert data["form"] == "CMS-1500 (02/12)" and len(data["pages"]) == 1
    page = data["pages"][0]
    patient = claim.charge.patient
    assert page["1"] == "Group health plan"
    assert page["1a"] == "SYN123456789"
    assert page["2"] == "Testpatient, Synthetic"
    assert page["3"]["dob"] == patient.date_of_birth.strftime("%m %d %Y")
    assert page["4"] == "Testpatient, Synthetic"  # self: the insured is the patient
    assert page["6"] == "Self"
    assert page["11"] == "GRP-9" and page["11c"] == "Synthetic PPO" and page["11d"] == "No"
    assert page["12"] == page["13"] == "Signature on file"
    assert page["17"] == "DN Prescriber, Synthetic" and page["17b"] == OTHER_NPI
    assert page["21"] == {"ind": "0", "A": "M54.50", "B": "M62.830"}
    assert page["23"] == "AUTH-555"
    assert page["25"] == {"number": "12-3456789", "type": "EIN"}
    assert page["26"] == patient.chart_number and page["27"] == "Yes"
    assert page["28"] == "135.00"
    assert page["31"]["name"].startswith("Synthetic Therapist")
    assert page["33"]["name"] == "Synthetic Massage Clinic" and page["33a"] == VALID_NPI
    first = page["24"][0]
    assert first["D"]["code"] == "97124" and first["G"] == "3" and first["F"] == "120.00"
    assert first["E"] == "A" and first["B"] == "11" and first["I"] == "NPI" and first["J"] == VALID_NPI
    assert first["A"]["from"] == claim.charge.date_of_service.strftime("%m %d %y")


def test_a_subscriber_who_is_not_the_patient_fills_boxes_4_7_and_11a(claim):
    policy = claim.policy
    policy.relationship = "spouse"
    policy.subscriber_first_name, policy.subscriber_last_name = "Synthetic", "Spouse"
    policy.subscriber_date_of_birth = datetime.date(1971, 2, 3)
    policy.subscriber_city = "Testville"
    policy.save()
    page = cms1500.claim_data(claim)["pages"][0]
    assert page["4"] == "Spouse, Synthetic" and page["6"] == "Spouse"
    assert page["11a"]["dob"] == "02 03 1971" and page["7"]["city"] == "Testville"


def test_more_than_six_lines_take_more_pages_each_with_its_total(claim, therapist, billing):
    charge = make_charge(claim.charge.patient, therapist, policy=claim.policy, lines=SEVEN_CODES,
                         day=claim.charge.date_of_service - datetime.timedelta(days=1))  # fmt: skip
    big = claims.do_create_claim(billing, charge, claims.check_create_claim(billing, charge))
    pages = cms1500.claim_data(big)["pages"]
    assert [len(p["24"]) for p in pages] == [6, 1]
    assert pages[0]["28"] == "240.00" and pages[1]["28"] == "12.00"
    assert pages[1]["1a"] == pages[0]["1a"]


def test_missing_names_what_the_form_lacks(claim, therapist):
    assert cms1500.missing(claim) == []
    therapist.npi = ""
    therapist.save()
    billing_ready_practice(npi="", tax_id="")
    claim.charge.practitioner.refresh_from_db()
    gaps = " ".join(cms1500.missing(claim))
    assert "tax ID (box 25)" in gaps and "NPI (box 33a)" in gaps and "box 24J" in gaps


def test_the_json_and_csv_exports_carry_the_boxes(client_for, billing, claim):
    client = client_for(billing)
    answer = client.get(reverse("billing:claim_json", args=[claim.public_id]))
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    assert json.loads(answer.content)["pages"][0]["1a"] == "SYN123456789"
    answer = client.get(reverse("billing:claim_csv", args=[claim.public_id]))
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    by_box = {r["box"]: r for r in rows}
    assert by_box["1a"]["value"] == "SYN123456789" and by_box["1a"]["label"] == "Insured's ID number"
    assert by_box["21.A"]["value"] == "M54.50" and by_box["24.1.D.code"]["value"] == "97124"
    assert AuditEvent.objects.filter(action="export", record_type="claim").count() == 2


def test_csv_cells_cannot_start_a_formula(claim):
    claim.policy.member_id = "=HYPERLINK(1)"
    claim.policy.save()
    rows = list(csv.reader(io.StringIO(cms1500.to_csv(cms1500.claim_data(claim)))))
    assert ["1", "1a", "Insured's ID number", "'=HYPERLINK(1)"] in rows


def test_the_pdf_is_drawn_with_box_numbers_labels_and_data(client_for, billing, claim):
    answer = client_for(billing).get(reverse("billing:claim_pdf", args=[claim.public_id]))
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    for expected in ("HEALTH INSURANCE CLAIM FORM", "1a. Insured's ID number", "SYN123456789", "21. Diagnosis",
                     "M54.50", "97124", "24A.", "33a. NPI", VALID_NPI, "AUTH-555", "12-3456789"):  # fmt: skip
        assert expected in text, expected


@pytest.mark.parametrize("persona", ["therapist", "front_desk", "outsider"])
def test_exports_refuse_by_role(request, client_for, persona, claim):
    client = client_for(request.getfixturevalue(persona))
    for name in ("billing:claim_pdf", "billing:claim_json", "billing:claim_csv"):
        assert client.get(reverse(name, args=[claim.public_id])).status_code == 403


def test_the_api_gives_the_form_data(api_as, billing, front_desk, claim):
    answer = api_as(billing).send("GET", f"/billing/claims/{claim.public_id}/cms1500")
    assert answer.status_code == 200 and answer.json()["pages"][0]["23"] == "AUTH-555"
    assert api_as(front_desk).send("GET", f"/billing/claims/{claim.public_id}/cms1500").status_code == 403


def test_box_1_is_the_payers_insurance_type(claim):
    payer = claim.policy.payer
    payer.plan_type = "medicare"
    payer.save(update_fields=["plan_type"])
    claim.policy.refresh_from_db()
    assert cms1500.claim_data(claim)["pages"][0]["1"] == "Medicare"


def test_a_line_the_rule_gave_no_unit_stays_off_the_claim(claim):
    from decimal import Decimal

    from effleura.billing.models import ChargeLine, ProcedureCode

    ChargeLine.objects.create(
        charge=claim.charge, code=ProcedureCode.objects.get(code="97140"), minutes=7, computed_units=0, units=0,
        unit_price=Decimal("30.00"), amount=Decimal("0.00"),
    )  # fmt: skip
    codes = [row["D"]["code"] for row in cms1500.claim_data(claim)["pages"][0]["24"]]
    assert "97140" not in codes and codes
