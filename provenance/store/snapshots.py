"""Datasets, snapshots, records and stored trees.

A snapshot is written in state ``building`` in batches (so a 10 M-record ingest neither holds one
huge transaction nor blocks the anchoring worker for its whole duration) and becomes visible
only when :meth:`SnapshotStore.complete` flips it to ``complete``. A crash leaves a ``building``
row that no reader sees; :meth:`SnapshotStore.discard_stale` removes it later.

Trees are stored as chunks of ``CHUNK`` hashes per level, so an inclusion proof reads one short
row per level (≈ 2 KiB each) in a single query, whatever the snapshot's size.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from provenance.errors import ConflictError, NotFoundError
from provenance.merkle import HASH_LEN, MerkleTree
from provenance.records.readers import ChunkResult
from provenance.snapshotdir import level_sizes
from provenance.store.database import Database
from provenance.store.models import Dataset, Record, Snapshot, TreeChunk

CHUNK = 64
STALE_AFTER = timedelta(seconds=15)  # building rows heartbeat every batch (well under 1 s apart)
_BATCH_ROWS = 50_000


def key_hash(key_text: bytes) -> int:
    """A signed 64-bit lookup hash of a record key (the row also keeps the full key)."""
    return int.from_bytes(hashlib.sha256(key_text).digest()[:8], "big", signed=True)


@dataclass(frozen=True)
class SnapshotInfo:
    pk: int
    dataset: str
    version: int
    size: int
    root: bytes
    digest: bytes
    signed_manifest: str
    signer: str
    log_index: int | None
    created_at: datetime


class RecordWriter:
    """An :class:`~provenance.snapshot.EntrySink` writing records of a building snapshot in batches."""

    def __init__(self, db: Database, snapshot_pk: int) -> None:
        self.db = db
        self.snapshot_pk = snapshot_pk
        self._pending: list[tuple[int, int, bytes, bytes]] = []

    def add(self, first_index: int, result: ChunkResult) -> None:
        entries = result.entries.split(b"\n")
        keys = result.keys.split(b"\n")
        pk = self.snapshot_pk
        self._pending.extend((pk, first_index + i, keys[i], entries[i]) for i in range(result.count))
        if len(self._pending) >= _BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        with self.db.session() as s:
            _bulk_insert_records(s, rows)
            _heartbeat(s, self.snapshot_pk)


def _heartbeat(s: Session, snapshot_pk: int) -> None:
    """A building snapshot's ``created_at`` is its last sign of life (see ``discard_stale``)."""
    s.execute(update(Snapshot).where(Snapshot.id == snapshot_pk).values(created_at=datetime.now(UTC)))


def _bulk_insert_records(s: Session, rows: list[tuple[int, int, bytes, bytes]]) -> None:
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.driver_connection
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY records (snapshot_pk, leaf_index, key_hash, key_text, entry) FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.set_types(["int4", "int8", "int8", "bytea", "bytea"])
            for pk, index, key, entry in rows:
                copy.write_row((pk, index, key_hash(key), key, entry))
        return
    raw = conn.connection.driver_connection
    raw.executemany(
        "INSERT INTO records (snapshot_pk, leaf_index, key_hash, key_text, entry) VALUES (?, ?, ?, ?, ?)",
        [(pk, index, key_hash(key), key, entry) for pk, index, key, entry in rows],
    )


