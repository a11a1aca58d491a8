"""Django settings, read from EFFLEURA_* environment variables (docs/configuration.md).

Defaults are safe: DEBUG is off, and the embedded SQLite database and a generated
secret key live in var/ so that `make run` works on a fresh machine.
"""

import datetime
import re
import secrets
import zoneinfo
from pathlib import Path

import dj_database_url

from effleura import storage_permissions
from effleura.env import ConfigError, envbool, envint, envlist, envstr

SRC_DIR = Path(__file__).resolve().parent
BASE_DIR = Path(envstr("EFFLEURA_HOME", str(SRC_DIR.parent.parent))).resolve()
VAR_DIR = Path(envstr("EFFLEURA_VAR_DIR", str(BASE_DIR / "var"))).resolve()
# Whatever started us (effleura, gunicorn, a test runner): files written from here on are
# the owner's only, and var/ with its database and keys is tightened if an older
# installation left it readable to others (effleura/storage_permissions.py).
storage_permissions.restrict_umask()
storage_permissions.secure_var_dir(VAR_DIR)


def _key(env_name: str, file_name: str) -> str:
    """A key from the environment, or else kept in var/ (generated once per installation,
    readable by the owner only), so sessions and seals survive a restart."""
    key = envstr(env_name)
    if key:
        if len(key) < 50:
            raise ConfigError(f"{env_name} must be at least 50 characters long.")
        return key
    key_file = VAR_DIR / file_name
    if key_file.exists():
        with storage_permissions.owned(key_file, "read"):
            return key_file.read_text().strip()
    storage_permissions.make_private_dir(VAR_DIR)
    key = secrets.token_urlsafe(64)
    with storage_permissions.owned(key_file, "write"):
        key_file.write_text(key)
        key_file.chmod(0o600)
    return key


SECRET_KEY = _key("EFFLEURA_SECRET_KEY", "secret_key")
# Seals the audit trail and keys the hashes of unknown account names in it (core/audit.py).
# Separate from SECRET_KEY so either can be rotated alone (docs/security.md).
EFFLEURA_AUDIT_KEY = _key("EFFLEURA_AUDIT_KEY", "audit_key")
DEBUG = envbool("EFFLEURA_DEBUG", False)
HTTPS = envbool("EFFLEURA_HTTPS", False)
ALLOWED_HOSTS = envlist("EFFLEURA_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = envlist("EFFLEURA_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    # Sign-in that resists attack (docs/decisions/0014, 0015): lockout, second factors, passkeys.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    # The Content-Security-Policy header (docs/decisions/0016); the app registers its checks.
    "csp",
    "effleura.core",
    "effleura.patients",
    "effleura.scheduling",
    "effleura.clinical",
    "effleura.referrals",
    "effleura.billing",
    "effleura.documents",
    "effleura.api",
    "effleura.demo",
]

MIDDLEWARE = [
    # First: /healthz answers the load balancer before any host check, HTTPS redirect,
    # session or audit (core/health.py, docs/decisions/0029).
    "effleura.core.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files are public and cacheable), before everything that can
    # answer on its own, so no response of ours escapes the policy and no-store.
    "csp.middleware.CSPMiddleware",
    "effleura.core.middleware.BrowserProtectionMiddleware",
    # Before anything reads a body (none of the above does): refuses one over
    # EFFLEURA_MAX_UPLOAD_MB unread, and its 413 still carries the CSP and no-store.
    "effleura.core.request_size.RequestSizeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "effleura.core.middleware.ApiTokenMiddleware",
    "effleura.core.middleware.PracticeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages (it says why the session ended), before the permission gate.
    "effleura.core.idle.IdleLogoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "effleura.core.middleware.HandoverMiddleware",
    "effleura.core.middleware.PermissionMiddleware",
    "effleura.core.middleware.SecondFactorEnrolmentMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "effleura.urls"
WSGI_APPLICATION = "effleura.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "effleura.core.context_processors.effleura",
            ],
        },
    },
]

# Database ------------------------------------------------------------------
DATABASE_URL = envstr("EFFLEURA_DATABASE_URL", f"sqlite:///{VAR_DIR / 'effleura.sqlite3'}")
# Persistent connections (docs/deployment.md): kept this many seconds for reuse, and, when
# kept, checked at the start of each request, so a database (or PgBouncer) restarted under
# a server costs a reconnect instead of a failed page. With 0 (a connection per request)
# the check never runs.
try:
    _db = dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=envint("EFFLEURA_DB_CONN_MAX_AGE", 0, minimum=0),
        conn_health_checks=envbool("EFFLEURA_DB_CONN_HEALTH_CHECKS", True),
    )
