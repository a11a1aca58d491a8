"""The CMS-1500 (02/12): the claim's data keyed by box number, six service lines a page,
JSON and CSV exports, and the PDF drawn with box numbers and labels (read back with pypdf)."""

import csv
import datetime
import io
import json

import pytest
from django.core.exceptions import ValidationError
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


def pdf_of(client, claim, query=""):
    answer = client.get(reverse("billing:claim_pdf", args=[claim.public_id]) + query)
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    return answer.content


def text_runs(content: bytes) -> list[list[tuple[str, float, float]]]:
    """Each page's text runs with where they start: (text, inches from the left edge,
    inches from the top edge to the baseline), as pypdf reads the PDF's text matrices."""
    pages = []
    for page in PdfReader(io.BytesIO(content)).pages:
        height = float(page.mediabox.height)
        runs = []

        def visit(text, cm, tm, font, size, runs=runs, height=height):
            if text.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                runs.append((text.strip(), x / 72, (height - y) / 72))

        page.extract_text(visitor_text=visit)
        pages.append(runs)
    return pages


def test_the_pdf_is_the_whole_form_on_plain_paper_with_every_box_labelled(client_for, billing, claim):
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_of(client_for(billing), claim))).pages)
    for expected in ("HEALTH INSURANCE CLAIM FORM", "APPROVED BY NATIONAL UNIFORM CLAIM COMMITTEE (NUCC) 02/12",
                     "1a. INSURED'S I.D. NUMBER", "SYN123456789", "10. IS PATIENT'S CONDITION RELATED TO",
                     "b. AUTO ACCIDENT?", "14. DATE OF CURRENT ILLNESS", "21. DIAGNOSIS", "M54.50", "97124",
                     "28. TOTAL CHARGE", "29. AMOUNT PAID", "33. BILLING PROVIDER", VALID_NPI, "AUTH-555",
                     "12-3456789", "OpenEMR"):  # fmt: skip
        assert expected in text, expected
    assert "USD" not in text  # box 28 is a plain amount


def test_for_the_red_form_only_the_values_print(client_for, billing, claim):
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(pdf_of(client_for(billing), claim, "?print=values"))).pages
    )
    assert "SYN123456789" in text and "97124" in text
    assert "HEALTH INSURANCE CLAIM FORM" not in text and "INSURED'S I.D. NUMBER" not in text


def test_every_value_prints_inside_its_box_on_the_nucc_grid(client_for, billing, claim):
    from effleura.billing import cms1500_layout

    grid = cms1500_layout.layout()
    claims.do_save_details(
        billing, claim, claims.check_save_details(billing, claim, {"auto_accident": True, "accident_state": "OR",
                                                                      "illness_date": claim.charge.date_of_service})
    )  # fmt: skip
    claim.refresh_from_db()
    expected = cms1500.placed_pages(claim)[0]
    wanted = {"1a", "2", "3_mm", "10b_yes", "10b_state", "14_mm", "14_qualifier", "21_A", "28", "29", "33a"}
    assert {p.field for p in expected} >= wanted | {"24.1.code", "24.1.charges", "24.2.npi"}
    runs = text_runs(pdf_of(client_for(billing), claim, "?print=values"))[0]
    for value in expected:
        found = [(x, y) for text, x, y in runs if text == value.text.strip()]
        assert found, f"{value.field} ({value.text!r}) is not in the PDF"
        first_line, first_col, last_line, last_col = grid.areas[value.box]
        inside = [
            (x, y) for x, y in found
            if (first_col - 1) / 10 - 0.01 <= x <= last_col / 10 and (first_line - 1) / 6 <= y <= last_line / 6
        ]  # fmt: skip
        assert inside, f"{value.field} ({value.text!r}) at {found} is outside box {value.box}'s area"
        # On the grid itself: its first character starts at its column, its baseline in its line.
        on_grid = [(x, y) for x, y in inside if abs(x - (value.column - 1) / 10) < 0.02]
        on_grid = [(x, y) for x, y in on_grid if (value.line - 1) / 6 < y <= value.line / 6]
        assert on_grid, f"{value.field} is off its line {value.line}, column {value.column}"


