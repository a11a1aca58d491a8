"""`effleura demo --scale N` (demo/scale.py): the large synthetic practice, built here at a
small N once for the module (inside a transaction rolled back at its end)."""

import dataclasses
import datetime
import itertools
from collections import Counter, defaultdict
from types import SimpleNamespace

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Min, Sum
from django.test import Client
from django.urls import reverse

from effleura.billing.models import Charge, Invoice, Payment
from effleura.clinical.models import Episode, OutcomeMeasurement, SessionNote
from effleura.core.models import AuditEvent, User
from effleura.demo import scale
from effleura.demo import scale_plan as sp
from effleura.demo.data import DEMO_PASSWORD
from effleura.patients.models import Patient, digits_only
from effleura.referrals.models import Referral
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment, Location

N = 200


@pytest.fixture(scope="module")
def _built_once(django_db_setup, django_db_blocker):
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        before = _schema()
        result = scale.build(N, out=lambda line: None)
        yield SimpleNamespace(**dataclasses.asdict(result), schema_before=before)
        transaction.set_rollback(True)


def _schema() -> dict:
    """Every index and constraint of the tables the builder fills in bulk."""
    from django.db import connection

    tables = ["scheduling_appointment", "core_auditevent", "patients_patient", "clinical_sessionnote"]
    with connection.cursor() as cursor:
        return {t: connection.introspection.get_constraints(cursor, t) for t in tables}


@pytest.fixture
def built(_built_once, db):
    return _built_once


def on_day(day, **filters):
    start = datetime.datetime.combine(day, datetime.time(0), tzinfo=sp.TZ)
    return Appointment.objects.filter(start__gte=start, start__lt=start + datetime.timedelta(days=1), **filters)


def signed_in(username) -> Client:
    user = User.objects.get(username=username)
    assert user.check_password(DEMO_PASSWORD)
    client = Client()
    client.force_login(user)
    return client


# The plan (no database) -----------------------------------------------------------------------


def test_the_plan_is_the_same_every_time_and_fits_the_grid():
    first = [(v.public_id, v.patient, v.start, v.status) for v in itertools.islice(sp.Plan(N).visits(), 500)]
    again = [(v.public_id, v.patient, v.start, v.status) for v in itertools.islice(sp.Plan(N).visits(), 500)]
    assert first == again
    assert not sp.Plan(100_000).too_large()
    assert all(duration + changeover <= 60 for _name, durations, changeover, _price in sp.SERVICES
               for duration in durations)  # fmt: skip


def test_every_practitioner_has_one_room_of_their_own_wherever_they_work():
    for day in (sp.BENCH_DAY + datetime.timedelta(days=k) for k in range(-10, 7)):
        places = [sp.workplace(p, day) for p in range(sp.PRACTITIONERS)]
        worked = [place for place in places if place is not None]
        assert len(worked) == len(set(worked))
        assert all(room < sp.LOCATIONS[location][1] for location, room in worked)


# The practice ---------------------------------------------------------------------------------


def test_it_builds_n_patients_and_about_ten_visits_each(built):
    assert built.created
    assert Patient.objects.count() == N
    assert Patient.objects.filter(is_demo=True).count() == N
    assert 9 * N <= Appointment.objects.count() <= 11 * N
    assert User.objects.filter(role="therapist", is_demo=True).count() == 50
    first = Appointment.objects.order_by("start").first().start
    assert first.date() < sp.BENCH_DAY - datetime.timedelta(days=6 * 365)
    assert Appointment.objects.filter(start__date__gt=sp.BENCH_DAY + datetime.timedelta(days=7)).exists()


def test_each_of_the_fifty_practitioners_has_eight_visits_on_the_bench_day(built):
    location = Location.objects.get(name=scale.BENCH_LOCATION)
    assert location.time_zone == "America/Los_Angeles"
    day = on_day(scale.BENCH_DAY)
    assert day.count() == 400
    assert day.filter(location=location).count() == 400
    per = Counter(day.values_list("practitioner__username", flat=True))
    assert len(per) == 50 and set(per.values()) == {8}
    assert per[scale.THERAPIST] == 8


def test_ten_practitioners_have_eight_visits_on_the_small_day(built):
    day = on_day(scale.SMALL_DAY)
    assert day.count() == 80
    per = Counter(day.values_list("practitioner__username", flat=True))
    assert len(per) == 10 and set(per.values()) == {8}
    assert scale.THERAPIST in per
    # Only these ten work there that Saturday: the calendar shows ten columns.
    saturday = User.objects.filter(working_hours__weekday=5, working_hours__valid_until__isnull=True).distinct()
    assert set(saturday.values_list("username", flat=True)) == set(per)


