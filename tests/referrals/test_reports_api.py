"""The reports API (referrals/api_reports.py): generate, read, edit the draft (author only),
sign, send (email with the PDF, fax recorded), the signed PDF; refusals per role; audit."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import NoReverseMatch, reverse

from effleura.core.choices import AuditAction
from effleura.core.models import AuditEvent

from . import test_reports as base
from .test_reports import ago, flat, pdf_text

# This module's fixtures are test_reports.py's own.
r3_patient, r3_course, r3_provider, r3_referral = (base.r3_patient, base.r3_course, base.r3_provider, base.r3_referral)


def _registered() -> bool:
    try:
        reverse("api:report_sign", args=["00000000-0000-4000-8000-000000000000"])
    except NoReverseMatch:
        return False
    return True


@pytest.fixture(autouse=True)
def _needs_the_router(db):
    if not _registered():
        pytest.skip("referrals/api_reports.py router not registered in effleura/api/api.py yet")


class Api(Client):
    def send(self, method: str, path: str, body=None, **extra):
        if body is not None:
            extra.setdefault("content_type", "application/json")
            extra["data"] = body
        return getattr(self, method.lower())("/api/v1" + path, **extra)


@pytest.fixture
def api_for(db):
    from effleura.core.actions import do_create_api_token

    def make(user):
        _token, raw = do_create_api_token(user, "tests")
        return Api(HTTP_AUTHORIZATION=f"Bearer {raw}")

    return make


def test_generate_edit_sign_send_and_print(
    api_for, therapist, r3_course, r3_referral, django_capture_on_commit_callbacks
):
    api = api_for(therapist)
    created = api.send("POST", f"/episodes/{r3_course.public_id}/reports", {"period_start": ago(21).isoformat()})
    assert created.status_code == 201, created.content
    body = created.json()
    rid = body["id"]
    assert body["status"] == "draft" and body["referral"] == str(r3_referral.public_id)
    assert body["content"]["visits"]["attended"] == 2 and body["content"]["technique_minutes"] == 80
    assert api.send("GET", f"/reports/{rid}/report.pdf").status_code == 422  # a draft is not printed
    patched = api.send("PATCH", f"/reports/{rid}", {"recommendations": "Two more weeks."})
    assert patched.status_code == 200 and patched.json()["recommendations"] == "Two more weeks."
    assert api.send("POST", f"/reports/{rid}/send", {"method": "fax", "to": "555-0199"}).status_code == 422
    signed = api.send("POST", f"/reports/{rid}/sign", {})
    assert signed.status_code == 200 and signed.json()["status"] == "signed"
    assert api.send("PATCH", f"/reports/{rid}", {"summary": "late"}).status_code == 422
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.send("POST", f"/reports/{rid}/send", {"method": "email"})
    assert sent.status_code == 201 and sent.json()["to"] == "dr.okafor@example.test"
    assert mail.outbox[0].attachments[0][2] == "application/pdf"
    assert api.send("POST", f"/reports/{rid}/send", {"method": "fax", "to": ""}).json()["to"] == "555-0199"
    deliveries = api.send("GET", f"/reports/{rid}").json()["deliveries"]
    assert [d["method"] for d in deliveries] == ["email", "fax"] and deliveries[0]["sent_at"]
    pdf = api.send("GET", f"/reports/{rid}/report.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = flat(pdf_text(pdf.content))
    assert "Two more weeks." in text and "M54.50" in text and "Secretcomplaint" not in text
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, record_id=rid).count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.PRINT, record_id=rid).count() == 1
    assert [r["id"] for r in api.send("GET", f"/episodes/{r3_course.public_id}/reports").json()] == [rid]


def test_only_the_author_edits_and_signs(api_for, therapist, owner, r3_course):
    rid = api_for(therapist).send("POST", f"/episodes/{r3_course.public_id}/reports", {}).json()["id"]
    other = api_for(owner)
    assert other.send("GET", f"/reports/{rid}").status_code == 200
    assert other.send("PATCH", f"/reports/{rid}", {"summary": "x"}).status_code == 422
    assert other.send("POST", f"/reports/{rid}/sign", {}).status_code == 422


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_refused_to_non_clinicians(api_for, personas, therapist, role, r3_course):
    rid = api_for(therapist).send("POST", f"/episodes/{r3_course.public_id}/reports", {}).json()["id"]
    api = api_for(personas[role])
    assert api.send("GET", f"/reports/{rid}").status_code == 403
    assert api.send("GET", f"/episodes/{r3_course.public_id}/reports").status_code == 403
    assert api.send("POST", f"/episodes/{r3_course.public_id}/reports", {}).status_code == 403
    assert api.send("POST", f"/reports/{rid}/send", {"method": "fax", "to": "555-0199"}).status_code == 403
    assert api.send("GET", f"/reports/{rid}/report.pdf").status_code == 403
