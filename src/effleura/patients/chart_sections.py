"""Sections that apps further down the dependency chain add to the patient chart's
overview (referrals' authorizations, for one), without patients importing them.

A provider registered in an AppConfig.ready() is called with (user, patient) once per
chart view; it asks the permission table, audits what it reads, does a fixed number of
queries, and returns a Section to show or None.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    template: str  # rendered with `section` in its context
    data: dict = field(default_factory=dict)


_providers: list[Callable] = []


def register(provider: Callable) -> None:
    if provider not in _providers:
        _providers.append(provider)


def sections(user, patient) -> list[Section]:
    return [section for provider in _providers if (section := provider(user, patient)) is not None]
