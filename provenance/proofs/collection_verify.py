"""Verification of a ``provenance-proofs/v1`` collection.

Each snapshot's shared section is verified once (signature, source status, log inclusion,
checkpoint, anchor, confirmations: through its first record's bundle), each record by its leaf and
inclusion proof, and each lineage edge (a record's ref → the upstream record in the collection)
by :func:`provenance.lineage.check_edge`. A failing edge is named
``child@v key [...] -> parent@v key [...]``. Refs that point outside the collection are counted,
and are failures only where the collection claims to hold that depth.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from provenance import lineage, merkle
from provenance.errors import ProvenanceError
from provenance.proofs import bundle as bundle_format
from provenance.proofs import snapshot
from provenance.proofs.collection import Collection, cut_out
from provenance.proofs.snapshot import SNAPSHOT_CHECKS
from provenance.proofs.verdict import Check, Status, Verdict
from provenance.proofs.verify import AnchorReader, Policy, leaf_input, record_checks
from provenance.records.canonical import key_text

MAX_REPORTED = 20


@dataclass(frozen=True)
class Failure:
    where: str  # a record ("tm/x@3 key [..]") or an edge ("child ... -> parent ...")
    reason: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"where": self.where, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class CollectionVerdict:
    snapshots: tuple[tuple[str, Verdict], ...]
    records: int
    records_valid: int
    edges: int
    edges_valid: int
    edges_outside: int
    failures: tuple[Failure, ...]  # the first MAX_REPORTED
    failure_count: int
    truncated: bool
    offline: bool

    @property
    def status(self) -> str:
        if self.failure_count or any(v.status == "invalid" for _, v in self.snapshots):
            return "invalid"
        if any(v.status == "retracted" for _, v in self.snapshots):
            return "retracted"
        if any(v.status != "valid" for _, v in self.snapshots):
            return "incomplete"
        return "valid"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "provenance-proofs-verdict/v1",
            "status": self.status,
            "offline": self.offline,
            "snapshots": [
                {
                    "snapshot": label,
                    "status": v.status,
                    "checks": [c.to_json() for c in v.checks if c.name in SNAPSHOT_CHECKS],
                }
                for label, v in self.snapshots
            ],
            "records": {"count": self.records, "valid": self.records_valid},
            "edges": {"count": self.edges, "valid": self.edges_valid, "outside": self.edges_outside},
            "truncated": self.truncated,
            "failures": [f.to_json() for f in self.failures],
            "failureCount": self.failure_count,
        }


@dataclass
class _Record:
    label: str
    bundle: bundle_format.ProofBundle | None
    ok: bool
    leaf: bytes


def verify_collection(
    collection: Collection, *, policy: Policy | None = None, chain: AnchorReader | None = None
) -> CollectionVerdict:
    """Verify every snapshot once, every record, every edge; never raises for a bad collection."""
    policy = policy or Policy()
    failures: list[Failure] = []
    records = [_parse(collection, i, failures) for i in range(len(collection.records))]
    snapshots = _verify_snapshots(collection, policy, chain)
    for rec, raw in zip(records, collection.records, strict=True):
        if rec.bundle is not None:
            _check_record(rec, snapshots[raw["snapshot"]][1], failures)
    edges, valid, outside = _check_edges(collection, records, failures)
    return CollectionVerdict(
        snapshots=tuple(snapshots),
        records=len(records),
        records_valid=sum(r.ok for r in records),
        edges=edges,
        edges_valid=valid,
        edges_outside=outside,
        failures=tuple(failures[:MAX_REPORTED]),
        failure_count=len(failures),
        truncated=collection.truncated,
        offline=policy.offline,
    )


def _parse(collection: Collection, index: int, failures: list[Failure]) -> _Record:
    raw = collection.records[index]
    snap = collection.snapshots[raw["snapshot"]]
    label = f"{snap['dataset']}@{snap['version']} key {_key(raw['key'])}"
    try:
        parsed = bundle_format.from_json(cut_out(collection, index))
    except ProvenanceError as e:
        failures.append(Failure(label, e.code, e.message))
        return _Record(label, None, False, b"")
    return _Record(label, parsed, True, b"")


def _verify_snapshots(
    collection: Collection, policy: Policy, chain: AnchorReader | None
) -> list[tuple[str, Verdict]]:
    out = []
    for snap in collection.snapshots:
        label = f"{snap['dataset']}@{snap['version']}"
        try:
            proof = snapshot.from_json(snap)
        except ProvenanceError as e:
            out.append((label, Verdict((Check("signature", Status.INVALID, e.code, e.message),))))
            continue
        out.append((label, snapshot.verify_snapshot(proof, policy=policy, chain=chain)))
    return out


def _check_record(rec: _Record, snapshot: Verdict, failures: list[Failure]) -> None:
    assert rec.bundle is not None
    for check in record_checks(rec.bundle):
        if check.status is not Status.VALID:
            failures.append(Failure(rec.label, check.reason, check.detail))
            rec.ok = False
    try:
        rec.leaf = merkle.hash_leaf(leaf_input(rec.bundle))
    except Exception:  # fail closed: its leaf check has already failed
        rec.ok = False
    if any(c.status is Status.INVALID for c in snapshot.checks if c.name in SNAPSHOT_CHECKS):
        rec.ok = False


def _check_edges(
    collection: Collection, records: list[_Record], failures: list[Failure]
) -> tuple[int, int, int]:
    by_key = {
        (r.bundle.record.dataset, r.bundle.record.version, key_text(list(r.bundle.record.key))): i
        for i, r in enumerate(records)
        if r.bundle is not None
    }
    held = _depths(collection, records, by_key)
    claimed = collection.raw.get("depth")
    edges = valid = outside = 0
    for i, rec in enumerate(records):
        if rec.bundle is None:
            continue
        for ref in rec.bundle.record.entry.get("derived_from") or []:
            edges += 1
            where = f"{rec.label} -> {ref['dataset']}@{ref['version']} key {_key(ref['key'])}"
            target = by_key.get((ref["dataset"], ref["version"], key_text(list(ref["key"]))))
            if target is None:
                outside += 1
                if claimed is not None and i in held and held[i] < claimed and not collection.truncated:
                    failures.append(
                        Failure(where, "lineage.missing-upstream", "the collection should hold this record")
                    )
                continue
            broken = _edge(ref, rec, records[target])
            if broken is None:
                valid += 1
            else:
                failures.append(Failure(where, *broken))
    return edges, valid, outside


def _edge(ref: dict[str, Any], child: _Record, parent: _Record) -> tuple[str, str] | None:
    assert child.bundle is not None and parent.bundle is not None
    m = parent.bundle.manifest.manifest
    found = lineage.Upstream(
        m.dataset,
        m.version,
        parent.bundle.record.key,
        m.dataset_id,
        m.root,
        "valid" if parent.ok else "invalid",
        parent.leaf,
    )
    return lineage.check_edge(ref, child.bundle.manifest.manifest.parents, found)


def _depths(
    collection: Collection, records: list[_Record], by_key: dict[tuple[str, int, bytes], int]
) -> dict[int, int]:
    """Steps from the root record along refs (only for lineage collections)."""
    if collection.root is None:
        return {}
    depth = {collection.root: 0}
    queue = deque([collection.root])
    while queue:
        i = queue.popleft()
        b = records[i].bundle
        for ref in (b.record.entry.get("derived_from") or []) if b else []:
            j = by_key.get((ref["dataset"], ref["version"], key_text(list(ref["key"]))))
            if j is not None and j not in depth:
                depth[j] = depth[i] + 1
                queue.append(j)
    return depth


def _key(values: Any) -> str:
    try:
        return key_text(list(values)).decode()
    except Exception:
        return repr(values)
