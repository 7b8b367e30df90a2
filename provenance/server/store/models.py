"""Relational schema of the ledger (SQLAlchemy 2). Alembic migrations under ``migrations/``.

Hashes and keys are stored as raw bytes (LargeBinary → BLOB / bytea); JSON documents as text
so their bytes are kept exactly as signed. Records hold ``derived_from`` refs from the start
(record-level lineage), and every verification request is stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class DeploymentRow(Base):
    """A registry deployment this service anchors to (the trust root of a chain)."""

    __tablename__ = "deployments"
    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    address: Mapped[str] = mapped_column(String(42))
    deploy_block: Mapped[int] = mapped_column(BigInteger)
    document: Mapped[str] = mapped_column(Text)  # the deployments/<chainId>.json content
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SourceRow(Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(42), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # active | revoked
    keystore: Mapped[str | None] = mapped_column(String(128))  # server-held key name, if any
    chain_state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | registered | revoked
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DatasetRow(Base):
    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    dataset_id: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    schema_json: Mapped[str] = mapped_column(Text)
    anchor_mode: Mapped[str] = mapped_column(String(16))  # checkpoint | direct
    signing_key: Mapped[str | None] = mapped_column(String(128))  # server keystore name; None: clients sign
    salt_secret: Mapped[bytes | None] = mapped_column(LargeBinary)  # server-held salt secret when salted
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SnapshotRow(Base):
    """One version of a dataset. Visible to readers only in state ``complete``."""

    __tablename__ = "snapshots"
    # ids are never reused (SQLite would reuse a discarded build's id): caches key on them
    __table_args__ = (UniqueConstraint("dataset_pk", "version"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_pk: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))  # building | complete
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    root: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    digest: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    signed_manifest: Mapped[str | None] = mapped_column(Text)  # SignedManifest JSON, as served
    signer: Mapped[str | None] = mapped_column(String(42))
    log_index: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class QualityReportRow(Base):
    """The quality report (provenance-quality/v1 JSON, as served) of a snapshot whose schema has
    rules; its digest is in the snapshot's signed manifest. Written with the snapshot."""

    __tablename__ = "quality_reports"
    snapshot_pk: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    report: Mapped[str] = mapped_column(Text)


class LineageEdgeRow(Base):
    """A derived snapshot and one of its parents (from its signed manifest), both complete."""

    __tablename__ = "lineage_edges"
    child_pk: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    parent_pk: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), primary_key=True, index=True)


class RetractionRow(Base):
    """A snapshot's retraction: the reason text (served; its SHA-256 is on the chain) and the
    signed EIP-712 Retraction the anchoring worker relays to the registry."""

    __tablename__ = "retractions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_pk: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    signer: Mapped[str] = mapped_column(String(42))
    signed_retraction: Mapped[str] = mapped_column(Text)  # SignedRetraction JSON, as served
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RecordBlockRow(Base):
    """``BLOCK`` consecutive records of a snapshot in one row: their leaf inputs (RFC 8785
    entries, which hold any ``derived_from`` lineage refs) and key texts, newline-separated, and
    the tree nodes above them up to the block's own root.

    One row per record capped SQLite ingest at ~90 k rows/s on these machines (the per-row cost
    of the driver); blocks make ingest cost a few thousand rows per million records, and a
    lookup still reads one ~30 KiB row.
    """

    __tablename__ = "record_blocks"
    __table_args__ = ({"sqlite_with_rowid": False},)
    snapshot_pk: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    block: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    entries: Mapped[bytes] = mapped_column(LargeBinary)
    keys: Mapped[bytes] = mapped_column(LargeBinary)
    nodes: Mapped[bytes] = mapped_column(LargeBinary)  # tree levels 1..BLOCK_LEVELS of the block subtree


class KeyIndexChunkRow(Base):
    """A sorted run of (key hash, leaf index) pairs of one snapshot: the record-key index.

    Written once after ingest (a sort, then ~1,000 pairs per row) instead of a B-tree index
    updated in random key order for every record, which made ingest five times slower. A lookup
    reads the one row whose ``first_hash`` precedes the key's hash and bisects it.
    ``pairs`` holds the hashes (int64, little-endian) followed by the leaf indexes.
    """

    __tablename__ = "key_index"
    __table_args__ = (Index("ix_key_index_first", "snapshot_pk", "first_hash"),)
    snapshot_pk: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    chunk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    first_hash: Mapped[int] = mapped_column(BigInteger)
    pairs: Mapped[bytes] = mapped_column(LargeBinary)


class TreeChunkRow(Base):
    """``CHUNK`` consecutive node hashes of one tree level (a proof reads one chunk per level)."""

    __tablename__ = "tree_chunks"
    snapshot_pk: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    chunk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)


class LogEntryRow(Base):
    """The ledger log: leaf i is the EIP-712 digest of the i-th snapshot manifest committed."""

    __tablename__ = "log_entries"
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    snapshot_pk: Mapped[int] = mapped_column(ForeignKey("snapshots.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CheckpointRow(Base):
    __tablename__ = "checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)  # the C2SP signed note
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AnchorRow(Base):
    """The anchoring outbox: one row per transaction we owe the chain, with its state.

    queued → signed (raw tx stored before sending) → mined → confirmed; dropped anchors (reorg)
    go back to queued. A crash at any step resumes from the row; the raw signed transaction
    and the chain's own state make re-sending idempotent.
    """

    __tablename__ = "anchors"
    __table_args__ = (Index("ix_anchors_state", "state"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # checkpoint | direct | retraction
    checkpoint_pk: Mapped[int | None] = mapped_column(ForeignKey("checkpoints.id"), unique=True)
    snapshot_pk: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"), unique=True)
    retraction_pk: Mapped[int | None] = mapped_column(ForeignKey("retractions.id"), unique=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    contract: Mapped[str] = mapped_column(String(42))
    state: Mapped[str] = mapped_column(String(16))
    raw_tx: Mapped[bytes | None] = mapped_column(LargeBinary)
    tx_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # index of the CheckpointAnchored log (checkpoint anchors): how auditors find it on-chain
    checkpoint_index: Mapped[int | None] = mapped_column(BigInteger)
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    resubmissions: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class VerificationRow(Base):
    __tablename__ = "verification_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bundle_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    dataset: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # valid | invalid | incomplete | unusable
    verdict: Mapped[str] = mapped_column(Text)  # the verdict JSON
    client: Mapped[str | None] = mapped_column(String(255))
    is_offline: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
