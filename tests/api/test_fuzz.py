"""The whole JSON API fuzzed with schemathesis, as each role: no answer is a server error,
and every answer is one its operation documents (status, content type and body schema).

The demo clinic is loaded once for the module (inside a transaction rolled back at the
end), so the generated requests reach real patients, episodes, invoices …: the ids in
paths, queries and bodies are drawn from the demo's records most of the time. Every
role's run is one test, inside its own savepoint, and each request inside another: what
the fuzzer writes never outlives the test, and one request's failure cannot break the
next one's transaction.

Deterministic: hypothesis runs with a fixed seed (SEED), derandomized, with no example
database, so a run repeats exactly. Only on SQLite: the test is marked ``fuzz``, which
the PostgreSQL pass of ``make test`` leaves out. Run it alone with
``pytest -m fuzz tests/api/test_fuzz.py`` (docs/development.md).
"""

import functools
import json
import os
import time
from collections import defaultdict

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from ninja.responses import NinjaJSONEncoder
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from effleura.api.api import api
from effleura.core.actions import do_create_api_token
from effleura.wsgi import application

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the fuzzing pass runs on SQLite only"),
]

ROLES = ["owner", "therapist", "frontdesk", "billing"]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Examples per operation (positive: valid by the schema; negative: not), per role: the
# owner may call nearly everything, the others are refused much of it at the door. Tuned
# so the four roles take about two minutes together on a two-core machine;
# EFFLEURA_FUZZ_SCALE=10 runs ten times as many (docs/development.md).
SCALE = int(os.environ.get("EFFLEURA_FUZZ_SCALE", "1"))
EXAMPLES = {"owner": (5, 3), "therapist": (2, 2), "frontdesk": (2, 2), "billing": (2, 2)}

# A path parameter, query parameter or body field that names a record -> the models whose
# records it may name ("plan_id" is a treatment plan's under /plans and a package plan's
# under /billing/package-plans: both are offered).
THERAPISTS = ("core.User", {"role": "therapist"})
REAL_IDS = {
    "appointment": ["scheduling.Appointment"],
    "appointment_id": ["scheduling.Appointment"],
    "assessment_id": ["clinical.Assessment"],
    "charge": ["billing.Charge"],
    "charge_id": ["billing.Charge"],
    "claim_id": ["billing.Claim"],
    "code_id": ["billing.ProcedureCode"],
    "document": ["patients.ConsentDocument"],
    "entry_id": ["scheduling.WaitlistEntry"],
    "episode": ["clinical.Episode"],
    "episode_id": ["clinical.Episode"],
    "exception_id": ["scheduling.ScheduleException"],
    "fee_id": ["billing.FeeScheduleEntry"],
    "goal_id": ["clinical.Goal"],
    "hours_id": ["scheduling.WorkingHours"],
    "invoice_id": ["billing.Invoice"],
    "invoices": ["billing.Invoice"],
    "location": ["scheduling.Location"],
    "location_id": ["scheduling.Location"],
    "measurement_id": ["clinical.OutcomeMeasurement"],
    "note_id": ["clinical.SessionNote"],
    "package_id": ["billing.Package"],
    "patient": ["patients.Patient"],
    "patient_id": ["patients.Patient"],
    "payer": ["billing.Payer"],
    "payer_id": ["billing.Payer"],
    "payment_id": ["billing.Payment"],
    "plan": ["billing.PackagePlan"],
    "plan_id": ["clinical.TreatmentPlan", "billing.PackagePlan"],
    "policy_id": ["billing.Policy"],
    "practitioner": [THERAPISTS],
    "practitioners": [THERAPISTS],
    "provider_id": ["referrals.ReferringProvider"],
    "referral_id": ["referrals.Referral"],
    "report_id": ["referrals.Report"],
    "room": ["scheduling.Room"],
    "room_id": ["scheduling.Room"],
    "series_id": ["scheduling.Series"],
    "service": ["scheduling.Service"],
    "service_id": ["scheduling.Service"],
    "template": ["clinical.NoteTemplate"],
    "template_id": ["clinical.NoteTemplate"],
    "therapist": [THERAPISTS],
    "time_off_id": ["scheduling.TimeOff"],
}
IDS_PER_MODEL = 8
SEED = 20261202
REPORT = defaultdict(list)  # EFFLEURA_FUZZ_REPORT=1: the statuses each operation answered


@functools.cache
def _schema():
    """The document /api/v1/openapi.json serves, as its JSON, loaded by schemathesis (once,
    when the pass runs: a run that leaves out `fuzz` never builds it)."""
    document = json.loads(json.dumps(api.get_openapi_schema(path_prefix="/api/v1/"), cls=NinjaJSONEncoder))
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = application
    return loaded


