"""The record-version kit (core/versions.py): If-Match parsing, the stale check under the
lock, and the form side (load, conflict, rebase). Each app's tests use it on its records."""

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from effleura.core import versions


def _request(value=None):
    headers = {} if value is None else {"HTTP_IF_MATCH": value}
    return RequestFactory().get("/", **headers)


class _Row:
    def __init__(self, version):
        self.version = version


@given(st.integers(min_value=0, max_value=999_999_999))
def test_it_reads_a_strong_or_weak_if_match_as_the_version(number):
    assert versions.if_match(_request(f'"{number}"')) == number
    assert versions.if_match(_request(f' W/"{number}" ')) == number


def test_it_reads_no_if_match_as_opting_out_and_a_star_as_any():
    assert versions.if_match(_request()) is None
    assert versions.if_match(_request("*")) is versions.ANY


@pytest.mark.parametrize("value", ["3", '"three"', '"1", "2"', "W/3", '""', '"-1"', '"12345678901"'])
def test_it_refuses_an_if_match_that_names_no_one_version(value):
    with pytest.raises(versions.PreconditionFailed):
        versions.if_match(_request(value))


@given(st.text(max_size=40))
def test_it_never_fails_on_any_if_match_text_but_with_precondition_failed(value):
    try:
        found = versions.if_match(_request(value.replace("\n", " ").replace("\r", " ")))
    except versions.PreconditionFailed:
        return
    assert found is versions.ANY or isinstance(found, int)


def test_it_passes_the_current_version_any_and_none_and_refuses_another():
    row = _Row(4)
    for expected in (4, versions.ANY, None):
        versions.check_version(row, expected)
    with pytest.raises(versions.StaleVersion) as refused:
        versions.check_version(row, 3, "goal")
    assert refused.value.version == 4 and refused.value.expected == 3
    assert "Someone else saved this goal after you opened it" in refused.value.messages[0]


def test_a_stale_version_is_a_validation_error_so_forms_and_the_api_answer_it():
    assert issubclass(versions.StaleVersion, ValidationError)


def test_bump_counts_one_more_write():
    row = _Row(1)
    assert versions.bump(row) == ["version"]
    assert row.version == 2


@pytest.mark.parametrize(("posted", "expected"), [("", None), (None, None), ("7", 7), (" 2 ", 2)])
def test_it_reads_the_version_a_form_posted(posted, expected):
    assert versions.parse_posted(posted) == expected


@pytest.mark.parametrize("posted", ["x", "-1", "1.5"])
def test_it_refuses_a_posted_version_that_is_not_one(posted):
    with pytest.raises(ValidationError, match="out of date"):
        versions.parse_posted(posted)
