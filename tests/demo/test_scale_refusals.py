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
