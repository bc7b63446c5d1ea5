# One command per task. `make run` and `make test` do all the set-up they need.
# The venv's interpreter: the distribution's /usr/bin/python3 when it is 3.11 or newer and can
# make a venv, else python3 on PATH. Debian builds its Python with PGO and LTO; pyenv and source
# builds are plain: the same tests took 27 % more CPU (or worse) on pyenv's 3.11.7 (README, "Tests").
# Python 3.12 makes `make test` faster (coverage through sys.monitoring, below) but `serve`
# slower. `make clean install PYTHON=python3.12` to try another.
SYSTEM_PYTHON := /usr/bin/python3
PYTHON ?= $(shell $(SYSTEM_PYTHON) -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $(SYSTEM_PYTHON) || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Some machines set PYTHONDONTWRITEBYTECODE=1: then every test process and every mikrosync
# subprocess of the tests compiles our modules again, and pytest rewrites every test module's
# asserts again; with bytecode cached, pytest's collection takes half the time.
unexport PYTHONDONTWRITEBYTECODE
# Trust auth ignores the password; a server that scripts/ensure-services.sh installed uses it.
export MIKROSYNC_TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres:mikrosync-test@127.0.0.1:5432/postgres

.PHONY: install run test test-fast lint fmt typecheck services check clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "mikrosync needs Python 3.11 or newer")'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The demo on the embedded default (SQLite, embedded Redis, simulated routers): http://127.0.0.1:8000
run: install
	$(BIN)/mikrosync demo --port 8000

## Install, start PostgreSQL and Redis if needed, run the whole test suite (all tiers) on
## $(TEST_WORKERS) processes and print the line coverage of src/mikrosync (README, "Tests").
## 3 processes on 2 CPUs: with 2, a fifth of the CPU time sat idle while both waited on
## workers, leases and browsers at once (8 min 18 s against 7 min 3 s; 4 processes 7 min 19 s).
TEST_WORKERS ?= 3
PYTEST_DIST := --dist loadgroup --durations=15
PYTEST_PARALLEL := -n $(TEST_WORKERS) $(PYTEST_DIST)
# On 3.12 and later coverage.py measures through sys.monitoring, a third less CPU than its C
# tracer; 3.11 has only the tracer (asking it for sysmon is a warning: warnings fail the tests).
test: install services
	COVERAGE_CORE=$$($(BIN)/python -c 'import sys; print("sysmon" if sys.version_info >= (3, 12) else "ctrace")') \
		$(BIN)/pytest $(PYTEST_PARALLEL) --cov --cov-report=term

## The unit and db tiers only: the quick check while working (no subprocesses, no browser).
## These wait on PostgreSQL and Redis more than they compute (a third of the 2 CPUs idle with
## 2 processes): 4 processes finish sooner here (1 min 50 s against 1 min 58 s with 3).
FAST_WORKERS ?= 4
test-fast: install services
	$(BIN)/pytest -n $(FAST_WORKERS) $(PYTEST_DIST) -m "unit or db"

services:
	bash scripts/ensure-services.sh

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

check: lint typecheck test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage

## Benchmarks (bench/README.md): quick profile in a few minutes; full profile (issue 9 sizes)
.PHONY: bench bench-full
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP) services
	$(BIN)/python -m bench.run --profile quick

bench-full: install $(BENCH_STAMP) services
	$(BIN)/python -m bench.run --profile full

## Reliability suites by hand (docs/chaos.md): the full profiles of what `make test` runs short
.PHONY: chaos-full fuzz-full load failover
chaos-full: install services
	$(BIN)/python -m tests.chaos.run --profile full --seed 1

fuzz-full: install services
	$(BIN)/pytest tests/fuzz --fuzz-profile full

## Redis primary killed under Sentinel, PostgreSQL restarted, under load (docs/deployment.md)
failover: install services
	$(BIN)/pytest tests/failover -s

load: install $(BENCH_STAMP) services
	$(BIN)/python -m tests.load.run
