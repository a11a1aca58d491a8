"""Time-ordered public ids for append-only tables (docs/decisions/0032).

A random UUID (version 4) lands on a random leaf of its unique index: with ten million
audit events that index is hundreds of megabytes, and a calendar view's 400 new events
touch 400 leaves scattered through it. A UUID version 7 (RFC 9562 §5.7) starts with the
Unix time in milliseconds, so new ids fall together at one end of the index and stay
unique and unguessable in their 74 random bits. The ``uuid6`` package makes them
(Python's own uuid.uuid7 arrives in 3.14); they are returned as plain uuid.UUID.
"""

import uuid

import uuid6


def time_ordered_uuid() -> uuid.UUID:
    """A new UUID version 7: later calls give larger ids, within this process."""
    return uuid.UUID(int=uuid6.uuid7().int)
