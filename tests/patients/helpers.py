"""Plain helpers for the patients tests: form data, page text, the audit trail."""

import datetime
import html

from effleura.core.models import AuditEvent
from effleura.patients import actions


def patient_form_data(**overrides) -> dict:
    """What the registration form posts for a complete, valid patient."""
    data = {
        "legal_first_name": "Ana",
        "legal_last_name": "Rivera",
        "preferred_name": "",
        "pronouns": "she/her",
        "date_of_birth": "1980-04-23",
        "sex_at_birth": "female",
        "gender_identity": "",
        "phone": "(555) 555-0134",
        "email": "ana.rivera@example.test",
        "address_line1": "",
        "address_line2": "",
        "city": "",
        "region": "",
        "postal_code": "",
        "country": "",
        "preferred_contact": "phone",
        "emergency_contact_name": "",
        "emergency_contact_relationship": "",
        "emergency_contact_phone": "",
        "notes": "",
    }
    data.update(overrides)
    return data


def edit_form_data(patient, **overrides) -> dict:
    """What the edit form posts when nothing is changed, plus ``overrides``."""
    data = {}
    for name in actions.PATIENT_FIELDS:
        value = getattr(patient, name)
        data[name] = value.isoformat() if isinstance(value, datetime.date) else value
    data.update(overrides)
    return data


def page_text(response) -> str:
    """The response body with HTML entities decoded (’ and “ are escaped by Django)."""
    return html.unescape(response.content.decode())


def audit_events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id"))
