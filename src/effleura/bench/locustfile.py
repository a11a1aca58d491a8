"""The locust side of ``make bench-load`` (effleura.bench.load starts it; never imports it).

Reads the plan the harness wrote (``EFFLEURA_LOAD_PLAN``: who signs in, which pages,
slots and notes), signs every simulated staff member in through the real login form,
then holds a fixed number of users and raises the *request rate* step by step
(``StepShape``): each user paces its requests so that all of them together send the
step's rate (``paced``). Every request of a step's measured part (after its settling
seconds) is kept as a ``loadstats.Sample``; at the end the steps go to
``EFFLEURA_LOAD_OUT/steps.json`` and every acknowledged write (2xx booking, note save)
to ``acks.jsonl``, which the harness checks against the database.

One task is one request, so the task rate is the request rate. Refusals the rules
demand are not errors: a booking answered 409 (that time is taken: the slots are shared
on purpose, so bookings race) and a note save answered 412 (saved meanwhile).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import time
import uuid
from pathlib import Path

from locust import FastHttpUser, LoadTestShape, events, task

from effleura.bench import loadstats

PLAN = json.loads(Path(os.environ["EFFLEURA_LOAD_PLAN"]).read_text())
OUT = Path(os.environ["EFFLEURA_LOAD_OUT"])
RUN = PLAN["run"]
# The processes whose CPU time a step counts: the servers, the worker, PostgreSQL, us.
CPU_ROOTS = [int(p) for p in os.environ.get("EFFLEURA_LOAD_CPU_PIDS", "").split(",") if p] + [os.getpid()]

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SIGN_IN_ATTEMPTS = 3
# The warm-up lasts until every user is signed in, but no longer than this.
WARMUP_CAP_SECONDS = 180.0


class State:
    """What the shape decides and every user reads (one process, one gevent loop)."""

    step = 0  # 0: warm-up (signing in), not measured
    signed_in = 0
    steps_from: float | None = None  # run time at which step 1 began
    rate = float(RUN["warmup_rps"])
    measuring = False
    measure_started = 0.0
    cpu_started = 0.0
    samples: list[loadstats.Sample] = []
    measured: dict[int, tuple[float, float]] = {}  # step -> (target rate, seconds measured)
    finished: list[loadstats.StepStats] = []
    acks: list[dict] = []
    statuses: dict[str, dict[str, int]] = {}


@events.request.add_listener
def on_request(request_type, name, response_time, response, exception, **kwargs):
    status = str(getattr(response, "status_code", 0) or 0)
    counts = State.statuses.setdefault(name, {})
    counts[status] = counts.get(status, 0) + 1
    if State.measuring and name != "login":
        State.samples.append(loadstats.Sample(State.step, name, float(response_time), exception is None))


def paced(user) -> float:
    """Wait so that the users together send State.rate requests a second: each user
    aims at one request every users/rate seconds (jittered ±50 % so they never march in
    step), counted from its previous start; a user behind schedule goes at once and
    does not catch up (no bursts after a slow answer)."""
    users = max(1, user.environment.runner.user_count if user.environment.runner else 1)
    interval = users / max(State.rate, 0.1)
    now = time.perf_counter()
    due = getattr(user, "_due", now) + interval * random.uniform(0.5, 1.5)
    if due < now:
        due = now
    user._due = due
    return due - now


class Staff(FastHttpUser):
    abstract = True
    persona = ""
    wait_time = paced
    # The servers answer in milliseconds; a request still open after this is an error.
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self):
        self.username = random.choice(PLAN["personas"][self.persona])
        for _attempt in range(SIGN_IN_ATTEMPTS):
            if self.sign_in():
                State.signed_in += 1
                break
        self._due = time.perf_counter()

    def sign_in(self) -> bool:
        """The login form, as a browser fills it (its CSRF token, then the POST)."""
        page = self.client.get("/login/", name="login")
        token = CSRF.search(page.text or "")
        with self.client.post(
            "/login/",
            data={
                "username": self.username,
                "password": PLAN["password"],
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            where = answer.headers.get("Location", "") if answer.headers else ""
            if answer.status_code != 302 or "/login/" in where:
                answer.failure(f"sign-in of {self.username} failed ({answer.status_code})")
                return False
        return True

    def page(self, kind: str, path: str) -> None:
        # Redirects are not followed: a page answering 302 (to the login page, say) failed.
        with self.client.get(path, name=kind, catch_response=True, allow_redirects=False) as answer:
            if answer.status_code != 200:
                answer.failure(f"{kind}: {answer.status_code}")

    def api(self, persona: str) -> dict:
        return {"Authorization": f"Bearer {PLAN['tokens'][persona]}"}

    # Reads shared by the personas ------------------------------------------------------

    def chart(self):
        self.page("chart", f"/patients/{random.choice(PLAN['chart_patients'])}/")

    def day50(self):
        self.page("day50", f"/schedule/?date={PLAN['day']}&location={PLAN['location']}")

    def day10(self):
        self.page("day10", f"/schedule/?date={PLAN['small_day']}&location={PLAN['location']}")

    def week(self):
        self.page("week", f"/schedule/week/?practitioner={PLAN['therapist_id']}&date={PLAN['day']}")

    def today(self):
        self.page("today", f"/schedule/today/?practitioner={PLAN['therapist_id']}")

    def search_hit(self):
        self.page("search_hit", f"/patients/search/?q={random.choice(PLAN['search_hits'])}")

    def search_miss(self):
        self.page("search_miss", f"/patients/search/?q={random.choice(PLAN['search_misses'])}")


class Therapist(Staff):
    """Opens the charts of the day's patients, the day and Today, writes notes."""

    weight = 2
    persona = "therapist"

    def on_start(self):
        super().on_start()
        # A note of its own, as far as there are enough (a shared one answers 412 at times).
        notes = PLAN["notes"]
        self.note = notes[Therapist.started % len(notes)] if notes else None
        Therapist.started += 1
        self.version = None

    started = 0

    @task(5)
    def read_chart(self):
        self.chart()

    @task(2)
    def read_today(self):
        self.today()

    @task(1)
    def read_day10(self):
        self.day10()

    @task(1)
    def read_search(self):
        self.search_hit()

    @task(1)
    def save_note(self):
        if self.note is None:
            return self.today()
        headers = self.api("therapist")
        if self.version is None:
            with self.client.get(
                f"/api/v1/notes/{self.note}", name="note_read", headers=headers, catch_response=True
            ) as answer:
                if answer.status_code != 200:
                    return answer.failure(f"note_read: {answer.status_code}")
                self.version = answer.json()["version"]
            return None
        text = f"Synthetic load-test note text {uuid.uuid4().hex}."
        with self.client.patch(
            f"/api/v1/notes/{self.note}",
            name="note_save",
            json={"subjective": text},
            headers={**headers, "If-Match": f'"{self.version}"'},
            catch_response=True,
        ) as answer:
            if answer.status_code == 200:
                body = answer.json()
                self.version = body["version"]
                State.acks.append({"kind": "note", "id": self.note, "version": body["version"], "subjective": text})
            elif answer.status_code == 412:
                self.version = None  # saved meanwhile: read it again
                answer.success()
            else:
                answer.failure(f"note_save: {answer.status_code}")
        return None


