"""Cleaning text typed into search boxes before it reaches a query."""


def printable(text: str | None) -> str:
    """``text`` without control characters (tabs and newlines become spaces).

    PostgreSQL refuses a NUL byte in a string, so a search for "a\\x00b" would otherwise end
    in a server error there (and silently work on SQLite)."""
    return "".join(ch if ch.isprintable() else " " for ch in (text or ""))
