"""Snapshot intake: an uploaded file becomes a complete, signed, logged snapshot, or nothing.

Crash safety: a snapshot is written as ``building`` and completed, together with its ledger-log
entry and (direct mode) its outbox row, in one transaction; readers only see complete snapshots.
Idempotency: re-uploading identical content for an existing version returns that version;
different content for it is refused.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_account import Account

from provenance.config import Settings
from provenance.crash_points import crash_point
from provenance.datasets import dataset_id
from provenance.errors import ConflictError, InputError, NotFoundError, SignatureError
from provenance.ingest import EntrySink, Ingested, IngestPool, Limits, Upstream, ingest_file
from provenance.keys import load_source_key
from provenance.lineage import Parent, check_parent_roots, check_transform_code
from provenance.manifest import Domain, Manifest, SignedManifest, sign
from provenance.records.chunks import ChunkResult
from provenance.records.schema import Schema
from provenance.server.store.database import Database
from provenance.server.store.lineage import LineageRepository
from provenance.server.store.log import LogRepository
from provenance.server.store.models import DatasetRow
from provenance.server.store.outbox import OutboxRepository
from provenance.server.store.quality import QualityRepository
from provenance.server.store.record_blocks import RecordWriter
from provenance.server.store.snapshots import SnapshotInfo, SnapshotRepository
from provenance.server.store.sources import SourceRepository
from provenance.upstream import KeyedLeaves

if TYPE_CHECKING:
    from provenance.server.ledger import ChainLink


@dataclass(frozen=True)
class IngestResult:
    snapshot: SnapshotInfo
    created: bool  # False: identical content was already this version (idempotent re-upload)


class _RootOnly:
    """A sink that keeps nothing: for comparing a re-upload with a stored version."""

    def add(self, first_index: int, result: ChunkResult) -> None:
        pass


class Intake:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        domain: Domain,
        snapshots: SnapshotRepository,
        log: LogRepository,
        outbox: OutboxRepository,
        sources: SourceRepository,
        lineage: LineageRepository,
        chain: ChainLink | None = None,
    ) -> None:
        self.settings, self.db, self.domain, self.chain = settings, db, domain, chain
        self.snapshots, self.log, self.outbox, self.sources = snapshots, log, outbox, sources
        self.lineage = lineage
        self.quality = QualityRepository()
        self.pool: IngestPool | None = None  # the service's long-lived worker processes
        self._source_keys: dict[str, bytes] = {}

    def _dataset(self, name: str) -> DatasetRow:
        with self.db.session() as s:
            return self.snapshots.require_dataset(s, name)

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
        ds = self._dataset(name)
        schema = Schema.from_json(json.loads(ds.schema_json))
        signed_in = self._parse_signed(signed_manifest)
        if signed_in is not None:
            version = version or signed_in.manifest.version
        with self.db.session() as s:
            latest = self.snapshots.latest_version(s, ds.id)
        version = version or latest + 1
        limits = self._limits(max_records)
        if version <= latest:
            return self._reupload(ds, schema, path, version, fmt, limits)
        lineage_parents = signed_in.manifest.parents if signed_in else self._resolve_parents(parents)
        upstream = self._upstream(schema, lineage_parents)
        if version != latest + 1:
            raise ConflictError(
                f"version {version} would skip versions; the next is {latest + 1}",
                code="snapshot.version-gap",
            )
        if (pk := self._begin(ds.id, version)) is None:  # the same upload at once: as a re-upload
            return self._reupload(ds, schema, path, version, fmt, limits)
        crash_point("ingest.begun")
        # The manifest's time, fixed before the rules run: freshness is judged at it.
        as_of = signed_in.manifest.created_at if signed_in else created_at or int(time.time())
        try:
            built = self._write_records(pk, ds, schema, path, fmt, limits, upstream, as_of)
            signed = signed_in or self._server_sign(
                ds, schema, version, built, as_of, lineage_parents, transform
            )
            self._check_manifest(ds, schema, version, built, signed)
            crash_point("ingest.signed")
            info = self._complete(ds, pk, built, signed)
        except BaseException:
            self.snapshots.discard(pk)
            raise
        crash_point("ingest.completed")
        return IngestResult(info, created=True)

    def _write_records(
        self,
        pk: int,
        ds: DatasetRow,
        schema: Schema,
        path: Path,
        fmt: str | None,
        limits: Limits,
        upstream: Upstream | None,
        as_of: int,
    ) -> Ingested:
        """The file's records and tree, stored under the building snapshot ``pk``."""
        writer = RecordWriter(self.db, pk)
        built = self._read(ds, schema, path, writer, fmt, limits, upstream, as_of)
        writer.finish()
        self.snapshots.write_tree(pk, getattr(built.tree.source, "levels", []))
        crash_point("ingest.records-written")
        return built

    def _limits(self, max_records: int | None) -> Limits:
        cfg = self.settings
        return Limits(max_records or cfg.max_records, cfg.max_record_bytes, cfg.max_refs_per_record)

    def _reupload(
        self, ds: DatasetRow, schema: Schema, path: Path, version: int, fmt: str | None, limits: Limits
    ) -> IngestResult:
        with self.db.session() as s:
            info = self.snapshots.get(s, ds.name, version)
        stored = SignedManifest.from_json(json.loads(info.signed_manifest)).manifest
        upstream = self._upstream(schema, stored.parents)
        built = self._read(ds, schema, path, _RootOnly(), fmt, limits, upstream, stored.created_at)
        if (built.root, built.size) != (info.root, info.size):
            raise ConflictError(
                f"{ds.name} v{version} exists with other content (root {info.root.hex()})",
                code="snapshot.conflict",
            )
        return IngestResult(info, created=False)

    def _read(
        self,
        ds: DatasetRow,
        schema: Schema,
        path: Path,
        sink: EntrySink,
        fmt: str | None,
        limits: Limits,
        upstream: Upstream | None,
        as_of: int,
    ) -> Ingested:
        return ingest_file(
            path,
            schema,
            sink,
            fmt=fmt,
            salt_secret=ds.salt_secret,
            limits=limits,
            workers=self.settings.ingest_workers,
            source_name=path.name,
            pool=self.pool,
            upstream=upstream,
            as_of=as_of,
        )

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
        created_at: int,
        parents: tuple[Parent, ...],
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
            created_at=created_at,
            parents=parents,
            transform=check_transform_code(transform) if transform is not None else None,
            quality=built.quality.summary() if built.quality is not None else None,
        )
        return sign(manifest, self.domain, self.source_key(ds.signing_key))

    def _resolve_parents(self, parents: tuple[tuple[str, int], ...]) -> tuple[Parent, ...]:
        """Parents named by the publisher, each pinned by the root this ledger holds for it (a
        complete snapshot is in the ledger log: both happen in one transaction), and none
        retracted by its source."""
        out = []
        with self.db.session() as s:
            for name, version in parents:
                try:
                    info = self.snapshots.get(s, name, version)
                except NotFoundError:
                    raise NotFoundError(
                        f"parent {name}@{version} is not a snapshot of this ledger",
                        code="lineage.unknown-parent",
                    ) from None
                self._refuse_retracted(name, version, info.root)
                out.append(Parent(dataset_id(name), version, info.root, name))
        return tuple(out)

    def _refuse_retracted(self, name: str, version: int, root: bytes) -> None:
        """A retraction is recorded on-chain by the snapshot's source, in either anchoring mode
        (``isRetracted``): the chain is asked, not us."""
        if self.chain is None:
            return
        if self.chain.client.is_retracted(dataset_id(name), version, root):
            raise InputError(
                f"parent {name}@{version} was retracted by its source", code="lineage.retracted-parent"
            )

    def _upstream(self, schema: Schema, parents: tuple[Parent, ...]) -> Upstream | None:
        """The parents' records, when the schema carries record-level refs."""
        if schema.derived_from is None:
            return None
        out: dict[tuple[str, int], KeyedLeaves] = {}
        with self.db.session() as s:
            for p in parents:
                if p.dataset is None:
                    raise SignatureError(
                        "a derived snapshot's parents must be named in its manifest",
                        code="lineage.unnamed-parent",
                    )
                info = self.snapshots.get(s, p.dataset, p.version)
                out[(p.dataset, p.version)] = self.snapshots.keyed_leaves(s, info.pk)
        return out

    def _begin(self, dataset_pk: int, version: int) -> int | None:
        """A building row for ``version``, or None once a concurrent ingest of it has finished."""
        try:
            return self.snapshots.begin(dataset_pk, version)
        except ConflictError as e:
            if e.code != "snapshot.in-progress" or not self._wait_until_built(dataset_pk, version):
                raise
            return None

    def _wait_until_built(self, dataset_pk: int, version: int) -> bool:
        """Wait for a concurrent ingest of ``version`` to complete; False if it did not finish
        (or vanished) within the time after which it would count as stale."""
        deadline = time.monotonic() + self.settings.stale_build_seconds
        while time.monotonic() < deadline:
            with self.db.session() as s:
                if self.snapshots.latest_version(s, dataset_pk) >= version:
                    return True
            time.sleep(0.05)
        return False

    def source_key(self, name: str) -> bytes:
        if name not in self._source_keys:
            password = self.settings.key_password.get_secret_value() if self.settings.key_password else ""
            self._source_keys[name] = load_source_key(self.settings.keys_dir / f"{name}.json", password)
        return self._source_keys[name]

    def source_address(self, name: str) -> str:
        return str(Account.from_key(self.source_key(name)).address)

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
                ("schema", m.schema.normal().hash() == schema.normal().hash()),
                ("quality", m.quality == (built.quality.summary() if built.quality is not None else None)),
            ]
            if not ok
        ]
        if problems:
            raise SignatureError(
                f"the signed manifest does not describe the uploaded data: {', '.join(problems)} differ",
                code="signature.manifest-mismatch",
            )
        with self.db.session() as s:
            source = self.sources.find(s, signed.signer)
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
            if built.quality is not None:
                self.quality.add(s, pk, json.dumps(built.quality.to_json()))
            parents = [
                self.snapshots.get(s, p.dataset, p.version).pk for p in signed.manifest.parents if p.dataset
            ]
            self.lineage.add_edges(s, pk, parents)
            if ds.anchor_mode == "direct":
                self.outbox.enqueue(
                    s, "direct", self.domain.chain_id, self.domain.verifying_contract, snapshot_pk=pk
                )
        with self.db.session() as s:
            return self.snapshots.get(s, ds.name, signed.manifest.version)


def discard_stale_uploads(folder: Path, older_than: float) -> int:
    """Remove upload folders nobody has written to for ``older_than`` seconds: a process killed
    mid-upload (kill -9) leaves its temp file behind, and nothing else would ever remove it.
    An upload in progress writes all the time, so age is what tells a leftover (several API
    processes share the folder: one starting must not take another's upload)."""
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than
    removed = 0
    for entry in folder.iterdir():
        try:
            newest = max([entry.stat().st_mtime, *(f.stat().st_mtime for f in entry.rglob("*"))])
        except OSError:
            continue  # taken by its own request meanwhile
        if newest < cutoff:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    return removed
