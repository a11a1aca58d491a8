"""Two tabs, or a double tap, signing the same consent at the same instant: one signature
(issue 11). On PostgreSQL, threads with their own connections post the sign page together;
the patient's row lock in do_capture_consent() lets one in and the others see it. The
sequential double submit on SQLite is in test_consent_signing.py."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

THREADS = 10
BARRIER_TIMEOUT = 60


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the signing race runs on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_simultaneous_submits_of_one_consent_sign_it_once(front_desk, make_patient, owner):
    from effleura.patients import actions
    from effleura.patients.models import PatientConsent

    document = actions.do_create_consent_document(
        owner,
        title="Consent to treatment",
        kind="treatment",
        required=True,
        body="Massage is manual therapy of the soft tissues; you may stop at any time.",
    )
    patient = make_patient(legal_first_name="Ana", legal_last_name="Rivera")
    url = reverse("patients:consent_capture", args=[patient.public_id, document.public_id])
    clients = []
    for _ in range(THREADS):
        client = Client()
        client.force_login(front_desk)
        clients.append(client)
    barrier = threading.Barrier(THREADS, timeout=BARRIER_TIMEOUT)
    answers: list = [None] * THREADS

    def one(n: int) -> None:
        try:
            barrier.wait()
            response = clients[n].post(url, {"typed_name": "Ana Rivera", "agreed": "on"})
            answers[n] = (response.status_code, response.content.decode())
        except Exception as exc:  # reported by the assertions below, not lost in the thread
            answers[n] = (0, f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT * 2)

    statuses = [status for status, _ in answers]
    assert statuses.count(302) == 1, statuses
    assert statuses.count(200) == THREADS - 1, [a for a in answers if a[0] != 302]
    assert all("Already signed on" in text for status, text in answers if status == 200)
    assert PatientConsent.objects.filter(patient=patient).count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the signing race runs on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_postgres_refuses_a_second_standing_signature_written_behind_the_actions_back(front_desk, make_patient, owner):
    from django.db import IntegrityError, transaction

    from effleura.patients import actions
    from effleura.patients.models import PatientConsent

    document = actions.do_create_consent_document(
        owner, title="Privacy notice", kind="privacy", required=True, body="We keep your records private and safe."
    )
    patient = make_patient(legal_first_name="Ana", legal_last_name="Rivera")
    version = document.versions.get()
    signature = actions.check_capture_consent(front_desk, patient, version, "Ana Rivera", True)
    actions.do_capture_consent(front_desk, patient, version, signature)
    with pytest.raises(IntegrityError, match="consent_one_standing_signature_per_version"), transaction.atomic():
        PatientConsent.objects.create(
            patient=patient, document_version=version, typed_name="Ana Rivera", agreed=True, captured_by=front_desk
        )
