"""Declarative set-up resources: the practice's reference records (locations, rooms,
services, hours, payers, fees, codes, package plans …) described once, as data.

A ``Resource`` names its model, its permission keys, the app's functions that read,
validate (``check_save``: the resource's clean()) and write it, its API schemas and its
pages. From it this module generates

* its JSON API routes on a ninja Router (``add_api_routes``): list (paged, filtered),
  create, get, patch and, where the resource may be deleted, delete;
* its pages (``page_urlpatterns``): new, edit and delete, drawn by one generic template
  (core/resource_form.html), which a resource may extend for what is its own;
* its entries in the permission table (``register`` adds ``url_rules()`` to
  core/permissions.py URL_RULES): reading needs ``view_key``, every write ``manage_key``.

tests/core/test_resources.py walks every registered resource with every persona. A new
resource is a spec (in its app's resources.py) plus its check/do functions.

Writes go through ``save_record`` and ``delete_record``: the row locked, a unique
constraint lost to a concurrent write answered in words, and the audit event written in
the same transaction. Core imports no app: the apps register their specs (in their
AppConfig.ready()), so the table is complete before the first request.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from ninja import Query, Router, Schema, Status
from pydantic import Field

from effleura.core import audit, permissions, versions
from effleura.core.api_schemas import ERRORS, ERRORS_VERSIONED, ERRORS_WITH_ID, Page
from effleura.core.choices import AuditAction
from effleura.core.forms import VersionedForm, apply_errors, check_refused_form, conflict_status
from effleura.core.values import as_uuid

MAX_PAGE_SIZE = 100
CONCURRENT = "Someone saved the same thing at the same time; try again."


# The locked, audited write ------------------------------------------------------------------------


def changed_fields(instance, clean: dict) -> str:
    """What a save changes, for its audit event: "created", "no change" or "changed: a, b"
    (the fields' names, never their values, which the audit trail does not keep)."""
    if instance is None:
        return "created"
    names = sorted(name for name, value in clean.items() if getattr(instance, name, None) != value)
    return ("changed: " + ", ".join(names)) if names else "no change"


def save_record(
    actor,
    model,
    instance,
    clean: dict,
    record_type: str,
    *,
    what: str = "",
    note: str = "",
    then: Callable[[Any], None] | None = None,
    unique_message: str | dict | None = None,
    expected_version=None,
):
    """Create ``model`` from ``clean`` (``instance`` None) or update ``instance``, holding its
    row lock, and audit which fields changed under ``record_type`` (``what`` prefixes the
    detail, ``note`` follows it). ``then(saved)`` runs in the same transaction (related
    rows: a week of opening hours, a service's practitioners).

    ``expected_version`` (an update of a ``Versioned`` record) is the version the editor
    loaded: compared under the row lock, a stale one raises StaleVersion and nothing is
    written (None: not checked, an API client that sent no If-Match).

    A unique constraint lost to a concurrent write raises ValidationError with
    ``unique_message`` (or a plain "try again"), never an IntegrityError. May be called
    inside a caller's transaction (it nests as a savepoint)."""
    with transaction.atomic():
        try:
            # A savepoint: a unique constraint lost to a concurrent write leaves the
            # transaction usable, and only this write is answered with unique_message.
            with transaction.atomic():
                if instance is None:
                    detail = changed_fields(None, clean)
                    instance = model.objects.create(**clean)
                    action = AuditAction.CREATE
                else:
                    instance, detail = _update_locked(model, instance, clean, expected_version)
                    action = AuditAction.UPDATE
        except IntegrityError:
            raise ValidationError(unique_message or CONCURRENT) from None
        if then is not None:
            try:
                with transaction.atomic():
                    then(instance)
            except IntegrityError:
                # The related rows, not the record: the record's own clash message would
                # name the wrong thing.
                raise ValidationError(CONCURRENT) from None
        detail = f"{what} {detail}" if what else detail
        detail = f"{detail}; {note}" if note else detail
        audit.record(actor, action, record_type, record_id=instance.public_id, detail=detail[:200])
    return instance


def _update_locked(model, instance, clean: dict, expected_version=None):
    """Write ``clean`` over the row as it is now, holding its lock: a field someone else
    changed since ``instance`` was read, and that this write does not touch, keeps their
    value. Returns (the row, the audit detail). Call inside a transaction."""
    # order_by("pk"): a default ordering that joins a nullable relation can't be locked
    # through on PostgreSQL.
    locked = model.objects.select_for_update().filter(pk=instance.pk).order_by("pk").first()
    if locked is None:
        raise ValidationError("Someone deleted this record meanwhile; nothing was saved.")
    versioned = hasattr(locked, "version")
    if versioned:
        versions.check_version(locked, expected_version)
    detail = changed_fields(locked, clean)
    columns = {f.name for f in model._meta.concrete_fields}
    for name, value in clean.items():
        setattr(locked, name, value)
        setattr(instance, name, value)  # the caller's copy shows what was saved
    touched = [name for name in clean if name in columns]
    touched += [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False) and f.name not in touched]
    if versioned:
        touched += versions.bump(locked)
        instance.version = locked.version
    locked.save(update_fields=touched)
    return locked, detail


