"""``make bench-load`` (``python -m effleura.bench.load``): the load test of issue 13.

On the PostgreSQL database of ``EFFLEURA_DATABASE_URL`` (the Makefile gives it a
throwaway cluster through scripts/with_postgres.py), in this order:

1. migrate, collect static files, and build the large synthetic practice
   (``effleura demo --scale N``, effleura.demo.scale; N=1000 unless ``--scale``), or the
   plain demo clinic where the scale builder is not there (``--plain-demo`` forces it);
2. the plan (``prepare``): the personas' usernames, the pages' ids, a pool of free slots
   shared by every booking (so bookings race), draft notes of the therapist, API tokens;
3. two gunicorn workers on 127.0.0.1 (``effleura.bench.load_serve``, on the practice's
   clock) and one ``effleura worker``;
4. locust, headless (effleura/bench/locustfile.py): a warm-up that signs every user in
   through the login form, then steps of rising request rate with the same users;
5. the figures: per step, p50/p95/p99 and errors overall and per request kind, and the
   highest rate whose step passed (no error, p95 under 150 ms, rate reached);
6. the checks (effleura.bench.loadchecks): no double-booking in the database, every
   acknowledged booking and note save there as acknowledged. Either failing fails the run
   (exit 1), loudly; a best rate under ``--target`` is reported, and fails the run only
   with ``--require-target``.

Results (steps.json, acks.jsonl, locust's CSV, the servers' logs) stay in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from effleura.bench import loadstats

HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "locustfile.py"
SERVER_START_SECONDS = 60
SEARCH_MISSES = ["Qxzvbnk", "Zzyqwv"]
SLOT_DAYS = 3  # weekdays of free slots the bookings race for
MAX_SLOTS = 4000
MAX_CHART_PATIENTS = 100
MAX_NOTES = 8


@dataclass(frozen=True)
class Options:
    scale: int
    plain_demo: bool
    users: int
    spawn_rate: float
    warmup_seconds: float
    start_rps: float
    step_rps: float
    max_rps: float
    step_seconds: float
    settle_seconds: float
    p95_limit_ms: float
    target: float
    require_target: bool
    worker_class: str
    threads: int
    conn_max_age: int
    out: Path
    var_dir: Path


def parse_args(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m effleura.bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1000, help="patients of the large practice (default 1000)")
    parser.add_argument("--plain-demo", action="store_true", help="the small demo clinic instead of --scale")
    parser.add_argument("--users", type=int, default=30, help="simulated staff, all signed in (default 30)")
    parser.add_argument("--spawn-rate", type=float, default=5.0, help="users signing in per second")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds of sign-in and warm-up")
    parser.add_argument("--start", type=float, default=20.0, help="first step's requests/s")
    parser.add_argument("--step", type=float, default=20.0, help="requests/s added per step")
    parser.add_argument("--max", type=float, default=300.0, help="last step's requests/s at most")
    parser.add_argument("--step-seconds", type=float, default=20.0, help="seconds per step")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds of each step not measured")
    parser.add_argument("--p95-limit", type=float, default=loadstats.P95_LIMIT_MS, help="ms (default 150)")
    parser.add_argument("--target", type=float, default=100.0, help="requests/s the best step should reach")
    parser.add_argument("--require-target", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (default gthread)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (default 4)")
    parser.add_argument("--conn-max-age", type=int, default=60, help="servers' EFFLEURA_DB_CONN_MAX_AGE")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default: a new /tmp folder)")
    parser.add_argument(
        "--var-dir",
        type=Path,
        default=None,
        help="the servers' EFFLEURA_VAR_DIR (default: OUT/var; reuse one to skip copying the static files again)",
    )
    a = parser.parse_args(argv)
    out = a.out or Path(tempfile.mkdtemp(prefix="effleura-load-"))
    return Options(
        scale=a.scale,
        plain_demo=a.plain_demo,
        users=a.users,
        spawn_rate=a.spawn_rate,
        warmup_seconds=a.warmup,
        start_rps=a.start,
        step_rps=a.step,
        max_rps=a.max,
        step_seconds=a.step_seconds,
        settle_seconds=a.settle,
        p95_limit_ms=a.p95_limit,
        target=a.target,
        require_target=a.require_target,
        worker_class=a.worker_class,
        threads=a.threads,
        conn_max_age=a.conn_max_age,
        out=out.resolve(),
        var_dir=(a.var_dir or out / "var").resolve(),
    )


def say(message: str) -> None:
    print(f"bench-load: {message}", flush=True)


# 1. The data -------------------------------------------------------------------------------


def build_data(options: Options) -> str:
    """Loads the practice; returns what was loaded, for the report."""
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    scale = None if options.plain_demo else scale_module()
    if scale is None:
        call_command("demo", verbosity=0)
        return "the demo clinic (effleura demo)"
    started = time.monotonic()
    scale.build(options.scale, out=lambda line: say(f"scale: {line}"))
    return f"the large practice, N={options.scale} (built in {time.monotonic() - started:.0f}s)"


def scale_module():
    try:
        from effleura.demo import scale
    except ImportError:
        return None
    return scale


# 2. The plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    owner: str
    therapist: str
    frontdesk: str
    location: str
    therapist_id: str
    chart_patient: str | None
    search_hit: str
    search_miss: str
    day: date
    small_day: date
    clock: datetime | None  # "now" for the servers; None: the real clock


def find_targets() -> Targets:
    """The large practice's bench_targets(); else the demo clinic's counterparts."""
    scale = scale_module()
    if scale is not None:
        try:
            t = scale.bench_targets()
        except scale.ScaleRefused:
            t = None
        if t is not None:
            from effleura.scheduling.models import Location

            tz = ZoneInfo(Location.objects.get(public_id=t.location).time_zone)
            return Targets(
                owner=t.owner,
                therapist=t.therapist,
                frontdesk=t.frontdesk,
                location=str(t.location),
                therapist_id=str(t.therapist_id),
                chart_patient=str(t.chart_patient),
                search_hit=t.search_hit,
                search_miss=t.search_miss,
                day=scale.BENCH_DAY,
                small_day=scale.SMALL_DAY,
                # After the day's visits, so their notes may be written; bookings go ahead.
                clock=datetime.combine(scale.BENCH_DAY, datetime.min.time().replace(hour=17, minute=30), tzinfo=tz),
            )
    return demo_targets()


def demo_targets() -> Targets:
    from django.utils import timezone

    from effleura.core.choices import Role
    from effleura.core.models import User
    from effleura.scheduling.models import Appointment, Location

    def staff(role):
        return User.objects.filter(role=role, is_active=True).order_by("username").first()

    therapist = staff(Role.THERAPIST)
    location = Location.objects.filter(is_active=True).order_by("pk").first()
    tz = ZoneInfo(location.time_zone)
    today = timezone.now().astimezone(tz).date()
    busiest = Appointment.objects.filter(practitioner=therapist).select_related("patient").order_by("-start").first()
    return Targets(
        owner=staff(Role.OWNER).username,
        therapist=therapist.username,
        frontdesk=staff(Role.FRONT_DESK).username,
        location=str(location.public_id),
        therapist_id=str(therapist.public_id),
        chart_patient=str(busiest.patient.public_id) if busiest else None,
        search_hit=busiest.patient.legal_last_name if busiest else "a",
        search_miss=SEARCH_MISSES[0],
        day=today,
        small_day=today,
        clock=None,
    )


def local_day(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)


def prepare(options: Options, targets: Targets) -> dict:
    """The plan the locustfile reads (JSON-ready)."""
    from django.db.models import Count

    from effleura.clinical import notes as clinical_notes
    from effleura.clinical.choices import RecordStatus
    from effleura.clinical.models import SessionNote
    from effleura.core.actions import do_create_api_token
    from effleura.core.models import User
    from effleura.demo.data import DEMO_PASSWORD
    from effleura.scheduling.calendars import available_slots
    from effleura.scheduling.models import Appointment, Location, Service

    location = Location.objects.get(public_id=targets.location)
    tz = ZoneInfo(location.time_zone)
    start, end = local_day(targets.day, tz)
    day_visits = Appointment.objects.filter(location=location, start__gte=start, start__lt=end).select_related(
        "patient", "practitioner"
    )
    patients: list[str] = [targets.chart_patient] if targets.chart_patient else []
    hits = [targets.search_hit]
    for visit in day_visits.order_by("start", "pk"):
        public_id = str(visit.patient.public_id)
        if public_id not in patients:
            patients.append(public_id)
            if len(hits) < 5 and visit.patient.legal_last_name not in hits:
                hits.append(visit.patient.legal_last_name)
    patients = patients[:MAX_CHART_PATIENTS]

    therapist = User.objects.get(username=targets.therapist)
    frontdesk = User.objects.get(username=targets.frontdesk)
    for visit in day_visits.filter(practitioner=therapist).order_by("start"):
        try:  # a draft for each of the therapist's visits of the day, as far as none is there
            started = clinical_notes.check_start_note(therapist, appointment=visit, episode=None, start="blank")
            clinical_notes.do_start_note(therapist, started)
        except Exception:  # noqa: S112 (a note exists or the visit has none: skip it)
            continue
    drafts = SessionNote.objects.filter(author=therapist, status=RecordStatus.DRAFT).order_by("pk")
    notes = [str(n.public_id) for n in drafts[:MAX_NOTES]]

    service_pk = (
        day_visits.values("service").annotate(n=Count("pk")).order_by("-n").values_list("service", flat=True).first()
    )
    service = Service.objects.get(pk=service_pk) if service_pk else Service.objects.filter(is_active=True).first()
    slots = []
    day = targets.day + timedelta(days=7)
    found_days = 0
    while found_days < SLOT_DAYS and day < targets.day + timedelta(days=40):
        if day.weekday() < 5:
            first, last = local_day(day, tz)
            for slot in available_slots(service, location, first, last):
                slots.append(
                    {
                        "practitioner": str(slot.practitioner.public_id),
                        "start": slot.start.isoformat(),
                        "room": str(slot.room.public_id) if slot.room else None,
                        "service": str(service.public_id),
                        "duration": int((slot.end - slot.start).total_seconds() // 60),
                    }
                )
            found_days += 1
        day += timedelta(days=1)
    rng = __import__("random").Random(20261202)
    rng.shuffle(slots)

    _token, therapist_token = do_create_api_token(therapist, "load test")
    _token, frontdesk_token = do_create_api_token(frontdesk, "load test")
    return {
        "password": DEMO_PASSWORD,
        "personas": {"therapist": [targets.therapist], "frontdesk": [targets.frontdesk], "owner": [targets.owner]},
        "location": targets.location,
        "therapist_id": targets.therapist_id,
        "day": targets.day.isoformat(),
        "small_day": targets.small_day.isoformat(),
        "chart_patients": patients,
        "search_hits": hits,
        "search_misses": [targets.search_miss, *(m for m in SEARCH_MISSES if m != targets.search_miss)],
        "notes": notes,
        "slots": slots[:MAX_SLOTS],
        "patients": patients,
        "tokens": {"therapist": therapist_token, "frontdesk": frontdesk_token},
        "run": {
            "users": options.users,
            "spawn_rate": options.spawn_rate,
            "warmup_seconds": options.warmup_seconds,
            "warmup_rps": max(5.0, options.users / 4),
            "start_rps": options.start_rps,
            "step_rps": options.step_rps,
            "max_rps": options.max_rps,
            "step_seconds": options.step_seconds,
            "settle_seconds": options.settle_seconds,
            "p95_limit_ms": options.p95_limit_ms,
        },
    }


# 3.-4. The servers and locust --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own http://127.0.0.1)
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


class Processes:
    """The servers, the worker and locust: started here, always stopped here."""

    def __init__(self, out: Path, env: dict) -> None:
        self.out, self.env, self.running = out, env, []

    def start(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = open(self.out / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop())
        process = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.running.append((name, process, log))
        return process

    def stop(self) -> None:
        for _name, process, _log in reversed(self.running):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _name, process, log in reversed(self.running):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
        self.running = []


def server_env(options: Options, targets: Targets) -> dict:
    env = dict(os.environ)
    env["EFFLEURA_DB_CONN_MAX_AGE"] = str(options.conn_max_age)
    if targets.clock is not None:
        env["EFFLEURA_LOAD_CLOCK"] = targets.clock.isoformat()
    return env


def postmaster_pid() -> list[int]:
    """PostgreSQL's main process (the parent of our backend), when it runs on this machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    connection.close()
    try:
        stat = Path(f"/proc/{backend}/stat").read_text()
    except OSError:
        return []
    return [int(stat[stat.rindex(")") + 2 :].split()[1])]


