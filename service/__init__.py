"""kapiko's read-only JSON API over the curated dataset, and the explorer page at `/` that shows
it: `create_app()` is the WSGI app factory.

Gunicorn runs `service:create_app()` without preload, so each worker loads the dataset after the
fork (Polars must not run in the master), and then follows the `current` pointer by itself
(service/reload.py). The service only reads the curated folder, or the S3 store
(service/store.py); it never imports the pipeline or Great Expectations.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from contract import CuratedDatasetError
from contract.store import STORE_ENV
from service import reload
from service.api import bp
from service.errors import register_error_handlers
from service.explorer import bp as explorer_bp
from service.headers import register_headers

LOG = logging.getLogger("service")
DEFAULT_CURATED_DIR = "data/curated/current"
DEFAULT_CACHE_DIR = "data/cache"  # where a worker keeps the versions it fetched from a bucket
DEFAULT_CACHE_MAX_AGE = 300  # seconds; revalidation with the ETag is cheap


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app and load the live dataset; raise CuratedDatasetError if it is unusable.

    Config: CURATED_DIR (default: env KAPIKO_CURATED_DIR, else data/curated/current in the cwd);
    STORE (env KAPIKO_STORE: s3://bucket/prefix serves that bucket instead, fetching versions
    into CACHE_DIR, env KAPIKO_CACHE_DIR, default data/cache); RELOAD_INTERVAL (env
    KAPIKO_RELOAD_INTERVAL: seconds between looks at the pointer, default 2, 0: never reload);
    CACHE_MAX_AGE (seconds, default 300); any Flask setting.
    """
    settings = {
        "CURATED_DIR": os.environ.get("KAPIKO_CURATED_DIR", DEFAULT_CURATED_DIR),
        "STORE": os.environ.get(STORE_ENV, ""),
        "CACHE_DIR": os.environ.get("KAPIKO_CACHE_DIR", DEFAULT_CACHE_DIR),
        "RELOAD_INTERVAL": os.environ.get(
            reload.RELOAD_INTERVAL_ENV, reload.DEFAULT_RELOAD_INTERVAL
        ),
        "CACHE_MAX_AGE": DEFAULT_CACHE_MAX_AGE,
        **(config or {}),
    }
    live, interval = _open_live(settings)
    # The loaded dataset lives as long as the worker: keep the collector from scanning it again
    # and again (full collections over it were the slowest requests, the p99). Frozen before the
    # app exists, so an app that is dropped (tests make many) is still collected, and its
    # dataset with it: the dataset holds no reference cycle, so frozen, it is freed by refcount.
    gc.collect()
    gc.freeze()
    app = Flask(__name__, static_folder=None)
    app.config.update(settings)
    app.url_map.merge_slashes = False  # /api/v1//stats is a 404, not a redirect built from Host
    if live.current is not None:
        LOG.info("serving curated dataset %s from %s", live.current.version, live.current.folder)
    app.extensions["kapiko"] = live
    register_error_handlers(app)
    app.register_blueprint(bp)
    app.register_blueprint(explorer_bp)
    register_headers(app, lambda: reload.request_dataset().version, app.config["CACHE_MAX_AGE"])
    if interval:
        reload.watch(live, interval)
    return app


def _open_live(config: Mapping[str, Any]) -> tuple[reload.LiveDataset, float]:
    """The live dataset and the reload interval. A setting that is wrong (a malformed store, a
    bad interval) stops the worker with one `cannot serve` line; data that cannot be served does
    not: the worker answers 503 with the reason, logged once, and serves what is published next
    (a worker that stopped would stop the service: gunicorn gives up when workers fail to boot)."""
    try:
        interval = reload.reload_interval(config["RELOAD_INTERVAL"])
        source = reload.dataset_source(config)
    except (CuratedDatasetError, ValueError) as error:
        LOG.error("cannot serve: %s", error)
        raise
    live = reload.LiveDataset(source)
    if live.current is None:
        advice = "" if config["STORE"] else "; run `make ingest` (or set KAPIKO_CURATED_DIR)"
        LOG.error(
            "cannot serve: %s%s; answering 503 until a version verifies", live.problem, advice
        )
    elif live.status == "degraded":
        LOG.warning(
            "serving %s, not what the pointer names: %s", live.current.version, live.problem
        )
    return live, interval