def get_record(model, public_id, what: str, *, select=()):
    """The ``model`` row whose public id is ``public_id``, with ``select`` joined; Http404
    ("No such <what>.") when the id is malformed or names nothing. Authorize first."""
    found = model.objects.filter(public_id=as_uuid(public_id, what)).select_related(*select).first()
    if found is None:
        raise Http404(f"No such {what}.")
    return found


def delete_record(
    actor, instance, record_type: str, *, detail: str = "", first: Callable | None = None, expected_version=None
) -> None:
    """Delete ``instance`` (its row locked) and audit it in the same transaction; ``first()``
    runs before, inside it (dependent rows the check allowed to go). ``expected_version``:
    as for save_record, a delete from a page of an older version is refused."""
    model = type(instance)
    try:
        with transaction.atomic():
            public_id = instance.public_id
            locked = model.objects.select_for_update().filter(pk=instance.pk).order_by("pk").first()
            if locked is None:
                raise ValidationError("Someone deleted this record meanwhile.")
            if hasattr(locked, "version"):
                versions.check_version(locked, expected_version)
            if first is not None:
                first()
            model.objects.filter(pk=instance.pk).delete()
            audit.record(actor, AuditAction.DELETE, record_type, record_id=public_id, detail=detail)
    except IntegrityError:
        raise ValidationError("Something else still refers to this record; it can’t be deleted.") from None


