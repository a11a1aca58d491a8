"""What happens elsewhere when a session note is signed, without clinical importing it.

Billing turns a signed note's technique minutes into the visit's charge. It registers a
hook in its AppConfig.ready(); clinical/notes.py do_sign_note() calls every hook inside
its transaction, after the note is signed, so the signature and what follows from it
land together or not at all. A hook is called as hook(actor, note, now=now); it does its
own authorization and auditing, and raises ValidationError to refuse the signature.
"""

from collections.abc import Callable

_hooks: list[Callable] = []


def register(hook: Callable) -> None:
    """Add a hook (idempotent: ready() may run more than once in tests)."""
    if hook not in _hooks:
        _hooks.append(hook)


def run(actor, note, *, now) -> None:
    for hook in _hooks:
        hook(actor, note, now=now)