@pytest.fixture(scope="module")
def demo_clinic(django_db_setup, django_db_blocker):
    """The demo clinic, an API token per role and a handful of real ids per path parameter,
    for the module; rolled back at its end."""
    from django.apps import apps

    from effleura.clinical import knowledge
    from effleura.core.models import User
    from effleura.demo import data as demo_data

    # MD5 while the staff are made: Argon2 costs seconds a password (tests/conftest.py).
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast, transaction.atomic():
        demo_data.load_demo()
        tokens = {role: do_create_api_token(User.objects.get(username=role), "fuzz")[1] for role in ROLES}
        ids = {}
        for name, sources in REAL_IDS.items():
            ids[name] = []
            for source in sources:
                label, where = source if isinstance(source, tuple) else (source, {})
                rows = apps.get_model(label).objects.filter(**where).order_by("pk")
                ids[name] += [str(i) for i in rows.values_list("public_id", flat=True)[:IDS_PER_MODEL]]
        ids["technique"] = knowledge.technique_keys()[:IDS_PER_MODEL]
        yield tokens, ids
        transaction.set_rollback(True)


@pytest.fixture
def wsgi_requests():
    """Requests through the WSGI application keep the test's connection and transaction,
    as Django's test client does: the per-request connection clean-up is off meanwhile."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


_RUNS = {}


def _runner(operation, mode, examples):
    """The hypothesis test of one operation in one generation mode, built once and run for
    every role (the same seed, so the same requests, with each role's token)."""
    key = (operation.label, mode, examples)
    if key in _RUNS:
        return _RUNS[key]

    @seed(SEED)
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(sink, case, data):
        if mode == schemathesis.GenerationMode.POSITIVE:
            # Mostly real records' ids, so the request gets past "no such record".
            for part in ("path_parameters", "query", "body"):
                value = getattr(case, part)
                if isinstance(value, dict):
                    setattr(case, part, _real_ids(value, None, sink.ids, data))
        sink.send(operation, mode, case)

    _RUNS[key] = run
    return run


def _real_ids(value, name, ids: dict, data):
    """``value`` with four in five of the ids it holds under a known name replaced by a real one."""
    if isinstance(value, dict):
        return {key: _real_ids(item, key, ids, data) for key, item in value.items()}
    if isinstance(value, list):
        return [_real_ids(item, name, ids, data) for item in value]
    if isinstance(value, str) and ids.get(name) and data.draw(st.integers(0, 4)) < 4:
        return data.draw(st.sampled_from(ids[name]))
    return value


class Sink:
    """One role's run: sends each case with the role's token, checks the answer, and keeps
    one line per kind of failure."""

    def __init__(self, token: str, ids: dict):
        self.headers = {"Authorization": f"Bearer {token}"}
        self.ids = ids
        self.failures: dict[str, str] = {}
        self.statuses: dict[int, int] = defaultdict(int)

    def send(self, operation, mode, case) -> None:
        with transaction.atomic():
            response = case.call(headers=self.headers)
        self.statuses[response.status_code] += 1
        if os.environ.get("EFFLEURA_FUZZ_REPORT"):
            REPORT[(operation.label, mode.value)].append(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                _note(self.failures, operation, case, response, failure)
        except Failure as failure:
            _note(self.failures, operation, case, response, failure)


def _note(failures: dict, operation, case, response, failure) -> None:
    """One line per operation and kind of failure (the first request that showed it)."""
    lines = [line for line in (failure.message or "").splitlines() if line.strip()]
    key = f"{operation.label}: {failure.title} ({response.status_code}) {' / '.join(lines[:2])[:300]}"
    if key not in failures:
        body = response.content[:300] if response.content else b""
        failures[key] = f"{key}\n    {case.as_curl_command()[:600]}\n    -> {body!r}"


@pytest.mark.parametrize("role", ROLES)
def test_no_operation_answers_a_server_error_or_breaks_its_schema(role, demo_clinic, wsgi_requests, db):
    tokens, ids = demo_clinic
    sink = Sink(tokens[role], ids)
    positive, negative = (n * SCALE for n in EXAMPLES[role])
    started = time.monotonic()
    for result in _schema().get_all_operations():
        operation = result.ok()
        _runner(operation, schemathesis.GenerationMode.POSITIVE, positive)(sink)
        _runner(operation, schemathesis.GenerationMode.NEGATIVE, negative)(sink)
    if REPORT:
        for (label, mode), statuses in sorted(REPORT.items()):
            print(role, mode, label, statuses)
        REPORT.clear()
    took = time.monotonic() - started
    print(f"\n{role}: {sum(sink.statuses.values())} requests in {took:.0f} s, answered {dict(sink.statuses)}")
    assert not sink.failures, f"{len(sink.failures)} kinds of failure:\n\n" + "\n\n".join(sink.failures.values())
