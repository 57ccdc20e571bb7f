# The README's commands. Everything installs into .venv/ from the pinned constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# SIGTERM: in-flight requests get this long, then the process exits (analyses also stop at
# ANALYSIS_DEADLINE_SECONDS on their own).
GRACEFUL_SHUTDOWN_SECONDS ?= 10
# Request line and headers, in all: h11 closes a connection whose head grows past it, and the
# application answers 431 to what passes (README "Limits"). httptools, which has no limit, is
# not installed; --http h11 says so anyway. The service logs each request as a JSON line of its
# own (README "Operating it"), so uvicorn's access log is off.
MAX_HEADER_BYTES ?= 16384
# uv installs the pinned set in about 15 s where pip takes 60-80 s (issue 24: every CI run and
# every fresh clone pays it); uv itself comes from PyPI into the venv, pinned here.
UV_VERSION := 0.13.9
UV := $(BIN)/uv
PIP := $(UV) pip install --python $(BIN)/python -q -c constraints.txt
RUN_STAMP := $(VENV)/.stamp-run
DEV_STAMP := $(VENV)/.stamp-dev
BENCH_STAMP := $(VENV)/.stamp-bench
# Bytecode is cached even where the environment sets PYTHONDONTWRITEBYTECODE (this machine's
# shell and CI do): otherwise every Python process of the suite (two xdist workers, and each
# server, worker and `lma` command a test starts) compiles every module it imports again, the
# venv's included. Measured (issue 24): `import service.main` 9.1 s of CPU without cached
# bytecode, 3.5 s with it; tests/test_starter_evidence.py 37 s of CPU, 17 s with it. The files
# go where Python puts them by default (__pycache__/, ignored by git; the venv's own).
unexport PYTHONDONTWRITEBYTECODE
# pytest-xdist processes for make test and make test-fast (auto: one per core)
PYTEST_WORKERS ?= auto

.PHONY: run test test-steps test-fast fuzz scale lint typecheck types-beside-pytest pytest system-deps openapi lock bench audit clean

# Debian packages the tests use for real: R with metafor (reference numbers and the exported R
# scripts), chromium and its driver (browser tests), wrk (make bench). Installed with apt when
# missing and possible (CI runs as root); otherwise the run stops with the command to type.
SYSTEM_PACKAGES := r-base-core r-cran-metafor r-cran-jsonlite chromium chromium-driver wrk

# The venv gets no pip of its own: uv installs everything, and `ensurepip` copying pip into a
# new venv was ~3.5 s of every fresh clone's `make test` (issue 24). The system's pip puts uv
# into the venv (`pip --python`, pip 22.3 and newer); an older pip falls back to ensurepip.
$(BIN)/python:
	$(PYTHON) -m venv --without-pip $(VENV)

$(UV): | $(BIN)/python
	$(PYTHON) -m pip --python $(BIN)/python install --disable-pip-version-check -q \
	 uv==$(UV_VERSION) 2>/dev/null || { $(BIN)/python -m ensurepip > /dev/null && \
	 $(BIN)/python -m pip install --disable-pip-version-check -q uv==$(UV_VERSION); }

# Reinstall only when the dependency declarations change.
$(RUN_STAMP): pyproject.toml constraints.txt | $(UV)
	$(PIP) -e .
	@touch $@

$(DEV_STAMP): pyproject.toml constraints.txt | $(UV)
	$(PIP) -e '.[dev]'
	@touch $@ $(RUN_STAMP)

$(BENCH_STAMP): pyproject.toml constraints.txt | $(UV)
	$(PIP) -e '.[bench]'
	@touch $@

## run: install, migrate the embedded SQLite database (var/) to head, import the bundled Metapsy
## starter evidence into a database without studies (STARTER_EVIDENCE=false: start empty), serve
run: $(RUN_STAMP)
	$(BIN)/lma db upgrade
	$(BIN)/lma db seed
	MAX_HEADER_BYTES=$(MAX_HEADER_BYTES) $(BIN)/uvicorn service.main:app --host $(HOST) --port $(PORT) \
		--timeout-graceful-shutdown $(GRACEFUL_SHUTDOWN_SECONDS) \
		--http h11 --h11-max-incomplete-event-size $(MAX_HEADER_BYTES) --no-access-log

## test: ruff, mypy (strict on service/) and pytest on SQLite and PostgreSQL; prints the
## coverage (line and branch) and, last, its own wall time
test:
	@start=$$(date +%s); $(MAKE) --no-print-directory test-steps; status=$$?; \
	echo "make test: wall time $$(( $$(date +%s) - start )) s (exit status $$status)"; exit $$status

test-steps: $(DEV_STAMP) system-deps lint types-beside-pytest

