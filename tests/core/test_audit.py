"""The audit trail: what it records, that nothing can change it, and the owner's view."""

import csv
import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from effleura.core import access, audit
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.models import AuditEvent


@pytest.fixture
def event(owner, make_patient):
    patient = make_patient()
    return audit.record(owner, AuditAction.READ, "patient", record_id=patient.public_id, patient_id=patient.public_id)


def test_it_records_who_what_which_patient_and_the_outcome(owner, make_patient, client_for):
    patient = make_patient()
    client = client_for(owner)
    client.get(reverse("patients:chart", args=[patient.public_id]), REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.filter(record_type="patient", action=AuditAction.READ).latest("id")
    assert event.actor_username == "owner"
    assert event.actor_role == "owner"
    assert event.patient_id == patient.public_id
    assert event.record_id == str(patient.public_id)
    assert event.outcome == AuditOutcome.ALLOWED
    assert event.client_address == "10.1.2.3"
    assert timezone.now() - event.at < datetime.timedelta(minutes=1)


def test_the_model_refuses_to_change_an_event(event):
    event.detail = "tampered"
    with pytest.raises(PermissionError):
        event.save()


def test_the_model_refuses_to_delete_an_event(event):
    with pytest.raises(PermissionError):
        event.delete()


def test_bulk_updates_and_deletes_are_refused(event):
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(detail="tampered")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE core_auditevent SET detail = 'tampered'", "DELETE FROM core_auditevent"],
)
def test_the_database_refuses_raw_sql_changes_too(event, statement):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    event.refresh_from_db()
    assert event.detail != "tampered"


def test_logging_in_and_out_is_recorded(client, owner, password):
    client.post(reverse("core:login"), {"username": "owner", "password": password})
    client.post(reverse("core:logout"))
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == [AuditAction.LOGIN, AuditAction.LOGOUT]


def test_an_owner_filters_the_trail_by_patient(owner, make_patient, client_for):
    first, second = make_patient(), make_patient()
    client = client_for(owner)
    client.get(reverse("patients:chart", args=[first.public_id]))
    client.get(reverse("patients:chart", args=[second.public_id]))
    page = client.get(reverse("core:audit_list"), {"patient": str(first.public_id)})
    shown = {e.patient_id for e in page.context["page"]}
    assert shown == {first.public_id}


def test_an_owner_filters_the_trail_by_user_and_date(owner, therapist, make_patient, client_for):
    patient = make_patient()
    client_for(therapist).get(reverse("patients:chart", args=[patient.public_id]))
    today = timezone.localdate().isoformat()
    page = client_for(owner).get(
        reverse("core:audit_list"), {"user": str(therapist.public_id), "start": today, "end": today}
    )
    events = list(page.context["page"])
    assert events
    assert {e.actor_username for e in events} == {"therapist"}
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    page = client_for(owner).get(reverse("core:audit_list"), {"user": str(therapist.public_id), "end": yesterday})
    assert list(page.context["page"]) == []


def test_it_explains_a_backwards_date_range(owner, client_for):
    page = client_for(owner).get(reverse("core:audit_list"), {"start": "2026-05-02", "end": "2026-05-01"})
    assert "must be before" in page.content.decode()


def test_the_csv_export_has_every_event_and_is_itself_audited(owner, make_patient, client_for):
    patient = make_patient()
    client = client_for(owner)
    client.get(reverse("patients:chart", args=[patient.public_id]))
    response = client.get(reverse("core:audit_export"), {"patient": str(patient.public_id)})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows
    assert {r["patient_id"] for r in rows} == {str(patient.public_id)}
    assert {"at", "actor_username", "action", "outcome", "client_address"} <= set(rows[0])
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, record_type="audit_event").exists()


@pytest.mark.parametrize("role", ["therapist", "front_desk", "billing", "outsider"])
def test_only_the_owner_sees_or_exports_the_trail(role, personas, client_for):
    client = client_for(personas[role])
    assert client.get(reverse("core:audit_list")).status_code == 403
    assert client.get(reverse("core:audit_export")).status_code == 403


def test_the_audit_list_does_a_fixed_number_of_queries(owner, make_patient, client_for, django_assert_num_queries):
    client = client_for(owner)
    for _ in range(3):
        make_patient()
    client.get(reverse("core:audit_list"))
    # 9 since reading the trail is itself audited: session, user, demo flag, the staff
    # (filter choices and the rows' names), page (keyset: no count), the names of its
    # patients, the insert of that read's audit event, the last seal and the last
    # verification (core/seals.py).
    with django_assert_num_queries(9):
        client.get(reverse("core:audit_list"))
    for _ in range(30):
        make_patient()
    with django_assert_num_queries(9):
        client.get(reverse("core:audit_list"))


def test_a_failed_sign_in_is_recorded_without_the_username_typed(client, owner):
    client.post(reverse("core:login"), {"username": "owner", "password": "wrong-guess"})
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.detail) == (AuditAction.LOGIN, AuditOutcome.DENIED, "failed sign-in")
    assert event.actor_username == ""


def test_a_refused_visit_to_an_owner_page_is_recorded(client_for, therapist):
    assert client_for(therapist).get(reverse("core:staff_list")).status_code == 403
    event = AuditEvent.objects.get(outcome=AuditOutcome.DENIED)
    assert (event.actor_username, event.record_type, event.patient_id) == ("therapist", "user", None)


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_may_write_audit_events(owner, make_patient):
    # Its clean-up empties the table; the next test checks the triggers came back.
    make_patient()
    assert AuditEvent.objects.exists()


