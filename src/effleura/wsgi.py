"""WSGI entry point for gunicorn."""

import os

from effleura.storage_permissions import restrict_umask

# Before Django (or gunicorn's worker) writes anything: files are the owner's only.
restrict_umask()

from django.core.wsgi import get_wsgi_application  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "effleura.settings")
application = get_wsgi_application()

from effleura import collector  # noqa: E402

collector.settle()  # the loaded application frozen out of the collector's walks
