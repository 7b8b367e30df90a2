"""Verification of a proof bundle by the service, and the audit trail: every verification, by the
service or in an auditor's browser, with its verdict per check."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api import uploads, views
from api.deps import LedgerDep, MetricsDep, SettingsDep
from provenance.errors import InputError

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


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    check: str = Field(max_length=64)
    status: Literal["valid", "invalid", "absent", "pending", "skipped", "not-applicable"]
    reason: str = Field(default="", max_length=128)


class ConsoleVerdictIn(BaseModel):
    """What the audit console saw, checked in the browser; the trail records it as the
    auditor's verdict, not as the service's."""

    model_config = ConfigDict(extra="forbid", strict=True)  # JSON types as documented: no 0 for false
    bundleSha256: str = Field(pattern=r"^0x[0-9a-f]{64}$")  # noqa: N815 - JSON field name
    status: Literal["valid", "invalid", "retracted", "incomplete", "unusable"]
    offline: bool = False
    dataset: str | None = Field(default=None, max_length=128)
    version: int | None = Field(default=None, ge=1, le=2**63 - 1)
    checks: list[CheckIn] = Field(default_factory=list, max_length=64)


@router.post("/v1/verifications", status_code=201)
def record_console_verification(
    body: ConsoleVerdictIn, request: Request, ledger: LedgerDep
) -> dict[str, Any]:
    verdict = {
        "status": body.status,
        "offline": body.offline,
        "by": "console",
        "checks": [c.model_dump() for c in body.checks],
    }
    subject = (body.dataset, body.version) if body.dataset and body.version else None
    client = request.client.host if request.client else None
    pk = ledger.record_console_verification(bytes.fromhex(body.bundleSha256[2:]), verdict, subject, client)
    return {"requestId": pk}


@router.get("/v1/verifications", response_model=None)
def verifications(
    ledger: LedgerDep,
    since: Annotated[str | None, Query(json_schema_extra={"format": "date-time"})] = None,
    until: Annotated[str | None, Query(json_schema_extra={"format": "date-time"})] = None,
    dataset: Annotated[str | None, Query(max_length=128)] = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> list[dict[str, Any]] | Response:
    """The audit trail, oldest first: every verification with its verdict per check."""
    window = {"since": _instant(since, "since"), "until": _instant(until, "until")}
    trail = ledger.verification_trail(**window, dataset=dataset, after_id=after, limit=limit)
    rows = [views.verification_json(r) for r in trail]
    if fmt == "json":
        return rows
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*views.VERIFICATION_CSV_COLUMNS, "checks"])
    for r in rows:
        failed = ";".join(f"{c['check']}={c['reason']}" for c in r["checks"] if c["status"] == "invalid")
        writer.writerow([*(r[c] for c in views.VERIFICATION_CSV_COLUMNS), failed])
    return Response(out.getvalue(), media_type="text/csv")


def _instant(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 date-time, as the API documents it (pydantic also took a number as a Unix time)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{name} must be an ISO 8601 date-time", code="input.bad-time") from None
