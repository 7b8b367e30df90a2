"""The JSON views of what the ledger returns (one function per resource, used by every route)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import orjson
from fastapi.responses import JSONResponse

if TYPE_CHECKING:  # row types only: routes get rows from the ledger, never from the store
    from provenance.server.intake import IngestResult
    from provenance.server.store.models import (
        AnchorRow,
        CheckpointRow,
        DatasetRow,
        SnapshotRow,
        SourceRow,
        VerificationRow,
    )
    from provenance.server.store.snapshots import SnapshotInfo


class ORJSONResponse(JSONResponse):
    """JSON rendered by orjson (proof bundles are the hot path; the stdlib encoder is 5x slower)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def dataset_json(d: DatasetRow) -> dict[str, Any]:
    return {
        "name": d.name,
        "datasetId": _hex(d.dataset_id),
        "schema": json.loads(d.schema_json),
        "anchorMode": d.anchor_mode,
        "signedBy": "server" if d.signing_key else "source",
    }


def snapshot_json(info: SnapshotInfo) -> dict[str, Any]:
    """What a version is: the same fields wherever a version is shown."""
    return {
        "dataset": info.dataset,
        "version": info.version,
        "size": info.size,
        "root": _hex(info.root),
        "digest": _hex(info.digest),
        "signer": info.signer,
        "logIndex": info.log_index,
    }


def version_json(info: SnapshotInfo, direct_anchor: AnchorRow | None) -> dict[str, Any]:
    return {
        **snapshot_json(info),
        "createdAt": info.created_at.isoformat(),
        "manifest": json.loads(info.signed_manifest),
        "directAnchor": anchor_json(direct_anchor),
    }


def ingest_json(result: IngestResult) -> dict[str, Any]:
    return {**snapshot_json(result.snapshot), "created": result.created}


def version_row_json(r: SnapshotRow) -> dict[str, Any]:
    return {
        "version": r.version,
        "size": r.size,
        "root": _hex(r.root or b""),
        "signer": r.signer,
        "createdAt": r.created_at.isoformat(),
    }


def source_json(r: SourceRow) -> dict[str, Any]:
    return {"address": r.address, "name": r.name, "status": r.status, "chainState": r.chain_state}


def checkpoint_json(r: CheckpointRow, anchor: AnchorRow | None) -> dict[str, Any]:
    return {
        "size": r.size,
        "root": _hex(r.root),
        "note": r.note,
        "createdAt": r.created_at.isoformat(),
        "anchor": anchor_json(anchor),
    }


def anchor_json(r: AnchorRow | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "id": r.id,
        "kind": r.kind,
        "state": r.state,
        "chainId": r.chain_id,
        "contract": r.contract,
        "txHash": _hex(r.tx_hash) if r.tx_hash else None,
        "blockNumber": r.block_number,
        "blockHash": _hex(r.block_hash) if r.block_hash else None,
        "checkpointIndex": r.checkpoint_index,
        "confirmations": r.confirmations,
        "resubmissions": r.resubmissions,
        "lastError": r.last_error,
    }


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def verification_json(r: VerificationRow) -> dict[str, Any]:
    verdict = json.loads(r.verdict)
    checks = verdict.get("checks") or [c for s in verdict.get("snapshots", []) for c in s.get("checks", [])]
    return {
        "id": r.id,
        "time": r.created_at.isoformat(),
        "dataset": r.dataset,
        "version": r.version,
        "status": r.status,
        "bundleSha256": _hex(r.bundle_sha256),
        "client": r.client,
        "offline": r.is_offline,
        "checks": [
            {"check": c.get("check"), "status": c.get("status"), "reason": c.get("reason")} for c in checks
        ],
    }


VERIFICATION_CSV_COLUMNS = ("id", "time", "dataset", "version", "status", "bundleSha256", "client", "offline")
