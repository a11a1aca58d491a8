"""Audit `detail` never holds health details (issue 12 item 5; docs/audit.md).

tests/conftest.py installs collect() once per test session: every audit event written
by any test, through audit.record, audit.record_many (its own INSERT) or the ORM
directly (one event or in bulk), has its detail noted. When the session ends, offending() looks for the
knowledge base's condition, technique and measure names (keys, labels, short names, in
any case; health_terms()) in them and the run fails, naming each offending detail.
tests/e2e/conftest.py adds the details stored by the e2e server (its own SQLite
database) when its site fixture ends. Not reached: events written by other subprocesses
into their own databases (tests/scheduling/test_concurrency.py's child's race database).
Noting a string in a set costs nothing measurable.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable

DETAILS: set[str] = set()


def collect() -> None:
    """Note the detail of every audit event saved from now on (idempotent)."""
    from effleura.core import audit
    from effleura.core.models import AuditEvent, AuditEventQuerySet

    if getattr(AuditEvent.save, "_notes_details", False):
        return
    save, bulk_create, record_many = AuditEvent.save, AuditEventQuerySet.bulk_create, audit.record_many

    @functools.wraps(save)
    def noting_save(self, *args, **kwargs):
        DETAILS.add(self.detail)
        return save(self, *args, **kwargs)

    @functools.wraps(bulk_create)
    def noting_bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        DETAILS.update(obj.detail for obj in objs)
        return bulk_create(self, objs, *args, **kwargs)

    @functools.wraps(record_many)
    def noting_record_many(*args, detail: str = "", **kwargs):
        DETAILS.add(detail)
        return record_many(*args, detail=detail, **kwargs)

    noting_save._notes_details = True
    AuditEvent.save = noting_save
    AuditEventQuerySet.bulk_create = noting_bulk_create
    audit.record_many = noting_record_many


# Words of the knowledge base that are also ordinary words of the program's own notes.
# Each entry is exempt ONLY as that exact word (every other term of the same condition,
# technique or measure is still looked for), and says where the collision comes from.
# Add one only for a real collision, named by a failing run; never to silence a health
# detail.
ALLOWED: dict[str, str] = {}


def _label_parts(label: str) -> set[str]:
    """ "Heat (hot pack)" -> the label, "Heat" and "hot pack"."""
    parts = {label}
    outside = re.sub(r"\s*\([^)]*\)", "", label).strip()
    parts.add(outside)
    parts.update(inner.strip() for inner in re.findall(r"\(([^)]*)\)", label))
    # "Epilepsy or seizures" names "Epilepsy" and "seizures" too.
    parts.update(piece.strip() for piece in re.split(r"\s+or\s+", outside))
    return {p for p in parts if p}


def health_terms() -> dict[str, str]:
    """Every name the knowledge base as shipped gives a condition, technique (strokes and
    modalities too) or measure, lower-cased, each mapped to its key: the key, the key
    with spaces, the label and its parts, the short name. Whatever a test loaded in its
    place."""
    from effleura.clinical.knowledge_loading import load
    from effleura.clinical.knowledge_records import DEFAULT_DIR

    kb = load(DEFAULT_DIR)
    terms: dict[str, str] = {}
    for item in (*kb.techniques, *kb.conditions, *kb.measures):
        names = {item.key, item.key.replace("_", " "), *_label_parts(item.label)}
        names.add(getattr(item, "short", "") or "")
        for name in filter(None, names):
            terms.setdefault(name.lower(), item.key)
    return terms


def offending(details: Iterable[str], terms: Iterable[str], *, allowed: dict[str, str] = ALLOWED) -> list[str]:
    """The details that name a term, in any case, as "detail  (term, term)", sorted. A term
    counts as whole words: "odi recorded" and "ODI" name "odi", "periodic" does not.
    Terms in ``allowed`` are not looked for."""
    wanted = sorted({t.lower() for t in terms} - {a.lower() for a in allowed}, key=len, reverse=True)
    if not wanted:
        return []
    pattern = re.compile(r"(?<![a-z0-9_])(" + "|".join(map(re.escape, wanted)) + r")(?![a-z0-9_])", re.IGNORECASE)
    found = []
    for detail in details:
        named = sorted({m.lower() for m in pattern.findall(detail or "")})
        if named:
            found.append(f"{detail!r}  ({', '.join(named)})")
    return sorted(found)


def details_in_sqlite(path) -> set[str]:
    """The audit details stored in another process's SQLite database (the e2e server's),
    read with sqlite3 directly; empty when there is no such file."""
    import pathlib
    import sqlite3

    if not pathlib.Path(path).exists():
        return set()
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return {row[0] for row in db.execute("SELECT DISTINCT detail FROM core_auditevent")}
