"""The benchmark's URL configuration, for the tests that need the floor page.

Never import effleura.bench.urls at a test module's top: importing it names the floor in
the permission table (floor.register_permission), and the production URLconf's tests
(tests/core/test_permissions.py) would find a rule for a URL production does not route.
The fixture adds the rule for one test and takes it out again."""

import pytest

from effleura.bench import floor
from effleura.core import permissions


@pytest.fixture
def bench_urls(settings, monkeypatch):
    monkeypatch.setitem(permissions.URL_RULES, floor.URL_NAME, floor.PERMISSION)
    settings.ROOT_URLCONF = "effleura.bench.urls"
