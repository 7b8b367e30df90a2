"""The OpenAPI document, made to tell the truth: every error is an RFC 9457 problem
(``application/problem+json``, the ``Problem`` schema) with the statuses ``api.errors`` maps the
core's errors to, and the routes that answer something other than JSON say what they answer.
schemathesis holds the live service to this document (``tests/integration/http/test_openapi.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.auth import require_admin

PROBLEM_JSON = "application/problem+json"
PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable (docs/ARCHITECTURE.md lists every one)",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
    "additionalProperties": True,  # where the problem is: line, column, errors, ...
}
WHY = {
    "400": "a refusal with no more specific status",
    "401": "the admin token is missing",
    "403": "the admin token is not valid",
    "404": "no such dataset, version, record, checkpoint or deployment",
    "409": "a conflicting version, or one being built (with Retry-After)",
    "413": "over a size or record limit",
    "422": "the request, the upload or the document is malformed or refused",
    "502": "the chain answered with an error",
    "503": "the store or the chain is unavailable, or the stored data is corrupt",
    "507": "the server's disk is full: nothing of the request was stored",
}
# What a route answers on success when it is not JSON.
SUCCESS = {
    "/metrics": {"text/plain": {"schema": {"type": "string"}}},
    "/v1/datasets/{name}/versions/{version}/records": {"application/jsonl": {"schema": {"type": "string"}}},
}


def install(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """``routers``: those the app includes (FastAPI no longer lists their routes in ``app.routes``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
            doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
            for route in (r for router in routers for r in router.routes):
                if isinstance(route, APIRoute) and route.include_in_schema:
                    for method in route.methods or ():
                        operation = doc["paths"][route.path_format].get(method.lower())
                        if operation is not None:
                            _document(operation, route, method)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document(operation: dict[str, Any], route: APIRoute, method: str) -> None:
    responses = operation.setdefault("responses", {})
    if route.path_format in SUCCESS:
        for status in [s for s in responses if s.startswith("2")]:
            responses[status]["content"] = dict(SUCCESS[route.path_format])
    if route.path_format == "/v1/verifications" and method == "GET":
        responses["200"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    if route.path_format == "/readyz":
        content = responses["200"]["content"]
        responses["503"] = {"description": "not ready: a check failed", "content": content}
    for status in _errors(route, method):
        responses[status] = {
            "description": WHY[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }


def _errors(route: APIRoute, method: str) -> list[str]:
    takes_input = route.dependant.query_params or route.dependant.path_params or method != "GET"
    statuses = ["422"] if takes_input else []
    if route.path_format.startswith("/v1/"):
        statuses += ["400", "502", "503"]
    if route.dependant.path_params:
        statuses.append("404")
    admin = any(d.call is require_admin for d in route.dependant.dependencies)
    if admin or any(p.name == "authorization" for p in route.dependant.header_params):
        statuses += ["401", "403"]
    if method in ("POST", "DELETE"):
        statuses += ["404", "409", "413", "507"]
    return sorted(set(statuses))
