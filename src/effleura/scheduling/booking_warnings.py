"""Warnings before a booking: things the person booking should confirm first (for example
a referral with no visits left). Like scheduling/badges.py, scheduling knows none of them:
apps further down the dependency chain register a provider in their AppConfig.ready(), so
scheduling never imports them.

A provider is called as ``provider(patient, start, tz=...)`` (``start`` an aware datetime,
``tz`` the location's zone for the local date, or None for the server's) and returns a list
of warnings in plain words. The booking page asks for "Book anyway" and the API answers 409
with the warnings unless ``confirm_warnings`` is true.
"""

from collections.abc import Callable

_providers: list[Callable] = []


def register(provider: Callable) -> None:
    """Add a warnings provider (idempotent: ready() may run more than once in tests)."""
    if provider not in _providers:
        _providers.append(provider)


def warnings_for(patient, start, *, tz=None) -> list[str]:
    """Every registered provider's warnings about booking ``patient`` at ``start``."""
    found: list[str] = []
    for provider in _providers:
        found.extend(provider(patient, start, tz=tz))
    return found