except ValueError as exc:
    raise ConfigError(f"EFFLEURA_DATABASE_URL is not a database address we understand: {exc}") from None
# A connection pooler between Effleura and PostgreSQL (docs/decisions/0029): "pgbouncer"
# (transaction pooling) sets what it requires.
DB_POOLER = envstr("EFFLEURA_DB_POOLER").strip().lower()
if DB_POOLER not in ("", "none", "pgbouncer"):
    raise ConfigError(f"EFFLEURA_DB_POOLER must be pgbouncer or none, not {DB_POOLER!r}.")
SQLITE_SYNCHRONOUS = envstr("EFFLEURA_SQLITE_SYNCHRONOUS", "FULL").strip().upper()
if SQLITE_SYNCHRONOUS not in ("FULL", "EXTRA", "NORMAL"):
    raise ConfigError(f"EFFLEURA_SQLITE_SYNCHRONOUS must be FULL, EXTRA or NORMAL, not {SQLITE_SYNCHRONOUS!r}.")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] and _db["NAME"] != ":memory:":
        storage_permissions.make_private_dir(Path(_db["NAME"]).parent)
        storage_permissions.tighten_sqlite_files(Path(_db["NAME"]))
    # WAL lets readers proceed while one writer writes; IMMEDIATE takes the write lock
    # at BEGIN so two writers queue instead of failing half-way with "database is locked".
    # synchronous=FULL syncs the WAL at every commit, so an acknowledged write survives a
    # power cut, not only a crash of the process (NORMAL risks the last commits).
    _db["OPTIONS"] = {
        "init_command": f"PRAGMA journal_mode=WAL; PRAGMA synchronous={SQLITE_SYNCHRONOUS}; "
        "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif _db["ENGINE"] not in (
    "django.db.backends.postgresql",
    "django.db.backends.postgresql_psycopg2",
):
    raise ConfigError("EFFLEURA_DATABASE_URL must be a sqlite:/// or postgresql:// address.")
else:
    _db["ENGINE"] = "django.db.backends.postgresql"
    if DB_POOLER == "pgbouncer":
        # In transaction pooling each transaction may run on another server connection:
        # a cursor kept open across transactions (Django's iterator() outside atomic()
        # declares one WITH HOLD) would be looked for on the wrong one, and so would a
        # prepared statement. Django leaves prepared statements off unless asked; keep
        # them off whatever the address's options say.
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True
        _db.setdefault("OPTIONS", {})["prepare_threshold"] = None
if DB_POOLER == "pgbouncer" and _db["ENGINE"] != "django.db.backends.postgresql":
    raise ConfigError("EFFLEURA_DB_POOLER=pgbouncer needs a postgresql:// EFFLEURA_DATABASE_URL.")
