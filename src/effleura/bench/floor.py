"""The floor page: what the framework alone costs a signed-in page (decision 0024).

A view that renders a one-line template for the signed-in user and makes no query of its
own, behind the full production middleware (sessions, authentication, the second-factor
and idle-logoff checks, the permission gate, CSP and the browser protections). The page
benchmarks divide every page's median by the floor's, measured with the same client and
persona, interleaved, in the same run: what is left is the page's own work.

The template is rendered without the request, so no context processor runs (the
practice's name would be a query of the floor's own). Routed only by the benchmark's URL
configuration (effleura/bench/urls.py, chosen by effleura/bench/settings.py); the
production URLconf never names it.
"""

from django.http import HttpResponse
from django.template import engines

URL_NAME = "bench:floor"
PATH = "/bench/floor/"
# The permission it needs: any signed-in account, role or not, as core:home (no query).
PERMISSION = "account.use"
TEMPLATE = "<p>Signed in as {{ user.get_username }}.</p>\n"

_template = None


def _compiled():
    # Compiled once per process, as Django's cached template loader keeps a file's.
    global _template
    if _template is None:
        _template = engines["django"].from_string(TEMPLATE)
    return _template


def floor(request):
    """The floor page: the signed-in user's name in one line, no query."""
    return HttpResponse(_compiled().render({"user": request.user}))


def register_permission() -> None:
    """Name the floor in the permission table, which refuses any URL it does not list. Only
    the benchmark's URLconf calls it: in production the floor is neither routed nor listed."""
    from effleura.core import permissions

    permissions.URL_RULES.setdefault(URL_NAME, PERMISSION)