# The spec -----------------------------------------------------------------------------------------


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(settings.EFFLEURA_API_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class ActiveQuery(PageQuery):
    active: bool | None = Field(None, description="true: only active ones; false: only inactive ones.")


class RecordOut(Schema):
    """A record as the API shows it: ``id`` is its public UUID, never the row's key."""

    id: UUID

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


class NamedRef(RecordOut):
    """A record as others show it (a room's location, a fee's payer)."""

    name: str


def max_length(model, name: str) -> int:
    """The column's length: what the API schema accepts is what the table holds."""
    return model._meta.get_field(name).max_length


def page_of(found, query: PageQuery) -> dict:
    page = Paginator(found, query.page_size).get_page(query.page)
    return {"items": list(page), "count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages}


@dataclass(eq=False)
class Api:
    """A resource's JSON API: ``path`` ("/rooms") serves the list and create, ``path`` plus
    the id the get, patch and delete, under the URL names ``names`` (list, item)."""

    path: str
    names: tuple[str, str]
    out: type[Schema]
    create: type[Schema]
    patch: type[Schema] | None  # None: the app writes its own PATCH (and its table entry holds)
    query: type[Schema] = PageQuery
    # query attribute -> ORM lookup (None values are not filtered on)
    filters: dict[str, str] = field(default_factory=dict)
    # query attributes passed to the resource's list function as keyword arguments
    list_kwargs: tuple[str, ...] = ()
    refresh: Callable[[Any], Any] | None = None  # the saved record, re-read as the API shows it
    docs: dict[str, str] = field(default_factory=dict)  # "create", "update", … -> the operation's description
    # (plural, singular) in the operations' names (list_rooms, create_room); default: the name's
    words: tuple[str, str] | None = None


@dataclass(eq=False)
class Pages:
    """A resource's pages under the URL namespace ``app``: ``<name>_new``, ``<name>_edit``
    and (when it may be deleted) ``<name>_delete``, drawn by ``template`` (the generic one,
    or one extending it). The callables get what they need, nothing else."""

    app: str
    nav: str  # the header's highlighted entry
    prefix: str  # "setup/services/": the edit page is <prefix><id>/<edit_suffix>
    form: type[forms.Form]
    title_new: str  # "New service"
    back: Callable[[Any, Any], tuple[str, str]]  # (record, parent) -> (url, label): "← label" and Cancel
    section: str = "Set-up"  # the window title's suffix
    template: str = "core/resource_form.html"
    edit_suffix: str = ""  # "edit/" where <prefix><id>/ is the record's own page
    # A new record belonging to another, named in the new page's URL (a room's location)
    parent: tuple[str, str] | None = None  # (URL part before the id, id kwarg)
    get_parent: Callable[[Any, Any], Any] | None = None  # (actor, id) -> parent, authorized
    parent_of: Callable[[Any], Any] | None = None  # record -> parent
    title: Callable[[Any], str] = str  # record -> heading
    title_edit: str = ""  # a fixed heading for every record ("Change time off")
    subtitle: Callable[[Any, Any], str] | None = None  # (record, parent) -> muted text after the heading
    window: Callable[[Any, Any, str], str] | None = None  # (record, parent, heading) -> window title
    hint: Callable[[Any, Any], str] | str = ""  # the paragraph above the form
    initial: Callable[[Any], dict] | None = None  # record -> initial (default: the form's fields)
    new_initial: Callable[[Any], dict] | None = None  # request -> initial of a new one
    form_kwargs: Callable[[Any], dict] | None = None  # record -> extra form arguments
    data: Callable[[Any, Any, Any], dict | None] | None = None  # (form, record, parent) -> data; None: errors
    saved: Callable[[Any, bool], str] = lambda obj, created: f"{obj} saved."  # message
    after_save: Callable[[Any, Any, Any, bool], str] | None = None  # (request, saved, parent, created) -> URL
    delete_label: str = ""
    delete_hint: str = ""
    deleted: Callable[[Any], str] = lambda obj: f"{obj} deleted."
    extra_context: Callable[[Any, Any], dict] | None = None  # (record, parent) -> more context


@dataclass(eq=False)
class Resource:
    """One reference resource. ``name`` is its URL-name stem ("service") and ``label`` how
    messages name it ("service": "No such service.")."""

    name: str
    label: str
    model: type
    view_key: str
    manage_key: str
    list: Callable[..., Any]  # (actor, **list_kwargs) -> queryset, authorized
    get: Callable[..., Any]  # (actor, id, key=...) -> record, authorized, 404 when missing
    check_save: Callable[..., dict]  # (actor, data, record=None) -> clean: the resource's clean()
    do_save: Callable[..., Any]  # (actor, clean, record=None) -> saved
    check_delete: Callable[..., None] | None = None  # (actor, record): raises what blocks deletion
    do_delete: Callable[..., None] | None = None  # None: never deleted (retired instead)
    api: Api | None = None
    pages: Pages | None = None

    @property
    def key(self) -> str:
        """Unique among resources: "<app or API>:<name>"."""
        return f"{self.pages.app if self.pages else 'api'}:{self.name}"

    @property
    def deletable(self) -> bool:
        return self.do_delete is not None

    @property
    def versioned(self) -> bool:
        """Its records carry a version (core.models.Versioned): a stale edit is refused."""
        return any(f.name == "version" for f in self.model._meta.concrete_fields)

    def delete(self, actor, record, *, expected_version=None) -> None:
        if self.check_delete is not None:
            self.check_delete(actor, record)
        self.do_delete(actor, record, **_expecting(self, expected_version))

    def url_rules(self) -> dict:
        """This resource's entries in core/permissions.py URL_RULES (the read key first: a
        method the URL does not serve asks for it)."""
        rules: dict[str, str | dict[str, str]] = {}
        view, manage = self.view_key, self.manage_key
        if self.api is not None:
            many, one = self.api.names
            rules[f"api:{many}"] = {"GET": view, "POST": manage}
            rules[f"api:{one}"] = {"GET": view, "PATCH": manage} | ({"DELETE": manage} if self.deletable else {})
        if self.pages is not None:
            app = self.pages.app
            rules[f"{app}:{self.name}_new"] = {"GET": manage, "POST": manage}
            rules[f"{app}:{self.name}_edit"] = {"GET": manage, "POST": manage}
            if self.deletable:
                rules[f"{app}:{self.name}_delete"] = {"POST": manage}
        return rules


def _expecting(resource: Resource, expected_version) -> dict:
    """The ``expected_version`` keyword for the resource's do_* functions (none for a
    resource whose records carry no version)."""
    return {"expected_version": expected_version} if resource.versioned else {}


def rules_of(module, singular: str, plural: str) -> dict:
    """The read/check/do functions of a resource named by the house convention in
    ``module``: list_<plural>, get_<singular>, check_save_/do_save_<singular> and, when it
    may be deleted, check_delete_/do_delete_<singular>. Spread into Resource(...)."""
    found = {
        "list": getattr(module, f"list_{plural}"),
        "get": getattr(module, f"get_{singular}"),
        "check_save": getattr(module, f"check_save_{singular}"),
        "do_save": getattr(module, f"do_save_{singular}"),
    }
    if hasattr(module, f"do_delete_{singular}"):
        found["check_delete"] = getattr(module, f"check_delete_{singular}")
        found["do_delete"] = getattr(module, f"do_delete_{singular}")
    return found


REGISTRY: dict[str, Resource] = {}


def register(*resources: Resource) -> None:
    """Make the resources known: their URL names join the permission table. Called from
    each app's AppConfig.ready() (through its resources module). A URL name the table
    already lists by hand is refused: the spec is the one place that decides it."""
    for resource in resources:
        if REGISTRY.get(resource.key) is resource:
            continue
        rules = resource.url_rules()
        clash = sorted(set(rules) & set(permissions.URL_RULES))
        if clash or resource.key in REGISTRY:
            raise ImproperlyConfigured(
                f"The {resource.key} spec makes the permission entries of {', '.join(clash) or resource.key}: "
                "remove them from core/permissions.py URL_RULES (or rename the spec)."
            )
        if resource.versioned and resource.api is not None and "version" not in resource.api.out.model_fields:
            raise ImproperlyConfigured(
                f"The {resource.key} spec's API answer ({resource.api.out.__name__}) has no version: "
                "add `version: int`, which clients send back in If-Match."
            )
        REGISTRY[resource.key] = resource
        permissions.URL_RULES.update(rules)


# The API ------------------------------------------------------------------------------------------


def _operation(fn, name: str, params: list[inspect.Parameter]):
    fn.__name__ = name
    fn.__signature__ = inspect.Signature(
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD), *params]
    )
    return fn


