"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import LedgerDep, MetricsDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(ledger: LedgerDep, chain: Literal["required", "optional"] = "required") -> JSONResponse:
    """Ready when the database and the chain answer. ``?chain=optional`` leaves the chain out, for
    a load balancer that should keep sending proof reads (which need no chain) during an outage."""
    checks = ledger.readiness()
    ready = checks["database"] == "ok" and (chain == "optional" or checks.get("chain", "ok").startswith("ok"))
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics")
def prometheus(ledger: LedgerDep, metrics: MetricsDep) -> Response:
    for state, count in ledger.anchor_state_counts().items():
        metrics.anchors.labels(state).set(count)
    metrics.log_size.set(ledger.log_size())
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
