"""Every page's title names the page and the practice ("Calendar · Harbour Clinic"), so a
therapist with six tabs open, or a browser history, tells them apart; and every page has the
practice icon, so no browser asks for a /favicon.ico that answers 404."""

import re
from html import unescape

import pytest
import test_permissions as walk
from django.test import Client
from django.urls import get_resolver, reverse

from effleura.core.models import Practice

url_kwargs = walk.url_kwargs  # the fixture: one object of each kind the URLs name

TITLE = re.compile(r"<title>(.*?)</title>", re.S)
# The API reference is a developer page titled by the API itself (its OpenAPI document).
SKIP = ("core:logout", "core:password_reset_confirm", "core:second_factor", "api:openapi-view")


def _title(response) -> str | None:
    if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
        return None
    text = response.content.decode()
    if "<html" not in text[:500]:
        return None  # a fragment htmx swaps into a page, not a page
    found = TITLE.search(text)
    assert found, f"{response.request['PATH_INFO']} has no <title>"
    return " ".join(unescape(found.group(1)).split())


def _problems(client, kwargs, practice_name) -> list[str]:
    problems = []
    for name, pattern in walk._walk(get_resolver().url_patterns):
        if name in SKIP or "GET" not in walk._methods(name):
            continue
        response = client.get(walk._url(name, pattern, kwargs))
        title = _title(response)
        if title is None:
            continue
        page, _, practice = title.rpartition(" · ")
        if practice != practice_name or not page.strip() or page.strip() in ("Effleura", practice_name):
            problems.append(f"{name}: {title!r}")
    return problems


def test_every_staff_page_title_names_the_page_and_the_practice(owner, url_kwargs):
    client = Client()
    client.force_login(owner)
    problems = _problems(client, url_kwargs, Practice.current().name)
    assert not problems, "\n".join(problems)


def test_the_pages_before_signing_in_name_the_page_and_the_practice(db, url_kwargs):
    problems = _problems(Client(), url_kwargs, Practice.current().name)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("name", "page"),
    [("core:password_reset_done", "Check your email"), ("core:password_reset_complete", "Password saved")],
)
def test_the_password_pages_say_where_you_are(db, name, page):
    title = _title(Client().get(reverse(name)))
    assert title == f"{page} · {Practice.current().name}"


def test_every_page_links_the_practice_icon(owner, client_for):
    page = client_for(owner).get(reverse("core:home")).content.decode()
    assert re.search(r'<link rel="icon" href="/static/core/favicon[^"]*\.svg"', page)


def test_favicon_ico_answers_with_the_icon_instead_of_404_signed_in_or_not(db, owner, client_for):
    for client in (Client(), client_for(owner)):
        response = client.get("/favicon.ico")
        assert response.status_code == 302
        assert "max-age" in response["Cache-Control"]
        icon = client.get(response["Location"])
        assert icon.status_code == 200
        assert b"<svg" in b"".join(icon.streaming_content if icon.streaming else [icon.content])


def test_favicon_ico_refuses_a_post(db):
    assert Client().post("/favicon.ico").status_code == 405