def _keyword(name: str, annotation) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)


def add_api_routes(router: Router, resource: Resource, module: str) -> None:
    """Add the list, create, get, patch and (when deletable) delete operations of
    ``resource`` to ``router``. Each is as thin as a page: parse (the schemas), then the
    resource's get/check/do, which authorize, validate, write and audit. ``module`` is the
    app's API module: the operations are named (OpenAPI ids) as if written there."""
    api = resource.api
    many, one = api.names
    plural, singular = api.words or (f"{resource.name}s", resource.name)
    id_name = f"{resource.name}_id"
    item = f"{api.path}/{{uuid:{id_name}}}"
    refresh = api.refresh or (lambda obj: obj)

    def add(path_, method, fn, response, url_name, op):
        fn.__module__ = module
        router.add_api_operation(
            path_, [method], fn, response=response, url_name=url_name, description=api.docs.get(op)
        )

    def list_(request, query):
        found = resource.list(request.user, **{k: getattr(query, k) for k in api.list_kwargs})
        for attr, lookup in api.filters.items():
            value = getattr(query, attr)
            if value is not None:
                found = found.filter(**{lookup: value})
        return page_of(found, query)

    def create(request, payload):
        clean = resource.check_save(request.user, payload.model_dump(exclude_unset=True))
        return Status(201, refresh(resource.do_save(request.user, clean)))

    def get(request, **kwargs):
        return refresh(resource.get(request.user, kwargs[id_name]))

    def update(request, payload, **kwargs):
        record = resource.get(request.user, kwargs[id_name], key=resource.manage_key)
        expected = versions.if_match(request)  # the version the client read: compared under the lock
        clean = resource.check_save(request.user, payload.model_dump(exclude_unset=True), record)
        return refresh(resource.do_save(request.user, clean, record, **_expecting(resource, expected)))

    def delete(request, **kwargs):
        record = resource.get(request.user, kwargs[id_name], key=resource.manage_key)
        resource.delete(request.user, record, expected_version=versions.if_match(request))
        return Status(204, None)

    written = ERRORS_VERSIONED if resource.versioned else ERRORS_WITH_ID

    ident = _keyword(id_name, UUID)
    list_op = _operation(list_, f"list_{plural}", [_keyword("query", Query[api.query])])
    add(api.path, "GET", list_op, {200: Page[api.out], **ERRORS}, many, "list")
    create_op = _operation(create, f"create_{singular}", [_keyword("payload", api.create)])
    add(api.path, "POST", create_op, {201: api.out, **ERRORS}, many, "create")
    add(item, "GET", _operation(get, f"get_{singular}", [ident]), {200: api.out, **ERRORS_WITH_ID}, one, "get")
    if api.patch is not None:
        update_op = _operation(update, f"update_{singular}", [ident, _keyword("payload", api.patch)])
        add(item, "PATCH", update_op, {200: api.out, **written}, one, "update")
    if resource.deletable:
        delete_op = _operation(delete, f"delete_{singular}", [ident])
        add(item, "DELETE", delete_op, {204: None, **written}, one, "delete")


