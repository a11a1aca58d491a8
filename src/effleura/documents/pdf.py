"""PDFs from HTML templates: every printable document of the practice (home-care handouts,
referral forms, progress reports, superbills) is a Django template that extends
``documents/letterhead.html`` and is rendered here by WeasyPrint.

Rendering never reaches the network: the URL fetcher below serves the practice's own
static files (from STATIC_ROOT or the static finders) and ``data:`` URIs, and refuses
everything else, so a stray ``<img src="https://…">`` in a template or in typed text
cannot make the server fetch an address. Fonts come from the system (Debian's
fonts-dejavu-core, and fonts-symbola for symbols and emoji when it is installed), never
from a web font service.

What people type may hold characters none of those fonts can draw (an emoji on a machine
without Symbola, a rare script). PDF viewers would show an empty box there, which reads
as a lost word. Before rendering, every such character is dropped, and the document ends
with a note saying some symbols were left out (printable(); docs/decisions/0035-pdf-fonts-symbola-or-left-out.md).
"""

import functools
import logging
import mimetypes
import re
import subprocess
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from effleura.core.models import Practice

log = logging.getLogger(__name__)

# The letterhead every document extends; its stylesheet is documents/letterhead.css.
LETTERHEAD = "documents/letterhead.html"
PDF_CONTENT_TYPE = "application/pdf"
# The font families documents/letterhead.css names, in its order: what a PDF can draw.
FONT_FAMILIES = ("DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono", "Symbola")
LEFT_OUT_NOTE = (
    '<p class="left-out-note">Some symbols (such as emoji) could not be printed with this document’s '
    "fonts and were left out.</p>"
)


class RefusedResource(ValueError):
    """A document asked for something other than our own static files or a data: URI."""


def _static_url_prefix(base_url: str) -> str:
    """The absolute address static files hang off, e.g. "http://clinic.example/static/"."""
    return urljoin(base_url, settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/" + settings.STATIC_URL)


def static_file(name: str) -> Path | None:
    """The file on disk for static ``name`` (as ``{% static %}`` wrote it), or None.

    The finders first (the apps' static/ folders and STATICFILES_DIRS: the current
    sources), then STATIC_ROOT, where collectstatic put the manifest storage's hashed
    names, so rendering works with or without collectstatic."""
    name = name.lstrip("/")
    if not name or ".." in Path(name).parts or "\\" in name:
        return None
    found = finders.find(name)
    if found:
        return Path(found)
    root = Path(settings.STATIC_ROOT).resolve()
    collected = (root / name).resolve()
    if collected.is_file() and collected.is_relative_to(root):
        return collected
    return None


def _make_fetcher(base_url: str):
    # Imported here so that merely importing this module (URL configuration, checks)
    # does not load Pango; only rendering needs it.
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    prefix = _static_url_prefix(base_url)

    class OwnFilesOnly(URLFetcher):
        """Our static files and data: URIs; everything else is refused (no network)."""

        def fetch(self, url, headers=None):
            scheme = urlsplit(url).scheme.lower()
            if scheme == "data":
                # urllib's DataHandler decodes it in memory; no other handler can match.
                return super().fetch(url, headers)
            if url.startswith(prefix):
                path = static_file(unquote(urlsplit(url).path)[len(urlsplit(prefix).path) :])
                if path is not None:
                    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})
            raise RefusedResource("PDFs load only the practice's own static files and data: URIs.")

    return OwnFilesOnly(allowed_protocols=("http", "https", "data"), allow_redirects=False)


# Characters the fonts can't draw -----------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def covered_characters() -> frozenset[int] | None:
    """The code points some font of FONT_FAMILIES draws, as fontconfig finds them on this
    machine (read once per process), or None when fontconfig can't say (then nothing is
    dropped: Pango's own fallback is all there is)."""
    from fontTools.ttLib import TTFont  # WeasyPrint's own dependency

    files: list[str] = []
    for family in FONT_FAMILIES:
        try:
            found = subprocess.run(
                ["fc-list", "--format", "%{file}\n", f":family={family}"],
                capture_output=True,
                text=True,
                check=False,
                timeout=10,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        files += [line for line in found.stdout.splitlines() if line.strip()]
    points: set[int] = set()
    for name in files:
        try:
            with TTFont(name, lazy=True, fontNumber=0) as font:
                points |= set(font.getBestCmap() or {})
        except Exception as exc:  # an unreadable font file draws nothing
            log.warning("Could not read the font %s (%s): its characters are left out.", name, type(exc).__name__)
    return frozenset(points) or None


def _drawable(char: str, covered: frozenset[int]) -> bool:
    return ord(char) < 0x80 or ord(char) in covered or char.isspace()


def printable(html: str, covered: frozenset[int] | None = None) -> tuple[str, int]:
    """``html`` without the characters no font of the document can draw, and how many
    were dropped; when any were, LEFT_OUT_NOTE closes the document. Joiners, variation
    selectors and combining marks stay beside what they belong to and go with a dropped
    symbol (they draw nothing alone), uncounted. ``covered``: the drawable code points
    (default: this machine's fonts, covered_characters())."""
    covered = covered_characters() if covered is None else covered
    if covered is None:
        return html, 0
    kept, dropped, after_dropped = [], 0, False
    for char in html:
        if ord(char) >= 0x80 and unicodedata.category(char) in ("Cf", "Mn", "Me"):
            if not after_dropped:
                kept.append(char)
        elif _drawable(char, covered):
            kept.append(char)
            after_dropped = False
        else:
            dropped += 1
            after_dropped = True
    text = "".join(kept)
    if dropped:
        closing = text.rfind("</body>")
        text = text[:closing] + LEFT_OUT_NOTE + text[closing:] if closing >= 0 else text + LEFT_OUT_NOTE
    return text, dropped


def render_html(template_name: str, context: dict) -> str:
    """The document's HTML, with the letterhead's defaults filled in: ``practice``
    (core.models.Practice.current()) and ``document_date`` (today)."""
    full = {"practice": None, "document_date": None, **context}
    if full["practice"] is None:
        full["practice"] = Practice.current()
    if full["document_date"] is None:
        full["document_date"] = timezone.localdate()
    return render_to_string(template_name, full)


def render_pdf(template_name: str, context: dict, *, base_url: str) -> bytes:
    """Render ``template_name`` (a template extending documents/letterhead.html) to PDF bytes.

    ``base_url`` is the site's own address (``request.build_absolute_uri("/")``, or
    ``"http://localhost/"`` outside a request): the ``{% static %}`` links resolve against
    it and are served from disk by the fetcher, never over the network.
    """
    from weasyprint import HTML

    html, dropped = printable(render_html(template_name, context))
    if dropped:
        log.info("A PDF left out %d character(s) its fonts could not draw.", dropped)
    document = HTML(string=html, base_url=base_url, url_fetcher=_make_fetcher(base_url))
    return document.write_pdf()


def pdf_response(request, template_name: str, context: dict, *, filename: str) -> HttpResponse:
    """The rendered PDF as a response shown in the browser (and saved as ``filename``).

    Never cached: a document carries patient data."""
    data = render_pdf(template_name, context, base_url=request.build_absolute_uri("/"))
    filename = re.sub(r"[^A-Za-z0-9._-]", "-", filename) or "document.pdf"
    response = HttpResponse(data, content_type=PDF_CONTENT_TYPE)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
