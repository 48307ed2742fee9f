"""gunicorn config for the worker benchmark: notes when each worker has loaded the app.

gunicorn calls post_worker_init once the worker has built the WSGI app (for our service: after
the curated dataset is loaded). The line "pid monotonic-seconds" goes to $BENCH_READY_FILE;
CLOCK_MONOTONIC is system-wide, so bench/workers.py compares it with its own start time.
"""

import os
import time
from typing import Any

from service.gunicorn_conf import on_starting  # the service's own preloading of its modules

__all__ = ["on_starting", "post_worker_init"]  # gunicorn reads these hooks from this module


def post_worker_init(worker: Any) -> None:
    """Append this worker's pid and the monotonic time it became ready."""
    with open(os.environ["BENCH_READY_FILE"], "a", encoding="utf-8") as handle:
        handle.write(f"{worker.pid} {time.monotonic()}\n")
