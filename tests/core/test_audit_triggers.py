"""The audit tables refuse, in the database, every way of rewriting a row: UPDATE, DELETE,
REPLACE INTO (which on SQLite deletes without firing DELETE triggers), INSERT OR
REPLACE, an upsert, and any insert that reuses an id (issue 12: 218 rows were
rewritten by one REPLACE INTO ... SELECT). On both databases."""

# ruff: noqa: S608 (constant SQL: the attacks themselves)

import pytest
from django.db import DatabaseError, connection, transaction

from effleura.core import audit, seals
from effleura.core.append_only import SQLITE_TRIGGERS, drop_sqlite_audit_triggers, ensure_audit_triggers
from effleura.core.choices import AuditAction
from effleura.core.models import AuditEvent, AuditSeal

COLUMNS = (
    "id, public_id, at, actor_id, actor_username, actor_role, patient_id, record_type, "
    "record_id, action, outcome, client_address, detail"
)
REWRITTEN = (
    "id, public_id, at, actor_id, actor_username, actor_role, patient_id, record_type, "
    "record_id, action, outcome, client_address, 'tampered'"
)


@pytest.fixture
def events(owner, make_patient):
    patient = make_patient()
    for _ in range(5):
        audit.record(owner, AuditAction.READ, "patient", record_id=patient.public_id, patient_id=patient.public_id)
    return list(AuditEvent.objects.order_by("id").values_list("id", "detail"))


def _refused(sql: str):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


def _unchanged(before):
    assert list(AuditEvent.objects.order_by("id").values_list("id", "detail")) == before


SQLITE_ATTACKS = {
    "replace into from select": f"REPLACE INTO core_auditevent ({COLUMNS}) SELECT {REWRITTEN} FROM core_auditevent",
    "insert or replace": f"INSERT OR REPLACE INTO core_auditevent ({COLUMNS}) SELECT {REWRITTEN} FROM core_auditevent",
    "insert reusing an id": f"INSERT INTO core_auditevent ({COLUMNS}) SELECT {REWRITTEN} FROM core_auditevent",
    "insert or ignore reusing an id": f"INSERT OR IGNORE INTO core_auditevent ({COLUMNS}) "
    f"SELECT id + 1000000, public_id, at, actor_id, actor_username, actor_role, patient_id, record_type, "
    "record_id, action, outcome, client_address, 'tampered' FROM core_auditevent",
    "upsert": f"INSERT INTO core_auditevent ({COLUMNS}) SELECT {REWRITTEN} FROM core_auditevent WHERE true "
    "ON CONFLICT(id) DO UPDATE SET detail = 'tampered'",
    "update or replace": "UPDATE OR REPLACE core_auditevent SET detail = 'tampered'",
    "update": "UPDATE core_auditevent SET detail = 'tampered'",
    "delete": "DELETE FROM core_auditevent",
}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's REPLACE")
@pytest.mark.parametrize("attack", SQLITE_ATTACKS)
def test_sqlite_refuses_every_rewrite_of_an_event_and_changes_nothing(events, attack):
    _refused(SQLITE_ATTACKS[attack])
    _unchanged(events)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's REPLACE")
def test_sqlite_refuses_replace_even_with_recursive_triggers_off_or_on(events):
    for setting in ("OFF", "ON"):
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA recursive_triggers = {setting}")
        _refused(SQLITE_ATTACKS["replace into from select"])
        _unchanged(events)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA recursive_triggers = OFF")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's triggers")
def test_a_new_event_still_goes_in(events, owner):
    audit.record(owner, AuditAction.LOGIN, "session")
    assert AuditEvent.objects.count() == len(events) + 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's triggers")
@pytest.mark.parametrize(
    "attack",
    [
        "REPLACE INTO core_auditseal SELECT * FROM core_auditseal",
        "INSERT INTO core_auditseal (id, sequence, format, first_event_id, last_event_id, count, sealed_at, "
        "key_id, event_ids, digests, previous_hmac, hmac) SELECT id + 100, sequence, format, first_event_id, "
        "last_event_id, count, sealed_at, key_id, event_ids, digests, previous_hmac, hmac FROM core_auditseal",
        "UPDATE core_auditseal SET hmac = 'forged'",
        "DELETE FROM core_auditseal",
    ],
)
def test_sqlite_refuses_every_rewrite_of_a_seal(events, attack):
    seals.seal_pending()
    before = list(AuditSeal.objects.values_list("id", "sequence", "hmac"))
    assert before
    _refused(attack)
    assert list(AuditSeal.objects.values_list("id", "sequence", "hmac")) == before


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's triggers")
def test_the_triggers_come_back_after_they_were_dropped(events):
    drop_sqlite_audit_triggers()
    ensure_audit_triggers()
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
    assert {name for triggers in SQLITE_TRIGGERS.values() for name in triggers} <= present
    _refused(SQLITE_ATTACKS["replace into from select"])


POSTGRES_ATTACKS = {
    "upsert": f"INSERT INTO core_auditevent ({COLUMNS}) SELECT {REWRITTEN} FROM core_auditevent "
    "ON CONFLICT (id) DO UPDATE SET detail = 'tampered'",
    "upsert on the public id": f"INSERT INTO core_auditevent ({COLUMNS}) SELECT id + 1000000, public_id, at, "
    "actor_id, actor_username, actor_role, patient_id, record_type, record_id, action, outcome, client_address, "
    "'tampered' FROM core_auditevent ON CONFLICT (public_id) DO UPDATE SET detail = 'tampered'",
    "insert reusing an id": f"INSERT INTO core_auditevent ({COLUMNS}) SELECT {REWRITTEN} FROM core_auditevent",
    "update": "UPDATE core_auditevent SET detail = 'tampered'",
    "delete": "DELETE FROM core_auditevent",
}


@pytest.mark.postgres
@pytest.mark.parametrize("attack", POSTGRES_ATTACKS)
def test_postgres_refuses_every_rewrite_of_an_event_and_changes_nothing(events, attack):
    _refused(POSTGRES_ATTACKS[attack])
    _unchanged(events)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "attack",
    [
        "UPDATE core_auditseal SET hmac = 'forged'",
        "DELETE FROM core_auditseal",
        "INSERT INTO core_auditseal SELECT * FROM core_auditseal",
        "INSERT INTO core_auditseal SELECT * FROM core_auditseal ON CONFLICT (id) DO UPDATE SET hmac = 'forged'",
    ],
)
def test_postgres_refuses_every_rewrite_of_a_seal(events, attack):
    seals.seal_pending()
    before = list(AuditSeal.objects.values_list("id", "sequence", "hmac"))
    assert before
    _refused(attack)
    assert list(AuditSeal.objects.values_list("id", "sequence", "hmac")) == before
