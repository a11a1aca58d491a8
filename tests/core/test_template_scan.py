"""Nothing inline in the pages (docs/decisions/0016): the Content-Security-Policy refuses
style="" attributes, inline <script> and on*= handlers, so none may be written. A fast
check of every template file, and of a few pages as rendered; the browser test
(tests/e2e/test_csp.py) loads every page and listens for the browser's own complaints.

PDF templates are left out: WeasyPrint renders them on the server (documents/pdf.py) and
no browser ever applies a policy to them."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

SRC = Path(__file__).resolve().parents[2] / "src" / "effleura"

STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=""", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
HANDLER = re.compile(r"""\son[a-z]+\s*=\s*["'{]""", re.IGNORECASE)
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)
HX_HEADERS = re.compile(r"\shx-headers\s*=", re.IGNORECASE)
# <script type="application/json"> is data, not code: the policy lets it be (json_script).
DATA_SCRIPT = re.compile(r"""type\s*=\s*["']application/json["']""", re.IGNORECASE)


def is_pdf_template(path: Path, text: str) -> bool:
    return (
        "pdf" in path.parent.parts
        or path.name == "letterhead.html"
        or re.search(r"""\{%\s*extends\s+["']documents/letterhead\.html["']""", text) is not None
    )


def browser_templates() -> list[Path]:
    found = []
    for path in sorted(SRC.glob("*/templates/**/*.html")):
        if not is_pdf_template(path, path.read_text()):
            found.append(path)
    return found


def problems(html: str) -> list[str]:
    found = []
    for pattern, what in (
        (STYLE_ATTRIBUTE, 'a style="" attribute'),
        (STYLE_ELEMENT, "a <style> element"),
        (HANDLER, "an on*= event handler"),
        (JAVASCRIPT_URL, "a javascript: address"),
        (HX_HEADERS, "an hx-headers attribute (inline JSON)"),
    ):
        for match in pattern.finditer(html):
            found.append(f"{what} at character {match.start()}: {html[match.start() : match.start() + 60]!r}")
    for match in SCRIPT.finditer(html):
        attributes = match.group(1)
        if "src=" not in attributes and not DATA_SCRIPT.search(attributes):
            found.append(f"an inline <script> at character {match.start()}")
    return found


def test_the_scan_knows_the_templates():
    names = {p.relative_to(SRC).as_posix() for p in browser_templates()}
    assert "core/templates/base.html" in names
    assert "scheduling/templates/scheduling/includes/calendar_grid.html" in names
    assert not any("/pdf/" in name for name in names)


def test_the_scan_catches_what_the_policy_refuses():
    assert problems('<p style="color: red">')
    assert problems('<button onclick="go()">')
    assert problems("<script>alert(1)</script>")
    assert problems('<a href="javascript:go()">')
    assert problems("<style>p {}</style>")
    assert problems('<body hx-headers=\'{"X-CSRFToken": "x"}\'>')
    assert not problems('<script src="/static/core/forms.js" defer></script>')
    assert not problems('<script id="d" type="application/json">{"a": 1}</script>')
    assert not problems('<p class="flush-top" data-row="3">once</p>')


@pytest.mark.parametrize("path", browser_templates(), ids=lambda p: p.relative_to(SRC).as_posix())
def test_no_template_writes_anything_inline(path):
    assert problems(path.read_text()) == []


@pytest.fixture
def chart_patient(make_patient, add_history):
    patient = make_patient()
    add_history(patient)
    return patient


def test_the_main_pages_render_nothing_inline(client_for, therapist, front_desk, owner, billing, chart_patient):
    pages = [
        (therapist, reverse("core:home")),
        (therapist, reverse("patients:chart", kwargs={"patient_id": chart_patient.public_id})),
        (therapist, reverse("patients:history", kwargs={"patient_id": chart_patient.public_id})),
        (front_desk, reverse("patients:list")),
        (front_desk, reverse("scheduling:day")),
        (front_desk, reverse("scheduling:week")),
        (owner, reverse("core:practice")),
        (owner, reverse("core:audit_list")),
        (billing, reverse("core:profile")),
    ]
    for user, url in pages:
        response = client_for(user).get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert problems(html) == [], url
        assert '<meta name="csrf-token" content="' in html, url


def test_the_sign_in_page_renders_nothing_inline(client, db):
    response = client.get(reverse("core:login"))
    assert problems(response.content.decode()) == []
