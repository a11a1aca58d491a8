"""Configuration: typed environment helpers that fail fast, and a deployable HTTPS mode."""

import json
import os
import secrets
import subprocess
import sys

import pytest

from effleura import env


def _effleura(tmp_path, *args, **environ):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EFFLEURA_")}
    clean.update({"EFFLEURA_VAR_DIR": str(tmp_path), **environ})
    return subprocess.run(
        [sys.executable, "-m", "effleura.cli", *args], env=clean, capture_output=True, text=True, timeout=120
    )


def test_it_reads_booleans_in_the_usual_spellings(monkeypatch):
    for raw, expected in [("true", True), ("1", True), ("Yes", True), ("off", False), ("0", False)]:
        monkeypatch.setenv("EFFLEURA_X", raw)
        assert env.envbool("EFFLEURA_X", not expected) is expected


def test_it_refuses_a_malformed_boolean(monkeypatch):
    monkeypatch.setenv("EFFLEURA_X", "maybe")
    with pytest.raises(env.ConfigError, match="EFFLEURA_X must be true or false"):
        env.envbool("EFFLEURA_X", False)


def test_it_refuses_a_malformed_or_too_small_number(monkeypatch):
    monkeypatch.setenv("EFFLEURA_N", "ten")
    with pytest.raises(env.ConfigError, match="whole number"):
        env.envint("EFFLEURA_N", 1)
    monkeypatch.setenv("EFFLEURA_N", "-3")
    with pytest.raises(env.ConfigError, match="at least 0"):
        env.envint("EFFLEURA_N", 1, minimum=0)


def test_it_splits_lists_on_commas(monkeypatch):
    monkeypatch.setenv("EFFLEURA_HOSTS", " a.example , b.example,,")
    assert env.envlist("EFFLEURA_HOSTS", []) == ["a.example", "b.example"]


def test_debug_is_off_by_default():
    from django.conf import settings

    assert settings.DEBUG is False


def test_passwords_are_hashed_with_argon2_by_default():
    from effleura import settings as effleura_settings

    assert effleura_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_the_https_mode_passes_the_deploy_check_without_warnings(tmp_path):
    result = _effleura(
        tmp_path,
        "check",
        "--deploy",
        EFFLEURA_HTTPS="true",
        EFFLEURA_SECRET_KEY=secrets.token_urlsafe(64),
        EFFLEURA_ALLOWED_HOSTS="clinic.example.org",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr + result.stdout


def test_a_bad_setting_stops_the_start_with_a_clear_message(tmp_path):
    result = _effleura(tmp_path, "check", EFFLEURA_DEBUG="maybe")
    assert result.returncode == 2
    assert "EFFLEURA_DEBUG must be true or false" in result.stderr
    result = _effleura(tmp_path, "check", EFFLEURA_DATABASE_URL="mysql://db/effleura")
    assert result.returncode == 2
    assert "EFFLEURA_DATABASE_URL" in result.stderr


def test_a_secret_key_is_generated_once_and_kept(tmp_path):
    assert _effleura(tmp_path, "check").returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert _effleura(tmp_path, "check").returncode == 0
    assert (tmp_path / "secret_key").read_text() == key


# The database connection (docs/deployment.md, decision 0029) ---------------------------------

_SHOW_DATABASE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "db = settings.DATABASES['default']; "
    "print(json.dumps({k: db.get(k) for k in ('ENGINE', 'CONN_MAX_AGE', 'CONN_HEALTH_CHECKS', "
    "'DISABLE_SERVER_SIDE_CURSORS')} | {'OPTIONS': db.get('OPTIONS', {})}, default=str))"
)
_PG = "postgresql://effleura_app@db.example.test:5432/effleura"


def _database_settings(tmp_path, **environ) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EFFLEURA_")}
    clean.update({"EFFLEURA_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "effleura.settings", **environ})
    result = subprocess.run(
        [sys.executable, "-c", _SHOW_DATABASE], env=clean, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_kept_connections_are_checked_before_each_reuse_unless_turned_off(tmp_path):
    kept = _database_settings(tmp_path, EFFLEURA_DATABASE_URL=_PG, EFFLEURA_DB_CONN_MAX_AGE="60")
    assert (kept["CONN_MAX_AGE"], kept["CONN_HEALTH_CHECKS"]) == (60, True)
    unchecked = _database_settings(
        tmp_path, EFFLEURA_DATABASE_URL=_PG, EFFLEURA_DB_CONN_MAX_AGE="60", EFFLEURA_DB_CONN_HEALTH_CHECKS="false"
    )
    assert (unchecked["CONN_MAX_AGE"], unchecked["CONN_HEALTH_CHECKS"]) == (60, False)
    default = _database_settings(tmp_path)
    assert default["CONN_MAX_AGE"] == 0  # a connection per request, as before


def test_a_negative_connection_age_or_a_malformed_check_stops_the_start(tmp_path):
    result = _effleura(tmp_path, "check", EFFLEURA_DB_CONN_MAX_AGE="-1")
    assert result.returncode == 2
    assert "EFFLEURA_DB_CONN_MAX_AGE must be at least 0" in result.stderr
    result = _effleura(tmp_path, "check", EFFLEURA_DB_CONN_HEALTH_CHECKS="sometimes")
    assert result.returncode == 2
    assert "EFFLEURA_DB_CONN_HEALTH_CHECKS must be true or false" in result.stderr


def test_behind_pgbouncer_no_cursor_or_prepared_statement_outlives_its_transaction(tmp_path):
    # An address asking for prepared statements does not get them behind the pooler.
    pooled = _database_settings(
        tmp_path, EFFLEURA_DATABASE_URL=_PG + "?prepare_threshold=5", EFFLEURA_DB_POOLER="PgBouncer"
    )
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert pooled["OPTIONS"]["prepare_threshold"] is None
    direct = _database_settings(tmp_path, EFFLEURA_DATABASE_URL=_PG)
    assert direct["DISABLE_SERVER_SIDE_CURSORS"] is False
    assert "prepare_threshold" not in direct["OPTIONS"]  # Django's own default: none


def test_a_pooler_is_refused_for_sqlite_and_when_unknown(tmp_path):
    result = _effleura(tmp_path, "check", EFFLEURA_DB_POOLER="pgbouncer")
    assert result.returncode == 2
    assert "EFFLEURA_DB_POOLER=pgbouncer needs a postgresql://" in result.stderr
    result = _effleura(tmp_path, "check", EFFLEURA_DATABASE_URL=_PG, EFFLEURA_DB_POOLER="pgpool")
    assert result.returncode == 2
    assert "EFFLEURA_DB_POOLER must be pgbouncer or none, not 'pgpool'" in result.stderr
