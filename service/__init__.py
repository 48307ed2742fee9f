"""kapiko's read-only JSON API over the curated dataset, and the explorer page at `/` that shows
it: `create_app()` is the WSGI app factory.

Gunicorn runs `service:create_app()` without preload, so each worker loads the dataset after the
fork (Polars must not run in the master). The service only reads the curated folder; it never
imports the pipeline or Great Expectations.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from contract import CuratedDatasetError
from service.api import bp
from service.dataset import load_dataset
from service.errors import register_error_handlers
from service.explorer import bp as explorer_bp
from service.headers import register_headers

LOG = logging.getLogger("service")
DEFAULT_CURATED_DIR = "data/curated/current"
DEFAULT_CACHE_MAX_AGE = 300  # seconds; revalidation with the ETag is cheap


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app and load the curated dataset; raise CuratedDatasetError if it is unusable.

    Config: CURATED_DIR (default: env KAPIKO_CURATED_DIR, else data/curated/current in the cwd),
    CACHE_MAX_AGE (seconds, default 300), plus any Flask setting.
    """
    app = Flask(__name__, static_folder=None)
    app.config.update(
        CURATED_DIR=os.environ.get("KAPIKO_CURATED_DIR", DEFAULT_CURATED_DIR),
        CACHE_MAX_AGE=DEFAULT_CACHE_MAX_AGE,
    )
    app.config.update(config or {})
    directory = Path(app.config["CURATED_DIR"])
    try:
        dataset = load_dataset(directory)
    except CuratedDatasetError as error:
        LOG.error("cannot serve: %s; run `make ingest` (or set KAPIKO_CURATED_DIR)", error)
        raise
    LOG.info("serving curated dataset %s from %s", dataset.version, dataset.folder)
    app.extensions["kapiko"] = dataset
    register_error_handlers(app)
    app.register_blueprint(bp)
    app.register_blueprint(explorer_bp)
    register_headers(app, dataset.version, app.config["CACHE_MAX_AGE"])
    # The loaded dataset lives as long as the worker: keep the collector from scanning it again
    # and again (full collections over it were the slowest requests, the p99).
    gc.freeze()
    return app