def test_the_layout_keeps_every_field_inside_its_box_and_on_the_sheet():
    from effleura.billing import cms1500_layout

    grid = cms1500_layout.layout()
    assert "NUCC" in grid.source and "OpenEMR" in grid.source
    for name, (line, column, width) in grid.fields.items():
        first_line, first_col, last_line, last_col = grid.areas[cms1500_layout.box_of(name)]
        assert first_line <= line <= last_line and first_col <= column and column + width - 1 <= last_col, name
        assert 1 <= line <= 66 and column + width - 1 <= 85, name
    for name, (offset, column, width) in grid.service_fields.items():
        for n in range(6):
            line = grid.service_first + n * grid.service_step + offset
            assert 41 <= line <= 54 and column + width - 1 <= 80, name


def test_boxes_10_14_and_29_say_what_happened_and_what_the_patient_paid(claim, billing):
    page = cms1500.claim_data(claim)["pages"][0]
    assert page["10a"] == page["10c"] == "No" and page["10b"] == {"answer": "No", "state": ""}
    assert page["14"] == {"date": "", "qualifier": ""} and page["29"] == "0.00"
    day = claim.charge.date_of_service - datetime.timedelta(days=40)
    clean = claims.check_save_details(
        billing, claim, {"auto_accident": True, "accident_state": "or", "illness_date": day}
    )
    claims.do_save_details(billing, claim, clean, expected_version=claim.version)
    claim.refresh_from_db()
    page = cms1500.claim_data(claim)["pages"][0]
    assert page["10b"] == {"answer": "Yes", "state": "OR"} and page["14"] == {
        "date": day.strftime("%m %d %Y"),
        "qualifier": "431",
    }


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


# Boxes 10 and 14 on the claim page and in the API ---------------------------------------------


def test_the_claim_page_saves_boxes_10_and_14_and_refuses_a_stale_save(client_for, billing, claim):
    client = client_for(billing)
    url = reverse("billing:claim_details", args=[claim.public_id])
    page = client.get(reverse("billing:claim", args=[claim.public_id])).content.decode()
    assert "10b. Related to an auto accident" in page and 'name="version"' in page
    form = {"auto_accident": "on", "accident_state": "", "illness_date": "", "place_of_service": "11",
            "version": str(claim.version)}  # fmt: skip
    refused = client.post(url, form)
    assert refused.status_code == 400 and "Give the state the auto accident happened in" in refused.content.decode()
    saved = client.post(url, form | {"accident_state": "wa", "illness_date": "2026-10-01"})
    assert saved.status_code == 302
    claim.refresh_from_db()
    assert (claim.auto_accident, claim.accident_state, claim.illness_qualifier) == (True, "WA", "431")
    stale = client.post(url, form | {"accident_state": "OR", "version": "1"})
    assert stale.status_code == 409
    claim.refresh_from_db()
    assert claim.accident_state == "WA"
    audit = AuditEvent.objects.filter(record_type="claim", detail__startswith="boxes 10/14/24B")
    assert audit.count() == 1 and "accident_state" in audit.get().detail


def test_boxes_10_and_14_are_what_the_payer_has_once_submitted(billing, claim):
    claim = claims.do_move_claim(billing, claim, claims.check_move_claim(billing, claim, "submitted"))
    with pytest.raises(ValidationError) as caught:
        claims.check_save_details(billing, claim, {"other_accident": True})
    assert "what the payer has" in " ".join(caught.value.messages)


def test_a_date_of_injury_in_the_future_or_an_unknown_qualifier_is_refused(billing, claim):
    future = datetime.date.today() + datetime.timedelta(days=30)
    with pytest.raises(ValidationError) as caught:
        claims.check_save_details(billing, claim, {"illness_date": future, "illness_qualifier": "999"})
    assert "illness_date" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        claims.check_save_details(billing, claim, {"illness_date": "2026-01-05", "illness_qualifier": "999"})
    assert "431" in caught.value.message_dict["illness_qualifier"][0]


