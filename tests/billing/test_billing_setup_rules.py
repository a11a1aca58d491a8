"""The billing set-up rules (billing/setup.py): codes, the technique -> code mapping, payers,
the fee schedule and package plans. Who may change them, what is refused and in what words,
and that every change is audited without patient data."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import given
from hypothesis import strategies as st

from effleura.billing import setup
from effleura.billing.models import FeeScheduleEntry, PackagePlan, Payer, ProcedureCode, TechniqueCode
from effleura.core.models import AuditEvent, Practice
from effleura.core.values import LARGEST_AMOUNT, parse_amount


def _errors(exc_info) -> dict:
    return {field: " ".join(messages) for field, messages in exc_info.value.message_dict.items()}


# Who may change the set-up ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["therapist", "front_desk", "outsider"])
def test_it_refuses_set_up_changes_to_anyone_but_the_owner_and_billing(role, personas, code):
    user = personas[role]
    attempts = [
        lambda: setup.check_save_code(user, {"code": "97999", "description": "Unlisted", "timed": False}),
        lambda: setup.check_set_code_active(user, code("97035"), False),
        lambda: setup.check_map_technique(user, "swedish", {"code": "97140"}),
        lambda: setup.check_save_payer(user, {"name": "Synthetic Mutual"}),
        lambda: setup.check_save_fee(user, {"code": "97124", "amount": "30.00"}),
        lambda: setup.check_save_plan(user, {"name": "Five visits", "sessions": 5, "price": "400.00"}),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    denied = AuditEvent.objects.filter(actor_username=user.username, outcome="denied", record_type="billing_setup")
    assert denied.count() == len(attempts)
    assert all(event.patient_id is None for event in denied)


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing"])
def test_every_staff_role_reads_the_set_up(role, personas):
    user = personas[role]
    assert setup.list_codes(user).filter(code="97124").exists()
    assert next(row["key"] for row in setup.mapping_table(user)) == "swedish"
    assert list(setup.list_payers(user)) == []


def test_an_account_without_a_role_reads_nothing(outsider):
    with pytest.raises(PermissionDenied):
        setup.list_codes(outsider)


# Codes --------------------------------------------------------------------------------------------


def test_billing_adds_a_code_and_it_is_audited(billing):
    clean = setup.check_save_code(
        billing, {"code": " 97750 ", "description": "Physical performance test", "timed": True}
    )
    added = setup.do_save_code(billing, clean)
    assert (added.code, added.timed, added.is_active, added.is_bundled) == ("97750", True, True, False)
    event = AuditEvent.objects.get(action="create", record_type="billing_setup", record_id=str(added.public_id))
    assert event.actor_username == "billing" and event.patient_id is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter the code"),
        ("9712", "five digits"),
        ("massage", "five digits"),
        ("97124", "already in the catalog"),
    ],
)
def test_it_refuses_a_code_that_is_missing_malformed_or_taken(owner, value, message):
    with pytest.raises(ValidationError) as caught:
        setup.check_save_code(owner, {"code": value, "description": "Something", "timed": True})
    assert message in _errors(caught)["code"]


def test_it_asks_for_a_description_and_whether_it_is_timed(owner):
    with pytest.raises(ValidationError) as caught:
        setup.check_save_code(owner, {"code": "97750"})
    errors = _errors(caught)
    assert "Describe the code" in errors["description"]
    assert "15-minute units" in errors["timed"]


def test_editing_a_code_changes_its_description_and_timing_but_never_the_code(owner, code):
    massage = code("97124")
    clean = setup.check_save_code(owner, {"description": "Massage therapy, each 15 minutes", "timed": True}, massage)
    setup.do_save_code(owner, clean, massage)
    massage.refresh_from_db()
    assert massage.description == "Massage therapy, each 15 minutes"
    with pytest.raises(ValidationError, match="Unknown field"):
        setup.check_save_code(owner, {"code": "97125"}, massage)
    event = AuditEvent.objects.get(action="update", record_id=str(massage.public_id))
    assert event.detail == "procedure code changed: description"


def test_a_code_still_mapped_from_a_technique_cannot_be_retired(owner, code):
    with pytest.raises(ValidationError) as caught:
        setup.check_set_code_active(owner, code("97010"), False)
    assert "97010 is still the code for Cold (ice pack), Heat (hot pack)" in caught.value.messages[0]
    assert code("97010").is_active


def test_an_unmapped_code_is_retired_and_reactivated(owner, code):
    ultrasound = code("97035")
    setup.do_set_code_active(owner, ultrasound, setup.check_set_code_active(owner, ultrasound, False))
    assert not ProcedureCode.objects.get(code="97035").is_active
    assert not setup.list_codes(owner, include_retired=False).filter(code="97035").exists()
    with pytest.raises(ValidationError, match="already retired"):
        setup.check_set_code_active(owner, ultrasound, False)
    setup.do_set_code_active(owner, ultrasound, setup.check_set_code_active(owner, ultrasound, True))
    assert ProcedureCode.objects.get(code="97035").is_active


# Technique -> code mapping ------------------------------------------------------------------------


def test_the_practice_remaps_a_technique(owner, code):
    clean = setup.check_map_technique(owner, "stretching_mobilization", {"code": "97530"})
    setup.do_map_technique(owner, clean)
    assert TechniqueCode.objects.get(technique="stretching_mobilization", payer=None).code == code("97530")
    event = AuditEvent.objects.get(action="update", record_id="stretching_mobilization")
    assert event.detail == "mapped to 97530"


def test_a_payer_gets_its_own_code_and_losing_it_falls_back_to_the_practice_wide_one(owner, code, make_payer):
    medicare = make_payer("Medicare (synthetic)")
    setup.do_map_technique(
        owner, setup.check_map_technique(owner, "electrotherapy", {"code": "G0283", "payer": medicare})
    )
    rows = {row["key"]: row for row in setup.mapping_table(owner)}
    assert rows["electrotherapy"]["code"] == code("97014")
    assert [(o.payer, o.code.code) for o in rows["electrotherapy"]["overrides"]] == [(medicare, "G0283")]
    removed = setup.do_map_technique(owner, setup.check_map_technique(owner, "electrotherapy", {"payer": medicare}))
    assert removed is None
    assert not TechniqueCode.objects.filter(technique="electrotherapy", payer=medicare).exists()
    assert TechniqueCode.objects.get(technique="electrotherapy", payer=None).code.code == "97014"


def test_unmapping_a_technique_stops_it_being_billed(owner):
    setup.do_map_technique(owner, setup.check_map_technique(owner, "tapotement", {"code": ""}))
    rows = {row["key"]: row for row in setup.mapping_table(owner)}
    assert rows["tapotement"]["code"] is None
    with pytest.raises(ValidationError, match="no mapping to remove"):
        setup.check_map_technique(owner, "tapotement", {"code": None})


def test_it_refuses_a_retired_or_unknown_code_and_an_unknown_technique(owner, code):
    ultrasound = code("97035")
    setup.do_set_code_active(owner, ultrasound, setup.check_set_code_active(owner, ultrasound, False))
    with pytest.raises(ValidationError) as caught:
        setup.check_map_technique(owner, "swedish", {"code": "97035"})
    assert "no longer active" in _errors(caught)["code"]
    with pytest.raises(ValidationError) as caught:
        setup.check_map_technique(owner, "swedish", {"code": "99999"})
    assert "no such procedure code" in _errors(caught)["code"]
    from django.http import Http404

    with pytest.raises(Http404):
        setup.check_map_technique(owner, "reiki_unknown", {"code": "97124"})


def test_the_mapping_table_lists_every_technique_in_two_queries(owner, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = setup.mapping_table(owner)
    keys = [row["key"] for row in rows]
    assert {"swedish", "heat", "electrotherapy", "lymphatic_drainage"} <= set(keys)
    assert next(r for r in rows if r["key"] == "lymphatic_drainage")["code"].code == "97140"


# Payers -------------------------------------------------------------------------------------------


def test_billing_adds_a_payer_with_its_unit_method(billing):
    data = {"name": "Synthetic Mutual", "payer_id": "SYN01", "city": "Springfield", "unit_method": "per_code"}
    payer = setup.do_save_payer(billing, setup.check_save_payer(billing, data))
    assert (payer.name, payer.unit_method, payer.is_active) == ("Synthetic Mutual", "per_code", True)
    assert AuditEvent.objects.filter(action="create", record_id=str(payer.public_id)).exists()


def test_it_refuses_a_payer_without_a_name_a_twin_or_a_bad_method(owner, make_payer):
    make_payer("Synthetic Mutual")
    with pytest.raises(ValidationError) as caught:
        setup.check_save_payer(owner, {"name": "  "})
    assert "Enter the payer's name" in _errors(caught)["name"]
    with pytest.raises(ValidationError) as caught:
        setup.check_save_payer(owner, {"name": "synthetic mutual", "unit_method": "hourly", "payer_id": "AB 12"})
    errors = _errors(caught)
    assert "already a payer" in errors["name"]
    assert "8-minute rule" in errors["unit_method"]
    assert "letters, digits and dashes" in errors["payer_id"]


def test_a_payer_is_changed_in_part_and_deactivated(owner, make_payer):
    payer = make_payer("Synthetic Mutual", phone="555-0100")
    setup.do_save_payer(owner, setup.check_save_payer(owner, {"is_active": False}, payer), payer)
    payer.refresh_from_db()
    assert (payer.is_active, payer.phone, payer.unit_method) == (False, "555-0100", "cms")
    assert not setup.list_payers(owner, include_inactive=False).exists()


# Fee schedule -------------------------------------------------------------------------------------


def test_a_standard_and_a_payer_price_for_a_code_and_a_visit_price_for_a_service(owner, make_payer, practice):
    _location, _room, service = practice
    payer = make_payer()
    standard = setup.do_save_fee(owner, setup.check_save_fee(owner, {"code": "97124", "amount": "30.00"}))
    theirs = setup.do_save_fee(owner, setup.check_save_fee(owner, {"code": "97124", "payer": payer, "amount": 27}))
    visit = setup.do_save_fee(owner, setup.check_save_fee(owner, {"service": service, "amount": "$95"}))
    assert (standard.payer, standard.amount, standard.currency) == (None, Decimal("30.00"), "USD")
    assert (theirs.payer, theirs.amount) == (payer, Decimal("27.00"))
    assert (visit.service, visit.code, visit.amount) == (service, None, Decimal("95.00"))
    assert [f.payer for f in setup.list_fees(owner)][:2] == [None, None]
    assert list(setup.list_fees(owner, payer_id=payer.public_id)) == [theirs]


def test_it_refuses_a_second_price_for_the_same_thing_and_payer(owner, set_fee):
    set_fee("30.00", code="97124")
    with pytest.raises(ValidationError) as caught:
        setup.check_save_fee(owner, {"code": "97124", "amount": "32.00"})
    assert "97124 already has a fee for the standard price" in _errors(caught)["amount"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"amount": "30.00"}, "code", "Choose a procedure code"),
        ({"code": "97124", "amount": "-1"}, "amount", "cannot be negative"),
        ({"code": "97124", "amount": "30.005"}, "amount", "whole cents"),
        ({"code": "97124", "amount": 30.5}, "amount", "as a number"),
        ({"code": "97124", "amount": "thirty"}, "amount", "as a number"),
        ({"code": "97124", "amount": "NaN"}, "amount", "as a number"),
        ({"code": "97124", "amount": "1e12"}, "amount", "as a number"),
        ({"code": "97124", "amount": "1000000.01"}, "amount", "at most 1,000,000.00"),
        ({"code": "97124", "amount": "30,00"}, "amount", "Use a point for cents"),
        ({"code": "97124"}, "amount", "Enter an amount"),
    ],
)
def test_it_refuses_a_fee_that_makes_no_sense(owner, data, field, message):
    with pytest.raises(ValidationError) as caught:
        setup.check_save_fee(owner, data)
    assert message in _errors(caught)[field]


def test_a_fee_is_for_a_code_or_a_service_not_both(owner, practice):
    with pytest.raises(ValidationError) as caught:
        setup.check_save_fee(owner, {"code": "97124", "service": practice[2], "amount": "10"})
    assert "not both" in _errors(caught)["service"]


def test_a_service_is_priced_per_visit_length(owner, practice):
    service = practice[2]
    service.durations = [30, 60, 90]
    service.save()
    short = setup.do_save_fee(owner, setup.check_save_fee(owner, {"service": service, "minutes": "30", "amount": "60"}))
    any_length = setup.do_save_fee(owner, setup.check_save_fee(owner, {"service": service, "amount": "95"}))
    assert (short.minutes, short.amount) == (30, Decimal("60.00"))
    assert any_length.minutes is None
    assert setup.fee_label(short) == f"{service.name} per 30-minute visit, standard: 60.00 USD"
    assert [f.minutes for f in setup.list_fees(owner)] == [None, 30]
    with pytest.raises(ValidationError) as caught:
        setup.check_save_fee(owner, {"service": service, "minutes": 30, "amount": "65"})
    assert f"{service.name} (30 minutes) already has a fee for the standard price" in _errors(caught)["amount"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"minutes": "45"}, "is booked for 30, 60, 90 minutes; price one of those lengths"),
        ({"minutes": "half an hour"}, "Give the visit length in minutes"),
        ({"minutes": "0"}, "Give the visit length in minutes"),
        ({"minutes": "30", "service": None, "code": "97124"}, "A code's price is per unit"),
    ],
)
def test_it_refuses_a_visit_length_that_makes_no_sense(owner, practice, data, message):
    service = practice[2]
    service.durations = [30, 60, 90]
    service.save()
    with pytest.raises(ValidationError) as caught:
        setup.check_save_fee(owner, {"service": service, "amount": "60", **data})
    assert message in _errors(caught)["minutes"]


def test_a_fee_is_changed_and_removed_with_an_audit_event_each(owner, set_fee):
    fee = set_fee("30.00", code="97124")
    setup.do_save_fee(owner, setup.check_save_fee(owner, {"amount": "31.50"}, fee), fee)
    assert FeeScheduleEntry.objects.get(pk=fee.pk).amount == Decimal("31.50")
    setup.check_delete_fee(owner, fee)
    setup.do_delete_fee(owner, fee)
    assert not FeeScheduleEntry.objects.exists()
    actions = list(
        AuditEvent.objects.filter(record_id=str(fee.public_id)).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["update", "delete"]


@given(cents=st.integers(min_value=0, max_value=10**12 - 1))
def test_any_amount_to_the_cent_within_the_column_reads_back_exactly(cents):
    text = f"{cents // 100}.{cents % 100:02d}"
    errors: dict = {}
    # A practice that raised its largest amount to what the column holds.
    practice = Practice(name="Synthetic practice", largest_amount=LARGEST_AMOUNT)
    assert parse_amount(text, "amount", errors, practice=practice) == Decimal(text)
    assert errors == {}


@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_a_float_is_never_taken_as_money(value):
    errors: dict = {}
    assert parse_amount(value, "amount", errors) is None
    assert "amount" in errors


# Package plans ------------------------------------------------------------------------------------


def test_billing_adds_a_package_plan_for_one_service(billing, practice):
    service = practice[2]
    data = {"name": "5 × 60-minute massage", "sessions": "5", "price": "425.00", "valid_days": 180, "service": service}
    plan = setup.do_save_plan(billing, setup.check_save_plan(billing, data))
    assert (plan.sessions, plan.price, plan.valid_days, plan.service, plan.is_active) == (
        5, Decimal("425.00"), 180, service, True,
    )  # fmt: skip
    assert setup.per_session(plan) == Decimal("85.00")


def test_per_session_price_rounds_half_up_to_the_cent(owner):
    plan = PackagePlan(name="Three", sessions=3, price=Decimal("100.00"))
    assert setup.per_session(plan) == Decimal("33.33")
    assert setup.per_session(PackagePlan(name="Eight", sessions=8, price=Decimal("0.20"))) == Decimal("0.03")


def test_it_refuses_a_plan_with_no_sessions_no_price_or_too_long_a_life(owner):
    with pytest.raises(ValidationError) as caught:
        setup.check_save_plan(owner, {"name": "", "sessions": 0, "price": "", "valid_days": 4000})
    errors = _errors(caught)
    assert set(errors) == {"name", "sessions", "price", "valid_days"}
    assert "from 1 to 100" in errors["sessions"]
    assert "five years" in errors["valid_days"]


def test_a_plan_is_taken_off_sale_and_its_price_changed_in_part(owner):
    plan = PackagePlan.objects.create(name="Ten visits", sessions=10, price=Decimal("800.00"))
    setup.do_save_plan(owner, setup.check_save_plan(owner, {"is_active": False, "price": "750"}, plan), plan)
    plan.refresh_from_db()
    assert (plan.is_active, plan.price, plan.sessions) == (False, Decimal("750.00"), 10)
    assert not setup.list_plans(owner, include_inactive=False).exists()


def test_a_concurrent_twin_payer_comes_back_as_a_plain_message(owner):
    clean = setup.check_save_payer(owner, {"name": "Synthetic Mutual"})
    Payer.objects.create(name="Synthetic Mutual")  # saved by someone else in between
    with pytest.raises(ValidationError) as caught:
        setup.do_save_payer(owner, clean)
    assert "already a payer" in _errors(caught)["name"]


def test_it_refuses_an_unknown_insurance_type_and_keeps_a_known_one(owner):
    from django.core.exceptions import ValidationError as Invalid

    from effleura.billing import setup as billing_setup

    with pytest.raises(Invalid) as refused:
        billing_setup.check_save_payer(owner, {"name": "Typeless (synthetic)", "plan_type": "pension"})
    assert "plan_type" in refused.value.message_dict
    clean = billing_setup.check_save_payer(owner, {"name": "Federal (synthetic)", "plan_type": "medicare"})
    payer = billing_setup.do_save_payer(owner, clean)
    assert payer.get_plan_type_display() == "Medicare"
