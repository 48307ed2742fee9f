"""ASGI app for gunicorn's uvicorn worker: Datasette serving the exported tracks database.

Runs only in the Datasette venv (bench/.venv-datasette). Settings a peer would use for a
read-only JSON API: immutable database, no facet suggestions. `BENCH_SQLITE` names the file.
"""

from __future__ import annotations

import os

from datasette.app import Datasette

DATABASE = os.environ["BENCH_SQLITE"]

app = Datasette(
    immutables=[DATABASE],
    settings={"suggest_facets": False, "default_cache_ttl": 0},
).app()
