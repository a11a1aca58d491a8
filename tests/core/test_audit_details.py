"""The session-wide check that no audit detail names a health detail (tests/audit_details.py)."""

import sqlite3

import audit_details
import pytest

from effleura.core import audit
from effleura.core.choices import AuditAction

TERMS = {"odi": "odi", "lymphatic_drainage": "lymphatic_drainage", "recent surgery": "recent_surgery"}


def test_a_detail_naming_a_term_in_any_case_is_found_and_a_word_containing_one_is_not():
    details = ["odi recorded", "periodic check", "override", "x: lymphatic_drainage despite Recent Surgery", "ODI"]
    assert audit_details.offending(details, TERMS, allowed={}) == [
        "'ODI'  (odi)",
        "'odi recorded'  (odi)",
        "'x: lymphatic_drainage despite Recent Surgery'  (lymphatic_drainage, recent surgery)",
    ]


def test_the_terms_are_the_knowledge_bases_keys_labels_and_short_names():
    terms = audit_details.health_terms()
    assert {"lymphatic_drainage", "recent_surgery", "odi", "dvt", "swedish"} <= terms.keys()
    assert {
        "recent surgery",
        "deep vein thrombosis or thrombophlebitis",
        "swedish massage",
        "oswestry disability index",
    } <= terms.keys()
    # A label's parts: "Heat (hot pack)" names "heat" and "hot pack"; the short "Blood thinners".
    assert {"hot pack", "blood thinners", "manual lymphatic drainage", "petrissage"} <= terms.keys()
    # "Epilepsy or seizures": each alternative too.
    assert {"seizures", "thrombophlebitis", "deep vein thrombosis"} <= terms.keys()
    assert terms["blood thinners"] == "anticoagulant"


def test_an_allowed_word_is_not_flagged_but_every_other_term_still_is():
    terms = {"compression": "compression", "fever": "fever"}
    allowed = {"compression": "a backup speaks of compression"}
    details = ["archive compression on", "Fever noted"]
    assert audit_details.offending(details, terms, allowed=allowed) == ["'Fever noted'  (fever)"]


def test_every_allowed_word_is_a_term_and_says_why():
    terms = audit_details.health_terms()
    for word, why in audit_details.ALLOWED.items():
        assert word in terms and why.strip()


def test_the_details_of_another_sqlite_database_are_read(tmp_path):
    path = tmp_path / "site.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE core_auditevent (id integer primary key, detail text)")
        db.executemany("INSERT INTO core_auditevent (detail) VALUES (?)", [("version 2",), ("Pregnancy",)])
    assert audit_details.details_in_sqlite(path) == {"version 2", "Pregnancy"}
    assert audit_details.details_in_sqlite(tmp_path / "none.sqlite3") == set()


@pytest.mark.django_db
def test_every_way_of_writing_an_event_has_its_detail_noted(owner, make_patient):
    patient = make_patient()
    audit.record(owner, AuditAction.READ, "patient", detail="noted one by one")
    audit.record_many(owner, AuditAction.READ, "patient", [patient.public_id], detail="noted in bulk")
    assert {"noted one by one", "noted in bulk"} <= audit_details.DETAILS
