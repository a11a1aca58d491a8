"""Template helpers for forms and the values they collect: the characters left in a long
text field and phone numbers as the practice writes them."""

import re

from django import template
from django.utils.safestring import mark_safe

from effleura.core import phones
from effleura.core.text import escape_html

register = template.Library()

# Text fields longer than this show a "characters left" counter (shorter ones rarely fill).
COUNTER_FROM = 200


@register.filter
def counter_limit(field) -> int | None:
    """The field's character limit when it deserves a counter (a textarea, or an input
    longer than COUNTER_FROM characters); None otherwise."""
    limit = getattr(field.field, "max_length", None)
    if not limit:
        return None
    is_textarea = field.field.widget.__class__.__name__ == "Textarea"
    return limit if is_textarea or limit > COUNTER_FROM else None


@register.filter
def chars_left(field) -> int:
    """How many characters may still be typed in ``field`` (negative when over the limit).
    A line break counts two: the form will send it as CR LF, and the server counts that."""
    limit = counter_limit(field) or 0
    value = field.value()
    return limit - len(re.sub(r"\r?\n", "\r\n", "" if value is None else str(value)))


@register.filter
def phone(value, region: str | None = None) -> str:
    """``{{ patient.phone|phone:practice.phone_region }}``: the number in the stored format."""
    return phones.display_phone(value, region or None)


@register.filter
def tel_uri(value, region: str | None = None) -> str:
    """``<a href="{{ number|tel_uri:practice.phone_region }}">``: a tel: link, or ""."""
    return phones.dial_uri(value, region or None)


@register.filter
def problem_count(form) -> int:
    """The problems a refused form lists at the top: each form-wide message, and each field
    with an error (a field's two messages are one problem to fix)."""
    if form is None or not form.is_bound:
        return 0
    return len(form.non_field_errors()) + sum(1 for name in form.errors if name != "__all__")


@register.filter
def counter_text(left: int) -> str:
    """ "412 characters left" or "3 characters too many" (core/forms.js writes the same)."""
    if left >= 0:
        return f"{left} character{'' if left == 1 else 's'} left"
    return f"{-left} character{'' if left == -1 else 's'} too many"


@register.simple_tag
def options(choices, selected=None):
    """The <option> elements of a select, the chosen value(s) marked: ``{% options
    region_choices row.regions %}``. ``choices`` are (value, label) pairs; ``selected`` is
    one value or a list, set or tuple of them (a multiple select). Written in Python
    because a page with many rows of selects (a note's techniques) spent most of its
    render time in the template loop that built these (docs/performance.md)."""
    if selected is None:
        chosen = set()
    elif isinstance(selected, (list, set, tuple, frozenset)):
        chosen = {str(v) for v in selected}
    else:
        chosen = {str(selected)}
    return mark_safe(  # noqa: S308 (every value escaped as autoescaping would)
        "".join(
            f'<option value="{escape_html(value)}"{" selected" if str(value) in chosen else ""}>'
            f"{escape_html(label)}</option>"
            for value, label in choices
        )
    )
