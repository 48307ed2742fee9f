"""Baseline apps for the HTTP benchmark: the ceilings our service is compared with.

`bare` is a plain WSGI function and `flask_app` a one-view Flask app; both answer every request
with a precomputed JSON body and compute nothing. With `BENCH_BODIES` set to a JSON file mapping
request URI -> body (our service's own responses to the mix), each URL gets the bytes the service
would send; otherwise, and for unknown URIs, a fixed small body.

    gunicorn -w 2 'bench.baseline_apps:bare'
    gunicorn -w 2 'bench.baseline_apps:flask_app'
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request

FIXED_BODY = b'{"data":{"status":"ok","tracks":100,"genres":1}}'
HEADERS = [("Content-Type", "application/json")]


def load_bodies() -> dict[str, bytes]:
    """Request URI -> body, from the JSON file named by $BENCH_BODIES (empty if unset)."""
    path = os.environ.get("BENCH_BODIES")
    if not path:
        return {}
    with open(path, encoding="utf-8") as handle:
        return {uri: body.encode() for uri, body in json.load(handle).items()}


BODIES = load_bodies()


def request_uri(environ: dict[str, Any]) -> str:
    """The request's path and query string as the client sent them."""
    if "RAW_URI" in environ:  # gunicorn
        return str(environ["RAW_URI"])
    query = environ.get("QUERY_STRING", "")
    return environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")


def body_for(environ: dict[str, Any]) -> bytes:
    """The precomputed body for this request (the fixed body if none was precomputed)."""
    return BODIES.get(request_uri(environ), FIXED_BODY)


def bare(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """(a) Bare WSGI: the precomputed body, nothing else."""
    body = body_for(environ)
    start_response("200 OK", [*HEADERS, ("Content-Length", str(len(body)))])
    return [body]


flask_app = Flask(__name__)


@flask_app.route("/", defaults={"path": ""})
@flask_app.route("/<path:path>")
def precomputed(path: str) -> Response:
    """(b) Flask: one view returning the precomputed body."""
    return Response(body_for(request.environ), mimetype="application/json")
