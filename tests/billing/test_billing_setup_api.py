"""The billing set-up part of the JSON API (billing/api_setup.py): every role reads, the owner
and billing staff write, bad input answers 422 naming the field, money is a decimal string."""

from decimal import Decimal

import pytest

from effleura.billing.models import FeeScheduleEntry, PackagePlan, Payer, ProcedureCode, TechniqueCode
from effleura.core.models import AuditEvent

READ_PATHS = [
    "/billing/codes",
    "/billing/technique-codes",
    "/billing/payers",
    "/billing/fees",
    "/billing/package-plans",
]


@pytest.fixture
def records(make_payer, set_fee, practice):
    payer = make_payer("Synthetic Mutual")
    fee = set_fee("30.00", code="97124")
    plan = PackagePlan.objects.create(name="Five visits", sessions=5, price=Decimal("400.00"))
    return {"payer": payer, "fee": fee, "plan": plan, "service": practice[2]}


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing"])
def test_every_staff_role_reads_the_billing_set_up(role, personas, api_as, records, code):
    api = api_as(personas[role])
    for path in READ_PATHS:
        assert api.send("GET", path).status_code == 200, path
    assert api.send("GET", f"/billing/codes/{code('97124').public_id}").json()["timed"] is True
    assert api.send("GET", "/billing/technique-codes/swedish").json()["code"]["code"] == "97124"
    assert api.send("GET", f"/billing/fees/{records['fee'].public_id}").json()["amount"] == "30.00"


def test_an_account_without_a_role_is_refused_and_an_anonymous_caller_asked_to_sign_in(outsider, api_as):
    for path in READ_PATHS:
        assert api_as(outsider).send("GET", path).status_code == 403, path
        assert api_as(None).send("GET", path).status_code == 401, path


@pytest.mark.parametrize("role", ["therapist", "front_desk", "outsider"])
def test_only_the_owner_and_billing_write(role, personas, api_as, records, code):
    api = api_as(personas[role])
    attempts = [
        ("POST", "/billing/codes", {"code": "97750", "description": "Test", "timed": True}),
        ("PATCH", f"/billing/codes/{code('97035').public_id}", {"is_active": False}),
        ("PUT", "/billing/technique-codes/swedish", {"code": "97140"}),
        ("DELETE", "/billing/technique-codes/swedish", None),
        ("POST", "/billing/payers", {"name": "Other"}),
        ("PATCH", f"/billing/payers/{records['payer'].public_id}", {"name": "Renamed"}),
        ("POST", "/billing/fees", {"code": "97140", "amount": "25.00"}),
        ("PATCH", f"/billing/fees/{records['fee'].public_id}", {"amount": "1.00"}),
        ("DELETE", f"/billing/fees/{records['fee'].public_id}", None),
        ("POST", "/billing/package-plans", {"name": "Ten", "sessions": 10, "price": "800.00"}),
        ("PATCH", f"/billing/package-plans/{records['plan'].public_id}", {"price": "1.00"}),
    ]
    for method, path, body in attempts:
        response = api.send(method, path, body)
        assert response.status_code == 403, (method, path)
        assert response.json() == {"detail": "Your role does not allow this."}
    assert FeeScheduleEntry.objects.get(pk=records["fee"].pk).amount == Decimal("30.00")
    assert TechniqueCode.objects.get(technique="swedish", payer=None).code.code == "97124"
    assert AuditEvent.objects.filter(actor_username=role, outcome="denied").count() == len(attempts)


def test_billing_adds_a_code_and_retires_it(billing, api_as):
    api = api_as(billing)
    created = api.send("POST", "/billing/codes", {"code": "97750", "description": "Performance test", "timed": True})
    assert created.status_code == 201
    body = created.json()
    assert (body["code"], body["is_bundled"], body["is_active"]) == ("97750", False, True)
    retired = api.send("PATCH", f"/billing/codes/{body['id']}", {"is_active": False, "description": "Old test"})
    assert retired.status_code == 200
    assert (retired.json()["is_active"], retired.json()["description"]) == (False, "Old test")
    active = api.send("GET", "/billing/codes?active=true&page_size=100").json()
    assert "97750" not in [c["code"] for c in active["items"]]