def api_router(*resources: Resource, tags: list[str], module: str) -> Router:
    """A router carrying every operation of ``resources`` (``module``: see add_api_routes)."""
    router = Router(tags=tags)
    for resource in resources:
        add_api_routes(router, resource, module)
    return router


# The pages ----------------------------------------------------------------------------------------


def _form_initial(form_class, record) -> dict:
    return {name: getattr(record, name) for name in form_class.base_fields if hasattr(record, name)}


def _initial_of(pages: Pages, record) -> dict:
    return pages.initial(record) if pages.initial else _form_initial(pages.form, record)


_VERSIONED_FORMS: dict[type, type] = {}
VERSION_FIELDS = ("version", "loaded")


def versioned_form(form_class: type[forms.Form]) -> type[forms.Form]:
    """``form_class`` with core.forms.VersionedForm's hidden version and snapshot fields
    (itself if it has them): the edit page posts the version it was loaded with."""
    if issubclass(form_class, VersionedForm):
        return form_class
    if form_class not in _VERSIONED_FORMS:
        _VERSIONED_FORMS[form_class] = type(
            form_class.__name__, (VersionedForm, form_class), {"__module__": form_class.__module__}
        )
    return _VERSIONED_FORMS[form_class]


def _versioned_fields(form, record) -> list[str]:
    """The form's fields that are the record's own: what a conflict compares and shows."""
    return [name for name in form.fields if name not in VERSION_FIELDS and hasattr(record, name)]


def form_page(resource: Resource, request, record, parent):
    """The new (``record`` None) or edit page of ``resource``: a form, then check_save and
    do_save; back to where the resource says, or the form again with the refusal beside
    the fields it names."""
    pages = resource.pages
    if record is not None:
        initial = _initial_of(pages, record)
    else:
        initial = pages.new_initial(request) if pages.new_initial else {}
    kwargs = pages.form_kwargs(record) if pages.form_kwargs else {}
    editing = record is not None and resource.versioned
    form_class = versioned_form(pages.form) if editing else pages.form
    # The submitted data even when empty, so an empty submission shows what is missing.
    form = form_class(request.POST if request.method == "POST" else None, initial=initial, **kwargs)
    if editing:
        # The page posts the version it showed; a save over a newer one is refused (409),
        # showing what changed, with the person's input kept (core.forms.show_conflict).
        form.load_version(
            record, _versioned_fields(form, record), what=resource.label, initial=lambda now: _initial_of(pages, now)
        )
    if request.method == "POST" and form.is_valid():
        data = pages.data(form, record, parent) if pages.data else dict(form.cleaned_data)
        if data is not None and not form.errors:
            data = {name: value for name, value in data.items() if name not in VERSION_FIELDS}
            try:
                clean = resource.check_save(request.user, data, record)
                more = _expecting(resource, form.expected_version()) if editing else {}
                saved = resource.do_save(request.user, clean, record, **more)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, pages.saved(saved, record is None))
                if pages.after_save is not None:
                    return redirect(pages.after_save(request, saved, parent, record is None))
                return redirect(pages.back(saved, parent)[0])
        elif data is not None:
            # The page's own reading refused a part (a day's hours): check the rest as well.
            try:
                resource.check_save(request.user, data, record)
            except ValidationError as exc:
                apply_errors(form, exc)
    elif request.method == "POST" and pages.data is None:
        # The form refused some fields: let check_save look at the rest, so every problem shows at once.
        check_refused_form(form, lambda data: resource.check_save(request.user, data, record))
    context = page_context(resource, form, record, parent)
    return render(request, pages.template, context, status=conflict_status(form))


