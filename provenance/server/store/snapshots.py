"""Datasets, snapshots, records and stored trees.

A snapshot is written in state ``building`` in batches (so a 10 M-record ingest neither holds one
huge transaction nor blocks the anchoring worker for its whole duration) and becomes visible
only when :meth:`SnapshotRepository.complete` flips it to ``complete``. A crash leaves a ``building``
row that no reader sees; :meth:`SnapshotRepository.discard_stale` removes it later.

Trees are stored as chunks of ``CHUNK`` hashes per level, so an inclusion proof reads one short
row per level (≈ 2 KiB each) in a single query, whatever the snapshot's size.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from provenance.errors import ConflictError, NotFoundError
from provenance.merkle import HASH_LEN, MerkleTree, level_sizes
from provenance.server.store.database import Database
from provenance.server.store.models import (
    DatasetRow,
    KeyIndexChunkRow,
    RecordBlockRow,
    SnapshotRow,
    TreeChunkRow,
)
from provenance.server.store.record_blocks import (
    BATCH_ROWS,
    BLOCK,
    BLOCK_LEVELS,
    Block,
    fetch_chunks,
    heartbeat,
    insert_rows,
    key_hash,
)
from provenance.upstream import KeyedLeaves

CHUNK = 64
STALE_AFTER = timedelta(seconds=15)  # building rows heartbeat every batch (well under 1 s apart)


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


class SnapshotRepository:
    """Datasets, snapshots, their records (in blocks), key index and stored trees."""

    def __init__(self, db: Database, stale_after: timedelta = STALE_AFTER) -> None:
        self.db = db
        self.stale_after = stale_after
        self._chunks: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._chunk_lock = threading.Lock()
        self._blocks: OrderedDict[tuple[int, int], Block] = OrderedDict()
        self.cache_chunks = 20_000  # ~40 MiB: the upper levels of every hot tree stay in memory

    # --- datasets --------------------------------------------------------------------------

    def dataset(self, s: Session, name: str) -> DatasetRow | None:
        return s.scalar(select(DatasetRow).where(DatasetRow.name == name))

    def datasets(self, s: Session) -> list[DatasetRow]:
        return list(s.scalars(select(DatasetRow).order_by(DatasetRow.name)))

    def require_dataset(self, s: Session, name: str) -> DatasetRow:
        ds = self.dataset(s, name)
        if ds is None:
            raise NotFoundError(f"no dataset {name!r}", code="dataset.not-found")
        return ds

    # --- building ----------------------------------------------------------------------------

    def begin(self, dataset_pk: int, version: int) -> int:
        """A ``building`` snapshot row; refuses a version being built or already complete."""
        try:
            return self._begin(dataset_pk, version)
        except IntegrityError:  # another upload of it inserted its row between our look and insert
            raise ConflictError(f"version {version} is being ingested", code="snapshot.in-progress") from None

    def _begin(self, dataset_pk: int, version: int) -> int:
        with self.db.session() as s:
            where = (SnapshotRow.dataset_pk == dataset_pk, SnapshotRow.version == version)
            existing = s.scalar(select(SnapshotRow).where(*where))
            if existing is not None:
                if existing.state == "complete":
                    raise ConflictError(f"version {version} already exists", code="snapshot.exists")
                if _aware(existing.created_at) > datetime.now(UTC) - self.stale_after:
                    raise ConflictError(
                        f"version {version} is being ingested right now", code="snapshot.in-progress"
                    )
                s.delete(existing)  # a stale leftover of a crashed ingest
                s.flush()
            row = SnapshotRow(
                dataset_pk=dataset_pk, version=version, state="building", size=0, created_at=datetime.now(UTC)
            )
            s.add(row)
            s.flush()
            return row.id

    def write_tree(self, snapshot_pk: int, levels: Sequence[bytes]) -> None:
        """Store the levels above ``BLOCK_LEVELS``; the record blocks hold the ones below (level
        0 is never stored: a leaf hash is SHA-256(0x00 || entry) of a record the block holds).
        A 10 M-record tree keeps ~5 MiB here, all of it hot in the chunk cache."""
        step = CHUNK * HASH_LEN
        rows = [
            (snapshot_pk, level, c // step, data[c : c + step])
            for level, data in enumerate(levels)
            if level > BLOCK_LEVELS
            for c in range(0, len(data), step)
        ]
        for i in range(0, len(rows), BATCH_ROWS):
            with self.db.session() as s:
                insert_rows(
                    s, "tree_chunks", ("snapshot_pk", "level", "chunk", "hashes"), rows[i : i + BATCH_ROWS]
                )
                heartbeat(s, snapshot_pk)

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
            update(SnapshotRow)
            .where(SnapshotRow.id == snapshot_pk)
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
                    select(SnapshotRow.id).where(
                        SnapshotRow.state == "building", SnapshotRow.created_at < cutoff
                    )
                )
            )
            self._delete(s, pks)
        return len(pks)

    def _delete(self, s: Session, pks: list[int]) -> None:
        if not pks:
            return
        # explicit, not ON DELETE CASCADE: SQLite only cascades with foreign_keys on, and a
        # 10 M-row cascade is better done table by table
        s.execute(delete(RecordBlockRow).where(RecordBlockRow.snapshot_pk.in_(pks)))
        s.execute(delete(KeyIndexChunkRow).where(KeyIndexChunkRow.snapshot_pk.in_(pks)))
        s.execute(delete(TreeChunkRow).where(TreeChunkRow.snapshot_pk.in_(pks)))
        s.execute(delete(SnapshotRow).where(SnapshotRow.id.in_(pks), SnapshotRow.state == "building"))

    # --- reading -----------------------------------------------------------------------------

    def get(self, s: Session, dataset: str, version: int) -> SnapshotInfo:
        row = s.execute(
            select(SnapshotRow, DatasetRow.name)
            .join(DatasetRow, DatasetRow.id == SnapshotRow.dataset_pk)
            .where(
                DatasetRow.name == dataset, SnapshotRow.version == version, SnapshotRow.state == "complete"
            )
        ).first()
        if row is None:
            raise NotFoundError(f"no snapshot {dataset} v{version}", code="snapshot.not-found")
        return _info(row[0], row[1])

    def row_and_dataset(self, s: Session, snapshot_pk: int) -> tuple[SnapshotRow, DatasetRow]:
        snap = s.get(SnapshotRow, snapshot_pk)
        ds = None if snap is None else s.get(DatasetRow, snap.dataset_pk)
        if snap is None or ds is None:
            raise NotFoundError(f"no snapshot {snapshot_pk}", code="snapshot.not-found")
        return snap, ds

    def versions(self, s: Session, dataset_pk: int) -> list[SnapshotRow]:
        return list(
            s.scalars(
                select(SnapshotRow)
                .where(SnapshotRow.dataset_pk == dataset_pk, SnapshotRow.state == "complete")
                .order_by(SnapshotRow.version)
            )
        )

    def latest_version(self, s: Session, dataset_pk: int) -> int:
        v = s.scalar(
            select(SnapshotRow.version)
            .where(SnapshotRow.dataset_pk == dataset_pk, SnapshotRow.state == "complete")
            .order_by(SnapshotRow.version.desc())
            .limit(1)
        )
        return int(v or 0)

    def find_record(self, snapshot_pk: int, key: bytes) -> tuple[int, bytes]:
        """Leaf index and entry of the record with key text ``key`` (the proof hot path: plain
        driver SQL on one pooled connection, no ORM session)."""
        h = key_hash(key)
        with self.db.engine.connect() as conn:
            row = conn.exec_driver_sql(
                self._sql(
                    "SELECT pairs FROM key_index WHERE snapshot_pk = ? AND first_hash <= ? "
                    "ORDER BY first_hash DESC LIMIT 1"
                ),
                (snapshot_pk, h),
            ).first()
            if row is not None:
                pairs = bytes(row[0])
                n = len(pairs) // 16
                view = memoryview(pairs)
                hashes, indexes = view[: n * 8].cast("q"), view[n * 8 :].cast("q")
                i = bisect.bisect_left(hashes, h)
                while i < n and hashes[i] == h:
                    index = int(indexes[i])
                    block = self._block(conn, snapshot_pk, index // BLOCK)
                    if block.keys[index % BLOCK] == key:
                        return index, block.entries[index % BLOCK]
                    i += 1
        raise NotFoundError(f"no record with key {key.decode()}", code="record.not-found")

    def _sql(self, text: str) -> str:
        """Driver SQL written with ``?`` placeholders, in the driver's own style."""
        return text if self.db.engine.dialect.name == "sqlite" else text.replace("?", "%s")

    def _block(self, conn: Any, snapshot_pk: int, block: int) -> Block:
        """One record block (a proof reads one: its record, the sibling leaf and the path nodes
        up to the block's root)."""
        with self._chunk_lock:
            hit = self._blocks.get((snapshot_pk, block))
            if hit is not None:
                self._blocks.move_to_end((snapshot_pk, block))
                return hit
        row = conn.exec_driver_sql(
            self._sql("SELECT entries, keys, nodes FROM record_blocks WHERE snapshot_pk = ? AND block = ?"),
            (snapshot_pk, block),
        ).first()
        if row is None:
            raise NotFoundError(
                f"record block {block} of snapshot {snapshot_pk} is missing", code="storage.records-damaged"
            )
        value = Block(bytes(row[0]).split(b"\n"), bytes(row[1]).split(b"\n"), bytes(row[2]))
        with self._chunk_lock:
            self._blocks[(snapshot_pk, block)] = value
            while len(self._blocks) > 256:
                self._blocks.popitem(last=False)
        return value

    def entry_pages(self, snapshot_pk: int, blocks_per_page: int = 256) -> Iterator[list[bytes]]:
        """Every leaf input in order, a page of blocks (16 k records) per query: what a streamed
        export holds in memory at once."""
        start = 0
        while True:
            with self.db.session() as s:
                rows = s.execute(
                    select(RecordBlockRow.entries)
                    .where(RecordBlockRow.snapshot_pk == snapshot_pk, RecordBlockRow.block >= start)
                    .order_by(RecordBlockRow.block)
                    .limit(blocks_per_page)
                ).all()
            if not rows:
                return
            page: list[bytes] = []
            for (blob,) in rows:
                page += bytes(blob).split(b"\n")
            yield page
            start += len(rows)

    def keyed_leaves(self, s: Session, snapshot_pk: int) -> KeyedLeaves:
        """Every record's leaf hash by key: what a derived snapshot's refs are pinned against."""
        keys: list[bytes] = []
        entries: list[bytes] = []
        for kblob, eblob in s.execute(
            select(RecordBlockRow.keys, RecordBlockRow.entries)
            .where(RecordBlockRow.snapshot_pk == snapshot_pk)
            .order_by(RecordBlockRow.block)
        ):
            keys += bytes(kblob).split(b"\n")
            entries += bytes(eblob).split(b"\n")
        return KeyedLeaves.of_entries(keys, entries)

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
            with self.db.engine.connect() as conn:
                rows = fetch_chunks(conn, self.db.engine.dialect.name == "sqlite", snapshot_pk, missing)
            with self._chunk_lock:
                for level, chunk, data in rows:
                    out[(level, chunk)] = bytes(data)
                    self._chunks[(snapshot_pk, level, chunk)] = bytes(data)
                while len(self._chunks) > self.cache_chunks:
                    self._chunks.popitem(last=False)
        return out


