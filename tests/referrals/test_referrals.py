"""Referrals: validation in plain words, the scanned original (type by content, size,
random name, replace/remove), closing, audit, roles."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from effleura.core.models import AuditEvent
from effleura.referrals import referral_actions
from effleura.referrals.models import Referral

from .conftest import JPEG_BYTES, PDF_BYTES, PNG_BYTES, today, upload


def errors_of(actor, patient, data, referral=None) -> dict:
    with pytest.raises(ValidationError) as caught:
        referral_actions.check_save_referral(actor, patient, data, referral)
    return {k: " ".join(v) for k, v in caught.value.message_dict.items()}


def base(provider, **fields) -> dict:
    return {
        "provider": provider,
        "referral_date": today(),
        "diagnosis_codes": ["M54.50"],
        "visits_authorized": 8,
        "valid_until": today() + datetime.timedelta(days=60),
        **fields,
    }


def test_a_referral_is_recorded_with_its_fields(front_desk, referral_patient, provider, make_referral):
    referral = make_referral(referral_patient, diagnosis_codes="m54.50, M62.830; M54.50", precautions="No prone.")
    assert referral.diagnosis_codes == ["M54.50", "M62.830"]
    assert referral.provider == provider and referral.created_by == front_desk
    assert referral.precautions == "No prone." and not referral.is_closed
    event = AuditEvent.objects.get(record_type="referral", detail="referral recorded")
    assert event.patient_id == referral_patient.public_id and event.action == "create"


def test_valid_from_defaults_to_the_referral_date(front_desk, referral_patient, provider):
    clean = referral_actions.check_save_referral(front_desk, referral_patient, base(provider))
    assert clean["valid_from"] == today()


def test_required_fields_are_named(front_desk, referral_patient):
    errors = errors_of(front_desk, referral_patient, {})
    assert errors["provider"].startswith("Choose the referring provider")
    assert errors["referral_date"] == "Enter the date the prescriber signed the referral."
    assert errors["diagnosis_codes"] == "Enter at least one ICD-10-CM diagnosis code, e.g. M54.50."
    assert errors["visits_authorized"] == "Enter the number of visits authorized (1 to 500)."
    assert errors["valid_until"] == "Enter the last day the referral covers."


def test_the_referral_date_cannot_be_in_the_future(front_desk, referral_patient, provider):
    tomorrow = today() + datetime.timedelta(days=1)
    errors = errors_of(front_desk, referral_patient, base(provider, referral_date=tomorrow))
    assert errors["referral_date"] == "The referral date cannot be in the future."


def test_invalid_codes_are_named(front_desk, referral_patient, provider):
    errors = errors_of(front_desk, referral_patient, base(provider, diagnosis_codes=["M54.5", "XYZ", "M54.2"]))
    assert errors["diagnosis_codes"].startswith("Not a valid ICD-10-CM code: M54.5, XYZ.")


@pytest.mark.parametrize("visits", [0, 501, -1, "many", 2.5])
def test_visits_authorized_is_1_to_500(front_desk, referral_patient, provider, visits):
    errors = errors_of(front_desk, referral_patient, base(provider, visits_authorized=visits))
    assert errors["visits_authorized"] == "Visits authorized: a whole number, 1 to 500."


@pytest.mark.parametrize("visits", [1, 500])
def test_visits_authorized_bounds_are_accepted(front_desk, referral_patient, provider, visits):
    clean = referral_actions.check_save_referral(front_desk, referral_patient, base(provider, visits_authorized=visits))
    assert clean["visits_authorized"] == visits


def test_frequency_bounds(front_desk, referral_patient, provider):
    errors = errors_of(front_desk, referral_patient, base(provider, sessions_per_week=8, weeks=0))
    assert errors["sessions_per_week"] == "Sessions per week: a whole number, 1 to 7."
    assert errors["weeks"] == "Weeks: a whole number, 1 to 104."


def test_valid_until_before_valid_from_is_refused(front_desk, referral_patient, provider):
    data = base(provider, valid_from=today(), valid_until=today() - datetime.timedelta(days=1))
    errors = errors_of(front_desk, referral_patient, data)
    assert "must be on or after" in errors["valid_until"]
    same_day = base(provider, valid_from=today(), valid_until=today())
    assert referral_actions.check_save_referral(front_desk, referral_patient, same_day)["valid_until"] == today()


def test_an_inactive_provider_cannot_be_chosen(owner, front_desk, referral_patient, provider):
    from effleura.referrals import providers

    providers.do_set_provider_active(owner, provider, False)
    errors = errors_of(front_desk, referral_patient, base(provider))
    assert "inactive" in errors["provider"]


def test_the_episode_must_be_the_patients_own(therapist, referral_patient, provider, make_patient):
    from effleura.clinical import episodes

    own = episodes.do_open_episode(
        therapist, referral_patient, episodes.check_open_episode(therapist, referral_patient, {"title": "Back (syn)"})
    )
    other_patient = make_patient()
    other = episodes.do_open_episode(
        therapist, other_patient, episodes.check_open_episode(therapist, other_patient, {"title": "Neck (syn)"})
    )
    errors = errors_of(therapist, referral_patient, base(provider, episode=other.public_id))
    assert errors["episode"] == "Choose one of this patient's episodes, or none."
    clean = referral_actions.check_save_referral(therapist, referral_patient, base(provider, episode=own.public_id))
    assert clean["episode"] == own


def test_editing_changes_only_what_is_sent_and_is_audited(front_desk, referral):
    clean = referral_actions.check_save_referral(front_desk, referral.patient, {"visits_authorized": 12}, referral)
    referral_actions.do_save_referral(front_desk, referral.patient, clean, referral)
    referral.refresh_from_db()
    assert referral.visits_authorized == 12 and referral.diagnosis_codes == ["M54.50"]
    assert AuditEvent.objects.filter(record_id=str(referral.public_id), detail="referral changed").count() == 1


def test_billing_reads_but_cannot_record_or_change(billing, outsider, referral_patient, provider, referral):
    for user in (billing, outsider):
        with pytest.raises(PermissionDenied):
            referral_actions.check_save_referral(user, referral_patient, base(provider))
        with pytest.raises(PermissionDenied):
            referral_actions.check_close_referral(user, referral)
        with pytest.raises(PermissionDenied):
            referral_actions.check_original(user, referral, upload())
    assert AuditEvent.objects.filter(actor_username="billing", outcome="denied").count() == 3


# The scanned original ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, expected", [(PDF_BYTES, "application/pdf"), (PNG_BYTES, "image/png"), (JPEG_BYTES, "image/jpeg")]
)
def test_pdf_png_and_jpeg_are_recognised_by_content(front_desk, referral, content, expected):
    # The name and the browser's content type say nothing true here.
    scan = referral_actions.check_original(front_desk, referral, upload(content, "x.txt", "text/plain"))
    assert scan["content_type"] == expected


def test_a_fake_pdf_that_is_really_text_is_refused(front_desk, referral):
    fake = upload(b"Just some text pretending to be a PDF.\n", "referral.pdf", "application/pdf")
    with pytest.raises(ValidationError) as caught:
        referral_actions.check_original(front_desk, referral, fake)
    assert caught.value.message_dict["original"] == [referral_actions.ORIGINAL_TYPE_MESSAGE]


@pytest.mark.parametrize("content", [b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"<html><script>", b"GIF89a..."])
def test_other_types_are_refused(front_desk, referral, content):
    with pytest.raises(ValidationError):
        referral_actions.check_original(front_desk, referral, upload(content, "scan.png", "image/png"))


def test_an_empty_or_too_large_file_is_refused(front_desk, referral):
    with pytest.raises(ValidationError, match="empty"):
        referral_actions.check_original(front_desk, referral, upload(b"", "scan.pdf"))
    big = upload(PDF_BYTES + b"0" * (10 * 1024 * 1024), "scan.pdf")
    with pytest.raises(ValidationError) as caught:
        referral_actions.check_original(front_desk, referral, big)
    assert caught.value.message_dict["original"] == [referral_actions.ORIGINAL_SIZE_MESSAGE]
    exactly = upload(PDF_BYTES + b"0" * (10 * 1024 * 1024 - len(PDF_BYTES)), "scan.pdf")
    assert referral_actions.check_original(front_desk, referral, exactly)["size"] == 10 * 1024 * 1024


def test_the_stored_name_is_random_not_the_uploaded_one(front_desk, make_referral, referral_patient, settings):
    referral = make_referral(referral_patient, original=upload(PDF_BYTES, "Smith_John_1980-01-01.pdf"))
    assert referral.original.name.startswith("referrals/")
    assert "Smith" not in referral.original.name and referral.original.name.endswith(".pdf")
    assert referral.original.path.startswith(str(settings.MEDIA_ROOT))
    assert referral.original_name == "Smith_John_1980-01-01.pdf"
    assert referral.original_type == "application/pdf" and referral.original_size == len(PDF_BYTES)
    assert AuditEvent.objects.filter(record_id=str(referral.public_id), detail="original attached").count() == 1


def test_replacing_and_removing_the_original_are_audited(front_desk, referral, django_capture_on_commit_callbacks):
    import os

    old_path = referral.original.path
    with django_capture_on_commit_callbacks(execute=True):
        scan = referral_actions.check_original(front_desk, referral, upload(PNG_BYTES, "photo.png"))
        referral_actions.do_attach_original(front_desk, referral, scan)
    assert referral.original_type == "image/png" and os.path.exists(old_path)  # kept: an earlier version
    new_path = referral.original.path
    with django_capture_on_commit_callbacks(execute=True):
        referral_actions.check_remove_original(front_desk, referral)
        referral_actions.do_remove_original(front_desk, referral)
    referral.refresh_from_db()
    assert not referral.original and referral.original_type == "" and os.path.exists(new_path)
    details = list(AuditEvent.objects.filter(record_id=str(referral.public_id)).values_list("detail", flat=True))
    assert "original replaced" in details and "original removed" in details
    with pytest.raises(ValidationError, match="no scanned original"):
        referral_actions.check_remove_original(front_desk, referral)


def test_closing_a_referral(front_desk, referral):
    referral_actions.check_close_referral(front_desk, referral)
    referral_actions.do_close_referral(front_desk, referral)
    assert Referral.objects.get(pk=referral.pk).is_closed
    with pytest.raises(ValidationError, match="already closed"):
        referral_actions.check_close_referral(front_desk, referral)
    with pytest.raises(ValidationError, match="closed"):
        referral_actions.check_save_referral(front_desk, referral.patient, {"visits_authorized": 3}, referral)
