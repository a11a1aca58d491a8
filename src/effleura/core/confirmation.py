"""An action that may go ahead once the person doing it has confirmed what it warns of.

A ``check_*`` function raises NeedsConfirmation when the action is allowed but should not
happen unnoticed (booking a referral's last visit, claiming a visit the patient already
paid); called again with ``confirm_warnings`` it goes ahead. Pages show the warnings with a
box to tick, the API answers 409 with them (api/api.py), so every transport asks alike.
"""

from django.core.exceptions import ValidationError


class NeedsConfirmation(ValidationError):
    """``warnings``: what to confirm, in plain words, never naming another patient."""

    prompt = "Confirm first: "

    def __init__(self, warnings):
        self.warnings = list(warnings)
        super().__init__(self.prompt + " ".join(self.warnings), code="needs_confirmation")
