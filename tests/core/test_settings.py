"""Configuration: typed environment helpers that fail fast, and a deployable HTTPS mode."""

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
