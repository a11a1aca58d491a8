"""The billing set-up pages (billing/views/setup.py): every role reads the landing page, the
owner and billing staff change things, and forms answer bad input beside the field."""

from decimal import Decimal

import pytest
from django.urls import reverse
from html_forms import form_fields

from effleura.billing.models import FeeScheduleEntry, PackagePlan, Payer, ProcedureCode, TechniqueCode
from effleura.core.models import AuditEvent


@pytest.fixture
def setup_data(owner, make_payer, set_fee, practice):
    payer = make_payer("Synthetic Mutual", payer_id="SYN01")
    fee = set_fee("30.00", code="97124")
    plan = PackagePlan.objects.create(name="Five visits", sessions=5, price=Decimal("400.00"))
    return {"payer": payer, "fee": fee, "plan": plan, "service": practice[2]}


def _write_urls(setup_data, code):
    return [
        ("get", reverse("billing:code_new")),
        ("post", reverse("billing:code_new")),
        ("get", reverse("billing:code_edit", args=[code("97124").public_id])),
        ("post", reverse("billing:code_active", args=[code("97035").public_id])),
        ("get", reverse("billing:technique", args=["swedish"])),
        ("post", reverse("billing:technique", args=["swedish"])),
        ("get", reverse("billing:payer_new")),
        ("post", reverse("billing:payer_edit", args=[setup_data["payer"].public_id])),
        ("get", reverse("billing:fee_new")),
        ("post", reverse("billing:fee_edit", args=[setup_data["fee"].public_id])),
        ("post", reverse("billing:fee_delete", args=[setup_data["fee"].public_id])),
        ("get", reverse("billing:plan_new")),
        ("post", reverse("billing:plan_edit", args=[setup_data["plan"].public_id])),
    ]


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing"])
def test_every_staff_role_sees_the_set_up_page(role, personas, client_for, setup_data):
    page = client_for(personas[role]).get(reverse("billing:setup"))
    assert page.status_code == 200
    text = page.content.decode()
    for expected in ("97124", "Massage", "Synthetic Mutual", "Five visits", "80.00 USD", "30.00 USD", "G0283"):
        assert expected in text
    can_manage = role in ("owner", "billing")
    assert (reverse("billing:code_new") in text) is can_manage
    assert (reverse("billing:payer_edit", args=[setup_data["payer"].public_id]) in text) is can_manage


@pytest.mark.parametrize("role", ["therapist", "front_desk", "outsider"])
def test_it_refuses_every_set_up_change_to_other_roles(role, personas, client_for, setup_data, code):
    client = client_for(personas[role])
    for method, url in _write_urls(setup_data, code):
        assert getattr(client, method)(url, {"active": "0"}).status_code == 403, (method, url)
    assert FeeScheduleEntry.objects.filter(pk=setup_data["fee"].pk).exists()
    assert ProcedureCode.objects.get(code="97035").is_active


def test_an_account_without_a_role_cannot_read_it_and_a_visitor_is_asked_to_sign_in(outsider, client_for, client):
    assert client_for(outsider).get(reverse("billing:setup")).status_code == 403
    response = client.get(reverse("billing:setup"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_set_up_page_does_a_fixed_number_of_queries(billing, client_for, make_payer, set_fee, practice):
    client = client_for(billing)
    client.get(reverse("billing:setup"))  # warm the session and the knowledge base
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("billing:setup"))
    for n in range(8):
        payer = make_payer(f"Synthetic Payer {n}")
        set_fee(f"{20 + n}.00", code="97140", payer=payer)
        PackagePlan.objects.create(name=f"Plan {n}", sessions=n + 1, price=Decimal("100.00"), service=practice[2])
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("billing:setup"))
    assert len(many) == len(few) <= 12


def test_billing_adds_a_code_through_the_form(billing, client_for):
    client = client_for(billing)
    response = client.post(
        reverse("billing:code_new"), {"code": "97750", "description": "Performance test", "timed": "on"}
    )
    assert response.status_code == 302
    assert ProcedureCode.objects.get(code="97750").timed
    again = client.post(reverse("billing:code_new"), {"code": "97750", "description": "Twice", "timed": "on"})
    assert again.status_code == 200
    assert "already in the catalog" in again.content.decode()