class _StoredTree:
    """A :class:`~provenance.merkle.NodeSource` over ``tree_chunks`` rows (levels >= 1) and the
    record blocks (level 0: leaf hashes recomputed from the stored entries)."""

    def __init__(self, store: SnapshotRepository, snapshot_pk: int, size: int) -> None:
        self.store, self.snapshot_pk, self._size = store, snapshot_pk, size
        self._levels = level_sizes(size)

    @property
    def size(self) -> int:
        return self._size

    def nodes(self, coords: Sequence[tuple[int, int]]) -> list[bytes]:
        low = {i >> (BLOCK_LEVELS - k) for k, i in coords if k <= BLOCK_LEVELS}
        blocks: dict[int, Block] = {}
        if low:
            with self.store.db.engine.connect() as conn:
                blocks = {b: self.store._block(conn, self.snapshot_pk, b) for b in sorted(low)}
        chunks = self.store._load_chunks(
            self.snapshot_pk, {(k, i // CHUNK) for k, i in coords if k > BLOCK_LEVELS}
        )
        out = []
        for k, i in coords:
            if k <= BLOCK_LEVELS:
                b = i >> (BLOCK_LEVELS - k)
                out.append(blocks[b].node(k, i - (b << (BLOCK_LEVELS - k))))
                continue
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


def _info(row: SnapshotRow, name: str) -> SnapshotInfo:
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
