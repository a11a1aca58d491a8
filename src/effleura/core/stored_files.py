"""Opening an uploaded file that the database says is stored.

A file can be missing from storage although its record is there (a restore of the
database without media/, a disk replaced, a hand-deleted file). That is not a server
error: the person asking gets a 404 page (or the API's JSON 404) saying what happened
and who can fix it, and the log names the record's opaque id, never the file's name.
"""

import logging

from django.http import Http404

log = logging.getLogger(__name__)

MISSING_MESSAGE = (
    "The scanned file is missing from storage; ask the practice's administrator to restore it from backup."
)


class StoredFileMissing(Http404):
    """The record exists but its file is not in storage."""


def open_stored(field_file, record_id):
    """``field_file`` (a FieldFile) opened for reading; StoredFileMissing when it is absent."""
    try:
        return field_file.open("rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        log.error("a stored file is missing from storage (record %s)", record_id)
        raise StoredFileMissing(MISSING_MESSAGE) from None
