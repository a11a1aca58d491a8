"""Two (or more) API clients racing on one record, for the version tests of every app.

``race(calls)`` runs each call in its own thread, with its own database connection,
released together by a barrier, and returns their answers in order. Use it in tests
marked ``@pytest.mark.postgres`` with ``@pytest.mark.django_db(transaction=True)``: on
PostgreSQL the threads really meet at the row lock, and exactly one stale-version check
must fail. (SQLite's in-memory test database cannot hold two writers at once; the
sequential two-client tests cover the rule there.)
"""

import threading

from django.db import connections
from django.test import Client

from effleura.core.actions import do_create_api_token

API = "/api/v1"
BARRIER_TIMEOUT = 60


def token_client(user, name: str = "race") -> Client:
    """A test Client sending a new API token of ``user``."""
    _token, raw = do_create_api_token(user, name)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def race(calls):
    """Run every ``call()`` at once, each in a thread; their return values, in order."""
    barrier = threading.Barrier(len(calls), timeout=BARRIER_TIMEOUT)
    results: list = [None] * len(calls)
    errors: list = []

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def racing_writes(clients, method: str, path: str, body: dict, if_match: str):
    """Each client sends the same write with the same If-Match at once: their status codes."""

    def call(client):
        return lambda: (
            getattr(client, method.lower())(
                API + path, data=body, content_type="application/json", HTTP_IF_MATCH=if_match
            ).status_code
        )

    return race([call(client) for client in clients])