def test_the_next_claim_carries_boxes_10_and_14_over(billing, therapist, claim):
    clean = claims.check_save_details(billing, claim, {"auto_accident": True, "accident_state": "OR",
                                                          "illness_date": "2026-09-14"})  # fmt: skip
    claims.do_save_details(billing, claim, clean)
    charge = make_charge(claim.charge.patient, therapist, policy=claim.policy, day=claim.charge.date_of_service
                         + datetime.timedelta(days=7))  # fmt: skip
    later = claims.do_create_claim(billing, charge, claims.check_create_claim(billing, charge))
    assert (later.auto_accident, later.accident_state, str(later.illness_date)) == (True, "OR", "2026-09-14")


def test_the_api_changes_boxes_10_and_14_with_the_version(api_as, billing, front_desk, claim):
    api = api_as(billing)
    url = f"/billing/claims/{claim.public_id}/details"
    changed = api.send("PATCH", url, {"employment_related": True}, HTTP_IF_MATCH=f'"{claim.version}"')
    assert changed.status_code == 200, changed.content
    assert changed.json()["employment_related"] is True and changed.json()["version"] == claim.version + 1
    stale = api.send("PATCH", url, {"other_accident": True}, HTTP_IF_MATCH=f'"{claim.version}"')
    assert stale.status_code == 412
    assert api_as(front_desk).send("PATCH", url, {"other_accident": True}).status_code == 403


def test_place_of_service_comes_from_the_location_and_changes_for_one_visit(owner, billing, therapist, claim):
    from effleura.scheduling import setup as scheduling_setup

    assert {row["B"] for row in cms1500.claim_data(claim)["pages"][0]["24"]} == {"11"}  # no location: an office
    ward = scheduling_setup.do_save_location(
        owner,
        scheduling_setup.check_save_location(owner, {"name": "Ward 4", "time_zone": "UTC", "place_of_service": "21"}),
    )
    charge = make_charge(claim.charge.patient, therapist, policy=claim.policy, location=ward,
                         day=claim.charge.date_of_service - datetime.timedelta(days=2))  # fmt: skip
    bedside = claims.do_create_claim(billing, charge, claims.check_create_claim(billing, charge))
    assert bedside.place_of_service == "21"
    assert {row["B"] for row in cms1500.claim_data(bedside)["pages"][0]["24"]} == {"21"}
    # Seen at home that day instead: the claim says 12, the location keeps 21.
    claims.do_save_details(billing, bedside, claims.check_save_details(billing, bedside, {"place_of_service": "12"}))
    bedside.refresh_from_db()
    ward.refresh_from_db()
    assert bedside.place_of_service == "12" and ward.place_of_service == "21"
    with pytest.raises(ValidationError) as caught:
        claims.check_save_details(billing, bedside, {"place_of_service": "77"})
    assert "place_of_service" in caught.value.message_dict


def test_the_payers_modifiers_go_on_every_line(claim):
    payer = claim.policy.payer
    payer.line_modifiers = "GP"
    payer.save()
    rows = cms1500.claim_data(claim)["pages"][0]["24"]
    assert {row["D"]["modifier"] for row in rows} == {"GP"}
    placed = cms1500.placed_pages(claim)[0]
    assert [p.text for p in placed if p.field == "24.1.modifiers"] == ["GP"]


def test_a_payers_modifiers_are_up_to_four_two_character_codes(owner):
    from effleura.billing import setup as billing_setup

    clean = billing_setup.check_save_payer(owner, {"name": "Synthetic Care (demo)", "line_modifiers": "gp, 59"})
    assert clean["line_modifiers"] == "GP 59"
    with pytest.raises(ValidationError) as caught:
        billing_setup.check_save_payer(owner, {"name": "Synthetic Care (demo)", "line_modifiers": "GPX"})
    assert "two letters or digits" in caught.value.message_dict["line_modifiers"][0]


# Box 24D: a payer's code pairs ------------------------------------------------------------------