def test_the_triggers_are_back_after_a_transactional_test_emptied_the_tables(event):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent")


def test_a_refusal_at_an_episode_url_is_audited_against_its_patient(front_desk, owner, make_patient, client_for):
    from effleura.clinical.models import Episode

    patient = make_patient()
    episode = Episode.objects.create(patient=patient, title="Neck (synthetic)", therapist=owner, created_by=owner)
    assert client_for(front_desk).get(reverse("clinical:episode", args=[episode.public_id])).status_code == 403
    event = AuditEvent.objects.get(outcome=AuditOutcome.DENIED)
    assert event.patient_id == patient.public_id


def test_reading_the_trail_is_itself_audited(owner, client_for):
    client_for(owner).get(reverse("core:audit_list"))
    event = AuditEvent.objects.get(record_type="audit_event")
    assert (event.actor_username, event.action, event.outcome) == ("owner", AuditAction.READ, AuditOutcome.ALLOWED)
    assert (event.patient_id, event.detail) == (None, "audit trail")


def test_a_page_of_the_trail_does_not_show_its_own_reading(owner, make_patient, client_for):
    patient = make_patient()
    page = client_for(owner).get(reverse("core:audit_list"), {"patient": str(patient.public_id)})
    assert [e.record_type for e in page.context["page"]] == ["patient"]  # its creation
    assert AuditEvent.objects.filter(record_type="audit_event", patient_id=patient.public_id).count() == 1


def test_reading_a_patients_access_report_is_audited_against_that_patient_without_details(
    owner, therapist, make_patient, client_for
):
    patient = make_patient()
    client_for(therapist).get(reverse("patients:chart", args=[patient.public_id]))
    client_for(owner).get(reverse("core:audit_list"), {"patient": str(patient.public_id), "outcome": "allowed"})
    event = AuditEvent.objects.get(record_type="audit_event")
    assert (event.action, event.patient_id) == (AuditAction.READ, patient.public_id)
    assert event.detail == "audit trail by patient_id, outcome"
    assert str(patient.public_id) not in event.detail


def test_a_filter_that_does_not_validate_shows_nothing_and_records_no_read(owner, client_for):
    page = client_for(owner).get(reverse("core:audit_list"), {"start": "2026-05-02", "end": "2026-05-01"})
    assert list(page.context["page"]) == []
    assert not AuditEvent.objects.filter(record_type="audit_event").exists()


def test_the_csv_export_is_audited_against_the_patient_it_was_filtered_to(owner, make_patient, client_for):
    patient = make_patient()
    response = client_for(owner).get(reverse("core:audit_export"), {"patient": str(patient.public_id)})
    b"".join(response.streaming_content)
    event = AuditEvent.objects.get(record_type="audit_event")
    assert (event.action, event.patient_id, event.detail) == (
        AuditAction.EXPORT,
        patient.public_id,
        "audit trail by patient_id CSV",
    )


@pytest.mark.parametrize("role", ["therapist", "front_desk", "billing", "outsider"])
def test_it_refuses_and_audits_a_read_of_the_trail_outside_a_page(role, personas):
    with pytest.raises(PermissionDenied):
        access.access_audit_events(personas[role], access.AuditFilters())
    with pytest.raises(PermissionDenied):
        access.access_audit_export(personas[role], access.AuditFilters(), ("at",))
    denied = AuditEvent.objects.filter(record_type="audit_event", outcome=AuditOutcome.DENIED)
    assert denied.count() == 2


def test_a_list_is_audited_one_event_per_patient_in_one_insert(owner, make_patient, django_assert_num_queries):
    patients = [make_patient() for _ in range(3)]
    ids = [p.public_id for p in patients] + [None]
    address = audit.client_address.set("203.0.113.9")
    try:
        with django_assert_num_queries(1):
            audit.record_many(owner, AuditAction.READ, "appointment", ids, detail="calendar")
    finally:
        audit.client_address.reset(address)
    events = list(AuditEvent.objects.filter(detail="calendar").order_by("id"))
    assert [e.patient_id for e in events] == ids
    assert [e.record_id for e in events] == [str(p.public_id) for p in patients] + [""]
    assert {(e.actor_id, e.actor_username, e.actor_role) for e in events} == {(owner.pk, owner.username, owner.role)}
    assert {(e.action, e.outcome, e.record_type, e.client_address) for e in events} == {
        (AuditAction.READ, AuditOutcome.ALLOWED, "appointment", "203.0.113.9")
    }
    assert len({e.public_id for e in events}) == 4 and len({e.at for e in events}) == 1
    # Time-ordered ids (UUID version 7), so new events fall together in the unique index.
    assert {e.public_id.version for e in events} == {7}
    assert [e.public_id for e in events] == sorted(e.public_id for e in events)
    assert abs(events[0].at - timezone.now()) < datetime.timedelta(minutes=1)


def test_a_list_longer_than_one_statement_allows_is_audited_whole(owner, make_patient):
    pid = make_patient().public_id
    audit.record_many(owner, AuditAction.READ, "appointment", [pid] * 2500, detail="a long list")
    events = AuditEvent.objects.filter(detail="a long list")
    assert events.count() == 2500 and events.values("public_id").distinct().count() == 2500


def test_a_single_event_has_a_time_ordered_id_too(event, owner):
    later = audit.record(owner, AuditAction.READ, "patient")
    assert event.public_id.version == later.public_id.version == 7
    assert event.public_id < later.public_id


def test_an_empty_list_writes_nothing(owner, django_assert_num_queries):
    with django_assert_num_queries(0):
        audit.record_many(owner, AuditAction.READ, "appointment", [], detail="nothing shown")
