"""The bundled procedure-code catalog (billing/knowledge/codes.yaml), read and checked once.

The practice's own, editable catalog lives in the database (ProcedureCode and TechniqueCode,
seeded from this file by migration). This module is what the pure rules fall back on when
they are given no catalog: billing/units.py needs to know which codes are timed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.db import transaction

from effleura.billing.models import ProcedureCode, TechniqueCode

CATALOG_FILE = Path(__file__).resolve().parent / "knowledge" / "codes.yaml"
# CPT (five digits, or four and a letter for category II/III) and HCPCS level II (a letter
# and four digits).
CODE_PATTERN = re.compile(r"^(\d{5}|\d{4}[A-Z]|[A-Z]\d{4})$")


class CatalogError(Exception):
    """The bundled codes file is broken; names the entry so it can be fixed."""


@dataclass(frozen=True)
class BundledCode:
    code: str
    description: str
    timed: bool
    techniques: tuple[str, ...]


@functools.cache
def bundled_codes() -> dict[str, BundledCode]:
    """Every code of the bundled catalog, by code, in file order."""
    data = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    codes: dict[str, BundledCode] = {}
    mapped: dict[str, str] = {}
    for entry in data["entries"]:
        code = str(entry["code"])
        if not CODE_PATTERN.match(code):
            raise CatalogError(f"codes.yaml: {code!r} is not a CPT or HCPCS code.")
        if code in codes:
            raise CatalogError(f"codes.yaml: {code} is listed twice.")
        if not isinstance(entry.get("timed"), bool):
            raise CatalogError(f"codes.yaml: {code} must say timed: true or false.")
        techniques = tuple(entry.get("techniques") or ())
        for technique in techniques:
            if technique in mapped:
                raise CatalogError(f"codes.yaml: technique {technique!r} maps to both {mapped[technique]} and {code}.")
            mapped[technique] = code
        codes[code] = BundledCode(code, str(entry["description"]), entry["timed"], techniques)
    return codes


def bundled_timed() -> dict[str, bool]:
    """{code: timed} for the bundled catalog."""
    return {code: entry.timed for code, entry in bundled_codes().items()}


def seed_catalog(using: str = "default") -> int:
    """Add the bundled codes the practice's catalog lacks, each with its usual techniques
    (where the practice has no mapping for that technique yet). Never changes or removes
    what is there: a practice's edits survive upgrades. Returns how many codes were added.

    Run after every ``migrate`` (and every ``flush``, which Django follows with the same
    signal), so a new database, and every test database, starts with the catalog.
    """
    added = 0
    with transaction.atomic(using=using):
        present = set(ProcedureCode.objects.using(using).values_list("code", flat=True))
        mapped = set(TechniqueCode.objects.using(using).filter(payer__isnull=True).values_list("technique", flat=True))
        for entry in bundled_codes().values():
            if entry.code in present:
                continue
            code = ProcedureCode.objects.using(using).create(
                code=entry.code, description=entry.description, timed=entry.timed, is_bundled=True
            )
            added += 1
            for technique in entry.techniques:
                if technique not in mapped:
                    TechniqueCode.objects.using(using).create(technique=technique, code=code)
                    mapped.add(technique)
    return added
