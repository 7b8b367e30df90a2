"""The ledger service: ingest → tree → sign → log, and proofs out. Anchoring is in ``anchoring``.

Crash safety: a snapshot is written as ``building`` and completed, together with its ledger-log
entry and (direct mode) its outbox row, in one transaction; readers only see complete snapshots.
Idempotency: re-uploading identical content for an existing version returns that version;
different content for it is refused.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from eth_account import Account
from sqlalchemy import select

from provenance.checkpoint import LogSigner
from provenance.config import Settings
from provenance.datasets import check_dataset_name, dataset_id
from provenance.errors import ConflictError, FormatError, InputError, NotFoundError, SignatureError
from provenance.ingest import Ingested, IngestPool, Limits, ingest_file
from provenance.keys import load_source_key
from provenance.lineage import Parent, check_parent_roots, check_transform
from provenance.manifest import Domain, Manifest, SignedManifest, sign
from provenance.merkle import MerkleTree
from provenance.proofs import bundle
from provenance.proofs.verify import AnchorReader, Policy, verify_bundle
from provenance.records.canonical import key_text
from provenance.records.readers import ChunkResult
from provenance.records.schema import Schema, parse_key
from provenance.server.store import outbox, sources
from provenance.server.store.database import Database
from provenance.server.store.ledgerlog import LedgerLog
from provenance.server.store.models import AnchorRow, CheckpointRow, DatasetRow
from provenance.server.store.snapshots import RecordWriter, SnapshotInfo, SnapshotStore

ANCHOR_MODES = ("checkpoint", "direct")


@dataclass(frozen=True)
class IngestResult:
    snapshot: SnapshotInfo
    created: bool  # False: identical content was already this version (idempotent re-upload)


class _RootOnly:
    """A sink that keeps nothing: for comparing a re-upload with a stored version."""

    def add(self, first_index: int, result: ChunkResult) -> None:
        pass


class Ledger:
    def __init__(self, settings: Settings, db: Database, domain: Domain, log_signer: LogSigner) -> None:
        self.settings = settings
        self.db = db
        self.domain = domain
        self.log_signer = log_signer
        self.snapshots = SnapshotStore(db, timedelta(seconds=settings.stale_build_seconds))
        self.log = LedgerLog(db)
        self.ingest_pool: IngestPool | None = None  # the service's long-lived worker processes
        self._source_keys: dict[str, bytes] = {}
        self._snapshots_cache: dict[tuple[str, int], tuple[SnapshotInfo, str]] = {}
        self._schemas: dict[str, Schema] = {}
        self._manifests: dict[int, dict[str, Any]] = {}
        self._anchors_cache: dict[
            int, tuple[dict[str, Any] | None, bundle.Anchor | None, dict[str, Any]]
        ] = {}

    # --- datasets --------------------------------------------------------------------------

    def create_dataset(
        self,
        name: str,
        schema: Schema,
        *,
        anchor_mode: str = "checkpoint",
        signing_key: str | None = None,
        salt_secret: bytes | None = None,
    ) -> DatasetRow:
        check_dataset_name(name)
        if anchor_mode not in ANCHOR_MODES:
            raise InputError(f"anchor mode must be one of {ANCHOR_MODES}", code="dataset.bad-mode")
        if schema.salted and salt_secret is None:
            raise InputError("a salted dataset needs a salt secret", code="dataset.missing-salt")
        with self.db.session() as s:
            existing = self.snapshots.dataset(s, name)
            if existing is not None:
                if (existing.schema_json, existing.anchor_mode) == (
                    json.dumps(schema.to_json()),
                    anchor_mode,
                ):
                    return existing
                raise ConflictError(
                    f"dataset {name!r} exists with another schema or mode", code="dataset.exists"
                )
            row = DatasetRow(
                name=name,
                dataset_id=dataset_id(name),
                schema_json=json.dumps(schema.to_json()),
                anchor_mode=anchor_mode,
                signing_key=signing_key,
                salt_secret=salt_secret,
            )
            s.add(row)
            s.flush()
            return row

    def dataset(self, name: str) -> DatasetRow:
        with self.db.session() as s:
            return self.snapshots.require_dataset(s, name)

    def datasets(self) -> list[DatasetRow]:
        with self.db.session() as s:
            return list(s.scalars(select(DatasetRow).order_by(DatasetRow.name)))

    # --- ingest ------------------------------------------------------------------------------

    def ingest(
        self,
        name: str,
        path: Path,
        *,
        version: int | None = None,
        fmt: str | None = None,
        signed_manifest: dict[str, Any] | None = None,
        created_at: int | None = None,
        parents: tuple[tuple[str, int], ...] = (),
        transform: dict[str, Any] | None = None,
        max_records: int | None = None,
    ) -> IngestResult:
        """Canonicalise, hash, persist, sign (or check the source's signature) and log a snapshot.

        Raises:
            NotFoundError: unknown dataset or parent.
            InputError: the file is bad (named with line and column).
            ConflictError: another content for an existing version, or a version gap.
            SignatureError: the supplied manifest's signature or contents do not match the data.
        """
        ds = self.dataset(name)
        schema = Schema.from_json(json.loads(ds.schema_json))
        signed_in = self._parse_signed(signed_manifest)
        if signed_in is not None:
            version = version or signed_in.manifest.version
        with self.db.session() as s:
            latest = self.snapshots.latest_version(s, ds.id)
        version = version or latest + 1
        limits = Limits(
            max_records=max_records or self.settings.max_records,
            max_record_bytes=self.settings.max_record_bytes,
        )
        if version <= latest:
            return self._reupload(ds, schema, path, version, fmt, limits)
        if version != latest + 1:
            raise ConflictError(
                f"version {version} would skip versions; the next is {latest + 1}",
                code="snapshot.version-gap",
            )
        pk = self.snapshots.begin(ds.id, version)
        try:
            writer = RecordWriter(self.db, pk)
            built = ingest_file(
                path,
                schema,
                writer,
                fmt=fmt,
                salt_secret=ds.salt_secret,
                limits=limits,
                workers=self.settings.ingest_workers,
                source_name=path.name,
                pool=self.ingest_pool,
            )
            writer.finish()
            levels = getattr(built.tree.source, "levels", [])
            self.snapshots.write_tree(pk, levels)
            signed = signed_in or self._server_sign(
                ds, schema, version, built, created_at, parents, transform
            )
            self._check_manifest(ds, schema, version, built, signed)
            info = self._complete(ds, pk, built, signed)
        except BaseException:
            self.snapshots.discard(pk)
            raise
        return IngestResult(info, created=True)

    def _reupload(
        self, ds: DatasetRow, schema: Schema, path: Path, version: int, fmt: str | None, limits: Limits
    ) -> IngestResult:
        with self.db.session() as s:
            info = self.snapshots.get(s, ds.name, version)
        built = ingest_file(
            path,
            schema,
            _RootOnly(),
            fmt=fmt,
            salt_secret=ds.salt_secret,
            limits=limits,
            workers=self.settings.ingest_workers,
            source_name=path.name,
            pool=self.ingest_pool,
        )
        if (built.root, built.size) != (info.root, info.size):
            raise ConflictError(
                f"{ds.name} v{version} exists with other content (root {info.root.hex()})",
                code="snapshot.conflict",
            )
        return IngestResult(info, created=False)

    def _parse_signed(self, doc: dict[str, Any] | None) -> SignedManifest | None:
        if doc is None:
            return None
        signed = SignedManifest.from_json(doc)
        if signed.domain != self.domain:
            raise SignatureError(
                f"manifest is signed for chain {signed.domain.chain_id} registry "
                f"{signed.domain.verifying_contract}; this ledger anchors to chain {self.domain.chain_id} "
                f"registry {self.domain.verifying_contract}",
                code="signature.wrong-domain",
            )
        return signed

    def _server_sign(
        self,
        ds: DatasetRow,
        schema: Schema,
        version: int,
        built: Ingested,
        created_at: int | None,
        parents: tuple[tuple[str, int], ...],
        transform: dict[str, Any] | None,
    ) -> SignedManifest:
        if ds.signing_key is None:
            raise SignatureError(
                f"dataset {ds.name!r} is signed by its source: upload a signed manifest",
                code="signature.required",
            )
        manifest = Manifest(
            dataset=ds.name,
            version=version,
            root=built.root,
            size=built.size,
            schema=schema,
            created_at=created_at or int(time.time()),
            parents=self._resolve_parents(parents),
            transform=check_transform(transform),
        )
        return sign(manifest, self.domain, self._source_key(ds.signing_key))

    def _resolve_parents(self, parents: tuple[tuple[str, int], ...]) -> tuple[Parent, ...]:
        out = []
        with self.db.session() as s:
            for name, version in parents:
                info = self.snapshots.get(s, name, version)
                out.append(Parent(dataset_id(name), version, info.root, name))
        return tuple(out)

    def _source_key(self, name: str) -> bytes:
        if name not in self._source_keys:
            password = self.settings.key_password.get_secret_value() if self.settings.key_password else ""
            self._source_keys[name] = load_source_key(self.settings.keys_dir / f"{name}.json", password)
        return self._source_keys[name]

    def source_address(self, name: str) -> str:
        return str(Account.from_key(self._source_key(name)).address)

    def _check_manifest(
        self, ds: DatasetRow, schema: Schema, version: int, built: Ingested, signed: SignedManifest
    ) -> None:
        m = signed.manifest
        problems = [
            what
            for what, ok in [
                ("dataset", m.dataset == ds.name),
                ("version", m.version == version),
                ("root", m.root == built.root),
                ("size", m.size == built.size),
                ("schema", m.schema_hash == schema.hash()),
            ]
            if not ok
        ]
        if problems:
            raise SignatureError(
                f"the signed manifest does not describe the uploaded data: {', '.join(problems)} differ",
                code="signature.manifest-mismatch",
            )
        with self.db.session() as s:
            source = sources.find(s, signed.signer)
            if source is None or source.status != "active":
                raise SignatureError(
                    f"{signed.signer} is not an active source of this ledger", code="signature.unknown-source"
                )
        with self.db.session() as s:
            check_parent_roots(m.parents, lambda name, version: self.snapshots.get(s, name, version).root)

    def _complete(self, ds: DatasetRow, pk: int, built: Ingested, signed: SignedManifest) -> SnapshotInfo:
        digest = signed.manifest.digest(signed.domain)
        with self.db.session() as s:
            index = self.log.append(s, digest, pk)
            self.snapshots.complete(
                s,
                pk,
                size=built.size,
                root=built.root,
                digest=digest,
                signed_manifest=json.dumps(signed.to_json()),
                signer=signed.signer,
                log_index=index,
            )
            if ds.anchor_mode == "direct":
                outbox.enqueue(
                    s, "direct", self.domain.chain_id, self.domain.verifying_contract, snapshot_pk=pk
                )
        with self.db.session() as s:
            return self.snapshots.get(s, ds.name, signed.manifest.version)

    # --- proofs ------------------------------------------------------------------------------

    def snapshot(self, name: str, version: int) -> SnapshotInfo:
        with self.db.session() as s:
            return self.snapshots.get(s, name, version)

    def proof(self, name: str, version: int, key_values: list[Any]) -> dict[str, Any]:
        """``{"anchor": {state...}, "bundle": provenance-proof/v1}`` for one record."""
        key = key_text(key_values)
        info, mode = self._snapshot_for_proofs(name, version)
        index, entry = self.snapshots.find_record(info.pk, key)
        path = self.snapshots.tree(info.pk, info.size).inclusion_proof(index)
        log, anchor, state = self._anchor_material(info, mode)
        doc = bundle.assemble(
            dataset=name,
            version=version,
            key=key_values,
            leaf_input=entry,
            leaf_index=index,
            tree_size=info.size,
            path=path,
            signed_manifest=self._manifest_json(info),
            log=log,
            anchor=anchor,
        )
        return {"anchor": state, "bundle": doc}

    def parse_key(self, name: str, text: str) -> list[Any]:
        """A record key from its URL form, typed by the dataset's schema (cached: immutable)."""
        schema = self._schemas.get(name)
        if schema is None:
            schema = self._schemas[name] = Schema.from_json(json.loads(self.dataset(name).schema_json))
        return parse_key(text, schema)

    def _snapshot_for_proofs(self, name: str, version: int) -> tuple[SnapshotInfo, str]:
        """A complete snapshot never changes, so it is read from the database once."""
        cached = self._snapshots_cache.get((name, version))
        if cached is None:
            with self.db.session() as s:
                info = self.snapshots.get(s, name, version)
                mode = self.snapshots.require_dataset(s, name).anchor_mode
            cached = (info, mode)
            if len(self._snapshots_cache) > 4096:
                self._snapshots_cache.clear()
            self._snapshots_cache[(name, version)] = cached
        return cached

    def _manifest_json(self, info: SnapshotInfo) -> dict[str, Any]:
        doc = self._manifests.get(info.pk)
        if doc is None:
            doc = self._manifests[info.pk] = json.loads(info.signed_manifest)
        copy: dict[str, Any] = json.loads(json.dumps(doc))  # callers may change what they get
        return copy

    def _anchor_material(
        self, info: SnapshotInfo, mode: str
    ) -> tuple[dict[str, Any] | None, bundle.Anchor | None, dict[str, Any]]:
        """The log proof and anchor of a snapshot; cached once confirmed (then it is final: a later
        reorg is caught by the verifier, which reads the chain itself)."""
        cached = self._anchors_cache.get(info.pk)
        if cached is not None:
            return cached
        material: tuple[dict[str, Any] | None, bundle.Anchor | None, dict[str, Any]]
        if mode == "direct":
            with self.db.session() as s:
                material = self._direct_anchor(outbox.for_snapshot(s, info.pk))
        else:
            material = self._checkpoint_anchor(info)
        if material[2]["state"] == "confirmed":
            self._anchors_cache[info.pk] = material
        return material

    def _direct_anchor(self, row: AnchorRow | None) -> tuple[None, bundle.Anchor | None, dict[str, Any]]:
        if row is None or row.state not in ("mined", "confirmed") or row.tx_hash is None:
            return None, None, {"state": "pending", "mode": "direct"}
        return None, _anchor_of(row, "direct"), _state_of(row, "direct")

    def _checkpoint_anchor(
        self, info: SnapshotInfo
    ) -> tuple[dict[str, Any] | None, bundle.Anchor | None, dict[str, Any]]:
        assert info.log_index is not None
        covering = (
            select(CheckpointRow, AnchorRow)
            .outerjoin(AnchorRow, AnchorRow.checkpoint_pk == CheckpointRow.id)
            .where(CheckpointRow.size > info.log_index)
        )
        with self.db.session() as s:
            # the first anchored checkpoint that covers the entry; else the newest covering one
            chosen = s.execute(
                covering.where(AnchorRow.state.in_(("mined", "confirmed")))
                .order_by(CheckpointRow.size)
                .limit(1)
            ).first()
            if chosen is None:
                chosen = s.execute(covering.order_by(CheckpointRow.size.desc()).limit(1)).first()
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

    # --- verification ------------------------------------------------------------------------

    def verify(
        self,
        data: bytes,
        *,
        chain: AnchorReader | None,
        offline: bool = False,
        client: str | None = None,
    ) -> dict[str, Any]:
        """Verify a bundle; the request and verdict are stored. Unusable input raises FormatError."""
        try:
            doc = bundle.parse(data)
        except FormatError as e:
            with self.db.session() as s:
                sources.record_verification(
                    s,
                    data,
                    {"status": "unusable", "error": e.to_dict()},
                    dataset=None,
                    version=None,
                    client=client,
                    offline=offline,
                )
            raise
        policy = Policy(offline=offline, log_keys=(self.log_signer.verifier_key(),))
        verdict = verify_bundle(doc, policy=policy, chain=None if offline else chain).to_json()
        with self.db.session() as s:
            row = sources.record_verification(
                s,
                data,
                verdict,
                dataset=doc.record.dataset,
                version=doc.record.version,
                client=client,
                offline=offline,
            )
            verdict["requestId"] = row.id
        return verdict


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