class SnapshotStore:
    def __init__(self, db: Database, stale_after: timedelta = STALE_AFTER) -> None:
        self.db = db
        self.stale_after = stale_after
        self._chunks: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._chunk_lock = threading.Lock()
        self.cache_chunks = 20_000  # ~40 MiB: the upper levels of every hot tree stay in memory

    # --- datasets --------------------------------------------------------------------------

    def dataset(self, s: Session, name: str) -> Dataset | None:
        return s.scalar(select(Dataset).where(Dataset.name == name))

    def require_dataset(self, s: Session, name: str) -> Dataset:
        ds = self.dataset(s, name)
        if ds is None:
            raise NotFoundError(f"no dataset {name!r}", code="dataset.not-found")
        return ds

    # --- building ----------------------------------------------------------------------------

    def begin(self, dataset_pk: int, version: int) -> int:
        """A ``building`` snapshot row; refuses a version being built or already complete."""
        with self.db.session() as s:
            existing = s.scalar(
                select(Snapshot).where(Snapshot.dataset_pk == dataset_pk, Snapshot.version == version)
            )
            if existing is not None:
                if existing.state == "complete":
                    raise ConflictError(f"version {version} already exists", code="snapshot.exists")
                if _aware(existing.created_at) > datetime.now(UTC) - self.stale_after:
                    raise ConflictError(
                        f"version {version} is being ingested right now", code="snapshot.in-progress"
                    )
                s.delete(existing)  # a stale leftover of a crashed ingest
                s.flush()
            row = Snapshot(
                dataset_pk=dataset_pk, version=version, state="building", size=0, created_at=datetime.now(UTC)
            )
            s.add(row)
            s.flush()
            return row.id

    def write_tree(self, snapshot_pk: int, levels: Sequence[bytes]) -> None:
        rows: list[dict[str, object]] = []
        for level, data in enumerate(levels):
            step = CHUNK * HASH_LEN
            rows.extend(
                {"snapshot_pk": snapshot_pk, "level": level, "chunk": c // step, "hashes": data[c : c + step]}
                for c in range(0, len(data), step)
            )
        for i in range(0, len(rows), _BATCH_ROWS):
            with self.db.session() as s:
                s.execute(insert(TreeChunk), rows[i : i + _BATCH_ROWS])
                _heartbeat(s, snapshot_pk)

    def complete(
        self,
        s: Session,
        snapshot_pk: int,
        *,
        size: int,
        root: bytes,
        digest: bytes,
        signed_manifest: str,
        signer: str,
        log_index: int | None,
    ) -> None:
        s.execute(
            update(Snapshot)
            .where(Snapshot.id == snapshot_pk)
            .values(
                state="complete",
                size=size,
                root=root,
                digest=digest,
                signed_manifest=signed_manifest,
                signer=signer,
                log_index=log_index,
                created_at=datetime.now(UTC),
            )
        )

    def discard(self, snapshot_pk: int) -> None:
        with self.db.session() as s:
            self._delete(s, [snapshot_pk])

    def discard_stale(self, older_than: timedelta | None = None) -> int:
        """Remove ``building`` snapshots whose ingest stopped (crash): nobody ever saw them."""
        cutoff = datetime.now(UTC) - (self.stale_after if older_than is None else older_than)
        with self.db.session() as s:
            pks = list(
                s.scalars(
                    select(Snapshot.id).where(Snapshot.state == "building", Snapshot.created_at < cutoff)
                )
            )
            self._delete(s, pks)
        return len(pks)

    def _delete(self, s: Session, pks: list[int]) -> None:
        if not pks:
            return
        # explicit, not ON DELETE CASCADE: SQLite only cascades with foreign_keys on, and a
        # 10 M-row cascade is better done table by table
        s.execute(delete(Record).where(Record.snapshot_pk.in_(pks)))
        s.execute(delete(TreeChunk).where(TreeChunk.snapshot_pk.in_(pks)))
        s.execute(delete(Snapshot).where(Snapshot.id.in_(pks), Snapshot.state == "building"))

    # --- reading -----------------------------------------------------------------------------

    def get(self, s: Session, dataset: str, version: int) -> SnapshotInfo:
        row = s.execute(
            select(Snapshot, Dataset.name)
            .join(Dataset, Dataset.id == Snapshot.dataset_pk)
            .where(Dataset.name == dataset, Snapshot.version == version, Snapshot.state == "complete")
        ).first()
        if row is None:
            raise NotFoundError(f"no snapshot {dataset} v{version}", code="snapshot.not-found")
        return _info(row[0], row[1])

    def versions(self, s: Session, dataset_pk: int) -> list[Snapshot]:
        return list(
            s.scalars(
                select(Snapshot)
                .where(Snapshot.dataset_pk == dataset_pk, Snapshot.state == "complete")
                .order_by(Snapshot.version)
            )
        )

    def latest_version(self, s: Session, dataset_pk: int) -> int:
        v = s.scalar(
            select(Snapshot.version)
            .where(Snapshot.dataset_pk == dataset_pk, Snapshot.state == "complete")
            .order_by(Snapshot.version.desc())
            .limit(1)
        )
        return int(v or 0)

    def find_record(self, s: Session, snapshot_pk: int, key: bytes) -> tuple[int, bytes]:
        rows = s.execute(
            select(Record.leaf_index, Record.key_text, Record.entry).where(
                Record.snapshot_pk == snapshot_pk, Record.key_hash == key_hash(key)
            )
        ).all()
        for index, text, entry in rows:
            if bytes(text) == key:
                return int(index), bytes(entry)
        raise NotFoundError(f"no record with key {key.decode()}", code="record.not-found")

    def entries(self, s: Session, snapshot_pk: int) -> list[bytes]:
        """All leaf inputs in order (consistency checks, exports)."""
        return [
            bytes(e)
            for e in s.scalars(
                select(Record.entry).where(Record.snapshot_pk == snapshot_pk).order_by(Record.leaf_index)
            )
        ]

    def tree(self, snapshot_pk: int, size: int) -> MerkleTree:
        return MerkleTree(_StoredTree(self, snapshot_pk, size))

    def _load_chunks(self, snapshot_pk: int, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        out: dict[tuple[int, int], bytes] = {}
        missing = []
        with self._chunk_lock:
            for lc in wanted:
                hit = self._chunks.get((snapshot_pk, *lc))
                if hit is None:
                    missing.append(lc)
                else:
                    self._chunks.move_to_end((snapshot_pk, *lc))
                    out[lc] = hit
        if missing:
            with self.db.session() as s:
                rows = s.execute(
                    select(TreeChunk.level, TreeChunk.chunk, TreeChunk.hashes).where(
                        TreeChunk.snapshot_pk == snapshot_pk,
                        tuple_(TreeChunk.level, TreeChunk.chunk).in_(missing),
                    )
                ).all()
            with self._chunk_lock:
                for level, chunk, data in rows:
                    out[(level, chunk)] = bytes(data)
                    self._chunks[(snapshot_pk, level, chunk)] = bytes(data)
                while len(self._chunks) > self.cache_chunks:
                    self._chunks.popitem(last=False)
        return out


class _StoredTree:
    """A :class:`~provenance.merkle.NodeSource` over ``tree_chunks`` rows."""

    def __init__(self, store: SnapshotStore, snapshot_pk: int, size: int) -> None:
        self.store, self.snapshot_pk, self._size = store, snapshot_pk, size
        self._levels = level_sizes(size)

    @property
    def size(self) -> int:
        return self._size

    def nodes(self, coords: Sequence[tuple[int, int]]) -> list[bytes]:
        chunks = self.store._load_chunks(self.snapshot_pk, {(k, i // CHUNK) for k, i in coords})
        out = []
        for k, i in coords:
            data = chunks.get((k, i // CHUNK))
            offset = (i % CHUNK) * HASH_LEN
            if data is None or len(data) < offset + HASH_LEN:
                raise NotFoundError(
                    f"tree node {k}/{i} of snapshot {self.snapshot_pk} is missing",
                    code="storage.tree-damaged",
                )
            out.append(data[offset : offset + HASH_LEN])
        return out


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _info(row: Snapshot, name: str) -> SnapshotInfo:
    assert row.root is not None
    assert row.digest is not None
    return SnapshotInfo(
        row.id,
        name,
        row.version,
        row.size,
        bytes(row.root),
        bytes(row.digest),
        row.signed_manifest or "",
        row.signer or "",
        row.log_index,
        row.created_at,
    )
