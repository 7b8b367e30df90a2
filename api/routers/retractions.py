"""A version's retraction: hand one in (source-signed, or server-signed by the admin) and read it.

Mounted before the datasets router: its ``/{name:path}`` would otherwise take these paths for
dataset names.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from api.auth import check_admin
from api.deps import LedgerDep, Version

router = APIRouter(prefix="/v1", tags=["retractions"])


class RetractionIn(BaseModel):
    """``signedRetraction``: a ``Retraction`` signed by the snapshot's source (no token needed);
    or ``reason`` alone, signed by the server with the dataset's server-held key (admin token)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    reason: str | None = Field(default=None, min_length=1, max_length=4096)
    signedRetraction: dict[str, Any] | None = None  # noqa: N815 - JSON field name


@router.post("/datasets/{name:path}/versions/{version}/retraction", status_code=201)
async def retract(
    name: str,
    version: Version,
    body: RetractionIn,
    request: Request,
    ledger: LedgerDep,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    if body.signedRetraction is None:
        check_admin(request, authorization)
    return await run_in_threadpool(
        ledger.retractions.retract, name, version, reason=body.reason, signed=body.signedRetraction
    )


@router.get("/datasets/{name:path}/versions/{version}/retraction")
def retraction(name: str, version: Version, ledger: LedgerDep) -> dict[str, Any]:
    return ledger.retractions.retraction(name, version)


@router.get("/retractions")
def retractions(ledger: LedgerDep) -> list[dict[str, Any]]:
    """Every retraction, newest first: the snapshot, the reason, its signer and whether the
    registry has recorded it yet (``queued``, ``sent``, ``mined``, ``confirmed``)."""
    return ledger.retractions.listing()


@router.get("/datasets/{name:path}/versions/{version}/disputes")
def disputes(name: str, version: Version, ledger: LedgerDep) -> list[dict[str, Any]]:
    """The disputes raised on-chain against this version (``SnapshotDisputed`` events: anyone
    may raise one with their own key), read from the chain."""
    return ledger.track_record.disputes(name, version)
