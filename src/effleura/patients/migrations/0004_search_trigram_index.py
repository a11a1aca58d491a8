"""Indexes for the patient search (docs/decisions/0026-patient-search-indexes.md).

PostgreSQL: pg_trgm GIN indexes on the expressions patients/search.py's lookups compile
to (icontains and istartswith: ``UPPER(col::text) LIKE``; contains: ``col::text LIKE``).
pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it, as
with btree_gist in scheduling/0002. Plain CREATE INDEX: it works on a table that already
holds patients (it reads them once).

SQLite: the FTS5 trigram table and its triggers (patients/search_index.py), filled for
the patients already there; and NOCASE indexes for words of one or two characters, which
match the start of a name with LIKE 'ab%' (SQLite's LIKE optimisation needs NOCASE).
"""

from django.db import migrations

from effleura.patients import search_index

TABLE = "patients_patient"
PG_INDEXES = {
    "patient_search_first_trgm": "UPPER(legal_first_name::text) gin_trgm_ops",
    "patient_search_last_trgm": "UPPER(legal_last_name::text) gin_trgm_ops",
    "patient_search_preferred_trgm": "UPPER(preferred_name::text) gin_trgm_ops",
    "patient_search_chart_trgm": "UPPER(chart_number::text) gin_trgm_ops",
    "patient_search_phone_trgm": "phone_digits gin_trgm_ops",
}
SQLITE_INDEXES = {
    "patient_search_first_nocase": "legal_first_name COLLATE NOCASE",
    "patient_search_last_nocase": "legal_last_name COLLATE NOCASE",
    "patient_search_preferred_nocase": "preferred_name COLLATE NOCASE",
    "patient_search_chart_nocase": "chart_number COLLATE NOCASE",
}


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, expression in PG_INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} USING gin ({expression})")
        schema_editor.execute(f"ANALYZE {TABLE}")  # statistics for the new expressions
    elif vendor == "sqlite":
        for name, expression in SQLITE_INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} ({expression})")
        schema_editor.execute(search_index.CREATE_TABLE)
        for statement in search_index.TRIGGERS.values():
            schema_editor.execute(statement)
        schema_editor.execute(search_index.REBUILD)  # the patients already there


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for name in PG_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        # The extension stays: other objects may have come to use it.
    elif vendor == "sqlite":
        for name in search_index.TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {search_index.TABLE}")
        for name in SQLITE_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("patients", "0003_consent_signer_once")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
