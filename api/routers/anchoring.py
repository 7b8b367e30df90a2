"""Anchoring state: the outbox, the log's checkpoints and consistency, the registry deployment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api import views
from api.deps import LedgerDep, LogFrom, LogTo
from provenance.errors import NotFoundError

router = APIRouter(tags=["anchoring"])


@router.get("/v1/anchors")
def list_anchors(
    ledger: LedgerDep, state: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[Any]:
    return [views.anchor_json(r) for r in ledger.anchors(state, limit)]


@router.get("/v1/checkpoints")
def list_checkpoints(
    ledger: LedgerDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    return [views.checkpoint_json(r, anchor) for r, anchor in ledger.checkpoints(limit)]


@router.get("/v1/checkpoints/latest")
def latest_checkpoint(ledger: LedgerDep) -> dict[str, Any]:
    row = ledger.latest_checkpoint()
    if row is None:
        raise NotFoundError("no checkpoint yet", code="checkpoint.not-found")
    return {
        "size": row.size,
        "root": "0x" + bytes(row.root).hex(),
        "note": row.note,
        "logKey": ledger.log_key(),
    }


@router.get("/v1/log/consistency")
def log_consistency(ledger: LedgerDep, from_: LogFrom, to: LogTo) -> dict[str, Any]:
    return ledger.log_consistency(from_, to)


@router.get("/v1/deployment")
def deployment(ledger: LedgerDep) -> dict[str, Any]:
    return ledger.deployment()
