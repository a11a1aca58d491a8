"""No lost edits in referrals (issue 11): a referral, a referring provider and a report draft
carry a version. Two people editing the same one: the second save is refused (409 on the
page, naming what the first changed and keeping the second's input; 412 in the API with
the current version) and nothing changes; saving again over the newer version works."""

import datetime
import json

import pytest
from django.db import connection
from django.urls import reverse
from html_forms import form_fields
from race_helpers import racing_writes, token_client

from effleura.referrals import reports
from effleura.referrals.choices import ReportStatus
from effleura.referrals.models import Referral, Report

from .conftest import today


def patch(client, url, data, **headers):
    return client.patch(url, json.dumps(data), content_type="application/json", **headers)


@pytest.fixture
def draft(therapist, make_patient):
    """A progress report draft by the therapist, over a fresh episode."""
    from effleura.clinical import episodes

    patient = make_patient()
    opened = today() - datetime.timedelta(days=14)
    data = {"title": "Neck pain (synthetic)", "therapist": therapist, "opened_on": opened}
    episode = episodes.do_open_episode(therapist, patient, episodes.check_open_episode(therapist, patient, data))
    return reports.do_create_report(therapist, reports.check_create_report(therapist, episode, {}))


# Referrals ---------------------------------------------------------------------------------------


def test_a_new_referral_is_version_1(referral):
    assert referral.version == 1


def test_a_stale_referral_edit_is_refused_and_shows_what_the_other_person_changed(client_for, front_desk, referral):
    url = reverse("referrals:referral_edit", args=[referral.public_id])
    tab_a, tab_b = client_for(front_desk), client_for(front_desk)
    form_a, form_b = form_fields(tab_a.get(url).content), form_fields(tab_b.get(url).content)
    assert form_a["version"] == "1"
    assert tab_a.post(url, {**form_a, "reason": "Neck pain after a fall (A)", "weeks": "6"}).status_code == 302

    answer = tab_b.post(url, {**form_b, "reason": "Shoulder pain (B)"})
    assert answer.status_code == 409
    page = answer.content.decode()
    assert "saved this referral" in page and "after you opened it" in page
    assert "Nothing of yours has been saved yet." in page
    assert "Neck pain after a fall (A)" in page  # what A saved…
    assert "Shoulder pain (B)" in page  # …and B's own input, kept to re-apply
    saved = Referral.objects.get(pk=referral.pk)
    assert (saved.reason, saved.weeks, saved.version) == ("Neck pain after a fall (A)", 6, 2)

    again = form_fields(page)
    assert again["version"] == "2" and again["reason"] == "Shoulder pain (B)"
    assert tab_b.post(url, again).status_code == 302
    saved.refresh_from_db()
    assert (saved.reason, saved.version) == ("Shoulder pain (B)", 3)


def test_closing_a_referral_counts_as_a_write(front_desk, referral):
    from effleura.referrals import referral_actions

    referral_actions.check_close_referral(front_desk, referral)
    closed = referral_actions.do_close_referral(front_desk, referral)
    assert closed.version == Referral.objects.get(pk=referral.pk).version == 2


