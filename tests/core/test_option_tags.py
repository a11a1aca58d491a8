"""The option lists written in Python for pages with many selects: `{% options %}`
(core/templatetags/effleura_forms.py) and `{% technique_options %}`
(clinical/templatetags/clinical_chart.py) mark what is chosen, escape what they print and
label a technique screening flags."""

from django.template import Context, Template


def render(source: str, **context) -> str:
    return Template("{% load effleura_forms clinical_chart %}" + source).render(Context(context))


def test_it_marks_the_one_value_chosen():
    html = render("{% options choices 'firm' %}", choices=[("light", "Light"), ("firm", "Firm")])
    assert html == '<option value="light">Light</option><option value="firm" selected>Firm</option>'


def test_it_marks_every_value_of_a_multiple_choice():
    choices = [("neck", "Neck"), ("back", "Back"), ("hip", "Hip")]
    html = render("{% options choices chosen %}", choices=choices, chosen=["neck", "hip"])
    assert html.count(" selected") == 2
    assert '<option value="back">Back</option>' in html


def test_nothing_is_marked_when_nothing_is_chosen():
    assert " selected" not in render("{% options choices none %}", choices=[("a", "A")], none=None)
    assert " selected" not in render("{% options choices '' %}", choices=[("a", "A")])


def test_values_and_labels_are_escaped():
    html = render("{% options choices '' %}", choices=[('x"><script>', "<b>bold</b>")])
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_technique_options_group_choices_and_say_what_screening_found():
    groups = [
        ("Techniques", [("effleurage", "Effleurage", "ok"), ("compression", "Compression", "local")]),
        ("Adjunct modalities", [("heat", "Heat", "contraindicated"), ("cupping", "Cupping", "caution")]),
    ]
    html = render("{% technique_options groups 'compression' %}", groups=groups)
    assert html.startswith('<optgroup label="Techniques"><option value="effleurage">Effleurage</option>')
    # Plain names; screening's word rides along as data, shown beside the menu.
    assert (
        '<option value="compression" selected data-verdict="local" data-verdict-text="avoid affected areas">'
        "Compression</option>"
    ) in html
    assert (
        '<option value="heat" data-verdict="contraindicated" data-verdict-text="contraindicated">Heat</option>' in html
    )
    assert (
        '<option value="cupping" data-verdict="caution" data-verdict-text="caution">Cupping</option></optgroup>' in html
    )
    assert "—" not in html
    assert html.count("<optgroup") == 2


def test_the_badge_beside_the_menu_says_the_chosen_techniques_verdict():
    groups = [("Techniques", [("effleurage", "Effleurage", "ok"), ("compression", "Compression", "local")])]
    assert render("{% technique_verdict groups 'compression' as v %}{{ v.0 }}|{{ v.1 }}", groups=groups) == (
        "avoid affected areas|warn"
    )
    assert render("{% technique_verdict groups 'effleurage' as v %}{{ v.0 }}|{{ v.1 }}", groups=groups) == "|"
