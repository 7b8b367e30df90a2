"""Proofs out of the store: a record's bundle, consistency between versions and between log sizes.

A complete snapshot never changes, so what a proof needs of it (its row, manifest, and — once
confirmed — its log proof and anchor) is read from the database once and cached.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import orjson

from provenance import merkle, merkle_levels
from provenance.checkpoint import LogSigner
from provenance.errors import ConflictError, InputError, NotFoundError, ProvenanceError, StorageError
from provenance.lineage import walk
from provenance.merkle import MerkleTree
from provenance.proofs import bundle, collection, snapshot
from provenance.quality.report import report_digest
from provenance.records.canonical import key_text
from provenance.records.schema import Schema
from provenance.server.store.database import Database
from provenance.server.store.log import LogRepository
from provenance.server.store.models import AnchorRow
from provenance.server.store.outbox import OutboxRepository
from provenance.server.store.quality import QualityRepository
from provenance.server.store.snapshots import SnapshotInfo, SnapshotRepository

AnchorMaterial = tuple[dict[str, Any] | None, bundle.Anchor | None, dict[str, Any]]
_CACHE_LIMIT = 4096
PENDING_TTL = 0.5  # seconds an anchor state that is not final yet may be served from memory


class Prover:
    def __init__(
        self,
        db: Database,
        snapshots: SnapshotRepository,
        log: LogRepository,
        outbox: OutboxRepository,
        log_signer: LogSigner,
    ) -> None:
        self.db, self.snapshots, self.log, self.outbox = db, snapshots, log, outbox
        self.log_signer = log_signer
        self.quality = QualityRepository()
        self._snapshots: dict[tuple[str, int], tuple[SnapshotInfo, str]] = {}
        self._manifests: dict[int, dict[str, Any]] = {}
        self._anchors: dict[int, AnchorMaterial] = {}
        self._pending: dict[int, tuple[float, AnchorMaterial]] = {}

    def proof(self, name: str, version: int, key_values: list[Any]) -> dict[str, Any]:
        """``{"anchor": {state...}, "bundle": provenance-proof/v1}`` for one record."""
        shared: dict[tuple[str, int], tuple[SnapshotInfo, dict[str, Any], AnchorMaterial]] = {}
        doc = self._record_bundle(name, version, key_text(key_values), key_values, shared)
        return {"anchor": shared[(name, version)][2][2], "bundle": doc}

    def snapshot_proof(self, name: str, version: int) -> dict[str, Any]:
        """The version's ``provenance-snapshot-proof/v1``: a bundle without the record."""
        info, mode = self._snapshot(name, version)
        log, anchor, _ = self._anchor_material(info, mode)
        return snapshot.assemble(
            name, version, self._manifest_json(info), log, None if anchor is None else anchor.to_json()
        )

    def quality_report(self, name: str, version: int) -> dict[str, Any]:
        """The version's quality report, checked against the digest its signed manifest commits
        to before it is served (a damaged store answers 500-free with ``store.damaged``).

        Raises:
            NotFoundError: ``quality.none`` when the dataset's schema has no rules.
        """
        info, _ = self._snapshot(name, version)
        quality = self._manifest_json(info)["manifest"].get("quality")
        with self.db.session() as s:
            text = self.quality.get(s, info.pk)
        if quality is None or text is None:
            raise NotFoundError(f"{name} v{version} has no quality rules", code="quality.none")
        report: dict[str, Any] = json.loads(text)
        if report_digest(report) != bytes.fromhex(quality["report"][2:]):
            raise corrupt(f"the quality report of {name} v{version}")
        return report

    def records(self, name: str, version: int) -> Iterator[bytes]:
        """Every leaf input of the version in leaf order, one per line: exactly the bytes each
        leaf hash is taken of, so a reader recomputes the signed root from the stream alone.
        The stored records are checked against the signed root before the first byte."""
        info, _ = self._snapshot(name, version)
        self._checked_levels(info)
        return (b"".join(e + b"\n" for e in page) for page in self.snapshots.entry_pages(info.pk))

    def records_with_proofs(self, name: str, version: int) -> Iterator[bytes]:
        """The version as a JSON Lines ``provenance-proofs/v1`` collection: the snapshot proof in
        the header line, then each record with its inclusion path, in leaf order (checked
        against the signed root before the first byte)."""
        info, _ = self._snapshot(name, version)
        levels = self._checked_levels(info)
        header = collection.jsonl_header([self.snapshot_proof(name, version)], info.size)
        return self._proof_lines(info, levels, self._schema(name), orjson.dumps(header))

    def _checked_levels(self, info: SnapshotInfo) -> list[bytes]:
        hashes = b"".join(merkle.leaf_hashes(page) for page in self.snapshots.entry_pages(info.pk))
        levels = merkle.build_levels(hashes, threads=2)
        if len(hashes) // 32 != info.size or (levels[-1] if levels else merkle.EMPTY_ROOT) != info.root:
            raise corrupt(f"the stored records of {info.dataset} v{info.version}")
        return levels

    def _proof_lines(
        self, info: SnapshotInfo, levels: list[bytes], schema: Schema, header: bytes
    ) -> Iterator[bytes]:
        yield header + b"\n"
        index = 0
        for page in self.snapshots.entry_pages(info.pk):
            paths = merkle_levels.inclusion_paths(levels, index, index + len(page))
            yield b"".join(
                collection.jsonl_record(0, schema.key, entry, index + i, path) + b"\n"
                for i, (entry, path) in enumerate(zip(page, paths, strict=True))
            )
            index += len(page)

    def _schema(self, name: str) -> Schema:
        with self.db.session() as s:
            return Schema.from_json(json.loads(self.snapshots.require_dataset(s, name).schema_json))

    def record_lineage(
        self, name: str, version: int, key_values: list[Any], *, depth: int, max_nodes: int
    ) -> dict[str, Any]:
        """The datum and every upstream record its refs reach to ``depth`` steps, as one
        ``provenance-proofs/v1`` collection (the datum is record 0); ``truncated`` when the node
        limit cut it."""
        docs: dict[tuple[str, int, bytes], dict[str, Any]] = {}
        shared: dict[tuple[str, int], tuple[SnapshotInfo, dict[str, Any], AnchorMaterial]] = {}

        def bundle_of(node: tuple[str, int, bytes, tuple[Any, ...]]) -> dict[str, Any]:
            if node[:3] not in docs:
                docs[node[:3]] = self._record_bundle(node[0], node[1], node[2], list(node[3]), shared)
            return docs[node[:3]]

        def refs(
            node: tuple[str, int, bytes, tuple[Any, ...]],
        ) -> list[tuple[str, int, bytes, tuple[Any, ...]]]:
            entry = bundle_of(node)["record"]["entry"]
            return [
                (r["dataset"], r["version"], key_text(r["key"]), tuple(r["key"]))
                for r in entry.get("derived_from", [])
            ]

        start = (name, version, key_text(key_values), tuple(key_values))
        graph = walk(start, refs, upstream=True, depth=depth, max_nodes=max_nodes)
        bundles = [bundle_of(node) for node in graph.nodes]
        return collection.of_bundles(bundles, root=0, depth=depth, truncated=graph.truncated)

    def collection_of(
        self, nodes: list[tuple[str, int, bytes, tuple[Any, ...]]], *, depth: int, truncated: bool
    ) -> dict[str, Any]:
        """A collection of the records ``nodes`` (``(dataset, version, key text, key values)``)."""
        shared: dict[tuple[str, int], tuple[SnapshotInfo, dict[str, Any], AnchorMaterial]] = {}
        bundles = [self._record_bundle(n[0], n[1], n[2], list(n[3]), shared) for n in nodes]
        return collection.of_bundles(bundles, root=0, depth=depth, truncated=truncated)

    def _record_bundle(
        self,
        name: str,
        version: int,
        key: bytes,
        key_values: list[Any],
        shared: dict[tuple[str, int], tuple[SnapshotInfo, dict[str, Any], AnchorMaterial]],
    ) -> dict[str, Any]:
        """A record's bundle, its snapshot's sections read once per request (a lineage holds many
        records of few snapshots; the collection states each snapshot's sections once anyway)."""
        if (name, version) not in shared:
            info, mode = self._snapshot(name, version)
            shared[(name, version)] = (info, self._manifest_json(info), self._anchor_material(info, mode))
        info, manifest, (log, anchor, _) = shared[(name, version)]
        index, entry = self.snapshots.find_record(info.pk, key)
        path = self.snapshots.tree(info.pk, info.size).inclusion_proof(index)
        try:  # never hand out a proof that does not hold: ~log n hashes, against the signed root
            merkle.verify_inclusion(merkle.hash_leaf(entry), index, info.size, path, info.root)
        except ProvenanceError:
            raise corrupt(f"record {key.decode()} of {name} v{version}") from None
        return bundle.assemble(
            dataset=name,
            version=version,
            key=key_values,
            leaf_input=entry,
            leaf_index=index,
            tree_size=info.size,
            path=path,
            signed_manifest=manifest,
            log=log,
            anchor=anchor,
        )

    def _snapshot(self, name: str, version: int) -> tuple[SnapshotInfo, str]:
        cached = self._snapshots.get((name, version))
        if cached is None:
            with self.db.session() as s:
                info = self.snapshots.get(s, name, version)
                mode = self.snapshots.require_dataset(s, name).anchor_mode
            cached = (info, mode)
            if len(self._snapshots) > _CACHE_LIMIT:
                self._snapshots.clear()
            self._snapshots[(name, version)] = cached
        return cached

    def _manifest_json(self, info: SnapshotInfo) -> dict[str, Any]:
        doc = self._manifests.get(info.pk)
        if doc is None:
            doc = self._manifests[info.pk] = json.loads(info.signed_manifest)
        copy: dict[str, Any] = json.loads(json.dumps(doc))  # callers may change what they get
        return copy

    def _anchor_material(self, info: SnapshotInfo, mode: str) -> AnchorMaterial:
        """The log proof and anchor of a snapshot; cached for good once confirmed (then it is
        final: a later reorg is caught by the verifier, which reads the chain itself), and for
        ``PENDING_TTL`` seconds before that, so a burst of proofs for a snapshot whose anchor is on
        its way costs one lookup, and a new anchor state shows within that time."""
        cached = self._anchors.get(info.pk)
        if cached is not None:
            return cached
        recent = self._pending.get(info.pk)
        if recent is not None and time.monotonic() - recent[0] < PENDING_TTL:
            return recent[1]
        if mode == "direct":
            with self.db.session() as s:
                material = _direct_anchor(self.outbox.for_snapshot(s, info.pk))
        else:
            material = self._checkpoint_anchor(info)
        if material[2]["state"] == "confirmed":
            self._anchors[info.pk] = material
            self._pending.pop(info.pk, None)
        else:
            if len(self._pending) > _CACHE_LIMIT:
                self._pending.clear()
            self._pending[info.pk] = (time.monotonic(), material)
        return material

    def _checkpoint_anchor(self, info: SnapshotInfo) -> AnchorMaterial:
        assert info.log_index is not None
        with self.db.session() as s:
            chosen = self.log.covering_checkpoint(s, info.log_index)
        if chosen is None:
            return None, None, {"state": "pending", "mode": "checkpoint", "detail": "not yet in a checkpoint"}
        cp, row = chosen
        tree = self.log.tree(at_least=cp.size)
        log = {
            "index": info.log_index,
            "treeSize": cp.size,
            "inclusionPath": ["0x" + h.hex() for h in tree.inclusion_proof(info.log_index, cp.size)],
            "checkpoint": cp.note,
            "logKey": self.log_signer.verifier_key(),
        }
        if row is None or row.state not in ("mined", "confirmed") or row.tx_hash is None:
            return log, None, {"state": "pending", "mode": "checkpoint", "checkpointSize": cp.size}
        return log, _anchor_of(row, "checkpoint"), {**_state_of(row, "checkpoint"), "checkpointSize": cp.size}

    def log_consistency(self, first: int, second: int) -> dict[str, Any]:
        """RFC 9162 consistency proof between two sizes of the ledger log, up to the latest
        checkpoint: with it, anyone checks an older checkpoint against the registry's latest one
        (`verifyCheckpoint`), which is the only one the contract keeps in storage."""
        with self.db.session() as s:
            latest = self.log.latest_checkpoint(s)
        if latest is None:
            raise NotFoundError("no checkpoint yet", code="checkpoint.not-found")
        if not 1 <= first <= second:
            raise InputError("need 1 <= from <= to", code="input.bad-range")
        if second > latest.size:
            raise InputError(
                f"log size {second} is beyond the latest checkpoint (size {latest.size})",
                code="input.bad-range",
            )
        tree = self.log.tree(at_least=latest.size)
        return {
            "from": {"size": first, "root": "0x" + tree.root_at(first).hex()},
            "to": {"size": second, "root": "0x" + tree.root_at(second).hex()},
            "proof": ["0x" + h.hex() for h in tree.consistency_proof(first, second)],
        }

    def consistency(self, name: str, old: int, new: int) -> dict[str, Any]:
        """RFC 9162 consistency proof that version ``new`` only appended to version ``old``."""
        if old > new:
            raise InputError("from-version must not be after to-version", code="input.bad-range")
        with self.db.session() as s:
            a = self.snapshots.get(s, name, old)
            b = self.snapshots.get(s, name, new)
        tree: MerkleTree = self.snapshots.tree(b.pk, b.size)
        if a.size > b.size:
            raise ConflictError(
                f"v{new} has fewer records than v{old}: not an append-only history",
                code="proof.not-append-only",
            )
        if tree.root_at(a.size) != a.root:
            raise ConflictError(
                f"v{new} does not extend v{old}: records were changed or reordered",
                code="proof.not-append-only",
            )
        proof = tree.consistency_proof(a.size, b.size)
        return {
            "dataset": name,
            "from": {"version": old, "size": a.size, "root": "0x" + a.root.hex()},
            "to": {"version": new, "size": b.size, "root": "0x" + b.root.hex()},
            "proof": ["0x" + h.hex() for h in proof],
        }


def corrupt(what: str) -> StorageError:
    return StorageError(
        f"the store is corrupt: {what} does not verify against the signed root; nothing was served "
        "(run `provenance fsck`)",
        code="storage.corrupt",
    )


def _direct_anchor(row: AnchorRow | None) -> AnchorMaterial:
    if row is None or row.state not in ("mined", "confirmed") or row.tx_hash is None:
        return None, None, {"state": "pending", "mode": "direct"}
    return None, _anchor_of(row, "direct"), _state_of(row, "direct")


def _anchor_of(row: AnchorRow, mode: str) -> bundle.Anchor:
    assert row.tx_hash is not None and row.block_hash is not None and row.block_number is not None
    return bundle.Anchor(
        mode,
        row.chain_id,
        row.contract,
        bytes(row.tx_hash),
        row.block_number,
        bytes(row.block_hash),
        row.checkpoint_index,  # set by the worker for checkpoint anchors only
    )


def _state_of(row: AnchorRow, mode: str) -> dict[str, Any]:
    return {
        "state": row.state,
        "mode": mode,
        "confirmations": row.confirmations,
        "txHash": "0x" + bytes(row.tx_hash or b"").hex(),
        "blockNumber": row.block_number,
    }
