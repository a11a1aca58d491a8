"""Shared personas and factories: one user per role plus an outsider (signed in, no
role), so every endpoint's refusals get tested the same way."""

import datetime
import itertools
import os

import pytest
from django.test import Client

from effleura.core.choices import Role

# Location, rooms, service, hours, next_monday, at, book and api_as: see the module.
pytest_plugins = ["scheduling_fixtures"]
_OFFENDING_DETAILS: list[str] = []

PASSWORD = "correct-horse-battery-9"

# Fast hashing in tests; production uses Argon2 (settings.PASSWORD_HASHERS).
os.environ.setdefault("EFFLEURA_TASK_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")


@pytest.fixture(autouse=True)
def _fast_and_quiet(settings):
    # MD5 for speed; Argon2 still verifies passwords set before this fixture (module-scoped data).
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_practice_zone():
    """core.clock keeps the practice's zone for a minute per process. Each test starts with
    the zone of a fresh database (no practice row yet: EFFLEURA_TIME_ZONE), as a warm app
    server has it, so pinned query counts hold and a test without a database never reads
    one. do_save_practice clears it; a test that writes Practice.time_zone another way, or
    changes settings.TIME_ZONE, calls clock.forget_practice_zone()."""
    from django.conf import settings

    from effleura.core import clock

    clock.forget_practice_zone()
    clock.remember_practice_zone(settings.TIME_ZONE)
    yield
    clock.forget_practice_zone()


def _make_user(django_user_model, username, role, **extra):
    return django_user_model.objects.create_user(
        username=username,
        password=PASSWORD,
        role=role,
        first_name=username.replace("_", " ").title(),
        last_name="Tester",
        email=f"{username}@example.test",
        **extra,
    )


@pytest.fixture
def owner(db, django_user_model):
    return _make_user(django_user_model, "owner", Role.OWNER)


@pytest.fixture
def therapist(db, django_user_model):
    return _make_user(django_user_model, "therapist", Role.THERAPIST, credentials="LMT")


@pytest.fixture
def front_desk(db, django_user_model):
    return _make_user(django_user_model, "front_desk", Role.FRONT_DESK)


@pytest.fixture
def billing(db, django_user_model):
    return _make_user(django_user_model, "billing", Role.BILLING)


@pytest.fixture
def outsider(db, django_user_model):
    """Signed in, but no role: a new or suspended account."""
    return _make_user(django_user_model, "outsider", "")


@pytest.fixture
def personas(owner, therapist, front_desk, billing, outsider):
    return {"owner": owner, "therapist": therapist, "front_desk": front_desk, "billing": billing, "outsider": outsider}


@pytest.fixture
def client_for():
    """client_for(user) -> a Django test Client signed in as ``user``."""

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


_counter = itertools.count(1)


@pytest.fixture
def make_patient(db, owner):
    """make_patient(**fields) -> a synthetic patient created through the real action."""
    from effleura.patients import actions

    def make(**fields):
        n = next(_counter)
        data = {
            "legal_first_name": f"Testpatient{n}",
            "legal_last_name": "Synthetic",
            "date_of_birth": datetime.date(1980, 1, 1) + datetime.timedelta(days=n),
            "phone": f"555-01{n % 100:02d}",
            **fields,
        }
        clean = actions.check_create_patient(owner, data, allow_duplicate=True)
        return actions.do_create_patient(owner, clean)

    return make


@pytest.fixture
def add_history(db, therapist):
    """add_history(patient, **fields) -> a new health-history version via the real action."""
    from effleura.patients import actions

    def add(patient, **fields):
        clean = actions.check_add_health_history(therapist, patient, fields)
        return actions.do_add_health_history(therapist, patient, clean)

    return add


@pytest.fixture
def password():
    """The password every persona signs in with."""
    return PASSWORD


@pytest.fixture(autouse=True)
def _let_transactional_tests_empty_the_audit_table(request):
    """A transactional test ends with Django emptying every table (DELETE FROM on SQLite),
    which the audit table's append-only triggers refuse. Drop them just before that; the
    post_migrate signal Django sends after the flush re-creates them (core/append_only.py)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or bool(marker and marker.kwargs.get("transaction"))
    if not transactional:
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    from effleura.core.append_only import drop_sqlite_audit_triggers

    drop_sqlite_audit_triggers()


@pytest.fixture(autouse=True, scope="session")
def _note_every_audit_detail():
    """Audit details must never name a condition, technique or measure: every detail any
    test writes is noted, and the session fails at its end if one does (tests/audit_details.py)."""
    import audit_details

    audit_details.collect()
    return audit_details.DETAILS


def pytest_sessionfinish(session, exitstatus):
    import audit_details

    if not audit_details.DETAILS:
        return
    _OFFENDING_DETAILS[:] = audit_details.offending(audit_details.DETAILS, audit_details.health_terms())
    if _OFFENDING_DETAILS:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if _OFFENDING_DETAILS:
        terminalreporter.section("audit details naming health details", red=True)
        terminalreporter.write_line("These audit details name a condition, technique or measure (docs/audit.md):")
        for line in _OFFENDING_DETAILS:
            terminalreporter.write_line(f"  {line}")


@pytest.fixture
def latest_migrations_after():
    """For a test that migrates an app back and forward again: afterwards every app is at its
    latest migration. Stepping one app back also unapplies other apps' later migrations that
    depend on it, and stepping that app forward to one migration does not redo them, so the
    tests after would run on an old schema."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
