from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st

from effleura.core import text
from effleura.core.text import printable


def test_it_turns_control_characters_into_spaces():
    assert printable("a\x00b\tc\nd") == "a b c d"


def test_it_keeps_printable_text_and_accepts_none():
    assert printable("Zoë O’Brien-Łukasz 555-0134") == "Zoë O’Brien-Łukasz 555-0134"
    assert printable(None) == ""


@given(st.one_of(st.text(), st.integers(), st.decimals(allow_nan=False), st.none()))
def test_escape_html_writes_what_autoescaping_writes(value):
    assert text.escape_html(value) == conditional_escape(value)


def test_escape_html_keeps_safe_strings_and_translates_lazy_ones():
    assert text.escape_html(mark_safe("<b>kept</b>")) == "<b>kept</b>"
    assert text.escape_html(format_html("<i>{}</i>", "a&b")) == "<i>a&amp;b</i>"
    assert text.escape_html(gettext_lazy("Left & right")) == "Left &amp; right"
    assert text.escape_html("\"quoted\" 'too'") == "&quot;quoted&quot; &#x27;too&#x27;"
