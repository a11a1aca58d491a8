"""Every refused form lists all its problems at the top (core/includes/error_summary.html),
each linked to its field, and long text fields count the characters left (field.html)."""

import re

import pytest
from django import forms
from django.template.loader import render_to_string
from django.urls import reverse

from effleura.core.forms import apply_errors, check_refused_form
from effleura.core.phones import NOT_A_PHONE


class Sample(forms.Form):
    name = forms.CharField(max_length=50)
    notes = forms.CharField(max_length=500, required=False, widget=forms.Textarea)
    summary = forms.CharField(max_length=300, required=False)
    code = forms.CharField(max_length=20, required=False)
    days = forms.MultipleChoiceField(
        choices=[("mon", "Monday"), ("tue", "Tuesday")], widget=forms.CheckboxSelectMultiple
    )


def render(form) -> str:
    return render_to_string("core/includes/form.html", {"form": form})


def test_the_summary_counts_and_links_every_problem():
    form = Sample({"name": "", "notes": "x" * 501, "code": "y" * 21})
    form.is_valid()
    form.add_error(None, "Someone else saved this meanwhile.")
    html = render(form)
    assert "5 problems need fixing before this can be saved" in html
    assert '<div class="error-summary" role="alert" tabindex="-1" data-error-summary>' in html
    assert '<li><a href="#id_name">Name</a>: This field is required.</li>' in html
    assert '<a href="#id_notes">Notes</a>' in html and '<a href="#id_code">Code</a>' in html
    assert '<a href="#id_days_0">Days</a>' in html  # a group of boxes: its first box
    assert "<li>Someone else saved this meanwhile.</li>" in html
    # The messages also stay beside their fields.
    assert '<p class="error" id="id_name_error">This field is required.</p>' in html


def test_one_problem_is_one_problem_and_a_clean_form_shows_no_summary():
    form = Sample({"name": "Ana", "days": ["mon"], "code": "y" * 21})
    form.is_valid()
    assert "1 problem needs fixing before this can be saved" in render(form)
    assert "error-summary" not in render(Sample())
    ok = Sample({"name": "Ana", "days": ["mon"]})
    assert ok.is_valid() and "error-summary" not in render(ok)


def test_long_text_fields_count_the_characters_left():
    html = render(Sample(initial={"notes": "Left shoulder"}))
    counter = re.search(r'<p class="hint counter" id="id_notes_counter"[^>]*>([^<]*)</p>', html)
    assert counter and counter.group(1) == "487 characters left"
    assert 'data-counter-for="id_notes" data-limit="500" aria-live="polite"' in html
    assert 'maxlength="500"' in html  # the browser's limit is the same number
    assert 'id="id_summary_counter"' in html  # an input longer than 200 characters
    assert 'id="id_name_counter"' not in html and 'id="id_code_counter"' not in html


def test_a_counter_says_how_far_over_the_limit_a_refused_value_is():
    form = Sample({"name": "Ana", "days": ["mon"], "notes": "x" * 503})
    form.is_valid()
    html = render(form)
    assert "3 characters too many" in html and 'class="hint counter over"' in html


def test_the_check_of_a_refused_form_adds_its_problems_without_repeating_the_forms():
    form = Sample({"name": "", "days": ["mon"], "code": "12"})
    form.is_valid()

    def check(data):
        assert "name" not in data  # refused by the form: not checked again
        raise forms.ValidationError({"code": NOT_A_PHONE, "name": "Give a name."})

    check_refused_form(form, check)
    assert form.errors["code"] == [NOT_A_PHONE]
    assert form.errors["name"] == ["This field is required."]
    apply_errors(form, forms.ValidationError("Not saved."))
    assert form.non_field_errors() == ["Not saved."]


@pytest.mark.django_db
def test_every_page_loads_the_forms_script_and_no_inline_script(client_for, owner):
    html = client_for(owner).get(reverse("core:practice")).content.decode()
    assert re.search(r'<script src="[^"]*core/forms\.js" defer></script>', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_an_empty_post_leaves_nothing_to_check():
    form = Sample(None)
    assert not form.is_valid()
    check_refused_form(form, lambda data: pytest.fail("an unbound form has nothing to check"))
    assert "error-summary" not in render(form)


def test_the_counter_counts_a_line_break_as_the_two_characters_a_form_sends():
    from django import forms

    from effleura.core.templatetags.effleura_forms import chars_left

    class Note(forms.Form):
        text = forms.CharField(max_length=10, widget=forms.Textarea)

    # Stored with LF, posted back as CR LF: both count 4 for "ab", a break, "c".
    assert chars_left(Note(initial={"text": "ab\nc"})["text"]) == 5
    assert chars_left(Note(data={"text": "ab\r\nc"})["text"]) == 5
