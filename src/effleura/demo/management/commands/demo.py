"""`effleura demo`: load the synthetic demo clinic (demo/data.py) and print its logins.

Safe to run again: once the demo is loaded it changes nothing and only prints the
logins. It refuses to touch a database that holds real (non-demo) accounts or patients.
"""

from django.core.management.base import BaseCommand, CommandError

from effleura.core import audit
from effleura.demo import data as demo_data


class Command(BaseCommand):
    help = "Load the synthetic demo clinic (once) and print its sign-in details."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", default=demo_data.URL, help=f"The address to print for signing in (default {demo_data.URL})."
        )

    def handle(self, *args, url: str, **options):
        token = audit.client_address.set("cli")
        try:
            result = demo_data.load_demo()
        except demo_data.RealDataPresent as exc:
            raise CommandError(f"{exc} Nothing was changed.") from None
        finally:
            audit.client_address.reset(token)

        if result.created:
            self.stdout.write(
                self.style.SUCCESS(f"Loaded the demo clinic: {result.staff} staff and {result.patients} patients.")
            )
        else:
            self.stdout.write(
                f"The demo clinic is already loaded ({result.staff} staff, {result.patients} patients); "
                "nothing changed."
            )
        self.stdout.write("")
        self.stdout.write(self._logins_table())
        self.stdout.write("")
        self.stdout.write(f"Sign in at {url}")
        self.stdout.write(
            "Every person and record in the demo clinic is synthetic: made-up names, fictional "
            "555-01xx phone numbers and example.com addresses. Never enter real patient data here."
        )
        self.stdout.write(
            "Two-factor sign-in is off for every role in the demo. To require it, sign in as the owner, "
            "open Practice and tick the roles under 'Roles that must use two-factor sign-in'; each person "
            "sets up an authenticator app or a passkey on their Profile page (docs/security.md, section mfa)."
        )

    @staticmethod
    def _logins_table() -> str:
        rows = [("Role", "Username", "Password")]
        rows += [(m.role.label, m.username, demo_data.DEMO_PASSWORD) for m in demo_data.STAFF]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(lines)
