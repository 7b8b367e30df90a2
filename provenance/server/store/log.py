"""The ledger log (one RFC 9162 tree of manifest digests per deployment) and its checkpoints.

Appends happen inside the transaction that completes a snapshot, so a snapshot is visible iff
its digest is in the log. The log's tree is kept in memory and extended from the table when it
grows (several service processes share one database; each catches up on demand).
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from provenance.errors import NotFoundError
from provenance.merkle import MerkleTree, leaf_hashes
from provenance.server.store.database import Database
from provenance.server.store.models import AnchorRow, CheckpointRow, LogEntryRow

LOG_APPEND_LOCK_KEY = 0x70726F6C  # "prol": PostgreSQL advisory lock of ledger-log appends


class LogRepository:
    """The ledger log entries and checkpoints, with the log tree kept in memory."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._hashes = bytearray()
        self._tree: MerkleTree | None = None
        self._lock = threading.Lock()

    def append(self, s: Session, digest: bytes, snapshot_pk: int) -> int:
        """Append ``digest``; returns its index. Call inside the snapshot's completing transaction.

        Concurrent appenders serialise on the database. SQLite has a single writer. On PostgreSQL
        several API processes append at once, and two would read the same ``max(index)``: the
        loser's insert hit the primary key and its upload answered 500 (found by the load test on
        three API processes). A transaction-scoped advisory lock makes them take turns; it is
        released when the completing transaction ends, commit or rollback.
        """
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text(f"SELECT pg_advisory_xact_lock({LOG_APPEND_LOCK_KEY})"))
        index = int(s.scalar(select(func.coalesce(func.max(LogEntryRow.index) + 1, 0))) or 0)
        s.add(LogEntryRow(index=index, digest=digest, snapshot_pk=snapshot_pk))
        s.flush()
        return index

    def size(self, s: Session) -> int:
        return int(s.scalar(select(func.count()).select_from(LogEntryRow)) or 0)

    def tree(self, at_least: int | None = None) -> MerkleTree:
        """The log's tree over every committed entry (extended incrementally). With ``at_least``,
        a cached tree of that many entries or more is returned without asking the database."""
        with self._lock:
            known = len(self._hashes) // 32
            if at_least is not None and self._tree is not None and known >= at_least:
                return self._tree
            with self.db.session() as s:
                new = list(
                    s.scalars(
                        select(LogEntryRow.digest)
                        .where(LogEntryRow.index >= known)
                        .order_by(LogEntryRow.index)
                    )
                )
            if new or self._tree is None:
                self._hashes += leaf_hashes([bytes(d) for d in new])
                self._tree = MerkleTree.from_leaf_hashes(bytes(self._hashes))
            return self._tree

    def index_of(self, s: Session, digest: bytes) -> int:
        index = s.scalar(select(LogEntryRow.index).where(LogEntryRow.digest == digest))
        if index is None:
            raise NotFoundError("manifest digest is not in the ledger log", code="log.not-found")
        return int(index)

    # --- checkpoints ---------------------------------------------------------------------------

    def add_checkpoint(self, s: Session, size: int, root: bytes, note: str) -> CheckpointRow:
        row = CheckpointRow(size=size, root=root, note=note)
        s.add(row)
        s.flush()
        return row

    def checkpoint(self, s: Session, pk: int) -> CheckpointRow:
        row = s.get(CheckpointRow, pk)
        if row is None:
            raise NotFoundError(f"no checkpoint {pk}", code="checkpoint.not-found")
        return row

    def entry_time(self, s: Session, index: int) -> datetime | None:
        """When log entry ``index`` was appended (None past the end)."""
        return s.scalar(select(LogEntryRow.created_at).where(LogEntryRow.index == index))

    def latest_checkpoint(self, s: Session) -> CheckpointRow | None:
        return s.scalar(select(CheckpointRow).order_by(CheckpointRow.size.desc()).limit(1))

    def checkpoints(self, s: Session, limit: int = 100) -> list[CheckpointRow]:
        return list(s.scalars(select(CheckpointRow).order_by(CheckpointRow.size.desc()).limit(limit)))

    def covering_checkpoint(
        self, s: Session, log_index: int
    ) -> tuple[CheckpointRow, AnchorRow | None] | None:
        """The checkpoint a proof for log entry ``log_index`` should use, with its anchor row: the
        first anchored (mined or confirmed) checkpoint that covers the entry, else the newest
        covering one; None while no checkpoint covers it."""
        covering = (
            select(CheckpointRow, AnchorRow)
            .outerjoin(AnchorRow, AnchorRow.checkpoint_pk == CheckpointRow.id)
            .where(CheckpointRow.size > log_index)
        )
        chosen = s.execute(
            covering.where(AnchorRow.state.in_(("mined", "confirmed"))).order_by(CheckpointRow.size).limit(1)
        ).first()
        if chosen is None:
            chosen = s.execute(covering.order_by(CheckpointRow.size.desc()).limit(1)).first()
        return None if chosen is None else (chosen[0], chosen[1])
