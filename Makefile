# Effleura: build, run and test. See docs/development.md.
#
#   make install   .venv (pip install -e '.[dev]') and node_modules (npm ci), only when
#                  pyproject.toml or package-lock.json changed since the last install
#   make run       migrate, collect static files, load the demo data, serve on :8000
#   make test      lint, then pytest on SQLite, on a throwaway PostgreSQL, in Chromium
#   make lint | format | bench | bench-load | clean

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# The test stages must run one after the other, even under `make -j`.
.NOTPARALLEL:

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
EFFLEURA := $(BIN)/effleura
HOST ?= 127.0.0.1
PORT ?= 8000
# Extra arguments for every pytest pass, e.g. `make test PYTEST_ARGS="-x -k invoice"`.
PYTEST_ARGS ?=
# The test suites get their own var/ (secret key, media, SQLite file), never the demo's.
TEST_ENV := EFFLEURA_VAR_DIR=$(CURDIR)/var/test

# Never download a browser: the browser tests drive Debian's Chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: help install run test lint format bench bench-load clean \
        test-static test-sqlite test-postgres test-e2e

help:
	@echo "make install | run | test | lint | format | bench | bench-load | clean  (docs/development.md)"

# --- install --------------------------------------------------------------
# Stamp files record the last successful install; they are newer than the inputs
# unless pyproject.toml / package-lock.json changed, so a second run does nothing.
install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || { echo "creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@# The grep drops pip's warnings about this machine's absent local index folders.
	$(PY) -m pip install -q -e '.[dev]' 2>&1 | { grep -v "^WARNING: Location '.*' is ignored" || true; }
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# --- run ------------------------------------------------------------------
# The worker runs in the background of the same shell and is killed when the
# server stops (Ctrl-C) or fails to start.
run: install
	$(EFFLEURA) migrate --noinput
	$(EFFLEURA) collectstatic --noinput -v 0
	$(EFFLEURA) demo --url http://$(HOST):$(PORT)/
	@echo; echo "Effleura is at http://$(HOST):$(PORT)/  (Ctrl-C stops the server and the worker)"; echo
	$(EFFLEURA) worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null || true; wait $$worker 2>/dev/null || true' EXIT; \
	  trap 'exit 130' INT TERM; \
	  $(BIN)/gunicorn effleura.wsgi:application --bind $(HOST):$(PORT) --workers 2

# --- test -----------------------------------------------------------------
test: install lint test-static test-sqlite test-postgres test-e2e
	@echo "make test: all passes succeeded"

# The manifest static storage (DEBUG off, as in tests) needs collected files.
test-static: install
	$(TEST_ENV) $(EFFLEURA) collectstatic --noinput -v 0

# Tests marked `postgres` need PostgreSQL; they run in the PostgreSQL pass only. This
# pass includes the schemathesis run over the whole API (tests/api/test_fuzz.py).
test-sqlite: install test-static
	@echo "== pytest on SQLite"
	$(TEST_ENV) $(BIN)/pytest -m "not e2e and not postgres" $(PYTEST_ARGS)

# scripts/with_postgres.py starts a throwaway cluster, sets EFFLEURA_DATABASE_URL,
# and removes the cluster afterwards. Without PostgreSQL it skips (fails when CI=true).
# The schemathesis pass (marked `fuzz`) runs in the SQLite pass only.
test-postgres: install test-static
	@echo "== pytest on PostgreSQL"
	$(TEST_ENV) $(PY) scripts/with_postgres.py -- $(BIN)/pytest -m "not e2e and not fuzz" $(PYTEST_ARGS)

# Browser tests (tests/e2e) in Debian's Chromium against a real gunicorn server.
# pytest exits 5 when it collected no test: there may be no browser tests yet.
test-e2e: install test-static
	@echo "== browser tests (Chromium)"
	$(TEST_ENV) $(BIN)/pytest -m e2e $(PYTEST_ARGS) || { rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no browser tests collected"; else exit $$rc; fi; }

# lint-imports holds the import contracts of pyproject.toml [tool.importlinter]: the
# apps' one-way chain and their public boundaries (docs/architecture.md).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=scripts $(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The page benchmarks build their data sets once under var/bench/ (EFFLEURA_BENCH_DIR) and
# keep them; e.g. `make bench BENCH_ARGS="--only pages --sizes 1000"` (docs/performance.md).
BENCH_ARGS ?=
bench: install
	$(PY) -m effleura.bench $(BENCH_ARGS)

# The load test (docs/performance.md, section load): a throwaway PostgreSQL cluster, the
# large practice (N=1000), 2 gunicorn workers and a task worker on 127.0.0.1, locust at
# rising request rates. LOAD_ARGS go to it, e.g. `make bench-load LOAD_ARGS="--scale 10000"`.
LOAD_ARGS ?=
bench-load: install
	$(PY) scripts/with_postgres.py -- $(PY) -m effleura.bench.load $(LOAD_ARGS)

# Removes what the test passes leave in var/; the demo database and secret key stay.
clean:
	rm -rf var/test test-results
