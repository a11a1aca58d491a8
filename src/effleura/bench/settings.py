"""Settings for the page benchmarks: production's (effleura/settings.py, DEBUG off, the
same middleware), plus the floor page's URL and the test client's host name.

The database and var/ come from the environment as always (EFFLEURA_DATABASE_URL,
EFFLEURA_VAR_DIR): the benchmark runs one process per kept data set (bench/datasets.py).
"""

from effleura.settings import *  # noqa: F403 (production's settings, then the bench's changes)
from effleura.settings import ALLOWED_HOSTS

ROOT_URLCONF = "effleura.bench.urls"
# django.test.Client's host name; the benchmark never listens on a network.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
