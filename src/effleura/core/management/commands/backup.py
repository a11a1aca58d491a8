"""`effleura backup FILE`: one encrypted archive of the database, media/ and the keys,
written while the app keeps serving (docs/backup.md).

    effleura backup FILE [--key-file KEY]    KEY or EFFLEURA_BACKUP_KEY_FILE
    effleura backup --new-key KEY            a new key file (0600); never overwrites one
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from effleura.core import backup


class Command(BaseCommand):
    help = "Write an encrypted backup archive (database, media/, keys), or make a new backup key."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("archive", nargs="?", help="The archive to write; it must not exist yet.")
        parser.add_argument("--key-file", help="The backup key file (default: EFFLEURA_BACKUP_KEY_FILE).")
        parser.add_argument("--new-key", metavar="KEY_FILE", help="Write a new backup key to KEY_FILE and stop.")

    def handle(self, *args, archive=None, key_file=None, new_key=None, **options):
        if bool(archive) == bool(new_key):
            raise CommandError("Give either the archive to write (effleura backup FILE) or --new-key KEY_FILE.")
        try:
            if new_key:
                key = backup.BackupKey.generate()
                key.write_new(Path(new_key))
                self.stdout.write(f"Wrote a new backup key to {new_key} (fingerprint {key.label}).")
                self.stdout.write(
                    "Keep a copy where the backups are not (a password manager, a safe): an archive cannot "
                    "be restored without it, and anyone holding both can read the archive."
                )
                return
            key = backup.key_from(key_file)
            if key.readable_by_others():
                self.stderr.write(f"Warning: {key.source} can be read by other users; chmod 600 it.")
            made = backup.make_backup(Path(archive), key, log=self.stderr.write)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up {made.engine}: {made.tables} tables, {made.rows} rows, {made.media_files} media files "
                f"into {made.path} ({made.size / 1_000_000:.1f} MB, key {key.label})."
            )
        )
