"""{% charge_card note %}: the visit's charge on a signed session note's page.

A template tag, so clinical's view needs no billing import (billing depends on clinical,
never the reverse): clinical's template loads this library and billing reads the charge
through billing/charges.py charge_for_note, which shows it only to those who may see it.
"""

from django import template

from effleura.billing.charges import charge_for_note

register = template.Library()


@register.inclusion_tag("billing/charges/card.html", takes_context=True)
def charge_card(context, note):
    request = context.get("request")
    user = getattr(request, "user", None)
    charge = None
    if user is not None and getattr(note, "status", "") == "signed":
        charge = charge_for_note(user, note)
    return {"charge": charge, "request": request}
