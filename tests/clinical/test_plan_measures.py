"""A goal's measure is picked from a menu (outcome measures, then each joint's movements and
sides), and a measure typed through the API is read whatever its case or by its name. The
plan form once wanted typed codes like rom:cervical_spine:rotation:right and refused "NDI"."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from effleura.clinical import plans

from .test_plans import plan_data
from .test_plans_pages import form_data


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("NDI", "ndi"),
        ("  Ndi ", "ndi"),
        ("Neck Disability Index", "ndi"),
        ("quickDASH", "quickdash"),
        ("ROM:Cervical_Spine:Rotation:Left", "rom:cervical_spine:rotation:left"),
    ],
)
def test_a_measure_is_read_whatever_its_case_or_by_its_name(therapist, episode, typed, stored):
    goal = {"description": "Less neck disability", "measure": typed, "baseline": 40, "target": 20}
    if stored.startswith("rom:"):
        goal.update(baseline=45, target=70)
    clean = plans.check_create_plan(therapist, episode, plan_data(goals=[goal]))
    assert clean["goals"][0]["measure"] == stored


def test_an_unknown_measure_is_still_refused_with_the_choices_named(therapist, episode):
    goal = {"description": "Feel better", "measure": "happiness", "baseline": 1, "target": 9}
    with pytest.raises(ValidationError) as refused:
        plans.check_create_plan(therapist, episode, plan_data(goals=[goal]))
    assert "Name an outcome measure" in str(refused.value)


def test_the_plan_form_offers_measures_from_a_menu_grouped_by_joint(client_for, therapist, episode):
    page = client_for(therapist).get(reverse("clinical:plan_new", args=[episode.public_id])).content.decode()
    goal_menu = re.search(r'<select name="goals-0-measure"[^>]*>(.*?)</select>', page, re.S)
    assert goal_menu, "the goal's measure is a menu"
    menu = goal_menu.group(1)
    assert '<option value="" selected>Not measured (a goal you judge)</option>' in menu
    assert '<optgroup label="Outcome measures">' in menu
    assert '<option value="ndi">Neck Disability Index (NDI)</option>' in menu
    assert '<optgroup label="Range of motion: Cervical spine">' in menu
    assert re.search(r'<option value="rom:cervical_spine:rotation:right">[^<]*right</option>', menu)
    assert "rom:joint:movement" not in page  # no code to type


def test_a_range_of_motion_picked_from_the_menu_is_saved(client_for, therapist, episode):
    url = reverse("clinical:plan_new", args=[episode.public_id])
    data = form_data(
        **{
            "goals-1-description": "Turn the head to the right to check the mirror",
            "goals-1-measure": "rom:cervical_spine:rotation:right",
            "goals-1-baseline": "45",
            "goals-1-target": "70",
            "goals-1-status": "not_started",
        }
    )
    assert client_for(therapist).post(url, data).status_code == 302
    goals = plans.current_plan(episode).goals.order_by("id")
    assert [g.measure for g in goals] == ["nprs", "rom:cervical_spine:rotation:right"]
    page = client_for(therapist).get(url).content.decode()
    assert '<option value="rom:cervical_spine:rotation:right" selected>' in page  # the change starts from it