_db["ATOMIC_REQUESTS"] = False
_db.setdefault("TEST", {})
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Auth ----------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
# django-axes' backend goes first: it refuses a locked account before the password is
# even checked (core/signin.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # zzzzzzzzzzzz and abababababab are long enough but guessed at once (core/passwords.py).
    {"NAME": "effleura.core.passwords.RepeatedCharacterValidator"},
]
# Sign-in lockout (core/lockout.py, docs/security.md, decision 0014): the 5th failure for
# an account within 15 minutes locks it for 15 minutes from that failure; the 50th from
# one client address within 15 minutes pauses sign-in from that address alike.
EFFLEURA_LOCKOUT_MINUTES = envint("EFFLEURA_LOCKOUT_MINUTES", 15, minimum=1)
EFFLEURA_LOCKOUT_ACCOUNT_FAILURES = envint("EFFLEURA_LOCKOUT_ACCOUNT_FAILURES", 5, minimum=1)
EFFLEURA_LOCKOUT_ADDRESS_FAILURES = envint("EFFLEURA_LOCKOUT_ADDRESS_FAILURES", 50, minimum=1)
# django-axes applies it: its handler asks core/lockout.py, which answers AXES_FAILURE_LIMIT
# when a lock (of either kind) is in force. Its tables hold keyed hashes of the names typed.
# Care-team access (core/careteam.py): how long a stated reason opens another patient's chart.
EFFLEURA_BREAK_GLASS_MINUTES = envint("EFFLEURA_BREAK_GLASS_MINUTES", 60, minimum=1)
AXES_HANDLER = "effleura.core.lockout.LockoutHandler"
AXES_FAILURE_LIMIT = 1
AXES_COOLOFF_TIME = datetime.timedelta(minutes=EFFLEURA_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_DISABLE_ACCESS_LOG = True  # the audit trail records every sign-in
AXES_USERNAME_CALLABLE = "effleura.core.lockout.username_key"
AXES_CLIENT_IP_CALLABLE = "effleura.core.signin.client_address"
AXES_LOCKOUT_CALLABLE = "effleura.core.signin.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# What axes stores of a failed attempt's POST (AccessAttempt.post_data): every field that
# holds a secret is masked, not only the password: the second-factor and Profile forms'
# codes and passwords (core/mfa_views.py, their form prefixes) and the CSRF token.
AXES_SENSITIVE_PARAMETERS = [
    "username",
    "ip_address",
    "csrfmiddlewaretoken",
    "code",
    "totp-code",
    "recovery-code",
    "confirm-code",
    "remove-code",
    "remove-password",
    "prove-password",
    "old_password",
    "new_password1",
    "new_password2",
]
# axes' W006 asks for the address in AXES_LOCKOUT_PARAMETERS: the per-address limit is a
# separate, higher one (core/lockout.py), so a clinic behind one address cannot lock itself out.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Passkeys (django-otp-webauthn). WebAuthn binds a passkey to a domain name, never an
# IP address: EFFLEURA_WEBAUTHN_RP_ID is the site's host name, and the allowed origins
# the addresses staff open it at.
OTP_WEBAUTHN_RP_ID = envstr("EFFLEURA_WEBAUTHN_RP_ID", "localhost")
OTP_WEBAUTHN_RP_NAME = envstr("EFFLEURA_PRACTICE_NAME", "Effleura Clinic")
OTP_WEBAUTHN_ALLOWED_ORIGINS = envlist("EFFLEURA_WEBAUTHN_ORIGINS", ["http://localhost:8000"])
# A passkey alone (discoverable, with the device's own PIN or fingerprint) signs in.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = True
# py_webauthn's refusals go to this logger; they name no patient and no secret.
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = "effleura.passkeys"
# Authenticator apps (django-otp's TOTP): the name the app shows next to the account, and
# a growing pause after wrong codes (1 s, 2 s, 4 s ...) on top of the account lockout.
OTP_TOTP_ISSUER = envstr("EFFLEURA_PRACTICE_NAME", "Effleura Clinic")
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"
# A reset link is good for one hour (Django's default is three days).
PASSWORD_RESET_TIMEOUT = 3600
# Automatic logoff (core/idle.py): a session ends after EFFLEURA_IDLE_LOGOUT_MINUTES without
# a request, and EFFLEURA_SESSION_MINUTES after signing in whatever the activity.
SESSION_COOKIE_AGE = envint("EFFLEURA_SESSION_MINUTES", 12 * 60, minimum=5) * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
EFFLEURA_IDLE_LOGOUT_MINUTES = envint("EFFLEURA_IDLE_LOGOUT_MINUTES", 15, minimum=2)
if EFFLEURA_IDLE_LOGOUT_MINUTES * 60 > SESSION_COOKIE_AGE:
    raise ConfigError("EFFLEURA_IDLE_LOGOUT_MINUTES must not be longer than EFFLEURA_SESSION_MINUTES.")
# Personal API tokens expire this many days after they are made (core/models.py ApiToken).
EFFLEURA_API_TOKEN_DAYS = envint("EFFLEURA_API_TOKEN_DAYS", 90, minimum=1)
# Password reset requests (core/passwords.py), counted from the audit trail over the window:
# at most this many per client address and per account; beyond, no email is sent.
EFFLEURA_PASSWORD_RESET_WINDOW_MINUTES = envint("EFFLEURA_PASSWORD_RESET_WINDOW_MINUTES", 60, minimum=1)
EFFLEURA_PASSWORD_RESET_PER_ADDRESS = envint("EFFLEURA_PASSWORD_RESET_PER_ADDRESS", 5, minimum=1)
EFFLEURA_PASSWORD_RESET_PER_ACCOUNT = envint("EFFLEURA_PASSWORD_RESET_PER_ACCOUNT", 3, minimum=1)

# Security ------------------------------------------------------------------
# The largest request accepted (core/request_size.py): refused with 413 from its declared
# length, before it is read; a body without a length is read no further than this. A
# body that is not a file upload (a form, API JSON) may hold at most 2.5 MB, in memory;
# an uploaded file over FILE_UPLOAD_MAX_MEMORY_SIZE goes to a temporary file (0600).
EFFLEURA_MAX_UPLOAD_MB = envint("EFFLEURA_MAX_UPLOAD_MB", 25, minimum=1)
EFFLEURA_MAX_UPLOAD_BYTES = EFFLEURA_MAX_UPLOAD_MB * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = min(2_621_440, EFFLEURA_MAX_UPLOAD_BYTES)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# A strict policy (docs/decisions/0016): our own static files only, nothing inline, no
# plug-ins, no framing, forms post to ourselves. data: images are the SVG icons and
# Chart.js's exported images; nothing else needs them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
# Features no page of ours uses are switched off for every page (core/middleware.py);
# passkeys (WebAuthn) are allowed for our own pages only.
PERMISSIONS_POLICY = {
    "camera": "()",
    "microphone": "()",
    "geolocation": "()",
    "payment": "()",
    "usb": "()",
    "publickey-credentials-get": "(self)",
    "publickey-credentials-create": "(self)",
}
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # __Host- cookies: the browser keeps them only if Secure, for "/" and without a
    # Domain, so neither a sibling subdomain nor plain http can set or shadow them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SESSION_COOKIE_PATH = "/"
    CSRF_COOKIE_PATH = "/"
    SESSION_COOKIE_DOMAIN = None
    CSRF_COOKIE_DOMAIN = None
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = envint("EFFLEURA_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("EFFLEURA_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("EFFLEURA_HSTS_PRELOAD", True)

# Internationalisation ------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("EFFLEURA_TIME_ZONE", "UTC")
if TIME_ZONE not in zoneinfo.available_timezones():
    raise ConfigError(f"EFFLEURA_TIME_ZONE {TIME_ZONE!r} is not a known time zone, e.g. America/Chicago.")
USE_I18N = True
USE_TZ = True

# Static files --------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing one
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
# Uploaded files (scanned referrals) are the owner's only, whatever the umask.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Backups (docs/backup.md): the key file `effleura backup`/`restore` use when no --key-file
# is given, and where pg_dump/pg_restore are when they should not be looked for.
EFFLEURA_BACKUP_KEY_FILE = envstr("EFFLEURA_BACKUP_KEY_FILE")
EFFLEURA_PG_BIN_DIR = envstr("EFFLEURA_PG_BIN_DIR")

# Email ---------------------------------------------------------------------
EMAIL_BACKEND = envstr("EFFLEURA_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = envstr("EFFLEURA_EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EFFLEURA_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = envstr("EFFLEURA_EMAIL_USER")
EMAIL_HOST_PASSWORD = envstr("EFFLEURA_EMAIL_PASSWORD")
EMAIL_USE_TLS = envbool("EFFLEURA_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = envstr("EFFLEURA_EMAIL_FROM", "Effleura <no-reply@localhost>")
# Seconds to wait on the mail server for each step; a server that accepts and never
# answers fails the email job instead of holding the worker for ever.
EMAIL_TIMEOUT = envint("EFFLEURA_EMAIL_TIMEOUT", 20, minimum=1)

# Background tasks ----------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": envstr("EFFLEURA_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
# A worker renews the lease of the job it runs every third of this; a RUNNING job whose
# lease is older (its worker died) is taken back and run again, at most
# EFFLEURA_TASK_MAX_ATTEMPTS times in all (core/leases.py).
EFFLEURA_TASK_LEASE_SECONDS = envint("EFFLEURA_TASK_LEASE_SECONDS", 300, minimum=1)
EFFLEURA_TASK_MAX_ATTEMPTS = envint("EFFLEURA_TASK_MAX_ATTEMPTS", 3, minimum=1)
# Finished jobs are deleted after this many hours; jobs whose arguments carry a secret
# (a password-reset link) as soon as they finish (core/leases.py).
EFFLEURA_FINISHED_JOB_HOURS = envint("EFFLEURA_FINISHED_JOB_HOURS", 24, minimum=0)

# Logging: never patient data. Request bodies and query strings are not logged.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("EFFLEURA_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django logs the URL of every 4xx/5xx; our URLs carry opaque ids only.
        "django.request": {"level": "ERROR"},
        # django-axes logs every failed sign-in and lockout; the audit trail records them.
        "axes": {"level": "ERROR"},
    },
}

EFFLEURA_PRACTICE_NAME = envstr("EFFLEURA_PRACTICE_NAME", "Effleura Clinic")
# Demo data is synthetic; while any is loaded every page says so.
EFFLEURA_API_PAGE_SIZE = 50
# Phone numbers typed without +country code are read as this country's until the owner
# sets the practice's own (practice settings page).
EFFLEURA_PHONE_REGION = envstr("EFFLEURA_PHONE_REGION", "US").upper()

# Money: every amount is a Decimal in this currency (ISO 4217), stored beside it.
EFFLEURA_CURRENCY = envstr("EFFLEURA_CURRENCY", "USD").upper()
if not re.fullmatch(r"[A-Z]{3}", EFFLEURA_CURRENCY):
    raise ConfigError(f"EFFLEURA_CURRENCY {EFFLEURA_CURRENCY!r} is not a currency code: three letters, e.g. USD.")
