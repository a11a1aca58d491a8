"""Template filters of the one clock (effleura.core.clock): ``{% load clock %}``.

* ``{{ appointment.start|at_location:appointment.location|date:"l j F Y, H:i T" }}``: a
  moment in the location's zone (``T`` names it: "PST"); ``|date`` then leaves it as is.
* ``{{ moment|in_practice_zone|date:"..." }}``: in the practice's zone whatever is active.
* ``{{ appointment|visit_when }}``: "Tuesday 1 December 2026, 17:30–18:30 PST".
* ``{% if location|zone_differs %}``: the location keeps another zone than the practice.
"""

import datetime

from django import template

from effleura.core import clock

register = template.Library()


@register.filter
def at_location(moment, location):
    if not isinstance(moment, datetime.datetime):
        return moment
    return clock.local(moment, location)


@register.filter
def in_practice_zone(moment):
    if not isinstance(moment, datetime.datetime):
        return moment
    return clock.local(moment)


@register.filter
def visit_when(appointment):
    return clock.visit_when(appointment) if appointment else ""


@register.filter
def zone_differs(location):
    return bool(location) and clock.zone_differs(location)
