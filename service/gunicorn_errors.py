"""gunicorn's own error answers in the API's JSON envelope.

gunicorn answers some requests itself, before the app sees them: a request line over its
limit (414), too many or too large headers (431), a malformed request (400). It writes those
as HTML through gunicorn.util.write_error; `install` replaces that function, so every error a
client can get has the body {"error": ..., "status": N}, the CORS header and nosniff.
"""

from __future__ import annotations

import json
import socket
from typing import Any


def json_error(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP/1.1 error response with the API's JSON error body."""
    body = json.dumps({"error": f"{reason}: {message}", "status": status}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        "Access-Control-Allow-Origin: *\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def install() -> None:
    """Make gunicorn write its own error answers as JSON (called from gunicorn_conf.py)."""
    from gunicorn import util

    def write_error(sock: socket.socket, status_int: int, reason: str, mesg: Any) -> None:
        util.write_nonblock(sock, json_error(int(status_int), str(reason), str(mesg)))

    util.write_error = write_error
