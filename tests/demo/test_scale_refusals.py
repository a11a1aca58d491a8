"""What `effleura demo --scale N` (demo/scale.py) refuses, on a database without the
practice (tests/demo/test_scale.py builds it once for its module)."""

import pytest

from effleura.demo import scale
from effleura.demo.models import ScaleBuild
from effleura.patients.models import Patient

N = 200


def test_too_large_or_too_small_a_practice_is_refused(db):
    with pytest.raises(scale.ScaleRefused, match="at most"):
        scale.build(200_000, out=lambda line: None)
    with pytest.raises(scale.ScaleRefused, match="at least"):
        scale.build(10, out=lambda line: None)
    assert not ScaleBuild.objects.exists()


def test_a_database_with_other_data_is_refused(db, therapist):
    with pytest.raises(scale.ScaleRefused, match="already holds data"):
        scale.build(N, out=lambda line: None)
    assert not ScaleBuild.objects.exists() and not Patient.objects.exists()


def test_no_bench_practice_no_targets(db):
    with pytest.raises(scale.ScaleRefused, match="demo --scale"):
        scale.bench_targets()


def test_a_build_that_fails_resumes_at_the_failed_step(db, monkeypatch):
    from effleura.core.models import AuditEvent
    from effleura.scheduling.models import Appointment

    def broken(plan, writer):
        writer.write(AuditEvent, ["id"], iter([]))
        raise RuntimeError("the disk is full")

    monkeypatch.setitem(scale.STEP_FUNCTIONS, "audit", broken)
    with pytest.raises(RuntimeError, match="disk is full"):
        scale.build(100, out=lambda line: None)
    state = ScaleBuild.objects.get()
    assert state.steps == list(scale.STEPS[:-1]) and state.finished_at is None
    assert not AuditEvent.objects.exists()
    appointments = Appointment.objects.count()

    monkeypatch.undo()
    lines = []
    result = scale.build(100, out=lines.append)
    assert result.created and "Resuming" in lines[0]
    assert set(result.counts) == {"core_auditevent"}
    assert Appointment.objects.count() == appointments
    assert AuditEvent.objects.count() > 0
    assert ScaleBuild.objects.get().finished_at is not None
