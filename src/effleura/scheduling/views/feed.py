"""Scheduling pages: the calendar feed. URL names are listed in core/permissions.py URL_RULES.

A practitioner makes (or replaces) and revokes their private calendar subscription on one
page; the subscription itself (``…/feed/<key>.ics``) is public in the permission table:
the secret key in the address is what authenticates it (scheduling/feed.py).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST, require_safe

from effleura.scheduling import access
from effleura.scheduling import feed as feeds


def feed_manage(request):
    """GET: the practitioner's feeds. POST: a new feed (any live one is revoked); its
    address is shown on this answer only."""
    new_url = None
    if request.method == "POST":
        feeds.check_create_feed(request.user)
        _feed, raw = feeds.do_create_feed(request.user)
        new_url = request.build_absolute_uri(reverse("scheduling:feed_ics", kwargs={"key": raw}))
    context = {
        "nav": "schedule",
        "feeds": feeds.practitioner_feeds(request.user),
        "new_url": new_url,
        "webcal_url": "webcal://" + new_url.split("://", 1)[1] if new_url else None,
    }
    response = render(request, "scheduling/feed.html", context)
    response["Cache-Control"] = "no-store"  # the page may hold the secret address
    return response


@require_POST
def feed_revoke(request, feed_id):
    try:
        feed = feeds.check_revoke_feed(request.user, feed_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        feeds.do_revoke_feed(request.user, feed)
        messages.success(request, "Feed revoked. Calendar apps subscribed to it will stop updating.")
    return redirect("scheduling:feed")


@require_safe
def feed_ics(request, key):
    """The subscription itself: text/calendar, or 404 for an unknown or revoked key."""
    body = access.access_feed(key)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="effleura.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns = [
    path("feed/", feed_manage, name="feed"),
    path("feed/<uuid:feed_id>/revoke/", feed_revoke, name="feed_revoke"),
    path("feed/<slug:key>.ics", feed_ics, name="feed_ics"),
]
