"""Many machines, one database (docs/deployment.md): two app servers (gunicorn, 2 worker
processes of 4 threads each) and two `effleura worker` processes share ONE PostgreSQL
database, as a chain's machines do, here as processes on this machine.

The database is the test's own, created in the cluster scripts/with_postgres.py provides,
migrated with `effleura migrate`; every process gets the same EFFLEURA_SECRET_KEY,
EFFLEURA_AUDIT_KEY, database address and var/ settings, as the deployment guide says.
Then, across both servers:

* the 50-way booking race: 50 simultaneous API bookings of the same practitioner and
  slot, every other one to the other server: exactly one is booked (201), the 49 others
  are refused with the conflicting time (409), and the database holds one appointment;
* a session signed in on server A is accepted by server B;
* the confirmation emails those bookings queue are each sent exactly once between the
  two workers (each job claimed by one worker, each email in one worker's output).
"""

import collections
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import dj_database_url
import pytest
from django.conf import settings
from django.db import connection
from django_tasks_db.models import DBTaskResult
from live_servers import (
    Browser,
    api_post,
    clean_environment,
    effleura,
    free_port,
    healthy,
    listening,
    start_gunicorn,
    start_pgbouncer,
    start_worker,
    stop,
    wait_until,
)

from effleura.scheduling.models import Appointment, Notification

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="many machines share one PostgreSQL"),
]

HERE = Path(__file__).resolve().parent
RACERS = 50
LATER = 10  # more bookings, each its own slot: more confirmation jobs for the two workers
SEND = "effleura.scheduling.tasks.send_notification"


def _admin():
    """A connection to the cluster's own database (not the test database), as its superuser."""
    import psycopg

    db = dj_database_url.parse(_cluster_url())
    params = {"dbname": db["NAME"], "user": db["USER"], "host": db["HOST"], "port": db["PORT"]}
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    return psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True)


def _cluster_url() -> str:
    return os.environ["EFFLEURA_DATABASE_URL"]


def _url_of(name: str) -> str:
    parts = urllib.parse.urlsplit(_cluster_url())
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


@pytest.fixture
def chain_database():
    """A database of its own in the test cluster, dropped afterwards: its address."""
    from psycopg import sql

    name = f"effleura_chain_{secrets.token_hex(4)}"
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _url_of(name), name
    finally:
        with _admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _query(name: str, statement: str, *params):
    import psycopg

    db = dj_database_url.parse(_url_of(name))
    with psycopg.connect(dbname=name, user=db["USER"], host=db["HOST"], port=db["PORT"], autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()


def _race(calls):
    """Run every call at once (a thread each, released together): their answers, in order."""
    barrier = threading.Barrier(len(calls), timeout=120)
    answers: list = [None] * len(calls)

    def run(n, call):
        try:
            barrier.wait()
            answers[n] = call()
        except Exception as exc:  # shown by the assertions, not lost in the thread
            answers[n] = (0, {"detail": f"{type(exc).__name__}: {exc}"})

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)
    return answers


def _distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


