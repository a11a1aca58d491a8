"""The audit trail reads as sentences (core/audit_text.py, core/views.py audit_list): staff
by name and role, patients by name and chart number, actions in plain words; filtered by
a patient's name, a staff member, an action, the outcome and dates; its CSV is the
filtered view. It once said "therapist therapist", "charge GET charge.view" and showed
patients as truncated ids, and it could only be filtered by a patient's id."""

import csv
import io

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from effleura.core import audit, audit_text, permissions
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.models import AuditEvent

# The words: every rule and every recorded kind has them --------------------------------------


def test_every_permission_rule_has_its_own_words():
    missing = sorted(
        f"{key}: {rule.action} {rule.record_type}"
        for key, rule in permissions.RULES.items()
        if (rule.action, rule.record_type) not in audit_text.PHRASES
    )
    assert missing == []


def test_every_phrase_starts_with_a_verb_whose_past_is_known():
    unknown = sorted({p.split(" ", 1)[0] for p in audit_text.PHRASES.values()} - set(audit_text.PAST))
    assert unknown == []


@pytest.mark.parametrize(
    ("action", "record_type", "outcome", "words"),
    [
        ("read", "clinical_record", "allowed", "viewed the chart"),
        ("print", "superbill", "allowed", "printed the superbill"),
        ("read", "charge", "denied", "tried to view the charges"),
        ("export", "report", "allowed", "sent a report to the provider"),
        ("create", "payment", "allowed", "took a payment"),
        ("login", "session", "allowed", "signed in"),
        ("login", "session", "denied", "tried to sign in"),
        ("lockout", "account", "denied", "locked an account after failed sign-ins"),
        ("update", "appointment", "allowed", "changed an appointment"),
    ],
)
def test_an_entry_is_said_in_plain_words(action, record_type, outcome, words):
    assert audit_text.describe(action, record_type, outcome) == words


def test_a_kind_with_no_phrase_yet_still_reads_as_words():
    assert audit_text.describe("update", "gift_card", "allowed") == "changed gift card"
    assert audit_text.describe("read", "gift_card", "denied") == "tried to view gift card"


@given(
    st.sampled_from(list(AuditAction.values)),
    st.from_regex(r"[a-z]{1,12}(_[a-z]{1,12}){0,3}", fullmatch=True),
    st.sampled_from(list(AuditOutcome.values)),
)
def test_no_entry_is_said_with_a_code(action, record_type, outcome):
    words = audit_text.describe(action, record_type, outcome)
    assert words and "_" not in words and words == words.strip()


@pytest.mark.parametrize(
    ("detail", "shown"),
    [
        ("clinical.view", ""),
        ("GET charge.view", ""),
        ("POST unlisted URL", ""),
        ("search result", "search result"),
        ("until 2026-12-01T10:00:00Z", "until 2026-12-01T10:00:00Z"),
    ],
)
def test_the_detail_is_shown_only_when_it_says_more_than_the_words(detail, shown):
    assert audit_text.extra_detail(detail) == shown


# The page -----------------------------------------------------------------------------------


def _rows(response):
    assert response.status_code == 200
    return response.context["rows"]


def test_the_page_names_staff_and_patients_and_says_what_they_did(owner, therapist, make_patient, client_for):
    patient = make_patient(legal_first_name="Quillon", legal_last_name="Synthwaite")
    audit.record(therapist, AuditAction.READ, "clinical_record", patient_id=patient.public_id, detail="clinical.view")
    audit.record(therapist, AuditAction.READ, "charge", outcome=AuditOutcome.DENIED, detail="GET charge.view")
    response = client_for(owner).get(reverse("core:audit_list"), {"user": str(therapist.public_id)})
    rows = _rows(response)
    assert [(r.who, r.role, r.what, r.detail) for r in rows] == [
        ("Therapist Tester", "Therapist", "tried to view the charges", ""),
        ("Therapist Tester", "Therapist", "viewed the chart", ""),
    ]
    assert rows[1].patient == f"Quillon Synthwaite ({patient.chart_number})"
    page = response.content.decode()
    assert "Quillon Synthwaite" in page and "viewed the chart" in page and "refused" in page
    assert "therapist therapist" not in page.lower() and "GET charge.view" not in page
    assert "Therapist Tester (Therapist)" in page  # the staff filter's choice


def test_an_entry_without_a_signed_in_person_says_so(owner, client_for):
    audit.record(None, AuditAction.LOGIN, "session", outcome=AuditOutcome.DENIED, detail="wrong password")
    rows = _rows(client_for(owner).get(reverse("core:audit_list"), {"outcome": "denied"}))
    assert [(r.who, r.what, r.detail) for r in rows] == [("Not signed in", "tried to sign in", "wrong password")]


def test_a_patient_is_found_by_name_and_the_page_keeps_to_them(owner, therapist, make_patient, client_for):
    wanted = make_patient(legal_first_name="Orlaith", legal_last_name="Fictionby")
    other = make_patient(legal_first_name="Bram", legal_last_name="Placeholder")
    for patient in (wanted, other):
        audit.record(therapist, AuditAction.READ, "clinical_record", patient_id=patient.public_id)
    found = client_for(owner).get(reverse("core:audit_list"), {"patient_name": "fictionby", "action": "read"})
    # From now on the address names the patient by id, not by the name typed.
    assert found.status_code == 302
    assert found["Location"] == f"{reverse('core:audit_list')}?action=read&patient={wanted.public_id}"
    response = client_for(owner).get(found["Location"])
    rows = _rows(response)
    assert rows and {r.event.patient_id for r in rows} == {wanted.public_id}
    assert response.context["chosen_patient"] == f"Orlaith Fictionby ({wanted.chart_number})"
    assert "Entries about <strong>Orlaith Fictionby" in response.content.decode()


