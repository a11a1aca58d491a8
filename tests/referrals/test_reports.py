"""Progress reports and discharge summaries (referrals/reports.py): generated from the real
plan, signed notes and measures over a period (visits, technique minutes, first and now
with the MCID, goals, codes); drafts edited and signed by their author only; signed frozen;
the PDF's text; sending by email (PDF attached, locmem backend) and by fax; refusals; audit.

Fixtures named r3_* are this module's own (other modules import them from here)."""

import datetime
import io

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from pypdf import PdfReader

from effleura.clinical import discharge, measures, plans
from effleura.clinical.choices import RecordStatus
from effleura.clinical.models import SessionNote, TechniqueEntry
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.models import AuditEvent
from effleura.referrals import access, report_pdf, report_sending, reports
from effleura.referrals.choices import DeliveryMethod, ReportKind, ReportStatus
from effleura.referrals.models import Referral, ReferringProvider, ReportDelivery

TODAY = timezone.localdate


def ago(days: int) -> datetime.date:
    return TODAY() - datetime.timedelta(days=days)


def pdf_text(data: bytes) -> str:
    assert data[:5] == b"%PDF-"
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def r3_patient(make_patient, add_history):
    patient = make_patient(
        legal_first_name="Rosalind", legal_last_name="Reportson", date_of_birth=datetime.date(1971, 5, 9)
    )
    # A health-history detail that must never reach a report or a form.
    add_history(patient, conditions=["anticoagulant"], presenting_complaint="Secretcomplaint after gardening")
    return patient


def open_episode(patient, therapist, **fields):
    from effleura.clinical import episodes

    clean = episodes.check_open_episode(
        therapist, patient, {"title": "Low back pain (synthetic)", "therapist": therapist, **fields}
    )
    return episodes.do_open_episode(therapist, patient, clean)


@pytest.fixture
def r3_course(r3_patient, therapist):
    """Episode opened 42 days ago; plan M54.50, twice a week for 4 weeks, goals NPRS 7->3
    (in progress) and ODI 40->20; measures NPRS 7 (40 days ago), 5 (20), 3 (2) and ODI
    80 % (40), 60 % (2); signed notes 35, 28, 14 and 7 days ago with Swedish 30 + myofascial
    release 20 minutes each (the last one Swedish 30 only); a draft note 1 day ago (not counted)."""
    episode = open_episode(r3_patient, therapist, opened_on=ago(42))
    goals = [
        {"description": "Pain from 7 to 3 when sitting", "measure": "nprs", "baseline": 7, "target": 3},
        {"description": "ODI under 20", "measure": "odi", "baseline": 40, "target": 20},
    ]
    data = {
        "diagnosis_codes": ["M54.50"],
        "techniques": ["swedish", "myofascial_release"],
        "modalities": [],
        "pressure_min": "light",
        "pressure_max": "moderate",
        "sessions_per_week": 2,
        "weeks": 4,
        "session_minutes": 60,
        "goals": goals,
    }
    plan = plans.do_create_plan(therapist, episode, plans.check_create_plan(therapist, episode, data))
    first_goal = plan.goals.get(measure="nprs")
    plans.do_update_goal(therapist, first_goal, plans.check_update_goal(therapist, first_goal, "in_progress"))

    def record(measure, answers, days):
        data = {"measure": measure, "answers": answers, "taken_on": ago(days)}
        measures.do_record_measure(therapist, episode, measures.check_record_measure(therapist, episode, data))

    record("nprs", [7], 40)
    record("odi", [4] * 10, 40)
    record("nprs", [5], 20)
    record("nprs", [3], 2)
    record("odi", [3] * 10, 2)
    for days in (35, 28, 14, 7):
        note = SessionNote.objects.create(
            episode=episode,
            author=therapist,
            session_date=ago(days),
            status=RecordStatus.SIGNED,
            signed_at=timezone.now(),
            subjective="Notesecret subjective text",
        )
        TechniqueEntry.objects.create(note=note, technique="swedish", minutes=30)
        if days != 7:
            TechniqueEntry.objects.create(note=note, technique="myofascial_release", minutes=20)
    draft = SessionNote.objects.create(episode=episode, author=therapist, session_date=ago(1))
    TechniqueEntry.objects.create(note=draft, technique="deep_tissue", minutes=45)
    return episode


