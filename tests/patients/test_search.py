"""Finding a patient: patients/search.py reads the box, the list page and the
answer-while-typing endpoint show the matches, and every match shown is audited."""

import datetime
import re

import pytest
from django.urls import reverse

from effleura.core.choices import AuditAction, AuditOutcome
from effleura.patients import search
from effleura.patients.access import SEARCH_LIMIT, access_patient_search

from .helpers import audit_events, page_text

# The search page and the htmx endpoint, whatever the number of patients: session,
# user, the one search query, one bulk audit insert, the layout's practice row.
SEARCH_QUERIES = 5

CHART_LINK = re.compile(r'href="/patients/([0-9a-f-]{36})/"')


def shown_ids(response) -> list[str]:
    """The patients a results fragment links to, in order."""
    return CHART_LINK.findall(response.content.decode())


@pytest.fixture
def people(make_patient):
    """Three patients whose names, phones and birthdays overlap in useful ways."""
    return {
        "ana_rivera": make_patient(
            legal_first_name="Ana",
            legal_last_name="Rivera",
            preferred_name="Annie",
            date_of_birth=datetime.date(1980, 4, 23),
            phone="(555) 555-0134",
        ),
        "ben_rivera": make_patient(
            legal_first_name="Benjamin",
            legal_last_name="Rivera",
            date_of_birth=datetime.date(1975, 11, 2),
            phone="555-0199",
        ),
        "ana_lopez": make_patient(
            legal_first_name="Ana",
            legal_last_name="Lopez",
            date_of_birth=datetime.date(1990, 6, 15),
            phone="+1 416 867 5309",
        ),
    }


def find(client, text: str, *, endpoint: str = "patients:search"):
    return client.get(reverse(endpoint), {"q": text})


def found_keys(response, people) -> set[str]:
    by_id = {str(p.public_id): key for key, p in people.items()}
    return {by_id[i] for i in shown_ids(response) if i in by_id}


# Reading the search box ------------------------------------------------------------------


def test_it_reads_words_as_name_terms():
    terms = search.parse("Rivera ana")
    assert terms.words == ["Rivera", "ana"]
    assert terms.numbers == []
    assert terms.dates == []


@pytest.mark.parametrize(
    "text, digits",
    [
        ("555-0134", ["5550134"]),
        ("(555) 0134", ["555", "0134"]),
        ("555.0134", ["5550134"]),
        ("+1 555 0134", ["555", "0134"]),
        ("00012", ["00012"]),
    ],
)
def test_it_reads_phone_numbers_in_any_format_as_digits(text, digits):
    terms = search.parse(text)
    assert terms.numbers == digits
    assert terms.words == []
    assert terms.dates == []


@pytest.mark.parametrize("text", ["1980-04-23", "04/23/1980", "4/23/1980", "04-23-1980", "23.04.1980"])
def test_it_reads_each_accepted_date_format_as_a_date_of_birth(text):
    terms = search.parse(text)
    assert terms.dates == [datetime.date(1980, 4, 23)]
    assert terms.numbers == []
    assert terms.words == []


def test_it_reads_slashed_dates_month_first_and_dotted_dates_day_first():
    assert search.parse("03/01/2020").dates == [datetime.date(2020, 3, 1)]
    assert search.parse("03.01.2020").dates == [datetime.date(2020, 1, 3)]


def test_it_ignores_numbers_too_short_to_narrow_anything():
    assert search.parse("12").empty
    assert search.parse("7 Rivera").words == ["Rivera"]


def test_it_strips_commas_so_last_comma_first_works():
    assert search.parse("Rivera, Ana").words == ["Rivera", "Ana"]


def test_it_reads_at_most_six_terms():
    terms = search.parse("a b c d e f g h")
    assert terms.words == ["a", "b", "c", "d", "e", "f"]


def test_it_treats_blank_text_as_no_search():
    assert search.parse("").empty
    assert search.parse("   ").empty
    assert search.parse(None).empty


