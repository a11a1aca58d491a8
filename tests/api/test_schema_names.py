"""One true schema: every schema class the API documents is published under a name of its
own. The OpenAPI document keeps one definition per name (components/schemas), so two
classes sharing a name would leave one operation documented with the other's fields, as
POST /appointments once was with the waitlist's booking body."""

from collections import defaultdict

import pytest
from ninja.openapi.schema import REF_TEMPLATE
from ninja.schema import NinjaGenerateJsonSchema

from effleura.api.api import api
from effleura.scheduling.api_appointments import AppointmentBookIn
from effleura.scheduling.api_waitlist import WaitlistBookIn

PREFIX = "/api/v1/"


class _Recording(NinjaGenerateJsonSchema):
    """The JSON-schema generator ninja uses, noting every model and enum class it describes."""

    seen: list = []

    def model_schema(self, schema):
        _Recording.seen.append(schema["cls"])
        return super().model_schema(schema)

    def enum_schema(self, schema):
        _Recording.seen.append(schema["cls"])
        return super().enum_schema(schema)


def _operations():
    """(label, operation) for every operation of every router the API mounts."""
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                for method in operation.methods:
                    yield f"{method} {PREFIX.rstrip('/')}{prefix.rstrip('/')}{path}", operation


def _models(operation):
    """(model, mode) of every request parameter model and response model of ``operation``."""
    for model in operation.models:
        yield model, "validation"
    for model in (operation.response_models or {}).values():
        if isinstance(model, type):
            yield model, "serialization"


def _schema(model, mode, generator=NinjaGenerateJsonSchema) -> dict:
    return model.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=generator, mode=mode)


def _published_classes() -> dict[str, set[type]]:
    """Name -> the classes described under it, over every operation. The operations' own
    parameter and response wrappers (ninja's, never published by name) are left out."""
    roots = set()
    _Recording.seen = []
    for _label, operation in _operations():
        for model, mode in _models(operation):
            roots.add(model)
            _schema(model, mode, _Recording)
    names = defaultdict(set)
    for cls in _Recording.seen:
        if cls not in roots:
            names[cls.__name__].add(cls)
    return names


@pytest.fixture(scope="module")
def published():
    return api.get_openapi_schema(path_prefix=PREFIX)


def test_the_walk_finds_the_schemas_the_document_publishes(published):
    # The walk below sees what the document holds: were it to miss a router or a kind of
    # model, the uniqueness check would pass for the wrong reason.
    names = _published_classes()
    assert len(names) > 150
    assert set(published["components"]["schemas"]) <= {name.replace("[", "_").replace("]", "_") for name in names}


def test_no_two_schema_classes_share_a_published_name():
    shared = {
        name: sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in classes)
        for name, classes in _published_classes().items()
        if len(classes) > 1
    }
    assert shared == {}, f"Give each of these schema classes a name of its own: {shared}"


def test_every_operation_is_documented_with_its_own_schemas(published):
    # Whatever the names: each operation's models, described alone, are what the
    # published document says under the names they refer to.
    components = published["components"]["schemas"]
    wrong = []
    for label, operation in _operations():
        for model, mode in _models(operation):
            for name, definition in _schema(model, mode).get("$defs", {}).items():
                if components.get(name) != definition:
                    wrong.append(f"{label}: {name}")
    assert wrong == []


def _body_ref(published, path, method="post") -> str:
    body = published["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return body["$ref"].rsplit("/", 1)[-1]


def test_booking_an_appointment_is_documented_with_the_booking_body(api_client):
    published = api_client().get("/api/v1/openapi.json").json()
    name = _body_ref(published, "/api/v1/appointments")
    assert name == "AppointmentBookIn"
    documented = published["components"]["schemas"][name]
    assert set(documented["properties"]) == set(AppointmentBookIn.model_fields)
    assert {"patient", "practitioner", "service", "location", "start"} <= set(documented["required"])


def test_booking_from_the_waitlist_is_documented_with_its_own_body(api_client):
    published = api_client().get("/api/v1/openapi.json").json()
    name = _body_ref(published, "/api/v1/waitlist/{entry_id}/book")
    assert name == "WaitlistBookIn"
    assert set(published["components"]["schemas"][name]["properties"]) == set(WaitlistBookIn.model_fields)
