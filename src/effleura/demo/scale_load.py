"""Bulk writing for the large synthetic practice: PostgreSQL COPY, SQLite executemany.

Rows are tuples of plain values in the table's column order, already as the database
stores them: text, int, None; UUIDs as 32 hex digits (both databases read that), times as
naive UTC text "YYYY-MM-DD HH:MM:SS" (the connection's zone is UTC), booleans as 1/0,
amounts as text, JSON as its text. They are streamed (never a list of them), so a table of
ten million rows costs no more memory than one of ten.
"""

import itertools
import time

from django.core.management.color import no_style
from django.db import connection

CHUNK = 20_000


class Writer:
    """Writes rows into tables and reports each table's count and speed through ``out``."""

    def __init__(self, out=print, *, defer_indexes: bool = True):
        self.out = out
        self.defer_indexes = defer_indexes
        self.vendor = connection.vendor
        self.counts: dict[str, int] = {}

    def write(self, model, columns: list[str], rows) -> int:
        table = model._meta.db_table
        started = time.monotonic()
        if self.vendor == "postgresql":
            deferred = self._drop_plain_indexes(table) if self.defer_indexes else []
            count = self._copy(table, columns, rows)
            loaded = time.monotonic()
            self._create_indexes(deferred)
            indexed = f", {len(deferred)} indexes in {time.monotonic() - loaded:.1f} s" if deferred else ""
        else:
            count, indexed = self._many(table, columns, rows), ""
        seconds = time.monotonic() - started
        self.counts[table] = self.counts.get(table, 0) + count
        rate = f" ({count / seconds:,.0f} rows/s{indexed})" if seconds > 0 else ""
        self.out(f"  {table}: {count:,} rows in {seconds:.1f} s{rate}")
        return count

    def _drop_plain_indexes(self, table) -> list[str]:
        """PostgreSQL: drop the table's plain indexes (not unique, not behind a constraint)
        and return their definitions, to build each once after the COPY (a sort) instead
        of updating it row by row. Keys, unique indexes and the exclusion constraints stay
        and check every row as it arrives (adding an exclusion constraint back after the
        load was measured slower than keeping it: docs/performance.md#scale). Same
        transaction, so a failure restores them."""
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT i.relname, pg_get_indexdef(i.oid)
                FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                WHERE x.indrelid = %s::regclass AND NOT x.indisunique AND NOT x.indisprimary
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
                ORDER BY i.relname
                """,
                [table],
            )
            indexes = cursor.fetchall()
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        return [definition for _name, definition in indexes]

    def _create_indexes(self, statements) -> None:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def _copy(self, table, columns, rows) -> int:
        quote = connection.ops.quote_name
        sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        count = 0
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
                count += 1
        return count

    def _many(self, table, columns, rows) -> int:
        quote = connection.ops.quote_name
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES ({marks})"  # noqa: S608
        count = 0
        raw = connection.connection  # the sqlite3 connection, inside Django's transaction
        rows = iter(rows)
        while chunk := list(itertools.islice(rows, CHUNK)):
            raw.executemany(sql, chunk)
            count += len(chunk)
        return count

    def reset_sequences(self, models) -> None:
        """PostgreSQL: move the id sequences past the ids we chose (SQLite's AUTOINCREMENT
        follows explicit ids by itself)."""
        if self.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)


def dt(value) -> str | None:
    """A naive UTC datetime as both databases read it."""
    return None if value is None else value.isoformat(" ")


def flag(value: bool) -> int:
    return 1 if value else 0
