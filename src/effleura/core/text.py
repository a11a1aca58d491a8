"""Text: cleaning what is typed into search boxes before it reaches a query, and escaping
what Python writes into a page's HTML."""

import html

from django.utils.functional import Promise


def printable(text: str | None) -> str:
    """``text`` without control characters (tabs and newlines become spaces).

    PostgreSQL refuses a NUL byte in a string, so a search for "a\\x00b" would otherwise end
    in a server error there (and silently work on SQLite)."""
    return "".join(ch if ch.isprintable() else " " for ch in (text or ""))


def escape_html(value) -> str:
    """What the template's autoescaping writes for ``value`` (django.utils.html's
    conditional_escape): a safe string (SafeString, format_html's output) as it is, anything
    else, lazy translations included, through the standard library's html.escape, which
    Django's escape() calls. Without Django's lazy-string wrapper, which costs more than the
    escaping itself when a page writes thousands of values in Python (docs/performance.md)."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))
