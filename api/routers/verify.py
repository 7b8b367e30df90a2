"""Verification of a proof bundle by the service (the request and its verdict are stored)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api import uploads
from api.deps import LedgerDep, MetricsDep, SettingsDep

router = APIRouter(tags=["verify"])


@router.post("/v1/verify")
async def verify(
    request: Request, ledger: LedgerDep, settings: SettingsDep, metrics: MetricsDep, offline: bool = False
) -> dict[str, Any]:
    data = await uploads.read_limited(request, settings.max_bundle_bytes)
    client = request.client.host if request.client else None
    verdict = await run_in_threadpool(ledger.verify, data, offline=offline, client=client)
    metrics.verifications.labels(verdict["status"]).inc()
    return verdict
