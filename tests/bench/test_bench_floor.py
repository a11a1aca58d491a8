"""The floor page (effleura/bench/floor.py): the signed-in user's name in one line,
through the full production middleware, with no query of its own; routed only by the
benchmark's URLconf."""

import importlib

import pytest
import time_machine
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, include, path, resolve

from effleura.bench import floor
from effleura.core import permissions


def plain(request):
    """The least a view can do: a constant answer, no template, no query."""
    return HttpResponse("<p>plain</p>\n")


# This module as a URLconf: the floor and the plain view side by side, behind the same
# middleware and permission rule, so any query the floor made of its own would show.
urlpatterns = [
    path(
        "bench/",
        include(([path("floor/", floor.floor, name="floor"), path("plain/", plain, name="plain")], "bench")),
    )
]


@pytest.fixture
def side_by_side(settings, monkeypatch):
    monkeypatch.setitem(permissions.URL_RULES, floor.URL_NAME, floor.PERMISSION)
    monkeypatch.setitem(permissions.URL_RULES, "bench:plain", floor.PERMISSION)
    settings.ROOT_URLCONF = __name__


def test_the_floor_shows_the_signed_in_user_in_one_line(bench_urls, therapist, client_for):
    response = client_for(therapist).get(floor.PATH)
    assert response.status_code == 200
    assert response.content == b"<p>Signed in as therapist.</p>\n"


def test_the_floor_passes_the_production_middleware(bench_urls, therapist, client_for, client, settings):
    assert settings.DEBUG is False
    response = client_for(therapist).get(floor.PATH)
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
    # The permission gate: signed out, it sends to the sign-in page like any staff page.
    signed_out = client.get(floor.PATH)
    assert signed_out.status_code == 302
    assert signed_out["Location"].startswith("/login/")


def test_an_account_with_no_role_sees_the_floor_too(bench_urls, outsider, client_for):
    assert client_for(outsider).get(floor.PATH).status_code == 200


def test_the_floor_makes_no_query_beyond_the_middlewares_own(side_by_side, therapist, client_for):
    client = client_for(therapist)
    with time_machine.travel("2026-06-17 10:00 -0700", tick=False):  # the same "now" in both
        for url in (floor.PATH, "/bench/plain/"):  # warm: the practice's zone and the session are read once
            assert client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as floor_queries:
            assert client.get(floor.PATH).content == b"<p>Signed in as therapist.</p>\n"
        with CaptureQueriesContext(connection) as plain_queries:
            assert client.get("/bench/plain/").content == b"<p>plain</p>\n"
    assert [q["sql"] for q in floor_queries] == [q["sql"] for q in plain_queries]
    # What the middleware reads: the session, then the signed-in user.
    tables = [q["sql"].split(" FROM ")[1].split()[0].strip('"') for q in floor_queries]
    assert tables == ["django_session", "core_user"]


def test_the_floor_is_not_routed_in_production(therapist, client_for, settings):
    assert settings.ROOT_URLCONF == "effleura.urls"
    with pytest.raises(Resolver404):
        resolve(floor.PATH)
    assert floor.URL_NAME not in permissions.URL_RULES
    assert client_for(therapist).get(floor.PATH).status_code == 404


def test_only_the_benchmarks_settings_route_the_floor():
    bench_settings = importlib.import_module("effleura.bench.settings")
    production = importlib.import_module("effleura.settings")
    assert bench_settings.ROOT_URLCONF == "effleura.bench.urls"
    assert production.ROOT_URLCONF == "effleura.urls"
    assert bench_settings.DEBUG is False
    assert bench_settings.MIDDLEWARE == production.MIDDLEWARE
