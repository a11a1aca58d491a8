"""The kept data sets' names, places and environments (effleura/bench/datasets.py); no
cluster is started here."""

from pathlib import Path

import pytest

from effleura.bench import datasets
from effleura.bench.datasets import DataSet


@pytest.mark.parametrize(
    ("vendor", "n", "name", "database"),
    [
        ("postgresql", 1000, "pg-1000", "bench_1000"),
        ("postgresql", 100000, "pg-100000", "bench_100000"),
        ("sqlite", 10000, "sqlite-10000", "bench_10000"),
    ],
)
def test_each_set_is_named_for_its_database_and_size(vendor, n, name, database):
    data_set = DataSet(vendor, n)
    assert data_set.name == name
    assert data_set.database == database
    assert data_set.var_dir(Path("/b")) == Path(f"/b/{name}/var")


def test_the_bench_dir_is_var_bench_unless_the_environment_says(monkeypatch):
    monkeypatch.delenv("EFFLEURA_BENCH_DIR", raising=False)
    assert datasets.bench_dir() == datasets.CHECKOUT / "var" / "bench"
    monkeypatch.setenv("EFFLEURA_BENCH_DIR", "/work/bench")
    assert datasets.bench_dir() == Path("/work/bench")


def test_each_set_runs_with_its_own_var_dir_and_database_whatever_the_callers(monkeypatch):
    monkeypatch.setenv("EFFLEURA_DATABASE_URL", "postgresql://someone@elsewhere/real")
    monkeypatch.setenv("EFFLEURA_SECRET_KEY", "x" * 60)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "effleura.settings")
    root = Path("/b")
    cluster = datasets.Cluster.__new__(datasets.Cluster)
    cluster.root = root / "pg"
    pg = datasets.environment(DataSet("postgresql", 1000), root, cluster)
    assert pg["EFFLEURA_VAR_DIR"] == "/b/pg-1000/var"
    assert pg["EFFLEURA_DATABASE_URL"] == "postgresql://effleura@%2Fb%2Fpg:5432/bench_1000"
    assert "EFFLEURA_SECRET_KEY" not in pg and "DJANGO_SETTINGS_MODULE" not in pg
    lite = datasets.environment(DataSet("sqlite", 10000), root, None)
    assert lite["EFFLEURA_DATABASE_URL"] == "sqlite:////b/sqlite-10000/var/effleura.sqlite3"


def test_a_bench_dir_too_long_for_the_socket_is_refused():
    with pytest.raises(RuntimeError, match="too long a path"):
        datasets.Cluster(Path("/" + "d" * 100), Path("/usr/lib/postgresql/15/bin"))