def test_each_practitioner_s_first_patient_of_a_bench_day_has_a_referral_expiring_soon(built):
    # So every calendar page of the bench shows "auth" badges, and makes their one audit
    # insert, at every N: the pages' query counts do not depend on the data's size.
    from effleura.referrals import authorization

    for day, practitioners in ((scale.BENCH_DAY, 50), (scale.SMALL_DAY, 10)):
        firsts = {}
        for a in on_day(day).order_by("start"):
            firsts.setdefault(a.practitioner_id, a.patient_id)
        assert len(firsts) == practitioners
        statuses = authorization.statuses_for_patients(firsts.values(), scale.BENCH_DAY)
        for patient_id in firsts.values():
            referral, status = authorization.current_status(statuses[patient_id])
            assert status.needs_attention, status
            assert referral.valid_until == scale.BENCH_DAY + datetime.timedelta(days=5)


def test_no_practitioner_room_or_patient_is_ever_double_booked(built):
    held = Appointment.objects.exclude(status=AppointmentStatus.CANCELLED)
    for key, until in (("practitioner_id", "busy_until"), ("room_id", "busy_until"), ("patient_id", "end")):
        by = defaultdict(list)
        for owner, start, end in held.values_list(key, "start", until):
            by[owner].append((start, end))
        for spans in by.values():
            spans.sort()
            for (_s1, e1), (s2, _e2) in itertools.pairwise(spans):
                assert e1 <= s2, key


def test_every_status_is_present_and_agrees_with_its_fields(built):
    statuses = set(Appointment.objects.values_list("status", flat=True).distinct())
    assert statuses == set(AppointmentStatus.values)
    for a in Appointment.objects.select_related("service").iterator():
        assert a.end - a.start == datetime.timedelta(minutes=a.duration_minutes)
        assert a.busy_until - a.end == datetime.timedelta(minutes=a.service.changeover_minutes)
        assert (a.cancelled_at is not None) == (a.status == "cancelled") == (a.cancel_reason != "")
        assert (a.session_started_at is not None) == (a.status in ("in_session", "completed", "interrupted"))
        assert (a.minutes_delivered is not None) == (a.status == "interrupted")
        assert a.created_at <= a.start
    booked = Appointment.objects.values("patient_id").annotate(first=Min("created_at"))
    first_booked = dict(booked.values_list("patient_id", "first"))
    for pk, registered in Patient.objects.values_list("pk", "created_at"):
        assert registered < first_booked[pk]
    assert (
        not Appointment.objects.filter(start__date__gt=scale.BENCH_DAY)
        .exclude(status__in=["booked", "cancelled"])
        .exists()
    )


def test_patients_are_synthetic_with_their_derived_fields(built):
    numbers = set()
    for p in Patient.objects.all():
        assert "555-01" in p.phone and p.email.endswith("@example.com")
        assert p.phone_digits == digits_only(p.phone)
        assert "synthetic benchmark data" in p.notes.lower()
        numbers.add(p.chart_number)
    assert len(numbers) == N


def test_notes_charges_and_invoices_add_up(built):
    for note in SessionNote.objects.annotate(minutes=Sum("techniques__minutes")).filter(status="signed")[:300]:
        assert note.minutes == note.total_minutes == note.appointment.duration_minutes
        assert note.appointment.status == "completed"
    for charge in Charge.objects.annotate(lines_total=Sum("lines__amount"))[:300]:
        assert charge.lines_total == charge.total
        assert charge.note.status == "signed"
    for invoice in Invoice.objects.annotate(lines_total=Sum("lines__amount"))[:300]:
        assert invoice.lines_total == invoice.total
        # billing/invoices.py's numbering: YYYY-NNNNN in order of issue within the year.
        assert invoice.number.startswith(f"{invoice.issued_on.year}-")
    first = Invoice.objects.order_by("issued_on", "pk").first()
    assert first.number == f"{first.issued_on.year}-00001"
    for invoice in Invoice.objects.annotate(paid=Sum("allocations__amount"))[:300]:
        assert invoice.paid in (None, invoice.total)
        assert invoice.settled is (invoice.paid == invoice.total)  # the desk's hint (decision 0028)
    assert Payment.objects.exists() and Referral.objects.exists()
    assert Episode.objects.filter(status="open").exists() and Episode.objects.filter(status="discharged").exists()


def test_audit_events_run_about_ten_a_visit_in_time_order(built):
    visits = Appointment.objects.count()
    events = AuditEvent.objects.count()
    assert 7 * visits <= events <= 11 * visits
    rows = list(AuditEvent.objects.order_by("id").values_list("id", "at"))
    assert rows[0][0] > 0
    assert all(a[0] < b[0] and a[1] <= b[1] for a, b in itertools.pairwise(rows))
    assert AuditEvent.objects.values("public_id").distinct().count() == events


def test_building_it_again_changes_nothing(built):
    before = (Patient.objects.count(), Appointment.objects.count(), AuditEvent.objects.count())
    again = scale.build(N, out=lambda line: None)
    assert not again.created
    assert (Patient.objects.count(), Appointment.objects.count(), AuditEvent.objects.count()) == before


