"""The source registry: signing addresses the ledger accepts (pushed to the chain by the worker)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api import views
from api.auth import Admin
from api.deps import LedgerDep
from provenance.errors import InputError

router = APIRouter(prefix="/v1/sources", tags=["sources"])


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # JSON types as documented: no 0 for false
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    name: str = Field(max_length=128)


@router.get("")
def list_sources(ledger: LedgerDep) -> list[dict[str, Any]]:
    return [views.source_json(r) for r in ledger.list_sources()]


@router.post("", status_code=201, dependencies=[Admin])
def register_source(body: SourceIn, ledger: LedgerDep) -> dict[str, Any]:
    return views.source_json(ledger.register_source(body.address, body.name))


@router.delete("/{address}", dependencies=[Admin])
def revoke_source(address: str, ledger: LedgerDep) -> dict[str, Any]:
    if not (address.startswith("0x") and len(address) == 42):
        raise InputError("address must be 0x and 40 hex digits", code="input.bad-address")
    return views.source_json(ledger.revoke_source(address))


@router.get("/{address}/record")
def track_record(address: str, ledger: LedgerDep) -> dict[str, Any]:
    """The source's track record: snapshots published and anchored, anchor delay, versions late
    against their dataset's declared cadence, retractions, disputes, rule failures and key
    rotations — each from the chain's events and the published snapshots (docs/track-record.md)."""
    if not (address.startswith("0x") and len(address) == 42):
        raise InputError("address must be 0x and 40 hex digits", code="input.bad-address")
    return ledger.track_record.record(address)
