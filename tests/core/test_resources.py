"""Declared set-up resources (core/resources.py): every spec's URLs answer each persona as
the permission table says, refusals are audited, the table's entries come from the specs,
and the shared save/delete helper is locked, audited and answers a lost race in words."""

import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.urls import reverse

from effleura.billing.models import ProcedureCode
from effleura.core import permissions
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.models import AuditEvent
from effleura.core.resources import REGISTRY, delete_record, save_record

RESOURCES = sorted(REGISTRY.values(), key=lambda r: r.key)
METHODS = {"GET": "get", "POST": "post", "PATCH": "patch", "DELETE": "delete", "PUT": "put"}


def _kwargs(resource, url_name: str) -> dict:
    """A made-up id for each parameter of the URL: the permission check comes first, so a
    refused role gets 403 and an allowed one gets past it (404: no such record)."""
    name = url_name.split(":", 1)[1]
    if resource.api is not None and name == resource.api.names[0]:
        return {}
    if resource.pages is not None and name == f"{resource.name}_new":
        return {resource.pages.parent[1]: uuid.uuid4()} if resource.pages.parent else {}
    return {f"{resource.name}_id": uuid.uuid4()}


def test_every_resource_is_registered_for_both_apps():
    names = {r.key for r in RESOURCES}
    assert {"scheduling:location", "scheduling:room", "scheduling:service", "scheduling:hours"} <= names
    assert {"scheduling:exception", "scheduling:time_off", "billing:code", "billing:payer", "billing:fee"} <= names
    assert {"billing:plan", "referrals:provider"} <= names


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.key)
def test_the_permission_table_holds_what_each_spec_generates(resource):
    for name, rule in resource.url_rules().items():
        assert permissions.URL_RULES[name] == rule
        # Reading needs the view key, every write the manage key.
        for method, key in ({"GET": rule} if isinstance(rule, str) else rule).items():
            assert key == (resource.view_key if method == "GET" and name.startswith("api:") else resource.manage_key)


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.key)
def test_it_refuses_every_role_the_table_refuses_and_audits_the_refusal(resource, personas, client_for):
    for role, user in personas.items():
        client = client_for(user)
        for url_name, rule in resource.url_rules().items():
            url = reverse(url_name, kwargs=_kwargs(resource, url_name))
            for method, key in rule.items():
                allowed = user.role in permissions.RULES[key].roles
                before = AuditEvent.objects.filter(outcome=AuditOutcome.DENIED).count()
                api_write = url_name.startswith("api:") and method != "GET"
                body = {"content_type": "application/json", "data": "{}"} if api_write else {}
                response = getattr(client, METHODS[method])(url, **body)
                refused = AuditEvent.objects.filter(outcome=AuditOutcome.DENIED).count() - before
                if allowed:
                    assert response.status_code != 403, (role, method, url_name)
                    assert refused == 0, (role, method, url_name)
                else:
                    assert response.status_code == 403, (role, method, url_name)
                    assert refused == 1, (role, method, url_name)
                    assert AuditEvent.objects.filter(outcome=AuditOutcome.DENIED).latest("pk").actor_id == user.pk


def test_the_owner_may_change_every_resource_and_a_therapist_only_read_the_practice_set_up(owner, therapist):
    for resource in RESOURCES:
        assert permissions.has_permission(owner, resource.manage_key)
        assert permissions.has_permission(therapist, resource.view_key)
        if resource.manage_key.endswith("_setup.manage"):
            assert not permissions.has_permission(therapist, resource.manage_key)


def test_it_saves_and_audits_the_fields_changed_in_one_transaction(db, owner):
    code = save_record(
        owner, ProcedureCode, None, {"code": "97999", "description": "Unlisted", "timed": False}, "billing_setup",
        what="procedure code",
    )  # fmt: skip
    save_record(owner, ProcedureCode, code, {"description": "Unlisted procedure", "timed": False}, "billing_setup")
    events = list(AuditEvent.objects.filter(record_id=str(code.public_id)).order_by("pk"))
    assert [(e.action, e.detail) for e in events] == [
        (AuditAction.CREATE, "procedure code created"),
        (AuditAction.UPDATE, "changed: description"),
    ]


def test_two_saves_from_stale_copies_keep_each_others_fields(db, owner):
    code = ProcedureCode.objects.create(code="97996", description="Old", timed=True)
    tab_a, tab_b = ProcedureCode.objects.get(pk=code.pk), ProcedureCode.objects.get(pk=code.pk)
    save_record(owner, ProcedureCode, tab_a, {"description": "New wording"}, "billing_setup")
    save_record(owner, ProcedureCode, tab_b, {"timed": False}, "billing_setup")  # read before A saved
    code.refresh_from_db()
    assert (code.description, code.timed) == ("New wording", False)
    assert AuditEvent.objects.latest("pk").detail == "changed: timed"


def test_a_clash_in_the_related_rows_is_not_blamed_on_the_record(db, owner):
    ProcedureCode.objects.create(code="97995", description="Taken", timed=True)

    def then(saved):
        ProcedureCode.objects.create(code="97995", description="Clash", timed=True)

    with pytest.raises(ValidationError) as exc:
        save_record(
            owner, ProcedureCode, None, {"code": "97994", "description": "New", "timed": True}, "billing_setup",
            then=then, unique_message={"code": "97994 is already in the catalog."},
        )  # fmt: skip
    assert "97994" not in str(exc.value)
    assert not ProcedureCode.objects.filter(code="97994").exists()


def test_it_answers_a_unique_clash_in_words_and_writes_no_audit_event(db, owner):
    ProcedureCode.objects.create(code="97998", description="Taken", timed=True)
    before = AuditEvent.objects.count()
    # Inside a transaction, as a do_*() calls it.
    with pytest.raises(ValidationError) as exc, transaction.atomic():
        save_record(
            owner, ProcedureCode, None, {"code": "97998", "description": "Again", "timed": True}, "billing_setup",
            unique_message={"code": "97998 is already in the catalog."},
        )  # fmt: skip
    assert exc.value.message_dict == {"code": ["97998 is already in the catalog."]}
    assert AuditEvent.objects.count() == before
    assert ProcedureCode.objects.filter(code="97998").count() == 1


def test_it_deletes_and_audits_with_the_dependent_rows_first(db, owner):
    code = ProcedureCode.objects.create(code="97997", description="Gone soon", timed=True)
    seen = []
    delete_record(owner, code, "billing_setup", detail="removed", first=lambda: seen.append("first"))
    assert seen == ["first"]
    assert not ProcedureCode.objects.filter(code="97997").exists()
    event = AuditEvent.objects.latest("pk")
    assert (event.action, event.record_id, event.detail) == (AuditAction.DELETE, str(code.public_id), "removed")


def test_it_refuses_a_spec_whose_urls_the_table_already_lists_by_hand():
    from ninja import Schema

    from effleura.core.resources import Api, Resource, register

    def nothing(*args, **kwargs):
        return None

    probe = Resource(
        name="probe", label="probe", model=ProcedureCode, view_key="scheduling_setup.view",
        manage_key="scheduling_setup.manage", list=nothing, get=nothing, check_save=nothing, do_save=nothing,
        api=Api(path="/probe", names=("scheduling_policy", "probe"), out=Schema, create=Schema, patch=Schema),
    )  # fmt: skip
    with pytest.raises(ImproperlyConfigured, match="api:scheduling_policy"):
        register(probe)
    assert "api:probe" not in permissions.URL_RULES and "api:probe" not in REGISTRY
