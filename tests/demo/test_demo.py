"""`effleura demo`: the synthetic demo clinic (demo/data.py, demo/management/commands/demo.py)."""

import subprocess
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.urls import reverse

from effleura.core import audit
from effleura.core.choices import AuditOutcome, Role
from effleura.core.models import ApiToken, AuditEvent, User
from effleura.demo import data as demo_data
from effleura.patients.access import current_consent_documents
from effleura.patients.choices import Condition, ConsentKind, ConsentState, PatientStatus
from effleura.patients.consent import consent_statuses
from effleura.patients.models import (
    ConsentDocument,
    ConsentDocumentVersion,
    HealthHistory,
    Patient,
    PatientConsent,
)

DEMO_USERNAMES = ["owner", "therapist", "therapist2", "therapist3", "frontdesk", "billing"]
CONTRAINDICATING = {
    Condition.DVT,
    Condition.ANTICOAGULANT,
    Condition.PREGNANCY,
    Condition.PACEMAKER,
    Condition.CANCER_TREATMENT,
    Condition.LYMPHEDEMA,
    Condition.HYPERTENSION_UNCONTROLLED,
    Condition.FEVER,
    Condition.RECENT_SURGERY,
}


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def table_counts() -> dict[str, int]:
    models = [User, ApiToken, AuditEvent, Patient, HealthHistory]
    models += [ConsentDocument, ConsentDocumentVersion, PatientConsent]
    return {model.__name__: model.objects.count() for model in models}


def current_histories() -> list[HealthHistory]:
    newest = {}
    for history in HealthHistory.objects.order_by("version"):
        newest[history.patient_id] = history
    return list(newest.values())


def consent_states(kind: str) -> Counter:
    documents, latest = current_consent_documents()
    states = Counter()
    for patient in Patient.objects.prefetch_related("consents__document_version"):
        for status in consent_statuses(documents, latest, list(patient.consents.all())):
            if status.document.kind == kind:
                states[status.state] += 1
    return states


