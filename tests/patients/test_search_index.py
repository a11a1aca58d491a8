"""The patient search on its indexes (patients/search_index.py, decision 0026): the same
answers as the plain rule, an index that stays true whoever writes the patient table, a
bounded number of queries whatever the number of patients, and a list page that never
counts every patient."""

import datetime
import string
import uuid

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from effleura.patients import access, actions, search, search_index
from effleura.patients.access import access_patient_search
from effleura.patients.models import Patient

from .helpers import audit_events, page_text
from .test_search import SEARCH_QUERIES, find

on_sqlite = pytest.mark.skipif("connection.vendor != 'sqlite'", reason="the FTS5 table is SQLite's")
EVERYONE = 10_000


def found(user, text: str) -> set[str]:
    return {p.chart_number for p in access_patient_search(user, text, limit=EVERYONE)}


# The rule, in plain Python ---------------------------------------------------------------

_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def fold(text: str) -> str:
    """How each database ignores capitals: PostgreSQL's UPPER, which folds the letters its
    cluster's locale knows (every letter under a UTF-8 locale, only A–Z under C); SQLite's
    LIKE only the ASCII ones (unchanged by the indexes: decision 0026)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT UPPER(%s)", [text])
            return cursor.fetchone()[0]
    return text.translate(_ASCII_UPPER)


def rule_matches(patient: Patient, terms: search.Terms) -> bool:
    names = [patient.legal_first_name, patient.legal_last_name, patient.preferred_name, patient.chart_number]
    for word in terms.words:
        w = fold(word)
        if len(word) >= search.TRIGRAM:
            if not any(w in fold(n) for n in names):
                return False
        elif not any(fold(n).startswith(w) for n in names):
            return False
    for digits in terms.numbers:
        if digits not in patient.phone_digits and digits not in patient.chart_number:
            return False
    return all(patient.date_of_birth == d for d in terms.dates)


def by_rule(text: str) -> set[str]:
    terms = search.parse(text)
    if terms.empty:
        return set()
    return {p.chart_number for p in Patient.objects.all() if rule_matches(p, terms)}


# Short words ------------------------------------------------------------------------------


@pytest.fixture
def names(make_patient):
    return {
        "ana": make_patient(legal_first_name="Ana", legal_last_name="Rivera", preferred_name="Annie"),
        "joanne": make_patient(legal_first_name="Joanne", legal_last_name="Li"),
        "ng": make_patient(legal_first_name="Wei", legal_last_name="Ng"),
        "nguyen": make_patient(legal_first_name="Bao", legal_last_name="Nguyen"),
    }


def charts(*patients) -> set[str]:
    return {p.chart_number for p in patients}


def test_a_word_of_one_or_two_letters_finds_the_names_that_begin_with_it(therapist, names):
    assert found(therapist, "an") == charts(names["ana"])  # Ana and Annie; not Joanne
    assert found(therapist, "NG") == charts(names["ng"], names["nguyen"])
    assert found(therapist, "li") == charts(names["joanne"])  # a two-letter family name
    assert found(therapist, "j") == charts(names["joanne"])


def test_a_word_of_three_letters_still_finds_any_part_of_a_name(therapist, names):
    assert found(therapist, "ann") == charts(names["ana"], names["joanne"])
    assert found(therapist, "guy") == charts(names["nguyen"])


def test_a_short_word_narrows_a_longer_one_by_the_start_of_a_name(therapist, names):
    assert found(therapist, "rivera an") == charts(names["ana"])
    assert found(therapist, "rivera jo") == set()


def test_a_search_that_matches_nothing_finds_nothing(therapist, names):
    assert found(therapist, "Zebedee") == set()
    assert found(therapist, "qz") == set()
    assert found(therapist, "ana 1901-01-01") == set()


def test_names_with_capitals_spaces_and_marks_are_found_as_before(therapist, make_patient):
    cruz = make_patient(legal_first_name="María José", legal_last_name="De la Cruz")
    obrien = make_patient(legal_first_name="Seán", legal_last_name="O'Brien-Smith")
    assert found(therapist, "josé") == charts(cruz)
    assert found(therapist, "DE CRUZ") == charts(cruz)
    assert found(therapist, "la") == set()  # a short word: the start of a name, not of a word in it
    assert found(therapist, "'brien") == charts(obrien)
    assert found(therapist, "n-sm") == charts(obrien)
    assert found(therapist, "jose") == set()  # accents are not ignored, as before
    assert found(therapist, "100%") == set()  # LIKE's wildcards are plain characters


# The index stays true ---------------------------------------------------------------------


def test_a_new_patient_is_found_at_once(therapist, make_patient):
    patient = make_patient(legal_first_name="Perpetua", legal_last_name="Quillfeather", phone="555-867-1234")
    assert found(therapist, "quillfeat") == charts(patient)
    assert found(therapist, "8671234") == charts(patient)


def test_a_changed_name_is_found_by_the_new_name_and_not_the_old(therapist, make_patient):
    patient = make_patient(legal_first_name="Perpetua", legal_last_name="Quillfeather")
    actions.do_update_patient(therapist, patient, {"legal_last_name": "Thistlewood", "phone": "555 222 7788"})
    assert found(therapist, "quillfeat") == set()
    assert found(therapist, "thistle") == charts(patient)
    assert found(therapist, "2227788") == charts(patient)


def test_a_deleted_patient_is_no_longer_found(therapist, make_patient):
    patient = make_patient(legal_first_name="Perpetua", legal_last_name="Quillfeather")
    Patient.objects.filter(pk=patient.pk).delete()
    assert found(therapist, "quillfeat") == set()


BULK_INSERT = (
    "INSERT INTO patients_patient (public_id, version, chart_number, legal_first_name, legal_last_name,"
    " preferred_name, pronouns, date_of_birth, sex_at_birth, gender_identity, phone, phone_digits, email,"
    " address_line1, address_line2, city, region, postal_code, country, preferred_contact,"
    " emergency_contact_name, emergency_contact_relationship, emergency_contact_phone, notes, status,"
    " status_since, created_at, updated_at, is_demo)"
    " VALUES (%s, 1, %s, 'Bulkfirst', %s, '', '', %s, '', '', '', %s, '', '', '', '', '', '', '', 'phone',"
    " '', '', '', '', 'active', '2026-01-01', %s, %s, TRUE)"
)
INTEGRITY_CHECK = "INSERT INTO patients_patient_search(patients_patient_search, rank) VALUES ('integrity-check', 1)"
FTS_MATCH = "SELECT rowid FROM patients_patient_search WHERE patients_patient_search MATCH %s"


def test_patients_inserted_in_bulk_by_plain_sql_are_found(therapist, db):
    """As the large demo's builder inserts them: executemany, no model save()."""
    now = timezone.now()
    rows = [
        [str(uuid.uuid4()), f"BULK{i:04d}", f"Bulklast{i}", datetime.date(1970, 1, 1), "5551234567", now]
        for i in range(3)
    ]
    with connection.cursor() as cursor:
        cursor.executemany(BULK_INSERT, [[*row, now] for row in rows])
    assert found(therapist, "bulklast") == {"BULK0000", "BULK0001", "BULK0002"}
    assert found(therapist, "bulklast2") == {"BULK0002"}


