"""The patient search's index: a search that matches a few patients, or none, reads a few
rows whatever the number of patients (docs/decisions/0026-patient-search-indexes.md).

PostgreSQL: pg_trgm GIN indexes (migration patients/0004) on the very expressions the
search's lookups compile to, ``UPPER(col::text)`` and ``phone_digits``; the planner uses
them for search.to_q() as it is, so nothing is added to the query there.

SQLite: an FTS5 table with the trigram tokenizer over the same columns, its content read
from patients_patient (external content), kept true by triggers on every INSERT, UPDATE
and DELETE of that table, whoever writes (the demo's bulk loaders too). narrow() keeps the
rows whose columns hold every term of three or more characters, case folded (a superset
of what SQLite's LIKE matches); search.to_q() then applies the rule itself, so the index
only makes the search fast and never changes its answer.
"""

from django.db import connections
from django.db.models import Q
from django.db.models.expressions import RawSQL

from effleura.patients.search import TRIGRAM, Terms

TABLE = "patients_patient_search"
SOURCE = "patients_patient"
COLUMNS = ("legal_first_name", "legal_last_name", "preferred_name", "chart_number", "phone_digits")

_cols = ", ".join(COLUMNS)
_new = ", ".join(f"new.{c}" for c in COLUMNS)
_old = ", ".join(f"old.{c}" for c in COLUMNS)
_changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in COLUMNS)

CREATE_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5({_cols}, "
    f"content='{SOURCE}', content_rowid='id', tokenize='trigram')"
)
# name -> statement. An external-content FTS5 table is told what to forget with the old
# values ('delete'), so the update trigger removes the old row's terms before adding the new.
TRIGGERS = {
    f"{TABLE}_insert": (
        f"CREATE TRIGGER IF NOT EXISTS {TABLE}_insert AFTER INSERT ON {SOURCE} BEGIN "  # noqa: S608 (constants)
        f"INSERT INTO {TABLE}(rowid, {_cols}) VALUES (new.id, {_new}); END"
    ),
    f"{TABLE}_delete": (
        f"CREATE TRIGGER IF NOT EXISTS {TABLE}_delete AFTER DELETE ON {SOURCE} BEGIN "  # noqa: S608 (constants)
        f"INSERT INTO {TABLE}({TABLE}, rowid, {_cols}) VALUES ('delete', old.id, {_old}); END"
    ),
    f"{TABLE}_update": (
        f"CREATE TRIGGER IF NOT EXISTS {TABLE}_update AFTER UPDATE ON {SOURCE} "  # noqa: S608 (constants)
        f"WHEN old.id IS NOT new.id OR {_changed} BEGIN "
        f"INSERT INTO {TABLE}({TABLE}, rowid, {_cols}) VALUES ('delete', old.id, {_old}); "
        f"INSERT INTO {TABLE}(rowid, {_cols}) VALUES (new.id, {_new}); END"
    ),
}
REBUILD = f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')"  # noqa: S608 (constants)


def narrow(terms: Terms, using: str = "default") -> Q:
    """On SQLite, the filter to the FTS5 table's candidates for ``terms``; Q() elsewhere,
    or when no term is long enough for a trigram."""
    if connections[using].vendor != "sqlite":
        return Q()
    phrases = [t for t in [*terms.words, *terms.numbers] if len(t) >= TRIGRAM]
    if not phrases:
        return Q()
    # Each term a quoted phrase (a substring for the trigram tokenizer), all of them in
    # the row, each in any column: the rule's "every word must match".
    match = " AND ".join('"' + p.replace('"', '""') + '"' for p in phrases)
    return Q(pk__in=RawSQL(f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s", (match,)))  # noqa: S608, S611 (a constant; the text is a parameter)


def ensure_search_index(using: str = "default") -> bool:
    """After every migrate: on SQLite, put back any missing trigger (a migration that
    rebuilds patients_patient drops them) and then rebuild the index, which may have
    missed writes. True when it had to."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master"
            " WHERE (type = 'trigger' AND tbl_name = %s) OR (type = 'table' AND name = %s)",
            [SOURCE, TABLE],
        )
        present = {name for (name,) in cursor.fetchall()}
        if TABLE not in present or set(TRIGGERS) <= present:
            return False
        for statement in TRIGGERS.values():
            cursor.execute(statement)
        cursor.execute(REBUILD)
    return True