@pytest.fixture(scope="module")
def _demo_loaded_once(django_db_setup, django_db_blocker):
    """Loading the clinic takes seconds: do it once for the module, inside a transaction
    rolled back at the end, and give each test a savepoint within it."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        yield run_demo()
        transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_loaded_once, db) -> str:
    return _demo_loaded_once


# The plan (no database) --------------------------------------------------------------


def test_the_demo_password_passes_the_password_validators():
    validate_password(demo_data.DEMO_PASSWORD)
    assert len(demo_data.DEMO_PASSWORD) >= 10


def test_the_same_seed_plans_the_same_sixty_patients():
    first, again = demo_data.plan(), demo_data.plan()
    assert len(first) == demo_data.PATIENT_COUNT == 60
    assert [p.data for p in first] == [p.data for p in again]
    assert [p.data for p in demo_data.plan(seed=1)] != [p.data for p in first]


def test_planned_patients_are_obviously_synthetic_and_unique():
    planned = demo_data.plan()
    names = {(p.data["legal_first_name"], p.data["legal_last_name"]) for p in planned}
    assert len(names) == len(planned)
    for p in planned:
        assert "555-01" in p.data["phone"]
        assert "555-01" in p.data["emergency_contact_phone"]
        assert not p.data["email"] or p.data["email"].rsplit("@", 1)[1] in demo_data.EMAIL_DOMAINS


# Loading -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_loads_one_account_per_role_and_three_therapists(demo):
    users = {u.username: u for u in User.objects.all()}
    assert sorted(users) == sorted(DEMO_USERNAMES)
    assert Counter(u.role for u in users.values()) == {
        Role.OWNER: 1,
        Role.THERAPIST: 3,
        Role.FRONT_DESK: 1,
        Role.BILLING: 1,
    }
    assert all(u.credentials for u in users.values() if u.role == Role.THERAPIST)
    assert all(u.is_active for u in users.values())


@pytest.mark.django_db
def test_demo_loads_sixty_patients_mostly_active_with_some_inactive_and_discharged(demo):
    statuses = Counter(Patient.objects.values_list("status", flat=True))
    assert sum(statuses.values()) == 60
    assert statuses[PatientStatus.ACTIVE] > 40
    assert statuses[PatientStatus.INACTIVE] >= 3
    assert statuses[PatientStatus.DISCHARGED] >= 2
    assert len(set(Patient.objects.values_list("pronouns", flat=True))) >= 3
    assert len(set(Patient.objects.values_list("preferred_contact", flat=True))) >= 3
    assert not Patient.objects.filter(emergency_contact_name="").exists()


@pytest.mark.django_db
def test_demo_histories_include_contraindications_and_several_versions(demo):
    conditions = {c for history in current_histories() for c in history.screening_conditions}
    assert conditions >= CONTRAINDICATING
    anticoagulated = [h for h in current_histories() if Condition.ANTICOAGULANT in h.screening_conditions]
    assert any(h.on_blood_thinner for h in anticoagulated)
    assert HealthHistory.objects.filter(pregnant=True, pregnancy_weeks__isnull=False).exists()
    assert any("pacemaker" in h.implanted_devices for h in current_histories())
    versions = Counter(HealthHistory.objects.values_list("version", flat=True))
    assert versions[2] >= 5
    assert versions[3] >= 1
    # Some patients are registered but have no intake yet.
    assert Patient.objects.filter(health_histories__isnull=True).exists()


@pytest.mark.django_db
def test_demo_patients_are_in_every_consent_state(demo):
    treatment = consent_states(ConsentKind.TREATMENT)
    assert set(treatment) == set(ConsentState.values)
    assert treatment[ConsentState.CURRENT] > 30
    assert treatment[ConsentState.WITHDRAWN] == 1
    privacy = consent_states(ConsentKind.PRIVACY)
    assert privacy[ConsentState.CURRENT] > 40
    assert privacy[ConsentState.MISSING] >= 1
    treatment_doc = ConsentDocument.objects.get(kind=ConsentKind.TREATMENT)
    assert treatment_doc.required and treatment_doc.versions.count() == 2
    privacy_doc = ConsentDocument.objects.get(kind=ConsentKind.PRIVACY)
    assert privacy_doc.required and privacy_doc.versions.count() == 1


@pytest.mark.django_db
def test_every_demo_person_is_flagged_as_demo(demo):
    assert not User.objects.filter(is_demo=False).exists()
    assert not Patient.objects.filter(is_demo=False).exists()
    # Histories and signatures hang off demo patients only.
    assert not HealthHistory.objects.filter(patient__is_demo=False).exists()
    assert not PatientConsent.objects.filter(patient__is_demo=False).exists()


@pytest.mark.django_db
def test_the_demo_is_written_through_audited_actions_from_the_command_line(demo):
    events = AuditEvent.objects.all()
    assert not events.exclude(client_address="cli").exists()
    assert not events.exclude(outcome=AuditOutcome.ALLOWED).exists()
    created = set(events.filter(record_type="patient", action="create").values_list("patient_id", flat=True))
    assert created == set(Patient.objects.values_list("public_id", flat=True))
    assert events.filter(record_type="health_history").count() == HealthHistory.objects.count()
    assert events.filter(record_type="consent").count() == PatientConsent.objects.count() + 1  # + the withdrawal
    assert {e.actor_role for e in events if e.actor_role} >= {Role.OWNER, Role.THERAPIST, Role.FRONT_DESK}


@pytest.mark.django_db
def test_demo_puts_the_previous_client_address_back(demo):
    token = audit.client_address.set("10.0.0.9")
    try:
        run_demo()
        assert audit.client_address.get() == "10.0.0.9"
    finally:
        audit.client_address.reset(token)


@pytest.mark.django_db
def test_running_demo_twice_changes_and_duplicates_nothing(demo):
    before = table_counts()
    second = run_demo()
    assert table_counts() == before
    assert "already loaded" in second
    assert demo_data.DEMO_PASSWORD in second


@pytest.mark.django_db
def test_demo_prints_the_logins_the_address_and_that_the_data_is_synthetic(demo):
    for username in DEMO_USERNAMES:
        assert username in demo
    assert demo_data.DEMO_PASSWORD in demo
    assert "http://127.0.0.1:8000/" in demo
    assert "synthetic" in demo


@pytest.mark.django_db
def test_the_demo_prints_the_address_it_is_told_it_is_served_on(demo):
    out = StringIO()
    call_command("demo", url="http://127.0.0.1:8123/", stdout=out)
    assert "Sign in at http://127.0.0.1:8123/" in out.getvalue()
    assert "8000" not in out.getvalue()


@pytest.mark.parametrize(("host", "port"), [("127.0.0.1", "8000"), ("127.0.0.1", "8123")])
def test_make_run_tells_the_demo_the_address_the_server_binds(host, port):
    """`make run PORT=8123` printed "Sign in at http://127.0.0.1:8000/" once."""
    root = Path(__file__).resolve().parents[2]
    plan = subprocess.run(
        ["make", "-n", "--no-print-directory", "run", f"HOST={host}", f"PORT={port}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    demo_line = next(line for line in plan.splitlines() if " demo" in line and "effleura" in line)
    assert f"--url http://{host}:{port}/" in demo_line
    assert f"--bind {host}:{port}" in plan


@pytest.mark.django_db
def test_the_demo_requires_two_factor_sign_in_of_no_one_and_says_how_to_turn_it_on(demo):
    from effleura.core.models import Practice

    assert Practice.current().mfa_required_roles == []
    assert "Two-factor sign-in is off" in demo and "open Practice" in demo


@pytest.mark.django_db
@pytest.mark.parametrize("username", DEMO_USERNAMES)
def test_demo_users_can_log_in_with_the_demo_password(demo, client, username):
    client.post(reverse("core:login"), {"username": username, "password": demo_data.DEMO_PASSWORD})
    assert "_auth_user_id" in client.session


# Refusals and failures ----------------------------------------------------------------
