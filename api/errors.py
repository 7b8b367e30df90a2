"""The one place where the core's error codes become HTTP statuses (RFC 9457 problem details)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from provenance.errors import (
    AuthForbidden,
    AuthRequired,
    ChainError,
    ConflictError,
    FormatError,
    InputError,
    KeyStoreError,
    LimitExceeded,
    NotFoundError,
    ProvenanceError,
    RpcUnavailable,
    ServiceUnavailable,
    StorageError,
    StorageFull,
    VerificationError,
)

log = logging.getLogger("api")

# Most specific first: the first class an error is an instance of gives its status.
STATUS_BY_CLASS: list[tuple[type[ProvenanceError], int]] = [
    (AuthRequired, 401),
    (AuthForbidden, 403),
    (LimitExceeded, 413),
    (InputError, 422),
    (FormatError, 422),
    (VerificationError, 422),
    (NotFoundError, 404),
    (ConflictError, 409),
    (RpcUnavailable, 503),
    (ServiceUnavailable, 503),
    (ChainError, 502),
    (StorageFull, 507),  # RFC 4918 Insufficient Storage
    (StorageError, 503),
    (KeyStoreError, 503),
]


# Refusals that a retry a moment later may not meet: their problem says when (seconds).
RETRY_AFTER = {
    "snapshot.in-progress": 1,
    "api.unreachable": 5,
    "chain.rpc-unavailable": 5,
    "storage.unavailable": 5,  # e.g. the database locked by another process
}


def status_of(error: ProvenanceError) -> int:
    for cls, status in STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    return 400


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"https://provenance-ledger.invalid/problems/{code}",
        "title": code,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def install(app: FastAPI) -> None:
    @app.exception_handler(ProvenanceError)
    async def _provenance(_: Request, e: ProvenanceError) -> JSONResponse:
        extra = {k: v for k, v in e.to_dict().items() if k not in ("code", "message")}
        response = problem(status_of(e), e.code, e.message, **extra)
        if e.code in RETRY_AFTER:
            response.headers["Retry-After"] = str(RETRY_AFTER[e.code])
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, e: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(err.get("loc", ())), "msg": err.get("msg", "")} for err in e.errors()]
        return problem(422, "request.invalid", "the request does not match the API", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        response = problem(e.status_code, f"http.{e.status_code}", str(e.detail))
        response.headers.update(e.headers or {})
        if e.status_code == 405:  # RFC 9110 §15.5.6: every method of the resource, from all its routes
            routes = getattr(request.app.state, "api_routes", ())
            path = request.url.path
            methods = {m for r in routes if r.path_regex.match(path) for m in r.methods or ()}
            if methods:
                response.headers["Allow"] = ", ".join(sorted(methods))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, e: Exception) -> JSONResponse:
        log.exception("unexpected error")  # the trace goes to the log, never to the client
        return problem(500, "internal", "internal error; the request was not applied")
