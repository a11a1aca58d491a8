"""PostgreSQL timestamps load through psycopg's C loader and still come back exactly as
Django's own loader gives them: aware, in UTC, to the microsecond (core/pg_loaders.py,
decision 0033)."""

import datetime
import zoneinfo

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.pq import Format

from effleura.core import pg_loaders
from effleura.core.choices import AuditAction
from effleura.core.models import AuditEvent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's loaders are PostgreSQL's"),
]

TIMESTAMPTZ = psycopg.postgres.types["timestamptz"].oid
ZONES = ["UTC", "America/Toronto", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Kiritimati", "Pacific/Pago_Pago"]


def _loader():
    connection.ensure_connection()
    return connection.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)


def _load(cursor, values):
    cursor.execute("SELECT unnest(%s::timestamptz[])", [values])
    return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_new_connections_load_timestamps_with_the_c_loader():
    assert pg_loaders.UtcTimestamptzLoader.fast is not None, "psycopg[binary] is a dependency"
    assert _loader() is pg_loaders.UtcTimestamptzLoader


@pytest.mark.django_db
def test_django_keeps_the_loader_on_every_cursor():
    with connection.cursor():
        pass
    assert _loader() is pg_loaders.UtcTimestamptzLoader
    assert _loader().timezone == connection.timezone


@pytest.mark.django_db
@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime.datetime(1900, 1, 1),
        max_value=datetime.datetime(2200, 12, 31),
        timezones=st.sampled_from([zoneinfo.ZoneInfo(z) for z in ZONES]),
    )
)
def test_a_timestamp_comes_back_as_the_same_instant_in_utc(moment):
    with connection.cursor() as cursor:
        (loaded,) = _load(cursor, [moment])
    assert loaded == moment
    assert loaded.tzinfo is datetime.UTC
    assert loaded.utcoffset() == datetime.timedelta(0)


@pytest.mark.django_db
def test_it_gives_what_django_s_own_loader_gives():
    moments = [
        datetime.datetime(2026, 3, 8, 6, 59, 59, 999999, tzinfo=datetime.UTC),
        datetime.datetime(1969, 12, 31, 23, 0, 0, 1, tzinfo=zoneinfo.ZoneInfo("America/Toronto")),
        datetime.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")),
        None,
    ]
    with connection.cursor() as cursor:
        fast = _load(cursor, moments)
        register_tzloader(connection.timezone, cursor.cursor)  # Django's, on this cursor only
        assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ, Format.TEXT) is not pg_loaders.UtcTimestamptzLoader
        django_s = _load(cursor, moments)
    assert fast == django_s
    assert [m.tzinfo for m in fast if m] == [m.tzinfo for m in django_s if m]


@pytest.mark.django_db
def test_model_fields_read_back_what_was_saved(owner):
    at = datetime.datetime(2026, 6, 17, 9, 45, 12, 345678, tzinfo=zoneinfo.ZoneInfo("America/Vancouver"))
    event = AuditEvent.objects.create(
        actor_id=owner.pk, actor_username=owner.username, action=AuditAction.READ, record_type="loader-test", at=at
    )
    fetched = AuditEvent.objects.get(pk=event.pk)
    assert fetched.at == at
    assert fetched.at.tzinfo is datetime.UTC