def test_another_size_is_refused_and_the_command_says_so(built):
    with pytest.raises(scale.ScaleRefused, match="for 200 patients, not 300"):
        scale.build(300, out=lambda line: None)
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("demo", scale=300)


def test_the_bench_targets_point_at_rows_with_the_promised_properties(built):
    t = scale.bench_targets()
    assert (t.owner, t.therapist, t.frontdesk, t.billing, t.n) == (
        "bench-owner", "bench-therapist", "bench-frontdesk", "bench-billing", N
    )  # fmt: skip
    therapist = User.objects.get(public_id=t.therapist_id)
    assert therapist.username == "bench-therapist"
    location = Location.objects.get(public_id=t.location)
    assert location.name == scale.BENCH_LOCATION
    bench_day = on_day(scale.BENCH_DAY, practitioner=therapist).order_by("start")

    patient = Patient.objects.get(public_id=t.chart_patient)
    assert bench_day.filter(patient=patient).exists()
    assert 8 <= patient.appointments.count() <= 20
    episode = patient.episodes.get(status="open")
    assert episode.plans.get(status="active").goals.count() == 2
    assert episode.notes.filter(status="signed", techniques__isnull=False).exists()
    assert OutcomeMeasurement.objects.filter(episode=episode).exists()
    assert patient.invoices.exists() and patient.payments.exists() and patient.referrals.exists()

    note = SessionNote.objects.get(public_id=t.note)
    assert note.status == "draft" and note.author == therapist
    assert note.appointment == bench_day.first()

    account = Patient.objects.get(public_id=t.account_patient)
    assert account.invoices.exists() and account.payments.exists()

    hits = Patient.objects.filter(legal_last_name__icontains=t.search_hit).count()
    assert 5 <= hits <= 50
    miss = t.search_miss
    assert not Patient.objects.filter(legal_last_name__icontains=miss).exists()
    assert not Patient.objects.filter(legal_first_name__icontains=miss).exists()


def test_the_search_hit_stays_a_dozen_whatever_n():
    from effleura.demo import scale_rows

    for n in (200, 1000, 100_000):
        every = max(1, n // scale_rows.SEARCH_HIT_PATIENTS)
        hits = [j for j in range(n) if j % every == 7 % every and j // every < scale_rows.SEARCH_HIT_PATIENTS]
        assert len(hits) == 12


# The pages read it ----------------------------------------------------------------------------


@time_machine.travel(datetime.datetime(2026, 6, 17, 10, 30, tzinfo=sp.TZ), tick=False)
def test_the_pages_render_the_bench_practice(built):
    t = scale.bench_targets()
    patient = Patient.objects.get(public_id=t.chart_patient)
    therapist = signed_in(t.therapist)
    day = scale.BENCH_DAY.isoformat()
    pages = [
        (therapist, reverse("patients:chart", args=[t.chart_patient]), patient.legal_last_name),
        (therapist, reverse("scheduling:day") + f"?location={t.location}&date={day}", patient.legal_last_name),
        (therapist, reverse("scheduling:day") + f"?location={t.location}&date={scale.SMALL_DAY}", "Bench"),
        (therapist, reverse("scheduling:week") + f"?location={t.location}&date={day}", patient.legal_last_name),
        (therapist, reverse("scheduling:today"), patient.legal_last_name),
        (therapist, reverse("patients:list"), "EF0"),
        (therapist, reverse("patients:search") + f"?q={t.search_hit}", t.search_hit),
        (therapist, reverse("clinical:note_edit", args=[t.note]), "Synthetic benchmark data"),
        (signed_in(t.billing), reverse("billing:home"), "Bench"),
        (signed_in(t.billing), reverse("billing:account", args=[t.account_patient]), "Paid"),
        (signed_in(t.owner), reverse("core:audit_list"), "Bench"),
    ]
    for client, url, text in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url
    trail = signed_in(t.owner).get(reverse("core:audit_list")).context["rows"]
    assert trail and all(r.who and r.what and "_" not in r.what for r in trail)  # names and words, not codes
    miss = therapist.get(reverse("patients:search") + f"?q={t.search_miss}")
    assert miss.status_code == 200 and t.search_hit not in miss.content.decode()


def test_the_calendar_shows_fifty_practitioners_on_the_bench_day_and_ten_on_the_small_day(built):
    t = scale.bench_targets()
    client = signed_in(t.frontdesk)
    for day, columns in ((scale.BENCH_DAY, 50), (scale.SMALL_DAY, 10)):
        response = client.get(reverse("scheduling:day") + f"?location={t.location}&date={day}")
        assert response.status_code == 200
        assert len(response.context["grid"].columns) == columns


def test_the_builder_leaves_every_index_and_constraint_the_migrations_made(built):
    assert _schema() == built.schema_before


def test_the_rows_are_counted_per_table(built):
    assert built.counts["scheduling_appointment"] == Appointment.objects.count()
    assert built.counts["core_auditevent"] == AuditEvent.objects.count()
