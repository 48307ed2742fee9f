"""Headers every response gets: CORS for all origins, and HTTP caching for successful GETs.

CORS: flask-cors (part of the project's fixed stack) adds `Access-Control-Allow-Origin: *` to every
response, errors included, and answers preflight requests. Its after_request hook costs about
50 us a request, a sixth of a whole listing request in-process, so the views' successful JSON
responses are built with the same two headers already set (CORS_HEADERS); flask-cors leaves a
response that already has Access-Control-Allow-Origin as it is. A test checks that the preset
headers equal the ones flask-cors sets, so the two cannot drift apart.

Caching: a body only changes when a new dataset version is published or new code renders it,
so a successful GET/HEAD of the API (JSON, a CSV or NDJSON file, a streamed export alike) gets
an ETag made of the version of the dataset that answered it (service/reload.py), a digest of
the service's code, and a checksum of the full URL (path and query), and `Cache-Control:
public, max-age=<CACHE_MAX_AGE>`; a matching
If-None-Match gets 304, and a streamed body is then never generated. The explorer's static
files change with the code, not the dataset: service/explorer.py gives them their own
validators.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Request, Response, request
from flask_cors import CORS
from werkzeug.wrappers import Response as WerkzeugResponse

API_BLUEPRINT = "api"
UNCACHED_ENDPOINTS = frozenset({"api.health"})
ALLOWED_METHODS = "GET, HEAD, OPTIONS"
ALLOWED_ORIGINS = "*"
# Link: the next page of a listing (keyset paging), which a browser client must be able to read.
EXPOSED_HEADERS = ("Content-Disposition", "ETag", "Link")  # in the order flask-cors writes them
# What flask-cors sets on a simple (non-preflight) request, preset on successful responses.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": ALLOWED_ORIGINS,
    "Access-Control-Expose-Headers": ", ".join(EXPOSED_HEADERS),
}
PREFLIGHT_MAX_AGE = "86400"
_CACHEABLE_METHODS = frozenset({"GET", "HEAD"})


def _code_digest() -> str:
    """A digest of the code that writes the API's bodies: the service and the contract."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*here.glob("*.py"), *(here.parent / "contract").glob("*.py")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


# A version names its data only, so a body also depends on the code that renders it: a release
# that changes a response changes every ETag, and no cache keeps the old body as current.
CODE = _code_digest()


def etag_for(version: str, full_path: str) -> str:
    """Strong ETag (quoted) for one URL of one dataset version, as this code renders it."""
    return f'"{version}-{CODE}-{zlib.crc32(full_path.encode()):08x}"'


def register_headers(app: Flask, version: Callable[[], str], max_age: int) -> None:
    """Add the CORS headers to every response of app and the caching headers to GETs.

    `version()` names the dataset version the request was answered from (it changes on reload).
    """
    cache_control = f"public, max-age={max_age}"

    def finish(response: Response) -> WerkzeugResponse:
        req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
        response.headers["X-Content-Type-Options"] = "nosniff"  # every response, errors too
        # Only the API's answers follow the dataset; the explorer's files set their own headers.
        if (
            req.blueprint == API_BLUEPRINT
            and req.method in _CACHEABLE_METHODS
            and response.status_code == 200
        ):
            if req.endpoint in UNCACHED_ENDPOINTS:
                response.headers.add("Cache-Control", "no-store")
            else:
                etag = etag_for(version(), req.full_path)
                return _cacheable(response, req, etag, cache_control)
        return response

    app.after_request(finish)
    # Registered after `finish`, so it runs first (Flask runs after_request hooks in reverse)
    # and the 304 that `finish` may return carries the CORS header too.
    CORS(
        app,
        origins=ALLOWED_ORIGINS,
        send_wildcard=True,
        vary_header=False,  # one origin policy for all, so caches need not vary on Origin
        methods=ALLOWED_METHODS,
        expose_headers=list(EXPOSED_HEADERS),
        max_age=PREFLIGHT_MAX_AGE,
    )


def _cacheable(response: Response, req: Request, etag: str, cache_control: str) -> WerkzeugResponse:
    headers = response.headers
    headers.add("ETag", etag)
    headers.add("Cache-Control", cache_control)
    if "If-None-Match" in req.headers:
        return response.make_conditional(req)
    return response
