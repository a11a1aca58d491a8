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

from effleura.env import ConfigError, envbool, envint, envlist, envstr

SRC_DIR = Path(__file__).resolve().parent
BASE_DIR = Path(envstr("EFFLEURA_HOME", str(SRC_DIR.parent.parent))).resolve()
VAR_DIR = Path(envstr("EFFLEURA_VAR_DIR", str(BASE_DIR / "var"))).resolve()


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
        return key_file.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(64)
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
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files are public and cacheable), before everything that can
    # answer on its own, so no response of ours escapes the policy and no-store.
    "csp.middleware.CSPMiddleware",
    "effleura.core.middleware.BrowserProtectionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "effleura.core.middleware.ApiTokenMiddleware",
    "effleura.core.middleware.PracticeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "effleura.core.middleware.HandoverMiddleware",
    "effleura.core.middleware.PermissionMiddleware",
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
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=envint("EFFLEURA_DB_CONN_MAX_AGE", 0))
except ValueError as exc:
    raise ConfigError(f"EFFLEURA_DATABASE_URL is not a database address we understand: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers proceed while one writer writes; IMMEDIATE takes the write lock
    # at BEGIN so two writers queue instead of failing half-way with "database is locked".
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
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
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes (core/signin.py): the 5th wrong password for an account within 15 minutes
# locks it for 15 minutes from that failure; issue 12 item 1 refines this.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "effleura.core.signin.client_address"
AXES_VERBOSE = False
# axes' W006 asks for the address in AXES_LOCKOUT_PARAMETERS: the per-address limit is a
# separate, higher one (core/signin.py), so a clinic behind one address cannot lock itself out.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Passkeys (django-otp-webauthn). WebAuthn binds a passkey to a domain name, never an
# IP address: EFFLEURA_WEBAUTHN_RP_ID is the site's host name, and the allowed origins
# the addresses staff open it at.
OTP_WEBAUTHN_RP_ID = envstr("EFFLEURA_WEBAUTHN_RP_ID", "localhost")
OTP_WEBAUTHN_RP_NAME = envstr("EFFLEURA_PRACTICE_NAME", "Effleura Clinic")
OTP_WEBAUTHN_ALLOWED_ORIGINS = envlist("EFFLEURA_WEBAUTHN_ORIGINS", ["http://localhost:8000"])
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"
SESSION_COOKIE_AGE = envint("EFFLEURA_SESSION_MINUTES", 12 * 60, minimum=5) * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Security ------------------------------------------------------------------
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

# Email ---------------------------------------------------------------------
EMAIL_BACKEND = envstr("EFFLEURA_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = envstr("EFFLEURA_EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EFFLEURA_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = envstr("EFFLEURA_EMAIL_USER")
EMAIL_HOST_PASSWORD = envstr("EFFLEURA_EMAIL_PASSWORD")
EMAIL_USE_TLS = envbool("EFFLEURA_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = envstr("EFFLEURA_EMAIL_FROM", "Effleura <no-reply@localhost>")

# Background tasks ----------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": envstr("EFFLEURA_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

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
        # django-axes logs every sign-in; the audit trail already records them.
        "axes": {"level": "WARNING"},
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