@pytest.fixture
def paired_claim(claim, therapist, billing):
    """A claim to a payer that wants GP on every line and bundles 97140 with 97124 (59 on
    97140), for a visit billing 97124, 97140 and 97010."""
    payer = claim.policy.payer
    payer.line_modifiers = "GP"
    payer.pair_modifiers = [{"code": "97140", "billed_with": "97124", "modifier": "59"}]
    payer.save()
    charge = make_charge(claim.charge.patient, therapist, policy=claim.policy,
                         day=claim.charge.date_of_service - datetime.timedelta(days=2),
                         lines=(("97124", 2, "40.00"), ("97140", 1, "45.00"), ("97010", 1, "15.00")))  # fmt: skip
    return claims.do_create_claim(billing, charge, claims.check_create_claim(billing, charge))


def _modifiers(claim) -> dict[str, str]:
    return {row["D"]["code"]: row["D"]["modifier"] for row in cms1500.claim_data(claim)["pages"][0]["24"]}


def test_the_column_two_code_of_a_pair_gets_the_modifier_after_the_every_line_ones(paired_claim, claim):
    assert _modifiers(paired_claim) == {"97124": "GP", "97140": "GP 59", "97010": "GP"}
    # The visit of the claim fixture bills 97124 without 97140: nothing but GP.
    assert set(_modifiers(claim).values()) == {"GP"}
    rows = list(csv.DictReader(io.StringIO(cms1500.to_csv(cms1500.claim_data(paired_claim)))))
    assert {r["box"]: r["value"] for r in rows}["24.2.D.modifier"] == "GP 59"


def test_a_pair_billed_on_another_date_or_with_no_unit_takes_no_modifier(paired_claim, therapist, billing):
    from effleura.billing.models import ChargeLine

    other_day = make_charge(paired_claim.charge.patient, therapist, policy=paired_claim.policy,
                            day=paired_claim.charge.date_of_service - datetime.timedelta(days=1),
                            lines=(("97140", 2, "45.00"),))  # fmt: skip
    later = claims.do_create_claim(billing, other_day, claims.check_create_claim(billing, other_day))
    assert _modifiers(later) == {"97140": "GP"}  # 97124 was billed on another date
    ChargeLine.objects.filter(charge=paired_claim.charge, code__code="97124").update(units=0)
    assert _modifiers(paired_claim) == {"97140": "GP", "97010": "GP"}  # 97124 is not on the claim


def test_the_claim_page_and_api_show_each_lines_modifiers(client_for, api_as, billing, paired_claim):
    page = client_for(billing).get(reverse("billing:claim", args=[paired_claim.public_id])).content.decode()
    assert "Modifiers (24D)" in page and "<td>97140</td><td>GP 59</td>" in page
    body = api_as(billing).send("GET", f"/billing/claims/{paired_claim.public_id}").json()
    assert [(line["code"], line["modifiers"]) for line in body["lines"]] == [
        ("97124", ["GP"]), ("97140", ["GP", "59"]), ("97010", ["GP"])
    ]  # fmt: skip
    form = api_as(billing).send("GET", f"/billing/claims/{paired_claim.public_id}/cms1500").json()
    assert form["pages"][0]["24"][1]["D"] == {"code": "97140", "modifier": "GP 59"}


def test_the_pdf_prints_the_pairs_modifier_in_box_24d_of_its_line_only(client_for, billing, paired_claim):
    from effleura.billing import cms1500_layout

    grid = cms1500_layout.layout()
    placed = {p.field: p for p in cms1500.placed_pages(paired_claim)[0]}
    assert [placed[f"24.{n}.modifiers"].text for n in (1, 2, 3)] == ["GP", "GP 59", "GP"]
    runs = text_runs(pdf_of(client_for(billing), paired_claim, "?print=values"))[0]
    for n, code in ((1, "97124"), (2, "97140"), (3, "97010")):
        line = grid.service_first + (n - 1) * grid.service_step
        on_line = sorted((x, text) for text, x, y in runs if (line - 1) / 6 < y <= line / 6)
        texts = [text for _x, text in on_line]
        assert code in texts, (n, texts)
        _offset, column, width = grid.service_fields["modifiers"]
        # Box 24D's modifier places: from its column, within its width, after the code.
        shown = " ".join(t for x, t in on_line if (column - 1) / 10 - 0.02 <= x < (column - 1 + width) / 10)
        assert shown == ("GP 59" if code == "97140" else "GP"), (n, on_line)
