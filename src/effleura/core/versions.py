"""Record versions: no save overwrites a change its author has not seen.

Every editable record carries an integer ``version`` (``core.models.Versioned``), 1 when
created and one more on every write. Whoever edits a record says which version they
loaded: a form posts it in a hidden field, an API client sends ``If-Match: "3"``. The
``do_*`` function compares it with the row's version *under the row lock*
(``check_version``), so a check-then-write race cannot slip between the two: a stale
version raises ``StaleVersion`` and nothing is written. Pages answer it by showing what
the other person changed, with the person's own input kept (``core.forms.show_conflict``);
the API answers 412 with the current version.

An API client that sends no ``If-Match`` opts out, as HTTP allows; every form and every
client we ship sends one. See docs/architecture.md, "Versions".
"""

import re

from django.core.exceptions import ValidationError

# ``If-Match: *``: any current version will do (the record must exist).
ANY = object()

IF_MATCH = re.compile(r'\s*(?:W/)?"(\d{1,9})"\s*')
OUT_OF_DATE = "This page is out of date: reload it and make your change again."
PRECONDITION_HELP = 'Send If-Match with the version you read, e.g. "3" (from the ETag header), or *.'


class StaleVersion(ValidationError):
    """The record was saved by someone else after the editor loaded it.

    ``current`` is the row as it is now (locked), ``version`` its version and ``expected``
    the version the editor had. Raised by ``check_version`` before anything is written."""

    def __init__(self, current, expected, what: str = "record"):
        self.current = current
        self.version = current.version
        self.expected = expected
        self.what = what
        super().__init__(
            f"Someone else saved this {what} after you opened it (it is now version {current.version}); "
            "nothing was saved.",
            code="stale",
        )


class PreconditionFailed(Exception):
    """An ``If-Match`` header that names no version (answered 412)."""

    def __init__(self, detail: str = f"The If-Match header is not a version we understand. {PRECONDITION_HELP}"):
        self.detail = detail
        super().__init__(detail)


def check_version(locked, expected, what: str = "record") -> None:
    """Refuse (``StaleVersion``) unless ``expected`` is the version of ``locked``, the row
    the caller holds locked. ``expected`` None (no version sent: an API client opting out)
    and ``ANY`` always pass. Call inside the do_* transaction, after select_for_update()
    and before writing."""
    if expected is None or expected is ANY:
        return
    if int(expected) != locked.version:
        raise StaleVersion(locked, expected, what)


def bump(row) -> list[str]:
    """Count one more write of ``row``; returns ["version"] for the caller's update_fields."""
    row.version += 1
    return ["version"]


def if_match(request):
    """The version an API request's ``If-Match`` names: None when it sends none, ANY for
    ``*``, else the integer in ``"n"`` or ``W/"n"``; ``PreconditionFailed`` for anything
    else, or for several versions at once (we keep one)."""
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    if raw.strip() == "*":
        return ANY
    found = IF_MATCH.fullmatch(raw)
    if found is None:
        raise PreconditionFailed()
    return int(found.group(1))


def etag(version: int) -> str:
    """The strong ETag of a record at ``version``: ``"3"``."""
    return f'"{version}"'


def parse_posted(value) -> int | None:
    """The version a form posted (its hidden ``version`` field): an int, or None when the
    form sent none (a page from before versions, or a hand-made request)."""
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationError(OUT_OF_DATE) from None
    if number < 0:
        raise ValidationError(OUT_OF_DATE)
    return number
