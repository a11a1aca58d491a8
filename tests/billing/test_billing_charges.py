"""From a signed note to the visit's charge, and adjusting and voiding it (billing/charges.py).

Units by PRODUCT.md "Billing facts": the CMS 8-minute rule over the total timed minutes
(8–22 = 1, 23–37 = 2, 38–52 = 3, 53–67 = 4), the per-code method code by code, untimed
codes once per visit."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from effleura.billing import access, charges
from effleura.billing.models import Charge, ChargeAdjustment, Package, PackageUse, TechniqueCode
from effleura.core.models import AuditEvent

D = Decimal


def lines_of(charge):
    return {line.code.code: (line.minutes, line.units) for line in charge.lines.select_related("code")}


@pytest.fixture
def no_service_price(practice):
    _, _, service = practice
    service.default_price = D("0")
    service.save()
    return service


# Note to charge ----------------------------------------------------------------------------


def test_signing_a_note_makes_the_visits_charge_with_cms_units(sign_visit, no_service_price, set_fee, therapist):
    set_fee(30, code="97124")
    set_fee(28, code="97140")
    note = sign_visit(techniques=(("swedish", 33), ("trigger_point", 7)))  # 40 timed minutes → 3 units
    charge = Charge.objects.get(note=note)
    assert lines_of(charge) == {"97124": (33, 2), "97140": (7, 1)}
    assert charge.total == D("88.00")  # 2 × 30 + 1 × 28
    assert charge.practitioner == therapist
    assert charge.date_of_service == note.session_date
    assert charge.payer is None and charge.unit_method == "cms"
    assert charge.status == "open"
    assert charge.appointment == note.appointment and charge.service == no_service_price
    event = AuditEvent.objects.get(record_type="charge", action="create")
    assert event.patient_id == note.episode.patient.public_id


def test_techniques_of_the_same_code_add_their_minutes(sign_visit, no_service_price):
    note = sign_visit(techniques=(("swedish", 10), ("deep_tissue", 14), ("heat", 10)))
    charge = note.charge
    assert lines_of(charge) == {"97124": (24, 2), "97010": (10, 1)}
    assert charge.lines.get(code__code="97124").techniques == ["swedish", "deep_tissue"]


def test_under_eight_timed_minutes_bill_no_units_but_untimed_codes_bill_once(sign_visit, no_service_price):
    note = sign_visit(techniques=(("swedish", 7), ("heat", 30)))
    assert lines_of(note.charge) == {"97124": (7, 0), "97010": (30, 1)}


def test_an_insured_visit_uses_the_payers_unit_method_and_prices(
    sign_visit, make_patient, make_payer, make_policy, set_fee
):
    payer = make_payer(unit_method="per_code")
    patient = make_patient()
    policy = make_policy(patient, payer)
    set_fee(30, code="97124")
    set_fee(26, code="97124", payer=payer)
    set_fee(24, code="97140")
    # per code: 20 min → 1, 20 min → 1 (CMS would give 3 for the 40 minutes)
    note = sign_visit(patient=patient, techniques=(("swedish", 20), ("trigger_point", 20)))
    charge = note.charge
    assert charge.payer == payer and charge.policy == policy and charge.unit_method == "per_code"
    assert lines_of(charge) == {"97124": (20, 1), "97140": (20, 1)}
    assert charge.total == D("50.00")  # the payer's 26 + the standard 24: a service price never applies


def test_the_payers_own_technique_mapping_wins(sign_visit, make_patient, make_payer, make_policy, code):
    payer = make_payer("Synthetic Medicare-like")
    TechniqueCode.objects.create(technique="electrotherapy", payer=payer, code=code("G0283"))
    insured, self_pay = make_patient(), make_patient()
    make_policy(insured, payer)
    assert set(lines_of(sign_visit(patient=insured, techniques=(("electrotherapy", 15),)).charge)) == {"G0283"}
    assert set(lines_of(sign_visit(patient=self_pay, techniques=(("electrotherapy", 15),), hours_ago=4).charge)) == {
        "97014"
    }


def test_a_policy_not_valid_on_the_day_or_not_primary_is_not_used(
    sign_visit, make_patient, make_payer, make_policy, visit_day
):
    patient = make_patient()
    day = visit_day(hours_ago=2)
    make_policy(patient, make_payer("Synthetic Old"), valid_until=day - datetime.timedelta(days=1))
    make_policy(patient, make_payer("Synthetic Second"), priority="secondary")
    charge = sign_visit(patient=patient, hours_ago=2).charge
    assert charge.payer is None and charge.policy is None


def test_unmapped_techniques_are_listed_and_not_billed(sign_visit, no_service_price, set_fee):
    TechniqueCode.objects.filter(technique="stretching_mobilization", payer__isnull=True).delete()
    set_fee(30, code="97124")
    charge = sign_visit(techniques=(("swedish", 30), ("stretching_mobilization", 15))).charge
    assert lines_of(charge) == {"97124": (30, 2)}
    assert "Not billed (no code)" in charge.notes
    assert charge.total == D("60.00")


def test_a_technique_mapped_to_a_retired_code_is_not_billed(sign_visit, no_service_price, code):
    retired = code("97140")
    retired.is_active = False
    retired.save()
    charge = sign_visit(techniques=(("swedish", 30), ("trigger_point", 15))).charge
    assert set(lines_of(charge)) == {"97124"}
    assert "Not billed" in charge.notes


def test_a_code_with_no_fee_is_billed_at_zero_with_a_note(sign_visit, no_service_price):
    charge = sign_visit(techniques=(("swedish", 30),)).charge
    assert charge.total == D("0.00")
    assert "No fee set for 97124" in charge.notes


def test_a_self_pay_visit_costs_its_service_price_split_by_each_codes_fee(sign_visit, set_fee):
    # The service costs $95.00; the codes' own prices only weigh the split: 2 × 30 against 1 × 35.
    set_fee(30, code="97124")
    set_fee(35, code="97140")
    charge = sign_visit(techniques=(("swedish", 30), ("trigger_point", 15))).charge
    amounts = {line.code.code: line.amount for line in charge.lines.select_related("code")}
    assert amounts == {"97124": D("60.00"), "97140": D("35.00")}
    assert charge.total == D("95.00")


def test_a_self_pay_visit_with_an_unpriced_code_is_split_by_units(sign_visit, set_fee):
    set_fee(30, code="97124")
    charge = sign_visit(techniques=(("swedish", 30), ("trigger_point", 15))).charge
    amounts = {line.code.code: line.amount for line in charge.lines.select_related("code")}
    assert amounts == {"97124": D("63.33"), "97140": D("31.67")}


def test_a_shorter_visit_costs_its_own_lengths_price(sign_visit, set_fee, practice):
    service = practice[2]
    set_fee(60, service=service, minutes=30)
    short = sign_visit(techniques=(("swedish", 25),), minutes=30).charge
    full = sign_visit(techniques=(("swedish", 50),), minutes=60).charge
    assert short.total == D("60.00")
    assert full.total == D("95.00")  # no price for 60 minutes: the service's default price


@pytest.fixture
def episode_for(therapist):
    """episode_for(patient) -> an open episode (sign_visit then writes its note in it)."""
    from effleura.clinical import episodes

    def make(patient):
        clean = episodes.check_open_episode(
            therapist, patient, {"title": "Neck pain (synthetic)", "therapist": therapist}
        )
        return episodes.do_open_episode(therapist, patient, clean)

    return make


def make_referral(episode, owner, codes, **fields):
    from effleura.referrals.models import Referral, ReferringProvider

    today = timezone.localdate()
    provider = ReferringProvider.objects.create(first_name="Testdoc", last_name="Synthetic")
    values = {
        "referral_date": today - datetime.timedelta(days=5),
        "valid_from": today - datetime.timedelta(days=5),
        "valid_until": today + datetime.timedelta(days=60),
        "visits_authorized": 8,
        **fields,
    }
    return Referral.objects.create(
        patient=episode.patient, provider=provider, episode=episode, diagnosis_codes=codes, created_by=owner, **values
    )


def make_plan(episode, owner, codes, status="active"):
    from effleura.clinical.models import TreatmentPlan

    return TreatmentPlan.objects.create(
        episode=episode, diagnosis_codes=codes, status=status, sessions_per_week=1, weeks=6, session_minutes=60,
        created_by=owner,
    )  # fmt: skip


def test_diagnoses_come_from_the_episodes_referral_with_pointers(sign_visit, make_patient, episode_for, owner):
    patient = make_patient()
    episode = episode_for(patient)
    make_plan(episode, owner, ["M79.7"])
    make_referral(episode, owner, ["M54.50", "M62.830"])
    charge = sign_visit(patient=patient, techniques=(("swedish", 30), ("heat", 10))).charge
    assert charge.diagnosis_codes == ["M54.50", "M62.830"]
    assert {line.diagnosis_pointer for line in charge.lines.all()} == {"AB"}


def test_without_a_valid_referral_the_latest_plan_gives_the_diagnoses(sign_visit, make_patient, episode_for, owner):
    patient = make_patient()
    episode = episode_for(patient)
    make_referral(episode, owner, ["M54.2"], is_closed=True)
    make_referral(
        episode, owner, ["M54.30"], valid_from=timezone.localdate() - datetime.timedelta(days=90),
        valid_until=timezone.localdate() - datetime.timedelta(days=30),
        referral_date=timezone.localdate() - datetime.timedelta(days=90),
    )  # fmt: skip
    make_plan(episode, owner, ["M79.10"], status="superseded")
    make_plan(episode, owner, ["M79.7", "G44.209", "M54.2", "M62.830", "M79.18"])
    charge = sign_visit(patient=patient).charge
    assert charge.diagnosis_codes == ["M79.7", "G44.209", "M54.2", "M62.830", "M79.18"]
    assert charge.lines.get().diagnosis_pointer == "ABCD"  # box 24E takes four pointers


def test_a_visit_with_no_referral_or_plan_has_no_diagnoses(sign_visit):
    charge = sign_visit().charge
    assert charge.diagnosis_codes == []
    assert charge.lines.get().diagnosis_pointer == ""


def test_a_prepaid_package_covers_the_visit(sign_visit, make_patient, owner):
    patient = make_patient()
    today = timezone.localdate()
    package = Package.objects.create(
        patient=patient, name="5 visits (synthetic)", sessions=5, price=D("400"), created_by=owner,
        purchased_on=today - datetime.timedelta(days=10), expires_on=today + datetime.timedelta(days=300),
    )  # fmt: skip
    charge = sign_visit(patient=patient).charge
    assert charge.status == "package"
    assert PackageUse.objects.get(charge=charge).package == package


def test_signing_is_refused_whole_if_the_charge_cannot_be_made(sign_visit, monkeypatch):
    from effleura.clinical.models import SessionNote

    def broken(*args, **kwargs):
        raise ValidationError("Synthetic failure.")

    monkeypatch.setattr(charges, "timed_units", broken)
    with pytest.raises(ValidationError):
        sign_visit()
    assert not Charge.objects.exists()
    assert not SessionNote.objects.filter(status="signed").exists()


# Reading: a therapist sees their own visits' charges only ---------------------------------


@pytest.fixture
def other_therapist(django_user_model):
    return django_user_model.objects.create_user(
        username="therapist_two", password="x-Synthetic-123", role="therapist", first_name="Second"
    )


def test_a_therapist_sees_their_own_charges_only(sign_visit, therapist, other_therapist, owner, billing):
    mine = sign_visit().charge
    theirs = sign_visit(author=other_therapist, hours_ago=4).charge  # rooms do not overlap
    assert access.access_charge(therapist, mine.public_id) == mine
    with pytest.raises(PermissionDenied):
        access.access_charge(therapist, theirs.public_id)
    denied = AuditEvent.objects.get(outcome="denied", record_type="charge")
    assert denied.patient_id == theirs.patient.public_id
    assert access.access_charges(therapist) == [mine]
    assert set(access.access_charges(billing)) == {mine, theirs}
    assert access.access_charge(owner, theirs.public_id) == theirs


def test_front_desk_and_outsiders_cannot_read_charges(sign_visit, front_desk, outsider):
    charge = sign_visit().charge
    for user in (front_desk, outsider):
        with pytest.raises(PermissionDenied):
            access.access_charge(user, charge.public_id)
        with pytest.raises(PermissionDenied):
            access.access_charges(user)


# Adjusting ---------------------------------------------------------------------------------


def test_adjusting_units_keeps_the_before_and_after_and_reprices(sign_visit, no_service_price, set_fee, therapist):
    set_fee(30, code="97124")
    set_fee(20, code="97010")
    charge = sign_visit(techniques=(("swedish", 30),)).charge
    data = {"lines": [{"code": "97124", "units": 1}, {"code": "97010", "units": 1}], "reason": "Hot pack not noted."}
    charge = charges.do_adjust_charge(therapist, charge, charges.check_adjust_charge(therapist, charge, data))
    line = charge.lines.get(code__code="97124")
    assert (line.minutes, line.computed_units, line.units, line.amount) == (30, 2, 1, D("30.00"))
    assert charge.lines.get(code__code="97010").amount == D("20.00")
    assert charge.total == D("50.00")
    adjustment = ChargeAdjustment.objects.get(charge=charge)
    assert adjustment.reason == "Hot pack not noted." and adjustment.by == therapist
    assert [(r["code"], r["units"]) for r in adjustment.before] == [("97124", 2)]
    assert [(r["code"], r["units"]) for r in adjustment.after] == [("97124", 1), ("97010", 1)]
    assert AuditEvent.objects.filter(record_type="charge", action="update", detail="charge adjusted").exists()


def test_a_code_left_out_is_removed(sign_visit, billing):
    charge = sign_visit(techniques=(("swedish", 30), ("heat", 10))).charge
    data = {"lines": [{"code": "97124", "units": 2}], "reason": "No hot pack given."}
    charge = charges.do_adjust_charge(billing, charge, charges.check_adjust_charge(billing, charge, data))
    assert set(lines_of(charge)) == {"97124"}
    assert charge.total == D("95.00")  # still the service's price, now all on one line


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lines": [{"code": "97124", "units": 1}], "reason": "  "}, "reason"),
        ({"lines": [{"code": "97124", "units": 1}]}, "reason"),
        ({"lines": [], "reason": "x"}, "lines"),
        ({"lines": [{"code": "97124", "units": 2}], "reason": "x"}, "lines"),  # nothing changed
        ({"lines": [{"code": "97124", "units": 100}], "reason": "x"}, "lines.0.units"),
        ({"lines": [{"code": "97124", "units": "two"}], "reason": "x"}, "lines.0.units"),
        ({"lines": [{"code": "97124", "units": -1}], "reason": "x"}, "lines.0.units"),
        ({"lines": [{"code": "99999", "units": 1}], "reason": "x"}, "lines.0.code"),
        ({"lines": [{"code": "97124", "units": 1}, {"code": "97124", "units": 1}], "reason": "x"}, "lines.1.code"),
        ({"lines": [{"code": "97124", "units": 1}], "reason": "x" * 1001}, "reason"),
    ],
)
def test_it_refuses_a_bad_adjustment_with_a_clear_message(sign_visit, therapist, data, field):
    charge = sign_visit(techniques=(("swedish", 30),)).charge
    with pytest.raises(ValidationError) as exc:
        charges.check_adjust_charge(therapist, charge, data)
    assert field in exc.value.message_dict


def test_it_refuses_to_add_a_retired_code(sign_visit, therapist, code):
    retired = code("97110")
    retired.is_active = False
    retired.save()
    charge = sign_visit().charge
    data = {"lines": [{"code": "97124", "units": 2}, {"code": "97110", "units": 1}], "reason": "x"}
    with pytest.raises(ValidationError) as exc:
        charges.check_adjust_charge(therapist, charge, data)
    assert "not an active code" in exc.value.message_dict["lines.1.code"][0]


def test_it_refuses_to_adjust_a_charge_that_is_not_open(sign_visit, therapist):
    charge = sign_visit().charge
    Charge.objects.filter(pk=charge.pk).update(status="invoiced")
    charge.refresh_from_db()
    with pytest.raises(ValidationError, match="only a charge not invoiced yet"):
        charges.check_adjust_charge(therapist, charge, {"lines": [{"code": "97124", "units": 1}], "reason": "x"})


def test_a_therapist_cannot_adjust_another_therapists_charge(sign_visit, therapist, other_therapist):
    charge = sign_visit(author=other_therapist).charge
    with pytest.raises(PermissionDenied):
        charges.check_adjust_charge(therapist, charge, {"lines": [{"code": "97124", "units": 1}], "reason": "x"})


def test_front_desk_cannot_adjust(sign_visit, front_desk):
    charge = sign_visit().charge
    with pytest.raises(PermissionDenied):
        charges.check_adjust_charge(front_desk, charge, {"lines": [{"code": "97124", "units": 1}], "reason": "x"})


# Voiding -----------------------------------------------------------------------------------


def test_billing_voids_an_open_charge_with_a_reason(sign_visit, billing):
    charge = sign_visit().charge
    charge = charges.do_void_charge(
        billing, charge, charges.check_void_charge(billing, charge, {"reason": "Duplicate."})
    )
    assert charge.status == "void" and charge.void_reason == "Duplicate."
    with pytest.raises(ValidationError, match="already void"):
        charges.check_void_charge(billing, charge, {"reason": "again"})


def test_voiding_a_package_visit_gives_the_session_back(sign_visit, make_patient, owner, billing, visit_day):
    patient = make_patient()
    day = visit_day(hours_ago=2)
    Package.objects.create(
        patient=patient, name="5 visits (synthetic)", sessions=5, price=D("400"), created_by=owner,
        purchased_on=day, expires_on=day + datetime.timedelta(days=300),
    )  # fmt: skip
    charge = sign_visit(patient=patient, hours_ago=2).charge
    assert charge.status == "package"
    charges.do_void_charge(billing, charge, charges.check_void_charge(billing, charge, {"reason": "Visit not held."}))
    assert not PackageUse.objects.exists()


def test_it_refuses_to_void_without_a_reason_or_once_invoiced(sign_visit, billing):
    charge = sign_visit().charge
    with pytest.raises(ValidationError) as exc:
        charges.check_void_charge(billing, charge, {"reason": ""})
    assert "reason" in exc.value.message_dict
    Charge.objects.filter(pk=charge.pk).update(status="invoiced")
    charge.refresh_from_db()
    with pytest.raises(ValidationError, match="void the invoice first"):
        charges.check_void_charge(billing, charge, {"reason": "x"})


@pytest.mark.parametrize("persona", ["therapist", "front_desk", "outsider"])
def test_only_billing_staff_and_owners_void(sign_visit, persona, request):
    charge = sign_visit().charge
    with pytest.raises(PermissionDenied):
        charges.check_void_charge(request.getfixturevalue(persona), charge, {"reason": "x"})
