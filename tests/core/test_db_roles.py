"""`effleura db roles`: an owner role for migrations and a least-privilege app role that
cannot rewrite the audit trail or switch its triggers off (issue 12 item 5)."""

import contextlib

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from effleura.core import audit, db_roles, seals
from effleura.core.choices import AuditAction, Role
from effleura.core.models import AuditEvent, AuditSeal, User


def postgres_only(test):
    """Real roles on a real server, seen from a second sign-in: committed data."""
    for mark in (
        pytest.mark.postgres,
        pytest.mark.skipif(connection.vendor != "postgresql", reason="roles are PostgreSQL's"),
        pytest.mark.django_db(transaction=True),
        pytest.mark.usefixtures("roles"),
    ):
        test = mark(test)
    return test


def test_role_names_are_checked_before_any_sql_is_made():
    with pytest.raises(db_roles.RoleNameError):
        db_roles.roles_sql("effleura", "owner; DROP TABLE x", "effleura_app")
    with pytest.raises(db_roles.RoleNameError):
        db_roles.roles_sql("effleura", "same", "same")


def test_the_sql_gives_the_app_role_no_way_to_rewrite_the_audit_tables():
    sql = db_roles.roles_sql('odd"name', "own", "app")
    assert 'GRANT CONNECT ON DATABASE "odd""name" TO own, app;' in sql
    assert "REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON core_auditevent, core_auditseal FROM app;" in sql
    assert "OWNER TO own" in sql and "OWNER TO app" not in sql


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite refusal")
def test_on_sqlite_it_explains_that_roles_are_for_postgresql(db):
    with pytest.raises(CommandError, match="Database roles are for PostgreSQL"):
        call_command("db", "roles")


@contextlib.contextmanager
def _as(role: str):
    """Run with the default connection signed in as ``role`` (the cluster trusts its socket)."""
    saved = connection.settings_dict["USER"]
    connection.close()
    connection.settings_dict["USER"] = role
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["USER"] = saved


@pytest.fixture
def roles(capsys):
    call_command("db", "roles")
    printed = capsys.readouterr().out
    assert "CREATE ROLE effleura_app" in printed
    call_command("db", "roles", "--apply")
    call_command("db", "roles", "--apply")  # safe to repeat
    assert "are set up" in capsys.readouterr().out
    return db_roles.DEFAULT_OWNER, db_roles.DEFAULT_APP


def _refused(sql: str, match: str):
    with pytest.raises(DatabaseError, match=match), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("UPDATE core_auditevent SET detail = 'tampered'", "permission denied"),
        ("DELETE FROM core_auditevent", "permission denied"),
        ("TRUNCATE core_auditevent", "permission denied"),
        ("ALTER TABLE core_auditevent DISABLE TRIGGER USER", "must be owner"),
        ("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_no_update", "must be owner"),
        ("DROP TRIGGER core_auditevent_no_delete ON core_auditevent", "must be owner"),
        ("UPDATE core_auditseal SET hmac = 'forged'", "permission denied"),
        ("DELETE FROM core_auditseal", "permission denied"),
        ("ALTER TABLE core_auditseal DISABLE TRIGGER USER", "must be owner"),
        ("CREATE TABLE core_intruder (id int)", "permission denied"),
    ],
)
@postgres_only
def test_the_app_role_cannot_rewrite_the_audit_trail_or_switch_its_triggers_off(sql, why, owner):
    audit.record(owner, AuditAction.LOGIN, "session")
    seals.seal_pending()
    before = list(AuditEvent.objects.values_list("id", "detail")), list(AuditSeal.objects.values_list("hmac"))
    with _as(db_roles.DEFAULT_APP):
        _refused(sql, why)
    assert (list(AuditEvent.objects.values_list("id", "detail")), list(AuditSeal.objects.values_list("hmac"))) == before


def _app_flow(password):
    """What the app does every day, as the app role: staff, a sign-in, a patient, a chart
    read, a health history, the audit page, sealing and verifying."""
    from effleura.patients import actions

    owner = User.objects.create_user("owner", password=password, role=Role.OWNER)
    therapist = User.objects.create_user("therapist", password=password, role=Role.THERAPIST)
    client = Client()
    assert client.post(reverse("core:login"), {"username": "owner", "password": password}).status_code == 302
    clean = actions.check_create_patient(
        owner,
        {"legal_first_name": "Roletest", "legal_last_name": "Synthetic", "date_of_birth": "1980-01-01"},
        allow_duplicate=True,
    )
    patient = actions.do_create_patient(owner, clean)
    assert client.get(reverse("patients:chart", args=[patient.public_id])).status_code == 200
    history = actions.check_add_health_history(therapist, patient, {})
    actions.do_add_health_history(therapist, patient, history)
    assert client.get(reverse("core:audit_list")).status_code == 200
    assert seals.seal_pending() > 0
    report = seals.verify(by="owner")
    assert report.ok, report.problems
    return AuditEvent.objects.count()


@postgres_only
def test_the_app_works_as_the_app_role(password):
    with _as(db_roles.DEFAULT_APP):
        events = _app_flow(password)
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == db_roles.DEFAULT_APP
    assert events >= 4


@postgres_only
def test_the_owner_role_owns_every_table_and_may_migrate():
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
        assert [row[0] for row in cursor.fetchall()] == [db_roles.DEFAULT_OWNER]
    with _as(db_roles.DEFAULT_OWNER):
        call_command("migrate", "--check", verbosity=0)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("CREATE TABLE core_later_migration (id int)")
            cursor.execute("DROP TABLE core_later_migration")
