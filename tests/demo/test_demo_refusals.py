"""`effleura demo` on a database that is not empty, or that fails half-way: these need a
fresh database each, so they live apart from test_demo.py's once-per-module clinic."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from effleura.core.models import ApiToken, AuditEvent, User
from effleura.demo import data as demo_data
from effleura.patients.models import ConsentDocument, ConsentDocumentVersion, HealthHistory, Patient, PatientConsent


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def table_counts() -> dict[str, int]:
    models = [User, ApiToken, AuditEvent, Patient, HealthHistory]
    models += [ConsentDocument, ConsentDocumentVersion, PatientConsent]
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.django_db
@pytest.mark.parametrize("real_record", ["outsider", "make_patient"])
def test_demo_refuses_a_database_that_holds_real_records(request, real_record):
    maker = request.getfixturevalue(real_record)
    if real_record == "make_patient":
        maker()
    before = table_counts()
    with pytest.raises(CommandError, match="not part of the demo"):
        run_demo()
    assert table_counts() == before


@pytest.mark.django_db
def test_a_failure_part_way_leaves_nothing_half_loaded(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo_data.actions, "do_withdraw_consent", broken)  # near the very end
    with pytest.raises(RuntimeError):
        run_demo()
    assert set(table_counts().values()) == {0}
