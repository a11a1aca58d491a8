"""The one extension mechanism (core/extensions.py) and the points declared with it
(core/extension_points.py)."""

import pytest

from effleura.billing.charges import charge_for_signed_note
from effleura.billing.chart import account_section
from effleura.clinical.calendar_badges import note_badges, screening_badges
from effleura.clinical.models import Episode, SessionNote
from effleura.clinical.notes import undo_guard
from effleura.core import extension_points
from effleura.core.extension_points import PatientUrl
from effleura.core.extensions import ExtensionPoint
from effleura.patients.access import find_patients, patient_labels
from effleura.referrals.authorization_warnings import authorization_badges, booking_warnings
from effleura.referrals.chart import referrals_section
from effleura.scheduling.badges import consent_badges
from effleura.scheduling.chart import next_visits_section


def point() -> ExtensionPoint:
    return ExtensionPoint("test_point", "Called by the test with (x); a provider answers x plus its own.")


def test_it_calls_the_providers_in_the_order_they_registered():
    calls = []
    p = point()
    p.register(lambda x: calls.append(("first", x)))
    p.register(lambda x: calls.append(("second", x)))
    p.call_all(7)
    assert calls == [("first", 7), ("second", 7)]


def test_registering_a_provider_twice_keeps_one_in_its_first_place():
    p = point()

    def a(x):
        return f"a{x}"

    def b(x):
        return f"b{x}"

    assert p.register(a) is a  # usable as a decorator
    p.register(b)
    p.register(a)
    assert p.providers == (a, b)
    assert p.collect(1) == ["a1", "b1"]


def test_equal_value_providers_count_as_one():
    p = point()
    p.register(PatientUrl("episode_id", Episode))
    p.register(PatientUrl("episode_id", Episode))
    assert len(p.providers) == 1
    p.register(PatientUrl("note_id", SessionNote, "episode__patient__public_id"))
    assert len(p.providers) == 2


def test_collect_leaves_out_providers_with_nothing_to_add():
    p = point()
    p.register(lambda x: None)
    p.register(lambda x: [x])
    p.register(lambda x: [])
    assert p.collect("w") == [["w"], []]


def test_first_stops_at_the_first_answer():
    asked = []
    p = point()

    def nothing(x):
        asked.append("nothing")

    def answer(x):
        asked.append("answer")
        return x * 2

    def never(x):
        asked.append("never")
        return "too late"

    for provider in (nothing, answer, never):
        p.register(provider)
    assert p.first(21) == 42
    assert asked == ["nothing", "answer"]
    assert point().first(1) is None


def test_an_exception_in_a_provider_reaches_the_caller_and_stops_the_rest():
    calls = []
    p = point()

    def refuse(x):
        raise ValueError("no")

    p.register(refuse)
    p.register(lambda x: calls.append(x))
    with pytest.raises(ValueError):
        p.call_all(1)
    assert calls == []


def test_it_refuses_a_point_without_a_contract_or_a_provider_that_cannot_be_called():
    with pytest.raises(ValueError):
        ExtensionPoint("nameless", "  ")
    with pytest.raises(TypeError):
        point().register("not a function")


def test_every_declared_point_documents_its_contract_where_it_is_declared():
    points = [v for v in vars(extension_points).values() if isinstance(v, ExtensionPoint)]
    assert {p.name for p in points} == {
        "chart_sections",
        "calendar_badges",
        "booking_warnings",
        "care_team",
        "note_signed",
        "patient_urls",
        "status_undo_guards",
        "patient_labels",
        "patient_finder",
        "home_sections",
    }
    for p in points:
        assert getattr(extension_points, p.name) is p
        assert "Called by" in p.contract, p.name


def test_the_apps_fill_the_points_at_start_up():
    assert extension_points.calendar_badges.providers == (
        consent_badges,
        screening_badges,
        note_badges,
        authorization_badges,
    )
    assert extension_points.chart_sections.providers == (next_visits_section, referrals_section, account_section)
    assert extension_points.booking_warnings.providers == (booking_warnings,)
    assert extension_points.note_signed.providers == (charge_for_signed_note,)
    assert extension_points.status_undo_guards.providers == (undo_guard,)
    kwargs = {p.kwarg for p in extension_points.patient_urls.providers}
    assert {"episode_id", "note_id", "referral_id", "invoice_id", "claim_id"} <= kwargs
    assert extension_points.patient_labels.providers == (patient_labels,)
    assert extension_points.patient_finder.providers == (find_patients,)


@pytest.mark.django_db
def test_the_audit_trail_names_a_page_of_patients_in_one_query(make_patient, django_assert_num_queries):
    patients = [make_patient() for _ in range(5)]
    with django_assert_num_queries(1):
        labels = extension_points.patient_labels.first([p.public_id for p in patients])
    assert labels == {p.public_id: f"{p.display_name} ({p.chart_number})" for p in patients}


@pytest.mark.django_db
def test_a_patient_url_finds_the_patient_behind_the_record(make_patient, therapist, django_assert_num_queries):
    patient = make_patient()
    episode = Episode.objects.create(patient=patient, title="Low back pain", therapist=therapist, created_by=therapist)
    resolver = PatientUrl("episode_id", Episode)
    with django_assert_num_queries(1):
        assert resolver({"episode_id": episode.public_id}) == patient.public_id
    with django_assert_num_queries(0):
        assert resolver({"invoice_id": episode.public_id}) is None
    assert extension_points.patient_urls.first({"episode_id": episode.public_id}) == patient.public_id


# URL parameters that name something other than a patient's record (staff, set-up,
# consent wording, tokens, feeds), and patient_id, which names the patient itself.
NOT_A_PATIENTS_RECORD = {"patient_id", "user_id", "document_id", "token_id", "feed_id", "provider_id", "code_id"}
NOT_A_PATIENTS_RECORD |= {"template_id", "record_id", "location_id", "room_id", "service_id", "payer_id", "fee_id"}
NOT_A_PATIENTS_RECORD |= {"hours_id", "exception_id", "time_off_id", "closure_id"}  # working time, closures
NOT_A_PATIENTS_RECORD |= {"passkey_id"}  # a staff member's own passkey


def _url_id_parameters(patterns=None):
    from django.urls import get_resolver

    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if hasattr(entry, "url_patterns"):
            yield from _url_id_parameters(entry.url_patterns)
        yield from (name for name in entry.pattern.converters if name.endswith("_id"))


def test_every_url_that_names_a_patients_record_finds_the_patient():
    # Refusals there are audited against the patient (core/middleware.py), so they appear
    # in that patient's access report.
    registered = {p.kwarg for p in extension_points.patient_urls.providers}
    named = set(_url_id_parameters()) - NOT_A_PATIENTS_RECORD
    assert named <= registered, f"no patient_urls resolver for {sorted(named - registered)}"


@pytest.mark.django_db
def test_a_refusal_at_an_appointment_url_is_audited_against_its_patient(book, outsider, client_for):
    from effleura.core.choices import AuditOutcome
    from effleura.core.models import AuditEvent

    appointment = book("10:00")
    response = client_for(outsider).get(f"/schedule/appointments/{appointment.public_id}/")
    assert response.status_code == 403
    denied = AuditEvent.objects.filter(outcome=AuditOutcome.DENIED, actor_id=outsider.pk).latest("id")
    assert denied.patient_id == appointment.patient.public_id
