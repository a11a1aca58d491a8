"""Pinned query counts for the main patient pages: each page does a fixed number of
queries whatever the number of patients, versions, documents or signatures. A change
here is a decision: say in the commit why a page needs one more query."""

import pytest
from django.urls import reverse

from effleura.patients import actions

# Every page starts with the session and the user and ends with the layout's practice
# row (name and demo flag); in between:
# count, one page of patients, one bulk audit insert
LIST_QUERIES = 6
# patient + audit read; consent documents + their versions (prefetch) + audit read +
# the patient's consents; health history: patient again + two newest versions + audit read;
# the referrals card (open referrals; visits and an audit read only when some exist); the
# next visits (scheduling/chart.py: the appointments and an audit read)
CHART_QUERIES_CLINICAL = 15
# as above without the health history; plus the billing account card (billing/chart.py):
# the account's invoice, payment and credit sums (4), open invoices, package sessions
# left and an audit read
CHART_QUERIES_FRONT_DESK = 19
# patient, all versions, audit read; the consent block of the chart heading (4)
HISTORY_QUERIES = 10
# the version and the one before it (patient, pair, audit), then the version list
# (patient, versions, audit), then the consent block (4)
HISTORY_VERSION_QUERIES = 13
# patient, the current version, audit read; the consent block (4)
HISTORY_FORM_QUERIES = 10


@pytest.fixture
def practice(owner, consent_document):
    """Two required documents, one of them with a second version: every query the
    consent block can make happens."""
    actions.do_publish_consent_version(owner, consent_document, "Second wording. " * 3)
    actions.do_create_consent_document(
        owner, title="Privacy notice", kind="privacy", required=True, body="How we keep records. " * 3
    )
    return consent_document


@pytest.fixture
def chart_of(make_patient, add_history, sign_consent, practice):
    """chart_of(versions) -> a patient with that many health-history versions and a
    signature on each document version they could have signed."""

    def make(versions: int):
        patient = make_patient()
        for n in range(versions):
            add_history(
                patient,
                presenting_complaint=f"complaint {n}",
                conditions=["dvt"],
                medications=[{"name": "Warfarin", "dose": "5 mg", "blood_thinner": True}],
            )
        sign_consent(patient, practice)
        return patient

    return make


def url(name, patient, *args):
    return reverse(f"patients:{name}", args=[patient.public_id, *args])


@pytest.mark.parametrize("how_many", [3, 40, 60])
def test_it_lists_a_page_of_patients_in_a_fixed_number_of_queries(
    client_for, billing, make_patient, django_assert_num_queries, how_many
):
    for _ in range(how_many):
        make_patient()
    client = client_for(billing)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(reverse("patients:list"))
    assert response.content.decode().count("<tr><td><a href=") == min(how_many, 50)


def test_it_lists_the_second_page_in_the_same_number_of_queries(
    client_for, billing, make_patient, django_assert_num_queries
):
    for _ in range(60):
        make_patient()
    client = client_for(billing)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(reverse("patients:list"), {"page": 2, "status": "active"})
    assert response.content.decode().count("<tr><td><a href=") == 10


@pytest.mark.parametrize("versions", [1, 5])
def test_it_shows_the_chart_to_a_therapist_in_a_fixed_number_of_queries(
    client_for, therapist, chart_of, django_assert_num_queries, versions
):
    patient = chart_of(versions)
    client = client_for(therapist)
    with django_assert_num_queries(CHART_QUERIES_CLINICAL):
        response = client.get(url("chart", patient))
    text = response.content.decode()
    assert f"Version {versions}," in text
    assert text.count("data-consent-state=") == 2


@pytest.mark.parametrize("versions", [1, 5])
def test_it_shows_the_chart_to_front_desk_in_a_fixed_number_of_queries(
    client_for, front_desk, chart_of, django_assert_num_queries, versions
):
    patient = chart_of(versions)
    client = client_for(front_desk)
    with django_assert_num_queries(CHART_QUERIES_FRONT_DESK):
        response = client.get(url("chart", patient))
    assert response.content.decode().count("data-consent-state=") == 2


def test_it_shows_the_chart_in_the_same_number_of_queries_with_more_signatures(
    client_for, therapist, chart_of, sign_consent, practice, front_desk, django_assert_num_queries
):
    patient = chart_of(1)
    consent = patient.consents.get()  # a version is signed once: withdraw before signing again
    for _ in range(3):
        actions.do_withdraw_consent(front_desk, consent, "patient's request")
        consent = sign_consent(patient, practice)
    client = client_for(therapist)
    with django_assert_num_queries(CHART_QUERIES_CLINICAL):
        response = client.get(url("chart", patient))
    assert 'data-consent-state="current"' in response.content.decode()


@pytest.mark.parametrize("versions", [1, 5])
def test_it_shows_the_health_history_in_a_fixed_number_of_queries(
    client_for, therapist, chart_of, django_assert_num_queries, versions
):
    patient = chart_of(versions)
    client = client_for(therapist)
    with django_assert_num_queries(HISTORY_QUERIES):
        response = client.get(url("history", patient))
    assert response.content.decode().count("/health-history/v") == versions


@pytest.mark.parametrize("versions", [1, 5])
def test_it_shows_a_health_history_version_in_a_fixed_number_of_queries(
    client_for, therapist, chart_of, django_assert_num_queries, versions
):
    patient = chart_of(versions)
    client = client_for(therapist)
    with django_assert_num_queries(HISTORY_VERSION_QUERIES):
        response = client.get(url("history_version", patient, 1))
    assert '<h2 class="flush-top">Version 1</h2>' in response.content.decode()


@pytest.mark.parametrize("versions", [1, 5])
def test_it_shows_the_health_history_form_in_a_fixed_number_of_queries(
    client_for, therapist, chart_of, django_assert_num_queries, versions
):
    patient = chart_of(versions)
    client = client_for(therapist)
    with django_assert_num_queries(HISTORY_FORM_QUERIES):
        response = client.get(url("history_new", patient))
    assert f"becomes version {versions + 1}" in response.content.decode()
