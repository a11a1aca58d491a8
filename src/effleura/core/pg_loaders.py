"""How PostgreSQL's timestamps become Python values (docs/decisions/0033).

Django (5.2) loads every ``timestamptz`` through a subclass of psycopg's pure-Python
loader, so that it can put its own tzinfo on the value. That costs about 2.5 µs a value:
a calendar day of 400 visits reads some 3,000 timestamps, 8 ms of its time. psycopg's own
loader, written in C (psycopg[binary]), does the same work in a fraction of that.

When the session's time zone is UTC, which is what Django sets whenever USE_TZ is on and
the database has no TIME_ZONE of its own, both loaders give the same value: an aware
datetime in ``datetime.UTC``. So on each new connection this puts back a loader that
hands the work to psycopg's C one. It keeps the ``timezone`` attribute Django reads on
every cursor (to decide whether to register its own loader again) equal to Django's, so
Django leaves it in place. Anywhere else (no C implementation, another zone, USE_TZ off)
nothing changes.
"""

import datetime

import psycopg
from django.conf import settings
from psycopg.adapt import Loader
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader as PythonTimestamptzLoader


def _c_loader():
    """psycopg's C loader for text-format timestamptz, or None without psycopg[binary]."""
    oid = psycopg.postgres.types["timestamptz"].oid
    found = psycopg.adapters.get_loader(oid, Format.TEXT)
    return None if found is None or found is PythonTimestamptzLoader else found


class UtcTimestamptzLoader(Loader):
    """Loads timestamptz text with psycopg's C loader, for a UTC session. ``timezone`` is
    what Django compares with the connection's zone before each cursor."""

    timezone = datetime.UTC
    fast = _c_loader()

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        self._load = self.fast(oid, context).load

    def load(self, data):
        return self._load(data)


def use_c_timestamp_loader(sender, connection, **kwargs) -> None:
    """connection_created receiver (core/apps.py): on a PostgreSQL connection whose session
    zone is UTC, load timestamps with psycopg's C loader."""
    if connection.vendor != "postgresql" or not settings.USE_TZ:
        return
    if UtcTimestamptzLoader.fast is None or connection.timezone is not datetime.UTC:
        return
    if connection.connection.info.parameter_status("TimeZone") != "UTC":
        return
    connection.connection.adapters.register_loader("timestamptz", UtcTimestamptzLoader)