@on_sqlite
def test_the_fts_table_holds_exactly_the_patient_table_after_writes(therapist, make_patient):
    keep = make_patient(legal_first_name="Keepme")
    change = make_patient(legal_first_name="Changeme")
    gone = make_patient(legal_first_name="Goneaway")
    actions.do_update_patient(therapist, change, {"legal_first_name": "Changed"})
    Patient.objects.filter(pk=gone.pk).delete()
    with connection.cursor() as cursor:
        # 'integrity-check' compares an external-content index with its table, row by row.
        cursor.execute(INTEGRITY_CHECK)
        cursor.execute(FTS_MATCH, ['"change"'])
        assert [r for (r,) in cursor.fetchall()] == [change.pk]
    assert found(therapist, "keepme") == charts(keep)
    assert found(therapist, "changeme") == set()


@on_sqlite
def test_after_a_migration_drops_the_triggers_they_come_back_with_a_rebuilt_index(therapist, make_patient):
    with connection.cursor() as cursor:
        for name in search_index.TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    missed = make_patient(legal_first_name="Writtenwithout")  # a write while the triggers were gone
    assert search_index.ensure_search_index() is True
    assert found(therapist, "writtenwith") == charts(missed)
    assert search_index.ensure_search_index() is False  # nothing to do the second time
    later = make_patient(legal_first_name="Writtenafter")
    assert found(therapist, "writtenafter") == charts(later)


