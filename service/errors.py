"""The API's one error body, and the handlers that answer every failure with it.

Every error is `{"error": "<what is wrong and what is allowed>", "status": N}` with the same N as
the HTTP status: bad parameters 400, unknown genre, track, artist or route 404, other methods 405
(with `Allow`), a mix path no track can continue 422, anything unexpected 500 (logged, without
internals in the body).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from service.dataset import to_json
from service.index import DamagedData
from service.params import NotFoundError, ParamError, UnprocessableError
from service.reload import Unavailable

RETRY_AFTER_S = "5"  # a new version verifies, or a damaged one is replaced, within seconds

LOG = logging.getLogger("service")
DOCS_HINT = "see /api/v1/openapi.json"


def error_body(message: str, status: int) -> dict[str, object]:
    """The canonical error payload."""
    return {"error": message, "status": status}


def error_response(message: str, status: int) -> Response:
    """A JSON error response with the canonical body."""
    return Response(to_json(error_body(message, status)), status, mimetype="application/json")


def register_error_handlers(app: Flask) -> None:
    """Answer parameter, lookup, HTTP and unexpected errors with the canonical body."""
    app.register_error_handler(ParamError, _bad_parameter)
    app.register_error_handler(NotFoundError, _not_found)
    app.register_error_handler(Unavailable, _unavailable)
    app.register_error_handler(DamagedData, _damaged)
    app.register_error_handler(UnprocessableError, _unprocessable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _bad_parameter(error: ParamError) -> Response:
    return error_response(str(error), 400)


def _not_found(error: NotFoundError) -> Response:
    return error_response(str(error), 404)


def _unprocessable(error: UnprocessableError) -> Response:
    return error_response(str(error), 422)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if isinstance(error, NotFound):
        message = f"Not found: no endpoint at {request.path[:200]}; {DOCS_HINT}"
    elif isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(error.valid_methods or ()))
        message = f"Method {request.method} is not allowed here; allowed methods: {allowed}"
    else:
        message = error.description or error.name
    response = error_response(message, status)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _unavailable(error: Unavailable) -> Response:
    response = error_response(str(error), 503)
    response.headers["Retry-After"] = RETRY_AFTER_S
    return response


def _damaged(error: DamagedData) -> Response:
    """Bytes that fail their checksum are never sent: 503, and the files verified again."""
    current_app.extensions["kapiko"].suspect(str(error))
    response = error_response(
        "the dataset's files failed a check while answering; they are being verified again: "
        "try again in a few seconds",
        503,
    )
    response.headers["Retry-After"] = RETRY_AFTER_S
    return response


def _unexpected(error: Exception) -> Response:
    LOG.exception("unexpected error answering %s %s", request.method, request.full_path)
    return error_response("Internal server error", 500)
