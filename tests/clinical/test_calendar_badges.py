"""Screening flags on calendar entries: clinicians see them, front desk and billing don't."""

from django.urls import reverse

from effleura.core.models import AuditEvent


def day_page(client, location, day):
    return client.get(reverse("scheduling:day"), {"location": str(location.public_id), "date": day.isoformat()})


def test_a_therapist_sees_a_screening_badge_for_a_patient_with_a_dvt(
    client_for, therapist, patient_with_dvt, book, location, next_monday
):
    book("10:00", patient=patient_with_dvt)
    page = day_page(client_for(therapist), location, next_monday).content.decode()
    assert 'class="badge danger" title="No massage today' in page
    assert AuditEvent.objects.filter(record_type="health_history", detail="calendar screening").exists()


def test_front_desk_sees_no_screening_badge(
    client_for, front_desk, billing, patient_with_dvt, book, location, next_monday
):
    book("10:00", patient=patient_with_dvt)
    for user in (front_desk, billing):
        page = day_page(client_for(user), location, next_monday).content.decode()
        assert "No massage today" not in page
        assert ">screening<" not in page


def test_the_badges_cost_the_same_queries_for_one_or_many_flagged_patients(
    client_for, therapist, make_patient, add_history, book, location, next_monday, django_assert_max_num_queries
):
    client = client_for(therapist)
    first = make_patient()
    add_history(first, conditions=["dvt"])
    book("09:00", patient=first)
    day_page(client, location, next_monday)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        day_page(client, location, next_monday)
    for hhmm in ("10:15", "11:30", "12:45", "14:00"):
        patient = make_patient()
        add_history(patient, conditions=["anticoagulant"])
        book(hhmm, patient=patient)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = day_page(client, location, next_monday).content.decode()
    assert page.count(">screening<") == 5