def gunicorn_command(options: Options, port: int) -> list[str]:
    cmd = [sys.executable, "-m", "gunicorn", "effleura.bench.load_serve:application"]
    cmd += ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", options.worker_class]
    if options.worker_class == "gthread":
        cmd += ["--threads", str(options.threads)]
    # No control socket: its default path is shared by every gunicorn of this account.
    return [*cmd, "--keep-alive", "5", "--timeout", "60", "--backlog", "2048", "--no-control-socket"]


def locust_command(url: str, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        url,
        "--csv",
        str(out / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]


def run_load(options: Options, targets: Targets, plan_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes = Processes(options.out, server_env(options, targets))
    try:
        # The build's backlog first (sealing its audit events), so the run's worker only
        # has the run's own work.
        started = time.monotonic()
        worker = [sys.executable, "-m", "effleura.bench.load_serve", "worker"]
        batch = processes.start("worker-batch", [*worker, "--batch"])
        if batch.wait() != 0:
            raise SystemExit(f"bench-load: effleura worker --batch failed; see {options.out / 'worker-batch.log'}")
        say(f"worker backlog done in {time.monotonic() - started:.0f}s")
        server = processes.start("gunicorn", gunicorn_command(options, port))
        processes.start("worker", worker)
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not answers(url + "/login/"):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench-load: the server did not start; see {options.out / 'gunicorn.log'}")
            time.sleep(0.2)
        say(f"servers up at {url}: 2 gunicorn workers ({options.worker_class}), 1 effleura worker")
        roots = [server.pid, processes.running[-1][1].pid, *postmaster_pid()]
        env = dict(
            os.environ,
            EFFLEURA_LOAD_PLAN=str(plan_path),
            EFFLEURA_LOAD_OUT=str(options.out),
            EFFLEURA_LOAD_CPU_PIDS=",".join(str(p) for p in roots),
        )
        locust = subprocess.run(locust_command(url, options.out), env=env, check=False)
        if locust.returncode != 0:
            raise SystemExit(f"bench-load: locust exited with {locust.returncode}")
    finally:
        processes.stop()


# 5. The figures ----------------------------------------------------------------------------


def report(steps: list[loadstats.StepStats], options: Options) -> tuple[loadstats.StepStats | None, list[str]]:
    """Prints the tables and the verdict; returns the best step and the slow kinds."""
    print()
    print(loadstats.step_table(steps, options.p95_limit_ms))
    print()
    print("p50/p95/p99 ms per request kind and step (E: errors):")
    print(loadstats.kind_table(steps))
    print()
    best = loadstats.best_step(steps, options.p95_limit_ms)
    failed = [s for s in steps if not s.passed(options.p95_limit_ms) and (best is None or s.step > best.step)]
    slow = []
    if failed:
        first = failed[0]
        slow = [
            f"{kind} (p95 {k.p95:.0f} ms{f', {k.failures} errors' if k.failures else ''})"
            for kind, k in sorted(first.kinds.items(), key=lambda item: -item[1].p95)
            if k.p95 >= options.p95_limit_ms or k.failures
        ]
    if best is None:
        print(f"no step passed (p95 < {options.p95_limit_ms:.0f} ms, no error, rate reached)")
    else:
        t = best.total
        print(
            f"highest rate with p95 < {options.p95_limit_ms:.0f} ms and no errors: {best.achieved_rps:.1f} requests/s "
            f"(step {best.step}, target {best.target_rps:.0f}/s; p50 {t.p50:.1f}, p95 {t.p95:.1f}, p99 {t.p99:.1f} ms)"
        )
    measured = [s for s in steps if s.cpu_seconds and s.total.count]
    if measured:
        cpu_ms = sum(s.cpu_seconds for s in measured) * 1000 / sum(s.total.count for s in measured)
        cores = os.cpu_count() or 1
        print(
            f"CPU per request (gunicorn, worker, PostgreSQL, locust; measured steps): {cpu_ms:.1f} ms, so at most "
            f"about {cores * 1000 / cpu_ms:.0f} requests/s if they had the {cores} cores to themselves"
        )
    reached = best is not None and best.target_rps >= options.target
    print(f"target {options.target:.0f} requests/s: {'met' if reached else 'MISSED'}")
    if failed:
        print(
            f"the next step ({failed[0].target_rps:.0f}/s) failed: {failed[0].verdict(options.p95_limit_ms)}"
            + (f"; slow or failing kinds: {', '.join(slow)}" if slow else "")
        )
    return best, slow


def mix_line(statuses: dict[str, dict[str, int]]) -> str:
    total = sum(sum(c.values()) for name, c in statuses.items() if name != "login")
    parts = [
        f"{name} {100 * sum(c.values()) / total:.0f}%"
        for name, c in sorted(statuses.items(), key=lambda item: -sum(item[1].values()))
        if name != "login" and total
    ]
    return ", ".join(parts)


# Main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    url = os.environ.get("EFFLEURA_DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print(
            "bench-load: needs PostgreSQL in EFFLEURA_DATABASE_URL; `make bench-load` runs it on a throwaway cluster "
            "(scripts/with_postgres.py -- python -m effleura.bench.load)",
            file=sys.stderr,
        )
        return 2
    options.out.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="effleura.settings",
        EFFLEURA_VAR_DIR=str(options.var_dir),
        EFFLEURA_SECRET_KEY=secrets.token_urlsafe(48),
        EFFLEURA_DEBUG="false",
        EFFLEURA_EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    import django

    django.setup()
    from django.db import connections

    say(f"results in {options.out}")
    started = time.monotonic()
    loaded = build_data(options)
    say(f"data ready in {time.monotonic() - started:.0f}s")
    targets = find_targets()
    if targets.clock is not None:
        import time_machine

        with time_machine.travel(targets.clock, tick=True):
            plan = prepare(options, targets)
    else:
        plan = prepare(options, targets)
    plan_path = options.out / "plan.json"
    plan_path.write_text(json.dumps(plan, indent=1))
    connections.close_all()
    say(
        f"data: {loaded}; {len(plan['chart_patients'])} chart patients, {len(plan['slots'])} free slots, "
        f"{len(plan['notes'])} draft notes; {options.users} users; steps {options.start_rps:.0f}/s "
        f"+{options.step_rps:.0f}/s up to {options.max_rps:.0f}/s, {options.step_seconds:.0f}s each"
    )

    run_load(options, targets, plan_path)

    steps = loadstats.load_steps((options.out / "steps.json").read_text())
    statuses = json.loads((options.out / "statuses.json").read_text())
    acks = [json.loads(line) for line in (options.out / "acks.jsonl").read_text().splitlines() if line]
    signed = json.loads((options.out / "signed_in.json").read_text())
    best, _slow = report(steps, options)
    if signed["signed_in"] < signed["users"]:
        print(f"only {signed['signed_in']} of {signed['users']} users could sign in: the others' pages are errors")
    print(f"mix (whole run): {mix_line(statuses)}")
    print(f"answers per kind (whole run): {json.dumps(statuses, sort_keys=True)}")

    from effleura.bench import loadchecks

    problems = loadchecks.check_database(acks)
    bookings, notes = loadchecks.split_acks(acks)
    if problems:
        print(f"\nbench-load: FAILED: {len(problems)} problems in the database after the run:", file=sys.stderr)
        for line in problems[:50]:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(
        f"checks: no double-booking; all {len(bookings)} acknowledged bookings and "
        f"{len(notes)} acknowledged note saves are in the database as acknowledged"
    )
    if options.require_target and (best is None or best.target_rps < options.target):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
