"""One way for an app to let apps further down the dependency chain plug into it, without
importing them: an ExtensionPoint.

An app declares nothing itself: every point is declared, with its contract, in
core/extension_points.py, so that one file lists every place where one app reaches into
another's work. Apps fill the points in their AppConfig.ready() with ``register`` and the
app that owns the work calls them with ``call_all``, ``collect`` or ``first``.
"""

from collections.abc import Callable
from typing import Any


class ExtensionPoint:
    """A named list of providers, called in the order they registered.

    ``contract``: who calls the point, with what arguments, and what a provider must do
    (its answer, its query budget, the permission it asks, what it audits). Providers are
    plain callables; registering one twice keeps the first (ready() may run more than once
    in tests), and providers compare by ``==``, so a value object registered again counts
    as the same provider.
    """

    def __init__(self, name: str, contract: str):
        if not name or not contract.strip():
            raise ValueError("An extension point needs a name and its contract.")
        self.name = name
        self.contract = contract
        self._providers: list[Callable] = []

    def __repr__(self) -> str:
        return f"<ExtensionPoint {self.name}: {len(self._providers)} providers>"

    @property
    def providers(self) -> tuple[Callable, ...]:
        """The registered providers, in registration order."""
        return tuple(self._providers)

    def register(self, provider: Callable) -> Callable:
        """Add ``provider`` (idempotent). Returns it, so it may decorate a function."""
        if not callable(provider):
            raise TypeError(f"{self.name}: a provider must be callable, not {provider!r}.")
        if provider not in self._providers:
            self._providers.append(provider)
        return provider

    def call_all(self, *args, **kwargs) -> None:
        """Call every provider for its effect, in order. An exception stops the rest and
        reaches the caller (a signing hook refusing the signature, for one)."""
        for provider in self._providers:
            provider(*args, **kwargs)

    def collect(self, *args, **kwargs) -> list[Any]:
        """Every provider's answer, in order, leaving out None (nothing to add)."""
        return [found for provider in self._providers if (found := provider(*args, **kwargs)) is not None]

    def first(self, *args, **kwargs) -> Any:
        """The first answer that is not None, asking the providers in order and no more of
        them than needed; None when none answers."""
        for provider in self._providers:
            found = provider(*args, **kwargs)
            if found is not None:
                return found
        return None
