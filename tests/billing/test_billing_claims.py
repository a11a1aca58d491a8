"""Insurance claims: made from a visit's charge under a policy; draft → submitted → paid |
denied (reason) → resubmitted → paid | denied; every move kept; illegal moves refused in
plain words; incomplete forms cannot be submitted; who may do what."""

import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from effleura.billing import access, claims, invoices, payments
from effleura.billing.models import Claim
from effleura.core.confirmation import NeedsConfirmation
from effleura.core.models import AuditEvent

from .insurance_helpers import VALID_NPI, billing_ready_practice, make_charge

pytestmark = pytest.mark.django_db


@pytest.fixture
def claimable(therapist, billing, make_patient, make_payer, make_policy):
    """A complete claim situation: practice and practitioner ids, a policy, a charge."""
    billing_ready_practice()
    therapist.npi = VALID_NPI
    therapist.save()
    patient = make_patient()
    policy = make_policy(patient, make_payer())
    return make_charge(patient, therapist, policy=policy, lines=(("97124", 3, "40.00"), ("97010", 1, "15.00")))


def _claim(actor, charge, **data):
    return claims.do_create_claim(actor, charge, claims.check_create_claim(actor, charge, data))


def _move(actor, claim, to, **data):
    return claims.do_move_claim(actor, claim, claims.check_move_claim(actor, claim, to, data))


def test_a_claim_bills_the_charge_total_under_its_policy(billing, claimable):
    claim = _claim(billing, claimable)
    assert (claim.status, claim.billed_amount, claim.policy) == ("draft", Decimal("135.00"), claimable.policy)
    assert [e.status for e in claim.events.all()] == ["draft"]
    assert AuditEvent.objects.filter(record_type="claim", action="create", patient_id=claimable.patient.public_id)


def _paid_in_full(front_desk, charge):
    invoice = invoices.do_issue_invoice(
        front_desk, charge.patient,
        invoices.check_issue_visit_invoice(front_desk, charge.patient, {"charge": str(charge.public_id)}),
    )  # fmt: skip
    data = {"amount": str(charge.total), "method": "card", "invoices": [str(invoice.public_id)]}
    payments.do_take_payment(front_desk, charge.patient, payments.check_take_payment(front_desk, charge.patient, data))
    return invoice


def test_it_warns_before_claiming_a_visit_the_patient_already_paid_in_full(billing, front_desk, claimable):
    invoice = _paid_in_full(front_desk, claimable)
    with pytest.raises(NeedsConfirmation) as caught:
        claims.check_create_claim(billing, claimable, {})
    (warning,) = caught.value.warnings
    assert f"already paid in full by the patient (invoice {invoice.number}, 135.00 USD)" in warning
    assert "refund" in warning
    assert not Claim.objects.exists()
    claim = _claim(billing, claimable, confirm_warnings=True)
    assert claim.status == "draft"


def test_the_paid_in_full_warning_writes_the_amount_as_the_practice_does(billing, front_desk, claimable):
    _paid_in_full(front_desk, claimable)
    billing_ready_practice(decimal_separator=",")
    with pytest.raises(NeedsConfirmation) as caught:
        claims.check_create_claim(billing, claimable, {})
    assert ", 135,00 USD)" in caught.value.warnings[0]


def test_it_warns_before_claiming_a_visit_a_package_paid(billing, claimable):
    claimable.status = "package"
    claimable.save()
    with pytest.raises(NeedsConfirmation) as caught:
        claims.check_create_claim(billing, claimable, {})
    assert "covered by the patient's package" in caught.value.warnings[0]


def test_a_partly_paid_visit_is_claimed_without_a_warning(billing, front_desk, claimable):
    invoice = invoices.do_issue_invoice(
        front_desk, claimable.patient,
        invoices.check_issue_visit_invoice(front_desk, claimable.patient, {"charge": str(claimable.public_id)}),
    )  # fmt: skip
    data = {"amount": "20.00", "method": "cash", "invoices": [str(invoice.public_id)]}
    payments.do_take_payment(
        front_desk, claimable.patient, payments.check_take_payment(front_desk, claimable.patient, data)
    )
    assert _claim(billing, claimable).status == "draft"


def test_the_claim_page_asks_before_claiming_a_paid_visit(client_for, billing, front_desk, claimable):
    _paid_in_full(front_desk, claimable)
    client = client_for(billing)
    new = reverse("billing:claim_new", args=[claimable.public_id])
    asked = client.post(new, {"policy": claimable.policy.public_id})
    page = asked.content.decode()
    assert asked.status_code == 400 and "already paid in full" in page and 'name="confirm_warnings"' in page
    assert not Claim.objects.exists()
    made = client.post(new, {"policy": claimable.policy.public_id, "confirm_warnings": "1"})
    assert made.status_code == 302 and Claim.objects.count() == 1