def test_a_mapped_code_is_not_retired_and_the_page_says_why(owner, client_for, code):
    client = client_for(owner)
    response = client.post(reverse("billing:code_active", args=[code("97124").public_id]), {"active": "0"}, follow=True)
    assert "still the code for" in response.content.decode()
    assert code("97124").is_active
    client.post(reverse("billing:code_active", args=[code("97035").public_id]), {"active": "0"})
    assert not code("97035").is_active
    page = client.get(reverse("billing:code_edit", args=[code("97035").public_id])).content.decode()
    assert "Reactivate 97035" in page


def test_the_owner_gives_a_payer_its_own_code_for_a_technique_and_takes_it_back(owner, client_for, code, make_payer):
    medicare = make_payer("Medicare (synthetic)")
    client = client_for(owner)
    url = reverse("billing:technique", args=["electrotherapy"])
    response = client.post(url, {"payer": medicare.public_id, "code": code("G0283").public_id}, follow=True)
    text = response.content.decode()
    assert "now bills as G0283 for Medicare (synthetic)" in text
    assert TechniqueCode.objects.get(technique="electrotherapy", payer=medicare).code.code == "G0283"
    client.post(url, {"payer": medicare.public_id, "code": ""})
    assert not TechniqueCode.objects.filter(technique="electrotherapy", payer=medicare).exists()
    assert client.get(reverse("billing:technique", args=["not_a_technique"])).status_code == 404


def test_a_payer_form_refuses_a_twin_and_saves_a_change(billing, client_for, setup_data):
    client = client_for(billing)
    twin = client.post(
        reverse("billing:payer_new"), {"name": "SYNTHETIC MUTUAL", "unit_method": "cms", "plan_type": "group"}
    )
    assert "already a payer" in twin.content.decode()
    payer = setup_data["payer"]
    url = reverse("billing:payer_edit", args=[payer.public_id])
    assert 'value="SYN01"' in client.get(url).content.decode()
    client.post(url, {"name": "Synthetic Mutual", "payer_id": "SYN02", "unit_method": "per_code", "plan_type": "group"})
    payer.refresh_from_db()
    assert (payer.payer_id, payer.unit_method, payer.is_active) == ("SYN02", "per_code", False)


def test_a_fee_form_adds_changes_and_removes_a_price(billing, client_for, setup_data, code):
    client = client_for(billing)
    payer = setup_data["payer"]
    data = {"code": code("97124").public_id, "payer": payer.public_id, "amount": "27.5"}
    assert client.post(reverse("billing:fee_new"), data).status_code == 302
    fee = FeeScheduleEntry.objects.get(payer=payer)
    assert fee.amount == Decimal("27.50")
    bad = client.post(reverse("billing:fee_edit", args=[fee.public_id]), {**data, "amount": "-3"})
    assert "cannot be negative" in bad.content.decode()
    client.post(reverse("billing:fee_delete", args=[fee.public_id]))
    assert not FeeScheduleEntry.objects.filter(pk=fee.pk).exists()
    assert AuditEvent.objects.filter(action="delete", record_id=str(fee.public_id), actor_username="billing").exists()


def test_a_service_visit_price_is_set_from_the_form(owner, client_for, setup_data):
    service = setup_data["service"]
    client_for(owner).post(reverse("billing:fee_new"), {"service": service.public_id, "amount": "95.00"})
    assert FeeScheduleEntry.objects.get(service=service, payer=None).amount == Decimal("95.00")


def test_a_price_for_one_visit_length_is_set_from_the_form_and_listed(owner, client_for, setup_data):
    service = setup_data["service"]
    length = service.durations[0]
    client = client_for(owner)
    client.post(reverse("billing:fee_new"), {"service": service.public_id, "minutes": length, "amount": "70.00"})
    assert FeeScheduleEntry.objects.get(service=service, minutes=length).amount == Decimal("70.00")
    assert f"per {length}-minute visit" in client.get(reverse("billing:setup")).content.decode()


def test_a_package_plan_form_adds_and_edits(owner, client_for, setup_data):
    client = client_for(owner)
    data = {"name": "Ten visits", "sessions": "10", "price": "800", "valid_days": "365", "is_active": "on"}
    assert client.post(reverse("billing:plan_new"), data).status_code == 302
    plan = PackagePlan.objects.get(name="Ten visits")
    assert plan.price == Decimal("800.00")
    bad = client.post(reverse("billing:plan_edit", args=[plan.public_id]), {**data, "price": "8.001"})
    assert "whole cents" in bad.content.decode()