# mypy runs beside pytest rather than before it (issue 24): in a fresh clone it has no cache
# and takes 20-40 s of one core, which pytest's workers leave idle at times (waiting on
# servers, sockets and PostgreSQL); niced, it takes those first. Its report follows pytest's,
# and either failing fails the target.
TYPES_LOG := var/mypy.log
types-beside-pytest: $(DEV_STAMP)
	@mkdir -p var; nice -n 10 $(BIN)/mypy > $(TYPES_LOG) 2>&1 & types=$$!; \
	$(MAKE) --no-print-directory pytest; tests=$$?; \
	wait $$types; typed=$$?; echo "mypy (run beside pytest, exit status $$typed):"; \
	cat $(TYPES_LOG); test $$tests -eq 0 && test $$typed -eq 0

## test-fast: the inner loop (under a minute on a quiet 2-core machine): ruff, mypy,
## and the tests that need no server process, browser or PostgreSQL (those not marked db or slow)
test-fast: $(DEV_STAMP) lint typecheck
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not db and not slow" -q --durations=10 $(TEST_TMP) \
	 $(PYTEST_ARGS)

system-deps:
	@bash tests/support/system_packages.sh $(SYSTEM_PACKAGES)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

# tests/support/postgres.py prints a reachable PostgreSQL URL (starting a server when it
# has to) or fails loudly: the PostgreSQL half of the suite never skips silently.
# The suite runs in PYTEST_WORKERS pytest-xdist processes (each with its own databases, copied
# from one migrated template), in a random order (pytest-randomly; the seed is printed, rerun
# with PYTEST_ARGS=--randomly-seed=N), with Hypothesis' derandomized `ci` profile.
COVERAGE := --cov=service --cov-branch --cov-report=term-missing:skip-covered
# Temporary files go under the checkout's var/ (ignored by git), emptied when a run starts.
# Left to pytest's default (/tmp/pytest-of-$USER), each run ends by deleting the oldest of the
# machine's earlier runs (it keeps three): thousands of files, 9-12 s at the end of a run here
# (measured, issue 24), and none at all for a fresh clone's first run.
TEST_TMP := --basetemp=var/pytest
pytest: $(DEV_STAMP)
	url=$$($(BIN)/python -m tests.support.postgres) && \
	TEST_DATABASE_URL="$$url" $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -p randomly \
	 --hypothesis-profile=ci $(TEST_TMP) $(COVERAGE) $(PYTEST_ARGS)

## fuzz: the contract fuzzing and positive-data acceptance with 100 requests per operation and
## mode (make test sends 10): about 15 minutes; worth a run after changing schemas or validators
FUZZ_EXAMPLES ?= 100
fuzz: $(DEV_STAMP)
	url=$$($(BIN)/python -m tests.support.postgres) && \
	TEST_DATABASE_URL="$$url" FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -n $(PYTEST_WORKERS) \
	 tests/api/test_fuzz.py tests/api/test_positive_acceptance.py $(PYTEST_ARGS)

## scale: the scale tests (marked scale) at the sizes their issues name, one at a time so that
## none slows another (make test runs them smaller; tests/support/scale.py)
scale: $(DEV_STAMP) system-deps
	url=$$($(BIN)/python -m tests.support.postgres) && \
	TEST_DATABASE_URL="$$url" TEST_SCALE=full $(BIN)/pytest -m scale $(PYTEST_ARGS)

## bench: engine and service benchmarks (under 10 minutes), written to bench/RESULTS.md.
# Not part of `make test`. PostgreSQL is found as for the tests; without it only SQLite is run.
bench: $(BENCH_STAMP) system-deps
	url=$$($(BIN)/python -m tests.support.postgres) || url=""; \
	BENCH_POSTGRES_URL="$$url" $(BIN)/python -m bench

## openapi: regenerate openapi/openapi.json from the app
openapi: $(RUN_STAMP)
	$(BIN)/python -m service.openapi > openapi/openapi.json

## lock: re-pin every dependency to the newest allowed version
lock: | $(BIN)/python
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q -e '.[dev,bench]'
	(echo "# Exact versions of every dependency (runtime, dev and bench), used as pip constraints by the Makefile"; \
	 echo "# and the Dockerfile. Regenerate with: make lock"; \
	 .lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e' | sort -f) > constraints.txt
	rm -rf .lock-venv

## audit: check the pinned dependencies for known vulnerabilities with pip-audit (advisory:
## never fails the build, not part of `make test`). pip-audit lives in its own venv so that
## its ~30 dependencies stay out of the service's and the tests' environment.
AUDIT_VENV := .venv-audit
PIP_AUDIT_VERSION := 2.10.1
audit:
	@test -x $(AUDIT_VENV)/bin/pip-audit || ($(PYTHON) -m venv $(AUDIT_VENV) && \
	 $(AUDIT_VENV)/bin/python -m pip install --disable-pip-version-check -q pip-audit==$(PIP_AUDIT_VERSION))
	-$(AUDIT_VENV)/bin/pip-audit --requirement constraints.txt --no-deps --disable-pip \
	 --progress-spinner off

clean:
	rm -rf $(VENV) $(AUDIT_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