def test_the_api_answers_409_before_claiming_a_paid_visit(api_as, billing, front_desk, claimable):
    _paid_in_full(front_desk, claimable)
    api = api_as(billing)
    asked = api.send("POST", f"/billing/charges/{claimable.public_id}/claims", {})
    assert asked.status_code == 409 and "already paid in full" in asked.json()["warnings"][0]
    made = api.send("POST", f"/billing/charges/{claimable.public_id}/claims", {"confirm_warnings": True})
    assert made.status_code == 201


def test_the_full_life_of_a_claim_is_kept(billing, claimable):
    claim = _claim(billing, claimable)
    claim = _move(billing, claim, "submitted", payer_claim_number="PCN-1")
    assert claim.submitted_on is not None and claim.payer_claim_number == "PCN-1"
    claim = _move(billing, claim, "denied", reason="Missing referral on file.")
    assert claim.denial_reason == "Missing referral on file."
    claim = _move(billing, claim, "resubmitted", note="Referral attached.")
    assert claim.resubmissions == 1 and claim.denial_reason == ""
    claim = _move(billing, claim, "paid", paid_amount="120.50")
    assert claim.paid_amount == Decimal("120.50")
    assert [e.status for e in claim.events.all()] == ["draft", "submitted", "denied", "resubmitted", "paid"]
    assert "Missing referral" in claim.events.get(status="denied").note


@pytest.mark.parametrize(("path", "to"), [((), "paid"), ((), "denied"), ((), "resubmitted"),
    (("submitted",), "resubmitted"), (("submitted",), "submitted")])  # fmt: skip
def test_it_refuses_illegal_moves_in_plain_words(billing, claimable, path, to):
    claim = _claim(billing, claimable)
    for step in path:
        claim = _move(billing, claim, step)
    with pytest.raises(ValidationError) as exc:
        claims.check_move_claim(billing, claim, to, {"reason": "x", "paid_amount": "1"})
    assert "cannot be marked" in exc.value.messages[0]


def test_a_paid_claim_cannot_move_any_more(billing, claimable):
    claim = _move(billing, _move(billing, _claim(billing, claimable), "submitted"), "paid", paid_amount="0")
    with pytest.raises(ValidationError, match="cannot change any more"):
        claims.check_move_claim(billing, claim, "denied", {"reason": "late"})


def test_a_denial_needs_a_reason_and_a_payment_a_sound_amount(billing, claimable):
    claim = _move(billing, _claim(billing, claimable), "submitted")
    with pytest.raises(ValidationError) as exc:
        claims.check_move_claim(billing, claim, "denied", {})
    assert "reason" in exc.value.message_dict
    for bad, words in (("", "Enter the amount"), ("-1", "negative"), ("abc", "number"), ("1.005", "cents"),
                       ("999", "more than was billed")):  # fmt: skip
        with pytest.raises(ValidationError) as exc:
            claims.check_move_claim(billing, claim, "paid", {"paid_amount": bad})
        assert words in exc.value.message_dict["paid_amount"][0]


def test_a_move_made_meanwhile_by_someone_else_is_refused(billing, claimable):
    claim = _claim(billing, claimable)
    clean = claims.check_move_claim(billing, claim, "submitted", {})
    _move(billing, Claim.objects.get(pk=claim.pk), "submitted")
    with pytest.raises(ValidationError):
        claims.do_move_claim(billing, claim, clean)
    assert claim.events.filter(status="submitted").count() == 1


def test_an_incomplete_form_cannot_be_submitted(billing, claimable, therapist):
    therapist.npi = ""
    therapist.save()
    billing_ready_practice(tax_id="")
    claim = _claim(billing, claimable)
    with pytest.raises(ValidationError) as exc:
        claims.check_move_claim(billing, claim, "submitted", {})
    assert "tax ID" in exc.value.messages[0] and "NPI" in exc.value.messages[0]


def test_it_refuses_claims_it_cannot_make(billing, claimable, make_patient, make_payer, make_policy, therapist):
    _claim(billing, claimable)
    with pytest.raises(ValidationError, match="already has a draft claim"):
        claims.check_create_claim(billing, claimable)
    self_pay = make_charge(make_patient(), therapist)
    with pytest.raises(ValidationError) as exc:
        claims.check_create_claim(billing, self_pay)
    assert "no active insurance policy" in exc.value.message_dict["policy"][0]
    other = make_policy(make_patient(), make_payer("Synthetic Other"))
    with pytest.raises(ValidationError) as exc:
        claims.check_create_claim(billing, claimable, {"policy": other.public_id})
    assert "this patient's policies" in exc.value.message_dict["policy"][0]
    no_dx = make_charge(claimable.patient, therapist, dx=(), policy=claimable.policy)
    with pytest.raises(ValidationError, match="diagnosis"):
        claims.check_create_claim(billing, no_dx)
    void = make_charge(claimable.patient, therapist, policy=claimable.policy, status="void")
    with pytest.raises(ValidationError, match="void"):
        claims.check_create_claim(billing, void)


