"""Declared set-up resources (core/resources.py): every spec's URLs answer each persona as
the permission table says, refusals are audited, the table's entries come from the specs,
and the shared save/delete helper is locked, audited and answers a lost race in words."""

import datetime
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, transaction
from django.db.models import F
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


# No lost edits: every set-up record carries a version ---------------------------------------------
#
# Each resource's record, made through its own action, and a change two people might both
# make to it: (field, what tab A types, what tab B types). Codes, payers and plans are never
# deleted; the others are.

CHANGES = {
    "scheduling:location": ("name", "Main Street East", "Main Street West"),
    "scheduling:room": ("name", "Room 7", "Room 8"),
    "scheduling:service": ("name", "Deep tissue", "Sports massage"),
    "scheduling:hours": ("end", "16:00", "15:00"),
    "scheduling:exception": ("reason", "course", "conference"),
    "scheduling:time_off": ("reason", "dentist", "holiday"),
    "scheduling:closure": ("reason", "Staff training day", "Flooded basement"),
    "billing:code": ("description", "Massage, each 15 minutes (A)", "Massage, each 15 minutes (B)"),
    "billing:payer": ("name", "Synthetic Mutual East", "Synthetic Mutual West"),
    "billing:fee": ("amount", "99.00", "101.00"),
    "billing:plan": ("name", "Five visits (A)", "Five visits (B)"),
    "referrals:provider": ("first_name", "Adaline", "Adelaide"),
}


@pytest.fixture
def set_up(owner, therapist, location, room, service, hours, next_monday, at):
    """One record of every registered resource, made through its action: resource key -> record."""
    from effleura.billing import setup as billing
    from effleura.referrals import providers
    from effleura.scheduling import closures
    from effleura.scheduling import hours as schedule

    later = next_monday + datetime.timedelta(weeks=2)
    exception = {"practitioner": therapist, "location": location, "date": later, "start": "10:00", "end": "12:00"}
    time_off = {"practitioner": therapist, "start": at(later, "13:00"), "end": at(later, "14:00"), "reason": "x"}
    closure = {"location": location, "first_day": later, "reason": "Staff training"}
    code = billing.do_save_code(owner, billing.check_save_code(owner, {"code": "97993", "description": "Probe",
                                                                      "timed": True}))  # fmt: skip
    payer = billing.do_save_payer(owner, billing.check_save_payer(owner, {"name": "Synthetic Mutual"}))
    records = {
        "scheduling:location": location,
        "scheduling:room": room,
        "scheduling:service": service,
        "scheduling:hours": hours[0],
        "scheduling:exception": schedule.do_save_exception(owner, schedule.check_save_exception(owner, exception)),
        "scheduling:time_off": schedule.do_save_time_off(owner, schedule.check_save_time_off(owner, time_off)),
        "scheduling:closure": closures.do_save_closure(owner, closures.check_save_closure(owner, closure)),
        "billing:code": code,
        "billing:payer": payer,
        "billing:fee": billing.do_save_fee(owner, billing.check_save_fee(owner, {"code": code, "amount": "95.00"})),
        "billing:plan": billing.do_save_plan(
            owner, billing.check_save_plan(owner, {"name": "Five visits", "sessions": 5, "price": "400.00"})
        ),
        "referrals:provider": providers.do_save_provider(
            owner, providers.check_save_provider(owner, {"first_name": "Ada", "last_name": "Fakeson"})
        ),
    }
    assert set(records) == {r.key for r in RESOURCES} == set(CHANGES), "a new resource needs a record and a change"
    return records


def _fresh(record):
    return type(record).objects.get(pk=record.pk)


def _as_typed(value) -> str:
    """A stored value as the change was typed: 16:00 for a time."""
    return value.strftime("%H:%M") if isinstance(value, datetime.time) else str(value)


def _edit_url(resource, record) -> str:
    return reverse(f"{resource.pages.app}:{resource.name}_edit", kwargs={f"{resource.name}_id": record.public_id})


PAGED = [r for r in RESOURCES if r.pages is not None]
WITH_API = [r for r in RESOURCES if r.api is not None]


@pytest.mark.parametrize("resource", PAGED, ids=lambda r: r.key)
def test_it_refuses_a_stale_edit_on_every_set_up_page_and_keeps_the_persons_input(resource, set_up, client_for, owner):
    from html_forms import form_fields

    record = set_up[resource.key]
    field, mine, theirs = CHANGES[resource.key]
    url = _edit_url(resource, record)
    tab_a, tab_b = client_for(owner), client_for(owner)
    form_a = form_fields(tab_a.get(url).content)
    form_b = form_fields(tab_b.get(url).content)
    assert form_a["version"] == form_b["version"] == str(_fresh(record).version)
    assert tab_a.post(url, {**form_a, field: mine}).status_code == 302
    saved = _fresh(record)
    assert saved.version == record.version + 1

    answer = tab_b.post(url, {**form_b, field: theirs})
    assert answer.status_code == 409, resource.key
    page = answer.content.decode()
    assert f"saved this {resource.label}" in page and "Nothing of yours has been saved yet." in page
    assert mine in page and theirs in page  # what A saved, and B's own input kept
    now = _fresh(record)
    assert now.version == saved.version and str(getattr(now, field)) == str(getattr(saved, field))

    # The conflict page carries the current version: B saves again, over A's.
    again = form_fields(page)
    assert again["version"] == str(saved.version) and again[field] == theirs
    assert tab_b.post(url, again).status_code == 302
    assert _fresh(record).version == saved.version + 1


