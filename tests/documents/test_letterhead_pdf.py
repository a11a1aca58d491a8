"""documents/pdf.py: templates on the practice's letterhead become PDFs, read back with pypdf;
rendering fetches nothing but our own static files and data: URIs."""

import copy
import datetime
import io
from pathlib import Path

import pypdf
import pytest

from effleura.core.models import Practice
from effleura.documents import pdf

BASE = "http://clinic.test/"
SAMPLE = "documents_test/sample.html"


@pytest.fixture(autouse=True)
def _sample_templates(settings):
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [Path(__file__).parent / "templates"]
    settings.TEMPLATES = templates


@pytest.fixture
def practice(db):
    return Practice.objects.create(
        name="Synthetic Bodywork Clinic",
        address_line1="12 Example Street",
        city="Testville",
        region="TS",
        postal_code="00000",
        phone="555-0199",
    )


def text_of(data: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return [page.extract_text() for page in reader.pages]


def test_a_document_carries_the_practice_letterhead_the_recipient_date_and_page_number(practice):
    data = pdf.render_pdf(SAMPLE, {"recipient_name": "Sam", "document_date": datetime.date(2026, 3, 4)}, base_url=BASE)
    assert data.startswith(b"%PDF-")
    (page,) = text_of(data)
    assert "Synthetic Bodywork Clinic" in page
    assert "12 Example Street" in page
    assert "Testville" in page
    assert "555-0199" in page
    assert "For Sam" in page
    assert "March 4, 2026" in page
    assert "First paragraph of the sample." in page
    assert "Page 1 of 1" in page


def test_the_letterhead_and_page_numbers_repeat_on_every_page(practice):
    pages = text_of(pdf.render_pdf(SAMPLE, {"pages": [1, 2]}, base_url=BASE))
    assert len(pages) == 3
    for number, page in enumerate(pages, start=1):
        assert "Synthetic Bodywork Clinic" in page
        assert f"Page {number} of 3" in page


def test_before_set_up_the_letterhead_names_the_configured_practice(db, settings):
    settings.EFFLEURA_PRACTICE_NAME = "Not Yet Set Up Clinic"
    (page,) = text_of(pdf.render_pdf(SAMPLE, {}, base_url=BASE))
    assert "Not Yet Set Up Clinic" in page


def test_todays_date_is_the_default(practice):
    (page,) = text_of(pdf.render_pdf(SAMPLE, {}, base_url=BASE))
    today = datetime.date.today()
    assert f"{today:%B} {today.day}, {today.year}" in page


def test_the_letterhead_stylesheet_is_served_from_our_own_static_files():
    fetch = pdf._make_fetcher(BASE)
    response = fetch(BASE + "static/documents/letterhead.css")
    assert b"@page" in response.read()
    assert response.content_type == "text/css"


def test_a_collected_file_with_a_hashed_name_is_served_from_static_root(tmp_path, settings):
    # In production {% static %} writes the manifest's hashed name, found only in STATIC_ROOT.
    settings.STATIC_ROOT = tmp_path
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "letterhead.0123abcd.css").write_text("@page { margin: 1cm }")
    fetch = pdf._make_fetcher(BASE)
    assert fetch(BASE + "static/documents/letterhead.0123abcd.css").read() == b"@page { margin: 1cm }"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/tracker.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://clinic.test/patients/",  # our own site, but not a static file
        "http://clinic.test/static/../settings.py",
        "http://clinic.test/static/%2e%2e/settings.py",
        "http://clinic.test/static/does/not/exist.css",
        "file:///etc/passwd",
        "ftp://example.com/file",
    ],
)
def test_anything_but_our_static_files_and_data_uris_is_refused(url):
    fetch = pdf._make_fetcher(BASE)
    with pytest.raises(ValueError):
        fetch(url)


def test_a_data_uri_is_decoded_in_memory():
    fetch = pdf._make_fetcher(BASE)
    assert fetch("data:text/plain;base64,aGVsbG8=").read() == b"hello"


def test_a_remote_image_in_a_document_is_skipped_not_fetched(practice, monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("rendering a PDF tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    data = pdf.render_pdf(SAMPLE, {"image": "https://example.com/tracker.png"}, base_url=BASE)
    assert "First paragraph of the sample." in text_of(data)[0]


# Characters no font draws: printed, or left out with a note -------------------------------------

TYPED = "documents_test/typed.html"


def fonts_of(data: bytes) -> set[str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    names = set()
    for page in reader.pages:
        for font in (page.get("/Resources", {}).get("/Font", {}) or {}).values():
            names.add(str(font.get_object().get("/BaseFont", "")))
    return names


def test_an_emoji_typed_into_a_record_is_printed_with_a_symbol_font(practice):
    if pdf.covered_characters() is None or ord("🌿") not in pdf.covered_characters():
        pytest.fail("Symbola (Debian's fonts-symbola) is needed for this test: .ci/run installs it.")
    data = pdf.render_pdf(TYPED, {"typed": "Breathe slowly 🌿 every evening"}, base_url=BASE)
    (page,) = text_of(data)
    assert "🌿" in page and "left out" not in page
    assert any("Symbola" in name for name in fonts_of(data))


def test_a_character_no_font_draws_is_left_out_with_a_note(practice, monkeypatch):
    without_emoji = frozenset(c for c in pdf.covered_characters() or range(0x80, 0x2000) if c != ord("🌿"))
    monkeypatch.setattr(pdf, "covered_characters", lambda: without_emoji)
    data = pdf.render_pdf(TYPED, {"typed": "Breathe slowly 🌿 every evening, café"}, base_url=BASE)
    (page,) = text_of(data)
    assert "🌿" not in page and "Breathe slowly" in page and "every evening, café" in page
    assert "Some symbols (such as emoji) could not be printed" in page


def test_printable_drops_what_no_font_draws_with_its_joiners_and_counts_the_symbols():
    covered = frozenset(map(ord, "Çá—ü’"))
    html, dropped = pdf.printable("<body><p>Ça—vá 👍🏽 ❤\ufe0f 👨\u200d👩 ü’s</p></body>", covered)
    # 👍, its skin tone, ❤, 👨 and 👩; the variation selector and the joiner go with them uncounted.
    assert dropped == 5
    assert html == "<body><p>Ça—vá    ü’s</p>" + pdf.LEFT_OUT_NOTE + "</body>"


def test_a_document_with_nothing_to_drop_is_unchanged():
    html = "<body><p>Plain words, café — fine.</p></body>"
    assert pdf.printable(html, frozenset(map(ord, "é—"))) == (html, 0)