# The same answers as the rule, whatever the names -------------------------------------------

NAME_LETTERS = "abnrAB é-'"
name_text = st.text(alphabet=NAME_LETTERS, min_size=1, max_size=8).map(str.strip).filter(bool)
query_word = st.text(alphabet="abnrABÉé-'", min_size=1, max_size=4)


@pytest.mark.django_db(transaction=False)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    people=st.lists(st.tuples(name_text, name_text, st.sampled_from(["", "Bea", "ANNa"])), min_size=1, max_size=6),
    words=st.lists(query_word, min_size=1, max_size=3),
)
def test_the_indexed_search_finds_exactly_what_the_rule_finds(therapist, people, words):
    text = " ".join(words)
    with transaction.atomic():
        for i, (first, last, preferred) in enumerate(people):
            Patient.objects.create(
                legal_first_name=first,
                legal_last_name=last,
                preferred_name=preferred,
                chart_number=f"HY{i:03d}",
                date_of_birth=datetime.date(1980, 1, 1),
            )
        assert found(therapist, text) == by_rule(text)
        transaction.set_rollback(True)


# Queries: the same at two sizes ---------------------------------------------------------------


@pytest.mark.parametrize("how_many", [5, 60])
def test_the_booking_picker_searches_in_the_same_number_of_queries_whatever_the_data_size(
    client_for, front_desk, make_patient, django_assert_num_queries, how_many
):
    for _ in range(how_many):
        make_patient()
    client = client_for(front_desk)
    with django_assert_num_queries(SEARCH_QUERIES):
        response = client.get(reverse("scheduling:book_patients"), {"q": "Synthetic"})
    assert response.content.decode().count('type="radio"') == min(how_many, 20)


@pytest.mark.parametrize("text", ["Synthetic", "Zebedee", "sy", "555-01"])
@pytest.mark.parametrize("how_many", [5, 60])
def test_a_search_page_makes_the_same_queries_for_a_hit_a_miss_and_a_short_word(
    client_for, therapist, make_patient, django_assert_num_queries, how_many, text
):
    for _ in range(how_many):
        make_patient()
    client = client_for(therapist)
    shows_any = text != "Zebedee"
    with django_assert_num_queries(SEARCH_QUERIES if shows_any else SEARCH_QUERIES - 1):  # no audit insert
        find(client, text)


# The list page --------------------------------------------------------------------------------


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(access, "LIST_COUNT_LIMIT", 6)


def list_page(client, **params):
    return client.get(reverse("patients:list"), params)


def test_the_list_says_more_than_when_there_are_more_patients_than_it_counts(
    client_for, billing, make_patient, small_limit
):
    for n in range(9):
        make_patient(legal_last_name=f"Listed{n}")
    text = page_text(list_page(client_for(billing)))
    assert "Page 1 of more than 1" in text
    assert text.count("<tr><td><a href=") == 9


def test_past_the_count_limit_every_page_can_still_be_reached_in_order(billing, make_patient, small_limit):
    made = [make_patient(legal_last_name=f"Listed{n}") for n in range(9)]
    pages = [access.access_patient_list(billing, n, per_page=2) for n in range(1, 6)]
    assert [p.public_id for page in pages for p in page] == [p.public_id for p in made]
    assert [page.has_next for page in pages] == [True, True, True, True, False]
    assert not pages[0].exact and pages[0].num_pages == 3  # the 6 counted, on pages of 2
    assert len(audit_events(detail="patient list")) == 9  # one read per patient shown


