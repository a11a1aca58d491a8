"""The long text fields of clinical forms count down to the limit their action keeps, and
refuse a longer text in the action's words."""

import pytest
from django.template.loader import render_to_string

from effleura.clinical import assessment_rules, note_rules
from effleura.clinical.views.assessments import AssessmentForm
from effleura.clinical.views.notes import NoteForm


@pytest.mark.parametrize(
    ("form_class", "field", "limit"),
    [
        (NoteForm, "subjective", note_rules.TEXT_MAX),
        (NoteForm, "plan", note_rules.TEXT_MAX),
        (AssessmentForm, "clinical_impression", assessment_rules.TEXT_MAX),
    ],
)
def test_a_long_text_field_counts_down_to_the_actions_limit(form_class, field, limit):
    form = form_class({field: "x" * (limit + 1)})
    form.is_valid()
    assert form.errors[field] == [f"Keep this under {limit} characters."]
    html = render_to_string("core/includes/field.html", {"field": form[field]})
    assert f'data-limit="{limit}"' in html and f'maxlength="{limit}"' in html
    assert "1 character too many" in html