@pytest.mark.parametrize("resource", [r for r in PAGED if r.deletable], ids=lambda r: r.key)
def test_it_refuses_a_stale_delete_on_every_set_up_page(resource, set_up, client_for, owner):
    from html_forms import form_fields

    record = set_up[resource.key]
    client = client_for(owner)
    url = _edit_url(resource, record)
    delete_url = reverse(
        f"{resource.pages.app}:{resource.name}_delete", kwargs={f"{resource.name}_id": record.public_id}
    )
    stale = form_fields(client.get(url).content, action=delete_url)
    assert stale["version"] == str(record.version)
    type(record).objects.filter(pk=record.pk).update(version=F("version") + 1)  # someone saved meanwhile
    answer = client.post(delete_url, stale, follow=True)
    assert "Someone else saved this" in answer.content.decode()
    assert type(record).objects.filter(pk=record.pk).exists()


def _item(resource, record) -> str:
    return reverse(f"api:{resource.api.names[1]}", kwargs={f"{resource.name}_id": record.public_id})


@pytest.mark.parametrize("resource", WITH_API, ids=lambda r: r.key)
def test_every_set_up_api_sends_the_version_and_refuses_a_stale_write(resource, set_up, api_as, owner):
    record = set_up[resource.key]
    field, mine, theirs = CHANGES[resource.key]
    client = api_as(owner)
    url = _item(resource, record)
    version = _fresh(record).version
    got = client.get(url)
    assert got.status_code == 200 and got["ETag"] == f'"{version}"' and got.json()["version"] == version
    listed = client.get(reverse(f"api:{resource.api.names[0]}"))
    assert all("version" in item for item in listed.json()["items"])

    first = client.patch(url, {field: mine}, content_type="application/json", HTTP_IF_MATCH=f'"{version}"')
    assert first.status_code == 200, first.content
    assert first["ETag"] == f'"{version + 1}"' and first.json()["version"] == version + 1
    stale = client.patch(url, {field: theirs}, content_type="application/json", HTTP_IF_MATCH=f'"{version}"')
    assert stale.status_code == 412
    assert stale.json()["version"] == version + 1 and stale["ETag"] == f'"{version + 1}"'
    assert _as_typed(getattr(_fresh(record), field)) == mine
    assert _fresh(record).version == version + 1

    assert client.patch(url, {field: theirs}, content_type="application/json", HTTP_IF_MATCH="1.5").status_code == 412
    weak = client.patch(url, {field: theirs}, content_type="application/json", HTTP_IF_MATCH=f'W/"{version + 1}"')
    assert weak.status_code == 200 and weak["ETag"] == f'"{version + 2}"'
    assert client.patch(url, {field: mine}, content_type="application/json", HTTP_IF_MATCH="*").status_code == 200
    # No If-Match: the client opts out, as HTTP allows.
    assert client.patch(url, {field: theirs}, content_type="application/json").status_code == 200
    assert _fresh(record).version == version + 4

    if resource.deletable:
        now = _fresh(record).version
        assert client.delete(url, HTTP_IF_MATCH=f'"{now - 1}"').status_code == 412
        assert type(record).objects.filter(pk=record.pk).exists()


def test_a_new_set_up_record_is_version_1_and_its_answer_says_so(db, api_as, owner):
    created = api_as(owner).post("/api/v1/billing/payers", {"name": "Synthetic Care"}, content_type="application/json")
    assert created.status_code == 201 and created["ETag"] == '"1"' and created.json()["version"] == 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the threads race on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_patches_of_one_set_up_record_with_the_same_version_let_one_in(owner):
    from race_helpers import racing_writes, token_client

    from effleura.billing import setup as billing

    payer = billing.do_save_payer(owner, billing.check_save_payer(owner, {"name": "Synthetic Mutual"}))
    clients = [token_client(owner, "tab a"), token_client(owner, "tab b")]
    path = f"/billing/payers/{payer.public_id}"
    statuses = racing_writes(clients, "PATCH", path, {"phone": "555-0142"}, '"1"')
    assert sorted(statuses) == [200, 412]
    payer.refresh_from_db()
    assert (payer.phone, payer.version) == ("555-0142", 2)