@pytest.fixture
def r3_provider(db):
    return ReferringProvider.objects.create(
        first_name="Helena",
        last_name="Okafor",
        credentials="MD",
        practice_name="Riverside Family Medicine",
        npi="1234567893",
        fax="555-0199",
        email="dr.okafor@example.test",
    )


@pytest.fixture
def r3_referral(r3_provider, r3_course, owner):
    return Referral.objects.create(
        patient=r3_course.patient,
        provider=r3_provider,
        episode=r3_course,
        referral_date=ago(45),
        diagnosis_codes=["M54.50"],
        visits_authorized=8,
        valid_from=ago(45),
        valid_until=ago(-45),
        created_by=owner,
    )


def new_report(actor, episode, **data):
    return reports.do_create_report(actor, reports.check_create_report(actor, episode, data))


def signed(actor, report):
    report_sending.check_sign_report(actor, report)
    return report_sending.do_sign_report(actor, report)


@pytest.fixture
def r3_signed(r3_course, r3_referral, therapist):
    return signed(therapist, new_report(therapist, r3_course))


# Generation -------------------------------------------------------------------------


def test_generated_content_counts_visits_minutes_measures_and_goals(r3_course, r3_referral, therapist):
    report = new_report(therapist, r3_course)
    c = report.content
    assert (report.period_start, report.period_end) == (ago(42), TODAY())
    assert report.referral == r3_referral and report.kind == ReportKind.PROGRESS
    assert c["visits"]["attended"] == 4 and c["visits"]["signed_notes"] == 4
    assert (c["visits"]["first"], c["visits"]["last"]) == (ago(35).isoformat(), ago(7).isoformat())
    techniques = {t["key"]: t for t in c["techniques"]}
    assert set(techniques) == {"swedish", "myofascial_release"}  # the draft's deep tissue is not counted
    assert (techniques["swedish"]["minutes"], techniques["swedish"]["sessions"]) == (120, 4)
    assert techniques["swedish"]["label"] == "Swedish massage"
    assert (techniques["myofascial_release"]["minutes"], techniques["myofascial_release"]["sessions"]) == (60, 3)
    assert c["technique_minutes"] == 180
    by = {m["measure"]: m for m in c["measures"]}
    assert (by["nprs"]["first"], by["nprs"]["last"], by["nprs"]["change"]) == (7, 3, -4)
    assert by["nprs"]["mcid_reached"] is True and by["nprs"]["direction"] == "better"
    assert (by["odi"]["first"], by["odi"]["last"], by["odi"]["change"]) == (80, 60, -20)
    assert by["odi"]["mcid_reached"] is True
    goals = {g["measure"]: g for g in c["goals"]}
    assert goals["nprs"]["status"] == "in_progress" and goals["nprs"]["status_label"] == "In progress"
    assert goals["odi"]["status"] == "not_started"
    assert [d["code"] for d in c["diagnosis_codes"]] == ["M54.50"]
    assert c["referral"]["npi"] == "1234567893" and c["referral"]["visits_authorized"] == 8
    assert "Secretcomplaint" not in str(c) and "Notesecret" not in str(c)
    assert "4 visit(s)" in report.summary and report.recommendations.startswith("Continue clinical massage 2 time(s)")
    assert report.status == ReportStatus.DRAFT


def test_a_period_limits_visits_and_measures_and_mcid_follows_the_rule(r3_course, therapist):
    report = new_report(therapist, r3_course, period_start=ago(21), period_end=ago(10))
    c = report.content
    assert c["visits"]["attended"] == 1 and c["technique_minutes"] == 50  # only the note of 14 days ago
    nprs = next(m for m in c["measures"] if m["measure"] == "nprs")
    assert (nprs["first"], nprs["last"], nprs["change"]) == (7, 5, -2)  # up to the period's end
    assert nprs["mcid_reached"] is True  # 2 points
    odi = next(m for m in c["measures"] if m["measure"] == "odi")
    assert odi["change"] is None and odi["mcid_reached"] is False  # one measurement so far


