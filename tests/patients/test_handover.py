"""Hand-over mode (core/handover.py): the device goes to the patient, locked to their
consent and intake screens until the same staff member types their password again."""

import pytest
from django.urls import reverse

from effleura.core import handover
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.patients.models import PatientConsent

from .helpers import audit_events, page_text


@pytest.fixture
def patient(make_patient):
    return make_patient(legal_first_name="Ana", legal_last_name="Rivera", preferred_name="Annie")


@pytest.fixture
def other(make_patient):
    return make_patient(legal_first_name="Zebulon", legal_last_name="Otherperson")


def start(client, patient):
    return client.post(reverse("patients:handover_start", args=[patient.public_id]))


def landing(patient):
    return reverse("patients:handover", args=[patient.public_id])


def sign_url(patient, document):
    return reverse("patients:consent_capture", args=[patient.public_id, document.public_id])


END = reverse("core:handover_end")


@pytest.fixture
def handed(client_for, front_desk, patient, other, consent_document):
    """A front-desk session handed over to Ana."""
    client = client_for(front_desk)
    assert start(client, patient).url == landing(patient)
    return client


def test_the_chart_offers_to_hand_the_device_to_the_patient(client_for, front_desk, patient):
    text = page_text(client_for(front_desk).get(reverse("patients:chart", args=[patient.public_id])))
    assert reverse("patients:handover_start", args=[patient.public_id]) in text
    assert "Hand to patient" in text


def test_billing_cannot_hand_the_device_over(client_for, billing, patient):
    client = client_for(billing)
    assert start(client, patient).status_code == 403
    assert handover.SESSION_KEY not in client.session
    assert "Hand to patient" not in page_text(client.get(reverse("patients:chart", args=[patient.public_id])))


def test_starting_a_hand_over_locks_the_session_to_that_patient_and_is_audited(handed, front_desk, patient):
    state = handed.session[handover.SESSION_KEY]
    assert state["patient"] == str(patient.public_id)
    assert state["user"] == front_desk.pk
    assert state["urls"] == ["patients:consent_capture", "patients:handover"]  # no health history for front desk
    [event] = audit_events(record_type="handover")
    assert (event.detail, event.patient_id, event.actor_id) == ("started", patient.public_id, front_desk.pk)


def test_the_hand_over_pages_show_no_staff_navigation_and_only_the_first_name(handed, patient, consent_document):
    for url in (landing(patient), sign_url(patient, consent_document)):
        response = handed.get(url)
        assert response.status_code == 200
        text = page_text(response)
        assert 'aria-label="Main"' not in text  # the staff navigation
        assert "Log out" not in text
        assert "Front Desk" not in text  # the staff member's name
        assert "Annie" in text
        for hidden in ("Rivera", patient.chart_number, "Zebulon", "Otherperson", 'name="q"'):
            assert hidden not in text, hidden
        assert END in text


def test_the_landing_lists_what_is_left_to_sign(handed, patient, consent_document):
    text = page_text(handed.get(landing(patient)))
    assert "Consent to treatment" in text
    assert sign_url(patient, consent_document) in text
    assert reverse("patients:history_new", args=[patient.public_id]) not in text


def test_a_therapist_hand_over_includes_the_intake_form(client_for, therapist, patient, consent_document):
    client = client_for(therapist)
    start(client, patient)
    assert "patients:history_new" in client.session[handover.SESSION_KEY]["urls"]
    intake = reverse("patients:history_new", args=[patient.public_id])
    assert intake in page_text(client.get(landing(patient)))
    response = client.get(intake)
    assert response.status_code == 200
    assert 'aria-label="Main"' not in page_text(response)
    assert "Rivera" not in page_text(response)
    saved = client.post(intake, {"presenting_complaint": "stiff neck", "based_on": "0", "med-TOTAL_FORMS": "0",
                                 "med-INITIAL_FORMS": "0", "surgery-TOTAL_FORMS": "0",
                                 "surgery-INITIAL_FORMS": "0"})  # fmt: skip
    assert saved.status_code == 302
    assert saved.url == landing(patient)  # not the health-history page: the patient stays on their screens
    assert patient.health_histories.get().presenting_complaint == "stiff neck"


