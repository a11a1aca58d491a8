"""The upgrade that adds the once-per-version rule: a version signed more than once (the
double-submit defect) keeps its first signature; the repeats are withdrawn, not deleted."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("patients", "0002_patient_version")]
AFTER = [("patients", "0003_consent_signer_once")]


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_withdraws_repeated_signatures_of_one_version(owner, make_patient, latest_migrations_after):
    from effleura.patients import actions

    patient = make_patient(legal_first_name="Ana", legal_last_name="Rivera")
    document = actions.do_create_consent_document(
        owner, title="Consent to treatment", kind="treatment", required=True, body="You may stop at any time, always."
    )
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Consent = old.get_model("patients", "PatientConsent")
    version_id = document.versions.get().pk
    rows = [
        Consent.objects.create(
            patient_id=patient.pk, document_version_id=version_id, typed_name=name, agreed=True, captured_by_id=owner.pk
        )
        for name in ("Ana Rivera", "Ana Rivera", "Mickey Mouse")
    ]

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    from effleura.patients.models import PatientConsent

    first, *repeats = (PatientConsent.objects.get(pk=row.pk) for row in rows)
    assert first.withdrawn_at is None
    assert all(r.withdrawn_at is not None and "Signed the same version again" in r.withdrawal_reason for r in repeats)
    assert PatientConsent.objects.count() == 3
