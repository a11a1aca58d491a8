"""The proposal table both series pages share (scheduling/proposals.py): a visit choice's
value, and reading the posted choices back."""

import datetime
import uuid
import zoneinfo

import pytest
from django.core.exceptions import ValidationError

from effleura.scheduling import proposals
from effleura.scheduling.series import Visit

TZ = zoneinfo.ZoneInfo("America/Chicago")
START = datetime.datetime(2030, 3, 4, 10, 0, tzinfo=TZ)


def test_a_visit_value_reads_back_as_the_same_visit(therapist):
    practitioners = {therapist.public_id: therapist}
    assert proposals.parse_visit(proposals.visit_value(START), practitioners) == Visit(START)
    assert proposals.parse_visit(proposals.visit_value(START, therapist), practitioners) == Visit(START, therapist)


@pytest.mark.parametrize(
    "value",
    ["", "not a time|", "2030-03-04T10:00:00|", f"{START.isoformat()}|{uuid.uuid4()}", f"{START.isoformat()}|nope"],
)
def test_it_refuses_a_value_without_an_offset_or_with_an_unknown_practitioner(value, therapist):
    assert proposals.parse_visit(value, {therapist.public_id: therapist}) is None


def test_it_reads_the_chosen_visits_and_skips_those_left_out(therapist):
    data = {
        "visit_1": proposals.visit_value(START),
        "visit_2": proposals.LEAVE_OUT,
        "visit_3": proposals.visit_value(START + datetime.timedelta(days=7), therapist),
    }
    visits = proposals.chosen_visits(data, 3)
    assert visits == [Visit(START), Visit(START + datetime.timedelta(days=7), therapist)]
    assert proposals.chosen_values(data, 3)[2] == proposals.LEAVE_OUT


def test_it_refuses_a_visit_without_a_choice_and_a_series_left_out_entirely(db):
    with pytest.raises(ValidationError) as missing:
        proposals.chosen_visits({"visit_1": proposals.visit_value(START)}, 3)
    assert missing.value.messages == ["Choose a time for visit 2, 3, or leave it out."]
    with pytest.raises(ValidationError) as empty:
        proposals.chosen_visits({"visit_1": proposals.LEAVE_OUT}, 1)
    assert empty.value.messages == ["Every visit is left out: there is nothing to book."]
