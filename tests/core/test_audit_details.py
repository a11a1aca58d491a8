"""The session-wide check that no audit detail names a health detail (tests/audit_details.py)."""

import audit_details
import pytest

from effleura.core import audit
from effleura.core.choices import AuditAction


def test_a_detail_naming_a_key_is_found_and_a_word_containing_one_is_not():
    keys = {"odi", "lymphatic_drainage", "recent_surgery"}
    details = ["odi recorded", "periodic check", "override", "x: lymphatic_drainage despite recent_surgery", "ODI"]
    assert audit_details.offending(details, keys) == [
        "'odi recorded'  (odi)",
        "'x: lymphatic_drainage despite recent_surgery'  (lymphatic_drainage, recent_surgery)",
    ]


def test_the_keys_come_from_the_knowledge_base():
    keys = audit_details.health_keys()
    assert {"lymphatic_drainage", "recent_surgery", "odi", "dvt", "swedish"} <= keys


@pytest.mark.django_db
def test_every_way_of_writing_an_event_has_its_detail_noted(owner, make_patient):
    patient = make_patient()
    audit.record(owner, AuditAction.READ, "patient", detail="noted one by one")
    audit.record_many(owner, AuditAction.READ, "patient", [patient.public_id], detail="noted in bulk")
    assert {"noted one by one", "noted in bulk"} <= audit_details.DETAILS
