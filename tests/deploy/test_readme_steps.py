"""README's "Running it for real", followed as written on a fresh var/ (SQLite): after its
commands the site answers 200, the first owner reaches the Staff page, the style sheets
are served and the worker runs. Once, every page answered 500 (no `collectstatic`), and
the superuser the README made had no role, so it could open no page but the home page."""

import re
import secrets
import shlex
import subprocess
from pathlib import Path

import pytest
from django.db import connection
from live_servers import EFFLEURA, Browser, clean_environment, free_port, healthy, start_gunicorn, stop, wait_until

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_steps() -> list[list[str]]:
    """The commands of the section's shell block, without their comments."""
    section = README.read_text().split("## Running it for real", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True) for line in block.splitlines() if shlex.split(line, comments=True)]


def test_the_steps_migrate_and_collect_the_static_files_before_the_server_starts():
    names = [" ".join(step[:2]) if step[0] == "effleura" else step[0] for step in readme_steps()]
    assert names.index("effleura migrate") < names.index("gunicorn")
    assert names.index("effleura collectstatic") < names.index("gunicorn")
    assert "effleura createsuperuser" in names and "effleura worker" in names


@pytest.mark.skipif(connection.vendor != "sqlite", reason="followed once, on the embedded default")
def test_following_the_steps_on_a_fresh_installation_gives_a_working_site(tmp_path):
    password = secrets.token_urlsafe(18)
    env = clean_environment(tmp_path / "var", DJANGO_SUPERUSER_PASSWORD=password)
    server = None
    log = (tmp_path / "gunicorn.log").open("wb")
    try:
        for step in readme_steps():
            if step[0] == "gunicorn":
                bind = step.index("--bind")
                port = free_port()
                assert step[bind + 1] == "127.0.0.1:8000"  # the guide binds to this machine only
                workers = int(step[step.index("--workers") + 1]) if "--workers" in step else 1
                server = start_gunicorn(env, port, log, workers=workers)
                base = f"http://127.0.0.1:{port}"
                wait_until(lambda base=base: healthy(base), "gunicorn", processes=[server])
                continue
            assert step[0] == "effleura", step
            args = step[1:]
            if args[0] == "createsuperuser":  # what a person types, given on the command line
                args += ["--noinput", "--username", "owner", "--email", "owner@example.test"]
            if args[0] == "worker":  # the service runs for ever; --batch does what is due and ends
                args += ["--batch"]
            done = subprocess.run([EFFLEURA, *args], env=env, capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, f"{step}: {done.stdout}\n{done.stderr}"
        assert server is not None
        owner = Browser()
        owner.sign_in(base, "owner", password)
        status, _, home = owner.request(base + "/")
        assert status == 200
        assert owner.request(base + "/staff/")[0] == 200
        sheet = re.search(r'<link[^>]+href="(/static/[^"]+\.css)"', home).group(1)
        assert Browser().request(base + sheet)[0] == 200
    finally:
        stop(server)
        log.close()
    assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()
