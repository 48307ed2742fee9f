# kapiko — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
GENRES ?=
# Only from the command line (make rollback VERSION=...): an environment VERSION must not leak in.
VERSION :=

export KAPIKO_HOST := $(HOST)
export KAPIKO_PORT := $(PORT)
export KAPIKO_WORKERS := $(WORKERS)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or pass PYTHON=..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

.PHONY: venv
venv: $(STAMP) ## Create .venv with the pinned dependencies

.PHONY: raw
raw: $(STAMP) ## Write data/raw/<id>.csv for catalogue genres that have none (GENRES=all: every upstream genre)
	$(PY) -m pipeline raw $(if $(GENRES),--genres $(GENRES))

.PHONY: ingest
ingest: raw ## Validate data/raw and publish a new curated dataset (ARGS=--force to rebuild)
	$(PY) -m pipeline ingest $(ARGS)

.PHONY: rollback
rollback: $(STAMP) ## Step data/curated/current back one version (VERSION=<version>: that one)
	$(PY) -m pipeline rollback $(if $(VERSION),--version $(VERSION))

.PHONY: versions
versions: $(STAMP) ## List the curated versions: created_at, tracks, which is current
	$(PY) -m pipeline versions

# Serving the local folder ingests first: a no-op in a fraction of a second when the dataset is
# up to date, a rebuild when the raw files, the catalogue or the code changed (a new schema).
# With KAPIKO_STORE set the service reads the bucket, so no local dataset is needed.
.PHONY: serve
# Serving the local folder runs `make ingest` first (it rebuilds a dataset older code wrote);
# if ingest refuses, the dataset already published is served, with a warning.
serve: $(STAMP) ## Run the API with gunicorn on HOST:PORT (default 127.0.0.1:8000)
	$(if $(KAPIKO_STORE),,@$(MAKE) --no-print-directory ingest || { \
	  test -e data/curated/current/manifest.json || exit 1; \
	  echo "make serve: ingest was refused (see above); serving the dataset already published" >&2; })
	$(VENV)/bin/gunicorn --config service/gunicorn_conf.py 'service:create_app()'

.PHONY: browser-deps
browser-deps: ## Install Debian's chromium for the browser tests if missing (apt, as root)
	@command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }

.PHONY: test
test: $(STAMP) browser-deps ## Run the whole test suite
	$(PY) -m pytest

.PHONY: screenshots
screenshots: $(STAMP) browser-deps ## Refresh docs/explorer-*.png (the explorer's browser tests take them)
	KAPIKO_SCREENSHOTS=docs $(PY) -m pytest -q tests/test_explorer.py

# The OpenAPI linter: Redocly CLI from npm (Node.js 20+), pinned, in .tools/ (not global).
REDOCLY_VERSION := 2.77.0
REDOCLY_STAMP := .tools/.redocly-$(REDOCLY_VERSION)
# The document the app serves at /api/v1/openapi.json (with the default Cache-Control max-age).
OPENAPI_DOCUMENT := import json, sys; from service import DEFAULT_CACHE_MAX_AGE; \
  from service.openapi import openapi_document; \
  json.dump(json.loads(openapi_document(DEFAULT_CACHE_MAX_AGE)), sys.stdout, indent=2)

$(REDOCLY_STAMP):
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20 or later" >&2; exit 1; }
	npm install --prefix .tools --no-audit --no-fund --save-exact --loglevel=error @redocly/cli@$(REDOCLY_VERSION)
	@touch $@

.PHONY: lint
lint: $(STAMP) $(REDOCLY_STAMP) ## ruff check, ruff format --check, mypy, and Redocly's rules on the OpenAPI document
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -c '$(OPENAPI_DOCUMENT)' > .tools/openapi.json
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true .tools/node_modules/.bin/redocly \
	  lint --extends=recommended-strict --format=stylish .tools/openapi.json

.PHONY: format
format: $(STAMP) ## Format the code with ruff
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: lock
lock: ## Re-resolve constraints.txt from pyproject.toml in a scratch environment
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev,bench]'
	{ echo '# Exact versions CI and `make` install (pip install -c constraints.txt). Regenerate with `make lock`.'; \
	  .lock-venv/bin/pip freeze --exclude-editable; } > constraints.txt
	rm -rf .lock-venv

.PHONY: clean
clean: ## Remove the environment and every built data file (raw CSVs, curated, runs, cache)
	rm -rf $(VENV) data/curated/versions data/curated/current data/curated/previous data/runs data/cache
	rm -f data/raw/*.csv data/raw/upstream.json

# ---------------------------------------------------------------- benchmarks (bench/, docs/performance.md)
DATASETTE_VENV := bench/.venv-datasette
DATASETTE_STAMP := $(DATASETTE_VENV)/.installed-stamp

$(DATASETTE_STAMP): bench/constraints-datasette.txt
	$(PYTHON) -m venv $(DATASETTE_VENV)
	$(DATASETTE_VENV)/bin/python -m pip install --quiet -c bench/constraints-datasette.txt \
	  datasette gunicorn uvicorn-worker
	@touch $@

.PHONY: bench-deps
bench-deps: $(STAMP) $(DATASETTE_STAMP) ## Install wrk (Debian package, if missing) and Datasette's own venv
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

.PHONY: bench
bench: bench-deps ## Full benchmarks (~10 min, run on a quiet machine): tables + bench/out/results.json
	$(PY) -m bench

.PHONY: bench-quick
bench-quick: bench-deps ## Seconds-long smoke run of every benchmark (bench/out/results-quick.json; not a measurement)
	$(PY) -m bench --quick
