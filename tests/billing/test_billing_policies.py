"""Patient insurance policies: add, edit, deactivate/reactivate; one active per priority;
subscriber fields required unless the patient is the subscriber; who may do what."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from effleura.billing import access, policies
from effleura.billing.models import Policy
from effleura.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _data(payer, **extra):
    return {"payer": payer.public_id, "member_id": "SYN0001", **extra}


def _add(actor, patient, payer, **extra):
    return policies.do_save_policy(actor, patient, policies.check_save_policy(actor, patient, _data(payer, **extra)))


def test_it_adds_a_self_policy_and_audits_it(front_desk, make_patient, make_payer):
    patient, payer = make_patient(), make_payer()
    policy = _add(front_desk, patient, payer, group_number="GRP1")
    assert (policy.payer, policy.member_id, policy.group_number, policy.priority) == (
        payer,
        "SYN0001",
        "GRP1",
        "primary",
    )
    assert policy.relationship == "self" and policy.is_active
    event = AuditEvent.objects.filter(record_type="policy", action="create").get()
    assert event.patient_id == patient.public_id


def test_it_requires_a_member_id_and_a_payer(billing, make_patient):
    with pytest.raises(ValidationError) as exc:
        policies.check_save_policy(billing, make_patient(), {"member_id": " "})
    assert set(exc.value.message_dict) == {"member_id", "payer"}
    assert "member ID" in exc.value.message_dict["member_id"][0]


def test_it_requires_the_subscriber_unless_the_patient_is_the_subscriber(billing, make_patient, make_payer):
    patient, payer = make_patient(), make_payer()
    with pytest.raises(ValidationError) as exc:
        policies.check_save_policy(billing, patient, _data(payer, relationship="spouse"))
    assert {"subscriber_first_name", "subscriber_last_name", "subscriber_date_of_birth"} <= set(exc.value.message_dict)
    policy = _add(billing, patient, payer, relationship="child", subscriber_first_name="Synthetic",
                  subscriber_last_name="Parent", subscriber_date_of_birth="1970-01-02")  # fmt: skip
    assert policy.subscriber_date_of_birth == datetime.date(1970, 1, 2)


def test_it_clears_subscriber_fields_when_the_patient_is_the_subscriber(billing, make_patient, make_payer):
    policy = _add(billing, make_patient(), make_payer(), subscriber_first_name="Stale", subscriber_city="Nowhere")
    assert policy.subscriber_first_name == "" and policy.subscriber_city == ""


def test_it_refuses_a_future_subscriber_birth_date(billing, make_patient, make_payer):
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    with pytest.raises(ValidationError) as exc:
        policies.check_save_policy(billing, make_patient(), _data(make_payer(), relationship="other",
            subscriber_first_name="A", subscriber_last_name="B", subscriber_date_of_birth=tomorrow))  # fmt: skip
    assert "future" in exc.value.message_dict["subscriber_date_of_birth"][0]


def test_it_allows_one_active_policy_per_priority(billing, make_patient, make_payer):
    patient = make_patient()
    first = _add(billing, patient, make_payer("Synthetic One"))
    with pytest.raises(ValidationError) as exc:
        policies.check_save_policy(billing, patient, _data(make_payer("Synthetic Two")))
    assert "Synthetic One" in exc.value.message_dict["priority"][0]
    second = _add(billing, patient, make_payer("Synthetic Three"), priority="secondary")
    assert second.priority == "secondary"
    policies.do_set_policy_active(billing, first, False)
    assert _add(billing, patient, make_payer("Synthetic Four")).priority == "primary"
    # The old primary cannot come back while the new one is active.
    first.refresh_from_db()
    with pytest.raises(ValidationError):
        policies.check_set_policy_active(billing, first, True)


def test_it_refuses_an_end_before_the_start_and_bad_dates(billing, make_patient, make_payer):
    payer = make_payer()
    with pytest.raises(ValidationError) as exc:
        policies.check_save_policy(billing, make_patient(), _data(payer, valid_from="2026-05-01",
                                                                  valid_until="2026-04-01"))  # fmt: skip
    assert "valid_until" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        policies.check_save_policy(billing, make_patient(), _data(payer, valid_from="May 1st"))
    assert "valid_from" in exc.value.message_dict


def test_it_refuses_an_inactive_payer_and_unknown_fields(billing, make_patient, make_payer):
    payer = make_payer(is_active=False)
    with pytest.raises(ValidationError) as exc:
        policies.check_save_policy(billing, make_patient(), _data(payer))
    assert "no longer active" in exc.value.message_dict["payer"][0]
    with pytest.raises(ValidationError):
        policies.check_save_policy(billing, make_patient(), {**_data(make_payer("Other")), "ssn": "1"})


def test_an_edit_changes_only_what_is_sent(billing, make_patient, make_payer):
    patient = make_patient()
    policy = _add(billing, patient, make_payer(), group_number="G1", plan_name="Synthetic PPO")
    clean = policies.check_save_policy(billing, patient, {"member_id": "SYN0002"}, policy)
    policy = policies.do_save_policy(billing, patient, clean, policy)
    assert (policy.member_id, policy.group_number, policy.plan_name) == ("SYN0002", "G1", "Synthetic PPO")


def test_an_inactive_policy_cannot_be_edited(billing, make_patient, make_payer):
    patient = make_patient()
    policy = policies.do_set_policy_active(billing, _add(billing, patient, make_payer()), False)
    with pytest.raises(ValidationError, match="inactive"):
        policies.check_save_policy(billing, patient, {"member_id": "X"}, policy)
    with pytest.raises(ValidationError, match="already inactive"):
        policies.check_set_policy_active(billing, policy, False)


@pytest.mark.parametrize("persona", ["therapist", "outsider"])
def test_it_refuses_managing_policies_to_roles_without_policy_manage(request, persona, make_patient, make_payer):
    user = request.getfixturevalue(persona)
    patient = make_patient()
    with pytest.raises(PermissionDenied):
        policies.check_save_policy(user, patient, _data(make_payer()))
    assert AuditEvent.objects.filter(outcome="denied", record_type="policy").exists()
    with pytest.raises(PermissionDenied):
        access.access_patient_policies(user, patient.public_id)


# Pages ---------------------------------------------------------------------------------


def test_the_policies_page_lists_and_adds(client_for, front_desk, make_patient, make_payer):
    patient, payer = make_patient(), make_payer()
    client = client_for(front_desk)
    url = reverse("billing:policies", args=[patient.public_id])
    page = client.get(url)
    assert page.status_code == 200 and "No insurance on file" in page.content.decode()
    answer = client.post(url, {"payer": payer.public_id, "member_id": "SYN777", "priority": "primary",
                               "relationship": "self"})  # fmt: skip
    assert answer.status_code == 302
    assert Policy.objects.get(patient=patient).member_id == "SYN777"
    assert "SYN777" in client.get(url).content.decode()


def test_the_policies_page_shows_errors_in_the_form(client_for, front_desk, make_patient, make_payer):
    patient, payer = make_patient(), make_payer()
    answer = client_for(front_desk).post(reverse("billing:policies", args=[patient.public_id]),
        {"payer": payer.public_id, "member_id": "SYN1", "priority": "primary", "relationship": "spouse"})  # fmt: skip
    assert answer.status_code == 400
    assert (
        "subscriber&#x27;s first name" in answer.content.decode()
        or "subscriber's first name" in answer.content.decode()
    )
    assert not Policy.objects.exists()


def test_edit_and_deactivate_pages(client_for, billing, make_patient, make_payer, make_policy):
    patient = make_patient()
    policy = make_policy(patient, make_payer())
    client = client_for(billing)
    edit = reverse("billing:policy_edit", args=[policy.public_id])
    assert client.get(edit).status_code == 200
    data = {"payer": policy.payer.public_id, "member_id": "SYN999", "priority": "primary", "relationship": "self"}
    assert client.post(edit, data).status_code == 302
    policy.refresh_from_db()
    assert policy.member_id == "SYN999"
    assert client.post(reverse("billing:policy_active", args=[policy.public_id]), {"active": "0"}).status_code == 302
    policy.refresh_from_db()
    assert not policy.is_active


@pytest.mark.parametrize(("persona", "view_status", "add_status"),
                         [("therapist", 403, 403), ("outsider", 403, 403), ("owner", 200, 302)])  # fmt: skip
def test_policy_pages_refuse_by_role(request, client_for, persona, view_status, add_status, make_patient, make_payer):
    patient, payer = make_patient(), make_payer()
    client = client_for(request.getfixturevalue(persona))
    url = reverse("billing:policies", args=[patient.public_id])
    assert client.get(url).status_code == view_status
    data = {"payer": payer.public_id, "member_id": "S1", "priority": "primary", "relationship": "self"}
    assert client.post(url, data).status_code == add_status


# API -----------------------------------------------------------------------------------


def test_the_api_adds_reads_edits_and_deactivates(api_as, billing, make_patient, make_payer):
    patient, payer = make_patient(), make_payer()
    api = api_as(billing)
    path = f"/billing/patients/{patient.public_id}/policies"
    made = api.send("POST", path, {"payer_id": str(payer.public_id), "member_id": "SYN42"})
    assert made.status_code == 201, made.content
    policy_id = made.json()["id"]
    assert api.send("GET", path).json()[0]["member_id"] == "SYN42"
    changed = api.send("PATCH", f"/billing/policies/{policy_id}", {"group_number": "G9", "is_active": False})
    assert changed.status_code == 200 and changed.json()["group_number"] == "G9" and not changed.json()["is_active"]
    bad = api.send("POST", path, {"payer_id": str(payer.public_id), "member_id": "S", "relationship": "spouse"})
    assert bad.status_code == 422 and "subscriber_first_name" in bad.json()["errors"]


@pytest.mark.parametrize("persona", ["therapist", "outsider"])
def test_the_api_refuses_policies_by_role(request, api_as, persona, make_patient, make_payer):
    patient = make_patient()
    api = api_as(request.getfixturevalue(persona))
    path = f"/billing/patients/{patient.public_id}/policies"
    assert api.send("GET", path).status_code == 403
    assert api.send("POST", path, {"payer_id": str(make_payer().public_id), "member_id": "S"}).status_code == 403


def test_the_policy_form_shows_every_problem_at_once(client_for, front_desk, make_patient, make_payer):
    patient, payer = make_patient(), make_payer()
    data = {"payer": payer.public_id, "member_id": "", "priority": "primary", "relationship": "spouse"}
    data |= {"subscriber_phone": "12", "valid_from": "not a date"}  # the date is refused by the form
    answer = client_for(front_desk).post(reverse("billing:policies", args=[patient.public_id]), data)
    html = answer.content.decode()
    assert answer.status_code == 400
    for field in ("member_id", "subscriber_first_name", "subscriber_last_name", "subscriber_date_of_birth"):
        assert f'<a href="#id_{field}">' in html
    assert '<a href="#id_subscriber_phone">' in html and '<a href="#id_valid_from">' in html
    assert "6 problems need fixing before this can be saved" in html
    assert not Policy.objects.exists()


def test_an_edit_from_an_older_copy_keeps_a_deactivation_made_meanwhile(billing, make_patient, make_payer):
    from effleura.billing.models import Policy

    patient = make_patient()
    policy = _add(billing, patient, make_payer())
    stale = Policy.objects.get(pk=policy.pk)  # read by a client that sends no version
    clean = policies.check_save_policy(billing, patient, {"member_id": "SYN0002"}, stale)
    Policy.objects.filter(pk=policy.pk).update(is_active=False)  # another desk, meanwhile
    policies.do_save_policy(billing, patient, clean, stale)
    saved = Policy.objects.get(pk=policy.pk)
    assert (saved.member_id, saved.is_active) == ("SYN0002", False)
