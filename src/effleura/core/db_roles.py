"""The two PostgreSQL roles Effleura should run with (docs/configuration.md, decision 0017).

- The **owner** role owns every table, sequence and trigger function: `effleura migrate`
  connects as it.
- The **app** role, which the web server and the worker connect as, owns nothing. It may
  read and write the tables, but on the audit tables (events and seals) only read and
  add. Not owning them, it cannot ALTER TABLE ... DISABLE TRIGGER, drop a trigger, or
  TRUNCATE: the append-only triggers hold against the application's own credentials.

roles_sql() is idempotent: run it again after every upgrade's migrate (it hands new
tables to the owner and takes back any right on the audit tables a default gave).
"""

import re

APPEND_ONLY_TABLES = ("core_auditevent", "core_auditseal")
DEFAULT_OWNER = "effleura_owner"
DEFAULT_APP = "effleura_app"
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class RoleNameError(ValueError):
    pass


def _role(name: str) -> str:
    if not _ROLE_NAME.fullmatch(name):
        raise RoleNameError(f"{name!r} is not a role name we accept: lower-case letters, digits and _ only.")
    return name


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def roles_sql(database: str, owner: str = DEFAULT_OWNER, app: str = DEFAULT_APP) -> str:
    """The SQL, to run as a superuser (or the database's current owner) in ``database``."""
    owner, app = _role(owner), _role(app)
    if owner == app:
        raise RoleNameError("The owner and the app role must be two different roles.")
    db = _quoted(database)
    tables = ", ".join(APPEND_ONLY_TABLES)
    limits = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    return f"""-- Effleura's PostgreSQL roles (docs/configuration.md). Run as a superuser; safe to repeat.
DO $$ BEGIN
    IF '{app}' = session_user THEN
        RAISE EXCEPTION 'connect as a superuser, not as the app role {app}, to set up the roles';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{owner}') THEN CREATE ROLE {owner} LOGIN {limits}; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{app}') THEN CREATE ROLE {app} LOGIN {limits}; END IF;
END $$;
-- The app role never has more, even if it existed before.
ALTER ROLE {app} {limits};
GRANT CONNECT ON DATABASE {db} TO {owner}, {app};
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO {owner};
GRANT USAGE ON SCHEMA public TO {app};
REVOKE CREATE ON SCHEMA public FROM {app};

-- The owner owns every table (and with it the tables' sequences) and the trigger functions.
DO $$ DECLARE item record; BEGIN
    FOR item IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
        EXECUTE format('ALTER TABLE public.%I OWNER TO {owner}', item.tablename);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'public' AND p.proname LIKE 'effleura%' LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO {owner}', item.fn);
    END LOOP;
END $$;

-- The app reads and writes, owns nothing; on the audit tables it only reads and adds.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app};
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {tables} FROM {app};
-- Tables that later migrations create get the same rights (run this again after each
-- upgrade, so a new or rebuilt audit table loses UPDATE and DELETE again).
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app};

-- Then give each role a password (psql: \\password {owner}, \\password {app}) or let them in
-- by pg_hba.conf, and:
--   migrate as the owner:  EFFLEURA_DATABASE_URL=postgresql://{owner}:PASSWORD@HOST/DB effleura migrate
--   run as the app role:   EFFLEURA_DATABASE_URL=postgresql://{app}:PASSWORD@HOST/DB (server and worker)
"""  # noqa: S608 (role names pass _role(); the database name is quoted)
