"""The charge pages and API: the charge card on a signed note, the charge page, adjusting,
voiding and the list of open charges; each refused to the roles the table refuses."""

import pytest
from django.urls import reverse

from effleura.billing.models import Charge, ChargeAdjustment
from effleura.core.models import AuditEvent


@pytest.fixture
def other_therapist(django_user_model):
    return django_user_model.objects.create_user(
        username="therapist_two", password="x-Synthetic-123", role="therapist", first_name="Second"
    )


@pytest.fixture
def visit_charge(sign_visit):
    return sign_visit(techniques=(("swedish", 33), ("trigger_point", 7))).charge


# Pages -----------------------------------------------------------------------------------


def test_the_signed_note_shows_its_charge_with_units(client_for, therapist, visit_charge):
    response = client_for(therapist).get(reverse("clinical:note", args=[visit_charge.note.public_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="h-charge"' in html
    assert "97124" in html and "97140" in html
    assert reverse("billing:charge", args=[visit_charge.public_id]) in html


def test_the_charge_card_is_hidden_from_another_therapist(client_for, other_therapist, visit_charge):
    response = client_for(other_therapist).get(reverse("clinical:note", args=[visit_charge.note.public_id]))
    assert response.status_code == 200
    assert 'id="h-charge"' not in response.content.decode()


def test_the_charge_page_shows_lines_minutes_units_and_diagnoses(client_for, billing, visit_charge):
    response = client_for(billing).get(reverse("billing:charge", args=[visit_charge.public_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "95.00 USD" in html
    assert "Adjust the charge" in html and "Void the charge" in html
    assert AuditEvent.objects.filter(record_type="charge", action="read", actor_username="billing").exists()


@pytest.mark.parametrize(("persona", "status"), [("front_desk", 403), ("outsider", 403), ("other_therapist", 403)])
def test_the_charge_page_is_refused(client_for, visit_charge, persona, status, request):
    response = client_for(request.getfixturevalue(persona)).get(
        reverse("billing:charge", args=[visit_charge.public_id])
    )
    assert response.status_code == status


def test_a_therapist_sees_their_charge_without_the_void_form(client_for, therapist, visit_charge):
    html = client_for(therapist).get(reverse("billing:charge", args=[visit_charge.public_id])).content.decode()
    assert "Adjust the charge" in html
    assert "Void the charge" not in html


def test_adjusting_through_the_page(client_for, therapist, visit_charge):
    url = reverse("billing:charge_adjust", args=[visit_charge.public_id])
    response = client_for(therapist).post(
        url,
        {"units_97124": "1", "units_97140": "1", "remove_97140": "on", "add_code": "97010", "add_units": "1",
         "reason": "Hot pack given, not noted."},
    )  # fmt: skip
    assert response.status_code == 302
    charge = Charge.objects.get(pk=visit_charge.pk)
    assert {(line.code.code, line.units) for line in charge.lines.select_related("code")} == {
        ("97124", 1),
        ("97010", 1),
    }
    assert ChargeAdjustment.objects.get(charge=charge).reason == "Hot pack given, not noted."


def test_an_adjustment_without_a_reason_is_refused_with_the_form_again(client_for, therapist, visit_charge):
    url = reverse("billing:charge_adjust", args=[visit_charge.public_id])
    response = client_for(therapist).post(url, {"units_97124": "1", "units_97140": "1", "reason": ""})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not ChargeAdjustment.objects.exists()


def test_an_adjustment_that_changes_nothing_says_so(client_for, therapist, visit_charge):
    url = reverse("billing:charge_adjust", args=[visit_charge.public_id])
    response = client_for(therapist).post(url, {"units_97124": "2", "units_97140": "1", "reason": "Checked."})
    assert response.status_code == 400
    assert "Nothing changed" in response.content.decode()


@pytest.mark.parametrize("persona", ["front_desk", "outsider", "other_therapist"])
def test_adjusting_is_refused(client_for, visit_charge, persona, request):
    url = reverse("billing:charge_adjust", args=[visit_charge.public_id])
    response = client_for(request.getfixturevalue(persona)).post(url, {"units_97124": "1", "reason": "x"})
    assert response.status_code == 403
    assert not ChargeAdjustment.objects.exists()


def test_voiding_through_the_page(client_for, owner, visit_charge):
    url = reverse("billing:charge_void", args=[visit_charge.public_id])
    assert client_for(owner).post(url, {"reason": ""}).status_code == 400
    assert client_for(owner).post(url, {"reason": "Booked twice."}).status_code == 302
    assert Charge.objects.get(pk=visit_charge.pk).status == "void"


@pytest.mark.parametrize("persona", ["therapist", "front_desk", "outsider"])
def test_voiding_is_refused(client_for, visit_charge, persona, request):
    url = reverse("billing:charge_void", args=[visit_charge.public_id])
    assert client_for(request.getfixturevalue(persona)).post(url, {"reason": "x"}).status_code == 403
    assert Charge.objects.get(pk=visit_charge.pk).status == "open"


def test_the_open_charges_list(client_for, billing, therapist, other_therapist, sign_visit):
    mine = sign_visit().charge
    theirs = sign_visit(author=other_therapist, hours_ago=4).charge  # rooms do not overlap
    html = client_for(billing).get(reverse("billing:charges")).content.decode()
    assert str(mine.public_id) in html and str(theirs.public_id) in html
    html = client_for(therapist).get(reverse("billing:charges")).content.decode()
    assert str(mine.public_id) in html and str(theirs.public_id) not in html
    Charge.objects.filter(pk=mine.pk).update(status="invoiced")
    html = client_for(billing).get(reverse("billing:charges")).content.decode()
    assert str(mine.public_id) not in html
    html = client_for(billing).get(reverse("billing:charges") + "?status=invoiced").content.decode()
    assert str(mine.public_id) in html


@pytest.mark.parametrize("persona", ["front_desk", "outsider"])
def test_the_charges_list_is_refused(client_for, persona, request):
    assert client_for(request.getfixturevalue(persona)).get(reverse("billing:charges")).status_code == 403


def test_the_charges_list_takes_a_bounded_number_of_queries(
    client_for, billing, sign_visit, django_assert_max_num_queries
):
    for i in range(3):
        sign_visit(hours_ago=2 + 2 * i)  # visits never overlap (PostgreSQL refuses it)
    client = client_for(billing)
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("billing:charges"))
    for i in range(4):
        sign_visit(hours_ago=8 + 2 * i)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("billing:charges"))


# API -------------------------------------------------------------------------------------


def test_the_api_reads_a_charge(api_as, therapist, visit_charge):
    response = api_as(therapist).send("GET", f"/billing/charges/{visit_charge.public_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == "95.00" and body["currency"] == "USD"
    assert [(line["code"], line["minutes"], line["units"]) for line in body["lines"]] == [
        ("97124", 33, 2),
        ("97140", 7, 1),
    ]


def test_the_api_adjusts_and_voids(api_as, billing, visit_charge):
    client = api_as(billing)
    url = f"/billing/charges/{visit_charge.public_id}"
    response = client.send("POST", url + "/adjust", {"lines": [{"code": "97124", "units": 3}], "reason": "Checked."})
    assert response.status_code == 200, response.json()
    assert response.json()["adjustments"][0]["reason"] == "Checked."
    response = client.send("POST", url + "/adjust", {"lines": [{"code": "97124", "units": 3}], "reason": ""})
    assert response.status_code == 422
    assert "reason" in response.json()["errors"]
    response = client.send("POST", url + "/void", {"reason": "Duplicate."})
    assert response.status_code == 200 and response.json()["status"] == "void"


def test_the_api_refuses_by_role(api_as, front_desk, other_therapist, therapist, visit_charge):
    url = f"/billing/charges/{visit_charge.public_id}"
    assert api_as(front_desk).send("GET", url).status_code == 403
    assert api_as(other_therapist).send("GET", url).status_code == 403
    body = {"lines": [{"code": "97124", "units": 1}], "reason": "x"}
    assert api_as(other_therapist).send("POST", url + "/adjust", body).status_code == 403
    assert api_as(therapist).send("POST", url + "/void", {"reason": "x"}).status_code == 403
    assert api_as(None).send("GET", "/billing/charges").status_code == 401
    assert Charge.objects.get(pk=visit_charge.pk).status == "open"


def test_the_api_lists_open_charges(api_as, billing, visit_charge):
    response = api_as(billing).send("GET", "/billing/charges")
    assert [c["id"] for c in response.json()] == [str(visit_charge.public_id)]
    assert api_as(billing).send("GET", "/billing/charges?status=void").json() == []
