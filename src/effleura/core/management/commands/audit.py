"""The audit trail's seals from the command line (docs/audit.md).

    effleura audit verify   checks every seal and the events after the last one; prints
                            what it found and exits 1 on any problem (for cron and alerts)
    effleura audit seal     seals what is waiting now (the worker does it every minute)

Each verification is recorded (who ran it, when, the result) and shown on the owner's
audit page.
"""

import getpass

from django.core.management.base import BaseCommand, CommandError

from effleura.core import seals


class Command(BaseCommand):
    help = "Verify or seal the audit trail."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{verify,seal}")
        sub.add_parser("verify", help="Check every seal; exit 1 on any problem.")
        sub.add_parser("seal", help="Seal the events waiting now (the worker does it every minute).")

    def handle(self, *args, **options):
        if options["action"] == "seal":
            try:
                count = seals.seal_pending()
            except seals.MissingAuditKey as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"Sealed {count} event(s).")
            return
        report = seals.verify(by=f"{_server_user()} (command line)")
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            raise CommandError("The audit trail does not verify.", returncode=1)


def _server_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (some containers)
        return "server user"