def test_a_denied_claim_does_not_block_a_new_one(billing, claimable):
    _move(billing, _move(billing, _claim(billing, claimable), "submitted"), "denied", reason="Wrong payer.")
    assert _claim(billing, claimable).status == "draft"


@pytest.mark.parametrize("persona", ["therapist", "front_desk", "outsider"])
def test_it_refuses_claims_to_roles_without_claim_manage(request, persona, billing, claimable):
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        claims.check_create_claim(user, claimable)
    claim = _claim(billing, claimable)
    with pytest.raises(PermissionDenied):
        claims.check_move_claim(user, claim, "submitted")
    with pytest.raises(PermissionDenied):
        access.access_claims(user)
    assert AuditEvent.objects.filter(outcome="denied", record_type="claim").exists()


STEPS = st.lists(st.sampled_from(["submitted", "paid", "denied", "resubmitted"]), max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_any_sequence_of_moves_follows_the_rules(billing, claimable, steps):
    """Whatever is tried, only the allowed moves happen, each leaves one event, and the
    stored status is always the last event's."""
    claim = _claim(billing, claimable)
    moved = 0
    for to in steps:
        legal = to in claims.TRANSITIONS[claim.status]
        try:
            claim = _move(billing, claim, to, reason="Synthetic reason.", paid_amount="10.00")
        except ValidationError:
            assert not legal
        else:
            assert legal
            moved += 1
    events = list(claim.events.all())
    assert len(events) == 1 + moved
    assert events[-1].status == claim.status
    assert all(b.status in claims.TRANSITIONS[a.status] for a, b in itertools.pairwise(events))
    Claim.objects.all().delete()


# Pages and API -------------------------------------------------------------------------


def test_claim_pages_create_show_and_move(client_for, billing, claimable):
    client = client_for(billing)
    new = reverse("billing:claim_new", args=[claimable.public_id])
    assert client.get(new).status_code == 200
    made = client.post(new, {"policy": claimable.policy.public_id})
    assert made.status_code == 302
    claim = Claim.objects.get()
    page = client.get(reverse("billing:claim", args=[claim.public_id]))
    assert page.status_code == 200 and "Mark submitted" in page.content.decode()
    move = reverse("billing:claim_move", args=[claim.public_id])
    assert client.post(move, {"to": "submitted"}).status_code == 302
    refused = client.post(move, {"to": "denied"})
    assert refused.status_code == 400 and "reason" in refused.content.decode()
    listing = client.get(reverse("billing:claims") + "?status=submitted")
    assert claimable.patient.display_name in listing.content.decode()
    assert claimable.patient.display_name not in client.get(reverse("billing:claims") + "?status=paid").content.decode()


@pytest.mark.parametrize("persona", ["therapist", "front_desk", "outsider"])
def test_claim_pages_refuse_by_role(request, client_for, billing, persona, claimable):
    claim = _claim(billing, claimable)
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("billing:claims")).status_code == 403
    assert client.get(reverse("billing:claim", args=[claim.public_id])).status_code == 403
    assert client.post(reverse("billing:claim_move", args=[claim.public_id]), {"to": "submitted"}).status_code == 403
    assert client.post(reverse("billing:claim_new", args=[claimable.public_id])).status_code == 403
    claim.refresh_from_db()
    assert claim.status == "draft"


def test_the_api_creates_and_moves_a_claim(api_as, billing, claimable):
    api = api_as(billing)
    made = api.send("POST", f"/billing/charges/{claimable.public_id}/claims", {})
    assert made.status_code == 201, made.content
    claim_id = made.json()["id"]
    assert made.json()["next_statuses"] == ["submitted"] and made.json()["missing"] == []
    moved = api.send("POST", f"/billing/claims/{claim_id}/moves", {"to": "submitted"})
    assert moved.status_code == 200 and moved.json()["status"] == "submitted"
    bad = api.send("POST", f"/billing/claims/{claim_id}/moves", {"to": "denied"})
    assert bad.status_code == 422 and "reason" in bad.json()["errors"]
    paid = api.send("POST", f"/billing/claims/{claim_id}/moves", {"to": "paid", "paid_amount": "99.99"})
    assert paid.json()["paid_amount"] in ("99.99", 99.99)
    assert [e["status"] for e in api.send("GET", f"/billing/claims/{claim_id}").json()["events"]] == [
        "draft", "submitted", "paid"]  # fmt: skip
    assert len(api.send("GET", "/billing/claims?status=paid").json()) == 1


@pytest.mark.parametrize("persona", ["therapist", "front_desk"])
def test_the_api_refuses_claims_by_role(request, api_as, persona, claimable):
    api = api_as(request.getfixturevalue(persona))
    assert api.send("GET", "/billing/claims").status_code == 403
    assert api.send("POST", f"/billing/charges/{claimable.public_id}/claims", {}).status_code == 403