def test_a_code_a_technique_bills_as_is_not_retired(owner, api_as, code):
    response = api_as(owner).send("PATCH", f"/billing/codes/{code('97140').public_id}", {"is_active": False})
    assert response.status_code == 422
    assert "still the code for" in response.json()["detail"]


def test_it_answers_422_naming_the_field(owner, api_as):
    api = api_as(owner)
    bad_code = api.send("POST", "/billing/codes", {"code": "ABC", "description": "x", "timed": True})
    assert bad_code.status_code == 422 and "five digits" in bad_code.json()["errors"]["code"]
    comma_fee = api.send("POST", "/billing/fees", {"code": "97140", "amount": "25,50"})
    assert comma_fee.status_code == 422 and "amount" in comma_fee.json()["errors"]
    # A JSON number is read from its literal text, never through a float: 25.5 is 25.50 exactly.
    number_fee = api.send("POST", "/billing/fees", {"code": "97140", "amount": 25.5})
    assert number_fee.status_code == 201 and number_fee.json()["amount"] in ("25.50", "25.5")
    unknown = api.send("POST", "/billing/payers", {"name": "X", "colour": "red"})
    assert unknown.status_code == 422
    no_price = api.send("POST", "/billing/package-plans", {"name": "Ten", "sessions": 0, "price": -5})
    assert no_price.status_code == 422
    assert set(no_price.json()["errors"]) >= {"sessions", "price"}


