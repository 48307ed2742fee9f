"""Gunicorn settings for `make serve`: bind, workers and logs, all to stdout.

Run as `gunicorn --config service/gunicorn_conf.py 'service:create_app()'`. There is no
preload_app: each worker builds the app, and so loads the dataset, after the fork, because Polars
*used* in the master makes forked workers hang. The master only imports the service's modules
(`on_starting`), which starts no Polars work, so every worker shares those modules' memory
instead of importing its own copy (about 45 MB a worker).
"""

import os
from typing import Any

# One BLAS thread per worker, set before anything loads numpy: gunicorn runs about one worker a
# core, and OpenBLAS's own threads spin while they wait, taking the cores the other workers need
# (measured: /tracks/<id>/similar under load went from 348 to 1,117 requests/s with 2 workers).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

bind = f"{os.environ.get('KAPIKO_HOST', '127.0.0.1')}:{os.environ.get('KAPIKO_PORT', '8000')}"
workers = int(os.environ.get("KAPIKO_WORKERS", "2"))
preload_app = False
control_socket_disable = True  # gunicorn >= 25 would otherwise open a control socket in $HOME

# Timeouts, on purpose (docs/deploy.md lists every layer's). A sync worker that says nothing to
# the master for `timeout` s is killed: no request takes more than about a second of a worker
# (behind make replica's nginx even a full export is handed over at once), so 30 s only ever
# catches a stuck worker. On a stop, workers get `graceful_timeout` s to finish their request.
# `keepalive` applies to other worker classes only: a sync worker closes every connection.
timeout = 30
graceful_timeout = 10
keepalive = 2

accesslog = "-"
errorlog = "-"
# Behind nginx (make replica sets KAPIKO_ACCESS_LOG=off) nginx logs each request, with the
# client's address, which gunicorn on its Unix socket never sees.
_ACCESS_LEVEL = "WARNING" if os.environ.get("KAPIKO_ACCESS_LOG") == "off" else "INFO"
# gunicorn sends errorlog "-" to stderr; this sends its error log, its access log and the
# service's own log ("service" logger) to stdout, one format.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "WARNING", "handlers": ["stdout"]},
    "loggers": {
        name: {"level": level, "handlers": ["stdout"], "propagate": False, "qualname": name}
        for name, level in (
            ("gunicorn.error", "INFO"),
            ("gunicorn.access", _ACCESS_LEVEL),
            ("service", "INFO"),
        )
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stdout",
        }
    },
    "formatters": {
        "generic": {
            "()": "service.logs.EscapingFormatter",
            "fmt": "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
        }
    },
}


def on_starting(server: object) -> None:
    """In the master, before any worker: import the service (modules only; no dataset, no
    Polars work), build a large version's serving cache in a child process, and freeze what
    that made, so forked workers share it copy-on-write."""
    import gc

    import service  # noqa: F401  (imported for its side effect: the modules are loaded)
    from service.gunicorn_errors import install

    install()  # gunicorn's own 400, 414 and 431 answers in the API's JSON envelope

    if os.environ.get("KAPIKO_STORE", "").strip():
        import boto3  # noqa: F401  (serving a bucket: boto3's modules too, about 9 MB)

    # A version of millions of tracks in a folder: its serving cache is built now, in a child
    # process, before any worker boots (a worker building it would outlive `timeout`;
    # service/warm.py). Not from a bucket: the master must not open boto3's connections, which
    # forked workers would share (the Makefile runs `python -m service.warm` first instead).
    from contract import CuratedDatasetError
    from service.warm import settings, warm

    config = settings()
    try:
        if not config["STORE"].strip():
            warm(config)
    except CuratedDatasetError as error:  # the workers say why too, and answer 503
        server.log.error("cannot build the serving cache: %s", error)  # type: ignore[attr-defined]
    except Exception:  # a folder it cannot write, a failed fork: the workers try again
        # gunicorn runs this hook outside its own error handling: anything raised here stops
        # the master, where a worker that meets the same trouble answers 503 and recovers.
        server.log.exception("cannot build the serving cache")  # type: ignore[attr-defined]
    gc.freeze()


def post_fork(server: object, worker: Any) -> None:
    """In each worker: a serving cache it builds or waits for while it boots (a version the
    master did not warm: a fallback, an entry found damaged) keeps it alive for gunicorn."""
    from service import cache

    cache.HEARTBEAT = worker.notify