def test_completed_appointments_count_as_visits(r3_course, therapist, owner):
    """A completed appointment in the period is a visit; its signed note does not count twice;
    a cancelled one and one outside the period do not count."""
    from effleura.scheduling import setup
    from effleura.scheduling.models import Appointment

    location = setup.do_save_location(
        owner, setup.check_save_location(owner, {"name": "Main Street", "time_zone": "America/Chicago"})
    )
    data = {
        "name": "Clinical massage",
        "durations": [60],
        "default_price": "95.00",
        "currency": "USD",
        "practitioners": [therapist],
        "needs_room": False,
        "bookable_online": False,
    }
    service = setup.do_save_service(owner, setup.check_save_service(owner, data))

    def appointment(days, status):
        import zoneinfo

        start = datetime.datetime.combine(ago(days), datetime.time(10), tzinfo=zoneinfo.ZoneInfo("America/Chicago"))
        end = start + datetime.timedelta(hours=1)
        return Appointment.objects.create(
            patient=r3_course.patient,
            practitioner=therapist,
            service=service,
            location=location,
            duration_minutes=60,
            start=start,
            end=end,
            busy_until=end,
            status=status,
            created_by=owner,
        )

    with_note = appointment(14, "completed")
    SessionNote.objects.filter(episode=r3_course, session_date=ago(14)).update(appointment=with_note)
    appointment(10, "completed")
    appointment(9, "cancelled")
    appointment(50, "completed")
    visits = reports.generate_content(r3_course, ago(42), TODAY())["visits"]
    assert (visits["completed_appointments"], visits["signed_notes"], visits["attended"]) == (2, 4, 5)


def test_default_period_starts_after_the_last_report(r3_course, therapist):
    first = new_report(therapist, r3_course, period_start=ago(42), period_end=ago(15))
    assert reports.default_period(r3_course) == (first.period_end + datetime.timedelta(days=1), TODAY())
    second = new_report(therapist, r3_course)
    assert second.period_start == ago(14) and second.content["visits"]["attended"] == 2


def test_period_is_checked(r3_course, therapist):
    with pytest.raises(ValidationError) as e:
        new_report(therapist, r3_course, period_start=ago(3), period_end=ago(5))
    assert "period_start" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        new_report(therapist, r3_course, period_end=ago(-2))
    assert "period_end" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        new_report(therapist, r3_course, period_start=ago(60))
    assert "period_start" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        new_report(therapist, r3_course, kind=ReportKind.DISCHARGE)
    assert "kind" in e.value.message_dict


def test_discharge_summary_uses_the_frozen_discharge(r3_course, r3_referral, therapist):
    discharge.do_discharge(
        therapist,
        r3_course,
        discharge.check_discharge(therapist, r3_course, {"reason": "goals_met", "summary": "Independent at home."}),
    )
    report = new_report(therapist, r3_course, kind=ReportKind.DISCHARGE)
    c = report.content
    assert report.kind == ReportKind.DISCHARGE and report.period_start == ago(42)
    assert c["discharge"]["reason"] == "goals_met"
    assert {m["measure"]: m["last"] for m in c["measures"]} == {"nprs": 3, "odi": 60}
    assert report.summary.startswith("Independent at home.")
    text = flat(pdf_text(report_pdf.render_report_pdf(signed(therapist, report))))
    assert "Discharge summary" in text and "Independent at home." in text


# Drafts, signing ----------------------------------------------------------------------


def test_only_the_author_edits_and_signs_a_draft(r3_course, therapist, owner):
    report = new_report(therapist, r3_course)
    with pytest.raises(ValidationError, match="author"):
        reports.check_update_report(owner, report, {"summary": "Mine now"})
    with pytest.raises(ValidationError, match="author"):
        report_sending.check_sign_report(owner, report)
    clean = reports.check_update_report(therapist, report, {"summary": "Better.", "recommendations": "Four more."})
    reports.do_update_report(therapist, report, clean)
    report.refresh_from_db()
    assert (report.summary, report.recommendations) == ("Better.", "Four more.")
    with pytest.raises(ValidationError):
        reports.check_update_report(therapist, report, {"content": {}})


def test_a_signed_report_is_frozen(r3_signed, therapist):
    assert r3_signed.status == ReportStatus.SIGNED and r3_signed.signed_at is not None
    with pytest.raises(ValidationError, match="signed"):
        reports.check_update_report(therapist, r3_signed, {"summary": "x"})
    with pytest.raises(ValidationError, match="signed"):
        report_sending.check_sign_report(therapist, r3_signed)


