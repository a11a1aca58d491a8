"""The `effleura` console script: Django's management commands plus our own.

effleura migrate | demo | worker | token create --user NAME | runserver | check --deploy
"""

import os
import sys

from effleura.env import ConfigError
from effleura.storage_permissions import restrict_umask


def main() -> None:
    # Before anything is written: the database, keys and uploads are the owner's only.
    restrict_umask()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "effleura.settings")
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as exc:
        sys.stderr.write(f"effleura: configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
