"""Public URLs carry opaque ids: every record id in an address, on a page or in the API,
is read by Django's UUID converter (or, for a passkey, the SHA-256 converter of
core/url_converters.py), so a malformed one never reaches a view (404)."""

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import UUIDConverter

from effleura.core.url_converters import Sha256Converter


def _patterns(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.pattern.converters


def test_every_record_id_in_a_url_is_a_uuid():
    loose = [
        f"{route} ({name})"
        for route, converters in _patterns(get_resolver().url_patterns)
        for name, converter in converters.items()
        if (name == "id" or name.endswith("_id")) and not isinstance(converter, UUIDConverter | Sha256Converter)
    ]
    assert loose == []


def test_the_walk_reaches_the_pages_and_the_api():
    routes = {route for route, _converters in _patterns(get_resolver().url_patterns)}
    assert "billing/accounts/<uuid:patient_id>/" in routes
    assert any(route.startswith("api/v1/billing/packages/<") for route in routes)


def test_a_passkey_address_takes_only_its_sha256(client_for, therapist):
    client = client_for(therapist)
    assert client.post("/profile/two-factor/passkeys/1/remove/").status_code == 404
    assert client.post("/profile/two-factor/passkeys/" + "A" * 64 + "/remove/").status_code == 404