def test_the_list_pages_keep_the_name_order_and_the_status_filter(client_for, therapist, make_patient, small_limit):
    made = [make_patient(legal_last_name=name) for name in ["Cole", "Abbot", "Bryce", "Abbot"]]
    actions.do_update_patient(therapist, made[2], {"status": "discharged"})
    text = page_text(list_page(client_for(therapist)))
    assert text.index("Abbot") < text.index("Bryce") < text.index("Cole")
    assert "Page 1 of 1" in text
    filtered = page_text(list_page(client_for(therapist), status="discharged"))
    assert "Bryce" in filtered and "Cole" not in filtered and "Abbot" not in filtered


@pytest.mark.parametrize("how_many", [3, 12])
def test_the_list_makes_the_same_queries_below_and_above_the_count_limit(
    client_for, billing, make_patient, django_assert_num_queries, small_limit, how_many
):
    from .test_chart_queries import LIST_QUERIES

    for _ in range(how_many):
        make_patient()
    client = client_for(billing)
    with django_assert_num_queries(LIST_QUERIES):
        response = list_page(client)
    assert response.content.decode().count("<tr><td><a href=") == how_many


def test_a_page_number_past_a_counted_end_shows_the_last_page(client_for, billing, make_patient):
    for _ in range(3):
        make_patient()
    text = page_text(list_page(client_for(billing), page=40))
    assert "Page 1 of 1" in text
    assert text.count("<tr><td><a href=") == 3
    assert "Page 1 of 1" in page_text(list_page(client_for(billing), page="x"))


# The upgrade ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_indexes_the_patients_already_there(therapist, make_patient, latest_migrations_after):
    before = make_patient(legal_first_name="Registeredbefore", phone="555 303 4040")
    executor = MigrationExecutor(connection)
    executor.migrate([("patients", "0003_consent_signer_once")])
    old = executor.loader.project_state([("patients", "0003_consent_signer_once")]).apps
    OldPatient = old.get_model("patients", "Patient")
    OldPatient.objects.create(
        chart_number="OLD0001", legal_first_name="Insertedunindexed", legal_last_name="Oldtable",
        date_of_birth=datetime.date(1960, 5, 5), phone_digits="5559998888",
    )  # fmt: skip

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("patients", "0004_search_trigram_index")])

    assert found(therapist, "registeredbef") == charts(before)
    assert found(therapist, "3034040") == charts(before)
    assert found(therapist, "insertedunind") == {"OLD0001"}
    assert found(therapist, "9998888") == {"OLD0001"}
    assert found(therapist, "oldtable insert") == {"OLD0001"}


# PostgreSQL: the lookups hit the indexes, for the app role too ------------------------------

on_postgres = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the trigram indexes are PostgreSQL's")


def plan(text: str) -> str:
    terms = search.parse(text)
    sql, params = Patient.objects.filter(search.to_q(terms)).query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # A tiny table: rule out the other plans, so the planner shows whether it can use the index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row for (row,) in cursor.fetchall())


@pytest.mark.parametrize(
    "text, index",
    [
        ("rivera", "patient_search_last_trgm"),
        ("ri", "patient_search_first_trgm"),  # a short word: the start, on the same index
        ("nnie", "patient_search_preferred_trgm"),
        ("EF00", "patient_search_chart_trgm"),
        ("555-0134", "patient_search_phone_trgm"),
    ],
)
@pytest.mark.postgres
@on_postgres
@pytest.mark.usefixtures("db")
def test_each_lookup_of_the_search_can_use_its_trigram_index(text, index):
    assert index in plan(text)


@pytest.mark.postgres
@on_postgres
@pytest.mark.django_db(transaction=True)
def test_the_app_role_searches_on_the_trigram_indexes(therapist, make_patient, capsys):
    patient = make_patient(legal_first_name="Approle", legal_last_name="Searchable")
    call_command("db", "roles", "--apply")
    saved = connection.settings_dict["USER"]
    connection.close()
    connection.settings_dict["USER"] = "effleura_app"
    try:
        assert found(therapist, "searchab") == charts(patient)
        assert found(therapist, "ap") == charts(patient)
        assert "patient_search_last_trgm" in plan("searchab")
    finally:
        connection.close()
        connection.settings_dict["USER"] = saved
