"""Personal API tokens from the command line, for scripts and integrations.

    effleura token create --user USERNAME [--name NAME] [--read-only]
                                                           prints the token, once, and
                                                           when it expires
    effleura token list [--user USERNAME]                  never prints tokens, only hints
    effleura token revoke TOKEN_ID                         the id shown by `list`

Creating and revoking go through core.actions, so they are audited like the profile
page's buttons; the audit trail's client address says "cli".
"""

import uuid

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from effleura.core import actions, audit, clock
from effleura.core.models import ApiToken, User


class Command(BaseCommand):
    help = "Create, list and revoke personal API tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = sub.add_parser("create", help="Create a token for a user and print it once.")
        create.add_argument("--user", required=True, help="The username the token signs in as.")
        create.add_argument("--name", default="command line", help="A name to recognise the token by.")
        create.add_argument(
            "--read-only", action="store_true", help="The token may only read (GET), never change anything."
        )
        listing = sub.add_parser("list", help="List tokens (their hints, never the tokens).")
        listing.add_argument("--user", help="Only this user's tokens.")
        revoke = sub.add_parser("revoke", help="Revoke a token; programs using it can no longer sign in.")
        revoke.add_argument("token_id", help="The token's id, as shown by `token list`.")

    def handle(self, *args, **options):
        reset = audit.client_address.set("cli")
        try:
            getattr(self, f"_{options['action']}")(options)
        finally:
            audit.client_address.reset(reset)

    def _create(self, options):
        user = _user(options["user"])
        if not user.is_active:
            raise CommandError(f"User {user.username!r} is not active; reactivate them first.")
        try:
            token, raw = actions.do_create_api_token(user, options["name"], read_only=options["read_only"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if not user.role:
            self.stderr.write(f"Warning: {user.username!r} has no role yet, so the token reaches no records.")
        access = "read-only, " if token.read_only else ""
        self.stderr.write(
            f"Token {token.public_id} “{token.name}” for {user.username} ({access}expires "
            f"{clock.stamp(token.expires_at)}). It is shown only once:"
        )
        self.stdout.write(raw)

    def _list(self, options):
        tokens = ApiToken.objects.select_related("user").order_by("user__username", "-created_at")
        if options["user"]:
            tokens = tokens.filter(user=_user(options["user"]))
        for token in tokens:  # in the practice's zone, as on the profile page
            if token.revoked_at:
                state = f"revoked {clock.local(token.revoked_at):%Y-%m-%d}"
            else:
                state = "expired" if token.is_expired else "active"
            if token.read_only:
                state += ", read-only"
            used = clock.stamp(token.last_used_at) if token.last_used_at else "never"
            self.stdout.write(
                f"{token.public_id}  {token.hint}…  {token.user.username}  “{token.name}”  "
                f"created {clock.local(token.created_at):%Y-%m-%d}  expires {clock.stamp(token.expires_at)}  "
                f"last used {used}  {state}"
            )

    def _revoke(self, options):
        try:
            token_id = uuid.UUID(options["token_id"])
        except ValueError:
            raise CommandError("Give the token's id as shown by `effleura token list`.") from None
        token = ApiToken.objects.filter(public_id=token_id).select_related("user").first()
        if token is None:
            raise CommandError(f"No token with id {token_id}.")
        if token.revoked_at is not None:
            raise CommandError(f"Token {token_id} was already revoked.")
        # Whoever runs the command has the server's shell, not an account: the event has
        # no actor, and its client address "cli" says where it came from.
        actions.do_revoke_api_token(AnonymousUser(), token)
        self.stdout.write(f"Revoked token {token_id} “{token.name}” of {token.user.username}.")


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user named {username!r}.")
    return user
