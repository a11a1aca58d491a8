"""Audit `detail` never holds health details (issue 12 item 5; docs/audit.md).

tests/conftest.py installs collect() once per test session: every audit event written
by any test, through audit.record, audit.record_many or the ORM directly (one event or
in bulk), has its detail noted. When the session ends, offending() looks for the
knowledge base's condition, technique and measure keys in them and the run fails,
naming each offending detail. Noting a string in a set costs nothing measurable.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

DETAILS: set[str] = set()


def collect() -> None:
    """Note the detail of every audit event saved from now on (idempotent)."""
    from effleura.core.models import AuditEvent, AuditEventQuerySet

    if getattr(AuditEvent.save, "_notes_details", False):
        return
    save, bulk_create = AuditEvent.save, AuditEventQuerySet.bulk_create

    @functools.wraps(save)
    def noting_save(self, *args, **kwargs):
        DETAILS.add(self.detail)
        return save(self, *args, **kwargs)

    @functools.wraps(bulk_create)
    def noting_bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        DETAILS.update(obj.detail for obj in objs)
        return bulk_create(self, objs, *args, **kwargs)

    noting_save._notes_details = True
    AuditEvent.save = noting_save
    AuditEventQuerySet.bulk_create = noting_bulk_create


def health_keys() -> set[str]:
    """The condition, technique (strokes and modalities too) and measure keys of the
    knowledge base as shipped, whatever a test loaded in its place."""
    from effleura.clinical.knowledge_loading import load
    from effleura.clinical.knowledge_records import DEFAULT_DIR

    kb = load(DEFAULT_DIR)
    return {t.key for t in kb.techniques} | {c.key for c in kb.conditions} | {m.key for m in kb.measures}


def offending(details: Iterable[str], keys: Iterable[str]) -> list[str]:
    """The details that name a key, as "detail  (key, key)", sorted. A key counts as a whole
    word: "odi recorded" names "odi", "periodic" does not."""
    pattern = re.compile(
        r"(?<![A-Za-z0-9_])(" + "|".join(sorted(map(re.escape, keys), key=len, reverse=True)) + r")(?![A-Za-z0-9_])"
    )
    found = []
    for detail in details:
        named = sorted(set(pattern.findall(detail)))
        if named:
            found.append(f"{detail!r}  ({', '.join(named)})")
    return sorted(found)