def test_the_referral_api_sends_the_version_and_refuses_a_stale_patch(client_for, front_desk, referral):
    client = client_for(front_desk)
    url = reverse("api:referral", args=[referral.public_id])
    got = client.get(url)
    assert got["ETag"] == '"1"' and got.json()["version"] == 1
    first = patch(client, url, {"reason": "From the API (A)"}, HTTP_IF_MATCH='"1"')
    assert first.status_code == 200 and first["ETag"] == '"2"' and first.json()["version"] == 2
    stale = patch(client, url, {"reason": "From the API (B)"}, HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412 and stale.json()["version"] == 2 and stale["ETag"] == '"2"'
    assert Referral.objects.get(pk=referral.pk).reason == "From the API (A)"
    assert patch(client, url, {"reason": "x"}, HTTP_IF_MATCH="two").status_code == 412
    assert patch(client, url, {"reason": "Any (C)"}, HTTP_IF_MATCH="*").status_code == 200
    assert patch(client, url, {"reason": "No header (D)"}).status_code == 200
    assert Referral.objects.get(pk=referral.pk).version == 4
    listed = client.get(reverse("api:patient_referrals", args=[referral.patient.public_id])).json()
    assert listed[0]["version"] == 4


def test_a_new_referral_answer_carries_its_etag(client_for, front_desk, referral_patient, provider):
    data = {
        "provider_id": str(provider.public_id),
        "referral_date": today().isoformat(),
        "diagnosis_codes": ["M54.50"],
        "visits_authorized": 10,
        "valid_until": (today() + datetime.timedelta(days=30)).isoformat(),
    }
    url = reverse("api:patient_referrals", args=[referral_patient.public_id])
    made = client_for(front_desk).post(url, json.dumps(data), content_type="application/json")
    assert made.status_code == 201 and made["ETag"] == '"1"' and made.json()["version"] == 1


# Referring providers (their API is the app's own) --------------------------------------------------


def test_the_provider_api_sends_the_version_and_refuses_a_stale_patch(client_for, front_desk, provider):
    client = client_for(front_desk)
    url = reverse("api:referring_provider", args=[provider.public_id])
    assert client.get(url)["ETag"] == '"1"'
    assert patch(client, url, {"fax": "555-0123"}, HTTP_IF_MATCH='"1"')["ETag"] == '"2"'
    stale = patch(client, url, {"fax": "555-0999", "is_active": False}, HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412 and stale.json()["version"] == 2
    provider.refresh_from_db()
    assert (provider.fax, provider.is_active, provider.version) == ("555-0123", True, 2)
    # Deactivating is a write too: it moves the version on.
    gone = patch(client, url, {"is_active": False}, HTTP_IF_MATCH='"2"')
    assert gone.status_code == 200 and gone.json()["version"] == 3


# Report drafts -----------------------------------------------------------------------------------


def test_a_stale_report_edit_is_refused_and_keeps_the_authors_text(client_for, therapist, draft):
    url = reverse("referrals:report_edit", args=[draft.public_id])
    tab_a, tab_b = client_for(therapist), client_for(therapist)
    form_a, form_b = form_fields(tab_a.get(url).content), form_fields(tab_b.get(url).content)
    assert form_a["version"] == str(draft.version) == "1"
    assert tab_a.post(url, {**form_a, "summary": "Better every week (tab A)."}).status_code == 302

    answer = tab_b.post(url, {**form_b, "recommendations": "Four more visits (tab B)."})
    assert answer.status_code == 409
    page = answer.content.decode()
    assert "saved this report" in page and "after you opened it" in page
    assert "Better every week (tab A)." in page and "Four more visits (tab B)." in page
    saved = Report.objects.get(pk=draft.pk)
    assert saved.summary == "Better every week (tab A)." and saved.recommendations == draft.recommendations

    again = form_fields(page)
    assert again["version"] == "2"
    assert tab_b.post(url, {**again, "summary": "Better every week (tab A)."}).status_code == 302
    saved.refresh_from_db()
    assert (saved.recommendations, saved.version) == ("Four more visits (tab B).", 3)


def test_signing_a_report_moves_its_version_on(therapist, draft):
    from effleura.referrals import report_sending

    report_sending.check_sign_report(therapist, draft)
    report_sending.do_sign_report(therapist, draft)
    signed = Report.objects.get(pk=draft.pk)
    assert (signed.status, signed.version) == (ReportStatus.SIGNED, 2)


def test_the_sign_button_signs_only_the_version_the_page_showed(client_for, therapist, draft):
    web = client_for(therapist)
    sign = reverse("referrals:report_sign", args=[draft.public_id])
    stale = form_fields(web.get(reverse("referrals:report", args=[draft.public_id])).content, action=sign)
    assert stale["version"] == "1"
    reports.do_update_report(therapist, draft, {"summary": "Edited in another tab."})
    answer = web.post(sign, stale, follow=True)
    assert "Someone else saved this report after you opened it" in answer.content.decode()
    assert Report.objects.get(pk=draft.pk).status == ReportStatus.DRAFT
    web.post(sign, {"version": "2"})
    assert Report.objects.get(pk=draft.pk).status == ReportStatus.SIGNED


def test_the_report_api_sends_the_version_and_refuses_a_stale_patch(client_for, therapist, draft):
    client = client_for(therapist)
    url = reverse("api:report", args=[draft.public_id])
    assert client.get(url)["ETag"] == '"1"' and client.get(url).json()["version"] == 1
    first = patch(client, url, {"summary": "API (A)"}, HTTP_IF_MATCH='"1"')
    assert first.status_code == 200 and first["ETag"] == '"2"'
    stale = patch(client, url, {"summary": "API (B)"}, HTTP_IF_MATCH='W/"1"')
    assert stale.status_code == 412 and stale.json()["version"] == 2
    assert Report.objects.get(pk=draft.pk).summary == "API (A)"
    assert patch(client, url, {"summary": "x"}, HTTP_IF_MATCH='"x"').status_code == 412
    assert patch(client, url, {"summary": "API (C)"}, HTTP_IF_MATCH="*").status_code == 200


# Races (PostgreSQL) --------------------------------------------------------------------------------


def _race(user, path: str, body: dict) -> list[int]:
    """Two API clients of ``user`` PATCH ``path`` with ``body`` and If-Match "1" at once."""
    return sorted(racing_writes([token_client(user, "a"), token_client(user, "b")], "PATCH", path, body, '"1"'))


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the threads race on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_referral_patches_with_the_same_version_let_one_in(front_desk, referral):
    assert _race(front_desk, f"/referrals/{referral.public_id}", {"reason": "Race"}) == [200, 412]
    referral.refresh_from_db()
    assert (referral.reason, referral.version) == ("Race", 2)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the threads race on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_report_patches_with_the_same_version_let_one_in(therapist, draft):
    assert _race(therapist, f"/reports/{draft.public_id}", {"summary": "Race"}) == [200, 412]
    draft.refresh_from_db()
    assert (draft.summary, draft.version) == ("Race", 2)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the threads race on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_provider_patches_with_the_same_version_let_one_in(front_desk, provider):
    assert _race(front_desk, f"/referring-providers/{provider.public_id}", {"fax": "555-0001"}) == [200, 412]
    provider.refresh_from_db()
    assert (provider.fax, provider.version) == ("555-0001", 2)


def test_the_api_refuses_replacing_or_removing_a_scan_from_a_stale_read(api_as, front_desk, referral):
    from .conftest import PNG_BYTES, upload

    client = api_as(front_desk)
    path = f"/api/v1/referrals/{referral.public_id}/original"
    version = Referral.objects.get(pk=referral.pk).version
    replaced = client.post(
        path, {"original": upload(PNG_BYTES, "photo.png", "image/png")}, HTTP_IF_MATCH=f'"{version}"'
    )
    assert replaced.status_code == 200 and replaced["ETag"] == f'"{version + 1}"'
    stale_remove = client.delete(path, HTTP_IF_MATCH=f'"{version}"')
    stale_replace = client.post(path, {"original": upload()}, HTTP_IF_MATCH=f'"{version}"')
    assert (stale_remove.status_code, stale_replace.status_code) == (412, 412)
    kept = Referral.objects.get(pk=referral.pk)
    assert kept.original_name == "photo.png" and kept.version == version + 1