class FrontDesk(Staff):
    """Works the calendars, finds patients, books (the slots race on purpose)."""

    weight = 2
    persona = "frontdesk"

    @task(3)
    def read_day50(self):
        self.day50()

    @task(2)
    def read_day10(self):
        self.day10()

    @task(2)
    def read_week(self):
        self.week()

    @task(3)
    def read_search_hit(self):
        self.search_hit()

    @task(1)
    def read_search_miss(self):
        self.search_miss()

    @task(1)
    def book(self):
        slot = random.choice(PLAN["slots"])
        marker = f"load {uuid.uuid4().hex[:16]}"
        body = {
            "patient": random.choice(PLAN["patients"]),
            "practitioner": slot["practitioner"],
            "service": slot["service"],
            "location": PLAN["location"],
            "start": slot["start"],
            "duration": slot["duration"],
            "notes": marker,
        }
        if slot["room"]:
            body["room"] = slot["room"]
        with self.client.post(
            "/api/v1/appointments", name="book", json=body, headers=self.api("frontdesk"), catch_response=True
        ) as answer:
            if answer.status_code == 201:
                State.acks.append(
                    {
                        "kind": "booking",
                        "id": answer.json()["id"],
                        "practitioner": slot["practitioner"],
                        "start": slot["start"],
                        "notes": marker,
                    }
                )
            elif answer.status_code == 409:
                answer.success()  # taken (or a warning to confirm): the rules said no
            else:
                answer.failure(f"book: {answer.status_code} {(answer.text or '')[:200]}")