@pytest.mark.parametrize(
    "name, args",
    [
        ("patients:chart", "patient"),
        ("patients:list", None),
        ("patients:history", "patient"),
        ("patients:chart", "other"),
        ("patients:handover", "other"),
        ("core:home", None),
        ("core:audit_list", None),
        ("core:login", None),
    ],
)
def test_any_other_address_leads_to_give_the_device_back(handed, patient, other, name, args):
    people = {"patient": patient, "other": other}
    url = reverse(name, args=[people[args].public_id] if args else [])
    response = handed.get(url)
    assert (response.status_code, response.url) == (302, END)


def test_another_patients_sign_page_leads_to_give_the_device_back(handed, other, consent_document):
    response = handed.post(sign_url(other, consent_document), {"typed_name": "Zebulon Otherperson", "agreed": "on"})
    assert (response.status_code, response.url) == (302, END)
    assert not PatientConsent.objects.exists()


def test_the_api_refuses_a_handed_over_session(handed):
    response = handed.get("/api/v1/patients")
    assert response.status_code == 403
    assert "hand-over" in response.json()["detail"]


def test_signing_in_hand_over_returns_to_the_patients_forms(handed, patient, consent_document):
    page = page_text(handed.get(sign_url(patient, consent_document)))
    assert "Your full name (typed as signature)" in page
    response = handed.post(sign_url(patient, consent_document), {"typed_name": "annie rivera", "agreed": "on"})
    assert (response.status_code, response.url) == (302, landing(patient))
    text = page_text(handed.get(response.url))
    assert "Consent to “Consent to treatment” recorded." in text
    assert 'data-consent-state="current"' in text


def test_no_page_of_a_signed_in_session_is_kept_in_the_browser_cache(client_for, front_desk, patient):
    response = client_for(front_desk).get(reverse("patients:chart", args=[patient.public_id]))
    assert "no-store" in response["Cache-Control"]


# Giving the device back -----------------------------------------------------------------------


def test_leaving_asks_for_the_staff_password(handed):
    text = page_text(handed.get(END))
    assert "Give the device back to staff" in text
    assert 'type="password"' in text


def test_a_wrong_password_is_refused_and_audited_as_a_failed_sign_in(handed, patient):
    response = handed.post(END, {"password": "not-it"})
    assert response.status_code == 200
    assert "That is not the password of the staff member who handed over the device." in page_text(response)
    assert handed.session[handover.SESSION_KEY]["failures"] == 1
    [event] = audit_events(action=AuditAction.LOGIN, outcome=AuditOutcome.DENIED)
    assert (event.detail, event.patient_id) == ("failed sign-in (hand-over)", patient.public_id)
    assert handed.get(reverse("patients:chart", args=[patient.public_id])).url == END  # still locked


def test_the_right_password_ends_the_hand_over_and_returns_to_the_chart(handed, patient, password, front_desk):
    response = handed.post(END, {"password": password})
    chart = reverse("patients:chart", args=[patient.public_id])
    assert (response.status_code, response.url) == (302, chart)
    assert handover.SESSION_KEY not in handed.session
    assert handed.get(chart).status_code == 200
    details = [e.detail for e in audit_events(record_type="handover")]
    assert details == ["started", "ended, staff signed in again"]


def test_another_staff_members_password_does_not_end_it(handed, therapist):
    therapist.set_password("the-therapists-own-password")
    therapist.save()
    response = handed.post(END, {"password": "the-therapists-own-password"})
    assert response.status_code == 200
    assert handover.SESSION_KEY in handed.session


def test_too_many_wrong_passwords_sign_the_session_out(handed, patient):
    for _ in range(handover.MAX_FAILURES - 1):
        assert handed.post(END, {"password": "wrong"}).status_code == 200
    response = handed.post(END, {"password": "wrong"})
    assert response.url == reverse("core:login")
    assert "_auth_user_id" not in handed.session
    assert len(audit_events(action=AuditAction.LOGIN, outcome=AuditOutcome.DENIED)) == handover.MAX_FAILURES


def test_the_end_page_without_a_hand_over_goes_home(client_for, front_desk):
    assert client_for(front_desk).get(END).url == reverse("core:home")


def test_the_rule_allows_only_the_listed_screens_of_the_one_patient():
    state = {"patient": "p1", "urls": ["patients:consent_capture"]}
    assert handover.allows(state, "patients:consent_capture", {"patient_id": "p1", "document_id": "d"})
    assert not handover.allows(state, "patients:consent_capture", {"patient_id": "p2", "document_id": "d"})
    assert not handover.allows(state, "patients:chart", {"patient_id": "p1"})
    assert handover.allows(state, handover.END_URL_NAME, {})