# Searching through the pages -------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ana", {"ana_rivera", "ana_lopez"}),
        ("an", {"ana_rivera", "ana_lopez"}),  # any part of a first name
        ("jam", {"ben_rivera"}),  # the middle of "Benjamin"
        ("RIV", {"ana_rivera", "ben_rivera"}),  # part of a last name, any case
        ("nnie", {"ana_rivera"}),  # part of a preferred name
        ("lopez", {"ana_lopez"}),
    ],
)
def test_it_finds_patients_by_any_part_of_a_name(client_for, therapist, people, text, expected):
    response = find(client_for(therapist), text)
    assert found_keys(response, people) == expected


def test_it_finds_a_patient_by_chart_number_with_or_without_the_prefix(client_for, front_desk, people):
    client = client_for(front_desk)
    ben = people["ben_rivera"]
    digits = ben.chart_number.removeprefix("EF")
    assert found_keys(find(client, ben.chart_number), people) == {"ben_rivera"}
    assert found_keys(find(client, ben.chart_number.lower()), people) == {"ben_rivera"}
    assert found_keys(find(client, digits), people) == {"ben_rivera"}


@pytest.mark.parametrize("text", ["555-0134", "(555) 0134", "5550134", "555.0134", "555 555 0134"])
def test_it_finds_a_patient_by_phone_digits_in_any_format(client_for, front_desk, people, text):
    response = find(client_for(front_desk), text)
    assert found_keys(response, people) == {"ana_rivera"}


def test_it_matches_a_phone_stored_with_a_country_code(client_for, front_desk, people):
    response = find(client_for(front_desk), "867-5309")
    assert found_keys(response, people) == {"ana_lopez"}


@pytest.mark.parametrize("text", ["1980-04-23", "04/23/1980", "4/23/1980", "04-23-1980", "23.04.1980"])
def test_it_finds_a_patient_by_date_of_birth_in_each_accepted_format(client_for, billing, people, text):
    response = find(client_for(billing), text)
    assert found_keys(response, people) == {"ana_rivera"}


def test_it_requires_every_word_to_match(client_for, therapist, people):
    client = client_for(therapist)
    assert found_keys(find(client, "Ana Rivera"), people) == {"ana_rivera"}
    assert found_keys(find(client, "rivera, ana"), people) == {"ana_rivera"}
    assert found_keys(find(client, "Rivera 1975-11-02"), people) == {"ben_rivera"}
    assert found_keys(find(client, "Ana 0134"), people) == {"ana_rivera"}
    assert found_keys(find(client, "Lopez 1980-04-23"), people) == set()


def test_it_shows_the_preferred_name_with_the_legal_name_and_the_details(client_for, therapist, people):
    ana = people["ana_rivera"]
    text = page_text(find(client_for(therapist), "0134"))
    assert "Annie Rivera" in text
    assert "(Ana)" in text
    assert ana.chart_number in text
    assert "born 1980-04-23" in text
    assert "(555) 555-0134" in text


def test_it_says_so_when_nothing_matches(client_for, therapist, people):
    response = find(client_for(therapist), "Zebedee")
    assert shown_ids(response) == []
    assert "No patient matches “Zebedee”." in page_text(response)


def test_it_answers_an_empty_box_with_nothing_at_all(client_for, therapist, people):
    response = find(client_for(therapist), "")
    assert response.status_code == 200
    assert response.content.decode().strip() == ""
    assert audit_events(detail="search result") == []


def test_it_answers_the_htmx_request_with_a_fragment_not_a_page(client_for, therapist, people):
    response = find(client_for(therapist), "Rivera")
    body = response.content.decode()
    assert "<html" not in body
    assert 'class="search-results"' in body


