"""The ledger: the application service every edge talks to (HTTP routers, the anchoring worker,
bootstrap). It owns the store's repositories and composes them into the operations of the
pipeline: datasets, ingest (``intake``), proofs out (``prover``), verification requests, sources,
the log and its checkpoints, the outbox. Nothing above it touches the store."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from provenance.chain.deploy import Deployment
from provenance.chain.registry import RegistryClient
from provenance.checkpoint import Checkpoint, LogSigner
from provenance.config import Settings
from provenance.datasets import check_new_dataset_name, dataset_id
from provenance.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    ProvenanceError,
)
from provenance.manifest import Domain, SignedManifest
from provenance.proofs.verify import AnchorReader
from provenance.quality.evaluate import check_runnable
from provenance.records.schema import Schema, parse_key
from provenance.server.intake import IngestResult, Intake, discard_stale_uploads
from provenance.server.lineage import LineageQueries
from provenance.server.policies import Policies
from provenance.server.prover import Prover
from provenance.server.retractions import Retractions
from provenance.server.store.database import Database
from provenance.server.store.leader import leader_lock
from provenance.server.store.lineage import LineageRepository
from provenance.server.store.log import LogRepository
from provenance.server.store.models import (
    AnchorRow,
    CheckpointRow,
    DatasetRow,
    SnapshotRow,
    SourceRow,
    VerificationRow,
)
from provenance.server.store.outbox import OutboxRepository
from provenance.server.store.snapshots import SnapshotInfo, SnapshotRepository
from provenance.server.store.sources import SourceRepository, SourceUpdate
from provenance.server.store.verifications import VerificationRepository
from provenance.server.track_record import TrackRecord
from provenance.server.trail import AUDIT_DATASET, AUDIT_SCHEMA, VerificationTrail

ANCHOR_MODES = ("checkpoint", "direct")


@dataclass(frozen=True)
class ChainLink:
    """What the ledger knows of its chain: the registry client, the anchor verifier, the deployment."""

    client: RegistryClient
    verifier: AnchorReader
    deployment: Deployment


@dataclass(frozen=True)
class DirectSubject:
    """What a direct anchor puts on the chain, and how to find it there."""

    dataset: str
    dataset_id: bytes
    version: int
    root: bytes
    signed: SignedManifest


BAD_ADDRESS = "input.bad-address"


class Ledger:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        domain: Domain,
        log_signer: LogSigner,
        chain: ChainLink | None = None,
    ) -> None:
        self.settings, self.db, self.domain = settings, db, domain
        self.log_signer, self.chain = log_signer, chain
        self.snapshots = SnapshotRepository(db, timedelta(seconds=settings.stale_build_seconds))
        self.log = LogRepository(db)
        self.outbox = OutboxRepository(db)
        self.sources = SourceRepository(db)
        self.verifications = VerificationRepository(db)
        self.trail = VerificationTrail(
            settings, db, self.verifications, log_signer, chain.verifier if chain else None
        )
        self.prover = Prover(db, self.snapshots, self.log, self.outbox, log_signer)
        self.lineage = LineageRepository(db)
        self.lineage_queries = LineageQueries(settings, db, self.snapshots, self.lineage, self.prover)
        self.intake = Intake(
            settings, db, domain, self.snapshots, self.log, self.outbox, self.sources, self.lineage, chain
        )
        self.retractions = Retractions(db, domain, self.snapshots, self.outbox, self.intake.source_key)
        self.policies = Policies(self)
        self.track_record = TrackRecord(self)
        self._schemas: dict[str, Schema] = {}

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
        check_new_dataset_name(name)
        check_runnable(schema.rules)
        schema = schema.normal()
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
            return self.snapshots.datasets(s)

    # --- ingest ------------------------------------------------------------------------------

    def ingest(self, name: str, path: Path, **options: Any) -> IngestResult:
        """See :meth:`provenance.server.intake.Intake.ingest`."""
        return self.intake.ingest(name, path, **options)

    def upload_folder(self) -> Path:
        """Where uploads are received; leftovers of killed requests are removed first."""
        folder = self.settings.data_dir / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        discard_stale_uploads(folder, self.settings.stale_build_seconds)
        return folder

    def source_address(self, keystore: str) -> str:
        return str(self.intake.source_address(keystore))

    # --- snapshots and proofs -------------------------------------------------------------------

    def snapshot(self, name: str, version: int) -> SnapshotInfo:
        with self.db.session() as s:
            return self.snapshots.get(s, name, version)

    def parse_key(self, name: str, text: str) -> list[Any]:
        """A record key from its URL form, typed by the dataset's schema (cached: immutable)."""
        schema = self._schemas.get(name)
        if schema is None:
            schema = self._schemas[name] = Schema.from_json(json.loads(self.dataset(name).schema_json))
        return parse_key(text, schema)

    def proof(self, name: str, version: int, key_values: list[Any]) -> dict[str, Any]:
        """``{"anchor": {state...}, "bundle": provenance-proof/v1}`` for one record."""
        return self.prover.proof(name, version, key_values)

    def snapshot_proof(self, name: str, version: int) -> dict[str, Any]:
        """The version's ``provenance-snapshot-proof/v1`` (what ``provenance check`` needs)."""
        return self.prover.snapshot_proof(name, version)

    def records(self, name: str, version: int, *, with_proofs: bool = False) -> Iterator[bytes]:
        """The version streamed: leaf inputs as JSON Lines, or a JSON Lines collection with a
        proof on every record. Raises before the first byte when the version does not exist."""
        self.snapshot(name, version)
        if with_proofs:
            return self.prover.records_with_proofs(name, version)
        return self.prover.records(name, version)

    def is_salted(self, name: str) -> bool:
        return bool(Schema.from_json(json.loads(self.dataset(name).schema_json)).salted)

    def consistency(self, name: str, old: int, new: int) -> dict[str, Any]:
        return self.prover.consistency(name, old, new)

    def log_consistency(self, first: int, second: int) -> dict[str, Any]:
        return self.prover.log_consistency(first, second)

    def snapshot_lineage(
        self, name: str, version: int, *, direction: str = "up", depth: int = 1
    ) -> dict[str, Any]:
        """See :meth:`provenance.server.lineage.LineageQueries.snapshot_lineage`."""
        return self.lineage_queries.snapshot_lineage(name, version, direction=direction, depth=depth)

    def record_lineage(
        self, name: str, version: int, key: str, *, depth: int = 1, direction: str = "up"
    ) -> dict[str, Any]:
        """See :meth:`provenance.server.lineage.LineageQueries.record_lineage`."""
        values = self.parse_key(name, key)
        return self.lineage_queries.record_lineage(name, version, values, depth=depth, direction=direction)

    def versions(self, name: str) -> list[SnapshotRow]:
        with self.db.session() as s:
            return self.snapshots.versions(s, self.snapshots.require_dataset(s, name).id)

    def direct_anchor_of(self, info: SnapshotInfo) -> AnchorRow | None:
        with self.db.session() as s:
            return self.outbox.for_snapshot(s, info.pk)

    # --- verification (the trail: provenance/server/trail.py) --------------------------------

    def verify(self, data: bytes, *, offline: bool = False, client: str | None = None) -> dict[str, Any]:
        """See :meth:`VerificationTrail.verify`."""
        return self.trail.verify(data, offline=offline, client=client)

    def record_console_verification(
        self,
        bundle_sha256: bytes,
        verdict: dict[str, Any],
        subject: tuple[str, int] | None,
        client: str | None,
    ) -> int:
        return self.trail.record_console(bundle_sha256, verdict, subject, client)

    def verification_trail(self, **filters: Any) -> list[VerificationRow]:
        return self.trail.listing(**filters)

    def snapshot_audit_trail(self) -> IngestResult | None:
        """The trail as the dataset ``ledger/audit/verifications``: a new version, signed and
        anchored like any other, when verifications were recorded since the latest one."""
        if AUDIT_DATASET not in {d.name for d in self.datasets()}:
            self.create_dataset(AUDIT_DATASET, AUDIT_SCHEMA, signing_key=self.settings.audit_signing_key)
        versions = self.versions(AUDIT_DATASET)
        latest = max(versions, key=lambda v: v.version).size if versions else 0
        result: IngestResult | None = self.trail.snapshot(latest, lambda p: self.ingest(AUDIT_DATASET, p))
        return result

    # --- sources -----------------------------------------------------------------------------

    def list_sources(self) -> list[SourceRow]:
        with self.db.session() as s:
            return self.sources.listing(s)

    def register_source(self, address: str, name: str, keystore: str | None = None) -> SourceRow:
        """Raises InputError for the zero address (what ecrecover gives for a bad signature)."""
        if int(address, 16) == 0:  # the registry reverts ZeroAddress(); the worker retried forever
            raise InputError("the zero address cannot be a source: no key signs for it", code=BAD_ADDRESS)
        with self.db.session() as s:
            return self.sources.register(s, address, name, keystore=keystore)

    def revoke_source(self, address: str) -> SourceRow:
        with self.db.session() as s:
            return self.sources.revoke(s, address)

    def pending_source_updates(self) -> list[SourceUpdate]:
        with self.db.session() as s:
            return [SourceUpdate(r.id, r.address, r.status) for r in self.sources.pending_chain_updates(s)]

    def mark_source_on_chain(self, pk: int, state: str) -> None:
        with self.db.session() as s:
            self.sources.mark_on_chain(s, pk, state)

    def recheck_chain(self) -> None:
        """A node restarted from its state file may have lost blocks: re-ask about sources and anchors."""
        with self.db.session() as s:
            self.sources.recheck_all(s)
            self.outbox.recheck_confirmed(s)

    # --- the log, checkpoints and the outbox ---------------------------------------------------------

    def log_size(self) -> int:
        with self.db.session() as s:
            return self.log.size(s)

    def log_key(self) -> str:
        """The C2SP verifier key of the log's checkpoints."""
        return self.log_signer.verifier_key()

    def checkpoints(self, limit: int = 100) -> list[tuple[CheckpointRow, AnchorRow | None]]:
        with self.db.session() as s:
            return [(r, self.outbox.for_checkpoint(s, r.id)) for r in self.log.checkpoints(s, limit)]

    def latest_checkpoint(self) -> CheckpointRow | None:
        with self.db.session() as s:
            return self.log.latest_checkpoint(s)

    def unanchored_log(self) -> tuple[int, int, datetime | None]:
        """(log size, size of the latest checkpoint, time of the oldest entry after it)."""
        with self.db.session() as s:
            size = self.log.size(s)
            latest = self.log.latest_checkpoint(s)
            done = latest.size if latest else 0
            oldest = self.log.entry_time(s, done) if size > done else None
        return size, done, oldest

    def cut_checkpoint(self) -> CheckpointRow:
        """Sign a checkpoint of the whole log and queue its anchor."""
        tree = self.log.tree()
        note = self.log_signer.sign(Checkpoint(self.log_signer.name, tree.size, tree.root)).text()
        with self.db.session() as s:
            row = self.log.add_checkpoint(s, tree.size, tree.root, note)
            self.outbox.enqueue(
                s, "checkpoint", self.domain.chain_id, self.domain.verifying_contract, checkpoint_pk=row.id
            )
        return row

    def log_consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        return self.log.tree().consistency_proof(size1, size2)

    def anchors(self, state: str | None = None, limit: int = 100) -> list[AnchorRow]:
        with self.db.session() as s:
            return self.outbox.listing(s, state, limit)

    def open_anchors(self) -> list[AnchorRow]:
        with self.db.session() as s:
            return self.outbox.open_anchors(s)

    def anchor_state_counts(self) -> dict[str, int]:
        with self.db.session() as s:
            return self.outbox.state_counts(s)

    def set_anchor_state(self, pk: int, state: str, **values: object) -> None:
        with self.db.session() as s:
            self.outbox.set_state(s, pk, state, **values)

    def direct_subject(self, snapshot_pk: int) -> DirectSubject:
        with self.db.session() as s:
            snap, ds = self.snapshots.row_and_dataset(s, snapshot_pk)
            assert snap.signed_manifest is not None and snap.root is not None
            signed = SignedManifest.from_json(json.loads(snap.signed_manifest))
            return DirectSubject(ds.name, bytes(ds.dataset_id), snap.version, bytes(snap.root), signed)

    def checkpoint_of(self, checkpoint_pk: int) -> CheckpointRow:
        with self.db.session() as s:
            return self.log.checkpoint(s, checkpoint_pk)

    # --- operations --------------------------------------------------------------------------

    def readiness(self) -> dict[str, str]:
        """Per dependency, "ok" or why not; the database is required, the chain is not (proofs
        keep working while it is away; anchors wait)."""
        checks = {"database": self.db.ping()}
        if self.chain is not None:
            try:
                checks["chain"] = f"ok, block {self.chain.client.block_number()}"
            except ProvenanceError as e:
                checks["chain"] = f"unreachable: {e.message}"
        return checks

    def public_rpc_url(self) -> str | None:
        """The chain's JSON-RPC URL an auditor's browser can start from (they may use their own
        node instead); None for the in-process chain, which has none."""
        if self.settings.rpc_url:
            return self.settings.rpc_url
        if self.settings.chain_backend == "anvil":
            return f"http://127.0.0.1:{self.settings.anvil_port}"
        return None

    def deployment(self) -> dict[str, Any]:
        if self.chain is None:
            raise NotFoundError("this ledger has no chain deployment", code="deployment.not-found")
        return self.chain.deployment.to_json()

    @contextlib.contextmanager
    def leadership(self) -> Iterator[bool]:
        """Hold the anchoring leadership for the block; yields whether this process got it."""
        with leader_lock(self.db, self.settings.data_dir / "anchoring.lock") as ok:
            yield ok
