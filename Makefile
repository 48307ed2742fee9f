# kapiko — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed-stamp
DEV_STAMP := $(VENV)/.dev-stamp

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

# Set-up: uv (pinned in constraints.txt) installs the pinned set about ten times faster than
# pip. `make serve`, `make replica` and ingest get what serving and ingesting need
# (.[service,pipeline]); the test and lint tools (.[dev]) come with `make test`, `make lint` and
# `make venv`. The venv is made without pip and $(PYTHON)'s own pip puts uv into it (pip >= 22.3
# installs into another environment): 0.2 s instead of ensurepip's 4-6 s. A Python without pip
# gets the venv's own through ensurepip instead.
$(UV): constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or pass PYTHON=..." >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV)
	@echo "$(PYTHON) -m pip --python $(PY) install -c constraints.txt uv"
	@$(PYTHON) -m pip --python $(PY) install --quiet --quiet -c constraints.txt uv 2>/dev/null \
	  || { $(PY) -m ensurepip --default-pip >/dev/null && $(PY) -m pip install --quiet --quiet -c constraints.txt uv; }
	@touch $@

$(STAMP): pyproject.toml constraints.txt $(UV)
	$(UV) pip install --quiet --python $(PY) -c constraints.txt -e '.[service,pipeline]'
	@touch $@

$(DEV_STAMP): $(STAMP)
	$(UV) pip install --quiet --python $(PY) -c constraints.txt -e '.[dev]'
	@touch $@

.PHONY: venv
venv: $(DEV_STAMP) ## Create .venv with the pinned dependencies, test and lint tools included

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

# Serving the local folder runs `make ingest` first: a no-op in a fraction of a second when the
# dataset is up to date, a rebuild when the raw files, the catalogue or the code changed (a new
# schema). If ingest refuses, the dataset already published is served, with a warning. With
# KAPIKO_STORE (a bucket) or KAPIKO_CURATED_DIR (another folder) set, the service reads that,
# so there is nothing to ingest.
define ingest_first
	$(if $(KAPIKO_STORE)$(KAPIKO_CURATED_DIR),,@$(MAKE) --no-print-directory ingest || { \
	  test -e data/curated/current/manifest.json || exit 1; \
	  echo "make $@: ingest was refused (see above); serving the dataset already published" >&2; })
endef

# A large version's serving cache takes minutes to build: it is built before gunicorn starts
# (service/warm.py), by gunicorn's master for a folder and by this line for a bucket.
define warm_bucket
	$(if $(KAPIKO_STORE),$(PY) -m service.warm)
endef

.PHONY: serve
serve: $(STAMP) ## Run the API with gunicorn on HOST:PORT (default 127.0.0.1:8000)
	$(ingest_first)
	$(warm_bucket)
	$(VENV)/bin/gunicorn --config service/gunicorn_conf.py 'service:create_app()'

# The replica's settings (replica/settings.py has their defaults and docs/deploy.md their
# meaning); each is passed on only when given, e.g. `make replica RATE_LIMIT=20`.
REPLICA_SETTINGS := REPLICA_DIR RATE_LIMIT RATE_BURST EXPORTS_PER_CLIENT EXPORTS_PER_REPLICA \
  TRUSTED_PROXIES CLIENT_TIMEOUT PROXY_USER

.PHONY: replica
replica: $(STAMP) proxy-deps ## Serve on HOST:PORT as production does: nginx in front of gunicorn (docs/deploy.md)
	$(ingest_first)
	$(warm_bucket)
	$(strip $(foreach s,$(REPLICA_SETTINGS),$(if $($(s)),KAPIKO_$(s)='$($(s))')) $(PY) -m replica)

.PHONY: proxy-deps
proxy-deps: ## Install Debian's nginx for make replica and its tests if missing (apt, as root)
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { apt-get update && apt-get install -y nginx; }

.PHONY: curl-deps
curl-deps: ## Install Debian's curl if missing (the export tests download as `curl -OJ` does; apt, as root)
	@command -v curl >/dev/null || { apt-get update && apt-get install -y curl; }

.PHONY: browser-deps
browser-deps: ## Install Debian's chromium for the browser tests if missing (apt, as root)
	@command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }

.PHONY: test
test: $(DEV_STAMP) browser-deps proxy-deps curl-deps ## Run the whole test suite, one pytest worker a core
	$(PY) -m pytest -n auto --dist worksteal

.PHONY: screenshots
screenshots: $(DEV_STAMP) browser-deps ## Refresh docs/explorer-*.png (the explorer's browser tests take them)
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
lint: $(DEV_STAMP) $(REDOCLY_STAMP) ## ruff check, ruff format --check, mypy, and Redocly's rules on the OpenAPI document
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -c '$(OPENAPI_DOCUMENT)' > .tools/openapi.json
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true .tools/node_modules/.bin/redocly \
	  lint --extends=recommended-strict --format=stylish .tools/openapi.json

.PHONY: format
format: $(DEV_STAMP) ## Format the code with ruff
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: lock
lock: ## Re-resolve constraints.txt from pyproject.toml in a scratch environment
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --quiet uv
	.lock-venv/bin/uv pip install --quiet --python .lock-venv/bin/python -e '.[dev]'
	{ echo '# Exact versions CI and `make` install (uv pip install -c constraints.txt). Regenerate with `make lock`.'; \
	  .lock-venv/bin/pip freeze --exclude-editable; } > constraints.txt
	rm -rf .lock-venv

.PHONY: clean
clean: ## Remove the environment, the replica's run folder and every built data file (raw CSVs, curated, runs, cache)
	rm -rf $(VENV) .replica data/curated/versions data/curated/current data/curated/previous data/runs data/cache
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
bench: bench-deps ## Full benchmarks (~50 min, 40 of them at 1M-10M tracks; a quiet machine): tables + bench/out/results.json
	$(PY) -m bench

.PHONY: bench-quick
bench-quick: bench-deps ## Seconds-long smoke run of every benchmark (bench/out/results-quick.json; not a measurement)
	$(PY) -m bench --quick