def test_it_shows_the_results_on_the_list_page_instead_of_the_full_list(client_for, therapist, people):
    response = find(client_for(therapist), "Lopez", endpoint="patients:list")
    text = page_text(response)
    assert "<html" in text
    assert found_keys(response, people) == {"ana_lopez"}
    assert 'value="Lopez"' in text  # the box keeps what was typed
    assert "Page 1 of" not in text


def test_it_shows_at_most_twenty_results_and_says_there_are_more(client_for, therapist, make_patient):
    for _ in range(SEARCH_LIMIT + 5):
        make_patient(legal_last_name="Synthetic")
    response = find(client_for(therapist), "synthetic")
    assert len(shown_ids(response)) == SEARCH_LIMIT == 20
    assert "Showing the first 20: add another word to narrow the search." in page_text(response)


def test_it_does_not_say_there_are_more_when_there_are_fewer(client_for, therapist, people):
    response = find(client_for(therapist), "Rivera")
    assert len(shown_ids(response)) == 2
    assert "Showing the first 20" not in page_text(response)


def test_it_returns_at_most_the_limit_from_the_access_function(therapist, make_patient):
    for _ in range(8):
        make_patient()
    assert len(access_patient_search(therapist, "Synthetic", limit=5)) == 5


@pytest.mark.parametrize("endpoint", ["patients:search", "patients:list"])
@pytest.mark.parametrize("how_many", [5, 60])
def test_it_searches_with_the_same_number_of_queries_whatever_the_data_size(
    client_for, therapist, make_patient, django_assert_num_queries, endpoint, how_many
):
    for _ in range(how_many):
        make_patient()
    client = client_for(therapist)
    with django_assert_num_queries(SEARCH_QUERIES):
        response = find(client, "Synthetic", endpoint=endpoint)
    assert len(shown_ids(response)) == min(how_many, SEARCH_LIMIT)


def test_it_audits_a_read_of_every_patient_shown_and_no_other(client_for, therapist, people):
    find(client_for(therapist), "Rivera")
    events = audit_events(detail="search result")
    assert {e.patient_id for e in events} == {people["ana_rivera"].public_id, people["ben_rivera"].public_id}
    for event in events:
        assert event.action == AuditAction.READ
        assert event.record_type == "patient"
        assert event.record_id == str(event.patient_id)
        assert event.outcome == AuditOutcome.ALLOWED
        assert event.actor_id == therapist.pk


def test_it_audits_nothing_when_nothing_matches(client_for, therapist, people):
    find(client_for(therapist), "Zebedee")
    assert audit_events(detail="search result") == []


def test_it_never_puts_the_search_text_in_the_audit_trail(client_for, therapist, people):
    find(client_for(therapist), "Rivera 1980-04-23")
    assert not [e for e in audit_events() if "Rivera" in e.detail or "1980" in e.detail]


@pytest.mark.parametrize("endpoint", ["patients:search", "patients:list"])
def test_it_refuses_search_to_an_account_without_a_role(client_for, outsider, people, endpoint):
    response = find(client_for(outsider), "Rivera", endpoint=endpoint)
    assert response.status_code == 403
    assert "Rivera" not in page_text(response)
    assert audit_events(detail="search result") == []
    denied = audit_events(outcome=AuditOutcome.DENIED, actor_id=outsider.pk)
    assert [e.detail for e in denied] == ["GET patient.view"]


def test_it_sends_a_signed_out_visitor_to_the_login_page(client, people):
    response = find(client, "Rivera")
    assert response.status_code == 302
    assert response.url.startswith(reverse("core:login"))


def test_it_escapes_what_was_typed_when_echoing_it(client_for, therapist, people):
    response = find(client_for(therapist), "<script>alert(1)</script>")
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_it_ignores_control_characters_such_as_a_null_byte():
    # PostgreSQL refuses a NUL in a query string; the search must never send one.
    from effleura.patients import search as search_rules

    terms = search_rules.parse("Riv\x00era 555\x000134")
    assert terms.words == ["Riv", "era"]
    assert "\x00" not in "".join(terms.words + terms.numbers)
