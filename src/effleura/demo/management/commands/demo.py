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
            "--scale",
            type=int,
            metavar="N",
            help="Instead: build the large synthetic benchmark practice of N patients into an empty database "
            "(demo/scale.py, docs/performance.md#scale).",
        )
        parser.add_argument(
            "--url", default=demo_data.URL, help=f"The address to print for signing in (default {demo_data.URL})."
        )

    def handle(self, *args, url: str, scale: int | None = None, **options):
        if scale is not None:
            return self._scale(scale)
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

    def _scale(self, n: int) -> None:
        from effleura.demo import scale

        token = audit.client_address.set("cli")
        try:
            result = scale.build(n, out=self.stdout.write)
        except scale.ScaleRefused as exc:
            raise CommandError(f"{exc} Nothing was changed.") from None
        finally:
            audit.client_address.reset(token)
        if result.created:
            rows = sum(result.counts.values())
            self.stdout.write(
                self.style.SUCCESS(
                    f"Built the synthetic benchmark practice for {n:,} patients: {rows:,} rows in "
                    f"{result.seconds:.0f} s."
                )
            )
        else:
            self.stdout.write(f"The synthetic benchmark practice for {n:,} patients is already built; nothing changed.")
        self.stdout.write(
            f"Staff: {scale.OWNER}, {scale.THERAPIST}, {scale.FRONTDESK}, {scale.BILLING}, bench-pract-02 to "
            f"bench-pract-50; password {demo_data.DEMO_PASSWORD}. "
            f"Bench day {scale.BENCH_DAY} at {scale.BENCH_LOCATION}."
        )
        self.stdout.write("Every record is synthetic benchmark data: never enter real patient data here.")

    @staticmethod
    def _logins_table() -> str:
        rows = [("Role", "Username", "Password")]
        rows += [(m.role.label, m.username, demo_data.DEMO_PASSWORD) for m in demo_data.STAFF]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(lines)
