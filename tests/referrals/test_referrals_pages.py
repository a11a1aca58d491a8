"""Referral pages: the patient's list (bounded queries), new/edit in the browser with the
upload, the referral page, and the scanned original served only through the permission
check with safe headers, audited."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from effleura.core.models import AuditEvent
from effleura.referrals.models import Referral

from .conftest import PDF_BYTES, PNG_BYTES, today, upload


def form_data(provider, **fields) -> dict:
    return {
        "provider": str(provider.public_id),
        "referral_date": today().isoformat(),
        "diagnosis_codes": "M54.50, M62.830",
        "reason": "Low back pain (synthetic)",
        "sessions_per_week": "2",
        "weeks": "4",
        "visits_authorized": "8",
        "valid_from": today().isoformat(),
        "valid_until": (today() + datetime.timedelta(days=60)).isoformat(),
        **fields,
    }


def test_front_desk_records_a_referral_with_its_scan(client_for, front_desk, referral_patient, provider):
    client = client_for(front_desk)
    url = reverse("referrals:referral_new", args=[referral_patient.public_id])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'enctype="multipart/form-data"' in html and reverse("referrals:diagnosis_search") in html
    answer = client.post(url, form_data(provider, original=upload(PDF_BYTES, "Doe_Jane.pdf")))
    referral = Referral.objects.get(patient=referral_patient)
    assert answer.status_code == 302 and answer["Location"] == reverse("referrals:referral", args=[referral.public_id])
    assert referral.diagnosis_codes == ["M54.50", "M62.830"] and referral.original_type == "application/pdf"


def test_the_form_shows_errors_beside_the_fields(client_for, front_desk, referral_patient, provider):
    client = client_for(front_desk)
    url = reverse("referrals:referral_new", args=[referral_patient.public_id])
    fake = upload(b"plain text, not a PDF", "scan.pdf", "application/pdf")
    data = form_data(provider, diagnosis_codes="M54.5", valid_until="2000-01-01", original=fake)
    html = client.post(url, data).content.decode()
    assert "Not a valid ICD-10-CM code: M54.5." in html
    assert "must be on or after" in html
    assert not Referral.objects.exists()
    html = client.post(url, form_data(provider, original=upload(b"plain text", "scan.pdf"))).content.decode()
    assert "PDF, PNG or JPEG" in html and not Referral.objects.exists()


def test_the_diagnosis_search_answers_while_typing(client_for, front_desk):
    answer = client_for(front_desk).get(reverse("referrals:diagnosis_search"), {"q": "low back"})
    assert answer.status_code == 200 and "M54.50" in answer.content.decode()


def test_editing_in_the_browser(client_for, front_desk, referral, provider):
    client = client_for(front_desk)
    url = reverse("referrals:referral_edit", args=[referral.public_id])
    assert "M54.50" in client.get(url).content.decode()
    assert client.post(url, form_data(provider, visits_authorized="20")).status_code == 302
    referral.refresh_from_db()
    assert referral.visits_authorized == 20 and referral.original  # the scan stays


def test_the_patient_list_in_bounded_queries(client_for, billing, referral_patient, make_referral, make_provider):
    client = client_for(billing)
    url = reverse("referrals:patient_referrals", args=[referral_patient.public_id])
    make_referral(referral_patient)
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(4):
        make_referral(referral_patient, provider=make_provider(last_name=f"Other{n}"), original=upload())
    with CaptureQueriesContext(connection) as five:
        page = client.get(url)
    assert page.status_code == 200 and "Other3" in page.content.decode()
    assert len(five) == len(one)


def test_the_referral_page_links_the_original_through_the_permission_check(client_for, billing, referral, settings):
    html = client_for(billing).get(reverse("referrals:referral", args=[referral.public_id])).content.decode()
    original_url = reverse("referrals:referral_original", args=[referral.public_id])
    assert original_url in html
    assert original_url.startswith("/referrals/")
    assert not original_url.startswith(("/static/", "/media/", settings.STATIC_URL))
    assert referral.original.name not in html  # the storage path is never shown
    assert "Edit" not in html.split("</h2>")[0]  # billing reads, does not change


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing"])
def test_the_original_is_served_with_safe_headers_and_audited(request, client_for, role, referral):
    user = request.getfixturevalue(role)
    answer = client_for(user).get(reverse("referrals:referral_original", args=[referral.public_id]))
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == PDF_BYTES
    assert answer["Content-Type"] == "application/pdf"
    assert answer["Content-Disposition"] == 'inline; filename="referral.pdf"'
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in answer["Cache-Control"]
    event = AuditEvent.objects.get(actor_username=user.username, detail="original viewed")
    assert event.action == "read" and event.patient_id == referral.patient.public_id


def test_a_png_is_served_as_png(client_for, owner, referral):
    from effleura.referrals import referral_actions

    referral_actions.do_attach_original(
        owner, referral, referral_actions.check_original(owner, referral, upload(PNG_BYTES))
    )
    answer = client_for(owner).get(reverse("referrals:referral_original", args=[referral.public_id]))
    assert answer["Content-Type"] == "image/png"
    assert answer["Content-Disposition"] == 'inline; filename="referral.png"'


def test_outsiders_and_anonymous_never_get_the_original(client, client_for, outsider, referral):
    url = reverse("referrals:referral_original", args=[referral.public_id])
    refused = client_for(outsider).get(url)
    assert refused.status_code == 403 and PDF_BYTES not in refused.content
    anonymous = client.get(url)
    assert anonymous.status_code in (302, 401, 403)
    assert not hasattr(anonymous, "streaming_content")
    assert not AuditEvent.objects.filter(detail="original viewed").exists()


def test_the_media_path_is_not_served(client, client_for, owner, referral):
    assert client_for(owner).get("/media/" + referral.original.name).status_code == 404


def test_no_original_answers_404(client_for, owner, make_referral, referral_patient):
    bare = make_referral(referral_patient)
    assert client_for(owner).get(reverse("referrals:referral_original", args=[bare.public_id])).status_code == 404


@pytest.mark.parametrize("role", ["billing", "outsider"])
def test_billing_and_outsiders_cannot_change_a_referral(request, client_for, role, referral, provider):
    client = client_for(request.getfixturevalue(role))
    rid = referral.public_id
    assert client.get(reverse("referrals:referral_new", args=[referral.patient.public_id])).status_code == 403
    assert client.post(reverse("referrals:referral_edit", args=[rid]), form_data(provider)).status_code == 403
    assert client.post(reverse("referrals:referral_close", args=[rid])).status_code == 403
    assert client.post(reverse("referrals:referral_original_remove", args=[rid])).status_code == 403
    assert (
        client.post(reverse("referrals:referral_original_upload", args=[rid]), {"original": upload()}).status_code
        == 403
    )
    referral.refresh_from_db()
    assert not referral.is_closed and referral.original


def test_a_broken_multipart_upload_is_a_400_page_not_a_500(client_for, front_desk, referral):
    # No boundary in the Content-Type: there is no form to read (found by fuzzing the API).
    path = reverse("referrals:referral_original_upload", args=[referral.public_id])
    response = client_for(front_desk).generic("POST", path, b"--x\r\nnot a form", content_type="multipart/form-data")
    assert response.status_code == 400
    assert "could not be read" in response.content.decode()
    referral.refresh_from_db()
    assert referral.original


def test_outsiders_cannot_read_referrals(client_for, outsider, referral):
    client = client_for(outsider)
    assert client.get(reverse("referrals:referral", args=[referral.public_id])).status_code == 403
    assert client.get(reverse("referrals:patient_referrals", args=[referral.patient.public_id])).status_code == 403


def test_replace_remove_and_close_in_the_browser(client_for, front_desk, referral):
    client = client_for(front_desk)
    rid = referral.public_id
    bad = client.post(reverse("referrals:referral_original_upload", args=[rid]), {"original": upload(b"text")})
    assert bad.status_code == 400 and "PDF, PNG or JPEG" in bad.content.decode()
    ok = client.post(reverse("referrals:referral_original_upload", args=[rid]), {"original": upload(PNG_BYTES)})
    assert ok.status_code == 302
    referral.refresh_from_db()
    assert referral.original_type == "image/png"
    client.post(reverse("referrals:referral_original_remove", args=[rid]))
    client.post(reverse("referrals:referral_close", args=[rid]))
    referral.refresh_from_db()
    assert not referral.original and referral.is_closed
    assert client.get(reverse("referrals:referral_edit", args=[rid])).status_code == 302


def test_the_form_shows_the_fields_and_the_scans_problems_at_once(client_for, front_desk, referral_patient, provider):
    client = client_for(front_desk)
    url = reverse("referrals:referral_new", args=[referral_patient.public_id])
    fake = upload(b"plain text, not a PDF", "scan.pdf", "application/pdf")
    # visits_authorized is refused by the form; the codes, the dates and the scan by the actions.
    data = form_data(provider, diagnosis_codes="M54.5", valid_until="2000-01-01", visits_authorized="", original=fake)
    html = client.post(url, data).content.decode()
    assert "4 problems need fixing before this can be saved" in html
    assert "Not a valid ICD-10-CM code: M54.5." in html and "must be on or after" in html
    assert "PDF, PNG or JPEG" in html
    for field in ("diagnosis_codes", "valid_until", "visits_authorized", "original"):
        assert f'<a href="#id_{field}">' in html
    assert not Referral.objects.exists()
