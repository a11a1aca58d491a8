"""Fixtures shared by the referrals tests: a referring provider and a referral for a
synthetic patient, made through the real actions (referrals/providers.py,
referrals/referral_actions.py). Scan bytes for upload tests."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

# Valid NPIs computed with the Luhn check digit over 80840 + the first 9 digits.
NPI_A = "1234567893"
NPI_B = "1045678905"
NPI_C = "1987654328"

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded scans go to a throw-away MEDIA_ROOT."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


def upload(content: bytes = PDF_BYTES, name: str = "scan.pdf", content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def today() -> datetime.date:
    return timezone.localdate()


@pytest.fixture
def make_provider(db, owner):
    """make_provider(**fields) -> a referring provider made through the real action."""
    from effleura.referrals import providers

    def make(actor=owner, **fields):
        data = {"first_name": "Testdoc", "last_name": "Synthetic", "credentials": "MD", **fields}
        return providers.do_save_provider(actor, providers.check_save_provider(actor, data))

    return make


@pytest.fixture
def provider(make_provider):
    return make_provider(
        first_name="Ada",
        last_name="Fakeson",
        practice_name="Synthetic Family Medicine",
        npi=NPI_A,
        phone="555-0199",
        fax="555-0198",
    )


@pytest.fixture
def make_referral(db, front_desk, provider):
    """make_referral(patient, actor=..., original=None, **fields) -> a referral made through
    the real actions (front desk enters referrals)."""
    from effleura.referrals import referral_actions

    def make(patient, actor=front_desk, original=None, **fields):
        data = {
            "provider": provider,
            "referral_date": today() - datetime.timedelta(days=3),
            "diagnosis_codes": ["M54.50"],
            "reason": "Low back pain (synthetic)",
            "sessions_per_week": 1,
            "weeks": 8,
            "visits_authorized": 8,
            "valid_from": today() - datetime.timedelta(days=3),
            "valid_until": today() + datetime.timedelta(days=90),
            **fields,
        }
        clean = referral_actions.check_save_referral(actor, patient, data)
        scan = referral_actions.check_original(actor, patient, original) if original is not None else None
        return referral_actions.do_save_referral(actor, patient, clean, original=scan)

    return make


@pytest.fixture
def referral_patient(make_patient):
    return make_patient()


@pytest.fixture
def referral(make_referral, referral_patient):
    """A referral with a scanned PDF original."""
    return make_referral(referral_patient, original=upload())