def test_a_report_is_refused_to_front_desk_billing_and_outsiders(r3_signed, r3_course, front_desk, billing, outsider):
    for user in (front_desk, billing, outsider):
        with pytest.raises(PermissionDenied):
            access.access_report(user, r3_signed.public_id)
        with pytest.raises(PermissionDenied):
            reports.check_create_report(user, r3_course, {})
        with pytest.raises(PermissionDenied):
            report_sending.check_send_report(user, r3_signed, "fax", "555-0199")
    denied = AuditEvent.objects.filter(outcome=AuditOutcome.DENIED, patient_id=r3_course.patient.public_id)
    assert denied.count() == 9


# PDF ----------------------------------------------------------------------------------


def test_the_signed_pdf_holds_the_report_and_nothing_of_the_history(r3_signed, therapist):
    access.access_report_pdf(therapist, r3_signed.public_id)
    text = flat(pdf_text(report_pdf.render_report_pdf(r3_signed)))
    for expected in (
        "Progress report",
        "Rosalind Reportson",
        "1971-05-09",
        "M54.50",
        "Helena Okafor, MD",
        "1234567893",
        "Swedish massage",
        "Myofascial release",
        "120",
        "180",
        "MCID reached",
        "Pain from 7 to 3 when sitting",
        "In progress",
        "Signed electronically by",
    ):
        assert expected in text, expected
    for absent in ("Secretcomplaint", "anticoagulant", "Anticoagulant", "Notesecret", "Deep tissue"):
        assert absent not in text, absent
    printed = AuditEvent.objects.filter(action=AuditAction.PRINT, record_id=str(r3_signed.public_id))
    assert printed.count() == 1 and printed.get().patient_id == r3_signed.episode.patient.public_id


def test_a_draft_is_not_printed(r3_course, therapist):
    report = new_report(therapist, r3_course)
    with pytest.raises(ValidationError, match="Sign"):
        access.access_report_pdf(therapist, report.public_id)


# Sending ------------------------------------------------------------------------------


def test_email_sends_the_pdf_attached_and_records_the_delivery(
    r3_signed, therapist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        delivery = report_sending.do_send_report(therapist, r3_signed, "email", "")
    delivery.refresh_from_db()
    assert delivery.to == "dr.okafor@example.test" and delivery.sent_at is not None and delivery.error == ""
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["dr.okafor@example.test"]
    assert "Reportson" not in message.subject and "Rosalind" not in message.subject
    assert "Reportson" not in message.body and "M54" not in message.body
    ((name, data, mimetype),) = message.attachments
    assert mimetype == "application/pdf" and name.endswith(".pdf") and "Reportson" not in name
    assert "Rosalind Reportson" in flat(pdf_text(data))
    sent = AuditEvent.objects.filter(action=AuditAction.EXPORT, record_id=str(r3_signed.public_id))
    assert sent.count() == 1 and sent.get().detail == "sent by email"


def test_an_email_that_fails_records_the_error(r3_signed, therapist, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "effleura.no.such.Backend"
    with django_capture_on_commit_callbacks(execute=True):
        delivery = report_sending.do_send_report(therapist, r3_signed, "email", "other@example.test")
    delivery.refresh_from_db()
    assert delivery.sent_at is None and delivery.error


def test_fax_hand_and_post_are_recorded(r3_signed, therapist):
    fax = report_sending.do_send_report(therapist, r3_signed, "fax", "")
    hand = report_sending.do_send_report(therapist, r3_signed, DeliveryMethod.HAND, "The patient")
    assert (fax.method, fax.to, fax.sent_at) == ("fax", "555-0199", None)
    assert hand.method == "hand" and len(mail.outbox) == 0
    assert ReportDelivery.objects.filter(report=r3_signed).count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, record_id=str(r3_signed.public_id)).count() == 2


def test_only_signed_reports_are_sent_and_addresses_are_checked(r3_course, r3_signed, therapist):
    draft = new_report(therapist, r3_course)
    with pytest.raises(ValidationError, match="Sign"):
        report_sending.check_send_report(therapist, draft, "fax", "555-0199")
    with pytest.raises(ValidationError) as e:
        report_sending.check_send_report(therapist, r3_signed, "email", "not an address")
    assert "to" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        report_sending.check_send_report(therapist, r3_signed, "pigeon", "x")
    assert "method" in e.value.message_dict
