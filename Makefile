# Two commands on a fresh clone: `make run` and `make test`. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
UV ?= $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# The suite runs in parallel, one process per core (pytest-xdist), each with a database, a Redis
# database and a folder of its own; the tests that share a fixture set up once per module or run (the
# browser, a cluster) go to one worker (tests/support/scheduling.py). PYTEST_WORKERS=0: all in
# one process.
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS)
PYTHON_ONLY := -m "not redis and not system"
# pytest answers 5 when a pass selects no test (PYTEST_ARGS naming files of one kind only)
NONE_SELECTED_OK := || [ $$? -eq 5 ]

# Python keeps compiled modules (and pytest its rewritten tests) in __pycache__ folders, so each
# test process, server and command starts from them instead of compiling every module again,
# even where the environment asks Python not to write them.
unexport PYTHONDONTWRITEBYTECODE

# uv uses the Python found here and never downloads one.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: help uv install install-dev run migrate bootstrap serve lint typecheck format \
        test test-all test-sqlite test-postgres services packages libraries shellcheck audit bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

uv: ## Install uv (into .tools/) when it is not on PATH
	@if [ ! -x "$(UV)" ]; then \
		echo "Installing uv into .tools/ ..."; \
		$(PYTHON) -m venv $(CURDIR)/.tools && $(CURDIR)/.tools/bin/python -m pip install -q uv; \
	fi

install: uv libraries ## Install the service and its locked dependencies into .venv
	@$(UV) sync --frozen --no-dev --inexact

install-dev: uv libraries ## Install the service with the test and lint tools
	@$(UV) sync --frozen

libraries: ## Install the Debian libraries the printed documents need when missing (Pango, fonts)
	@scripts/system-libraries.sh

migrate: install ## Migrate the database to the newest schema
	@$(BIN)/dfims db upgrade

bootstrap: migrate ## Create the first admin when there is none; demo data into an empty catalog
	@$(BIN)/dfims bootstrap
	@$(BIN)/dfims demo load --if-empty

run: bootstrap ## Install, migrate, create the first admin and serve on http://$(HOST):$(PORT)
	@$(BIN)/dfims serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

format: install-dev ## Format the code
	@$(BIN)/ruff format app tests migrations scripts bench
	@$(BIN)/ruff check --fix app tests migrations scripts bench

lint: install-dev ## ruff
	@$(BIN)/ruff check app tests migrations scripts bench
	@$(BIN)/ruff format --check app tests migrations scripts bench

typecheck: install-dev ## mypy (strict on app/)
	@$(BIN)/mypy

test: lint typecheck ## The suite that needs nothing but Python (SQLite)
	@$(PYTEST) $(PYTHON_ONLY) $(PYTEST_ARGS)

services: ## Start PostgreSQL and Redis on this machine when they are not running
	@scripts/ci/services.sh

packages: ## Install nginx, Prometheus, its exporters, the PostgreSQL client when missing (Debian)
	@scripts/ci/packages.sh

shellcheck: packages ## Check the shell scripts
	@shellcheck scripts/*.sh scripts/ci/*.sh .ci/run

audit: install-dev ## Known vulnerabilities of the locked dependencies (pip-audit); AUDIT_OSV_URL, AUDIT_OFFLINE_OK
	@$(BIN)/python scripts/ci/audit.py

BENCH_ARGS ?=

bench: install-dev services packages ## Benchmarks on PostgreSQL, Redis and gunicorn (docs/PERFORMANCE.md); BENCH_ARGS="--help"
	@$(BIN)/python -m bench $(BENCH_ARGS)

test-sqlite: install-dev services
	@TEST_DATABASE=sqlite $(PYTEST) $(PYTEST_ARGS) $(NONE_SELECTED_OK)

test-postgres: install-dev services
	@TEST_DATABASE=postgres $(PYTEST) $(PYTEST_ARGS) $(NONE_SELECTED_OK)

test-all: lint typecheck shellcheck audit services ## Everything: lint, types, the dependency audit, the suite on SQLite and on PostgreSQL, with Redis, nginx, Prometheus
	@echo "== suite on SQLite (with Redis) =="
	@TEST_DATABASE=sqlite $(PYTEST) $(PYTEST_ARGS) $(NONE_SELECTED_OK)
	@echo "== suite on PostgreSQL (with Redis) =="
	@TEST_DATABASE=postgres $(PYTEST) $(PYTEST_ARGS) $(NONE_SELECTED_OK)

clean: ## Remove the virtual environment and caches (keeps data/ and logs/)
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache
