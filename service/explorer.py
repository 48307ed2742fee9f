"""The explorer: a static page at / that shows the data through the public API, and its files.

The page is plain HTML, CSS and JavaScript in service/static/explorer/ (no build step, nothing
from a CDN); it calls only /api/v1. Only the listed files are served: any other path outside the
API still gets the JSON 404. The files change with the code, not with the dataset, so they carry
an ETag of their own content and `Cache-Control: no-cache`: a browser revalidates them on every
load (a 304 while they are unchanged) and never runs yesterday's script against today's API.
The page's Content-Security-Policy lets it load and fetch from its own origin only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, Response, request
from werkzeug.exceptions import NotFound

bp = Blueprint("explorer", __name__)

STATIC = Path(__file__).parent / "static" / "explorer"
PAGE = "index.html"
MEDIA_TYPES = {
    PAGE: "text/html; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "search.js": "text/javascript; charset=utf-8",
    "track.js": "text/javascript; charset=utf-8",
    "discover.js": "text/javascript; charset=utf-8",
}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@bp.get("/")
def page() -> Response:
    return static_file(PAGE)


@bp.get("/explorer/<name>")
def asset(name: str) -> Response:
    if name == PAGE or name not in MEDIA_TYPES:
        raise NotFound()
    return static_file(name)


def static_file(name: str) -> Response:
    """One of the explorer's files, revalidated by its content hash on every use."""
    content = (STATIC / name).read_bytes()
    response = Response(content, content_type=MEDIA_TYPES[name])
    response.set_etag(hashlib.sha256(content).hexdigest()[:20])
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if name == PAGE:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.make_conditional(request)
    return response
