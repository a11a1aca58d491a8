"""``field__ids_in`` finds what ``__in`` finds, on either database, and on PostgreSQL sends
the ids as one array (core/lookups.py, decision 0034)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from effleura.patients.models import Patient
from effleura.scheduling.models import Appointment


@pytest.fixture
def patients(make_patient):
    return [make_patient() for _ in range(4)]


def test_it_finds_the_rows_in_finds(patients):
    ids = [patients[0].pk, patients[2].pk, patients[2].pk, None, 10**12]
    assert set(Patient.objects.filter(pk__ids_in=ids)) == set(Patient.objects.filter(pk__in=ids))
    assert set(Patient.objects.filter(pk__ids_in=ids)) == {patients[0], patients[2]}


def test_it_takes_model_instances_and_foreign_keys(patients):
    assert set(Patient.objects.filter(pk__ids_in=patients[1:3])) == set(patients[1:3])
    assert list(Appointment.objects.filter(patient_id__ids_in=[p.pk for p in patients])) == []


def test_an_empty_list_matches_nothing_without_a_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert list(Patient.objects.filter(pk__ids_in=[])) == []
    with django_assert_num_queries(0):
        assert list(Patient.objects.filter(pk__ids_in=[None])) == []


def test_a_subquery_works_as_with_in(patients):
    some = Patient.objects.filter(pk__in=[patients[0].pk, patients[3].pk]).values("pk")
    assert set(Patient.objects.filter(pk__ids_in=some)) == {patients[0], patients[3]}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the array form is PostgreSQL's")
def test_on_postgresql_the_ids_go_as_one_array(patients):
    with CaptureQueriesContext(connection) as queries:
        list(Patient.objects.filter(pk__ids_in=[p.pk for p in patients]))
    sql = queries.captured_queries[0]["sql"]
    assert "= ANY(" in sql and " IN (" not in sql


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=5)), max_size=12))
def test_any_list_of_ids_finds_what_in_finds(picks, patients):
    pool = [p.pk for p in patients] + [10**9, 10**9 + 1]
    ids = [None if i is None else pool[i] for i in picks]
    assert set(Patient.objects.filter(pk__ids_in=ids)) == set(Patient.objects.filter(pk__in=ids))
