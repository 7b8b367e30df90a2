"""A dataset's verification policy: publish a new version (admin) and read the latest, with the
proof bundle that makes it checkable (provenance/policy.py).

Mounted before the datasets router: its ``/{name:path}`` would otherwise take these paths for
dataset names.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api import views
from api.auth import Admin
from api.deps import LedgerDep

router = APIRouter(prefix="/v1/datasets", tags=["policies"])


@router.put("/{name:path}/policy", status_code=201, dependencies=[Admin])
async def publish_policy(name: str, body: dict[str, Any], ledger: LedgerDep) -> dict[str, Any]:
    """A new version of ``ledger/policy/<name>`` holding ``body`` (``provenance-policy/v1``),
    signed with the dataset's server-held key and anchored like any snapshot."""
    result = await run_in_threadpool(ledger.policies.publish, name, body)
    return {**views.snapshot_json(result.snapshot), "created": result.created}


@router.get("/{name:path}/policy")
def latest_policy(name: str, ledger: LedgerDep) -> dict[str, Any]:
    """``{"policy", "version", "anchor", "bundle"}``: the latest policy and its record's proof
    bundle; ``provenance verify --policy`` checks the bundle before it grades data by it."""
    return ledger.policies.latest(name)