def test_a_payer_gets_its_own_code_for_a_technique(owner, api_as, records):
    api = api_as(owner)
    payer = records["payer"]
    response = api.send(
        "PUT", "/billing/technique-codes/electrotherapy", {"code": "G0283", "payer": str(payer.public_id)}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["code"]["code"] == "97014"
    assert [(m["payer"]["name"], m["code"]["code"]) for m in body["payer_codes"]] == [("Synthetic Mutual", "G0283")]
    removed = api.send("DELETE", f"/billing/technique-codes/electrotherapy?payer={payer.public_id}")
    assert removed.status_code == 200 and removed.json()["payer_codes"] == []
    unmapped = api.send("DELETE", "/billing/technique-codes/tapotement")
    assert unmapped.json()["code"] is None
    assert api.send("GET", "/billing/technique-codes/nonsense").status_code == 404


def test_billing_manages_payers_fees_and_plans(billing, api_as, records):
    api = api_as(billing)
    payer = api.send("POST", "/billing/payers", {"name": "Synthetic Health", "unit_method": "per_code"})
    assert payer.status_code == 201 and payer.json()["unit_method"] == "per_code"
    payer_id = payer.json()["id"]
    fee = api.send("POST", "/billing/fees", {"code": "97124", "payer": payer_id, "amount": "28.00"})
    assert fee.status_code == 201
    assert (fee.json()["per"], fee.json()["amount"], fee.json()["currency"]) == ("unit", "28.00", "USD")
    twin = api.send("POST", "/billing/fees", {"code": "97124", "payer": payer_id, "amount": "29.00"})
    assert twin.status_code == 422 and "already has a fee" in twin.json()["errors"]["amount"]
    visit = api.send("POST", "/billing/fees", {"service": str(records["service"].public_id), "amount": 95})
    assert visit.status_code == 201 and visit.json()["per"] == "visit" and visit.json()["minutes"] is None
    length = records["service"].durations[0]
    short = api.send(
        "POST", "/billing/fees", {"service": str(records["service"].public_id), "minutes": length, "amount": 60}
    )
    assert short.status_code == 201 and short.json()["minutes"] == length
    theirs = api.send("GET", f"/billing/fees?payer={payer_id}").json()
    assert [f["amount"] for f in theirs["items"]] == ["28.00"]
    assert api.send("DELETE", f"/billing/fees/{fee.json()['id']}").status_code == 204
    plan = api.send("POST", "/billing/package-plans", {"name": "Three visits", "sessions": 3, "price": "100.00"})
    assert plan.status_code == 201 and plan.json()["per_session"] == "33.33"
    off = api.send("PATCH", f"/billing/package-plans/{plan.json()['id']}", {"is_active": False})
    assert off.json()["is_active"] is False
    assert Payer.objects.filter(name="Synthetic Health").exists()
    assert not ProcedureCode.objects.filter(is_active=False).exists()


# Box 24D: a payer's code pairs --------------------------------------------------------------------

PAIRS = [{"code": "97140", "billed_with": "97530", "modifier": "59"},
         {"code": "97140", "billed_with": "97124", "modifier": "59"}]  # fmt: skip


def test_billing_sets_and_replaces_a_payers_code_pairs(billing, api_as, records):
    api = api_as(billing)
    created = api.send("POST", "/billing/payers", {"name": "Synthetic Health", "line_modifiers": "GP",
                                                   "pair_modifiers": PAIRS})  # fmt: skip
    assert created.status_code == 201
    body = created.json()
    assert body["pair_modifiers"] == PAIRS and body["line_modifiers"] == "GP"
    path = f"/billing/payers/{body['id']}"
    one = [{"code": "97140", "billed_with": "97530", "modifier": "xu"}]
    changed = api.send("PATCH", path, {"pair_modifiers": one}, HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200 and changed.json()["pair_modifiers"] == [{**one[0], "modifier": "XU"}]
    assert changed.json()["version"] == 2
    kept = api.send("PATCH", path, {"phone": "555-0100"})
    assert kept.json()["pair_modifiers"] == [{**one[0], "modifier": "XU"}]
    assert api.send("GET", path).json()["pair_modifiers"] == [{**one[0], "modifier": "XU"}]
    assert api.send("PATCH", path, {"pair_modifiers": []}).json()["pair_modifiers"] == []
    listed = api.send("GET", "/billing/payers").json()["items"]
    assert {p["name"]: p["pair_modifiers"] for p in listed}["Synthetic Mutual"] == []


def test_the_api_refuses_pairs_that_make_no_sense_naming_the_field(owner, api_as, records):
    api = api_as(owner)
    path = f"/billing/payers/{records['payer'].public_id}"
    itself = api.send("PATCH", path, {"pair_modifiers": [{"code": "97140", "billed_with": "97140", "modifier": "59"}]})
    assert itself.status_code == 422 and "paired with itself" in itself.json()["errors"]["pair_modifiers"]
    bad = api.send("PATCH", path, {"pair_modifiers": [{"code": "97140", "billed_with": "9753", "modifier": "591"}]})
    assert bad.status_code == 422 and "9753 is not a procedure code" in bad.json()["errors"]["pair_modifiers"]
    five = api.send("PATCH", path, {"line_modifiers": "GP KX AT", "pair_modifiers": [
        {**PAIRS[0], "modifier": "59"}, {**PAIRS[1], "modifier": "XS"}]})  # fmt: skip
    assert five.status_code == 422 and "could need 5 modifiers" in five.json()["errors"]["pair_modifiers"]
    unknown = api.send("PATCH", path, {"pair_modifiers": [{"code": "97140", "with": "97530", "modifier": "59"}]})
    assert unknown.status_code == 422
    records["payer"].refresh_from_db()
    assert records["payer"].pair_modifiers == [] and records["payer"].version == 1


@pytest.mark.parametrize("role", ["therapist", "front_desk", "outsider"])
def test_other_roles_cannot_set_a_payers_code_pairs(role, personas, api_as, records):
    api = api_as(personas[role])
    path = f"/billing/payers/{records['payer'].public_id}"
    for method, url in (("POST", "/billing/payers"), ("PATCH", path)):
        answer = api.send(method, url, {"name": "Synthetic Other", "pair_modifiers": PAIRS})
        assert answer.status_code == 403, method
        assert answer.json() == {"detail": "Your role does not allow this."}
    records["payer"].refresh_from_db()
    assert records["payer"].pair_modifiers == [] and not Payer.objects.filter(name="Synthetic Other").exists()
