"""What a browser would post back from a page's form: form_fields(html) reads the first
``<form method="post">`` without an ``action`` (the page's own edit form; the delete and
other buttons post elsewhere) and returns its fields as a test Client's POST data, so a
test can load a page, change a field and submit it as a person would, hidden fields
(the version the form was loaded with) included."""

from html.parser import HTMLParser

SKIPPED_TYPES = {"submit", "button", "reset", "image", "file"}


class _FormReader(HTMLParser):
    def __init__(self, action: str | None):
        super().__init__(convert_charrefs=True)
        self.action = action
        self.fields: dict[str, list[str]] = {}
        self.in_form = self.done = False
        self.select: str | None = None
        self.select_first: str | None = None
        self.select_chosen = self.multiple = False
        self.textarea: str | None = None
        self.text: list[str] = []

    def add(self, name: str, value: str) -> None:
        self.fields.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.done:
            return
        if tag == "form" and not self.in_form:
            wanted = (a.get("action") or None) == self.action
            self.in_form = (a.get("method") or "").lower() == "post" and wanted
            return
        if not self.in_form or a.get("disabled") is not None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in SKIPPED_TYPES:
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.add(name, a.get("value") or "on")
                return
            self.add(name, a.get("value") or "")
        elif tag == "select" and name:
            self.select, self.select_first, self.select_chosen = name, None, False
            self.multiple = "multiple" in a
        elif tag == "option" and self.select:
            value = a.get("value") or ""
            if self.select_first is None:
                self.select_first = value
            if "selected" in a:
                self.add(self.select, value)
                self.select_chosen = True
        elif tag == "textarea" and name:
            self.textarea, self.text = name, []

    def handle_endtag(self, tag):
        if not self.in_form:
            return
        if tag == "form":
            self.in_form, self.done = False, True
        elif tag == "select" and self.select:
            if not self.select_chosen and not self.multiple and self.select_first is not None:
                self.add(self.select, self.select_first)  # a browser submits the first option
            self.select = None
        elif tag == "textarea" and self.textarea:
            # The HTML parser keeps the newline Django writes after <textarea>; a browser drops it.
            text = "".join(self.text)
            self.add(self.textarea, text[1:] if text.startswith("\n") else text)
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.text.append(data)


def form_fields(html: str | bytes, action: str | None = None) -> dict:
    """The POST data of the page's form posting to ``action`` (None: to the page itself);
    a field with several values (a multiple select, repeated checkboxes) as a list."""
    reader = _FormReader(action)
    reader.feed(html.decode() if isinstance(html, bytes) else html)
    if not reader.done and not reader.fields:
        raise AssertionError(f"No <form method='post'> posting to {action or 'the page itself'} on the page.")
    fields = {name: values if len(values) > 1 else values[0] for name, values in reader.fields.items()}
    fields.pop("csrfmiddlewaretoken", None)
    return fields