def test_an_empty_post_answers_with_the_form_not_an_error(owner, client_for, setup_data):
    client = client_for(owner)
    for name in ("code_new", "payer_new", "fee_new", "plan_new"):
        response = client.post(reverse(f"billing:{name}"), {})
        assert response.status_code == 200, name
        assert "has-error" in response.content.decode()
    assert Payer.objects.count() == 1


def test_a_payer_form_shows_every_problem_at_once(billing, client_for, setup_data):
    page = client_for(billing).post(
        reverse("billing:payer_new"),
        {"name": "SYNTHETIC MUTUAL", "payer_id": "SYN 01!", "phone": "12", "unit_method": "cms", "plan_type": "?"},
    )
    text = page.content.decode()
    assert "4 problems need fixing before this can be saved" in text
    for field in ("name", "payer_id", "phone", "plan_type"):
        assert f'<a href="#id_{field}">' in text


# Box 24D: a payer's code pairs --------------------------------------------------------------------


def test_billing_sets_a_payers_code_pairs_on_its_page(billing, client_for, setup_data):
    client = client_for(billing)
    payer = setup_data["payer"]
    url = reverse("billing:payer_edit", args=[payer.public_id])
    data = form_fields(client.get(url).content)
    assert data["pair_modifiers"] == ""
    data |= {"line_modifiers": "gp", "pair_modifiers": "97140 with 97530: 59\r\n97140 97124 59\r\n"}
    assert client.post(url, data).status_code == 302
    payer.refresh_from_db()
    assert [str(p) for p in payer.pair_modifiers] == ["97140 with 97530: 59", "97140 with 97124: 59"]
    assert form_fields(client.get(url).content)["pair_modifiers"] == "97140 with 97530: 59\n97140 with 97124: 59"
    listed = client.get(reverse("billing:setup")).content.decode()
    assert "GP on every line; 59 on 97140 with 97530; 59 on 97140 with 97124" in listed


def test_the_payer_form_says_beside_the_pairs_what_is_wrong(billing, client_for, setup_data):
    client = client_for(billing)
    url = reverse("billing:payer_edit", args=[setup_data["payer"].public_id])
    data = form_fields(client.get(url).content) | {"pair_modifiers": "97140 with 97530"}
    page = client.post(url, data)
    assert page.status_code == 200
    text = page.content.decode()
    assert '<a href="#id_pair_modifiers">' in text and "Line 1" in text and "97140 with 97530: 59" in text
    data["pair_modifiers"] = "97140 with 97140: 59\n97140 with 97530: 5"
    text = client.post(url, data).content.decode()
    assert "can&#x27;t be paired with itself" in text and "two letters or digits" in text
    setup_data["payer"].refresh_from_db()
    assert setup_data["payer"].pair_modifiers == [] and setup_data["payer"].version == 1


@pytest.mark.parametrize("role", ["therapist", "front_desk", "outsider"])
def test_other_roles_cannot_set_a_payers_code_pairs(role, personas, client_for, setup_data):
    client = client_for(personas[role])
    payer = setup_data["payer"]
    url = reverse("billing:payer_edit", args=[payer.public_id])
    data = {"name": payer.name, "unit_method": "cms", "plan_type": "group", "pair_modifiers": "97140 with 97530: 59"}
    assert client.get(url).status_code == 403
    assert client.post(url, data).status_code == 403
    payer.refresh_from_db()
    assert payer.pair_modifiers == []


def test_a_stale_edit_of_the_pairs_shows_them_in_words(billing, owner, client_for, setup_data):
    payer = setup_data["payer"]
    url = reverse("billing:payer_edit", args=[payer.public_id])
    desk, office = client_for(owner), client_for(billing)
    form_a, form_b = form_fields(desk.get(url).content), form_fields(office.get(url).content)
    assert desk.post(url, {**form_a, "pair_modifiers": "97140 with 97530: 59"}).status_code == 302
    answer = office.post(url, {**form_b, "pair_modifiers": "97140 with 97124: 59"})
    assert answer.status_code == 409
    page = answer.content.decode()
    changes = page.split('class="conflict-changes"', 1)[1].split("</table>", 1)[0]
    assert "Modifiers for code pairs" in changes and "97140 with 97530: 59" in changes  # in words, not JSON
    assert "billed_with" not in page and "You changed this too" in changes
    payer.refresh_from_db()
    assert [str(p) for p in payer.pair_modifiers] == ["97140 with 97530: 59"]
