"""The lineage graph of a collection, as the exports read it: snapshots and records with their ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provenance.merkle import hash_leaf
from provenance.records.canonical import canonical, key_text

NAMESPACE = "urn:provenance-ledger:"


@dataclass(frozen=True)
class SnapshotNode:
    id: str  # "<dataset>@<version>"
    dataset: str
    version: int
    manifest: dict[str, Any]  # the unsigned manifest
    signer: str
    digest: str | None
    anchor: dict[str, Any] | None


@dataclass(frozen=True)
class RecordNode:
    id: str  # "<dataset>@<version>/<leaf hash>"
    snapshot: SnapshotNode
    key: list[Any]
    leaf: str
    refs: list[dict[str, Any]]


def read(doc: dict[str, Any]) -> tuple[list[SnapshotNode], list[RecordNode]]:
    """Snapshots and records of a parsed collection document (``collection.from_json`` first)."""
    snapshots = [
        SnapshotNode(
            f"{s['dataset']}@{s['version']}",
            s["dataset"],
            s["version"],
            s["manifest"]["manifest"],
            s["manifest"]["signer"],
            s["manifest"].get("digest"),
            s["anchor"],
        )
        for s in doc["snapshots"]
    ]
    records = []
    for r in doc["records"]:
        snap = snapshots[r["snapshot"]]
        leaf = "0x" + hash_leaf(canonical(r["entry"])).hex()
        records.append(
            RecordNode(f"{snap.id}/{leaf}", snap, r["key"], leaf, r["entry"].get("derived_from", []))
        )
    return snapshots, records


def record_id_of(ref: dict[str, Any]) -> str:
    """The id of the record a ref points at (its pinned leaf makes it exact)."""
    return f"{ref['dataset']}@{ref['version']}/{ref.get('leaf', key_text(ref['key']).decode())}"
