"""No lost edits on a consent form's set-up page (issue 11): new wording is written from
the version the page showed. If someone published other wording meanwhile, publishing is
refused (409), the page shows their wording, and this person's text is kept."""

from django.urls import reverse
from html_forms import form_fields

from effleura.patients.models import ConsentDocumentVersion

WORDING_A = "Massage is manual therapy of the soft tissues (A). You may stop at any time."
WORDING_B = "Massage is manual therapy of the soft tissues (B). You may refuse at any time."


def test_new_wording_from_a_stale_page_is_refused_and_keeps_the_text(client_for, owner, consent_document):
    url = reverse("patients:consent_document_version_new", args=[consent_document.public_id])
    tab_a, tab_b = client_for(owner), client_for(owner)
    form_a, form_b = form_fields(tab_a.get(url).content), form_fields(tab_b.get(url).content)
    assert form_a["version"] == "1"
    assert tab_a.post(url, {**form_a, "body": WORDING_A}).status_code == 302

    answer = tab_b.post(url, {**form_b, "body": WORDING_B})
    assert answer.status_code == 409
    page = answer.content.decode()
    assert "saved this consent form&#x27;s wording" in page and "after you opened it" in page
    assert WORDING_A in page and WORDING_B in page  # theirs, and this person's own text kept
    assert list(consent_document.versions.values_list("version", flat=True).order_by("version")) == [1, 2]

    again = form_fields(page)
    assert again["version"] == "2" and again["body"] == WORDING_B
    assert tab_b.post(url, again).status_code == 302
    assert ConsentDocumentVersion.objects.get(document=consent_document, version=3).body == WORDING_B
