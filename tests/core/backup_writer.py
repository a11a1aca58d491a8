"""Write load for the backup test: registers patients (each with its audit event) and
appends audit events, one transaction each, until the file named by argv[1] appears.

Run as `python tests/core/backup_writer.py STOP_FILE` against the EFFLEURA_VAR_DIR /
EFFLEURA_DATABASE_URL of its environment. Prints "ready" after its first writes, and at
the end the number of transactions it committed.
"""

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "effleura.settings")

import django

django.setup()

from django.db import OperationalError, transaction  # noqa: E402

from effleura.core import audit  # noqa: E402
from effleura.core.choices import AuditAction  # noqa: E402
from effleura.core.models import User  # noqa: E402
from effleura.demo import data as demo_data  # noqa: E402
from effleura.patients import actions  # noqa: E402


def main(stop: Path) -> None:
    owner = User.objects.get(username=demo_data.STAFF[0].username)
    token = audit.client_address.set("backup-writer")
    written = 0
    try:
        while not stop.exists():
            try:
                clean = actions.check_create_patient(
                    owner,
                    {"legal_first_name": "Load", "legal_last_name": f"Writer{written}", "date_of_birth": "1980-01-01"},
                )
                actions.do_create_patient(owner, clean)
                with transaction.atomic():
                    audit.record(owner, AuditAction.READ, "patient", detail="backup write load")
            except OperationalError:
                time.sleep(0.01)  # a busy SQLite file: try again, as a request would be retried
                continue
            written += 1
            if written == 5:
                print("ready", flush=True)
            time.sleep(0.005)
    finally:
        audit.client_address.reset(token)
    print(written, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
