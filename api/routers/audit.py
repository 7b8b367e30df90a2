"""The audit console at ``/audit``: a static page (built from ``web/`` by esbuild at setup) that
verifies in the browser. The service hands it documents and a starting configuration; every check
runs in the browser against the chain's own JSON-RPC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from api.deps import LedgerDep
from provenance.errors import NotFoundError, ServiceUnavailable

router = APIRouter(tags=["audit"])

STATIC = Path(__file__).resolve().parents[1] / "static" / "audit"
FILES = {"app.js": "text/javascript", "app.css": "text/css", "audit.html": "text/html"}
# The page's own scripts only; the chain's RPC can be any URL the auditor picks.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src *; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _file(name: str) -> Response:
    path = STATIC / name
    if not path.is_file():
        raise ServiceUnavailable(
            "the audit console is not built: run `make setup` (esbuild bundles web/ into api/static/audit/)",
            code="console.not-built",
        )
    return FileResponse(path, media_type=FILES[name], headers={"Content-Security-Policy": CSP})


@router.get("/audit", include_in_schema=False)
def page() -> Response:
    return _file("audit.html")


@router.get("/audit/config.json")
def config(ledger: LedgerDep) -> dict[str, Any]:
    """Where the console starts: the chain's RPC URL and the registry. Shown and editable."""
    try:
        deployment: dict[str, Any] | None = ledger.deployment()
    except NotFoundError:
        deployment = None
    return {"rpcUrl": ledger.public_rpc_url(), "deployment": deployment}


@router.get("/audit/{name}", include_in_schema=False)
def asset(name: str) -> Response:
    if name not in FILES:
        raise NotFoundError(f"no console file {name!r}", code="console.not-found")
    return _file(name)
