"""No page breaks the Content-Security-Policy (issue 12 item 7, docs/decisions/0016).

Signed in as each role, the test walks the demo clinic the way a person would: from the
home page it follows every link of our own, one page per kind of address (a chart and each
of its tabs, the note editor, assessments, plans, measures, the body chart, referrals,
reports, billing, practice, staff, audit, profile...), and fails on anything the browser
reports: a policy violation (the `securitypolicyviolation` event, collected by a script
Playwright injects before the page's own, and Chromium's console message), a script error,
or a page that answers an error. The charts must still draw: the body chart's SVG, Chart.js
on the progress charts, and the calendar grid laid out by scheduling/grid.js.
"""

import re
from collections import deque
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

ROLES = ["owner", "therapist", "frontdesk", "billing"]

# Injected by Playwright into every document before its own scripts (the policy does not
# apply to it): keeps each violation the browser reports, for the test to read.
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(
    e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber
  );
});
"""

# Addresses not to open: they end the session or hand the device over, or answer a file
# (a download, not a page). PDFs above all: Chromium's viewer fetches a PDF again, and
# the one server process renders it again while the next page waits.
SKIP = re.compile(r"/logout/|/hand-over/|\.(csv|pdf|ics|json)$|/pdf/|/charges/[^/]+/superbill/|format=csv")
# The kind of an address: ids, numbers and dates stand for any; query values do not count.
IDS = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "<date>"),
    (re.compile(r"(?<=/)v?\d+(?=/)"), "<n>"),
]
# Pages no link may lead to but which must be checked too: a search typed into the box,
# the API's own documentation.
SEEDS = ["/", "/patients/?q=a", "/api/v1/docs"]
MAX_PAGES = 250
# Some pages (a PDF's neighbours, the billing desk) take a while on a busy machine with
# one server process; a page that never answers still fails.
PAGE_TIMEOUT_MS = 30_000


def kind_of(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path
    for pattern, name in IDS:
        path = pattern.sub(name, path)
    keys = sorted({key for key, _value in parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + "&".join(keys) if keys else "")


def local_links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin or parts.path.startswith("/static/"):
            continue
        query = urlencode(parse_qsl(parts.query, keep_blank_values=True))
        found.append(parts.path + ("?" + query if query else ""))
    return found


def check_drawings(page, url: str, seen: set[str]) -> list[str]:
    """The pictures the policy could silently break still draw; adds to ``seen`` the ones
    the page has."""
    problems = []
    if page.locator("[data-bodychart]").count():
        seen.add("body chart")
        try:
            page.wait_for_selector("[data-bodychart-ready]", state="attached", timeout=5000)
        except PlaywrightError:
            problems.append(f"{url}: the body chart never became ready")
        if not page.locator("[data-bodychart] svg path, [data-bodychart] svg ellipse, [data-bodychart] svg g").count():
            problems.append(f"{url}: the body chart has no SVG drawing")
    if page.locator("canvas[data-progress]").count():
        seen.add("progress chart")
        page.wait_for_function("() => typeof window.Chart === 'function'", timeout=5000)
        undrawn = page.evaluate(
            "() => [...document.querySelectorAll('canvas[data-progress]')].filter(c => !Chart.getChart(c)).length"
        )
        if undrawn:
            problems.append(f"{url}: {undrawn} progress chart(s) not drawn by Chart.js")
    if page.locator(".cal-grid .cal-appt").count():
        seen.add("calendar")
        laid_out = page.evaluate(
            """() => [...document.querySelectorAll('.cal-grid')].every(grid =>
                   grid.style.gridTemplateColumns &&
                   [...grid.querySelectorAll('[data-row]')].every(
                       el => getComputedStyle(el).gridRowStart !== 'auto'))"""
        )
        if not laid_out:
            problems.append(f"{url}: the calendar grid was not laid out")
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_no_page_breaks_the_content_security_policy(page, login, site, role):
    complaints: list[str] = []
    current = {"url": "(sign-in)"}
    page.add_init_script(LISTEN)
    page.on(
        "console",
        lambda message: (
            complaints.append(f"{current['url']}: console: {message.text}")
            if "Content Security Policy" in message.text or "Permissions-Policy" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: complaints.append(f"{current['url']}: script error: {error}"))
    login(page, role)
    assert complaints == [], complaints  # the sign-in page and the home page are clean
    assert page.evaluate("window.__cspViolations") == []

    # The policy is in force and the listener hears it: a style attribute set from a
    # script (what a template may no longer write) is refused and reported.
    page.evaluate("document.body.setAttribute('style', 'outline: 1px solid red')")
    page.wait_for_function("window.__cspViolations.length > 0", timeout=5000)
    assert "style-src-attr" in page.evaluate("window.__cspViolations[0]")
    assert any("Content Security Policy" in c for c in complaints), complaints
    complaints.clear()
    drawings: set[str] = set()

    queue = deque(SEEDS)
    seen_kinds: set[str] = set()
    visited: list[str] = []
    while queue and len(visited) < MAX_PAGES:
        url = queue.popleft()
        kind = kind_of(url)
        if kind in seen_kinds or SKIP.search(url):
            continue
        seen_kinds.add(kind)
        current["url"] = url
        try:
            response = page.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT_MS)
        except PlaywrightError as exc:
            if "Download is starting" in str(exc):
                continue  # a file, not a page
            raise AssertionError(f"{url} did not answer; the pages before it: {visited[-3:]}") from exc
        assert response is not None, url
        if response.status >= 400:
            complaints.append(f"{url}: answered {response.status}")
            continue
        if not response.headers.get("content-type", "").startswith("text/html"):
            page.goto("about:blank")  # stop a PDF viewer from fetching it again
            continue  # a PDF shown inline, a JSON answer: no page of ours
        page.wait_for_load_state("load", timeout=PAGE_TIMEOUT_MS)
        visited.append(url)
        assert "no-store" in response.headers.get("cache-control", ""), url
        complaints.extend(f"{url}: {v}" for v in page.evaluate("window.__cspViolations || []"))
        complaints.extend(check_drawings(page, url, drawings))
        queue.extend(local_links(page, site.url))

    # Content htmx swaps in is checked too: a search typed into the patient list.
    current["url"] = "/patients/ (search as you type)"
    if page.goto("/patients/").ok:  # every role but billing
        with page.expect_response(lambda r: "/patients/search/" in r.url):
            page.locator("#patient-search").fill("a")
        page.wait_for_load_state("networkidle")
        complaints.extend(f"search: {v}" for v in page.evaluate("window.__cspViolations || []"))

    kinds = {kind_of(url) for url in visited}
    # The walk reached the pages the issue names (a broken link would shrink it silently).
    expected = {
        "owner": ["/patients/<id>/", "/schedule/week/", "/practice/", "/staff/", "/audit/", "/profile/"],
        "therapist": ["/patients/<id>/", "/schedule/", "/schedule/today/", "/clinical/"],
        "frontdesk": ["/patients/", "/schedule/", "/schedule/today/", "/referrals/"],
        "billing": ["/billing/", "/profile/"],
    }[role]
    missing = [path for path in expected if not any(k.startswith(path) for k in kinds)]
    assert not missing, f"the walk as {role} never reached {missing}; it saw {sorted(kinds)}"
    if role == "owner":  # whose walk reaches an episode with a body chart and measures
        assert drawings == {"body chart", "progress chart", "calendar"}, drawings
    assert complaints == [], f"as {role}, after {len(visited)} pages:\n" + "\n".join(complaints)