@pytest.mark.parametrize(
    "route",
    [
        "direct",
        pytest.param(
            "pgbouncer",
            marks=pytest.mark.skipif(shutil.which("pgbouncer") is None, reason="PgBouncer is not installed"),
        ),
    ],
)
def test_two_servers_and_two_workers_on_one_database_book_a_slot_once_and_send_each_email_once(
    chain_database, tmp_path, route
):
    """``route``: the servers and workers connect to PostgreSQL directly, or through one
    PgBouncer in transaction mode with EFFLEURA_DB_POOLER=pgbouncer (docs/deployment.md);
    migrations and the set-up connect directly either way."""
    url, name = chain_database
    password = secrets.token_urlsafe(18)
    # What every machine of the chain shares (docs/deployment.md): the same environment but
    # for its own var/, in which media/ is the one shared volume and static/ the files of
    # the same release (here those the test suite collected; collected now if it did not).
    shared = {
        "EFFLEURA_DATABASE_URL": url,
        "EFFLEURA_SECRET_KEY": secrets.token_urlsafe(64),
        "EFFLEURA_AUDIT_KEY": secrets.token_urlsafe(64),
        "EFFLEURA_TIME_ZONE": "America/Chicago",
        "EFFLEURA_DB_CONN_MAX_AGE": "60",
        "EFFLEURA_TASK_BACKEND": "django_tasks_db.DatabaseBackend",
        "EFFLEURA_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
    }
    static = Path(settings.STATIC_ROOT)
    if not (static / "staticfiles.json").exists():
        effleura(clean_environment(tmp_path / "release", **shared), "collectstatic", "--noinput", "-v", "0")
        static = tmp_path / "release" / "static"
    media = tmp_path / "shared-volume"
    media.mkdir(mode=0o700)
    direct = clean_environment(tmp_path / "admin" / "var", **shared)  # the machine that migrates
    effleura(direct, "migrate", "--noinput", "-v", "0")  # once, from one machine
    made = subprocess.run(
        [sys.executable, str(HERE / "practice_setup.py"), str(RACERS), str(LATER), password],
        env=direct,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert made.returncode == 0, made.stderr
    practice = json.loads(made.stdout.strip().splitlines()[-1])

    logs = {label: tmp_path / f"{label}.log" for label in ("server-a", "server-b", "worker-1", "worker-2")}
    files = {label: path.open("wb") for label, path in logs.items()}
    processes: list[subprocess.Popen] = []
    bouncer_folder = None
    try:
        if route == "pgbouncer":
            cluster = dj_database_url.parse(_cluster_url())
            bouncer_port = free_port()
            bouncer, bouncer_folder = start_pgbouncer(cluster["HOST"], cluster["PORT"], cluster["USER"], bouncer_port)
            processes.append(bouncer)
            wait_until(lambda: listening(bouncer_port), "PgBouncer", processes=[bouncer])
            shared["EFFLEURA_DATABASE_URL"] = f"postgresql://{cluster['USER']}@127.0.0.1:{bouncer_port}/{name}"
            shared["EFFLEURA_DB_POOLER"] = "pgbouncer"
        machines = {}
        for machine in ("a", "b"):
            var = tmp_path / f"machine-{machine}" / "var"
            var.mkdir(parents=True, mode=0o700)
            (var / "media").symlink_to(media)
            (var / "static").symlink_to(static)
            machines[machine] = clean_environment(var, **shared)
        ports = _distinct_ports(2)
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        servers = [
            start_gunicorn(machines[machine], port, files[f"server-{machine}"], workers=2, threads=4)
            for port, machine in zip(ports, ("a", "b"), strict=True)
        ]
        workers = [
            start_worker(machines[machine], label, files[label])
            for machine, label in (("a", "worker-1"), ("b", "worker-2"))
        ]
        processes += servers + workers
        for base, server in zip(bases, servers, strict=True):
            wait_until(lambda base=base: healthy(base), f"{base}/healthz", processes=[server])

        # The race, split between the two servers.
        tokens = practice["tokens"]
        answers = _race(
            [
                lambda n=n, body=body: api_post(f"{bases[n % 2]}/api/v1/appointments", tokens[n], body)
                for n, body in enumerate(practice["race"])
            ]
        )
        statuses = collections.Counter(status for status, _ in answers)
        assert statuses == {201: 1, 409: RACERS - 1}, answers
        # Each refusal names the conflicting visit, 10:00–11:00 at the location.
        assert all("10:00–11:00" in data["detail"] for status, data in answers if status == 409), answers
        winner = next(n for n, (status, _) in enumerate(answers) if status == 201)

        # Both servers took part: each served half of the race (their access logs).
        # A server writes its access line after the answer has left: wait for the lines.
        def served(label: str) -> int:
            files[label].flush()
            return logs[label].read_text().count('"POST /api/v1/appointments HTTP/1.1"')

        for label in ("server-a", "server-b"):
            wait_until(lambda label=label: served(label) >= RACERS // 2, f"{label}'s access log", seconds=30)
            assert served(label) == RACERS // 2, (label, served(label))
        if route == "pgbouncer":  # the servers' connections went through it
            assert f"login attempt: db={name} " in (bouncer_folder / "pgbouncer.log").read_text()
        race_start = practice["race"][0]["start"]
        booked = _query(name, f"SELECT count(*) FROM {Appointment._meta.db_table} WHERE start = %s", race_start)  # noqa: S608
        assert booked == [(1,)]

        # A session signed in on A is accepted by B (same SECRET_KEY, sessions in the database).
        desk = Browser()
        desk.sign_in(bases[0], practice["front_desk"], password)
        status, headers, _ = desk.request(bases[1] + "/schedule/")
        assert status == 200, (status, headers.get("Location"))
        stranger_status, stranger_headers, _ = Browser().request(bases[1] + "/schedule/")
        assert stranger_status == 302 and stranger_headers["Location"].startswith("/login/")

        # More bookings, alternately on each server: one confirmation job each.
        for n, body in enumerate(practice["later"]):
            status, data = api_post(f"{bases[n % 2]}/api/v1/appointments", tokens[RACERS + n], body)
            assert status == 201, data
        expected = [f"racer{winner}@example.test"] + [f"racer{RACERS + n}@example.test" for n in range(LATER)]
        table = DBTaskResult._meta.db_table
        finished = f"SELECT count(*) FROM {table} WHERE task_path = %s AND status IN ('SUCCESSFUL', 'FAILED')"  # noqa: S608
        wait_until(
            lambda: _query(name, finished, SEND) == [(len(expected),)],
            "the workers to send every confirmation",
            processes=processes,
        )
        for worker in workers:
            stop(worker)  # their output is complete once they have ended
        jobs = _query(name, f"SELECT status, worker_ids, return_value FROM {table} WHERE task_path = %s", SEND)  # noqa: S608
        assert len(jobs) == len(expected)
        assert all(status == "SUCCESSFUL" and value == "sent" for status, _, value in jobs), jobs
        # Each job was claimed once, by one of the two workers.
        assert all(len(ids) == 1 and ids[0] in ("worker-1", "worker-2") for _, ids, _ in jobs), jobs
        sent = _query(
            name,
            f"SELECT count(*) FROM {Notification._meta.db_table} WHERE kind = 'confirmation' AND sent_at IS NOT NULL",  # noqa: S608
        )
        assert sent == [(len(expected),)]
        for handle in files.values():
            handle.flush()
        recipients = collections.Counter()
        for label in ("worker-1", "worker-2"):
            recipients.update(re.findall(r"^To: (\S+)$", logs[label].read_text(), flags=re.MULTILINE))
        assert recipients == collections.Counter(expected), recipients
    finally:
        for process in reversed(processes):  # PgBouncer last
            stop(process)
        for handle in files.values():
            handle.close()
        if bouncer_folder is not None:
            shutil.rmtree(bouncer_folder, ignore_errors=True)
    for label in ("server-a", "server-b"):
        assert "Traceback" not in logs[label].read_text(), logs[label].read_text()[-3000:]
