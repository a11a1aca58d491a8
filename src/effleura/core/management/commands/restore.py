"""`effleura restore FILE`: the database, media/ and keys from an archive made by
`effleura backup`, then a check of every table against the archive's manifest.

    effleura restore FILE [--key-file KEY] [--force]

Stop the app and the worker first. Without --force it refuses a database or media/ that
holds data. Exit status 1 when the restored data does not match the manifest.
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from effleura.core import backup


class Command(BaseCommand):
    help = "Restore a backup archive into the configured database, media/ and key files, and verify it."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The archive made by `effleura backup`.")
        parser.add_argument("--key-file", help="The backup key file (default: EFFLEURA_BACKUP_KEY_FILE).")
        parser.add_argument(
            "--force", action="store_true", help="Replace a database and media/ that hold data (kept aside)."
        )

    def handle(self, *args, archive, key_file=None, force=False, **options):
        try:
            key = backup.key_from(key_file)
            restored = backup.restore_backup(Path(archive), key, force=force, log=self.stderr.write)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        for note in restored.notes:
            self.stdout.write(note)
        if restored.problems:
            self.stderr.write("The restored data does NOT match the backup:")
            for problem in restored.problems:
                self.stderr.write(f"  - {problem}")
            sys.exit(1)
        made = restored.created_at_shown or restored.created_at
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the backup of {made} (Effleura {restored.made_by}, {restored.engine}): "
                f"{restored.tables} tables and "
                f"{restored.rows} rows match the manifest; {restored.media_files} media files and every "
                "checksum verified."
            )
        )