def test_a_name_several_patients_share_offers_them_to_pick_and_shows_nothing_yet(owner, make_patient, client_for):
    first = make_patient(legal_first_name="Ada", legal_last_name="Samename")
    second = make_patient(legal_first_name="Bea", legal_last_name="Samename")
    response = client_for(owner).get(reverse("core:audit_list"), {"patient_name": "Samename", "action": "read"})
    assert _rows(response) == []
    assert {pid for pid, _label in response.context["matches"]} == {first.public_id, second.public_id}
    page = response.content.decode()
    assert "Several patients match “Samename”: pick one below." in page
    assert f"action=read&amp;patient={first.public_id}" in page  # a pick keeps the other filters


def test_a_name_no_patient_has_says_so(owner, make_patient, client_for):
    make_patient()
    response = client_for(owner).get(reverse("core:audit_list"), {"patient_name": "Nobodyhere"})
    assert _rows(response) == []
    assert "No patient matches “Nobodyhere”." in response.content.decode()


def test_a_name_typed_replaces_the_patient_picked_before(owner, therapist, make_patient, client_for):
    before = make_patient(legal_last_name="Earlierpick")
    now = make_patient(legal_last_name="Laterpick")
    for patient in (before, now):
        audit.record(therapist, AuditAction.READ, "patient", patient_id=patient.public_id)
    query = {"patient": str(before.public_id), "patient_name": "Laterpick"}
    rows = _rows(client_for(owner).get(reverse("core:audit_list"), query, follow=True))
    assert {r.event.patient_id for r in rows} == {now.public_id}


def test_searching_a_patient_by_name_is_audited_as_a_patient_search(owner, make_patient, client_for):
    patient = make_patient(legal_last_name="Auditedsearch")
    client_for(owner).get(reverse("core:audit_list"), {"patient_name": "Auditedsearch"})
    searched = AuditEvent.objects.filter(record_type="patient", patient_id=patient.public_id, detail="search result")
    assert searched.filter(actor_username="owner").exists()


def test_the_trail_filters_by_action(owner, therapist, make_patient, client_for):
    patient = make_patient()
    audit.record(therapist, AuditAction.PRINT, "superbill", patient_id=patient.public_id)
    audit.record(therapist, AuditAction.READ, "clinical_record", patient_id=patient.public_id)
    rows = _rows(client_for(owner).get(reverse("core:audit_list"), {"action": "print"}))
    assert [r.what for r in rows] == ["printed the superbill"]


def test_an_unknown_action_or_staff_member_is_a_message_not_an_error(owner, client_for):
    response = client_for(owner).get(reverse("core:audit_list"), {"action": "teleport", "user": "nobody"})
    assert response.status_code == 200 and _rows(response) == []
    assert "Select a valid choice" in response.content.decode()


def test_the_older_page_link_keeps_every_filter(owner, therapist, make_patient, client_for):
    patient = make_patient()
    for _ in range(55):
        audit.record(therapist, AuditAction.READ, "clinical_record", patient_id=patient.public_id)
    query = {"patient": str(patient.public_id), "action": "read", "user": str(therapist.public_id)}
    response = client_for(owner).get(reverse("core:audit_list"), query)
    older = response.context["page"].older
    assert older
    page = response.content.decode()
    link = page.split('rel="next"')[0].rsplit('href="', 1)[1]
    for key, value in query.items():
        assert f"{key}={value}" in link
    assert f"before={older}" in link


# The CSV --------------------------------------------------------------------------------------


def test_the_csv_is_the_filtered_view_with_names_and_words(owner, therapist, make_patient, client_for):
    patient = make_patient(legal_first_name="Tamsin", legal_last_name="Madeupson")
    audit.record(therapist, AuditAction.PRINT, "superbill", patient_id=patient.public_id, detail="superbill.print")
    audit.record(therapist, AuditAction.READ, "clinical_record", patient_id=patient.public_id)
    query = {"patient_name": "Madeupson", "action": "print"}
    response = client_for(owner).get(reverse("core:audit_export"), query)
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["staff_name"], r["patient_name"], r["description"], r["action"]) for r in rows] == [
        ("Therapist Tester", f"Tamsin Madeupson ({patient.chart_number})", "printed the superbill", "print")
    ]
    # The codes stay for whoever processes the file.
    assert rows[0]["patient_id"] == str(patient.public_id) and rows[0]["record_type"] == "superbill"


def test_the_page_links_its_csv_with_its_filters(owner, therapist, make_patient, client_for):
    patient = make_patient(legal_last_name="Linkedexport")
    audit.record(therapist, AuditAction.READ, "clinical_record", patient_id=patient.public_id)
    query = {"patient_name": "Linkedexport", "action": "read"}
    page = client_for(owner).get(reverse("core:audit_list"), query, follow=True)
    export = reverse("core:audit_export")
    href = page.content.decode().split(f'href="{export}?', 1)[1].split('"', 1)[0]
    assert f"patient={patient.public_id}" in href and "action=read" in href
