"""Retracting a snapshot: the signed Retraction is stored with its reason and queued in the
outbox, and the anchoring worker relays it to the registry (``retractSigned`` for a direct
snapshot, ``retractLogged`` with a log-inclusion proof for a checkpoint-mode one).

The reason text is served; its SHA-256 is what the source signed and what the chain records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from provenance.errors import ConflictError, NotFoundError, SignatureError
from provenance.manifest import Domain, SignedManifest
from provenance.retraction import Retraction, SignedRetraction, sign_retraction
from provenance.server.store.database import Database
from provenance.server.store.models import AnchorRow, DatasetRow, RetractionRow
from provenance.server.store.outbox import OutboxRepository
from provenance.server.store.snapshots import SnapshotRepository


@dataclass(frozen=True)
class RetractionSubject:
    """What the worker sends: the signed retraction and, for a checkpoint-mode snapshot, the
    manifest and its log entry (the contract is given the proof that it was logged)."""

    signed: SignedRetraction
    mode: str  # direct | checkpoint
    manifest: SignedManifest
    log_index: int | None


class Retractions:
    def __init__(
        self, db: Database, domain: Domain, snapshots: SnapshotRepository, outbox: OutboxRepository, keys: Any
    ) -> None:
        self.db, self.domain, self.snapshots, self.outbox = db, domain, snapshots, outbox
        self.keys = keys  # (keystore name) -> private key bytes, the server-held source keys

    def retract(
        self, name: str, version: int, *, reason: str | None, signed: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Record a retraction of ``name`` v``version`` and queue it for the chain.

        Either ``signed`` (a source-signed retraction; anyone may hand it in) or ``reason`` (the
        server signs with the dataset's server-held key: the caller must be the admin).

        Raises:
            NotFoundError: no such version.
            ConflictError: already retracted.
            SignatureError: the signed retraction is of another snapshot, registry, or key.
        """
        with self.db.session() as s:
            info = self.snapshots.get(s, name, version)
            ds = s.scalar(select(DatasetRow).where(DatasetRow.name == name))
            assert ds is not None
            if s.scalar(select(RetractionRow).where(RetractionRow.snapshot_pk == info.pk)) is not None:
                raise ConflictError(f"{name}@{version} is already retracted", code="retraction.exists")
            out = self._signed(ds, info.root, version, reason, signed)
            self._check(out, name, version, info.root, info.signer)
            row = RetractionRow(
                snapshot_pk=info.pk,
                reason=out.retraction.reason,
                signer=out.signer,
                signed_retraction=json.dumps(out.to_json()),
            )
            s.add(row)
            s.flush()
            self.outbox.enqueue(
                s, "retraction", self.domain.chain_id, self.domain.verifying_contract, retraction_pk=row.id
            )
            return self._json(row, None)

    def _signed(
        self, ds: DatasetRow, root: bytes, version: int, reason: str | None, signed: dict[str, Any] | None
    ) -> SignedRetraction:
        if signed is not None:
            return SignedRetraction.from_json(signed)
        if ds.signing_key is None:
            raise SignatureError(
                f"{ds.name} is signed by its client: send the retraction signed by its source",
                code="retraction.needs-signature",
            )
        retraction = Retraction(ds.name, version, root, reason or "")
        return sign_retraction(retraction, self.domain, self.keys(ds.signing_key))

    def _check(self, out: SignedRetraction, name: str, version: int, root: bytes, signer: str) -> None:
        r = out.retraction
        if (r.dataset, r.version, r.root) != (name, version, root):
            raise SignatureError(
                f"the retraction is of {r.dataset}@{r.version} root 0x{r.root.hex()}, not of this snapshot",
                code="retraction.mismatch",
            )
        if out.domain != self.domain:
            raise SignatureError(
                "the retraction is signed for another registry or chain", code="retraction.mismatch"
            )
        if out.signer != signer:
            # The registry would also take another authorised signer of a directly anchored
            # dataset; the ledger knows its snapshots' signers, and asks for theirs.
            raise SignatureError(
                f"the retraction is signed by {out.signer}, the snapshot by {signer}",
                code="retraction.wrong-signer",
            )

    def retraction(self, name: str, version: int) -> dict[str, Any]:
        with self.db.session() as s:
            info = self.snapshots.get(s, name, version)
            row = s.scalar(select(RetractionRow).where(RetractionRow.snapshot_pk == info.pk))
            if row is None:
                raise NotFoundError(f"{name}@{version} is not retracted", code="retraction.not-found")
            anchor = s.scalar(select(AnchorRow).where(AnchorRow.retraction_pk == row.id))
            return self._json(row, anchor)

    def listing(self, limit: int = 500) -> list[dict[str, Any]]:
        """The newest retractions first, each with its relay state (the console's browse view)."""
        with self.db.session() as s:
            rows = s.scalars(select(RetractionRow).order_by(RetractionRow.id.desc()).limit(limit)).all()
            anchors = {
                a.retraction_pk: a
                for a in s.scalars(select(AnchorRow).where(AnchorRow.retraction_pk.in_([r.id for r in rows])))
            }
            return [self._json(r, anchors.get(r.id)) for r in rows]

    @staticmethod
    def _json(row: RetractionRow, anchor: AnchorRow | None) -> dict[str, Any]:
        signed = json.loads(row.signed_retraction)
        return {
            **signed["retraction"],
            "signer": row.signer,
            "signedRetraction": signed,
            "state": anchor.state if anchor is not None else "queued",
            "txHash": "0x" + bytes(anchor.tx_hash).hex() if anchor is not None and anchor.tx_hash else None,
            "blockNumber": anchor.block_number if anchor is not None else None,
        }

    def subject(self, retraction_pk: int) -> RetractionSubject:
        with self.db.session() as s:
            row = s.get(RetractionRow, retraction_pk)
            if row is None:
                raise NotFoundError(f"no retraction {retraction_pk}", code="retraction.not-found")
            snap, ds = self.snapshots.row_and_dataset(s, row.snapshot_pk)
            assert snap.signed_manifest is not None
            return RetractionSubject(
                SignedRetraction.from_json(json.loads(row.signed_retraction)),
                ds.anchor_mode,
                SignedManifest.from_json(json.loads(snap.signed_manifest)),
                snap.log_index,
            )