class Owner(Staff):
    """Looks across the practice: week, day, charts, search."""

    weight = 1
    persona = "owner"

    @task(2)
    def read_week(self):
        self.week()

    @task(2)
    def read_chart(self):
        self.chart()

    @task(1)
    def read_day50(self):
        self.day50()

    @task(1)
    def read_search_hit(self):
        self.search_hit()

    @task(1)
    def read_search_miss(self):
        self.search_miss()


class StepShape(LoadTestShape):
    """Warm-up (every user signs in at a low rate), then steps of rising rate with the
    same users; stops after the top rate or FAILED_STEPS_TO_STOP failed steps in a row."""

    def tick(self):
        users, spawn = int(RUN["users"]), float(RUN["spawn_rate"])
        now = self.get_run_time()
        warmup, length, settle = float(RUN["warmup_seconds"]), float(RUN["step_seconds"]), float(RUN["settle_seconds"])
        if State.steps_from is None:
            if now < warmup or (State.signed_in < users and now < WARMUP_CAP_SECONDS):
                return users, spawn
            State.steps_from = now
            print(f"warm-up over after {now:.0f}s: {State.signed_in} of {users} users signed in", flush=True)
        t = now - State.steps_from
        step = int(t // length) + 1
        rate = float(RUN["start_rps"]) + (step - 1) * float(RUN["step_rps"])
        if step != State.step:
            close_step()
            if loadstats.should_stop(State.finished, float(RUN["p95_limit_ms"])) or rate > float(RUN["max_rps"]):
                return None
            State.step, State.rate, State.measuring = step, rate, False
        if not State.measuring and t - (step - 1) * length >= settle:
            State.measuring, State.measure_started = True, time.perf_counter()
            State.cpu_started = loadstats.cpu_seconds(CPU_ROOTS)
        return users, spawn


def close_step() -> None:
    """Figures of the step that is ending (nothing for the warm-up)."""
    if State.step == 0 or not State.measuring:
        State.measuring = False
        return
    State.measuring = False
    seconds = time.perf_counter() - State.measure_started
    cpu = loadstats.cpu_seconds(CPU_ROOTS) - State.cpu_started
    State.measured[State.step] = (State.rate, seconds)
    samples = [s for s in State.samples if s.step == State.step]
    (stats,) = loadstats.summarize(samples, {State.step: (State.rate, seconds)})
    State.finished.append(dataclasses.replace(stats, cpu_seconds=cpu))
    last = State.finished[-1]
    print(
        f"step {last.step}: {last.target_rps:.0f}/s target, {last.achieved_rps:.1f}/s reached, "
        f"p95 {last.total.p95:.0f} ms, {last.total.failures} errors: {last.verdict(float(RUN['p95_limit_ms']))}",
        flush=True,
    )


@events.test_stop.add_listener
def on_test_stop(**kwargs):
    close_step()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "steps.json").write_text(loadstats.dump_steps(State.finished))
    (OUT / "signed_in.json").write_text(json.dumps({"users": int(RUN["users"]), "signed_in": State.signed_in}))
    (OUT / "statuses.json").write_text(json.dumps(State.statuses, indent=1, sort_keys=True))
    with open(OUT / "acks.jsonl", "w") as handle:
        for ack in State.acks:
            handle.write(json.dumps(ack) + "\n")
