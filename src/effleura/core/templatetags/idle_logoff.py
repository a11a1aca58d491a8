"""``{% idle_logoff %}``: the automatic-logoff warning and its script (core/idle.py), on
every page of a signed-in browser session (base.html)."""

from django import template
from django.conf import settings
from django.utils import timezone

from effleura.core import idle

register = template.Library()


@register.inclusion_tag("core/includes/idle_logoff.html", takes_context=True)
def idle_logoff(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    shown = (
        user is not None
        and user.is_authenticated
        and getattr(request, "api_token", None) is None
        # In hand-over mode the patient holds the device; the server still ends the session.
        and not getattr(request, "handover", None)
    )
    if not shown:
        return {"shown": False}
    _idle_left, maximum_left = idle.seconds_left(request.session, timezone.now())
    return {
        "shown": True,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "idle_seconds": settings.EFFLEURA_IDLE_LOGOUT_MINUTES * 60,
        "maximum_seconds_left": max(int(maximum_left), 0),
        "warn_seconds": idle.WARN_SECONDS,
    }
