"""Database administration (docs/configuration.md).

    effleura db roles [--owner NAME] [--app NAME]           prints the SQL that makes the two roles
    effleura db roles [--owner NAME] [--app NAME] --apply   runs it (connected as a superuser)

PostgreSQL only: see core/db_roles.py for what the roles may do.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from effleura.core import db_roles


class Command(BaseCommand):
    help = "Database administration: the PostgreSQL roles to migrate and to run Effleura as."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{roles}")
        roles = sub.add_parser(
            "roles", help="Print (or --apply) the SQL for an owner role and a least-privilege app role."
        )
        roles.add_argument(
            "--owner", default=db_roles.DEFAULT_OWNER, help="The role that owns the tables and migrates."
        )
        roles.add_argument("--app", default=db_roles.DEFAULT_APP, help="The role the server and worker connect as.")
        roles.add_argument("--apply", action="store_true", help="Run the SQL now, as the configured database user.")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                "Database roles are for PostgreSQL: EFFLEURA_DATABASE_URL points at SQLite, where the "
                "database is a file and its protection is the file's permissions."
            )
        try:
            sql = db_roles.roles_sql(connection.settings_dict["NAME"], options["owner"], options["app"])
        except db_roles.RoleNameError as exc:
            raise CommandError(str(exc)) from None
        if not options["apply"]:
            self.stdout.write(sql)
            return
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params=None)
        self.stdout.write(
            f"Roles {options['owner']} (owns the tables; migrate as it) and {options['app']} "
            "(run the server and the worker as it) are set up."
        )
