"""`/healthz`: the load balancer's question "may I send this server requests?"
(docs/deployment.md, decision 0029).

Answered by the first middleware, before anything else runs: no session is read or
made, no cookie set, nothing audited, no sign-in asked, no redirect to HTTPS (a load
balancer probes each server over plain HTTP on its private address) and no host check
(it probes by IP address, which is not in EFFLEURA_ALLOWED_HOSTS). It asks the database
one ``SELECT 1``: 200 ``ok`` when it answers, 503 when it does not. The body says nothing
else (no version, no database name, no error text); the log names the error's type only.
"""

import logging

from django.db import DatabaseError, InterfaceError, connection
from django.http import HttpResponse

log = logging.getLogger(__name__)

PATH = "/healthz"
# What every answer of ours carries (core/middleware.py), for an answer that is not HTML.
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def database_answers() -> bool:
    """Whether the database answers one trivial query now."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except (DatabaseError, InterfaceError) as exc:
        log.warning("health check: the database did not answer (%s)", type(exc).__name__)
        connection.close()  # the next request (or probe) starts on a fresh connection
        return False
    return True


def _answer(request, status: int, text: str) -> HttpResponse:
    body = "" if request.method == "HEAD" else text
    response = HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")
    for name, value in HEADERS.items():
        response[name] = value
    return response


class HealthCheckMiddleware:
    """Answers ``GET``/``HEAD /healthz`` on its own; every other request passes on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = _answer(request, 405, "GET or HEAD only\n")
            response["Allow"] = "GET, HEAD"
            return response
        if database_answers():
            return _answer(request, 200, "ok\n")
        return _answer(request, 503, "database unavailable\n")
