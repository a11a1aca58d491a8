"""Uploads are kept, never deleted: replacing or removing a referral's scan keeps the old
file as an earlier version, shown to those who may see the referral and served through
the permission check, audited. A scan missing from storage is a clear 404, not a 500."""

import os

import pytest
from django.urls import reverse

from effleura.core.models import AuditEvent
from effleura.core.stored_files import MISSING_MESSAGE
from effleura.referrals import referral_actions
from effleura.referrals.choices import ScanSuperseded
from effleura.referrals.models import EarlierScan

from .conftest import PDF_BYTES, PNG_BYTES, upload

STAFF = ["owner", "therapist", "front_desk", "billing"]


def replace(actor, referral, content=PNG_BYTES, name="second.png"):
    scan = referral_actions.check_original(actor, referral, upload(content, name, "image/png"))
    return referral_actions.do_attach_original(actor, referral, scan)


def remove(actor, referral):
    referral_actions.check_remove_original(actor, referral)
    return referral_actions.do_remove_original(actor, referral)


def test_replacing_a_scan_keeps_the_old_file_as_an_earlier_version(
    front_desk, referral, django_capture_on_commit_callbacks
):
    old_name, old_path = referral.original.name, referral.original.path
    with django_capture_on_commit_callbacks(execute=True):
        replace(front_desk, referral)
    earlier = EarlierScan.objects.get(referral=referral)
    assert earlier.file.name == old_name and os.path.exists(old_path)
    assert earlier.why == ScanSuperseded.REPLACED and earlier.superseded_by == front_desk
    assert earlier.content_type == "application/pdf" and earlier.size == len(PDF_BYTES)
    assert earlier.name == "scan.pdf"
    assert referral.original.name != old_name and referral.original_type == "image/png"


def test_removing_a_scan_hides_it_from_the_referral_but_keeps_file_and_record(
    front_desk, referral, django_capture_on_commit_callbacks
):
    path = referral.original.path
    with django_capture_on_commit_callbacks(execute=True):
        remove(front_desk, referral)
    referral.refresh_from_db()
    assert not referral.original
    earlier = EarlierScan.objects.get(referral=referral)
    assert earlier.why == ScanSuperseded.REMOVED and os.path.exists(path)
    assert AuditEvent.objects.filter(record_id=str(referral.public_id), detail="original removed").count() == 1


def test_every_replacement_adds_one_earlier_version_newest_first(front_desk, referral):
    replace(front_desk, referral, name="two.png")
    replace(front_desk, referral, content=PDF_BYTES + b"3", name="three.png")
    remove(front_desk, referral)
    earlier = list(EarlierScan.objects.filter(referral=referral))
    assert [e.why for e in earlier] == ["removed", "replaced", "replaced"]
    assert len({e.file.name for e in earlier}) == 3
    assert all(os.path.exists(e.file.path) for e in earlier)


def test_editing_the_referral_with_a_new_scan_keeps_the_old_one(front_desk, referral, provider):
    old_name = referral.original.name
    data = {"visits_authorized": 12}
    clean = referral_actions.check_save_referral(front_desk, referral.patient, data, referral)
    scan = referral_actions.check_original(front_desk, referral, upload(PNG_BYTES, "new.png", "image/png"))
    referral_actions.do_save_referral(front_desk, referral.patient, clean, referral, scan)
    assert EarlierScan.objects.get(referral=referral).file.name == old_name


@pytest.mark.parametrize("role", STAFF)
def test_staff_who_may_see_the_referral_see_its_earlier_versions(request, client_for, front_desk, role, referral):
    replace(front_desk, referral)
    earlier = EarlierScan.objects.get(referral=referral)
    user = request.getfixturevalue(role)
    html = client_for(user).get(reverse("referrals:referral", args=[referral.public_id])).content.decode()
    url = reverse("referrals:referral_earlier_scan", args=[referral.public_id, earlier.public_id])
    assert "Earlier versions" in html and url in html
    assert earlier.file.name not in html  # the storage path is never shown
    answer = client_for(user).get(url)
    assert answer.status_code == 200 and b"".join(answer.streaming_content) == PDF_BYTES
    assert answer["Content-Type"] == "application/pdf" and "no-store" in answer["Cache-Control"]
    assert answer["Content-Disposition"] == 'inline; filename="referral-earlier.pdf"'
    event = AuditEvent.objects.get(actor_username=user.username, detail="earlier original viewed")
    assert event.action == "read" and event.patient_id == referral.patient.public_id


def test_outsiders_and_anonymous_never_get_an_earlier_version(client, client_for, front_desk, outsider, referral):
    replace(front_desk, referral)
    earlier = EarlierScan.objects.get(referral=referral)
    url = reverse("referrals:referral_earlier_scan", args=[referral.public_id, earlier.public_id])
    refused = client_for(outsider).get(url)
    assert refused.status_code == 403 and PDF_BYTES not in refused.content
    assert client.get(url).status_code in (302, 401, 403)
    assert not AuditEvent.objects.filter(detail="earlier original viewed").exists()


def test_an_earlier_version_is_reached_only_through_its_own_referral(
    client_for, owner, front_desk, referral, make_referral, referral_patient
):
    replace(front_desk, referral)
    earlier = EarlierScan.objects.get(referral=referral)
    other = make_referral(referral_patient, original=upload())
    url = reverse("referrals:referral_earlier_scan", args=[other.public_id, earlier.public_id])
    assert client_for(owner).get(url).status_code == 404


def test_a_scan_missing_from_storage_answers_a_clear_404_page(client_for, owner, referral):
    os.remove(referral.original.path)
    answer = client_for(owner).get(reverse("referrals:referral_original", args=[referral.public_id]))
    assert answer.status_code == 404
    html = answer.content.decode()
    assert MISSING_MESSAGE.replace("'", "&#x27;") in html
    assert referral.original.name not in html


def test_an_earlier_version_missing_from_storage_answers_a_clear_404_page(client_for, owner, front_desk, referral):
    replace(front_desk, referral)
    earlier = EarlierScan.objects.get(referral=referral)
    os.remove(earlier.file.path)
    url = reverse("referrals:referral_earlier_scan", args=[referral.public_id, earlier.public_id])
    answer = client_for(owner).get(url)
    assert answer.status_code == 404 and "missing from storage" in answer.content.decode()


def test_a_missing_scan_is_a_json_404_under_the_api(client_for, owner, referral):
    """An API client following a file link gets the same words as JSON, not a 500."""
    from effleura.core.stored_files import StoredFileMissing, open_stored

    os.remove(referral.original.path)
    with pytest.raises(StoredFileMissing) as caught:
        open_stored(referral.original, referral.public_id)
    assert str(caught.value) == MISSING_MESSAGE
    from django.test import RequestFactory

    from effleura.core.views import not_found

    request = RequestFactory().get("/api/v1/referrals/x/original")
    request.user = owner
    answer = not_found(request, caught.value)
    assert answer.status_code == 404 and answer["Content-Type"] == "application/json"
    assert MISSING_MESSAGE in answer.content.decode()


def test_replacing_a_scan_whose_file_is_missing_still_works(front_desk, referral):
    os.remove(referral.original.path)
    replace(front_desk, referral)
    assert referral.original_type == "image/png"
    assert EarlierScan.objects.filter(referral=referral).count() == 1