def page_context(resource: Resource, form, record, parent) -> dict:
    """What the generic template (core/resource_form.html) shows."""
    pages = resource.pages
    back_url, back_label = pages.back(record, parent)
    title = pages.title_new if record is None else (pages.title_edit or pages.title(record))
    hint = pages.hint(record, parent) if callable(pages.hint) else pages.hint
    context = {
        "nav": pages.nav,
        "form": form,
        "record": record,
        "parent": parent,
        resource.name: record,
        "title": title,
        "window_title": pages.window(record, parent, title) if pages.window else f"{title} · {pages.section}",
        "subtitle": pages.subtitle(record, parent) if pages.subtitle else "",
        "hint": hint,
        "back_url": back_url,
        "back_label": back_label,
        "delete_url": (
            reverse(f"{pages.app}:{resource.name}_delete", args=[record.public_id])
            if record is not None and resource.deletable
            else ""
        ),
        "delete_label": pages.delete_label,
        "delete_hint": pages.delete_hint,
    }
    if pages.extra_context is not None:
        context |= pages.extra_context(record, parent)
    return context


def page_urlpatterns(resource: Resource, *, new_page: Callable | None = None) -> list:
    """The new, edit and delete pages of ``resource``, named ``<name>_new`` … in its app.
    ``new_page(request, parent)`` replaces the generic new page (several records at once)."""
    pages = resource.pages
    name = resource.name
    id_name = f"{name}_id"

    def new(request, **kwargs):
        parent = None
        if pages.parent is not None:
            parent = pages.get_parent(request.user, kwargs[pages.parent[1]])
        if new_page is not None:
            return new_page(request, parent)
        return form_page(resource, request, None, parent)

    def edit(request, **kwargs):
        record = resource.get(request.user, kwargs[id_name], key=resource.manage_key)
        parent = pages.parent_of(record) if pages.parent_of else None
        return form_page(resource, request, record, parent)

    @require_POST
    def delete(request, **kwargs):
        record = resource.get(request.user, kwargs[id_name], key=resource.manage_key)
        parent = pages.parent_of(record) if pages.parent_of else None
        try:
            if resource.check_delete is not None:
                resource.check_delete(request.user, record)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(f"{pages.app}:{name}_edit", **{id_name: record.public_id})
        message = pages.deleted(record)
        try:
            # The version the page showed: a delete over someone else's newer save is refused.
            expected = versions.parse_posted(request.POST.get("version"))
            resource.do_delete(request.user, record, **_expecting(resource, expected))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(f"{pages.app}:{name}_edit", **{id_name: record.public_id})
        messages.success(request, message)
        return redirect(pages.back(None, parent)[0])

    new_path = f"{pages.prefix}new/"
    if pages.parent is not None:
        new_path = f"{pages.parent[0]}<uuid:{pages.parent[1]}>/{pages.prefix.rstrip('/').rsplit('/', 1)[-1]}/new/"
    urls = [
        path(new_path, new, name=f"{name}_new"),
        path(f"{pages.prefix}<uuid:{id_name}>/{pages.edit_suffix}", edit, name=f"{name}_edit"),
    ]
    if resource.deletable:
        urls.append(path(f"{pages.prefix}<uuid:{id_name}>/delete/", delete, name=f"{name}_delete"))
    return urls
